"""The `language` step and its two backends (fastText lid.176 lite, langdetect), for real:
predictions and scores on hand-made text, keep/min_score decisions, determinism, empty and
very short text, bounded samples of long documents, offline loading, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from curation.core.document import Document
from curation.langid import LangdetectIdentifier, bounded_sample, identifier
from curation.steps.language import Language, LanguageParams
from tests.support.curation import REPO, manifest, read_rows, write_jsonl, write_pipeline

BACKENDS = ["fasttext", "langdetect"]
EXAMPLES = {
    "en": "The committee will publish its final report on the new railway line next spring.",
    "fr": "Le comité publiera son rapport final sur la nouvelle ligne de chemin de fer au "
          "printemps prochain.",
    "es": "El comité publicará su informe final sobre la nueva línea de ferrocarril la "
          "próxima primavera.",
    "de": "Der Ausschuss wird seinen Abschlussbericht über die neue Bahnstrecke im nächsten "
          "Frühjahr veröffentlichen.",
    "zh": "委员会将于明年春天发布关于新铁路线的最终报告。",
}


def classify(text: str, **params) -> tuple[Document, str | None]:
    doc = Document("d", text)
    return doc, Language(params).process(doc)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("lang", list(EXAMPLES))
def test_examples_are_identified(backend, lang):
    doc, rule = classify(EXAMPLES[lang], backend=backend)
    assert rule is None
    assert doc.meta["lang"] == lang
    assert doc.meta["lang_score"] > (0.8 if backend == "fasttext" else 0.99)


def test_multiline_text_is_one_line_for_fasttext():
    text = "The committee will publish\nits final report\r\n\r\non the new railway line."
    assert identifier("fasttext").predict(text)[0] == "en"
    assert identifier("fasttext").predict(text) == identifier("fasttext").predict(
        " ".join(text.split()))


def test_default_backend_is_fasttext():
    assert LanguageParams().backend == "fasttext"


# ---------------------------------------------------------------------------------------
# keep and min_score


def test_keep_drops_other_languages():
    params = {"keep": ["en", "de"]}
    assert classify(EXAMPLES["en"], **params)[1] is None
    assert classify(EXAMPLES["de"], **params)[1] is None
    doc, rule = classify(EXAMPLES["fr"], **params)
    assert rule == "not_in_keep" and doc.meta["lang"] == "fr"


@pytest.mark.parametrize("keep", [None, []])
def test_no_keep_list_keeps_every_language(keep):
    assert all(classify(text, keep=keep)[1] is None for text in EXAMPLES.values())


def test_min_score_drops_unsure_predictions_first():
    doc, rule = classify("Merci", min_score=0.5)  # fastText: fr, 0.46
    assert (doc.meta["lang"], rule) == ("fr", "low_score")
    assert 0.3 < doc.meta["lang_score"] < 0.5
    # an unsure guess is reported as unsure even when its language is not kept
    assert classify("Merci", min_score=0.5, keep=["en"])[1] == "low_score"
    assert classify("Merci", min_score=0.4, keep=["en"])[1] == "not_in_keep"
    assert classify("Merci", min_score=0.4, keep=["fr"])[1] is None


def test_keep_codes_are_checked_against_the_backend():
    assert LanguageParams(keep=["EN", " de "]).keep == ["en", "de"]
    with pytest.raises(ValueError, match="never returns 'nb' \\(Norwegian Bokmål is 'no'\\)"):
        LanguageParams(keep=["nb"])
    with pytest.raises(ValueError, match="'eu'"):
        LanguageParams(backend="langdetect", keep=["eu"])  # Basque: fastText only
    assert LanguageParams(backend="fasttext", keep=["eu", "und"]).keep == ["eu", "und"]


def test_annotate_mode_records_and_keeps():
    step = Language({"keep": ["en"], "mode": "annotate"})
    doc = Document("d", EXAMPLES["fr"])
    assert step.process(doc) == "not_in_keep"  # the executor turns this into a flag
    assert step.annotate_only and doc.text == EXAMPLES["fr"] and doc.meta["lang"] == "fr"


# ---------------------------------------------------------------------------------------
# Determinism, empty and very short text


def test_langdetect_is_deterministic():
    texts = ["Hallo", "ok", EXAMPLES["es"], "Das ist gut, c'est bon, es bueno."]
    first = [identifier("langdetect").predict(t) for t in texts]
    again = [identifier("langdetect").predict(t) for t in texts]
    fresh = LangdetectIdentifier()  # a new factory with the same seed
    assert first == again == [fresh.predict(t) for t in texts]
    from langdetect import DetectorFactory
    assert DetectorFactory.seed is None  # the library's global is left alone


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("text", ["", "   \n ", "2024-01-01 12:00", "*** --- ***", "🙂👍"])
def test_text_without_letters_is_undetermined(backend, text):
    doc, rule = classify(text, backend=backend)
    assert (doc.meta["lang"], doc.meta["lang_score"], rule) == ("und", 0.0, None)
    assert classify(text, backend=backend, keep=["en"])[1] == "not_in_keep"
    assert classify(text, backend=backend, keep=["en", "und"])[1] is None
    assert classify(text, backend=backend, min_score=0.1)[1] == "low_score"


def test_very_short_text_scores():
    # fastText knows when it does not know: a word it has no n-grams for scores the prior
    assert identifier("fasttext").predict("Hallo") == pytest.approx(("en", 0.1245), abs=1e-3)
    assert identifier("fasttext").predict("ok")[1] < 0.7
    # langdetect is sure of a wrong guess on one word, so min_score does not help it there
    lang, score = identifier("langdetect").predict("Hallo")
    assert lang not in ("de", "nl", "en") and score > 0.99


# ---------------------------------------------------------------------------------------
# Long documents: a bounded sample from inside the text

SPANISH = ("En un lugar de la Mancha, de cuyo nombre no quiero acordarme, no ha mucho tiempo "
           "que vivía un hidalgo de los de lanza en astillero, adarga antigua, rocín flaco y "
           "galgo corredor.\n")
ENGLISH = ("This ebook is for the use of anyone anywhere in the United States and most other "
           "parts of the world at no cost and with almost no restrictions whatsoever.\n")


def test_bounded_sample_takes_slices_from_inside():
    text = "".join(f"word{i:05d} " for i in range(10_000))  # 100,000 characters
    sample = bounded_sample(text, 3000)
    assert len(sample) <= 3000
    pieces = sample.split("\n")
    assert len(pieces) == 3
    for piece, centre in zip(pieces, (25_000, 50_000, 75_000), strict=True):
        assert abs(text.index(piece) + len(piece) // 2 - centre) < 100
        assert piece.startswith("word") and piece[-1].isdigit()  # whole words
    assert bounded_sample("short text", 3000) == "short text"
    assert bounded_sample(text, None) is text
    assert len(bounded_sample("字" * 5000, 1500, windows=2)) == 1500 + 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_long_book_with_english_license_is_its_body_language(backend):
    book = ENGLISH * 10 + SPANISH * 150 + ENGLISH * 40  # header, 30 kB of body, footer
    doc, _ = classify(book, backend=backend, max_chars=600)
    assert doc.meta["lang"] == "es"
    # the first characters alone would say English
    assert identifier(backend).predict(book[:600])[0] == "en"


def test_max_chars_null_classifies_everything():
    book = SPANISH * 100
    doc, _ = classify(book, max_chars=None)
    assert doc.meta["lang"] == "es"


# ---------------------------------------------------------------------------------------
# Offline, and through the CLI

OFFLINE_SCRIPT = """
import socket
def refuse(*args, **kwargs):
    raise OSError("network access attempted")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from curation.langid import identifier
