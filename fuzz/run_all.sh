#!/usr/bin/env bash
# Runs fuzz targets for SECONDS each (default 600), JOBS at a time (default 2), at low priority,
# and prints one line per target: exit code, executions, corpus size, findings.
# Logs: work/logs/TARGET.log. Builds first unless NOBUILD=1.
#   fuzz/run_all.sh [SECONDS] [JOBS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}; jobs=${2:-2}; shift $(( $# > 2 ? 2 : $# ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(ls fuzz_targets | sed 's/\.rs$//'))
if [ "${NOBUILD:-0}" != 1 ]; then
  RUSTC_BOOTSTRAP=1 cargo fuzz build -s none -a >/dev/null 2>&1 || { echo "build failed"; exit 2; }
fi
bin=target/x86_64-unknown-linux-gnu/release
mkdir -p work/logs
run() {
  t=$1; mkdir -p "work/$t" "artifacts/$t"
  nice -n 10 "$bin/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$secs" \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "work/$t" "corpus/$t" \
    > "work/logs/$t.log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "work/logs/$t.log" | awk '{print $2}')
  found=$(ls "artifacts/$t" | wc -l)
  echo "$t exit=$rc execs=${execs:-?} corpus=$(ls "work/$t" | wc -l) artifacts=$found $(date -u +%H:%M:%S)"
}
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
  run "$t" &
  running=$((running + 1))
done
wait
