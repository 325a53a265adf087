"""Build the per-language tables in `curation/text/data/` from clean reference text.

    python -m curation.text.build_tables SENTENCES_DIR [--stats]

SENTENCES_DIR holds one file of clean sentences per language, `XX.txt`, one sentence a line
(the project used lingua-py's test sentences, drawn from the Leipzig web corpora). Only the
even-numbered lines are read: the odd ones stay unseen, for benchmarks/multilingual.py.

Thresholds. Each language's sentences become clean documents (`reference_documents`), the
four heuristic steps measure them in `mode: annotate`, and every threshold is the English
default moved as far as the language's clean text sits from English clean text (English
measured with the same word rule: punctuation tokens are not words):
- scaled by the ratio of medians, for measures of size: mean word length, line
  punctuation share, line breaks per word (German words are longer, so both word-length
  bounds grow by German's median over English's);
- shifted by the difference, for shares with a fixed scale, in the tail the threshold
  guards: the letter share by the 5th percentiles, the top and duplicated n-gram fractions
  by the 95th (the repetition that clean text of the language has anyway is added to the
  English margin).
A result stays within 1/4 and 4 times the English default (and a share within 0-1).
docs/languages.md shows the table and the reasoning.

Stop words. stopwords-iso (MIT, `pip install stopwordsiso`) where it has the language,
otherwise spaCy's list (MIT; spaCy comes with presidio), otherwise, for a language with
reference text, the 30 words found in the most of its reference sentences; English keeps
Gopher's 8 words in the step itself.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path

from curation.core.document import Document
from curation.langid.backends import LID176_LANGUAGES
from curation.text.segment import UNSPACED

# the lingua file names that lid.176 calls otherwise (Norwegian Bokmål)
CODE_ALIASES = {"nb": "no"}
# (step parameter, metric column, English default, statistic, how it moves)
MEDIAN, P05, P95, SCALE, SHIFT = "median", "p05", "p95", "scale", "shift"
RULES = [
    ("min_mean_word_length", "gopher_mean_word_length", 3.0, MEDIAN, SCALE),
    ("max_mean_word_length", "gopher_mean_word_length", 10.0, MEDIAN, SCALE),
    ("min_alpha_words_ratio", "gopher_alpha_words_ratio", 0.8, P05, SHIFT),
    *((f"max_top_{n}gram_frac", f"gopher_top_{n}gram_frac", t, P95, SHIFT)
      for n, t in ((2, 0.2), (3, 0.18), (4, 0.16))),
    *((f"max_dup_{n}gram_frac", f"gopher_dup_{n}gram_frac", t, P95, SHIFT)
      for n, t in ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))),
    ("min_line_punct_ratio", "fineweb_line_punct_ratio", 0.12, MEDIAN, SCALE),
    ("max_newline_word_ratio", "fineweb_newline_word_ratio", 0.3, MEDIAN, SCALE),
]
MAX_RATIO = 4.0
# English measured the way every other language is (punctuation tokens are not words): the
# baseline each language is compared with. (English documents themselves keep datatrove's
# tokens and the defaults.)
ENGLISH_AS_OTHERS = "eng"
HEADER = {"made_by": "python -m curation.text.build_tables (docs/languages.md)"}


def sentences(path: Path, half: int) -> list[str]:
    """The distinct sentences on the even (half=0) or odd (half=1) lines of `path`."""
    seen: dict[str, None] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        line = line.strip()
        if number % 2 == half and line:
            seen.setdefault(line, None)
    return list(seen)


def reference_documents(lines: list[str], lang: str, seed: int = 0,
                        sentences_per_doc: tuple[int, int] = (8, 14)) -> list[str]:
    """Clean documents: paragraphs of 1-3 sentences (blank lines between), each sentence
    used once, in a shuffled order."""
    rng = random.Random(f"{seed}-{lang}")
    pool = lines[:]
    rng.shuffle(pool)
    glue = "" if lang in UNSPACED else " "
    docs = []
    while len(pool) >= sentences_per_doc[0]:
        take = pool[:rng.randint(*sentences_per_doc)]
        del pool[:len(take)]
        paragraphs = []
        while take:
            size = rng.randint(1, 3)
            paragraphs.append(glue.join(take[:size]))
            del take[:size]
        docs.append("\n\n".join(paragraphs))
    return docs


def measure(docs: list[str], lang: str) -> dict[str, list[float]]:
    """Every metric column of the four heuristic steps (annotate mode) over `docs`."""
    from curation.steps.c4 import C4
    from curation.steps.fineweb import FineWeb
    from curation.steps.gopher import GopherQuality, GopherRepetition

    steps = [cls({"mode": "annotate", "language_tables": False})
             for cls in (GopherQuality, GopherRepetition, FineWeb)]
    steps.append(C4({"mode": "annotate", "require_terminal_punctuation": False}))
    values: dict[str, list[float]] = {}
    for i, text in enumerate(docs):
        doc = Document(str(i), text, meta={"lang": lang})
        for step in steps:
            step.process(doc)
        for key, value in doc.meta.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values.setdefault(key, []).append(float(value))
    return values


def statistic(values: list[float], kind: str) -> float:
    if kind == MEDIAN:
        return statistics.median(values)
    ordered = sorted(values)
    share = 0.95 if kind == P95 else 0.05
    return ordered[round(share * (len(ordered) - 1))]


def derive(lang_values: dict[str, list[float]], en_values: dict[str, list[float]]
           ) -> dict[str, float]:
    """The thresholds of one language (see the module docstring)."""
    out = {}
    for param, column, default, kind, move in RULES:
        mine, english = statistic(lang_values[column], kind), statistic(en_values[column], kind)
        if move == SCALE:
            value = default * mine / english if english else default
        else:
            value = default + mine - english
        value = min(max(value, default / MAX_RATIO), default * MAX_RATIO)
        out[param] = round(min(value, 1.0) if "ratio" in param or "frac" in param else value, 4)
    return out


def stop_word_lists(codes: set[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Stop words for every code that stopwords-iso or spaCy has, and which source gave it."""
    import importlib

    import stopwordsiso

    lists, sources = {}, {}
    for code in sorted(codes - {"en"}):
        words = stopwordsiso.stopwords(code) if stopwordsiso.has_lang(code) else set()
        source = "stopwords-iso"
        if not words:
            try:
                words = importlib.import_module(f"spacy.lang.{code}.stop_words").STOP_WORDS
                source = "spacy"
            except ImportError:
                continue
        lists[code] = sorted({w.lower() for w in words if w.strip()})
        sources[code] = source
    return lists, sources