print(identifier("fasttext").predict("Guten Morgen, wie geht es Ihnen heute?")[0],
      identifier("langdetect").predict("Guten Morgen, wie geht es Ihnen heute?")[0])
"""


def test_models_load_without_network():
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "FTLANG_CACHE": "/nonexistent"}
    out = subprocess.run([sys.executable, "-c", OFFLINE_SCRIPT], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["de", "de"]


def test_language_through_the_cli(tmp_path, curate):
    records = [{"text": EXAMPLES[lang], "source": lang} for lang in EXAMPLES]
    records.append({"text": "1234 5678"})
    write_jsonl(tmp_path / "in.jsonl", records)
    cfg = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in.jsonl"), tmp_path / "out",
                         steps=[{"language": {"keep": ["en", "de"], "min_score": 0.5}}])
    assert curate(cfg) == 0
    kept = read_rows(next((tmp_path / "out").glob("part-*.parquet")))
    rejected = read_rows(tmp_path / "out" / "rejected")
    assert [(r["lang"], r["text"]) for r in kept] == [("en", EXAMPLES["en"]),
                                                      ("de", EXAMPLES["de"])]
    assert sorted(r["reason"] for r in rejected) == [
        "language:low_score", "language:not_in_keep", "language:not_in_keep",
        "language:not_in_keep"]
    schema = pq.read_schema(next((tmp_path / "out").glob("part-*.parquet")))
    assert str(schema.field("lang").type) == "string"
    assert str(schema.field("lang_score").type) == "float"
    step = next(s for s in manifest(tmp_path / "out")["steps"] if s["name"] == "language")
    assert step["rejected"] == {"not_in_keep": 3, "low_score": 1}


def test_bad_keep_code_is_a_config_error(tmp_path, curate, capsys):
    write_jsonl(tmp_path / "in.jsonl", [{"text": "x"}])
    cfg = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in.jsonl"), tmp_path / "out",
                         steps=[{"language": {"keep": ["english"]}}])
    assert curate(cfg) != 0
    err = capsys.readouterr().err
    assert "steps[0].language" in err and "never returns 'english'" in err
