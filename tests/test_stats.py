"""`gristmill stats`: numbers on a corpus whose statistics are known by construction, the
length kernel against a plain Python reference, compare mode, the CLI, and the run report
(funnel, examples per reason, never an e-mail address or phone number)."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.cli.stats import stats_command
from curation.stats import collect as collect_module
from curation.stats.collect import collect
from curation.stats.compare import compare
from curation.stats.histogram import LENGTH_EDGES, Histogram
from curation.stats.html import render_compare, render_stats
from curation.stats.measure import measure
from curation.stats.plan import thresholds_from_manifest
from curation.stats.run_report import write_run_report
from curation.stats.sketches import TopValues
from tests.support.curation import manifest, write_jsonl, write_pipeline
from tests.support.stats_corpus import known_rows, write_corpus

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")


# ---------------------------------------------------------------------------------------
# A corpus with known statistics


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("known") / "corpus", known_rows())


@pytest.fixture(scope="module")
def stats(corpus) -> dict:
    return collect(corpus, workers=2)


def bin_count(hist: dict, value: float) -> int:
    """The count of the bin that holds `value`."""
    edges = hist["edges"]
    i = int(np.searchsorted(edges, value, side="right")) - 1
    return hist["counts"][i]


def test_totals_are_exact(stats):
    assert stats["documents"] == 39
    assert stats["empty_documents"] == 1
    assert stats["words"] == 10 * 5 + 20 * 50 + 5 * 1000 + 3 * 1
    assert stats["chars"] == 10 * 24 + 20 * 249 + 5 * 4999 + 3 * 10
    assert stats["bytes"] == 10 * 24 + 20 * 249 + 5 * 4999 + 3 * 20
    assert stats["lines"] == 10 * 1 + 20 * 10 + 5 * 200 + 3 * 1
    assert stats["tokens"]["estimated"] == round(stats["bytes"] / 4)
    assert stats["tokens"]["exact"] is None
    assert stats["files"] == 2 and stats["row_groups"] == 3 + 3  # 20 + 19 rows, 7 a group


def test_length_histograms_count_each_document_once(stats):
    words = stats["lengths"]["words"]
    assert words["count"] == 39 and sum(words["counts"]) == 39
    assert bin_count(words, 0) == 1       # the empty document
    assert bin_count(words, 1) == 3       # the "é" documents
    assert bin_count(words, 5) == 10
    assert bin_count(words, 50) == 20
    assert bin_count(words, 1000) == 5
    assert words["min"] == 0 and words["max"] == 1000
    assert words["quantiles"]["p50"] == pytest.approx(50, rel=0.15)  # within its bin
    assert stats["lengths"]["bytes"]["max"] == 4999
    assert bin_count(stats["lengths"]["bytes"], 20) == 3


def test_languages_sources_domains(stats):
    langs = {i["value"]: i["count"] for i in stats["languages"]["top"]}
    assert langs == {"en": 30, "fr": 5} and stats["languages"]["nulls"] == 4
    sources = {i["value"]: i["count"] for i in stats["sources"]["top"]}
    assert sources == {"s1": 14, "s2": 25}
    domains = {i["value"]: i["count"] for i in stats["domains"]["top"]}
    assert domains == {"example.com": 10, "other.org": 20, "news.site.net": 5}
    assert stats["domains"]["nulls"] == 4 and stats["domains"]["exact"]


def test_scores_pii_and_duplicates(stats):
    quality = stats["scores"]["quality_score"]["histogram"]
    assert quality["count"] == 35 and quality["nulls"] == 4
    assert quality["edges"][0] >= 0 and quality["edges"][-1] <= 1  # a fraction: 0..1 bins
    assert bin_count(quality, 0.05) == 10 and bin_count(quality, 0.95) == 5
    assert quality["min"] == pytest.approx(0.05) and quality["max"] == pytest.approx(0.95)
    pii = stats["pii"]["pii_email_address"]
    assert pii["matches"] == 3 * 2 + 3 * 1 and pii["documents"] == 6
    dup = stats["duplicates"]
    assert dup["documents"] == 39 and dup["in_clusters"] == 20
    assert "pii_email_address" not in stats["scores"]
    assert "dup_cluster_size" not in stats["scores"]


VOLATILE = ("created_at", "seconds", "workers", "documents_per_second")


def test_same_result_for_any_worker_count(corpus, stats):
    single = collect(corpus, workers=1)
    assert {k: v for k, v in single.items() if k not in VOLATILE} == {
        k: v for k, v in stats.items() if k not in VOLATILE}


def test_same_distributions_for_any_batch_size(corpus, stats, monkeypatch):
    monkeypatch.setattr(collect_module, "BATCH_BYTES", 2000)  # many small batches
    small = collect(corpus, workers=1)
    for key in ("documents", "words", "lengths", "languages", "sources", "domains", "pii",
                "duplicates"):
        assert small[key] == stats[key], key
    assert small["scores"]["quality_score"]["histogram"] == \
        stats["scores"]["quality_score"]["histogram"]


def test_near_threshold_examples_from_the_manifest(tmp_path):
    folder = write_corpus(tmp_path / "run", known_rows(), files=1)
    resolved = {"steps": [{"quality": {"min_score": 0.5, "mode": "filter"}},
                          {"length": {"min_words": 3, "max_words": None}}]}
    (folder / "_manifest.json").write_text(json.dumps({
        "pipeline": {"name": "t", "resolved": resolved},
        "files": [{"path": "part-00000.parquet", "split": "data", "rows": 39}]}))
    result = collect(folder, workers=1)
    (threshold,) = result["scores"]["quality_score"]["thresholds"]
    assert (threshold["step"], threshold["param"], threshold["keeps"]) == (
        "quality", "min_score", "above")
    assert [e["value"] for e in threshold["below"]] == pytest.approx([0.49, 0.48, 0.47])
    assert [e["value"] for e in threshold["above"]] == pytest.approx([0.5, 0.51, 0.52])
    assert all(e["snippet"].startswith("word word") for e in threshold["above"])


def test_threshold_columns_follow_the_naming_rule():
    manifest_ = {"pipeline": {"resolved": {"steps": [
        {"gopher_quality": {"min_stop_words": 2, "max_hash_ratio": 0.1, "mode": "filter"}},
        {"language": {"min_score": 0.65}}, {"toxicity": {"max_score": 0.8}},
        {"length": {"min_words": 50}}]}}}
    columns = {"gopher_stop_words", "gopher_hash_ratio", "lang_score", "toxicity", "n_words"}
    found = {(t["column"], t["keeps"]) for t in thresholds_from_manifest(manifest_, columns)}
    assert found == {("gopher_stop_words", "above"), ("gopher_hash_ratio", "below"),
                     ("lang_score", "above"), ("toxicity", "below"), ("n_words", "above")}


def test_exact_tokens_with_a_tokenizer(corpus, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel({"word": 0, "[UNK]": 1}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    result = collect(corpus, workers=1, tokenizer=str(path))
    assert result["tokens"]["exact"] == result["words"]  # one token per word here
    assert result["lengths"]["tokens"]["max"] == 1000


def test_a_parquet_without_a_text_column_is_a_clear_error(tmp_path):
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "a.parquet")
    with pytest.raises(Exception, match="no 'text' column"):
        collect(tmp_path)


# ---------------------------------------------------------------------------------------
# The kernel and the sketches


WHITESPACE = re.compile("[\x00-\x20\x85\xa0]+")
ALPHABET = ["a", "b", " ", "\n", "\t", "\r", "\x0b", "\x1f", "\x00", "\xa0", "\x85", "é", "€",
            "中", "😀", "\u2003", "\u3000", "“", "\u00c2"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(ALPHABET),
                                               max_size=40)), max_size=30),
       st.sampled_from([8, 16, 64, 1 << 18]), st.booleans())
def test_measure_matches_a_plain_python_reference(texts, chunk, large):
    import curation.stats.measure as m

    old, m.CHUNK = m.CHUNK, chunk
    try:
        array = pa.array(texts, type=pa.large_string() if large else pa.string())
        got = measure(array.slice(1) if len(array) > 1 else array)
    finally:
        m.CHUNK = old
    plain = [t or "" for t in (texts[1:] if len(texts) > 1 else texts)]
    assert got.bytes.tolist() == [len(t.encode()) for t in plain]
    assert got.chars.tolist() == [len(t) for t in plain]
    assert got.words.tolist() == [len([w for w in WHITESPACE.split(t) if w]) for t in plain]
    assert got.lines.tolist() == [t.count("\n") + (1 if t and not t.endswith("\n") else 0)
                                  for t in plain]


def test_words_equal_python_split_for_ordinary_text():
    texts = ["Hello,  world!\n\nIt\u2019s “quoted” — and\ttabbed.\r\n", "a\u00a0b", " lead", ""]
    assert measure(pa.array(texts)).words.tolist() == [len(t.split()) for t in texts]


def test_histogram_merge_and_quantiles():
    a, b = Histogram(LENGTH_EDGES, "words", "log"), Histogram(LENGTH_EDGES, "words", "log")
    a.add(np.array([1, 2, 3]))
    b.add(np.array([100, np.nan]))
    a.merge(b)
    assert (a.count, a.nulls, a.total, a.minimum, a.maximum) == (4, 1, 106, 1, 100)
    assert a.quantile(0.0) == 1 and a.quantile(1.0) == 100
    back = Histogram.from_dict(a.to_dict(trim=False))
    assert back.counts.tolist() == a.counts.tolist()


def test_quantiles_see_exact_zeros():
    """90 zeros and 10 values of 0.005 in the bin [0, 0.02): every quantile up to p90 is 0
    (spreading the zeros over the bin said 0.01), and p99 stays inside the bin."""
    for edges in (np.linspace(0.0, 1.0, 51), np.linspace(-0.5, 0.5, 51)):
        hist = Histogram(edges, "fraction")
        hist.add(np.array([0.0] * 90 + [0.005] * 10))
        assert hist.zeros == 90 and hist.quantile(0.5) == 0.0 and hist.quantile(0.9) == 0.0
        assert 0.0 < hist.quantile(0.99) <= 0.005
        back = Histogram.from_dict(hist.to_dict())
        assert back.zeros == 90 and back.quantile(0.5) == 0.0
    mixed = Histogram(np.array([-1.0, 1.0]))  # zero inside a bin, values on both sides
    mixed.add(np.array([-0.9, -0.5, 0.0, 0.0, 0.0, 0.4, 0.8]))
    assert mixed.quantile(0.2) < 0 and mixed.quantile(0.5) == 0.0 and mixed.quantile(0.8) > 0
    other = Histogram(edges)
    other.add(np.array([0.0, 0.5]))
    hist.merge(other)
    assert hist.zeros == 91


def test_top_values_stay_bounded_and_keep_the_frequent_ones():
    top = TopValues(capacity=10)
    for chunk in range(50):
        values = [f"rare-{chunk}-{i}" for i in range(20)] + ["common"]
        top.add(values, [1] * 20 + [40])
    assert len(top.counts) <= 10
    assert top.top(1)[0][0] == "common"
    assert top.counts["common"] <= 2000 <= top.counts["common"] + top.error


# ---------------------------------------------------------------------------------------
# Compare, HTML, CLI


def test_compare_uses_the_same_bins_and_reports_deltas(corpus, tmp_path):
    curated = write_corpus(tmp_path / "curated",
                           [r for r in known_rows() if r["text"].count("word") >= 50], files=1)
    result = compare(corpus, curated, workers=1)
    totals = {t["measure"]: t for t in result["totals"]}
    assert totals["documents"]["a"] == 39 and totals["documents"]["b"] == 25
    assert totals["documents"]["delta"] == -14
    assert totals["words"]["delta"] == -(50 + 3)
    words = result["lengths"]["words"]
    five = int(np.searchsorted(words["edges"], 5, side="right")) - 1
    fifty = int(np.searchsorted(words["edges"], 50, side="right")) - 1
    assert (words["a"][five], words["b"][five], words["delta"][five]) == (10, 0, -10)
    assert (words["a"][fifty], words["b"][fifty], words["delta"][fifty]) == (20, 20, 0)
    qa = result["a"]["scores"]["quality_score"]["histogram"]
    qb = result["b"]["scores"]["quality_score"]["histogram"]
    assert set(qb["edges"]) <= set(qa["edges"]) or set(qa["edges"]) <= set(qb["edges"])
    langs = {r["value"]: r["delta"] for r in result["languages"]}
    assert langs == {"en": -10, "fr": 0}
    page = render_compare(result)
    assert page.count('<svg class="chart') >= 5 and "% of documents" in page


def test_html_is_self_contained(stats):
    page = render_stats(stats)
    assert page.count('<svg class="chart histogram"') >= 4
    assert "<script" not in page and "src=" not in page and "@import" not in page
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)
    assert "words per document (log scale)" in page  # labeled axes, with units


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="gristmill")
    stats_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["stats", *argv])
    return args.func(args)


def test_cli_writes_json_and_html(corpus, tmp_path, capsys):
    assert run_cli(str(corpus), "--json", str(tmp_path / "s.json"), "--html",
                   str(tmp_path / "r.html"), "--workers", "1") == 0
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["kind"] == "gristmill.stats" and data["schema_version"] == 1
    assert data["documents"] == 39
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    out = capsys.readouterr().out
    assert "39 documents" in out and "Lengths per document" in out
    assert run_cli("--compare", str(corpus), str(tmp_path / "s.json"), "--workers", "1",
                   "--json", str(tmp_path / "c.json")) == 0
    comparison = json.loads((tmp_path / "c.json").read_text())
    assert comparison["totals"][0]["delta"] == 0
    assert (comparison["label_a"], comparison["label_b"]) == ("corpus", "s.json")


def test_terminal_score_table_fits_and_keeps_names_whole():
    """At 80 columns every line fits, no column name is cut, and the optional columns go
    first (distribution, then min); at 140 they are all there. Thresholds read >= / <=."""
    from rich.console import Console

    from curation.stats.text_summary import print_stats

    long = "gopher_ellipsis_lines_ratio"
    hist = Histogram(np.linspace(0.0, 1.0, 51), "fraction")
    hist.add(np.array([0.0] * 8 + [0.25, 0.5]))
    stats = {"path": "x", "documents": 10, "files": 1, "bytes": 100, "words": 20,
             "tokens": {"estimated": 25}, "lengths": {}, "seconds": 0.1, "workers": 1,
             "documents_per_second": 100.0,
             "scores": {long: {"histogram": hist.to_dict(), "thresholds": [
                 {"step": "gopher_quality", "param": "max_ellipsis_lines_ratio", "value": 0.3},
                 {"step": "gopher_quality", "param": "min_ellipsis_lines_ratio", "value": 0}]}}}
    values = {"min": "0", "median": "0", "mean": "0.075", "max": "0.5"}
    for width, header in ((70, ["column", "median", "mean", "max", "threshold"]),
                          (80, ["column", "min", "median", "mean", "max", "threshold"]),
                          (140, ["column", "min", "median", "mean", "max", "threshold",
                                 "distribution"])):
        console = Console(width=width, record=True)
        print_stats(stats, console)
        lines = console.export_text().splitlines()
        assert max(map(len, lines)) <= width
        row = next(line for line in lines if long in line)
        assert next(line for line in lines if "threshold" in line).split() == header
        numbers = [values[c] for c in header if c in values]
        assert row.split()[1:1 + len(numbers)] == numbers
        assert "\u2265 0, \u2264 0.3" in row


# ---------------------------------------------------------------------------------------
# The run report


PLANTED = ["Mail jane.doe@example.com or call (555) 010-0199 today.",
           "Contact: +1 555-010-0142, bob@mail.example.org"]


def test_run_report_funnel_examples_and_no_pii(tmp_path, curate):
    body = ("The quick brown fox jumps over the lazy dog near the river bank. " * 3).strip()
    records = []
    for i in range(12):  # kept: PII in the text (samples) and in the source (top sources)
        records.append({"text": f"{body} Story {i}. {PLANTED[i % 2]}",
                        "source": "web" if i % 3 else "from jane.doe@example.com"})
    records += [{"text": f"{body} Story 0. {PLANTED[0]}", "source": "copy"}] * 2  # duplicates
    records += [{"text": f"short {PLANTED[i % 2]}", "source": "web"} for i in range(4)]
    records.append({"text": "", "source": "web"})
    write_jsonl(tmp_path / "in" / "a.jsonl", records)
    (tmp_path / "in" / "b.jsonl").write_bytes(b"")
    out = tmp_path / "out"
    pipeline = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in" / "*.jsonl"), out,
                              steps=[{"length": {"min_words": 10}}, {"exact_dedup": {}}])
    assert curate(pipeline) == 0
    data = manifest(out)
    data["steps"][-1]["report"] = {  # as the near-dup steps record it (issue 4)
        "clusters": 2, "documents_in_clusters": 5, "documents_removed": 3, "bands": 14,
        "rows": 8, "candidate_pairs": 7,
        "size_histogram": [{"min_size": 2, "clusters": 1}, {"min_size": 3, "clusters": 1}],
        "largest_clusters": [{"size": 3, "kept_id": "a.jsonl:1",
                              "examples": [PLANTED[0], PLANTED[1]]}]}
    report = write_run_report(out, data, workers=1)
    page = report.read_text()
    stats_json = (out / "stats.json").read_text()
    for text in (page, stats_json):
        assert not EMAIL.search(text), EMAIL.search(text)
        assert not PHONE.search(text), PHONE.search(text)
        assert "555-01" not in text and "010-01" not in text and "jane.doe" not in text
    sources = json.loads(stats_json)["sources"]["top"]
    assert {"value": "from <EMAIL>", "count": 4} in sources  # scrubbed, not dropped
    run = json.loads(stats_json)["run"]
    counts = run["counts"]
    assert counts["input"] == counts["kept"] + counts["rejected"] == 19
    assert "input <b>19</b> = kept" in page and ">OK<" in page
    assert set(run["examples"]) == {"read:empty", "length:too_few_words",
                                    "exact_dedup:duplicate"}
    assert len(run["examples"]["length:too_few_words"]) == 3  # at most 3 per reason
    assert all("<EMAIL>" in e["snippet"] or "<PHONE>" in e["snippet"]
               for e in run["examples"]["length:too_few_words"])
    assert run["examples"]["exact_dedup:duplicate"][0]["duplicate_of"]
    names = [s["name"] for s in run["steps"]]
    assert names == ["read", "length", "exact_dedup"]
    empty = f"file://{tmp_path}/in/b.jsonl"
    assert run["inputs"] == {"files": 2, "bytes": (tmp_path / "in" / "a.jsonl").stat().st_size,
                             "skipped": [], "empty": [empty]}
    assert "Input: 2 files" in page and f"1 input file(s) held no records: {empty}" in page
    assert '<svg class="chart funnel"' in page and "Near duplicates: exact_dedup" in page
    assert "Clusters by size" in page


def test_domains_from_urls():
    from curation.stats.urls import domains

    urls = pa.array(["https://www.Example.com/a", "http://other.org:8080/x?q=1",
                     "news.site.net/page", None, "", "mailto:bob@x.com",
                     "ftp://user:pw@host.io/p", "HTTP://WWW.A.B", "y.org#frag", "//cdn.z.com/a"])
    assert domains(urls).to_pylist() == [
        "example.com", "other.org", "news.site.net", None, None, "x.com", "host.io", "a.b",
        "y.org", "cdn.z.com"]
    assert domains(urls.slice(3, 3)).to_pylist() == [None, None, "x.com"]
