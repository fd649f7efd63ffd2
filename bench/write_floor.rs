//! The write floor of a fleet: writes the files of SRC into a new directory DEST the way
//! `otel-pki`'s all-or-nothing write does (each file staged under a temporary name, created
//! 0600, written, chmod, fsynced and closed by 32 threads; then every file renamed into place
//! and DEST fsynced), with none of the key generation, signing or checking. No dependencies:
//! bench/footprint.sh compiles it with `rustc -O`.
//!
//!   write_floor SRC DEST

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

const THREADS: usize = 32;

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [src, dest] = args.as_slice() else {
        eprintln!("usage: write_floor SRC DEST");
        std::process::exit(2);
    };
    let mut files: Vec<(String, Vec<u8>, u32)> = fs::read_dir(src)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            let name = entry.file_name().into_string().unwrap();
            (name, fs::read(entry.path()).unwrap(), mode)
        })
        .collect();
    files.sort();
    fs::DirBuilder::new().mode(0o700).create(dest).unwrap();
    let chunk = files.len().div_ceil(THREADS).max(1);
    std::thread::scope(|scope| {
        for (index, part) in files.chunks(chunk).enumerate() {
            scope.spawn(move || {
                for (offset, (_, contents, mode)) in part.iter().enumerate() {
                    stage(&temp_name(dest, index * chunk + offset), contents, *mode);
                }
            });
        }
    });
    for (index, (name, _, _)) in files.iter().enumerate() {
        fs::rename(temp_name(dest, index), dest.join(name)).unwrap();
    }
    File::open(dest).unwrap().sync_all().unwrap();
}

fn temp_name(dest: &Path, index: usize) -> PathBuf {
    dest.join(format!(".floor-{index}.tmp"))
}

fn stage(path: &Path, contents: &[u8], mode: u32) {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    file.write_all(contents).unwrap();
    file.set_permissions(Permissions::from_mode(mode)).unwrap();
    file.sync_all().unwrap();
}
