#!/usr/bin/env python3
"""Soak test of `relist serve`: a mixed load for a long time, then the books are checked.

Starts the server on a fresh index of fixtures/banned.jsonl and runs, for --minutes:
  - --clients threads in a closed loop of checks (60 %), batch checks of 10-50 listings (15 %),
    queries (15 %) and reads of one banned record (10 %), listings drawn from fixtures/catalog.jsonl;
  - one writer that every --write-every seconds adds 1-5 new banned records (POST /v1/banned) or,
    one time in ten, removes one it added earlier (DELETE /v1/banned/{id});
  - a sampler of the server's resident memory (VmRSS, /proc) every 10 s.
Reported per 5-minute window: requests, status codes, latency percentiles per kind, RSS. At the
end, every write acknowledged with a 2xx must be visible (added ids present, removed ids gone),
and again after the server is stopped (SIGTERM) and restarted on the same index.

Any status other than 200 (and 503 `overloaded`, the deliberate shedding) is an error; the exit
code is 1 if there was one, if an acknowledged write is missing, or if the server died.

    cargo build --release
    python3 benches/soak.py --binary target/release/relist --minutes 30

Standard library only; the client's own CPU use (Python, on the same machine) limits throughput,
so the figures are a stability record, not a benchmark of peak speed.
"""

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


