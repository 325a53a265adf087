"""WARC, WET and HTML readers on hostile files built here, and on real Common Crawl files.

Each hostile case checks the documented outcome: the text decoded right, or the documented
`read:` reason, or one clear line; and input = kept + rejected, no traceback.
"""

from __future__ import annotations

import gzip
import random
import shutil
import zlib
from collections import Counter
from pathlib import Path

import brotli
import pytest

from curation.core.config import InputConfig
from curation.core.document import Document, Rejected
from curation.core.errors import ConfigError, InputFileError
from curation.io.readers import discover, read_file
from tests.support.curation import SHARED_DATA, manifest, read_rows, write_pipeline
from tests.support.warc import chunked, gzip_members, http, record, response

RU = "Привет! Это страница на русском языке, и в ней достаточно слов для проверки."
JA = "これは日本語のページです。東京は日本の首都で、人口が多い都市です。"
FR = "Ceci est une page en français : élève, garçon, à côté, où, très bien."
PAGE = "<html><head>{meta}<title>t</title></head><body><p>{text}</p></body></html>"


def page(text: str, meta: str = "") -> str:
    return PAGE.format(meta=meta, text=text)


def read(path: Path, **cfg) -> tuple[list[Document | Rejected], Counter]:
    config = InputConfig(paths=[str(path)], **cfg)
    skipped: Counter = Counter()
    return [r for f in discover(config) for r in read_file(f, config, skipped)], skipped


def write(tmp_path: Path, name: str, *records: bytes, members: bool = False) -> Path:
    path = tmp_path / name
    data = b"".join(records)
    path.write_bytes(gzip_members(*records) if members else data)
    return path


def texts(records: list) -> dict[str, str]:
    return {r.meta["url"]: r.text for r in records if isinstance(r, Document)}


def reasons(records: list) -> dict[str, str]:
    return {r.doc.meta.get("url") or r.doc.id: r.reason for r in records
            if isinstance(r, Rejected)}


def test_charsets_declared_undeclared_and_lying(tmp_path: Path) -> None:
    path = write(tmp_path, "c.warc", *[
        response("http://ru/", page(RU).encode("cp1251"), "text/html; charset=windows-1251"),
        response("http://ja/", page(JA, '<meta charset="Shift_JIS">').encode("shift_jis")),
        response("http://fr/", page(FR).encode("latin-1"), "text/html; charset=ISO-8859-1"),
        # lies: UTF-8 declared as windows-1251, windows-1251 declared as latin-1,
        # and Shift_JIS with no declaration at all
        response("http://lie-utf8/", page(RU).encode(), "text/html; charset=windows-1251"),
        response("http://lie-1251/", page(RU * 3).encode("cp1251"),
                 "text/html; charset=iso-8859-1"),
        response("http://none-sjis/", page(JA * 3).encode("shift_jis"), "text/html"),
        response("http://bom/", b"\xef\xbb\xbf" + page(FR).encode(), "text/html; charset=cp1251"),
    ], members=True)
    out = texts(read(path)[0])
    assert RU in out["http://ru/"] and RU in out["http://lie-utf8/"]
    assert RU * 3 in out["http://lie-1251/"]
    assert JA in out["http://ja/"] and JA * 3 in out["http://none-sjis/"]
    assert FR in out["http://fr/"] and FR in out["http://bom/"]


def test_content_and_transfer_encodings_are_undone(tmp_path: Path) -> None:
    body = page("compressed " * 50).encode()
    path = write(tmp_path, "e.warc.gz", *[
        response("http://gzip/", gzip.compress(body), Content_Encoding="gzip"),
        response("http://deflate/", zlib.compress(body), Content_Encoding="deflate"),
        response("http://br/", brotli.compress(body), Content_Encoding="br"),
        response("http://chunked/", chunked(body), Transfer_Encoding="chunked"),
        response("http://both/", chunked(gzip.compress(body)), Transfer_Encoding="chunked",
                 Content_Encoding="gzip"),
        # Common Crawl keeps the header but stores the body decoded
        response("http://stored/", body, Content_Encoding="gzip"),
        response("http://broken/", b"\x1f\x8b" + b"garbage" * 10, Content_Encoding="gzip"),
    ], members=True)
    records, _ = read(path)
    assert set(texts(records).values()) == {body.decode()}
    assert len(texts(records)) == 6
    assert reasons(records) == {"http://broken/": "read:bad_content_encoding"}


