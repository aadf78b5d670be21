"""Every method of relist.Index and relist.hash_image, held against the binary's own output on
the same fixtures: the package is the engine, not a second one."""

import json
import shutil

import pyarrow as pa
import pyarrow.json as pj
import pytest

import images
import relist
from conftest import BANNED, CATALOG, FIXTURES, line, run


@pytest.fixture(scope="module")
def index(index_dir):
    return relist.Index(index_dir)


def test_opens_the_index_the_binary_made(index, index_dir):
    stats = json.loads(run("--index", index_dir, "stats", "--json").stdout)
    assert len(index) == stats["records"] == 245
    assert not index.writable
    assert str(index.path) == str(index_dir)
    assert "245 records" in repr(index)


def test_get_returns_the_stored_record(index, index_dir):
    record = index.get("CPSC-26-0412")
    with open(BANNED, encoding="utf-8") as f:
        given = next(r for r in map(json.loads, f) if r["id"] == "CPSC-26-0412")
    assert record["title"] == given["title"]
    assert record["models"] == given["models"]
    assert index.get("NO-SUCH-ID") is None


def test_check_is_relist_check(index, index_dir):
    cli = run("--index", index_dir, "check", FIXTURES / "listing.json")
    assert cli.returncode == 1  # a block
    with open(FIXTURES / "listing.json", encoding="utf-8") as f:
        listing = json.load(f)
    result = index.check(listing)
    assert line(result) == cli.stdout.strip()
    assert result["decision"] == "block"
    assert result["matches"][0]["evidence"], "evidence is part of the result"
    assert len(index.check(listing, top=1)["matches"]) == 1


def test_check_many_is_relist_sweep_all_line_for_line(index, catalog, cli_sweep_all):
    results = index.check_many(catalog)
    assert len(results) == len(catalog) == len(cli_sweep_all)
    assert [line(r) for r in results] == cli_sweep_all
    # Any iterable, and a thread count of its own.
    again = index.check_many((x for x in catalog[:300]), threads=1)
    assert [line(r) for r in again] == cli_sweep_all[:300]
    assert index.check_many([]) == []


def test_sweep_arrow_is_relist_sweep(index, cli_sweep):
    table = pj.read_json(CATALOG)
    out = index.sweep_arrow(table)
    assert isinstance(out, pa.Table)
    assert out.column_names == ["listing_id", "decision", "score", "banned_id", "result", "error"]
    assert out.column("result").to_pylist() == cli_sweep
    first = json.loads(cli_sweep[0])
    row = out.slice(0, 1).to_pylist()[0]
    assert row["listing_id"] == first["listing_id"]
    assert row["decision"] == first["decision"]
    assert row["banned_id"] == first["matches"][0]["banned_id"]
    assert row["score"] == pytest.approx(first["score"], abs=1e-6)
    assert out.column("error").null_count == out.num_rows
    # A reader (streamed, in several batches) and a single batch give the same rows.
    batches = table.to_batches(max_chunksize=500)
    assert len(batches) > 1
    reader = pa.RecordBatchReader.from_batches(table.schema, batches)
    assert index.sweep_arrow(reader).column("result").to_pylist() == cli_sweep
    one = index.sweep_arrow(batches[0])
    n = sum(1 for x in cli_sweep if int(json.loads(x)["listing_id"][2:]) <= 500)
    assert one.num_rows == n


def test_sweep_arrow_options_are_the_sweeps(index, index_dir, cli_sweep_all, tmp_path):
    table = pj.read_json(CATALOG)
    assert index.sweep_arrow(table, all=True).column("result").to_pylist() == cli_sweep_all
    top1 = index.sweep_arrow(table, top=1)
    assert all(len(json.loads(x)["matches"]) == 1 for x in top1.column("result").to_pylist())
    # --banned-since: everything ingested since the epoch is every record; since the far
    # future, none.
    out = tmp_path / "since.jsonl"
    run("--index", index_dir, "sweep", CATALOG, "--banned-since", "0", "--out", out, "--quiet")
    since = index.sweep_arrow(table, banned_since=0).column("result").to_pylist()
    assert since == out.read_text(encoding="utf-8").splitlines()
    assert index.sweep_arrow(table, banned_since="2999-01-01").num_rows == 0


