"""Both Spark jobs of python/examples, in Spark's local mode on the fixtures: their output,
sorted, equals `relist sweep` on the same catalog line for line.

Skipped without PySpark or Java, unless RELIST_REQUIRE_SPARK=1 (as .ci/run sets), which makes
a missing Spark a failure instead.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CATALOG, REPO, relist_bin, run

EXAMPLES = REPO / "python" / "examples"


def spark_ready():
    missing = []
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing.append("pyspark")
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        missing.append("java")
    if missing:
        if os.environ.get("RELIST_REQUIRE_SPARK") == "1":
            pytest.fail(f"RELIST_REQUIRE_SPARK=1 but no {' and no '.join(missing)}")
        pytest.skip(f"no {', '.join(missing)}")


def job(script, *args, cwd):
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    r = subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)], cwd=cwd,
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{script} exited {r.returncode}:\n{r.stderr[-4000:]}"


def lines_of(out: Path) -> list[str]:
    parts = sorted(out.glob("part-*"))
    assert parts, f"no part files in {out}"
    return [x for p in parts for x in p.read_text(encoding="utf-8").splitlines()]


def test_map_in_arrow_job_equals_relist_sweep(index_dir, cli_sweep, tmp_path):
    spark_ready()
    out = tmp_path / "hits"
    job("spark_sweep.py", "--index", index_dir, "--catalog", CATALOG, "--out", out,
        cwd=tmp_path)
    got = lines_of(out)
    assert len(got) == len(cli_sweep) > 1000
    assert sorted(got) == sorted(cli_sweep)


def test_pipe_recipe_equals_relist_sweep(index_dir, cli_sweep, tmp_path):
    spark_ready()
    work = tmp_path / "work"
    work.mkdir()
    run("--index", index_dir, "index", "export", work / "index.tar.gz")
    out = tmp_path / "hits"
    job("spark_pipe.py", "--archive", work / "index.tar.gz", "--catalog", CATALOG,
        "--out", out, "--relist", relist_bin(), cwd=work)
    got = lines_of(out)
    assert len(got) == len(cli_sweep)
    assert sorted(got) == sorted(cli_sweep)
    # Each working directory imported the archive once, under its final name.
    assert (work / "idx" / "manifest.json").is_file()
    assert not list(work.glob("idx.*"))