DERIVED_STOP_WORDS = 30


def frequent_words(lines: list[str], lang: str, count: int = DERIVED_STOP_WORDS) -> list[str]:
    """The `count` lowercase words found in the most sentences (ties: alphabetical): the
    stop words of a language no list has, taken from its reference text."""
    from collections import Counter

    from curation.text.segment import language_words

    found = Counter(w for line in lines
                    for w in {w.lower() for w in language_words(line, lang)
                              if any(map(str.isalpha, w))})
    return sorted(w for w, _ in sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:count])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sentences", type=Path, help="directory of XX.txt sentence files")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    parser.add_argument("--stats", action="store_true",
                        help="print each language's medians and 95th percentiles")
    args = parser.parse_args(argv)
    measured, reference = {}, {}
    for path in sorted(args.sentences.glob("*.txt")):
        lang = CODE_ALIASES.get(path.stem, path.stem)
        if lang not in LID176_LANGUAGES:
            continue
        reference[lang] = sentences(path, 0)
        docs = reference_documents(reference[lang], lang)
        measured[lang] = (len(docs), measure(docs, lang))
        if lang == "en":
            en_values = measure(docs, ENGLISH_AS_OTHERS)
    table = {lang: {**derive(values, en_values), "reference_documents": count}
             for lang, (count, values) in sorted(measured.items()) if lang != "en"}
    if args.stats:
        for lang, (_, values) in sorted(measured.items()):
            cells = [f"{c.split('_', 1)[1]}={statistic(values[c], k):.3f}"
                     for _, c, _, k, _ in RULES[1:]]
            print(lang, " ".join(cells))
    _write(args.out / "thresholds.json", {**HEADER, "languages": table})
    lists, sources = stop_word_lists(LID176_LANGUAGES)
    for lang in sorted(set(reference) - set(lists) - {"en"}):
        lists[lang], sources[lang] = frequent_words(reference[lang], lang), "derived"
    _write(args.out / "stopwords.json", {**HEADER, "sources": sources, "languages": lists})


def _write(path: Path, data: dict) -> None:
    """JSON with one line per language, so a rebuild shows as a readable diff."""
    head = {k: v for k, v in sorted(data.items()) if k != "languages"}
    lines = [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False, sort_keys=True)}"
             for k, v in sorted(data["languages"].items())]
    text = (json.dumps(head, ensure_ascii=False, sort_keys=True)[:-1]
            + ',\n"languages": {\n' + ",\n".join(lines) + "\n}}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
