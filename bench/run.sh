#!/usr/bin/env bash
# Benchmarks otel-pki against the openssl recipe, side by side, and prints a Markdown table of
# medians. Needs hyperfine (apt-get install hyperfine) and a release build. Figures are
# recorded in docs/performance.md; this is never run as a timed test.
#
#   cargo build --release --examples && bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/target/release/otel-pki
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=${RUNS:-40}
rsa_runs=${RSA_RUNS:-10}

export OTEL_PKI_DIR="$work/unused"   # every command below passes --dir explicitly
hyperfine -N --style basic --warmup 3 --runs "$runs" --export-json "$work/p256.json" \
  --prepare "rm -rf $work/a $work/b" \
  -n "otel-pki init (P-256)" "$bin init -q --dir $work/a" \
  -n "openssl recipe (P-256)" "bash bench/openssl-recipe.sh p256 $work/b" >&2
hyperfine -N --style basic --warmup 1 --runs "$rsa_runs" --export-json "$work/rsa.json" \
  --prepare "rm -rf $work/a $work/b" \
  -n "otel-pki init (RSA-4096)" "$bin init -q --key-type rsa-4096 --dir $work/a" \
  -n "openssl recipe (RSA-4096)" "bash bench/openssl-recipe.sh rsa4096 $work/b" >&2

# A 10,000-certificate bundle, every certificate distinct.
target/release/examples/make_bundle 10000 > "$work/bundle.pem"
hyperfine -N --style basic --warmup 2 --runs "$runs" --export-json "$work/inspect.json" \
  -n "otel-pki inspect 10k (text)" "sh -c '$bin inspect $work/bundle.pem > /dev/null'" \
  -n "otel-pki inspect 10k (json)" "sh -c '$bin inspect --format json $work/bundle.pem > /dev/null'" \
  -n "openssl storeutl -text 10k" "sh -c 'openssl storeutl -noout -text -certs $work/bundle.pem > /dev/null'" >&2

# Peak memory (maximum resident set size) of init, median of 10 runs.
rss() {
  for _ in $(seq 10); do
    rm -rf "$work/m"
    /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1
  done | sort -n | sed -n 5p
}
rss_p256=$(rss "$bin" init -q --dir "$work/m")
rss_rsa=$(rss "$bin" init -q --key-type rsa-4096 --dir "$work/m")
rss_inspect=$(rss "$bin" inspect --format json "$work/bundle.pem")

python3 - "$work" "$rss_p256" "$rss_rsa" "$rss_inspect" <<'PY'
import json, sys
work, rss_p256, rss_rsa, rss_inspect = sys.argv[1:]
print("| benchmark | median | mean ± σ | min … max | runs |")
print("| --- | ---: | ---: | ---: | ---: |")
for name in ("p256", "rsa", "inspect"):
    for r in json.load(open(f"{work}/{name}.json"))["results"]:
        ms = lambda s: f"{s*1000:.1f} ms"
        print(f"| {r['command']} | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'])} | "
              f"{ms(r['min'])} … {ms(r['max'])} | {len(r['times'])} |")
print()
print(f"Peak RSS (median of 10): init P-256 {int(rss_p256)/1024:.1f} MiB, "
      f"init RSA-4096 {int(rss_rsa)/1024:.1f} MiB, inspect 10k JSON {int(rss_inspect)/1024:.1f} MiB")
PY