def test_non_html_payloads_are_rejected_with_their_content_type(tmp_path: Path) -> None:
    path = write(tmp_path, "n.warc", *[
        response("http://pdf/", b"%PDF-1.4 ...", "application/pdf"),
        response("http://png/", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "image/png"),
        response("http://json/", b'{"a": 1}', "application/json; charset=utf-8"),
        response("http://sniffed/", page("no type").encode(), None),
        response("http://octet/", b"\x00\x01binary", "application/octet-stream"),
        response("http://empty/", b""),
        record("response", "http://tika/", http(b"%PDF-1.5", "text/html"),
               extra={"WARC-Identified-Payload-Type": "application/pdf"}),
    ])
    records, _ = read(path)
    assert reasons(records) == {
        "http://pdf/": "read:not_html:application/pdf",
        "http://png/": "read:not_html:image/png",
        "http://json/": "read:not_html:application/json",
        "http://octet/": "read:not_html:application/octet-stream",
        "http://empty/": "read:empty",
        "http://tika/": "read:not_html:application/pdf",
    }
    assert list(texts(records)) == ["http://sniffed/"]
    ids = [r.doc.id if isinstance(r, Rejected) else r.id for r in records]
    assert all(i.startswith("urn:uuid:") for i in ids) and len(set(ids)) == 7


def test_records_that_are_not_documents_are_counted_apart(tmp_path: Path) -> None:
    path = write(tmp_path, "r.warc.gz", *[
        record("warcinfo", "", b"software: test\r\n", "application/warc-fields"),
        record("request", "http://a/", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
               "application/http; msgtype=request"),
        response("http://a/", page("kept").encode()),
        record("metadata", "http://a/", b"fetchTimeMs: 12\r\n", "application/warc-fields"),
        record("revisit", "http://a/", b"HTTP/1.1 304 Not Modified\r\n\r\n"),
    ], members=True)
    records, skipped = read(path)
    assert list(texts(records)) == ["http://a/"]
    assert skipped == {"skipped_warcinfo": 1, "skipped_request": 1, "skipped_metadata": 1,
                       "skipped_revisit": 1}
    doc = records[0]
    assert doc.meta["date"] == "2023-01-01T12:34:56Z" and doc.source == "r.warc.gz"


