#!/usr/bin/env bash
# Footprint goals, measured side by side in one run (docs/performance.md, "Footprint"):
#
#   - size of the release binary (goal: <= 5 MB, unwinding kept);
#   - `otel-pki --version` against an empty Rust program (goal: within 0.5 ms);
#   - `inspect` of a 10,000-certificate bundle, text and JSON: time and peak RSS
#     (goal: <= 16 MiB, times no worse than before);
#   - `issue client --count 1000` against the write floor (bench/write_floor.rs: the same
#     2,000 files with the same fsyncs and threads, no cryptography) (goal: <= 1.1x the
#     floor, <= 0.1 s of user CPU);
#   - with COLD_BUILD=1, a cold `cargo build --release` in an empty target directory, wall
#     and CPU time (goal: <= 90 s wall on a quiet 2-core machine).
#
# Usage:
#   cargo build --release && cargo build --release --example make_bundle
#   bench/footprint.sh [BASELINE_BINARY]       # e.g. a release build of the previous commit
#   RUNS=50 COLD_BUILD=1 bench/footprint.sh
#
# Needs hyperfine (apt-get install hyperfine) and GNU time (/usr/bin/time). Never run as a
# timed test; figures are compared within one run only.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v hyperfine >/dev/null || { echo "bench: hyperfine is needed (apt-get install hyperfine)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench: GNU time is needed (apt-get install time)" >&2; exit 2; }
bin=$PWD/target/release/otel-pki
[ -x "$bin" ] || { echo "bench: build first: cargo build --release" >&2; exit 2; }
baseline=${1:-}
runs=${RUNS:-30}
work=${BENCH_DIR:-$PWD/target/bench-footprint}
rm -rf "$work" && mkdir -p "$work/runs"
trap 'rm -rf "$work"' EXIT
export OTEL_PKI_DIR="$work/unused"

