#!/usr/bin/env python3
"""Clean documents kept and junk dropped per language by the four heuristic filters, and
their speed per MB against English.

Clean documents are paragraphs of real sentences (`../shared/data/langid_lingua`, the
odd-numbered lines: the per-language tables were derived from the even ones, so these are
unseen), each sentence used once. Junk documents are made from the words of the same
sentences, in four kinds, equally many of each:

- menu: 15-30 lines of 1-3 words;
- repeated lines: 3-4 real sentences, each repeated 4-6 times, lines shuffled;
- keyword spam: 3-5 words repeated in long runs, with a few real sentences around them;
- bullet list: 10-20 lines "• word word" or "★ word | word".

Every document goes through `language` (lid.176, annotate: it only writes `lang`), then
`gopher_repetition`, `gopher_quality`, `c4` (without the terminal-punctuation rule, as in
FineWeb's pipeline) and `fineweb`, at their defaults, stopping at the first drop. The table
shows, per language, the share of clean documents kept, the share of junk dropped, the
reasons clean documents were dropped, and the seconds per MB of the four filters (without
language ID) over that language's documents against English's, all four run on every
document (the fastest of --repeats passes, each with empty word caches: the tokenizer caches the
words of each distinct chunk, the segmenter those of each distinct line).

    .venv/bin/python benchmarks/multilingual.py [--repeats 3] [--langs zh,ja,...]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from pathlib import Path

from curation.core.document import Document
from curation.langid.backends import LID176_LANGUAGES
from curation.steps.c4 import C4
from curation.steps.fineweb import FineWeb
from curation.steps.gopher import GopherQuality, GopherRepetition
from curation.steps.language import Language
from curation.text.build_tables import CODE_ALIASES, reference_documents, sentences
from curation.text.segment import LINES, UNSPACED, language_words
from curation.text.words import CHUNKS

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "langid_lingua"
# the 22 languages of issue 15, then the rest of the reference set
FIRST = ["en", "nl", "pt", "vi", "de", "es", "fr", "fa", "ar", "ko", "hi", "tr", "id", "he",
         "bn", "it", "ru", "pl", "uk", "zh", "ja", "th"]


def junk_documents(lines: list[str], lang: str, count: int, seed: int = 1) -> list[str]:
    """`count` junk documents in four kinds, from the words and sentences of `lines`."""
    rng = random.Random(f"junk-{seed}-{lang}")
    words = sorted({w for line in lines for w in language_words(line, lang) if w.isalpha()})
    glue = "" if lang in UNSPACED else " "

    def phrase(low: int, high: int) -> str:
        return glue.join(rng.choice(words) for _ in range(rng.randint(low, high)))

    def menu() -> str:
        return "\n".join(phrase(1, 3) for _ in range(rng.randint(15, 30)))

    def repeated() -> str:
        picked = rng.sample(lines, rng.randint(3, 4))
        out = [s for s in picked for _ in range(rng.randint(4, 6))]
        rng.shuffle(out)
        return "\n".join(out)

    def spam() -> str:
        keys = rng.sample(words, rng.randint(3, 5))
        run = glue.join(rng.choice(keys) for _ in range(rng.randint(60, 120)))
        return "\n\n".join([rng.choice(lines), run, rng.choice(lines)])

    def bullets() -> str:
        mark = rng.choice(["• ", "★ ", "- "])
        sep = rng.choice([" | ", " ", " / "])
        return "\n".join(mark + sep.join(phrase(1, 2) for _ in range(rng.randint(1, 3)))
                         for _ in range(rng.randint(10, 20)))

    kinds = [menu, repeated, spam, bullets]
    return [kinds[i % 4]() for i in range(count)]


def filters() -> list:
    return [GopherRepetition(), GopherQuality(),
            C4({"require_terminal_punctuation": False}), FineWeb()]


def decide(docs: list[Document], steps: list) -> list[str | None]:
    """The first drop reason per document (None: kept), FineWeb's order."""
    out = []
    for doc in docs:
        reason = None
        for step in steps:
            rule = step.process(doc)
            if rule is not None:
                reason = f"{step.name}:{rule}"
                break
        out.append(reason)
    return out