@pytest.mark.parametrize("members", [False, True])
def test_truncated_last_record_keeps_the_ones_before(tmp_path: Path, members: bool) -> None:
    good = [response(f"http://{i}/", page(f"page {i}").encode()) for i in range(3)]
    last = response("http://cut/", page(random.Random(0).randbytes(5000).hex()).encode())
    whole = gzip_members(*good, last) if members else b"".join([*good, last])
    path = tmp_path / ("t.warc.gz" if members else "t.warc")
    path.write_bytes(whole[:-(len(gzip_members(last)) // 2)])  # half of the last record
    records, _ = read(path)
    assert list(texts(records)) == ["http://0/", "http://1/", "http://2/"]
    (cut,) = [r for r in records if isinstance(r, Rejected)]
    assert cut.reason == "read:truncated" and cut.doc.id.startswith("t.warc")
    assert "ends inside a record" in cut.doc.text


def test_not_a_warc_is_one_clear_line(tmp_path: Path, curate, capsys) -> None:
    bad = tmp_path / "notes.warc"
    bad.write_text("these are my notes, not an archive\n" * 20)
    with pytest.raises(InputFileError, match=r"notes.warc: not a WARC file"):
        read(bad)
    out = tmp_path / "out"
    assert curate(write_pipeline(tmp_path / "p.yaml", str(bad), out)) != 0
    err = capsys.readouterr().err
    assert "not a WARC file" in err and "Traceback" not in err


def test_big_and_deep_pages_are_read_whole(tmp_path: Path) -> None:
    big = page("word " * 4_000_000).encode()  # 20 MB
    deep = ("<div>" * 20_000 + "deep" + "</div>" * 20_000).encode()
    path = write(tmp_path, "b.warc.gz", response("http://big/", big),
                 response("http://deep/", deep), members=True)
    out = texts(read(path)[0])
    assert len(out["http://big/"]) == len(big) and out["http://deep/"] == deep.decode()


def test_wet_and_html_files(tmp_path: Path) -> None:
    wet = write(tmp_path, "x.warc.wet.gz", record(
        "conversion", "http://w/", "Plain text.\nSecond line é.".encode(), "text/plain"),
        members=True)
    (doc,), _ = read(wet)
    assert doc.text == "Plain text.\nSecond line é." and doc.meta["url"] == "http://w/"
    html = tmp_path / "pages" / "a.html.gz"
    html.parent.mkdir()
    html.write_bytes(gzip.compress(page(RU, '<meta charset="windows-1251">').encode("cp1251")))
    (doc,), _ = read(html.parent, format="html")
    assert RU in doc.text and doc.id == "a.html.gz" and doc.meta["url"] is None


def test_a_directory_of_warcs_needs_the_format(tmp_path: Path) -> None:
    write(tmp_path, "d.warc", response("http://a/", b"<html>a</html>"))
    with pytest.raises(ConfigError, match=r"set input\.format: warc"):
        read(tmp_path)
    assert len(read(tmp_path, format="warc")[0]) == 1


@pytest.mark.skipif(not (SHARED_DATA / "web_cc_whirlwind").is_dir(),
                    reason="shared data not present")
def test_real_common_crawl_files_through_curate(tmp_path: Path, curate) -> None:
    for name in ("web_dolma_tests/sample-0000.warc.gz", "web_dolma_tests/sample-0001.warc.gz",
                 "web_cc_whirlwind/whirlwind.warc.gz", "web_cc_whirlwind/whirlwind.warc.wet.gz"):
        shutil.copy(SHARED_DATA / name, tmp_path / Path(name).name)
    out = tmp_path / "out"
    inputs = [str(tmp_path / "*.warc.gz"), str(tmp_path / "*.wet.gz")]
    assert curate(write_pipeline(tmp_path / "p.yaml", inputs, out)) == 0
    found = manifest(out)
    read_step = found["steps"][0]
    kept = read_rows(out / "data") if (out / "data").exists() else read_rows(out)
    kept = [r for r in kept if r.get("reason") is None]
    assert read_step["docs_in"] == read_step["docs_out"] + sum(read_step["rejected"].values())
    assert read_step["flagged"]["skipped_request"] >= 10
    assert all(r["url"].startswith("http") and r["id"].startswith("urn:uuid:") for r in kept)
    assert any("<html" in r["text"].lower() for r in kept)
    assert any(r["source"].endswith(".wet.gz") for r in kept)


def arc_record(url: str, block: bytes, mime: str = "text/html",
               stamp: str = "20050614070159") -> bytes:
    return f"{url} 1.2.3.4 {stamp} {mime} {len(block)}\n".encode() + block + b"\n"


def test_arc_files_are_read_as_warc(tmp_path: Path) -> None:
    header = b"1 0 Alexa Internet\nURL IP-address Archive-date Content-type Archive-length\n"
    records = [arc_record("filedesc://x.arc", header, "text/plain"),
               arc_record("http://ru/", http(page(RU).encode("cp1251"),
                                             "text/html; charset=windows-1251")),
               arc_record("http://gz/", http(gzip.compress(page(FR).encode()),
                                             Content_Encoding="gzip")),
               arc_record("http://pdf/", http(b"%PDF-1.4", "application/pdf"), "application/pdf"),
               arc_record("http://cut/", http(page("x" * 3000).encode()))]
    for members in (False, True):
        path = write(tmp_path, f"old{members:d}.arc.gz" if members else "old.arc", *records,
                     members=members)
        data = path.read_bytes()
        path.write_bytes(data[:-(len(gzip_members(records[-1])) // 2)] if members
                         else data[:-1000])
        records_read, skipped = read(path)
        assert skipped == {"skipped_filedesc": 1}
        out = texts(records_read)
        assert RU in out["http://ru/"] and FR in out["http://gz/"]
        assert out["http://ru/"] == records_read[0].text
        assert records_read[0].meta["date"] == "2005-06-14T07:01:59Z"
        assert records_read[0].id.startswith(path.name + "@")
        assert [r.reason for r in records_read if isinstance(r, Rejected)] == \
            ["read:not_html:application/pdf", "read:truncated"]
