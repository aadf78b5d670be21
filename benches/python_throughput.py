#!/usr/bin/env python3
"""Throughput of the Python package beside the relist binary and rapidfuzz, in one run.

    cargo build --release
    python3 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install ./python rapidfuzz numpy
    /tmp/bench-venv/bin/python benches/python_throughput.py [--data fixtures|EM_DIR] [--copies 10]

The same listings go through, alternately, `rounds` times:
- `relist sweep LISTINGS --out /dev/null` (the release binary; its own listings/s, from its
  summary line: reading and parsing the file included, opening the index not);
- `Index.check_many(dicts)`, the listings already in memory as dicts (a notebook's case), and
  the same with `json.loads` of every line counted in;
- `Index.sweep_arrow(table)`, the listings as a pyarrow Table, and the same with
  `pyarrow.json.read_json` of the file counted in;
- rapidfuzz doing the same job the way ../shared/peers/baselines/fuzzy_text.py does it
  (brand + title against every banned brand + title, token_set_ratio, top 5): its
  `process.extract` loop on one thread, and `process.cdist` on every core, on the first
  `--peer-listings` listings (it scans every banned record per listing).

Data: `fixtures` (fixtures/banned.jsonl, and fixtures/catalog.jsonl repeated `--copies` times
with the ids made unique), or a product-matching benchmark directory (tableA as the banned
side, tableB as listings, converted as ../shared/peers/em_convert.py does). Prints a Markdown
table: median listings/s per path over the rounds, each path's ratio to the binary measured
round by round (the machine's other load hits both alike), and the CPU time each spent per
1,000 listings (every thread; the binary's process, or this one), which load changes less than
wall time; the load average before and after says how quiet the machine was.
"""

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.json as pj

import relist

REPO = Path(__file__).resolve().parents[1]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def fixtures(work, copies):
    banned = work / "banned.jsonl"
    banned.write_bytes((REPO / "fixtures" / "banned.jsonl").read_bytes())
    with open(REPO / "fixtures" / "catalog.jsonl", encoding="utf-8") as f:
        catalog = [json.loads(x) for x in f if x.strip()]
    rows = [dict(r, id=f"{r['id']}#{k}") for k in range(copies) for r in catalog]
    write_jsonl(work / "listings.jsonl", rows)
    return banned, work / "listings.jsonl"


def em(work, data):
    """A DeepMatcher-format benchmark as relist records (../shared/peers/em_convert.py's map)."""
    def convert(row, prefix):
        rec = {"id": f"{prefix}-{row['id']}", "title": (row.get("name") or row.get("title") or "").strip()}
        for src, dst in (("brand", "brand"), ("manufacturer", "brand"),
                         ("description", "description"), ("category", "category")):
            v = (row.get(src) or "").strip()
            if v and dst not in rec:
                rec[dst] = v
        if (row.get("modelno") or "").strip():
            rec["models"] = [row["modelno"].strip()]
        return rec

    csv.field_size_limit(10**8)
    out = []
    for table, prefix, name in (("tableA.csv", "A", "banned.jsonl"), ("tableB.csv", "B", "listings.jsonl")):
        with open(Path(data) / table, encoding="utf-8", newline="") as f:
            rows = [convert(r, prefix) for r in csv.DictReader(f)]
        write_jsonl(work / name, [r for r in rows if r["title"]])
        out.append(work / name)
    return tuple(out)


