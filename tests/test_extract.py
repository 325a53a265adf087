"""The extract step: layout of both engines, the per-page time limit, size and empty rules."""

from __future__ import annotations

import time

import pytest

from curation.core.document import Document
from curation.extract.sandbox import Sandbox
from curation.steps.extract import Extract
from tests.support.curation import manifest, read_rows, write_pipeline
from tests.support.warc import gzip_members, record, response

ARTICLE = """<html><head><title>x</title><script>var tracking = 1;</script></head><body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article><h1>The river mill</h1>
<p>The mill stood on the river for three hundred years, grinding the grain of the valley
 and the hills around it, and the miller's family kept it running through every season.</p>
<p>Its wheel was rebuilt twice, once after the great flood and once after a fire that
 destroyed the roof, the stones and most of the wooden gears of the old machinery.</p>
<ul><li>Built in 1702 by the first miller of the valley</li>
<li>Rebuilt in 1811 after the flood had carried away the wheel</li></ul>
<p>Today it is a museum, and on Sundays the wheel still turns for the visitors who come
 from the towns along the river to watch the stones grind the flour as they always did.</p>
</article><footer>Copyright 2024 - Imprint - Privacy</footer></body></html>"""


def run(step: Extract, html: str) -> tuple[str | None, Document]:
    doc = Document("d", html)
    return step.process(doc), doc


@pytest.mark.parametrize("engine", ["resiliparse", "trafilatura"])
def test_main_content_with_blocks_and_lines(engine: str) -> None:
    rule, doc = run(Extract({"engine": engine}), ARTICLE)
    assert rule is None
    blocks = doc.text.split("\n\n")
    assert blocks[0] == "The river mill"
    assert blocks[1].startswith("The mill stood on the river") and "\n" not in blocks[1]
    assert "Home" not in doc.text and "tracking" not in doc.text
    assert doc.text.endswith("as they always did.")
    assert doc.meta["html_bytes"] == len(ARTICLE.encode())
    if engine == "trafilatura":  # resiliparse judges this short list boilerplate
        assert ("Built in 1702 by the first miller of the valley\n"
                "Rebuilt in 1811 after the flood had carried away the wheel") in blocks


RELATED = ARTICLE.replace("</article>", """<h2>Related articles</h2>
<p><a href="/a">The old bakery</a></p><p><a href="/b">Bridges of the valley</a></p></article>""")


def test_boilerplate_blocks_are_skipped_unless_they_hold_paragraphs() -> None:
    share = '<div class="share-bar">Mit Freunden teilen</div>'
    page = ARTICLE.replace("<h1>The river mill</h1>", "<h1>The river mill</h1>" + share) \
        .replace("</article>", '<div id="newsletter-box">Join our newsletter today</div>'
                 '<div class="post-author">Written by Ann Miller, editor</div></article>')
    default = run(Extract({"timeout_s": None}), page)[1].text
    assert "newsletter" not in default and "Ann Miller" not in default
    assert default.startswith("The river mill") and default.endswith("as they always did.")
    every = run(Extract({"timeout_s": None, "options": {"skip_elements": []}}), page)[1].text
    assert "Join our newsletter today" in every and "Written by Ann Miller" in every
    wrapped = ARTICLE.replace("<article>", '<article class="author-page">')
    assert run(Extract({"timeout_s": None}), wrapped)[1].text == \
        run(Extract({"timeout_s": None}), ARTICLE)[1].text  # a wrapper with paragraphs stays


@pytest.mark.parametrize("timeout_s", [None, 5.0])
def test_trim_tail_words_drops_short_lines_after_the_article(timeout_s) -> None:
    plain = run(Extract({"timeout_s": timeout_s}), RELATED)[1].text
    assert plain.endswith("Related articles\n\nThe old bakery\n\nBridges of the valley")
    step = Extract({"timeout_s": timeout_s, "options": {"trim_tail_words": 20}})
    rule, doc = run(step, RELATED)
    assert rule is None and doc.text == plain[:plain.index("\n\nRelated articles")]
    assert doc.text.startswith("The river mill")  # short lines before the article stay
    short = "<html><body><article><p>Two words</p><p>Three short words</p></article></body>"
    assert run(step, short)[1].text == "Two words\n\nThree short words"  # no line that long


@pytest.mark.parametrize("options, engine, message", [
    ({"trim_tail_words": 12}, "trafilatura", "engine resiliparse only"),
    ({"trim_tail_words": -1}, "resiliparse", "whole number of words >= 0"),
    ({"trim_tail_words": "20"}, "resiliparse", "whole number of words >= 0")])
def test_trim_tail_words_is_checked(options, engine, message) -> None:
    with pytest.raises(ValueError, match=message):
        Extract({"engine": engine, "options": options})


def test_pathological_page_is_stopped_at_the_limit() -> None:
    step = Extract({"timeout_s": 0.5})
    deep = "<div>" * 20_000 + "deep" + "</div>" * 20_000  # resiliparse: ~18 s here
    assert run(step, ARTICLE)[0] is None  # the engine process is up
    start = time.monotonic()
    rule, doc = run(step, deep)
    assert rule == "timeout" and doc.text == deep
    assert time.monotonic() - start < 3
    assert run(step, ARTICLE)[0] is None  # a fresh engine process takes over


def test_too_large_and_empty_pages() -> None:
    step = Extract({"max_html_bytes": 1 << 20})
    big = "<html><body>" + "<p>word word word.</p>" * 1_000_000 + "</body></html>"  # 22 MB
    assert run(step, big)[0] == "too_large"
    assert run(step, "<html><head><script>x()</script></head><body></body></html>")[0] \
        == "empty"


def test_in_process_engine_and_recycled_worker() -> None:
    rule, doc = run(Extract({"timeout_s": None}), ARTICLE)
    assert rule is None and doc.text.startswith("The river mill")
    box = Sandbox("resiliparse", {}, timeout=5.0, recycle_pages=3)
    pids = []
    for _ in range(7):
        assert box.extract(ARTICLE).startswith("The river mill")
        pids.append(box._child.pid)
    box.close()
    assert len(set(pids)) == 3 and pids[:3] == [pids[0]] * 3


def test_hostile_warc_through_curate(tmp_path, curate) -> None:
    pages = [response("http://ok/", ARTICLE.encode()),
             response("http://deep/", ("<div>" * 20_000 + "x" + "</div>" * 20_000).encode()),
             response("http://big/", b"<html><body>" + b"<p>word.</p>" * 2_000_000),
             response("http://blank/", b"<html><body><script>x()</script></body></html>"),
             response("http://pdf/", b"%PDF-1.4", "application/pdf"),
             record("request", "http://ok/", b"GET / HTTP/1.1\r\n\r\n")]
    (tmp_path / "crawl.warc.gz").write_bytes(gzip_members(*pages))
    out = tmp_path / "out"
    steps = [{"extract": {"timeout_s": 0.5, "max_html_bytes": 10 << 20}}]
    assert curate(write_pipeline(tmp_path / "p.yaml", str(tmp_path / "*.warc.gz"), out,
                                 steps=steps)) == 0
    read, extract = manifest(out)["steps"][:2]
    assert read["docs_in"] == 5 and read["flagged"] == {"skipped_request": 1}
    assert read["rejected"] == {"not_html:application/pdf": 1}
    assert extract["rejected"] == {"timeout": 1, "too_large": 1, "empty": 1}
    rows = {r["url"]: r for r in read_rows(out)}
    assert rows["http://ok/"]["text"].startswith("The river mill")
    assert rows["http://big/"]["reason"] == "extract:too_large"
