"""Gopher quality and repetition, C4 and FineWeb steps, and the shared text analysis.

Each rule is pinned with small hand-made documents on both sides of its threshold (the other
rules switched off, so the one under test decides), then the defaults, `mode: annotate` and
the column types are checked, in-process and through the real command.
"""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.core.document import Document
from curation.core.registry import all_steps
from curation.steps.c4 import C4
from curation.steps.fineweb import FineWeb
from curation.steps.gopher import GopherQuality, GopherRepetition
from curation.text.analysis import NgramStats, TextAnalysis, analysis
from curation.text.words import count_sentences, split_sentences, split_words, tokenize_chunk
from tests.support.curation import manifest, read_rows, write_jsonl, write_pipeline


def unique_words(count: int, start: int = 0) -> list[str]:
    """Distinct 5-letter lowercase words (never stop words, never repeated)."""
    letters = "bcdfghjklmnpqrstvwxz"
    out = []
    for i in range(start, start + count):
        word = ""
        for _ in range(5):
            i, r = divmod(i, len(letters))
            word += letters[r]
        out.append(word)
    return out


def run(step, text: str) -> tuple[str | None, Document]:
    doc = Document(id="d", text=text)
    return step.process(doc), doc


def only(step_class, **params):
    """The step with every threshold off except the ones given."""
    off = {name: None for name, field in step_class.Params.model_fields.items()
           if name.startswith(("min_", "max_")) and field.default is not None}
    return step_class({**off, **params})


# ---------------------------------------------------------------- words and sentences

@pytest.mark.parametrize("chunk,tokens", [
    ("word", ["word"]),
    ("word,", ["word", ","]),
    ("(word)", ["(", "word", ")"]),
    ("end.", ["end", "."]),
    ("NASA.", ["NASA", "."]),          # a period after two capitals splits off
    ("A.", ["A."]),                    # ... after one capital it does not
    ("U.S.", ["U.S."]),
    ("e.g.", ["e.g."]),
    ("Mr.", ["Mr."]),
    ("don't", ["do", "n't"]),
    ("can't", ["ca", "n't"]),
    ("it's", ["it", "'s"]),
    ("John's", ["John", "'s"]),
    ("cannot", ["can", "not"]),
    ("well-known", ["well", "-", "known"]),
    ("2019-2020", ["2019", "-", "2020"]),
    ("3.5", ["3.5"]),
    ("1,000", ["1,000"]),
    ("10km", ["10", "km"]),
    ("$5", ["$", "5"]),
    ("wait...", ["wait", "..."]),
    ("and/or", ["and/or"]),
    ("left/right", ["left", "/", "right"]),
    ("http://example.com/a-b/c", ["http://example.com/a-b/c"]),
    ("mail@example.org,", ["mail@example.org", ","]),
    ('"Hello!"', ['"', "Hello", "!", '"']),
    ("#tag", ["#", "tag"]),
    ("im.", ["i", "m."]),              # an exception re-joined across a split
    # more cases, as spaCy 3.8's English tokenizer splits them
    ("(see", ["(", "see"]),
    ("e.g.,", ["e.g.", ","]),
    ("U.S.-based", ["U.S.-based"]),
    ("Dr.Who", ["Dr.", "Who"]),
    ("x--y", ["x", "--", "y"]),
    ("£10", ["£", "10"]),
    ("10°C.", ["10", "°", "C", "."]),
    ("'90s", ["'", "90s"]),
    ("rock'n'roll", ["rock'n'roll"]),
    ("“Quoted”", ["“", "Quoted", "”"]),
    ("www.site.org/page?x=1.", ["www.site.org/page?x=1", "."]),
    ("O'Neil's", ["O'Neil", "'s"]),
    ("it’s", ["it", "’s"]),  # noqa: RUF001
    ("..start", ["..", "start"]),
    ("50%", ["50", "%"]),
    ("+44", ["+44"]),
    ("8-)", ["8-)"]),
    ("[1]", ["[", "1", "]"]),
    ("x:y", ["x", ":", "y"]),
    ("Ph.D.", ["Ph.D."]),
    ("2p.m.", ["2", "p.m."]),
    ("abc123", ["abc123"]),
    ("ünïcödé,", ["ünïcödé", ","]),
    ("日本語。", ["日本語", "。"]),
    ("😀ok", ["😀", "ok"]),
])
def test_tokenizer_follows_the_published_word_splitting(chunk, tokens):
    assert list(tokenize_chunk(chunk)) == tokens


