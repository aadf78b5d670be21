"""The GIL is released while the engine works: another Python thread keeps running during a
batch, and threads sharing one Index get the results they would get alone."""

import threading
import time

import pyarrow.json as pj
import pytest

import relist
from conftest import CATALOG, line


@pytest.fixture(scope="module")
def index(index_dir):
    return relist.Index(index_dir)


def ticks_during(call) -> tuple[list[float], float, object]:
    """Runs `call` on a thread while this thread counts loop iterations (pure Python: each
    needs the GIL). Returns the times of the iterations made during the call, with the call's
    start and end, the call's duration and its result."""
    out = {}

    def work():
        out["start"] = time.perf_counter()
        out["result"] = call()
        out["end"] = time.perf_counter()

    worker = threading.Thread(target=work)
    ticks = []
    worker.start()
    while worker.is_alive():
        ticks.append(time.perf_counter())
        sum(range(200))
    worker.join()
    start, end = out["start"], out["end"]
    during = [start] + [t for t in ticks if start < t < end] + [end]
    return during, end - start, out["result"]


def longest_gap(ticks: list[float]) -> float:
    return max(b - a for a, b in zip(ticks, ticks[1:]))


def test_the_measure_sees_a_call_that_holds_the_gil():
    # The control: sorting floats runs in C without releasing the GIL, and this thread stands
    # still for most of the call; the checks below must not look like this.
    import random

    numbers = [random.random() for _ in range(2_000_000)]
    ticks, seconds, _ = ticks_during(lambda: sorted(numbers))
    assert longest_gap(ticks) > seconds / 2


def test_check_many_lets_other_threads_run(index, catalog, cli_sweep_all):
    ticks, seconds, results = ticks_during(lambda: index.check_many(catalog))
    assert [line(r) for r in results] == cli_sweep_all
    assert seconds > 0.5, "the batch is too quick to show anything"
    # Were the GIL held for the call, this thread would stand still for all of it: here it
    # only waits while a chunk's objects are converted (a few milliseconds each).
    gap = longest_gap(ticks)
    assert gap < seconds / 4, f"this thread stood still {gap:.3f} s of a {seconds:.3f} s call"
    assert len(ticks) > 100


def test_sweep_arrow_lets_other_threads_run(index, cli_sweep):
    table = pj.read_json(CATALOG)
    ticks, seconds, out = ticks_during(lambda: index.sweep_arrow(table))
    assert out.column("result").to_pylist() == cli_sweep
    assert seconds > 0.5
    gap = longest_gap(ticks)
    assert gap < seconds / 4, f"this thread stood still {gap:.3f} s of a {seconds:.3f} s call"


def test_threads_share_one_index(index, catalog, cli_sweep_all):
    # Four threads, each its own slice, at once; single checks among them.
    slices = [catalog[i::4] for i in range(4)]
    expected = [cli_sweep_all[i::4] for i in range(4)]
    got = [None] * 4
    singles = []

    def run(i):
        got[i] = [line(r) for r in index.check_many(slices[i], threads=1)]
        singles.append(line(index.check(slices[i][0])))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == expected
    assert sorted(singles) == sorted(e[0] for e in expected)