def test_ingest_remove_and_reload(writable_dir):
    index = relist.Index(writable_dir, writable=True)
    listing = {"id": "L-new", "title": "Zephyrix ZX-4410 cordless hair dryer"}
    assert index.check(listing)["decision"] == "allow"
    report = index.ingest([
        {"id": "NEW-1", "title": "Zephyrix ZX-4410 cordless hair dryer", "brand": "Zephyrix",
         "models": ["ZX-4410"], "gtins": ["123"]},
        {"id": "NEW-2"},
    ])
    assert report["added"] == 1 and report["replaced"] == 0 and report["rejected"] == 1
    assert report["errors"] == ["item 1: field `title` is missing or empty"]
    assert report["warnings"][0].startswith("item 0: field `gtins`: '123' is not a valid GTIN")
    # One commit, seen at once by this object, and by another process.
    assert len(index) == 246
    assert index.check(listing)["matches"][0]["banned_id"] == "NEW-1"
    cli = run("--index", writable_dir, "check", "-", input=json.dumps(listing))
    assert json.loads(cli.stdout)["matches"][0]["banned_id"] == "NEW-1"
    # Replacing is counted as the CLI counts it.
    assert index.ingest([{"id": "NEW-1", "title": "Zephyrix ZX-4410 hair dryer"}])["replaced"] == 1

    done = index.remove(["NEW-1", "NOT-THERE"])
    assert done == {"removed": 1, "missing": ["NOT-THERE"]}
    assert len(index) == 245 and index.get("NEW-1") is None
    with pytest.raises(relist.InputError) as e:
        index.remove("NOT-THERE")
    cli = run("--index", writable_dir, "remove", "NOT-THERE", check=False)
    assert cli.returncode == 2
    assert cli.stderr.strip() == f"relist: {e.value}"

    # A commit by another process is seen after reload().
    run("--index", writable_dir, "remove", "CPSC-26-0412")
    assert index.get("CPSC-26-0412") is not None
    index.reload()
    assert index.get("CPSC-26-0412") is None and len(index) == 244


def test_ingest_files_as_relist_ingest(tmp_path):
    by_cli = tmp_path / "cli"
    cli = run("--index", by_cli, "ingest", BANNED, FIXTURES / "banned_sample.csv")
    index = relist.Index(tmp_path / "py", writable=True)
    report = index.ingest([BANNED, FIXTURES / "banned_sample.csv"])
    assert f"{report['added']} added, {report['replaced']} replaced" in cli.stderr
    assert len(index) == len(relist.Index(by_cli))
    assert index.get("CPSC-26-0412") == relist.Index(by_cli).get("CPSC-26-0412")
    # One path, and a regulator feed by its format.
    feed = relist.Index(tmp_path / "feed", writable=True)
    assert feed.ingest(str(FIXTURES / "cpsc_recalls.json"), format="cpsc")["added"] > 0


def test_a_read_only_index_does_not_write(index):
    with pytest.raises(relist.RelistError, match="opened read-only"):
        index.ingest([{"id": "X", "title": "kettle"}])
    with pytest.raises(relist.RelistError, match="opened read-only"):
        index.remove("CPSC-26-0412")


def test_a_busy_index_raises_index_busy_and_writes_nothing(writable_dir):
    fcntl = pytest.importorskip("fcntl")
    index = relist.Index(writable_dir, writable=True)
    # What another writer holds: tantivy's lock file, locked as tantivy locks it (flock).
    with open(writable_dir / "text" / ".tantivy-writer.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(relist.IndexBusyError) as e:
            index.ingest([{"id": "X", "title": "kettle"}])
        cli = run("--index", writable_dir, "remove", "CPSC-26-0412", check=False)
        assert cli.stderr.strip() == f"relist: {e.value}"
        with pytest.raises(relist.IndexBusyError):
            index.remove("CPSC-26-0412")
    assert isinstance(e.value, relist.RelistError)
    assert len(index) == 245 and index.get("X") is None
    assert index.ingest([{"id": "X", "title": "kettle"}])["added"] == 1


def test_writable_creates_an_index_and_read_only_refuses_a_missing_one(tmp_path):
    with pytest.raises(relist.RelistError, match="no index here yet"):
        relist.Index(tmp_path / "none")
    fresh = relist.Index(tmp_path / "new", writable=True)
    assert len(fresh) == 0
    assert fresh.check({"id": "a", "title": "kettle"})["decision"] == "allow"


def test_config_file_applies(index_dir, tmp_path):
    cfg = tmp_path / "strict.toml"
    cfg.write_text("[thresholds]\nblock = 0.9999\nreview = 0.9999\n")
    cli = run("--index", index_dir, "--config", cfg, "check", FIXTURES / "listing.json")
    with open(FIXTURES / "listing.json", encoding="utf-8") as f:
        listing = json.load(f)
    strict = relist.Index(index_dir, config=cfg)
    assert line(strict.check(listing)) == cli.stdout.strip()


def photo_bytes(name="photo-03.jpg") -> bytes:
    return (FIXTURES / "images" / name).read_bytes()


def test_hash_image_is_relist_hash(tmp_path):
    path = FIXTURES / "images" / "photo-03.jpg"
    cli = json.loads(run("hash", path).stdout)
    assert relist.hash_image(path) == cli
    assert relist.hash_image(str(path)) == cli
    from_bytes = relist.hash_image(photo_bytes())
    assert from_bytes == {k: v for k, v in cli.items() if k != "path"}
    assert relist.hash_image(bytearray(photo_bytes())) == from_bytes
    assert len(cli["dhash"]) == 16 and len(cli["pdq"]) == 64
    # A flat photo is read but says nothing: an `error` field, as the CLI prints it.
    flat = tmp_path / "flat.png"
    flat.write_bytes(images.png(64, 64))
    got = relist.hash_image(flat)
    assert got == json.loads(run("hash", flat).stdout)
    assert got["error"].startswith("no evidence: too flat")
