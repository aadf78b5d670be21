"""Hostile and broken inputs: each gives an exception of the package naming what is wrong (or,
for a photo a listing names, a result whose `error` says so), never a crash or a hang."""

import datetime
import json
import shutil

import pyarrow as pa
import pytest

import images
import relist
from conftest import run


@pytest.fixture(scope="module")
def index(index_dir):
    return relist.Index(index_dir)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    path = tmp_path_factory.mktemp("photos") / "bomb.png"
    path.write_bytes(images.bomb())
    return path


OK = {"id": "L-1", "title": "garden hose"}


@pytest.mark.parametrize(
    "listing, message",
    [
        (42, "expected a listing object (a dict), got int"),
        ("garden hose", "expected a listing object (a dict), got str"),
        ([OK], "expected a listing object (a dict), got list"),
        ({"title": "garden hose"}, "field `id` is missing or empty"),
        ({"id": "L-1"}, "field `title` is missing or empty"),
        ({"id": "L-1", "title": ""}, "field `title` is missing or empty"),
        ({"id": "L-1", "title": {"en": "hose"}}, "field `title`: expected a string, got an object"),
        ({"id": "L-1", "title": "hose", "models": {"a": 1}},
         "field `models`: expected a list of strings, got an object"),
        ({"id": "L-1", "title": "hose", "models": [["x"]]},
         "field `models[0]`: expected a string, got a list"),
        ({"id": "L-1", "title": "hose", "price": "cheap"}, "field `price`: 'cheap' is not a number"),
        ({"id": "L-1", "title": "hose", "market": "Narnia"}, "field `market`"),
        ({"id": "L-1", "title": "hose", "when": datetime.date(2026, 1, 1)},
         "field `when`: expected a JSON value (str, int, float, bool, None, list or dict), got date"),
        ({"id": "L-1", "title": "hose", 7: "x"}, "keys must be str, got int"),
        ({"id": "L-1", "title": "hose", "n": 1 << 70}, "field `n`: an integer too large"),
        ({"id": "L-1", "title": "x" * (70 << 10)}, "field `title`: 71680 bytes, over the limit of 64 KiB"),
        ({"id": "L-1", "title": "hose", "image_hashes": [{"algo": "dhash", "hash": "zz"}]},
         "image_hashes"),
    ],
)
def test_bad_listings_raise_input_error_naming_the_field(index, listing, message):
    with pytest.raises(relist.InputError) as e:
        index.check(listing)
    assert message in str(e.value)
    assert "\n" not in str(e.value)
    assert isinstance(e.value, relist.RelistError)


def test_messages_are_the_command_lines(index, index_dir):
    for bad in [{"id": "L-1"}, {"id": "L-1", "title": "x", "price": "cheap"}]:
        cli = run("--index", index_dir, "check", "-", input=json.dumps(bad), check=False)
        assert cli.returncode == 2
        with pytest.raises(relist.InputError) as e:
            index.check(bad)
        # The CLI adds where the listing came from ("<stdin>:1: ").
        assert cli.stderr.strip().endswith(str(e.value)), cli.stderr


def test_huge_strings_are_refused_before_they_are_copied(index):
    huge = "x" * (64 << 20)
    with pytest.raises(relist.InputError, match="more than 4 MiB of text in one object"):
        index.check({"id": "L-1", "title": "hose", "description": huge})
    with pytest.raises(relist.InputError, match=r"item 1: more than 4 MiB .* `seller`"):
        index.check_many([OK, {"id": "L-2", "title": "hose", "seller": huge}])
    with pytest.raises(relist.InputError, match="item 0: more than 4 MiB .* `id`"):
        index.check_many([{"id": huge, "title": "x"}])


def test_deep_nesting_is_refused(index):
    deep = "leaf"
    for _ in range(200):
        deep = [deep]
    with pytest.raises(relist.InputError, match="nested deeper than 128 levels"):
        index.check({"id": "L-1", "title": "hose", "extra": deep})
    cyclic = {"id": "L-1", "title": "hose"}
    cyclic["self"] = cyclic
    with pytest.raises(relist.InputError, match="nested deeper than 128 levels"):
        index.check(cyclic)


