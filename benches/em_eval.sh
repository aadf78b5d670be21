#!/usr/bin/env bash
# Public product-matching benchmarks, relist beside the rapidfuzz baseline, in one run.
#
#   benches/em_eval.sh [CONFIG]   (default: each dataset with its own benches/em/<dataset>.toml)
#
# For each of Abt-Buy, Walmart-Amazon and Amazon-Google (../shared/data/em): tableA becomes the
# banned index, tableB the listings; relist sweeps the listings and shared/peers/em_eval.py
# scores the test pairs (a pair is positive when the listing's result names the banned record
# with decision review or block). The same scorer scores rapidfuzz token_set_ratio
# (shared/peers/baselines/fuzzy_text.py). `relist eval --em` adds candidate recall at 10/20/50.
# Needs python3 with rapidfuzz for the baseline: PYTHON=/path/to/venv/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${1:-}   # one config for every dataset; default: benches/em/<dataset>.toml
SHARED=${SHARED:-../shared}
PY=${PYTHON:-python3}
cargo build --release --quiet
RELIST=target/release/relist
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for ds in Abt-Buy Walmart-Amazon Amazon-Google; do
  data="$SHARED/data/em/$ds"
  CONFIG=${PROFILE:-benches/em/$ds.toml}
  python3 "$SHARED/peers/em_convert.py" "$data" "$WORK/$ds" >/dev/null
  "$RELIST" --quiet --index "$WORK/$ds/index" ingest "$WORK/$ds/banned.jsonl"
  start=$(date +%s.%N)
  "$RELIST" --quiet --index "$WORK/$ds/index" --config "$CONFIG" sweep "$WORK/$ds/listings.jsonl" --all --out "$WORK/$ds/relist.jsonl"
  end=$(date +%s.%N)
  n=$(wc -l < "$WORK/$ds/listings.jsonl")
  relist=$(python3 "$SHARED/peers/em_eval.py" --data "$data" --results "$WORK/$ds/relist.jsonl" | tail -1)
  start_b=$(date +%s.%N)
  "$PY" "$SHARED/peers/baselines/fuzzy_text.py" "$WORK/$ds/banned.jsonl" "$WORK/$ds/listings.jsonl" --out "$WORK/$ds/fuzzy.jsonl" >/dev/null
  end_b=$(date +%s.%N)
  fuzzy=$(python3 "$SHARED/peers/em_eval.py" --data "$data" --results "$WORK/$ds/fuzzy.jsonl" | tail -1)
  python3 - "$ds" "$n" "$start" "$end" "$start_b" "$end_b" "$relist" "$fuzzy" <<'PY'
import json, sys
ds, n, s, e, sb, eb, relist, fuzzy = sys.argv[1:]
n = int(n)
for name, res, t in (("relist", json.loads(relist), float(e) - float(s)),
                     ("rapidfuzz", json.loads(fuzzy), float(eb) - float(sb))):
    h = res.get("headline") or res.get("review_or_block") or res
    tuned = res.get("tuned", {})
    print(f"{ds:<15} {name:<10} P {h['precision']:.4f} R {h['recall']:.4f} F1 {h['f1']:.4f}"
          f"  tuned-threshold F1 {tuned.get('f1', float('nan')):.4f}  {n / t:,.0f} listings/s")
PY
done
echo
for ds in Abt-Buy Walmart-Amazon Amazon-Google; do
  out=$("$RELIST" --config "${PROFILE:-benches/em/$ds.toml}" eval --em "$SHARED/data/em/$ds")
  if [ "$ds" = Abt-Buy ]; then echo "$out"; else echo "$out" | tail -1; fi
done