def test_tokenizer_fast_paths_match_the_general_rules():
    """Common chunk shapes take shortcuts; each must split exactly as the full rules do."""
    from itertools import product

    from curation.text.words import _EXCEPTIONS, _tokenize_rules

    cores = ["word", "Word", "WORD", "A", "a", "12", "5,000", "7.76", "09/02/2018", "٣", "²",
             "dont", "im", "Mr", "St", "well-known", "X-Men", "mp3", "goin", "a-goin", "can"]
    marks = ["", ".", ",", ")", "(", "'s", "'", "’", "-", "%", "km", "$", "!", "…", "..", ":",  # noqa: RUF001
             '"', "—", "+", "°", ":)"]
    checked = 0
    for before, core, after in product(marks, cores, marks):
        chunk = before + core + after
        if chunk not in _EXCEPTIONS:
            assert tokenize_chunk(chunk) == _tokenize_rules(chunk), chunk
            checked += 1
    assert checked > 7000


def test_split_words_splits_at_any_whitespace():
    assert split_words("a\tb\nc  d\u00a0e") == ["a", "b", "c", "d", "e"]
    assert split_words("") == []


@pytest.mark.parametrize("text,count", [
    ("Hello.", 1),
    ("no end at all", 1),
    ("One. Two. Three.", 3),
    ("Mr. Smith went home. He slept!", 2),   # abbreviations do not end sentences
    ("Wait... then", 1),                     # an ellipsis is not a sentence end
    ("Wow!! Really?", 2),
    ('"Quoted." Then more', 2),
    ("One. (Two.) Three", 3),
])
def test_count_sentences(text, count):
    assert count_sentences(text) == count


def test_split_sentences():
    assert split_sentences("One here. Two there!  Three") == ["One here.", "Two there!", "Three"]


