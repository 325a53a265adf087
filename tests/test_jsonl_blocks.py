"""JSONL through Arrow a block at a time: it must give exactly what the line parser gives.

The line parser is the definition (every rule in tests/test_bad_input.py holds for it); the
block path may only refuse a block, never read it differently. Each test compares the two
on the same bytes: the line path is what the reader does once Arrow has been refused
(`ARROW_REFUSALS = 0`).
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curation.core.config import InputConfig, validate
from curation.core.document import Document, Rejected
from curation.core.pipeline import Pipeline
from curation.io import readers
from curation.io.jsonl_blocks import Block, blocks, parse_block
from curation.io.readers import InputFile, read_file
from curation.io.records import DocBatch
from curation.run.orchestrate import RunOptions, run_pipeline
from tests.test_fuzz import FUZZ

CFG = InputConfig(paths=["x"], id_field="id", metadata=["url"])
GOOD = [{"id": "a", "text": "First doc.", "url": "https://a/1", "n": 3, "ok": True},
        {"id": "b", "text": "Café \u00e9\u4e2d \U0001F600 tab\there", "url": None, "x": 1.5},
        {"id": "c", "text": " leading space", "source": "web", "when": "2020-01-01T00:00:00"}]


def jsonl(records: list[Any], ascii: bool = True, newline: bytes = b"\n") -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=ascii).encode() + newline for r in records)


def unit(path: Path) -> InputFile:
    return InputFile(0, str(path), path.name, "jsonl", path.stat().st_size)


def summary(record: Document | Rejected) -> tuple:
    """What reaches a shard: the fields, the size, and for a rejection its reason and bytes."""
    if isinstance(record, Rejected):
        return ("rejected", record.reason, record.raw, *summary(record.doc)[1:])
    return ("doc", record.id, record.text, record.source, record.meta, record.nbytes)


def both_ways(path: Path, cfg: InputConfig) -> tuple[list[tuple], list[tuple]]:
    """(records through Arrow where it takes them, records through the line parser only)."""
    arrow = [summary(r) for r in read_file(unit(path), cfg)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "ARROW_REFUSALS", 0)
        lines = [summary(r) for r in read_file(unit(path), cfg)]
    return arrow, lines


def test_blocks_are_whole_lines_numbered_from_one():
    data = b"\xef\xbb\xbf" + b"".join(b"%d\n" % n for n in range(1, 40)) + b"x" * 50 + b"\nend"
    got = list(blocks(io.BytesIO(data), size=16))
    assert b"".join(block.data for block in got) == data[3:]  # only the BOM went
    assert all(block.data.endswith(b"\n") for block in got[:-1]) and got[-1].data == b"end"
    assert any(len(block.data) > 16 for block in got)  # a line longer than a block is whole
    assert sum(block.lines for block in got) == 41
    for first_line, block, lines in got:
        assert len(block.splitlines()) == lines
        assert block.split(b"\n")[0] == (b"x" * 50 if first_line == 40 else
                                         b"end" if first_line == 41 else b"%d" % first_line)


def test_a_clean_block_is_taken_whole(tmp_path):
    data = jsonl(GOOD) + jsonl(GOOD[:1], ascii=False, newline=b"\r\n")
    docs = parse_block(Block(1, data, 4), InputFile(0, "f", "f.jsonl", "jsonl", 0), CFG)
    assert isinstance(docs, DocBatch) and docs.num_rows == 4
    assert [d.text for d in docs.documents()] == [r["text"] for r in GOOD + GOOD[:1]]
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(gzip.compress(data * 2000))  # several blocks
    arrow, lines = both_ways(path, CFG)
    assert arrow == lines and len(arrow) == 8000 and {r[0] for r in arrow} == {"doc"}


def test_new_keys_on_every_line(tmp_path):
    """Fields that are not kept are skipped: a column per new key made this quadratic."""
    data = jsonl([{"id": str(i), "text": "x y", **{f"k{i}-{j}": j for j in range(20)}}
                  for i in range(20_000)])
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    arrow, lines = both_ways(path, CFG)
    assert arrow == lines and len(arrow) == 20_000
    head = data[:data.index(b"\n", 1 << 20) + 1]
    assert parse_block(Block(1, head, head.count(b"\n")), unit(path), CFG) is not None


def test_ids_from_line_numbers_and_sources(tmp_path):
    data = jsonl(GOOD) * 3
    cfg = InputConfig(paths=["x"], metadata=["url", "n"])  # n is a number: the lines decide
    for config in (InputConfig(paths=["x"]), InputConfig(paths=["x"], source="fixed"),
                   InputConfig(paths=["x"], source_field=None), cfg):
        path = tmp_path / "in.jsonl"
        path.write_bytes(data)
        arrow, lines = both_ways(path, config)
        assert arrow == lines
    assert [r[1] for r in arrow] == [f"in.jsonl:{n}" for n in range(1, 10)]
    assert parse_block(Block(1, data, 9), unit(path), InputConfig(paths=["x"])) is not None


ODD_LINES = {
    "blank line": b"",
    "spaces": b"   \t",
    "two objects": b'{"id": "d", "text": "x"}{"id": "e", "text": "y"}',
    "one object over two lines": b'{"id": "d",\n"text": "x"}',
    "nested value over lines": b'{"id": "d", "o":\n{"k": 1}, "text": "x"}',
    "two lines and two objects": b'{"id": "d",\n"text": "x"}\n{"id": "e", "text": "y"}'
                                 b'{"id": "f", "text": "z"}',
    "a value over lines and two objects": b'{"id": "d", "o":\n{"k": 1}, "text": "x"}\n'
                                          b'{"id": "e", "text": "y"}{"id": "f", "text": "z"}',
    "a brace alone and two objects": b'{"id": "d", "text": "x", "o": {"k": 1}\n}\n'
                                     b'{"id": "e", "text": "y"}{"id": "f", "text": "z"}',
    "a blank line and two objects": b'\n{"id": "e", "text": "y"}{"id": "f", "text": "z"}',
    "leading space": b' {"id": "d", "text": "x"}',
    "lone surrogate": b'{"id": "d", "text": "a\\ud800b"}',
    "lone surrogate elsewhere": b'{"id": "d", "text": "ok", "z": "\\udfff"}',
    "invalid UTF-8": b'{"id": "d", "text": "a\xffb"}',
    "invalid UTF-8 elsewhere": b'{"id": "d", "text": "ok", "z": "\xc0\xaf"}',
    "no text": b'{"id": "d"}',
    "text not a string": b'{"id": "d", "text": 5}',
    "blank text": b'{"id": "d", "text": " \\n\\t "}',
    "no-break space text": b'{"id": "d", "text": "\\u00a0\\u2003"}',
    "no id": b'{"text": "x"}',
    "empty id": b'{"id": "", "text": "x"}',
    "number id": b'{"id": 7, "text": "x"}',
    "number metadata": b'{"id": "d", "text": "x", "url": 7}',
    "object metadata": b'{"id": "d", "text": "x", "url": {"a": 1}}',
    "duplicate key": b'{"id": "d", "text": "x", "text": "y"}',
    "nested other field": b'{"id": "d", "text": "x", "o": [[1], {"k": "v"}]}',
    "huge integer": b'{"id": "d", "text": "x", "z": ' + b"9" * 4400 + b"}",
    "NaN": b'{"id": "d", "text": "x", "z": NaN}',
    "deep nesting": b'{"id": "d", "text": "x", "z": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    # Arrow's parser dies of a stack overflow here: it must never see this line
    "very deep nesting": b'{"id": "d", "text": "x", "z": ' + b"[" * 10**5 + b"]" * 10**5 + b"}",
    "many brackets in text": b'{"id": "d", "text": "' + b"[{" * 600 + b'"}',
    "BOM inside": b'\xef\xbb\xbf{"id": "d", "text": "x"}',
    "not an object": b'["id", "text"]',
    "empty source": b'{"id": "d", "text": "x", "source": ""}',
    "null metadata": b'{"id": "d", "text": "x", "url": null}',
    "tab in another field": b'{"id": "d", "text": "x", "z": "a\tb"}',
    "NaN in another field": b'{"id": "d", "text": "x", "z": [NaN, -Infinity]}',
    "duplicate other keys": b'{"id": "d", "text": "x", "z": 1, "z": {"a": 2}}',
    "space after the object": b'{"id": "d", "text": "x"} ',
    "two returns": b'{"id": "d", "text": "x"}\r\r',
    "digits in text": b'{"id": "d", "text": "' + b"7" * 5000 + b'"}',
    "escapes": b'{"id": "d\\/", "text": "\\u0000\\"\\\\\\ud83d\\ude00"}',
}


@pytest.mark.parametrize("name", ODD_LINES)
def test_odd_lines_read_as_the_line_parser_reads_them(tmp_path, name):
    data = jsonl(GOOD[:2]) + ODD_LINES[name] + b"\n" + jsonl(GOOD[2:])
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    for cfg in (CFG, InputConfig(paths=["x"], metadata=["url"])):
        arrow, lines = both_ways(path, cfg)
        assert arrow == lines


def test_refused_blocks_stop_the_tries(tmp_path, monkeypatch):
    """After ARROW_REFUSALS refused blocks a file is read by lines, so numbers in a kept
    field (refused every time) cost one try per file, not one per block."""
    tries = []
    monkeypatch.setattr(readers, "parse_block",
                        lambda *args: tries.append(1) or parse_block(*args))
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([{**r, "url": 5} for r in GOOD] * 40_000))
    cfg = InputConfig(paths=["x"], metadata=["url"])
    got = list(read_file(unit(path), cfg, batches=True))
    assert len(got) == 120_000 and all(isinstance(r, Document) for r in got)
    assert len(tries) == readers.ARROW_REFUSALS and got[0].meta == {"url": "5"}


clean_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | clean_text
friendly = st.fixed_dictionaries(
    {"text": clean_text}, optional={"id": clean_text, "url": clean_text | st.none(),
                                    "source": clean_text | st.none(), "other": scalars})


@FUZZ
@given(records=st.lists(friendly, min_size=1, max_size=8), ascii=st.booleans(),
       newline=st.sampled_from([b"\n", b"\r\n"]), tail=st.booleans(),
       id_field=st.sampled_from([None, "id"]))
def test_generated_blocks_agree(tmp_path: Path, records: list[dict], ascii: bool,
                                newline: bytes, tail: bool, id_field: str | None) -> None:
    data = jsonl(records, ascii, newline)
    path = tmp_path / "in.jsonl"
    path.write_bytes(data if tail else data.removesuffix(newline))
    arrow, lines = both_ways(path, InputConfig(paths=["x"], id_field=id_field,
                                               metadata=["url"]))
    assert arrow == lines


@pytest.mark.parametrize("steps", [[], [{"length": {"min_words": 3}}]])
def test_curate_writes_the_same_shards_either_way(tmp_path, monkeypatch, steps):
    records = [{**r, "id": f"{i}-{r['id']}"} for i in range(3000) for r in GOOD]
    records[5]["text"] = " "  # a rejection among the documents
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "part.jsonl.gz").write_bytes(gzip.compress(jsonl(records)))
    shards, counts = [], []
    for refusals in (readers.ARROW_REFUSALS, 0):
        monkeypatch.setattr(readers, "ARROW_REFUSALS", refusals)
        out = tmp_path / f"out{refusals}"
        raw = {"name": "t", "input": {"paths": [str(tmp_path / "in")], "metadata": ["url"]},
               "output": {"path": str(out), "row_group_rows": 2000}, "steps": steps}
        result = run_pipeline(Pipeline(validate(raw, "test")), RunOptions(workers=1, quiet=True))
        assert result.manifest["counts"]["input"] == 9000
        counts.append(result.manifest["counts"])
        shards.append([(f["path"], f["rows"], f["sha256"]) for f in result.manifest["files"]])
    assert shards[0] == shards[1] and counts[0] == counts[1]
    assert counts[0]["kept"] == (8999 if not steps else 3000)  # only GOOD[1] has 3 words
