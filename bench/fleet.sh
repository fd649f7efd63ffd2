#!/usr/bin/env bash
# Fleet benchmark: `otel-pki issue client --count N` for N = 1,000 (the target: under 2 s on
# a 2-core machine) and N = 100, ECDSA P-256, every file written and fsynced, each run into
# an empty directory. Needs hyperfine (apt-get install hyperfine). Results go in
# BENCHMARKS.md, section "Fleet issuance".
#
#   bench/fleet.sh                      # in target/bench-fleet (the project's file system)
#   BENCH_DIR=/mnt/disk bench/fleet.sh  # on another file system
set -euo pipefail
cd "$(dirname "$0")/.."

command -v hyperfine >/dev/null || { echo "bench: hyperfine is needed (apt-get install hyperfine)" >&2; exit 2; }
cargo build --release --quiet
bin=$PWD/target/release/otel-pki
work=${BENCH_DIR:-$PWD/target/bench-fleet}
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

"$bin" init --dir "$work/set" -q
issue() {
    echo "$bin issue client --count $1 --name-prefix collector- --dir $work/fleet --ca-cert $work/set/ca.crt --ca-key $work/set/ca.key -q"
}

echo "bench: $(nproc) cores, $(uname -sr), $(df -T "$work" | awk 'NR==2 {print $2}') file system at $work"
hyperfine --warmup 2 --runs "${RUNS:-20}" --prepare "rm -rf $work/fleet" \
    --export-markdown "$work/results.md" \
    -n "1000 P-256 client certificates" "$(issue 1000)" \
    -n "100 P-256 client certificates" "$(issue 100)"
cat "$work/results.md"
# The files of the last run: 2 per certificate.
test "$(ls "$work/fleet" | wc -l)" -eq 200