def seconds_per_mb(texts: list[str], langs: list[str], repeats: int) -> float:
    """Fewest CPU seconds per MB of --repeats passes (the least disturbed by other load) of
    the four filters over `texts`, every filter on every document, a fresh Document (no
    cached analysis) and empty word caches per pass."""
    size = sum(len(t.encode()) for t in texts) / 1e6
    runs = []
    for _ in range(repeats):
        CHUNKS.clear()
        LINES.clear()
        steps = filters()
        docs = [Document(str(i), t, meta={"lang": lang})
                for i, (t, lang) in enumerate(zip(texts, langs, strict=True))]
        start = time.process_time()
        for doc in docs:
            for step in steps:
                step.process(doc)
        runs.append(time.process_time() - start)
    return min(runs) / size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--langs", default="", help="comma-separated codes (default: all)")
    args = parser.parse_args()
    files = {p.stem: p for p in sorted((DATA / "sentences").glob("*.txt"))}
    order = [c for c in FIRST if c in files] + [c for c in files if c not in FIRST]
    if args.langs:
        order = [c for c in args.langs.split(",") if c in files]
    language = Language({"mode": "annotate"})
    rows, en_speed, en_docs = [], None, []
    print("| lang | lid | clean docs | clean kept | junk docs | junk dropped | clean dropped by "
          "| s/MB vs en |")
    print("|---|---|---|---|---|---|---|---|")
    for code in order:
        lang = CODE_ALIASES.get(code, code)
        lines = sentences(files[code], 1)
        clean = reference_documents(lines, lang, seed=1)
        junk = junk_documents(lines, lang, len(clean))
        docs = [Document(f"{kind}{i}", text) for kind, group in (("c", clean), ("j", junk))
                for i, text in enumerate(group)]
        for doc in docs:
            language.process(doc)
        reasons = decide(docs, filters())
        clean_reasons, junk_reasons = reasons[:len(clean)], reasons[len(clean):]
        kept = sum(r is None for r in clean_reasons) / len(clean)
        dropped = sum(r is not None for r in junk_reasons) / len(junk)
        why = Counter(r for r in clean_reasons if r is not None).most_common(2)
        speed = seconds_per_mb([d.text for d in docs], [d.meta["lang"] for d in docs],
                               args.repeats)
        if en_speed is None:
            en_speed, en_docs = speed, docs
        lid = Counter(d.meta["lang"] for d in docs[:len(clean)]).most_common(1)[0][0]
        claimed = lang in LID176_LANGUAGES
        rows.append((code, kept, dropped, speed / en_speed, claimed))
        note = "" if claimed else " (lid.176 cannot return it)"
        print(f"| {code}{note} | {lid} | {len(clean)} | {kept:.0%} | {len(junk)} | "
              f"{dropped:.0%} | {', '.join(f'{r} {n}' for r, n in why) or '-'} | "
              f"{speed / en_speed:.2f} |", flush=True)
    claimed_rows = [r for r in rows if r[4]]
    low_clean = [c for c, k, _, _, _ in claimed_rows if k < 0.9]
    low_junk = [c for c, _, d, _, _ in claimed_rows if d < 0.9]
    slow = [c for c, _, _, s, _ in claimed_rows if s > 1.5]
    again = seconds_per_mb([d.text for d in en_docs], [d.meta["lang"] for d in en_docs],
                           args.repeats)
    print(f"\n{len(claimed_rows)} languages lid.176 can return ({len(rows)} in all); among "
          f"them clean kept < 90%: {low_clean or 'none'}; junk dropped < 90%: "
          f"{low_junk or 'none'}; slower than 1.5x English per MB: {slow or 'none'}. "
          f"English: {en_speed:.2f} s/MB first, {again:.2f} s/MB again at the end.")


if __name__ == "__main__":
    main()
