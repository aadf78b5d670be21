#!/usr/bin/env python3
"""More WDC Products training pairs from the benchmark's own cluster labels (issue 13).

    benches/wdc_clusters.py SRC OUT [--half A|B] [--negatives K]

SRC is the WDC Products folder (tableA.csv, tableB.csv with `cluster_id`, train.csv,
valid.csv). OUT becomes a DeepMatcher folder for `relist train --em OUT`: tableA/tableB
linked, and a train.csv holding the benchmark's train pairs plus pairs made from the same
offers: every tableA x tableB pair of one cluster (one product) is positive, and for each
tableB offer the K most similar tableA offers of other clusters (word Jaccard of brand and
title) are negatives. These are the benchmark's own training labels in another form (the
train split labels 6,000 of the pairs its offers can make; the clusters label them all).

Only offers that appear in a train pair and in no valid pair are used: nothing of the valid
split is read beyond which offers it names. `--half A` (or B) keeps only the train pairs of
that half as `benches/generalise.py --tune` splits them (listings by CRC-32 of their id) and
pairs only offers of those pairs, so the tuning half B stays unseen as a listing.
"""
import argparse, collections, csv, os, re, zlib

WORD = re.compile(r"[0-9a-z]+")


def words(r):
    return set(WORD.findall(f"{r.get('brand') or ''} {r['title']}".lower()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--half", choices=["A", "B"])
    ap.add_argument("--negatives", type=int, default=1)
    a = ap.parse_args()
    rows = lambda n: list(csv.DictReader(open(os.path.join(a.src, n), newline="")))
    A = {r["id"]: r for r in rows("tableA.csv")}
    B = {r["id"]: r for r in rows("tableB.csv")}
    train = rows("train.csv")
    valid = rows("valid.csv")
    if a.half:
        want = 0 if a.half == "A" else 1
        train = [r for r in train if zlib.crc32(r["rtable_id"].encode()) % 2 == want]
    held_a = {r["ltable_id"] for r in valid}
    held_b = {r["rtable_id"] for r in valid}
    left = sorted({r["ltable_id"] for r in train} - held_a, key=int)
    right = sorted({r["rtable_id"] for r in train} - held_b, key=int)
    seen = {(r["ltable_id"], r["rtable_id"]) for r in train}
    out = [(r["ltable_id"], r["rtable_id"], r["label"]) for r in train]
    by_cluster = collections.defaultdict(list)
    for i in left:
        by_cluster[A[i]["cluster_id"]].append(i)
    left_words = {i: words(A[i]) for i in left}
    pos = neg = 0
    for j in right:
        c = B[j]["cluster_id"]
        for i in by_cluster.get(c, []):
            if (i, j) not in seen:
                seen.add((i, j))
                out.append((i, j, "1"))
                pos += 1
        wj = words(B[j])
        sim = sorted(
            ((len(wj & left_words[i]) / max(1, len(wj | left_words[i])), i)
             for i in left if A[i]["cluster_id"] != c),
            key=lambda t: (-t[0], int(t[1])))
        for _, i in sim[:a.negatives]:
            if (i, j) not in seen:
                seen.add((i, j))
                out.append((i, j, "0"))
                neg += 1
    os.makedirs(a.out, exist_ok=True)
    for t in ["tableA.csv", "tableB.csv"]:
        p = os.path.join(a.out, t)
        if not os.path.exists(p):
            os.symlink(os.path.abspath(os.path.join(a.src, t)), p)
    with open(os.path.join(a.out, "train.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ltable_id", "rtable_id", "label"])
        w.writerows(out)
    print(f"{len(train)} train pairs + {pos} positive + {neg} negative from clusters "
          f"({len(left)} left, {len(right)} right offers)")


if __name__ == "__main__":
    main()