def test_check_many_names_the_bad_item_and_returns_nothing(index):
    with pytest.raises(relist.InputError, match=r"^item 2: field `title` is missing or empty$"):
        index.check_many([OK, OK, {"id": "L-3"}, OK])
    with pytest.raises(relist.InputError, match="item 1: expected a listing object"):
        index.check_many([OK, None])
    with pytest.raises(relist.InputError, match="expected an iterable of listing dicts, got int"):
        index.check_many(5)
    with pytest.raises(relist.InputError, match="got dict \\(use check\\(\\) for one\\)"):
        index.check_many(OK)

    def broken():
        yield OK
        raise ValueError("the caller's generator broke")

    with pytest.raises(ValueError, match="generator broke"):
        index.check_many(broken())
    # A bad item past the first chunk (checked while the first one is being converted).
    many = [dict(OK, id=f"L-{i}") for i in range(600)]
    many[555] = {"id": "L-555", "title": 3.5j}
    with pytest.raises(relist.InputError, match="item 555: field `title`"):
        index.check_many(many)


def test_arguments_of_the_wrong_type(index, tmp_path):
    with pytest.raises(relist.InputError, match="id: expected a str, got int"):
        index.get(5)
    with pytest.raises(TypeError):
        index.check(OK, top="five")
    with pytest.raises(relist.InputError, match="path: expected a path"):
        relist.Index(42)
    with pytest.raises(relist.InputError, match="image: expected a path .* or bytes, got int"):
        relist.hash_image(3)
    w = relist.Index(tmp_path / "w", writable=True)
    with pytest.raises(relist.InputError, match="got one dict"):
        w.ingest({"id": "X", "title": "kettle"})
    with pytest.raises(relist.InputError, match="expected an iterable of record dicts"):
        w.ingest(5)
    with pytest.raises(relist.InputError, match="item 1: expected a record object"):
        w.ingest([{"id": "X", "title": "kettle"}, 5])
    with pytest.raises(relist.InputError, match="item 1: a path among records"):
        w.ingest([{"id": "X", "title": "kettle"}, "banned.jsonl"])
    with pytest.raises(relist.InputError, match="format: unknown"):
        w.ingest([{"id": "X", "title": "kettle"}], format="excel")
    with pytest.raises(relist.InputError, match="strict: nothing ingested"):
        w.ingest([{"id": "X", "title": "kettle"}, {"id": "Y"}], strict=True)
    with pytest.raises(relist.InputError, match=r"no valid records to ingest \(1 items rejected"):
        w.ingest([{"id": "Y"}])
    with pytest.raises(relist.InputError, match="ids: no id given"):
        w.remove([])
    with pytest.raises(relist.InputError, match=r"ids\[1\]: expected a str, got int"):
        w.remove(["a", 1])
    assert len(w) == 0
    with pytest.raises(relist.RelistError, match="missing.jsonl"):
        w.ingest(tmp_path / "missing.jsonl")


