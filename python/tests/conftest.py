"""Shared fixtures: the relist binary, an index it made from the project's fixtures, and its
own outputs on the fixture catalog, to hold the package's results against.

The binary is $RELIST_BIN, else target/debug/relist of this checkout (`cargo build` makes it).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
CATALOG = FIXTURES / "catalog.jsonl"
BANNED = FIXTURES / "banned.jsonl"


def relist_bin() -> Path:
    path = Path(os.environ.get("RELIST_BIN", REPO / "target" / "debug" / "relist"))
    if not path.is_file():
        pytest.fail(f"no relist binary at {path}: run `cargo build` (or set RELIST_BIN)")
    return path


def run(*args, check=True, **kw) -> subprocess.CompletedProcess:
    """Runs the relist binary; output as text."""
    r = subprocess.run([str(relist_bin()), *map(str, args)], capture_output=True, text=True, **kw)
    if check and r.returncode not in (0, 1):
        raise AssertionError(f"relist {args} exited {r.returncode}: {r.stderr}")
    return r


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    """An index the binary made from fixtures/banned.jsonl; tests only read it."""
    d = tmp_path_factory.mktemp("index") / "fx"
    run("--index", d, "ingest", BANNED)
    return d


@pytest.fixture
def writable_dir(index_dir, tmp_path) -> Path:
    """A copy of the fixture index for a test that writes."""
    d = tmp_path / "fx"
    shutil.copytree(index_dir, d)
    return d


@pytest.fixture(scope="session")
def cli_sweep(index_dir, tmp_path_factory) -> list[str]:
    """`relist sweep fixtures/catalog.jsonl`: the JSON lines of the review and block results."""
    out = tmp_path_factory.mktemp("sweep") / "hits.jsonl"
    run("--index", index_dir, "sweep", CATALOG, "--out", out, "--quiet")
    return out.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def cli_sweep_all(index_dir, tmp_path_factory) -> list[str]:
    """`relist sweep --all`: every listing's result line, in catalog order."""
    out = tmp_path_factory.mktemp("sweep") / "all.jsonl"
    run("--index", index_dir, "sweep", CATALOG, "--all", "--out", out, "--quiet")
    return out.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def catalog() -> list[dict]:
    with open(CATALOG, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def line(result: dict) -> str:
    """A result as the command line prints it (compact JSON, keys in the order given)."""
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))
