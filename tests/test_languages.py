# ruff: noqa: RUF001  (Chinese punctuation in the test texts is meant)
"""Heuristic filters in any language: words per script, stop words and thresholds per
language, per-language overrides, bad input in every script, and the multilingual pipeline.
"""

from __future__ import annotations

import json

import pytest

from curation.core.document import Document
from curation.langid.backends import LID176_LANGUAGES
from curation.stats.html import _language_section
from curation.steps.c4 import C4
from curation.steps.fineweb import FineWeb
from curation.steps.gopher import GopherQuality, GopherRepetition
from curation.text import build_tables, languages
from curation.text.segment import count_language_sentences, language_words
from curation.text.words import FillingCache, split_words
from tests.support.curation import REPO, SHARED_DATA, read_rows, write_jsonl

SENTENCES = SHARED_DATA / "langid_lingua" / "sentences"
FOUR = (GopherRepetition, GopherQuality, C4, FineWeb)


def decide(text: str, lang: str | None, **params) -> list[str | None]:
    """Each of the four steps' decision; `params` go to the steps with per-language tables."""
    doc = Document("d", text, meta={} if lang is None else {"lang": lang})
    return [cls(params if cls is not C4 else {}).process(doc) for cls in FOUR]


# ------------------------------------------------------------------------------- words

@pytest.mark.parametrize("lang,text,words", [
    ("zh", "我们今天去北京。", ["我们", "今天", "去", "北京"]),
    ("th", "ผมชอบกินข้าว", ["ผม", "ชอบ", "กิน", "ข้าว"]),
    ("ru", "Он сказал, что — да.", ["Он", "сказал", "что", "да"]),
    ("de", "„Hallo“, sagte sie.", ["Hallo", "sagte", "sie"]),
])
def test_words_follow_the_language(lang, text, words):
    assert language_words(text, lang) == words


def test_japanese_words_are_dictionary_words():
    words = language_words("私は東京に住んでいます。", "ja")
    assert words[:4] == ["私", "は", "東京", "に"] and words[-1] == "ます"


@pytest.mark.parametrize("lang,text", [
    ("lo", "ສະບາຍດີ ຂ້ອຍຮັກພາສາລາວ"),
    ("km", "ខ្ញុំស្រលាញ់ភាសាខ្មែរ"),
    ("my", "ကျွန်တော်မြန်မာစကားပြောတတ်ပါတယ်"),
])
def test_scripts_without_spaces_are_segmented(lang, text):
    words = language_words(text, lang)
    assert len(words) >= 3 and "".join(words) == text.replace(" ", "")


def test_tibetan_words_are_its_syllables():
    assert language_words("བོད་ཀྱི་སྐད་ཡིག། ངའི་མིང་", "bo") == ["བོད", "ཀྱི", "སྐད", "ཡིག",
                                                             "ངའི", "མིང"]


def test_word_caches_are_bounded():
    lines = FillingCache(len, 5, by_length=True)  # at most 5 characters of keys
    assert [lines[k] for k in ("ab", "cd", "ef")] == [2, 2, 2] and dict(lines) == {"ef": 2}
    chunks = FillingCache(str.upper, 2)  # at most 2 keys
    assert [chunks[k] for k in "abc"] == ["A", "B", "C"] and dict(chunks) == {"c": "C"}


def test_english_and_no_language_keep_datatroves_tokens():
    text = "Hello, world -- it's 10km away (really)... #tag"
    assert language_words(text, "en") == language_words(text, None) == split_words(text)
    assert "," in language_words(text, "en")


def test_english_decisions_do_not_depend_on_the_tables():
    text = "\n\n".join(["The cat sat on the mat and it was happy with that."] * 3 + [
        "Of the many things to do, to be kind is the one that we have to keep."] * 4)
    assert decide(text, "en") == decide(text, None) == decide(text, "en",
                                                               language_tables=False)


def test_sentences_in_any_script():
    assert count_language_sentences("第一句。第二句！第三句", "zh") == 3
    assert count_language_sentences("वह आया। वह गया।", "hi") == 2
    assert count_language_sentences("It is 3.5 m. Yes.", "de") == 2
    assert count_language_sentences("ผมชอบกิน ข้าวมาก", "th") == 2


