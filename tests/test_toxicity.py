"""The `toxicity` step with alt-profanity-check's real model (no mocks): scores equal the
package's own `predict_prob`, per-line and whole-text aggregation, drop vs drop_lines,
thresholds, word lists, annotate mode and the columns in real shards.

The model loads once per process (scikit-learn's import takes seconds); every test shares it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from curation.core.document import Document
from curation.core.errors import ConfigError
from curation.steps.toxicity import Toxicity, profanity_model
from tests.support.curation import manifest, read_rows, write_jsonl, write_pipeline

TOXIC = "you are a fucking idiot and a piece of shit"
CLEAN_LINES = [
    "The committee met on Tuesday to review the annual budget for the library.",
    "Rainfall in the valley was above average for the third year in a row.",
    "She planted tomatoes, beans and squash along the southern fence.",
    "The train to the coast leaves every hour from the central station.",
    "Our neighbours repaired the roof before the winter storms arrived.",
    "The museum opens a new exhibition of early maps next month.",
    "He practised the piano for an hour each evening after dinner.",
    "The bakery on the corner sells bread made with local flour.",
]
CLEAN_DOC = "\n".join(CLEAN_LINES)  # 8 lines, over 50 words


def score(text: str) -> float:
    return float(profanity_model().predict([text])[0])


def run(text: str, **params) -> tuple[str | None, Document]:
    doc = Document("d", text)
    return Toxicity(params).process(doc), doc


def test_scores_equal_profanity_check_predict_prob():
    import profanity_check

    texts = [TOXIC, *CLEAN_LINES, "", "   ", "ok", "Ünïcödé façade naïve café", CLEAN_DOC,
             "I hate you, you stupid moron!!!", "what the hell is this crap"]
    ours = profanity_model().predict(texts)
    assert np.abs(ours - profanity_check.predict_prob(texts)).max() < 1e-9
    doc = "\n".join([CLEAN_LINES[0], "", TOXIC, "  ", CLEAN_LINES[1]])
    lines = doc.split("\n")
    expected = profanity_check.predict_prob([*lines, doc])  # every line, then the whole text
    assert np.abs(profanity_model().line_scores(doc) - expected).max() < 1e-9


def test_clear_toxic_and_clean_lines():
    assert score(TOXIC) > 0.95
    assert all(score(line) < 0.2 for line in CLEAN_LINES)


def test_clean_document_is_kept_with_its_columns():
    rule, doc = run(CLEAN_DOC)
    assert rule is None
    assert doc.meta["toxicity"] == pytest.approx(max(score(CLEAN_DOC), *map(score, CLEAN_LINES)))
    assert doc.meta["toxicity"] < 0.2
    assert doc.meta["toxicity_fraction"] == 0.0
    assert doc.meta["toxicity_word_hits"] == 0
    assert doc.meta["toxicity_lines_removed"] == 0
    assert set(doc.meta) == set(Toxicity.columns)


def test_one_toxic_line_among_clean_ones_is_found():
    text = "\n".join([*CLEAN_LINES[:4], TOXIC, *CLEAN_LINES[4:]])
    whole = score(text)
    rule, doc = run(text)
    assert whole < 0.9 <= doc.meta["toxicity"]  # the whole text alone would pass
    assert doc.meta["toxicity"] == pytest.approx(max(whole, score(TOXIC)))
    assert doc.meta["toxicity_max"] == pytest.approx(score(TOXIC))
    assert doc.meta["toxicity_fraction"] == pytest.approx(1 / 9)
    assert rule == "toxic"


def test_short_text_is_scored_as_one_piece():
    text = "that movie\nwas the worst ever"  # under whole_below_words (50) words
    _, doc = run(text)
    assert doc.meta["toxicity"] == pytest.approx(score(text))
    _, doc = run(text, whole_below_words=0)  # lines count from the first word on
    assert doc.meta["toxicity"] == pytest.approx(max(score(text), *map(score, text.split("\n"))))


def test_max_score_threshold_is_inclusive():
    text = "\n".join([*CLEAN_LINES, "what a stupid idea"])
    _, doc = run(text, mode="annotate")
    s = doc.meta["toxicity"]
    assert 0.5 < s < 0.999
    assert run(text, max_score=s)[0] == "toxic"
    assert run(text, max_score=min(1.0, s + 1e-6))[0] is None


def test_max_fraction_and_line_threshold():
    text = "\n".join([TOXIC, TOXIC, *CLEAN_LINES[:6]])  # 2 of 8 lines toxic
    _, doc = run(text, max_score=1.0, line_threshold=0.9)
    assert doc.meta["toxicity_fraction"] == pytest.approx(0.25)
    assert run(text, max_score=1.0, max_fraction=0.25)[0] == "toxic_fraction"
    assert run(text, max_score=1.0, max_fraction=0.3)[0] is None
    _, doc = run(text, line_threshold=0.0)  # every line counts as toxic
    assert doc.meta["toxicity_fraction"] == 1.0


def test_drop_lines_removes_only_toxic_lines():
    lines = [CLEAN_LINES[0], TOXIC, CLEAN_LINES[1], "", CLEAN_LINES[2]]
    rule, doc = run("\n".join(lines), action="drop_lines")
    assert rule is None
    assert doc.text == "\n".join([CLEAN_LINES[0], CLEAN_LINES[1], "", CLEAN_LINES[2]])
    assert doc.meta["toxicity_lines_removed"] == 1
    assert doc.meta["toxicity_max"] > 0.9  # scores describe the text before removal


def test_drop_lines_with_every_line_toxic_drops_the_document():
    rule, doc = run(f"{TOXIC}\n\nfuck off", action="drop_lines")
    assert rule == "all_lines_toxic"
    assert doc.meta["toxicity_lines_removed"] == 2


def test_drop_lines_in_annotate_mode_counts_but_keeps_the_text():
    text = "\n".join([CLEAN_LINES[0], TOXIC])
    rule, doc = run(text, action="drop_lines", mode="annotate")
    assert rule is None and doc.text == text
    assert doc.meta["toxicity_lines_removed"] == 1


def test_word_list(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("# my list\nfrobnicate\n\nblue  moon\n")
    text = "\n".join([*CLEAN_LINES, "Do not FROBNICATE the widget.", "once in a Blue Moon"])
    rule, doc = run(text, words_file=str(words))
    assert rule == "word_list"
    assert doc.meta["toxicity_word_hits"] == 2
    assert run(text.replace("FROBNICATE", "frobnicated").replace("Moon", "moons"),
               words=["frobnicate", "blue moon"])[0] is None  # whole words only
    rule, doc = run(text, words=["frobnicate"], action="drop_lines")
    assert rule is None and "widget" not in doc.text and "Blue Moon" in doc.text
    with pytest.raises(ConfigError, match="words_file"):
        Toxicity({"words_file": str(tmp_path / "missing.txt")})


def test_invalid_parameters():
    with pytest.raises(ValidationError, match="max_fraction"):
        Toxicity({"action": "drop_lines", "max_fraction": 0.5})
    with pytest.raises(ValidationError):
        Toxicity({"max_score": 1.5})
    with pytest.raises(ValidationError):
        Toxicity({"threshold": 0.5})


def test_empty_and_blank_documents():
    for text in ("", "\n \n"):
        rule, doc = run(text)
        assert rule is None
        assert doc.meta["toxicity_fraction"] == 0.0 and doc.meta["toxicity_max"] == 0.0


@pytest.mark.parametrize("mode", ["filter", "annotate"])
def test_pipeline_columns_and_reasons(tmp_path, curate, mode):
    toxic_doc = "\n".join([*CLEAN_LINES[:4], TOXIC, *CLEAN_LINES[4:]])
    records = [{"text": CLEAN_DOC}, {"text": toxic_doc}, {"text": CLEAN_LINES[0]}]
    write_jsonl(tmp_path / "in" / "a.jsonl", records)
    out = tmp_path / "out"
    pipeline = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in"), out,
                              [{"toxicity": {"mode": mode}}])
    assert curate(pipeline, "--workers", "1") == 0
    kept = [row for path in sorted(out.glob("part-*.parquet")) for row in read_rows(path)]
    step = next(s for s in manifest(out)["steps"] if s["name"] == "toxicity")
    schema = pq.read_schema(next(out.glob("part-*.parquet")))
    for column, kind in Toxicity.columns.items():
        assert schema.field(column).type == kind
    assert schema.field("toxicity").type == pa.float32()
    if mode == "filter":
        rejected = read_rows(out / "rejected")
        assert [r["reason"] for r in rejected] == ["toxicity:toxic"]
        assert rejected[0]["text"] == toxic_doc
        assert step["rejected"] == {"toxic": 1}
        assert len(kept) == 2
    else:
        assert not (out / "rejected").exists()
        assert step["flagged"] == {"toxic": 1}
        scores = {r["text"]: r["toxicity"] for r in kept}
        assert len(scores) == 3 and scores[toxic_doc] >= 0.9
        assert scores[CLEAN_DOC] < 0.2


def test_pipeline_drop_lines_edits_text(tmp_path, curate):
    text = "\n".join([*CLEAN_LINES[:4], TOXIC, *CLEAN_LINES[4:]])
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"text": text}])
    out = tmp_path / "out"
    pipeline = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in"), out,
                              [{"toxicity": {"action": "drop_lines"}}])
    assert curate(pipeline, "--workers", "1") == 0
    (row,) = read_rows(next(out.glob("part-*.parquet")))
    assert row["text"] == CLEAN_DOC
    assert row["toxicity_lines_removed"] == 1