def naive_top(words: list[str], n: int) -> int:
    """Gopher's top n-gram character count, written plainly from its definition."""
    grams = [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0
    counts: dict[str, int] = {}
    for g in grams:
        counts[g] = counts.get(g, 0) + 1
    best = max(counts.values())
    gram = next(g for g in counts if counts[g] == best)
    return len(gram) * best


def naive_duplicates(words: list[str], n: int) -> int:
    """Gopher's greedy duplicated n-gram characters, written plainly from its definition."""
    seen, chars, i = set(), 0, 0
    while i < len(words) - n + 1:
        gram = tuple(words[i:i + n])
        if gram in seen:
            chars += sum(map(len, gram))
            i += n
        else:
            seen.add(gram)
            i += 1
    return chars


def test_ngram_statistics_match_the_plain_definitions():
    rng = random.Random(7)
    for trial in range(300):
        vocab = ["a", "bb", "ccc", "dd", "e", "ffff"][: rng.randint(1, 6)]
        length = rng.randint(0, 60)
        if trial % 3 == 0:  # long repeated passages as well as random noise
            phrase = [rng.choice(vocab) for _ in range(rng.randint(1, 12))]
            words = (phrase * 8)[:length] + [rng.choice(vocab) for _ in range(5)]
        else:
            words = [rng.choice(vocab) for _ in range(length)]
        stats = NgramStats(words)
        for n in range(2, 11):
            assert stats.top_chars(n) == naive_top(words, n), (words, n)
            assert stats.duplicate_chars(n) == naive_duplicates(words, n), (words, n)


def test_analysis_is_cached_and_reset_by_set_text():
    doc = Document(id="d", text="one two\n\nthree")
    first = analysis(doc)
    assert analysis(doc) is first
    assert first.words == ["one", "two", "three"]
    assert first.paragraphs == ["one two", "three"]
    assert first.line_runs == ["one two", "three"]
    doc.set_text("four")
    assert analysis(doc) is not first and analysis(doc).words == ["four"]


def test_word_stats_count_symbols_and_letters():
    a = TextAnalysis("The cat , 42 -- sat!")
    # tokens: The cat , 42 -- sat !  (',' '--' '!' are symbols; 42 has no letter)
    assert a.word_stats == (7, 4, 3 + 3 + 2 + 3, 3)


# ---------------------------------------------------------------- gopher_quality

def words_text(count: int, stop=("the", "and")) -> str:
    return " ".join([*stop, *unique_words(count - len(stop))])


def test_gopher_quality_defaults_keep_ordinary_prose():
    step = GopherQuality()
    assert step.params.min_words == 50 and step.params.max_words == 100_000
    assert step.params.min_alpha_words_ratio == 0.8 and step.params.min_stop_words == 2
    text = ("The river rose with the spring rain, and the village had to move its market "
            "to the hill. ") * 6
    rule, doc = run(step, text)
    assert rule is None
    assert doc.meta["gopher_word_count"] == len(split_words(text)) - text.count(",") - 6


@pytest.mark.parametrize("params,keep,drop,rule", [
    ({"min_words": 50}, words_text(50), words_text(49), "too_few_words"),
    ({"max_words": 60}, words_text(60), words_text(61), "too_many_words"),
    # "the and" + 48 words of 3 letters: mean 3.0; one 2-letter word makes it 2.98
    ({"min_mean_word_length": 3}, " ".join(["the", "and"] + ["abc"] * 48),
     " ".join(["the", "and"] + ["abc"] * 47 + ["ab"]), "mean_word_length"),
    # 6 + 47 * 10 + 24 = 500 characters over 50 words: 10.0; 25 makes it 10.02
    ({"max_mean_word_length": 10}, " ".join(["the", "and"] + ["a" * 10] * 47 + ["b" * 24]),
     " ".join(["the", "and"] + ["a" * 10] * 47 + ["b" * 25]), "mean_word_length"),
    # 90 words + k lone '#': k / (90 + k) is 0.1 at k = 10
    ({"max_hash_ratio": 0.1}, words_text(90) + " #" * 10, words_text(90) + " #" * 11,
     "hash_ratio"),
    ({"max_ellipsis_ratio": 0.1}, words_text(90) + " ..." * 10, words_text(90) + " …" * 11,
     "ellipsis_ratio"),
    ({"max_bullet_lines_ratio": 0.9},
     "\n".join(["intro " + words_text(6)] + ["- " + words_text(6)] * 9),
     "\n".join(["• " + words_text(6)] * 10), "bullet_lines"),
    ({"max_ellipsis_lines_ratio": 0.3},
     "\n".join([words_text(6) + " ..."] * 3 + [words_text(6)] * 7),
     "\n".join([words_text(6) + "…"] * 4 + [words_text(6)] * 6), "ellipsis_lines"),
    # 80 words with letters and 20 or 21 numbers: 0.8 keeps, 80/101 drops
    ({"min_alpha_words_ratio": 0.8}, words_text(80) + " 42" * 20, words_text(80) + " 42" * 21,
     "alpha_words"),
    ({"min_stop_words": 2}, words_text(60, stop=("the", "and", "the")),
     words_text(60, stop=("the", "The", "AND")), "stop_words"),
])
def test_gopher_quality_rules_on_both_sides(params, keep, drop, rule):
    step = only(GopherQuality, **params)
    assert run(step, keep)[0] is None
    assert run(step, drop)[0] == rule


def test_gopher_quality_symbol_tokens_are_not_words_but_count_as_tokens():
    text = words_text(50) + " - | ..."
    rule, doc = run(only(GopherQuality, min_words=50, min_alpha_words_ratio=0.95), text)
    assert doc.meta["gopher_word_count"] == 50
    assert doc.meta["gopher_alpha_words_ratio"] == pytest.approx(50 / 53)
    assert rule == "alpha_words"


def test_gopher_quality_records_every_column_even_when_a_rule_fires():
    rule, doc = run(GopherQuality(), "too short")
    assert rule == "too_few_words"
    assert set(doc.meta) == set(GopherQuality.columns)
    assert doc.meta["gopher_word_count"] == 2 and doc.meta["gopher_stop_words"] == 0
    rule, doc = run(GopherQuality(), "")
    assert rule == "too_few_words" and doc.meta["gopher_mean_word_length"] is None


# ---------------------------------------------------------------- gopher_repetition

def para(count: int, start: int) -> str:
    return " ".join(unique_words(count, start))


def test_gopher_repetition_defaults_keep_text_without_repeats():
    text = "\n\n".join(para(30, 100 * i) for i in range(5))
    rule, doc = run(GopherRepetition(), text)
    assert rule is None
    assert doc.meta["gopher_dup_para_frac"] == 0 and doc.meta["gopher_dup_5gram_frac"] == 0


def _duplicates_doc(unique: int, copies: int, sep: str) -> str:
    """`unique` distinct blocks of 40 words, then `copies` repeats of a short block."""
    blocks = [para(40, 1000 * i) for i in range(unique)] + ["ok"] + ["ok"] * copies
    return sep.join(blocks)


@pytest.mark.parametrize("metric,sep", [("dup_para_frac", "\n\n"), ("dup_line_frac", "\n")])
def test_gopher_repetition_duplicate_block_share(metric, sep):
    step = only(GopherRepetition, **{f"max_{metric}": 0.3})
    keep = _duplicates_doc(6, 3, sep)  # 10 blocks, 3 repeat an earlier one: 0.3
    drop = _duplicates_doc(5, 3, sep)  # 9 blocks, 3 repeats: 0.33
    rule, doc = run(step, keep)
    assert rule is None and doc.meta[f"gopher_{metric}"] == pytest.approx(0.3)
    assert run(step, drop)[0] == metric


@pytest.mark.parametrize("metric,sep", [("dup_para_char_frac", "\n\n"),
                                        ("dup_line_char_frac", "\n")])
def test_gopher_repetition_duplicate_block_characters(metric, sep):
    step = only(GopherRepetition, **{f"max_{metric}": 0.2})
    repeated = "x" * 100
    for size, expected_rule in ((500, None), (499, metric)):
        # the copy of `repeated` is 100 of `size` characters: 0.2, then just above
        text = sep.join(["a" * (size - 200 - 2 * len(sep)), repeated, repeated])
        rule, doc = run(step, text)
        assert doc.meta[f"gopher_{metric}"] == pytest.approx(100 / len(text))
        assert rule == expected_rule, (size, doc.meta[f"gopher_{metric}"])


@pytest.mark.parametrize("n,limit", [(2, 0.2), (3, 0.18), (4, 0.16)])
def test_gopher_repetition_top_ngram(n, limit):
    step = only(GopherRepetition, **{f"max_top_{n}gram_frac": limit})
    phrase = unique_words(n, 9000)
    gram_chars = len(" ".join(phrase))
    for copies in range(1, 40):
        text = " ".join(phrase * copies + unique_words(200))
        frac = gram_chars * copies / len(text)
        rule, doc = run(step, text)
        assert doc.meta[f"gopher_top_{n}gram_frac"] == pytest.approx(frac)
        assert rule == (f"top_{n}gram_frac" if frac > limit else None)
        if frac > limit:
            break
    else:
        pytest.fail("never crossed the threshold")


@pytest.mark.parametrize("n,limit", [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11),
                                     (10, 0.10)])