def cpu_seconds(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def binary_sweep(relist_bin, index, listings):
    """(listings/s as the binary reports it, CPU seconds of the process)."""
    c0 = cpu_seconds(resource.RUSAGE_CHILDREN)
    r = subprocess.run([relist_bin, "--index", index, "sweep", listings, "--out", "/dev/null"],
                       capture_output=True, text=True, check=True)
    # "swept N listings: ...; 2.4 s, 10105 listings/s"
    rate = float(r.stderr.strip().splitlines()[-1].rsplit(",", 1)[1].split()[0])
    return rate, cpu_seconds(resource.RUSAGE_CHILDREN) - c0


def timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def in_process(n, f):
    """(listings/s, CPU seconds of this process, every thread) of one call of f."""
    c0 = cpu_seconds(resource.RUSAGE_SELF)
    _, seconds = timed(f)
    return n / seconds, cpu_seconds(resource.RUSAGE_SELF) - c0


def peer_texts(rows):
    from rapidfuzz import utils

    def text_of(rec):
        title, brand = rec.get("title") or "", rec.get("brand") or ""
        if brand and brand.lower() not in title.lower():
            title = f"{brand} {title}"
        return utils.default_process(title)
    return [text_of(r) for r in rows]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="fixtures", help="fixtures, or a benchmark directory")
    ap.add_argument("--copies", type=int, default=10, help="fixture catalog repeats")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--relist", default=str(REPO / "target" / "release" / "relist"))
    ap.add_argument("--peer-listings", type=int, default=2000)
    args = ap.parse_args()

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="relist-pybench-"))
    banned, listings = fixtures(work, args.copies) if args.data == "fixtures" else em(work, args.data)
    index_dir = work / "index"
    subprocess.run([args.relist, "--index", index_dir, "ingest", banned, "--quiet"], check=True)
    index = relist.Index(index_dir)
    with open(listings, encoding="utf-8") as f:
        lines = f.read().splitlines()
    n = len(lines)
    dicts = [json.loads(x) for x in lines]
    table = pj.read_json(listings)
    print(f"{args.data}: {len(index)} banned records, {n} listings; relist {relist.__version__}, "
          f"{os.cpu_count()} cores; load average before {load_before[0]:.2f}", file=sys.stderr)

    # The package's results are the binary's (a sanity check, not a measurement).
    out = work / "hits.jsonl"
    subprocess.run([args.relist, "--index", index_dir, "sweep", listings, "--out", out, "--quiet"],
                   check=True)
    assert index.sweep_arrow(table).column("result").to_pylist() == out.read_text(
        encoding="utf-8").splitlines()

    paths = {
        "relist sweep (release binary)": lambda: binary_sweep(args.relist, index_dir, listings),
        "check_many, dicts in memory": lambda: in_process(n, lambda: index.check_many(dicts)),
        "check_many, json.loads included": lambda: in_process(
            n, lambda: index.check_many(json.loads(x) for x in lines)),
        "sweep_arrow, Table in memory": lambda: in_process(n, lambda: index.sweep_arrow(table)),
        "sweep_arrow, read_json included": lambda: in_process(
            n, lambda: index.sweep_arrow(pj.read_json(listings))),
    }
    rates = {k: [] for k in paths}
    cpu = {k: [] for k in paths}
    index.check_many(dicts[:2000])  # warm the record cache, as the binary's first batch does
    for _ in range(args.rounds):
        for name, f in paths.items():
            rate, seconds = f()
            rates[name].append(rate)
            cpu[name].append(seconds)

    # rapidfuzz: the peer script's loop on one thread, and cdist on every core.
    from rapidfuzz import fuzz, process

    with open(banned, encoding="utf-8") as f:
        banned_rows = [json.loads(x) for x in f if x.strip()]
    choices = peer_texts(banned_rows)
    sample = dicts[: args.peer_listings]
    _, t_extract = timed(lambda: [process.extract(q, choices, scorer=fuzz.token_set_ratio,
                                                  processor=None, limit=5)
                                  for q in peer_texts(sample)])
    _, t_cdist = timed(lambda: process.cdist(peer_texts(sample), choices,
                                             scorer=fuzz.token_set_ratio, workers=-1).argsort(axis=1)[:, -5:])
    load_after = os.getloadavg()

    binary = rates["relist sweep (release binary)"]
    print(f"| path | listings/s (median of {args.rounds}) | ratio to the binary (median) "
          "| CPU ms per 1000 listings (median) |")
    print("|---|---:|---:|---:|")
    for name, r in rates.items():
        ratio = statistics.median(x / b for x, b in zip(r, binary))
        per_k = 1000 * 1000 * statistics.median(cpu[name]) / n
        print(f"| {name} | {statistics.median(r):,.0f} | {ratio:.2f} | {per_k:,.0f} |")
    b = statistics.median(binary)
    for name, t in ((f"rapidfuzz extract loop, 1 thread ({len(sample)} listings)", t_extract),
                    (f"rapidfuzz cdist, all cores ({len(sample)} listings)", t_cdist)):
        print(f"| {name} | {len(sample) / t:,.0f} | {len(sample) / t / b:.2f} | |")
    print(f"\nload average: {load_before[0]:.2f} before, {load_after[0]:.2f} after "
          f"(1 min; {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
