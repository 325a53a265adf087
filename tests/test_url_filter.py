"""url_filter: block lists from files (subdomains match), banned words, reasons, annotate."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from curation.core.document import Document
from curation.core.errors import ConfigError
from curation.steps.url_filter import UrlFilter, normalize_url
from tests.support.curation import manifest, read_rows, write_jsonl, write_pipeline


@pytest.fixture
def lists(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "adult").mkdir()
    (tmp_path / "adult" / "domains").write_text("# UT1 style\nbad-site.com\n\nnaughty.org\n")
    (tmp_path / "gambling.gz").write_bytes(gzip.compress(b"casino.example\n"))
    (tmp_path / "urls").write_text("https://www.news.example/one-bad-article/\n")
    return {"adult": str(tmp_path / "adult" / "domains"),
            "gambling": str(tmp_path / "gambling.gz"), "urls": str(tmp_path / "urls")}


def verdict(step: UrlFilter, url: str | None) -> str | None:
    doc = Document("d", "text", meta={"url": url})
    rule = step.process(doc)
    assert doc.meta["url_blocked"] == rule
    return rule


def test_lists_words_and_subdomains(lists: dict[str, str]) -> None:
    step = UrlFilter({"domain_lists": {"adult": lists["adult"], "gambling": lists["gambling"]},
                      "url_lists": {"articles": lists["urls"]}})
    cases = {
        "https://bad-site.com/page": "domain:adult",
        "http://a.b.BAD-SITE.com./x": "domain:adult",
        "https://notbad-site.com/": None,  # a suffix of the name is not a subdomain
        "https://casino.example:8080/": "domain:gambling",
        "http://news.example/one-bad-article": "url:articles",
        "https://news.example/one-bad-article/more": None,
        "https://shop.example/free-porn-videos": "banned_word",
        "https://shop.example/pornhubclips": "banned_subword",
        "https://www.essex.ac.uk/sussex-history": None,  # 'sex' only as a whole word
        "https://clothes.example/shirts/xxxl": None,
        "https://en.wikipedia.org/wiki/Mill": None,
        None: None,
    }
    assert {url: verdict(step, url) for url in cases} == cases
    assert verdict(UrlFilter({"drop_missing_url": True}), None) == "missing_url"


def test_normalize_url() -> None:
    assert normalize_url("HTTPS://WWW.Example.com/A/#frag") == "example.com/a"
    assert normalize_url("example.com/a/") == "example.com/a"


def test_unreadable_list_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"url_filter\.domain_lists\.x: cannot read"):
        UrlFilter({"domain_lists": {"x": str(tmp_path / "missing.txt")}})


def test_in_a_pipeline_with_annotate(tmp_path: Path, curate, lists: dict[str, str]) -> None:
    data = write_jsonl(tmp_path / "in.jsonl", [
        {"text": "a", "url": "https://bad-site.com/"}, {"text": "b", "url": "https://ok.org/"},
        {"text": "c", "url": "https://x.org/sexy-pics"}, {"text": "d"}])
    for mode, kept in (("filter", 2), ("annotate", 4)):
        out = tmp_path / mode
        steps = [{"url_filter": {"mode": mode, "domain_lists": {"adult": lists["adult"]}}}]
        assert curate(write_pipeline(tmp_path / "p.yaml", str(data), out, steps=steps,
                                     input={"metadata": ["url"]})) == 0
        step = manifest(out)["steps"][1]
        assert step["docs_out"] == kept
        counted = step["rejected"] if mode == "filter" else step["flagged"]
        assert counted == {"domain:adult": 1, "banned_word": 1}
    rows = {r["text"]: r["url_blocked"] for r in read_rows(tmp_path / "annotate")}
    assert rows == {"a": "domain:adult", "b": None, "c": "banned_word", "d": None}