def test_gopher_repetition_duplicated_ngrams(n, limit):
    step = only(GopherRepetition, **{f"max_dup_{n}gram_frac": limit})
    phrase = unique_words(n, 9000)
    below = above = None
    for filler in range(10, 400, 2):
        words = phrase + unique_words(filler) + phrase
        text = " ".join(words)
        frac = naive_duplicates(words, n) / len(text)
        if frac > limit:
            above = text
        elif above is not None:
            below = text
            break
    assert above is not None and below is not None
    assert run(step, above)[0] == f"dup_{n}gram_frac"
    rule, doc = run(step, below)
    assert rule is None and 0 < doc.meta[f"gopher_dup_{n}gram_frac"] <= limit


def test_gopher_repetition_empty_text():
    rule, doc = run(GopherRepetition(), "")
    assert rule == "empty" and set(doc.meta) == set(GopherRepetition.columns)


# ---------------------------------------------------------------- c4

SENTENCE = "This line is a proper sentence."


def test_c4_removes_lines_and_keeps_the_rest():
    text = "\n".join([
        SENTENCE,
        "Menu Home About",                       # no terminal punctuation
        "It trails off...",                      # ends with an ellipsis
        "Too short.",                            # fewer than 3 words
        "Please enable JavaScript to continue.",
        "Read our Privacy Policy for details.",
        "   This line has a citation[1].   ",    # stripped, citation removed
        "Another good line ends here [citation needed].",
        "Its last word is " + "x" * 1001 + ".",  # a word over 1000 characters
        "One more sentence. And a second one!",
    ])
    rule, doc = run(C4(), text)
    assert rule is None
    assert doc.text == "\n".join([SENTENCE, "This line has a citation.",
                                  "Another good line ends here .",
                                  "One more sentence. And a second one!"])
    assert doc.meta == {"c4_lines_removed": 6, "c4_sentences": 5, "c4_lorem_ipsum": False,
                        "c4_curly_bracket": False}