# ------------------------------------------------------------------ tables and overrides

def test_tables_cover_the_reference_languages_and_stop_words_are_shipped():
    known = languages.known_languages()
    assert {"zh", "ja", "th", "ru", "de", "fa", "ar", "ko", "hi"} <= known
    with_lists = [code for code in LID176_LANGUAGES if languages.stop_words(code)]
    assert len(with_lists) >= 80
    assert {"ਹੈ", "ਦੇ", "ਨੂੰ"} <= languages.stop_words("pa")  # derived: Punjabi has no list
    assert {"的", "了"} <= languages.stop_words("zh")
    assert languages.stop_words("war") is None and languages.thresholds("war") is None


@pytest.mark.skipif(not SENTENCES.is_dir(), reason="shared/data/langid_lingua is absent")
@pytest.mark.parametrize("lang", ["zh", "de"])
def test_packaged_thresholds_are_what_the_script_derives(lang):
    english = build_tables.reference_documents(
        build_tables.sentences(SENTENCES / "en.txt", 0), "en")
    en_values = build_tables.measure(english, build_tables.ENGLISH_AS_OTHERS)
    docs = build_tables.reference_documents(
        build_tables.sentences(SENTENCES / f"{lang}.txt", 0), lang)
    derived = build_tables.derive(build_tables.measure(docs, lang), en_values)
    table = dict(languages.thresholds(lang))
    assert table.pop("reference_documents") == len(docs)
    assert table == derived


def chinese_doc() -> str:
    sentences = ["我们今天去北京参观了很多有名的地方。", "天气很好，大家都很高兴。",
                 "下午我们在公园里散步，看到了很多花。", "晚上我们一起吃了烤鸭。",
                 "这次旅行让我学到了很多历史知识。", "明年我还想再去一次。",
                 "北京的交通比我想象的方便。", "地铁可以到达大部分景点。"]
    return "\n\n".join("".join(sentences[i:i + 2]) for i in range(0, 8, 2)) * 2


def test_chinese_is_kept_with_its_table_and_dropped_with_english_numbers():
    text = chinese_doc()
    assert GopherQuality().process(Document("d", text, meta={"lang": "zh"})) is None
    english = GopherQuality({"language_tables": False})
    assert english.process(Document("d", text, meta={"lang": "zh"})) == "mean_word_length"


def test_per_language_override_wins_over_the_table():
    doc = Document("d", chinese_doc(), meta={"lang": "zh"})
    step = GopherQuality({"per_language": {"zh": {"min_mean_word_length": 2.5}}})
    assert step.process(doc) == "mean_word_length"
    other = Document("d", chinese_doc(), meta={"lang": "ja"})
    assert step.process(other) != "mean_word_length"


def test_an_explicit_value_wins_over_the_table():
    doc = Document("d", chinese_doc(), meta={"lang": "zh"})
    assert GopherQuality({"min_mean_word_length": 2.5}).process(doc) == "mean_word_length"


def test_per_language_rejects_unknown_parameters():
    with pytest.raises(ValueError, match=r"per_language\.zh: unknown parameter 'min_wrods'"):
        GopherQuality({"per_language": {"zh": {"min_wrods": 3}}})
    with pytest.raises(ValueError, match="per_language: no language step returns 'zho'"):
        GopherQuality({"per_language": {"zho": {"min_words": 3}}})
    with pytest.raises(ValueError, match=r"per_language\.zh\.min_words: .*integer.*'many'"):
        GopherQuality({"per_language": {"zh": {"min_words": "many"}}})


def test_stop_words_follow_the_language():
    text = " ".join(["Der Hund und die Katze spielen im Garten mit dem Ball"] * 6) + "."
    doc = Document("d", text, meta={"lang": "de"})
    step = GopherQuality({"min_words": 0})
    step.process(doc)
    assert doc.meta["gopher_stop_words"] >= 4
    english = GopherQuality({"min_words": 0, "language_tables": False})
    english.process(doc)
    assert doc.meta["gopher_stop_words"] is None  # no list without the tables: rule skipped


