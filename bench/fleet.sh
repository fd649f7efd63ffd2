#!/usr/bin/env bash
# Fleet benchmark: `otel-pki issue client --count N` for N = 1,000 (the target: under 2 s on
# a 2-core machine) and N = 100, ECDSA P-256, every file written and fsynced. Each run
# writes into a new, empty directory (nothing is deleted between runs: see docs/performance.md for
# why that matters on ext4). Needs hyperfine (apt-get install hyperfine). Results go in
# docs/performance.md, section "Fleet issuance".
#
#   bench/fleet.sh                      # in target/bench-fleet (the project's file system)
#   BENCH_DIR=/mnt/disk bench/fleet.sh  # on another file system
#   RUNS=50 bench/fleet.sh
set -euo pipefail
cd "$(dirname "$0")/.."

command -v hyperfine >/dev/null || { echo "bench: hyperfine is needed (apt-get install hyperfine)" >&2; exit 2; }
cargo build --release --quiet
bin=$PWD/target/release/otel-pki
work=${BENCH_DIR:-$PWD/target/bench-fleet}
rm -rf "$work" && mkdir -p "$work/runs"
trap 'rm -rf "$work"' EXIT

"$bin" init --dir "$work/set" -q
issue() {
    printf '%s' "dir=\$(mktemp -d -p $work/runs) && $bin issue client --count $1 --name-prefix collector- --dir \$dir/fleet --ca-cert $work/set/ca.crt --ca-key $work/set/ca.key -q"
}

echo "bench: $(nproc) cores, $(uname -sr), $(df -T "$work" | awk 'NR==2 {print $2}') at $work, load $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --warmup 2 --runs "${RUNS:-20}" --export-markdown "$work/results.md" \
    -n "1000 P-256 client certificates" "$(issue 1000)" \
    -n "100 P-256 client certificates" "$(issue 100)"
cat "$work/results.md"
# Every run wrote 2 files per certificate and left no temporary file.
for fleet in "$work"/runs/*/fleet; do
    count=$(ls -A "$fleet" | wc -l)
    [ "$count" -eq 2000 ] || [ "$count" -eq 200 ] || { echo "bench: $fleet has $count files" >&2; exit 1; }
done
