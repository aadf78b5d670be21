#!/usr/bin/env bash
# Before/after figures of two relist source trees, measured alternately in one run on one machine.
#
#   benches/compare.sh BEFORE_DIR AFTER_DIR
#
# e.g. `git worktree add /tmp/before <base-commit>` and then `benches/compare.sh /tmp/before .`.
# Each tree is built with its own target directory (`cargo build --release` and the
# check_latency bench) and each binary runs from its own tree, with that tree's fixtures and
# configs: a change may rewrite the config format or the index format, so nothing built or
# written by one side is given to the other. What is measured, per round, before then after:
#   - the fixture evaluation: `relist eval fixtures/catalog.jsonl` on an index of
#     fixtures/banned.jsonl (F1, listings/s);
#   - `relist eval --em` on the Abt-Buy, Walmart-Amazon and Amazon-Google test splits
#     ($SHARED/data/em), with each dataset's shipped profile (benches/em/<dataset>.toml) and with
#     the default config (F1, listings/s);
#   - benches/check_latency.rs at $BENCH_SIZES banned records (check p50/p99 ms, sweep
#     listings/s, planted relistings caught).
# Then one table: detection figures (deterministic: a round that disagrees is flagged) and
# speed figures (the median over rounds; the range beside it).
#
# Knobs (environment):
#   ROUNDS=3            rounds of before-then-after (speeds are medians over rounds)
#   BENCH_SIZES=100000  banned records for check_latency (comma-separated); BENCH=0 skips it
#   EM=1                EM=0 skips the public benchmarks
#   NOBUILD=1           use the binaries already built (target/release/relist, the bench binary)
#   SHARED=DIR          the shared data (default: ../shared beside AFTER_DIR)
#   KEEP=1              keep the work directory (raw outputs) and print its path
# The check_latency bench builds its synthetic index once per tree (DIR/target/bench-index/),
# before it measures; the first round pays that, the figures do not include it.
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,4p' "$0" >&2; exit 2; }
BEFORE=$(cd "$1" && pwd)
AFTER=$(cd "$2" && pwd)
ROUNDS=${ROUNDS:-3}
BENCH=${BENCH:-1}
BENCH_SIZES=${BENCH_SIZES:-100000}
EM=${EM:-1}
SHARED=$(cd "${SHARED:-$AFTER/../shared}" && pwd)
DATASETS=(Abt-Buy Walmart-Amazon Amazon-Google)
WORK=$(mktemp -d)
if [ "${KEEP:-0}" = 1 ]; then echo "raw outputs in $WORK" >&2; else trap 'rm -rf "$WORK"' EXIT; fi
# The figures must not depend on the caller's environment: no index, config or threshold from it.
unset RELIST_INDEX RELIST_CONFIG RELIST_BLOCK_THRESHOLD RELIST_REVIEW_THRESHOLD RELIST_CANDIDATES
# Each tree builds into its own DIR/target, which is where the binaries are looked for.
unset CARGO_TARGET_DIR
RAW="$WORK/raw.tsv"   # side, round, figure, value: one line per figure measured
: > "$RAW"

clock() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }

# Builds one tree's binary and bench; prints the bench executable's path.
build() {
  local dir=$1 bench=""
  (cd "$dir" && cargo build --release --locked --quiet) >&2
  if [ "$BENCH" = 1 ]; then
    # The executable's name carries a hash: ask cargo for it rather than guess.
    bench=$(cd "$dir" && cargo bench --bench check_latency --no-run --locked --quiet \
      --message-format=json 2>&2 | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "check_latency" \
            and m.get("executable"):
        print(m["executable"])')
    [ -n "$bench" ] || { echo "compare.sh: no check_latency bench built in $dir" >&2; exit 1; }
  fi
  echo "$bench"
}

declare -A BENCH_BIN
for side in before after; do
  dir=$BEFORE; [ $side = after ] && dir=$AFTER
  t0=$(clock)
  if [ "${NOBUILD:-0}" = 1 ]; then
    BENCH_BIN[$side]=$(ls -t "$dir"/target/release/deps/check_latency-* 2>/dev/null \
      | grep -v '\.d$' | head -1 || true)
  else
    echo "building $side ($dir)" >&2
    BENCH_BIN[$side]=$(build "$dir")
  fi
  [ -x "$dir/target/release/relist" ] || { echo "compare.sh: no $dir/target/release/relist" >&2; exit 1; }
  echo "$side: $(git -C "$dir" log -1 --format='%h %s' 2>/dev/null | cut -c1-80)$(git -C "$dir" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)'); built in $(elapsed "$t0" "$(clock)") s" >&2
done
for f in fixtures/catalog.jsonl fixtures/banned.jsonl; do
  cmp -s "$BEFORE/$f" "$AFTER/$f" || echo "note: $f differs between the trees; each side uses its own" >&2
done

# One side's round: every measurement, appended to $RAW. Runs from the side's tree.
measure() {
  local side=$1 round=$2 dir=$3 relist="$3/target/release/relist" out t0
  cd "$dir"
  t0=$(clock)
  rm -rf "$WORK/fx-$side"
  "$relist" --quiet --index "$WORK/fx-$side" ingest fixtures/banned.jsonl
  "$relist" --quiet --index "$WORK/fx-$side" eval fixtures/catalog.jsonl --json > "$WORK/fx-$side.json"
  python3 - "$side" "$round" "$WORK/fx-$side.json" >> "$RAW" <<'PY'
import json, sys
side, rnd, path = sys.argv[1:]
r = json.load(open(path))
print(f"{side}\t{rnd}\tfixture F1\t{r['f1']:.4f}")
print(f"{side}\t{rnd}\tfixture precision\t{r['precision']:.4f}")
print(f"{side}\t{rnd}\tfixture recall\t{r['recall']:.4f}")
print(f"{side}\t{rnd}\tfixture false blocks\t{r['false_blocks']}")
print(f"{side}\t{rnd}\tfixture listings/s\t{r['listings_per_second']:.0f}")
PY
  echo "  $side round $round: fixture eval $(elapsed "$t0" "$(clock)") s" >&2
  if [ "$EM" = 1 ]; then
    for profile in shipped default; do
      t0=$(clock)
      for ds in "${DATASETS[@]}"; do
        local cfg=()
        [ $profile = shipped ] && cfg=(--config "benches/em/$ds.toml")
        # --json writes one object per dataset on stderr; the table on stdout is not needed.
        "$relist" --quiet "${cfg[@]}" eval --em "$SHARED/data/em/$ds" --split test --json \
          2> "$WORK/em-$side.json" > /dev/null
        python3 - "$side" "$round" "$profile" "$WORK/em-$side.json" >> "$RAW" <<'PY'
import json, sys
side, rnd, profile, path = sys.argv[1:]
for line in open(path):
    if line.startswith("{"):
        r = json.loads(line)
        ds = f"{r['dataset']} ({profile} profile)"
        print(f"{side}\t{rnd}\t{ds} F1\t{r['f1']:.4f}")
        print(f"{side}\t{rnd}\t{ds} listings/s\t{r['listings_per_second']:.0f}")
PY
      done
      echo "  $side round $round: eval --em, $profile profile $(elapsed "$t0" "$(clock)") s" >&2
    done
  fi
  if [ "$BENCH" = 1 ]; then
    t0=$(clock)
    RELIST_BENCH_SIZES=$BENCH_SIZES "${BENCH_BIN[$side]}" > "$WORK/bench-$side.txt" 2> "$WORK/bench-$side.err"
    # Columns: banned, p50, p90, p99, mean, scan p50, scan/relist, sweep/s, caught%.
    awk -v s="$side" -v r="$round" '$1 ~ /^[0-9]+$/ && NF >= 9 {
      n = $1; sub(/%$/, "", $9)
      printf "%s\t%s\tcheck p50 ms @%s\t%s\n", s, r, n, $2
      printf "%s\t%s\tcheck p99 ms @%s\t%s\n", s, r, n, $4
      printf "%s\t%s\tsweep listings/s @%s\t%s\n", s, r, n, $8
      printf "%s\t%s\tplanted caught %% @%s\t%s\n", s, r, n, $9
    }' "$WORK/bench-$side.txt" >> "$RAW"
    echo "  $side round $round: check_latency $(elapsed "$t0" "$(clock)") s$(grep -o 'built [0-9]* records in [0-9.]* s' "$WORK/bench-$side.err" | sed 's/^/ (/; s/$/)/' | tr '\n' ' ')" >&2
  fi
}

for round in $(seq 1 "$ROUNDS"); do
  # Alternate which side goes first, so a trend in the machine's load favours neither.
  if [ $((round % 2)) = 1 ]; then order=(before after); else order=(after before); fi
  for side in "${order[@]}"; do
    dir=$BEFORE; [ $side = after ] && dir=$AFTER
    (measure "$side" "$round" "$dir")
  done
done

echo
echo "before: $BEFORE"
echo "after:  $AFTER"
echo "$ROUNDS round(s), alternating; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
python3 - "$RAW" <<'PY'
import collections, statistics, sys
vals = collections.defaultdict(lambda: {"before": [], "after": []})
order = []
for line in open(sys.argv[1]):
    side, _rnd, fig, v = line.rstrip("\n").split("\t")
    if fig not in vals:
        order.append(fig)
    vals[fig][side].append(float(v))
# Speeds vary run to run: the median over rounds, with the range. Detection figures are exact.
speed = lambda f: "listings/s" in f or " ms " in f

def show(xs, f):
    if not xs:
        return "-", None
    if speed(f):
        m = statistics.median(xs)
        g = (lambda x: f"{x:.0f}") if m >= 100 else (lambda x: f"{x:.3f}")
        rng = f" ({g(min(xs))}-{g(max(xs))})" if len(xs) > 1 else ""
        return f"{g(m)}{rng}", m
    flag = "" if len(set(xs)) == 1 else " !varies"
    return f"{xs[0]:g}{flag}", xs[0]

print(f"{'figure':<46} {'before':>24} {'after':>24} {'change':>9}")
for f in order:
    b, bv = show(vals[f]["before"], f)
    a, av = show(vals[f]["after"], f)
    if bv is None or av is None:
        ch = ""
    elif speed(f):
        ch = f"{100 * (av - bv) / bv:+.1f}%" if bv else ""
    else:
        ch = "same" if av == bv else f"{av - bv:+g}"
    print(f"{f:<46} {b:>24} {a:>24} {ch:>9}")
PY