def test_c4_min_sentences_both_sides():
    step = C4()
    assert run(step, "\n".join([SENTENCE] * 5))[0] is None
    rule, doc = run(step, "\n".join([SENTENCE] * 4 + ["no punctuation here"]))
    assert rule == "too_few_sentences" and doc.meta["c4_sentences"] == 4
    assert doc.text.endswith("no punctuation here")  # a dropped document keeps its text
    assert run(C4({"min_sentences": None}), "no punctuation")[0] is None


@pytest.mark.parametrize("bad,rule", [("Lorem ipsum dolor sit amet.", "lorem_ipsum"),
                                      ("Use the {braces} wisely.", "curly_bracket")])
def test_c4_document_rules(bad, rule):
    text = "\n".join([SENTENCE] * 5 + [bad])
    assert run(C4(), text)[0] == rule
    # only lines that survive the line rules count: without terminal punctuation it is gone
    assert run(C4(), "\n".join([SENTENCE] * 5 + [bad.rstrip(".")]))[0] is None
    off = {"drop_lorem_ipsum": False} if rule == "lorem_ipsum" else {"drop_curly_bracket": False}
    kept, doc = run(C4(off), text)
    assert kept is None and doc.meta[f"c4_{rule}"] is True


def test_c4_first_document_rule_in_text_order_wins():
    text = "\n".join([SENTENCE] * 5 + ["A {brace} comes first.", "Then lorem ipsum text."])
    assert run(C4(), text)[0] == "curly_bracket"


def test_c4_options_switch_line_rules_off():
    text = "\n".join([SENTENCE] * 5 + ["no punctuation", "javascript is fine.", "x y",
                                      "see the privacy policy."])
    rule, doc = run(C4({"require_terminal_punctuation": False, "remove_javascript_lines": False,
                        "min_words_per_line": None, "remove_policy_lines": False,
                        "remove_citations": False}), text)
    assert rule is None and doc.text == text
    rule, doc = run(C4({"max_word_length": 5}), "\n".join([SENTENCE] * 6))
    assert rule == "too_few_sentences" and doc.meta["c4_lines_removed"] == 6  # "sentence."


