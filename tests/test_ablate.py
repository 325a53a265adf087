"""`gristmill ablate`: statistics and verdict from known curves, the report in a browser,
the refusals, n-gram overlap, and one real ablation of tiny models on clean against
polluted books."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from tests.support.ablation import book_ablation, book_docs
from tests.support.training import bpe_tokenizer, curated, write_shards
from tests.test_stats_browser import (  # noqa: F401 (browser is a fixture)
    CHROMIUM,
    browser,
    open_page,
    problems,
    screenshot_colors,
)
from training.errors import TrainingError
from training.eval.ablate import ablate, summarize
from training.eval.ablation_config import load_ablation
from training.eval.decontam import overlap
from training.eval.report import render_report
from training.eval.variant_data import curate_variants

FINAL = {"clean": (1.60, 1.62), "polluted": (1.90, 1.93), "same": (1.61, 1.59)}


def fake_runs(root: Path) -> dict[str, dict[int, Path]]:
    """metrics.jsonl of 3 variants x 2 seeds whose last eval_bpb values are FINAL."""
    runs: dict[str, dict[int, Path]] = {}
    for variant, finals in FINAL.items():
        for seed, final in zip((1, 2), finals, strict=True):
            run = root / variant / f"seed-{seed}"
            run.mkdir(parents=True)
            lines = [{"step": s, "loss": 3.0, "tokens": s * 100} for s in (5, 10)]
            lines += [{"step": s, "val_loss": 2.0, "eval_bpb/books": final + (10 - s) / 10,
                       "eval_loss/books": final * 0.7} for s in (5, 10)]
            run.joinpath("metrics.jsonl").write_text(
                "".join(json.dumps(x) + "\n" for x in sorted(lines, key=lambda r: r["step"])))
            runs.setdefault(variant, {})[seed] = run
    return runs


def fake_result(tmp_path: Path) -> dict:
    plan = {"variants": {v: f"/data/{v}" for v in FINAL}, "seeds": [1, 2], "tokens": 1000,
            "steps": 10, "tokens_per_step": 100, "tokenizer": "tok.json"}
    return summarize(plan, fake_runs(tmp_path), {}, {})


def test_means_differences_and_noise_follow_from_the_runs(tmp_path: Path) -> None:
    result = fake_result(tmp_path)
    clean = result["variants"]["clean"]["eval_bpb/books"]
    assert clean["mean"] == pytest.approx(1.61) and clean["std"] == pytest.approx(
        math.sqrt(2) * 0.01)
    assert result["runs"]["clean"]["1"]["tokens"] == 1000
    assert [p["tokens"] for p in result["runs"]["clean"]["1"]["curve"]] == [500, 1000]
    diffs = {(d["a"], d["b"]): d for d in result["differences"]
             if d["metric"] == "eval_bpb/books"}
    real = diffs[("clean", "polluted")]
    assert real["difference"] == pytest.approx(1.61 - 1.915)
    assert real["noise"] == pytest.approx(math.sqrt((0.01**2 * 2 + 0.015**2 * 2) / 2))
    assert real["significant"] and real["better"] == "clean"
    tie = diffs[("clean", "same")]
    assert not tie["significant"]
    assert result["primary"] == "eval_bpb/books"
    assert "clean is better than polluted on eval_bpb/books by 0.3050" in result["verdict"]
    assert "clean and same differ" in result["verdict"] and "within the noise" in \
        result["verdict"]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no headless browser at {CHROMIUM}: "
                    "install Debian's chromium (apt-get install -y chromium)")
def test_report_renders_in_a_browser(browser, tmp_path: Path) -> None:  # noqa: F811
    """No console error or network request; one chart per curve metric with a seed band per
    variant; the table marks the significant difference; the screenshot is not blank."""
    page = tmp_path / "report.html"
    result = fake_result(tmp_path)
    page.write_text(render_report(result))
    tab, dom = open_page(browser, page)
    assert problems(tab, page) == []
    assert dom["charts"] == 1  # eval_bpb/books; eval_loss is in the table only
    assert "tokens trained" in dom["axisLabels"] and dom["width"] <= 1280
    found = tab.call("Runtime.evaluate", returnByValue=True, expression=(
        "document.querySelectorAll('polygon.band').length + ',' + "
        "document.querySelectorAll('td.yes').length"))["result"]["value"]
    significant = sum(d["significant"] for d in result["differences"])
    assert significant == 4  # polluted against clean and same, in bpb and loss
    assert found == f"{len(FINAL)},{significant}"
    shot = screenshot_colors(tab, tmp_path / "report.png")
    assert shot["colors"] > 20 and shot["dominant"] < 0.95, shot


def small_ablation(root: Path, **changes) -> Path:
    """Two short books, a given tokenizer: the set-up without the training."""
    if not (root / "bpe.json").exists():
        bpe_tokenizer(300).save(str(root / "bpe.json"))
    path = book_ablation(root, tokens=512 * 4, vocab=str(root / "bpe.json"),
                         books=("christmas_carol", "jekyll_and_hyde"))
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        section, _, name = key.partition(".")
        if name:
            data[section][name] = value
        else:
            data[section] = value
    path.write_text(yaml.safe_dump(data))
    return path


def test_refusals_are_one_line_and_say_why(tmp_path: Path) -> None:
    bpe_tokenizer(400).save(str(tmp_path / "other.json"))
    cases = {
        "train.tokens": (5000, "not a whole number of steps of 512 tokens"),
        "variants": ({"clean": str(tmp_path / "clean"),
                      "polluted": {"path": str(tmp_path / "polluted"),
                                   "tokenizer": str(tmp_path / "other.json")}},
                     "must use one tokenizer"),
        "seeds": ([1], "seeds"),
    }
    for key, (value, message) in cases.items():
        with pytest.raises(TrainingError, match=message):
            ablate(small_ablation(tmp_path, **{key: value}), tmp_path / "out", quiet=True)
    with pytest.raises(TrainingError, match=r"epochs. Lower train.tokens, or set "
                                            r"train.allow_repeats"):
        ablate(small_ablation(tmp_path, **{"train.tokens": 512 * 8000}), tmp_path / "o2",
               quiet=True)


def test_overlap_finds_shared_passages_and_warns_when_all_overlap(tmp_path, capsys) -> None:
    book = book_docs("time_machine")[:30]
    found = overlap([*book[:10], "a few words only"], [book[5:20]], n=13)
    assert found.contaminated == list(range(5, 10)) and found.docs == 11
    # an evaluation set that is the training data: a loud warning, and `remove` refuses
    curated(tmp_path / "a", book, book[:2])
    curated(tmp_path / "b", book_docs("dubliners")[:30], book[:2])
    write_shards(tmp_path / "held", book[:10])
    path = small_ablation(tmp_path, variants={"a": str(tmp_path / "a"),
                                              "b": str(tmp_path / "b")},
                          eval={"sets": {"held": str(tmp_path / "held")},
                                "decontaminate": "remove"})
    with pytest.raises(TrainingError, match="every document overlaps"):
        ablate(path, tmp_path / "out", quiet=True)
    assert "WARNING: every document of evaluation set held" in capsys.readouterr().out


@pytest.mark.slow
def test_clean_books_beat_polluted_books_significantly(tmp_path: Path) -> None:
    """2 layers, 128 wide, BPE 512, 2 seeds, 102,400 tokens a run; 80% of the polluted
    documents are raw web pages. A second run of the same command trains nothing and
    gives the same result."""
    path = book_ablation(tmp_path, tokens=512 * 200)
    result = ablate(path, tmp_path / "out", quiet=True)
    for seeds in result["runs"].values():
        assert all(run["tokens"] == 512 * 200 for run in seeds.values())
    best = next(d for d in result["differences"] if d["metric"] == "eval_bpb/heldout_book")
    assert best["better"] == "clean" and best["significant"], best
    assert "clean is better than polluted" in result["verdict"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert result["verdict"] in html and "<svg" in html
    stamp = (tmp_path / "out" / "runs" / "clean" / "seed-1" / "metrics.jsonl").stat().st_mtime
    again = ablate(path, tmp_path / "out", quiet=True)
    assert again["differences"] == result["differences"]
    assert (tmp_path / "out" / "runs" / "clean" / "seed-1" / "metrics.jsonl"
            ).stat().st_mtime == stamp


def pipeline_variant(root: Path, docs: list[str], **changes: object) -> dict:
    """Documents (and two too short to keep) as JSONL, and a two-step pipeline over them."""
    (root / "raw").mkdir()
    lines = [*docs, "Too short.", "Also far too short."]
    (root / "raw" / "part-0.jsonl").write_text("".join(
        json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(lines)))
    (root / "tiny.yaml").write_text(yaml.safe_dump({
        "name": "tiny", "input": {"paths": ["elsewhere/*.jsonl"]},
        "output": {"path": "elsewhere"},
        "steps": [{"length": {"min_words": 1}}, {"split": {"validation_fraction": 0.1}}]}))
    return {"pipeline": str(root / "tiny.yaml"), "input": str(root / "raw" / "*.jsonl"),
            "overrides": ["steps.length.min_words=5"], **changes}


def test_a_pipeline_variant_is_curated_once_by_a_curate_process(tmp_path: Path) -> None:
    """`{pipeline, input, overrides}`: `gristmill curate` (a subprocess: training does not
    import curation) writes OUT/variants/NAME; a finished one is not curated again; a
    pipeline that fails is one line naming the variant."""
    variant = pipeline_variant(tmp_path, [f"Document {i} has enough words to be kept."
                                          for i in range(20)])
    spec = tmp_path / "ablation.yaml"
    spec.write_text(yaml.safe_dump({"variants": {"raw": "somewhere", "curated": variant},
                                    "seeds": [1, 2], "train": {"config": "t.yaml",
                                                               "tokens": 512}}))
    cfg = load_ablation(spec)
    assert cfg.variant_paths(tmp_path / "out") == {
        "raw": "somewhere", "curated": str(tmp_path / "out" / "variants" / "curated")}
    curate_variants(cfg, tmp_path / "out", quiet=True)
    manifest = tmp_path / "out" / "variants" / "curated" / "_manifest.json"
    counts = json.loads(manifest.read_text())["counts"]
    assert (counts["kept"], counts["rejected"]) == (20, 2), counts
    stamp = manifest.stat().st_mtime
    curate_variants(cfg, tmp_path / "out", quiet=True)
    assert manifest.stat().st_mtime == stamp
    spec.write_text(yaml.safe_dump({"variants": {"raw": "somewhere", "curated": {
        **variant, "pipeline": "missing.yaml"}}, "seeds": [1, 2], "train": {
        "config": "t.yaml", "tokens": 512}}))
    with pytest.raises(TrainingError, match=r"^variant curated: gristmill curate missing.yaml "
                                            r"failed \(exit \d\): .*missing.yaml"):
        curate_variants(load_ablation(spec), tmp_path / "o2", quiet=True)


@pytest.mark.slow
def test_an_ablation_trains_on_a_curated_pipeline_variant(tmp_path: Path) -> None:
    """ablate curates the pipeline variant, trains it on the budget like a directory, and
    a second run neither curates nor trains again."""
    variant = pipeline_variant(tmp_path, book_docs("jekyll_and_hyde")[:30])
    path = small_ablation(tmp_path, variants={"clean": str(tmp_path / "clean"),
                                              "curated": variant})
    result = ablate(path, tmp_path / "out", quiet=True)
    dest = tmp_path / "out" / "variants" / "curated"
    assert result["plan"]["variants"]["curated"] == str(dest)
    assert result["plan"]["pipelines"]["curated"]["overrides"] == ["steps.length.min_words=5"]
    assert all(run["tokens"] == 512 * 4 for run in result["runs"]["curated"].values())
    files = [dest / "_manifest.json", tmp_path / "out/runs/curated/seed-1/metrics.jsonl"]
    stamps = [f.stat().st_mtime for f in files]
    ablate(path, tmp_path / "out", quiet=True)
    assert [f.stat().st_mtime for f in files] == stamps