def test_a_language_without_a_stop_word_list_skips_the_rule():
    doc = Document("d", " ".join(f"wordx{i}" for i in range(80)), meta={"lang": "war"})
    assert GopherQuality().process(doc) is None
    assert doc.meta["gopher_stop_words"] is None


# ------------------------------------------------------------------------ bad input

SCRIPTS = {"en": "word", "bo": "བོད་སྐད", "zh": "中文", "ja": "日本語", "th": "ภาษาไทย",
           "lo": "ພາສາລາວ", "km": "ភាសាខ្មែរ", "my": "မြန်မာ", "ru": "слово", "ar": "كلمة",
           "hi": "शब्द", "ko": "단어", "he": "מילה", "el": "λέξη", "und": "1234", "xx": "word"}


@pytest.mark.parametrize("lang", sorted(SCRIPTS))
@pytest.mark.parametrize("shape", ["", " \n ", "one", "punct"])
def test_empty_and_one_word_documents_in_every_script(lang, shape):
    text = {"": "", " \n ": " \n ", "one": SCRIPTS[lang], "punct": "。!?…"}[shape]
    reasons = decide(text, lang)
    assert reasons[1] in ("too_few_words", "mean_word_length", "alpha_words")
    assert all(r is None or isinstance(r, str) for r in reasons)


def test_mixed_script_documents_count_every_script():
    text = "我们用Python写代码，version 3.12 很快。" * 20
    words = language_words(text, "zh")
    assert {"我们", "Python", "写", "代码", "version"} <= set(words)
    assert all(isinstance(r, (str, type(None))) for r in decide(text, "zh"))


def test_an_unknown_language_falls_back_to_the_defaults():
    text = chinese_doc()
    known = GopherQuality().process(Document("d", text, meta={"lang": "zh"}))
    unknown = GopherQuality().process(Document("d", text, meta={"lang": "xx"}))
    assert known is None and unknown == "too_few_words"  # English rules: no spaces, 1 word


# ------------------------------------------------------------------------- pipeline

@pytest.mark.skipif(not SENTENCES.is_dir(), reason="shared/data/langid_lingua is absent")
def test_the_multilingual_pipeline_runs_and_reports_per_language(tmp_path, curate):
    records, expected = [], {}
    for code in ("de", "zh", "th", "ru", "en"):
        lines = build_tables.sentences(SENTENCES / f"{code}.txt", 1)
        for i, text in enumerate(build_tables.reference_documents(lines, code, seed=7)[:3]):
            records.append({"id": f"{code}-{i}", "text": text})
            expected[f"{code}-{i}"] = code
    records.append({"id": "junk", "text": "\n".join(["• Home | News | Login"] * 12)})
    source = write_jsonl(tmp_path / "in.jsonl", records)
    pipeline = tmp_path / "multilingual.yaml"
    pipeline.write_text((REPO / "pipelines" / "multilingual.yaml").read_text()
                        .replace("  metadata: [url]", "  id_field: id"))
    out = tmp_path / "out"
    assert curate(pipeline, "--input", source, "--output", out) == 0
    kept = {row["id"]: row["lang"] for split in ("train", "validation")
            if (out / split).is_dir() for row in read_rows(out / split)}
    assert kept == expected
    funnel = json.loads((out / "stats.json").read_text())["run"]["languages"]
    by_lang = {row["lang"]: row for row in funnel["rows"]}
    assert by_lang["zh"] == {"lang": "zh", "in": 3, "kept": 3, "rejected": {},
                             "thresholds": "derived", "stop_words": True}
    assert by_lang["en"]["thresholds"] == "English defaults"
    assert sum(row["in"] for row in funnel["rows"]) == len(records)
    assert sum(row["kept"] for row in funnel["rows"]) == len(expected)
    report = (out / "report.html").read_text()
    assert '<h2 id="languages">Languages</h2>' in report and ">zh</td>" in report


def test_the_report_names_languages_judged_by_the_defaults():
    funnel = {"rows": [{"lang": "war", "in": 4, "kept": 1, "rejected": {"c4:x": 3},
                        "thresholds": "defaults (no table)", "stop_words": False}],
              "defaults_used_for": ["war"]}
    html = "".join(_language_section(funnel))
    assert "defaults (no table), no stop-word list" in html
    assert "No per-language table for war" in html