def test_c4_sentence_mode():
    text = "First sentence is here. Short one. Third sentence is here!\nfourth has no end"
    rule, doc = run(C4({"split_on": "sentences", "min_sentences": 2}), text)
    assert rule is None
    assert doc.text == "First sentence is here. Third sentence is here!"
    assert doc.meta["c4_lines_removed"] == 2 and doc.meta["c4_sentences"] == 2


def test_c4_annotate_mode_records_but_does_not_edit():
    text = "\n".join([SENTENCE] * 5 + ["menu without punctuation"])
    step = C4({"mode": "annotate"})
    rule, doc = run(step, text)
    assert rule is None and doc.text == text and doc.meta["c4_lines_removed"] == 1
    rule, doc = run(step, "just one line")
    assert rule == "too_few_sentences" and step.annotate_only  # the executor only flags it


def test_c4_edit_resets_the_shared_analysis():
    doc = Document(id="d", text="\n".join([SENTENCE] * 5 + ["menu menu menu"]))
    before = analysis(doc).words
    assert C4().process(doc) is None
    assert "menu" in before and "menu" not in analysis(doc).words


# ---------------------------------------------------------------- fineweb

LONG = "This is a long enough line of text number {}"  # 40+ characters, no final stop


def lines_doc(punct: int, total: int) -> str:
    return "\n".join(LONG.format(i) + ("." if i < punct else "") for i in range(total))


def test_fineweb_line_punctuation_both_sides():
    step = only(FineWeb, min_line_punct_ratio=0.12)
    assert run(step, lines_doc(3, 25))[0] is None   # 3/25 = 0.12
    rule, doc = run(step, lines_doc(2, 25))         # 0.08
    assert rule == "line_punct_ratio" and doc.meta["fineweb_line_punct_ratio"] == 0.08
    exempt = only(FineWeb, min_line_punct_ratio=0.12, line_punct_exempt_zero=True)
    assert run(exempt, lines_doc(0, 25))[0] is None
    assert run(exempt, lines_doc(1, 25))[0] == "line_punct_ratio"
    assert run(only(FineWeb, min_line_punct_ratio=0.12), "ends with a Devanagari danda।")[0] \
        is None
    custom = only(FineWeb, min_line_punct_ratio=0.5, terminal_punctuation=[";"])
    assert run(custom, "one;\ntwo.")[0] is None and run(custom, "one.\ntwo.")[0] is not None


def test_fineweb_short_lines_both_sides():
    step = only(FineWeb, max_short_line_ratio=0.67)
    short = [f"short {i}" for i in range(100)]
    longer = [LONG.format(i) for i in range(100)]
    assert run(step, "\n".join(short[:67] + longer[:33]))[0] is None   # 0.67
    assert run(step, "\n".join(short[:68] + longer[:32]))[0] == "short_line_ratio"
    assert run(only(FineWeb, max_short_line_ratio=0.5, short_line_max_chars=8),
               "\n".join(["12345678", "123456789"]))[0] is None     # 1/2 at most 8 chars