def test_sweep_arrow_refuses_what_is_not_arrow_and_names_bad_rows(index):
    with pytest.raises(relist.InputError, match="expected a pyarrow Table, RecordBatch or"):
        index.sweep_arrow([OK])
    with pytest.raises(relist.InputError, match="errors: 'ignore' is neither"):
        index.sweep_arrow(pa.Table.from_pylist([OK]), errors="ignore")
    with pytest.raises(relist.InputError, match="banned_since: "):
        index.sweep_arrow(pa.Table.from_pylist([OK]), banned_since="yesterday")
    rows = [OK, {"id": "L-2", "title": None}, {"id": "L-3", "title": "VoltMax HB-2210X power bank"}]
    table = pa.Table.from_pylist(rows)
    with pytest.raises(relist.InputError, match=r"^row 2: field `title` is missing or empty$"):
        index.sweep_arrow(table)
    kept = index.sweep_arrow(table, errors="keep").to_pylist()
    assert [r["listing_id"] for r in kept] == ["L-2", "L-3"]
    assert kept[0]["decision"] is None and kept[0]["result"] is None
    assert kept[0]["error"] == "row 2: field `title` is missing or empty"
    assert kept[1]["decision"] == "block" and kept[1]["error"] is None
    # Columns of types no listing field has are left out, as a Parquet catalog's are.
    odd = pa.table({"id": ["L-1"], "title": ["garden hose"], "blob": pa.array([b"\x00"]),
                    "when": pa.array([datetime.datetime(2026, 1, 1)])})
    assert index.sweep_arrow(odd, all=True).num_rows == 1
    no_title = pa.table({"id": ["L-1", "L-2"]})
    with pytest.raises(relist.InputError, match="row 1: field `title`"):
        index.sweep_arrow(no_title)
    huge = pa.table({"id": ["L-1"], "title": ["x" * (1 << 20)]})
    with pytest.raises(relist.InputError, match="row 1: field `title`: 1048576 bytes"):
        index.sweep_arrow(huge)


def test_a_photo_bomb_is_refused_naming_it(index, bomb, tmp_path):
    with pytest.raises(relist.InputError, match=r"bomb.png: image too large: 16000×16000"):
        relist.hash_image(bomb)
    with pytest.raises(relist.InputError, match="image too large"):
        relist.hash_image(bomb.read_bytes())
    claims = tmp_path / "claims.png"
    claims.write_bytes(images.claiming(50_000, 50_000))
    with pytest.raises(relist.InputError, match="claims.png: "):
        relist.hash_image(claims)
    cut = tmp_path / "cut.png"
    cut.write_bytes(images.png(300, 200)[:60])
    with pytest.raises(relist.InputError, match="cut.png"):
        relist.hash_image(cut)
    with pytest.raises(relist.InputError):
        relist.hash_image(b"not a photo at all")
    with pytest.raises(relist.InputError, match="<bytes>: "):
        relist.hash_image(b"\xff\xd8\xff" + bytes(40 << 20))
    with pytest.raises(relist.RelistError, match="missing.jpg"):
        relist.hash_image(tmp_path / "missing.jpg")
    # A listing naming the bomb is still checked on its text, the photo's refusal in `error`,
    # as `relist check` does.
    listing = {"id": "L-1", "title": "VoltMax HB-2210X power bank", "images": [str(bomb)]}
    result = index.check(listing)
    assert result["decision"] == "block"
    assert "bomb.png" in result["error"] and "too large" in result["error"]


def test_a_corrupt_index_is_an_error_not_a_crash(writable_dir, tmp_path):
    (writable_dir / "text" / "meta.json").write_text("{ not json")
    with pytest.raises(relist.RelistError) as e:
        relist.Index(writable_dir)
    assert str(writable_dir) in str(e.value)
    cli = run("--index", writable_dir, "stats", check=False)
    assert cli.returncode == 2
    manifest = tmp_path / "m"
    manifest.mkdir()
    (manifest / "manifest.json").write_text('{"format_version": 999}')
    with pytest.raises(relist.RelistError):
        relist.Index(manifest)
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(relist.RelistError):
        relist.Index(not_a_dir)


def test_truncated_segments_fail_cleanly(index_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(index_dir, broken)
    for f in (broken / "text").iterdir():
        if f.suffix in (".store", ".idx", ".term"):
            f.write_bytes(f.read_bytes()[: max(1, f.stat().st_size // 3)])
    try:
        index = relist.Index(broken)
    except relist.RelistError:
        return  # refused at open: fine
    # Opened (the files are read lazily): every use is an exception, never a crash.
    for call in (lambda: index.check({"id": "L-1", "title": "VoltMax HB-2210X power bank"}),
                 lambda: index.get("CPSC-26-0412"),
                 lambda: index.sweep_arrow(pa.Table.from_pylist([OK]))):
        try:
            call()
        except relist.RelistError:
            pass  # the one exception allowed; anything else (a panic) fails the test