# A markdown table of a hyperfine JSON export: medians first (these machines are noisy),
# the first command being the floor the others are compared with.
table() { # FILE
    python3 - "$1" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
floor = results[0]["median"]
print("| command | median | mean ± σ | vs first (medians) | user CPU | system CPU |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for r in results:
    print(f"| {r['command']} | {r['median']*1000:.2f} ms | {r['mean']*1000:.2f} ms ± {r['stddev']*1000:.2f} ms | "
          f"{r['median']/floor:.2f}x | {r['user']*1000:.2f} ms | {r['system']*1000:.2f} ms |")
PY
}

candidates=("$bin")
names=("otel-pki")
if [ -n "$baseline" ]; then
    candidates+=("$(realpath "$baseline")")
    names+=("baseline")
fi

echo "bench: $(nproc) cores, $(uname -sr), $(df -T "$work" | awk 'NR==2 {print $2}'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench: $("$bin" --version)"

echo
echo "## Binary size"
for i in "${!candidates[@]}"; do
    size=$(stat -c %s "${candidates[$i]}")
    printf '%-9s %10d bytes  %6.2f MB  %6.2f MiB\n' "${names[$i]}" "$size" \
        "$(echo "$size / 1000000" | bc -l)" "$(echo "$size / 1048576" | bc -l)"
done

echo
echo "## Start-up: --version against an empty Rust program"
echo 'fn main() {}' > "$work/empty.rs"
rustc -C opt-level=3 -C strip=symbols -o "$work/empty" "$work/empty.rs"
version_args=(-n "empty Rust program" "$work/empty")
for i in "${!candidates[@]}"; do
    version_args+=(-n "${names[$i]} --version" "${candidates[$i]} --version")
done
hyperfine -N --style basic --warmup 100 --runs $((runs * 20)) \
    --export-json "$work/version.json" "${version_args[@]}" >/dev/null
table "$work/version.json"
# CPU per start, which a loaded machine disturbs far less than wall time.
if perf stat -e task-clock true >/dev/null 2>&1; then
    echo
    echo "| CPU per start (perf stat -r 500) | task-clock | page faults |"
    echo "| --- | ---: | ---: |"
    perf_line() { # NAME COMMAND...
        local name=$1; shift
        perf stat -r 500 -x, -e task-clock,page-faults "$@" 2>&1 >/dev/null |
            awk -F, -v name="$name" '$3 == "task-clock" {t = $1} $3 == "page-faults" {p = $1}
                END {printf "| %s | %.3f ms | %d |\n", name, t, p}'
    }
    perf_line "empty Rust program" "$work/empty"
    for i in "${!candidates[@]}"; do
        perf_line "${names[$i]} --version" "${candidates[$i]}" --version
    done
fi

echo
echo "## inspect of 10,000 certificates"
bundle_maker=target/release/examples/make_bundle
[ -x "$bundle_maker" ] || bundle_maker=target/debug/examples/make_bundle
[ -x "$bundle_maker" ] || { echo "bench: build the bundle maker: cargo build --release --example make_bundle" >&2; exit 2; }
"$bundle_maker" 10000 > "$work/bundle.pem"
inspect_args=()
for i in "${!candidates[@]}"; do
    inspect_args+=(-n "${names[$i]} inspect (text)" "sh -c '${candidates[$i]} inspect $work/bundle.pem > /dev/null'")
    inspect_args+=(-n "${names[$i]} inspect (json)" "sh -c '${candidates[$i]} inspect --format json $work/bundle.pem > /dev/null'")
done
hyperfine -N --style basic --warmup 2 --runs "$runs" \
    --export-json "$work/inspect.json" "${inspect_args[@]}" >/dev/null
table "$work/inspect.json"
# Peak resident memory, median of 11 runs.
rss() {
    for _ in $(seq 11); do
        /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1
    done | sort -n | sed -n 6p
}
echo
echo "| peak RSS (median of 11) | text | json |"
echo "| --- | ---: | ---: |"
for i in "${!candidates[@]}"; do
    text=$(rss "${candidates[$i]}" inspect "$work/bundle.pem")
    json=$(rss "${candidates[$i]}" inspect --format json "$work/bundle.pem")
    printf '| %s | %.1f MiB | %.1f MiB |\n' "${names[$i]}" "$(echo "$text / 1024" | bc -l)" "$(echo "$json / 1024" | bc -l)"
done

echo
echo "## Fleet of 1,000 against the write floor"
rustc -O --edition 2021 -o "$work/write_floor" bench/write_floor.rs
"$bin" init --dir "$work/set" -q
"$bin" issue client --count 1000 --name-prefix collector- --dir "$work/source" \
    --ca-cert "$work/set/ca.crt" --ca-key "$work/set/ca.key" -q
fleet() { # BINARY
    printf '%s' "dir=\$(mktemp -d -p $work/runs) && $1 issue client --count 1000 --name-prefix collector- --dir \$dir/fleet --ca-cert $work/set/ca.crt --ca-key $work/set/ca.key -q"
}
fleet_args=(-n "write floor (2,000 files)" "dir=\$(mktemp -d -p $work/runs) && $work/write_floor $work/source \$dir/fleet")
for i in "${!candidates[@]}"; do
    fleet_args+=(-n "${names[$i]} issue client --count 1000" "$(fleet "${candidates[$i]}")")
done
hyperfine --style basic --warmup 2 --runs "$runs" --export-json "$work/fleet.json" \
    "${fleet_args[@]}" >/dev/null
table "$work/fleet.json"
echo "(user and system CPU include the shell that makes each run's directory, ~1 ms)"
for fleet in "$work"/runs/*/fleet; do
    count=$(ls -A "$fleet" | wc -l)
    [ "$count" -eq 2000 ] || { echo "bench: $fleet has $count files" >&2; exit 1; }
done

if [ "${COLD_BUILD:-0}" = 1 ]; then
    echo
    echo "## Cold release build"
    target=$(mktemp -d)
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f '%e %U %S' -o "$work/build.time" cargo build --release --quiet --target-dir "$target"
    read -r wall user sys < "$work/build.time"
    rm -rf "$target"
    echo "cold cargo build --release: ${wall} s wall, ${user} s user + ${sys} s system CPU (load average at start: $load)"
fi