def test_fineweb_duplicate_line_characters_both_sides():
    step = only(FineWeb, max_dup_line_char_ratio=0.01)
    body = "\n".join([LONG.format(i) for i in range(40)])  # unique lines
    chars = len(body.replace("\n", ""))
    repeated = "x" * (chars // 100 - 2)
    keep = body + "\n" + repeated + "\n\n" + repeated      # blank lines do not count
    rule, doc = run(step, keep)
    assert rule is None
    assert doc.meta["fineweb_dup_line_char_ratio"] == pytest.approx(
        len(repeated) / len(keep.replace("\n", "")))
    drop = body + "\n" + repeated + "xxxx\n" + repeated + "xxxx"
    assert run(step, drop)[0] == "dup_line_char_ratio"


def test_fineweb_newlines_per_word_both_sides():
    step = only(FineWeb, max_newline_word_ratio=0.3)
    # 10 lines of k words: 9 newlines over 10 k tokens
    assert run(step, "\n".join(["alpha beta gamma"] * 10))[0] is None           # 9/30
    rule, doc = run(step, "\n".join(["alpha beta"] * 10))                        # 9/20
    assert rule == "list_ratio" and doc.meta["fineweb_newline_word_ratio"] == 0.45


def test_fineweb_empty_and_defaults():
    rule, doc = run(FineWeb(), " \n\t\n")
    assert rule == "empty" and all(doc.meta[c] is None for c in FineWeb.columns)
    text = "\n".join(f"Sentence number {i} of a normal paragraph goes here." for i in range(8))
    assert run(FineWeb(), text)[0] is None


# ---------------------------------------------------------------- registry, types, command

def test_steps_are_registered_with_typed_columns():
    steps = all_steps()
    for name, cls in [("gopher_quality", GopherQuality), ("gopher_repetition", GopherRepetition),
                      ("c4", C4), ("fineweb", FineWeb)]:
        assert steps[name] is cls
        assert all(column.startswith(("gopher_", "c4_", "fineweb_")) for column in cls.columns)
    text = "\n\n".join(para(30, 100 * i) + "." for i in range(5))
    doc = Document(id="d", text=text)
    for step in (GopherRepetition(), GopherQuality(), FineWeb(), C4({"mode": "annotate"})):
        step.process(doc)
        for column, kind in step.columns.items():
            value = doc.meta[column]
            expected = {pa.int64(): int, pa.float64(): float, pa.bool_(): bool}[kind]
            assert type(value) is expected or (value == 0 and expected is float), column


GOOD = """The mill stood by the river for more than two hundred years.
Farmers brought their grain to it after every harvest, and the miller kept a careful ledger.
In dry summers the wheel turned slowly, so the work had to wait for the autumn rains.
His daughter learned to dress the millstones with a steel pick when she was twelve.
Travellers who stopped there remembered the smell of flour and the sound of the water.
When the railway arrived, cheaper flour came from the cities and the trade declined.
Today the building is a small museum that opens on weekends during the summer.
Visitors can still watch the wheel turn on the first Sunday of each month."""


def test_annotate_and_filter_through_the_command(tmp_path, curate):
    texts = [GOOD, "short menu", GOOD.replace(".", "")]
    source = write_jsonl(tmp_path / "in" / "a.jsonl", [{"text": t} for t in texts])
    steps = [{"gopher_repetition": {}}, {"gopher_quality": {}},
             {"c4": {"require_terminal_punctuation": False}}, {"fineweb": {}}]

    out = tmp_path / "annotated"
    annotate = [{name: {**params, "mode": "annotate"}} for s in steps for name, params in s.items()]
    assert curate(write_pipeline(tmp_path / "a.yaml", str(source), out, annotate)) == 0
    rows = read_rows(out)
    assert len(rows) == 3 and [r["text"] for r in rows] == texts
    schema = pq.read_schema(next(out.glob("*.parquet")))
    for cls in (GopherQuality, GopherRepetition, C4, FineWeb):
        for column, kind in cls.columns.items():
            assert schema.field(column).type == kind
    flagged = {s["name"]: s.get("flagged", {}) for s in manifest(out)["steps"]}
    assert flagged["gopher_repetition"] == {"top_2gram_frac": 1}
    assert flagged["gopher_quality"] == {"too_few_words": 1}
    assert flagged["fineweb"] == {"line_punct_ratio": 2}

    out = tmp_path / "filtered"
    assert curate(write_pipeline(tmp_path / "f.yaml", str(source), out, steps)) == 0
    assert [r["text"] for r in read_rows(out / "part-00000.parquet")] == [GOOD]
    reasons = sorted(r["reason"] for r in read_rows(out / "rejected"))
    assert reasons == ["fineweb:line_punct_ratio", "gopher_repetition:top_2gram_frac"]