class Stats:
    """Latencies and statuses per window and kind, under one lock."""

    def __init__(self, window_s, total_s):
        self.window_s = window_s
        self.last = max(0, int(round(total_s / window_s)) - 1)
        self.start = time.monotonic()
        self.lock = threading.Lock()
        self.windows = {}  # index -> {"lat": {kind: [ms]}, "status": {code: n}, "rss": [kib]}
        self.errors = []

    def _w(self, t):
        # Requests still in flight when the run ends count in the last window.
        i = min(int((t - self.start) // self.window_s), self.last)
        return self.windows.setdefault(i, {"lat": {}, "status": {}, "rss": []})

    def record(self, kind, status, ms, detail=None):
        with self.lock:
            w = self._w(time.monotonic())
            w["lat"].setdefault(kind, []).append(ms)
            w["status"][status] = w["status"].get(status, 0) + 1
            if status not in (200, 503) or (status == 503 and detail and "overloaded" not in detail):
                if len(self.errors) < 50:
                    self.errors.append((kind, status, (detail or "")[:200]))

    def rss(self, kib):
        with self.lock:
            self._w(time.monotonic())["rss"].append(kib)


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None):
        """(status, body bytes, ms); status 0 if the connection failed."""
        data = None if body is None else body.encode() if isinstance(body, str) else body
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            t0 = time.perf_counter()
            try:
                headers = {"Content-Type": "application/json"} if data is not None else {}
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                out = resp.read()
                return resp.status, out, (time.perf_counter() - t0) * 1000
            except (OSError, http.client.HTTPException) as e:
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    return 0, str(e).encode(), (time.perf_counter() - t0) * 1000
        return 0, b"", 0.0


def start_server(binary, index, port):
    proc = subprocess.Popen(
        [binary, "--index", index, "serve", "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not become ready: " + proc.stderr.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/relist"))
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--write-every", type=float, default=0.5)
    ap.add_argument("--replace-pool", type=int, default=0,
                    help="writes replace records of a pool of this many ids (no removals), so the "
                         "index stays the same size: a control for memory growth per commit")
    ap.add_argument("--no-writes", action="store_true",
                    help="checks, batches, queries and reads only (a control for memory growth)")
    ap.add_argument("--window-minutes", type=float, default=5)
    ap.add_argument("--json", help="also write the summary as JSON to this file")
    a = ap.parse_args()

    catalog = load_jsonl(os.path.join(ROOT, "fixtures/catalog.jsonl"))
    banned = load_jsonl(os.path.join(ROOT, "fixtures/banned.jsonl"))
    for l in catalog:
        for k in ("expected", "evasion"):
            l.pop(k, None)
    words = [w for r in banned for w in r.get("title", "").split() if len(w) > 3]
    models = [m for r in banned for m in r.get("models", [])]

    tmp = tempfile.mkdtemp(prefix="relist-soak-")
    index = os.path.join(tmp, "index")
    subprocess.run(
        [a.binary, "--index", index, "ingest", os.path.join(ROOT, "fixtures/banned.jsonl")],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    port = free_port()
    server = start_server(a.binary, index, port)
    stats = Stats(a.window_minutes * 60, a.minutes * 60)
    stop = threading.Event()
    added, removed = set(), set()
    books = threading.Lock()

    def checker(seed):
        rng = random.Random(seed)
        c = Client(port)
        while not stop.is_set():
            r = rng.random()
            if r < 0.60:
                kind, method, path = "check", "POST", "/v1/check"
                body = json.dumps(rng.choice(catalog))
            elif r < 0.75:
                kind, method, path = "batch", "POST", "/v1/check/batch"
                body = json.dumps(rng.sample(catalog, rng.randint(10, 50)))
            elif r < 0.90:
                kind, method, body = "query", "GET", None
                if rng.random() < 0.5:
                    path = "/v1/query?model=" + urllib.parse.quote(rng.choice(models))
                else:
                    q = " ".join(rng.sample(words, 2))
                    path = "/v1/query?limit=5&text=" + urllib.parse.quote(q)
            else:
                kind, method, body = "get", "GET", None
                path = "/v1/banned/" + urllib.parse.quote(rng.choice(banned)["id"])
            status, out, ms = c.request(method, path, body)
            stats.record(kind, status, ms, out.decode("utf-8", "replace") if status != 200 else None)

    def writer():
        rng = random.Random(7)
        c = Client(port)
        n = 0
        while not stop.is_set():
            time.sleep(a.write_every)
            with books:
                pool = sorted(added - removed)
            if pool and rng.random() < 0.1 and not a.replace_pool:
                victim = rng.choice(pool)
                status, out, ms = c.request("DELETE", "/v1/banned/" + victim)
                stats.record("remove", status, ms, out.decode("utf-8", "replace"))
                if status == 200:
                    with books:
                        removed.add(victim)
                continue
            recs = []
            for _ in range(rng.randint(1, 5)):
                n += 1
                base = rng.choice(banned)
                key = rng.randint(1, a.replace_pool) if a.replace_pool else n
                recs.append({
                    "id": f"SOAK-{key:06d}",
                    "title": f"{base['title']} variant {n}",
                    "brand": base.get("brand"),
                    "models": [f"SK-{n:06d}"],
                    "source": "soak",
                })
            body = "\n".join(json.dumps(r) for r in recs)
            status, out, ms = c.request("POST", "/v1/banned", body)
            stats.record("write", status, ms, out.decode("utf-8", "replace"))
            if status == 200:
                with books:
                    added.update(r["id"] for r in recs)

    def sampler():
        while not stop.is_set():
            kib = rss_kib(server.pid)
            if kib is not None:
                stats.rss(kib)
            stop.wait(10)

    threads = [threading.Thread(target=checker, args=(i,), daemon=True) for i in range(a.clients)]
    threads.append(threading.Thread(target=sampler, daemon=True))
    if not a.no_writes:
        threads.append(threading.Thread(target=writer, daemon=True))
    began = time.time()
    for t in threads:
        t.start()
    stop.wait(a.minutes * 60)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    elapsed = time.time() - began
    alive = server.poll() is None

    def verify(label):
        c = Client(port)
        missing, resurrected = [], []
        with books:
            live, gone = sorted(added - removed), sorted(removed)
        for i in live:
            s, _, _ = c.request("GET", "/v1/banned/" + i)
            if s != 200:
                missing.append(i)
        for i in gone:
            s, _, _ = c.request("GET", "/v1/banned/" + i)
            if s != 404:
                resurrected.append(i)
        return {"when": label, "live": len(live), "removed": len(gone),
                "missing": missing[:20], "n_missing": len(missing),
                "resurrected": resurrected[:20], "n_resurrected": len(resurrected)}

    checks = [verify("at the end")] if alive else []
    if alive:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
    server = start_server(a.binary, index, port)
    checks.append(verify("after SIGTERM and restart"))
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=120)

    # The report.
    kinds = ["check", "batch", "query", "get", "write", "remove"]
    rows = []
    total = {}
    for i in sorted(stats.windows):
        w = stats.windows[i]
        n = sum(w["status"].values())
        for k, v in w["status"].items():
            total[k] = total.get(k, 0) + v
        lat = w["lat"]
        row = {
            "window": f"{i * a.window_minutes:g}-{(i + 1) * a.window_minutes:g} min",
            "requests": n,
            "status": dict(sorted(w["status"].items())),
            "rss_mib": (min(w["rss"]) / 1024, max(w["rss"]) / 1024) if w["rss"] else None,
        }
        for k in kinds:
            if k in lat:
                row[k] = (pct(lat[k], 50), pct(lat[k], 99), len(lat[k]))
        rows.append(row)
    writes = "no writer" if a.no_writes else f"1 writer every {a.write_every} s"
    print(f"soak: {elapsed / 60:.1f} min, {a.clients} check clients + {writes}, "
          f"server alive at the end: {alive}")
    print(f"status totals: {dict(sorted(total.items()))}")
    head = f"{'window':<12} {'requests':>8} {'req/s':>6} " + " ".join(
        f"{k + ' p50/p99 ms':>20}" for k in kinds) + f" {'RSS MiB min-max':>16}"
    print(head)
    for r in rows:
        cells = []
        for k in kinds:
            cells.append(f"{r[k][0]:>9.1f}/{r[k][1]:<9.1f}" if k in r else f"{'-':>20}")
        rss = f"{r['rss_mib'][0]:.0f}-{r['rss_mib'][1]:.0f}" if r["rss_mib"] else "-"
        secs = a.window_minutes * 60
        print(f"{r['window']:<12} {r['requests']:>8} {r['requests'] / secs:>6.1f} "
              + " ".join(cells) + f" {rss:>16}")
    for c in checks:
        print(f"acknowledged writes {c['when']}: {c['live']} records added and kept, "
              f"{c['removed']} removed; missing {c['n_missing']}, removed but present {c['n_resurrected']}")
    if stats.errors:
        print("errors (first 50):")
        for e in stats.errors:
            print("  ", e)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "checks": checks, "errors": stats.errors, "totals": total,
                       "elapsed_s": elapsed, "alive": alive}, f, indent=1, default=str)
    bad = stats.errors or not alive or any(c["n_missing"] or c["n_resurrected"] for c in checks)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
