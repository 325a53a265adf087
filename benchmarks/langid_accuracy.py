#!/usr/bin/env python3
"""Language-ID accuracy and speed of the `language` step's two backends (fasttext, langdetect).

Part 1, sentences: `langid_lingua/sentences/XX.txt` (75 languages, one sentence a line, file
name = ISO 639-1 code; ~37,000 sentences). Each sentence is classified as the step does it
(`bounded_sample` with the step's default `max_chars`, which leaves sentences whole). Prints
accuracy per language, then micro (all sentences) and macro (mean of per-language) accuracy
on all 75 languages, on the languages each backend supports, and on the languages both
support, with sentences/s. Both backends call Norwegian Bokmål `no`, so `no` counts as
correct for `nb`.

Part 2, long documents: Project Gutenberg books (`multilingual_gutenberg`: es, fr, tl, zh;
`clean_gutenberg_en`: 18 English books; the language is read from each header). Two sets:
the whole raw books (license header and footer, BOM and CRLF included: 22 documents of
0.16-2.2 MB) and multi-line chunks of the book bodies (`--chunk-chars`, default 8,000
characters, at most `--chunks-per-book` evenly spaced chunks per book). Each set is
classified with several `max_chars` bounds (`--max-chars`; `none` = the whole text) and two
sampling strategies: `windows` (the step's: 3 slices from inside the text) and `head` (the
first `max_chars` characters). Prints accuracy per language and documents/s.

Data: the project's shared data folder (`../shared/data` next to the checkout, or the folder
named by GRISTMILL_SHARED_DATA). Usage (from the repository root):
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/langid_accuracy.py                # everything
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/langid_accuracy.py --limit-per-language 50
    ... --skip-books | --skip-sentences | --backends fasttext | --json out.json
Speeds are documents per CPU-second of this process (`time.process_time`, one core), which
moves far less than wall time on a shared machine; they cover sampling + classification only
(models are loaded before the clock starts).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from curation.langid import bounded_sample, identifier, supported_languages
from curation.steps.language import LanguageParams

SHARED = Path(os.environ.get("GRISTMILL_SHARED_DATA", Path(__file__).resolve().parents[2]
                             / "shared" / "data"))
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
GOLD_ALIASES = {"nb": "no"}  # both backends call Norwegian Bokmål "no"
BOOK_LANGUAGES = {"English": "en", "Spanish": "es", "French": "fr", "Tagalog": "tl",
                  "Chinese": "zh"}
DEFAULT_MAX_CHARS = LanguageParams().max_chars
DEFAULT_WINDOWS = LanguageParams().sample_windows


def expected(code: str) -> str:
    return GOLD_ALIASES.get(code, code)


# ---------------------------------------------------------------------------------------
# Part 1: sentences


def load_sentences(folder: Path, limit: int | None) -> dict[str, list[str]]:
    data = {}
    for path in sorted(folder.glob("*.txt")):
        lines = [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]
        data[path.stem] = lines[:limit] if limit else lines
    return data


def paragraphs(data: dict[str, list[str]], size: int) -> dict[str, list[str]]:
    """Consecutive sentences of a language joined by newlines into `size`-line documents."""
    return {lang: ["\n".join(lines[i:i + size]) for i in range(0, len(lines) - size + 1, size)]
            for lang, lines in data.items()}


def run_texts(backend: str, data: dict[str, list[str]]) -> dict[str, Any]:
    model = identifier(backend)
    correct, total, seconds = {}, {}, 0.0
    predictions: dict[str, list[str]] = {}
    scores: dict[str, list[float]] = {}
    for lang, texts in data.items():
        start = time.process_time()
        results = [model.predict(bounded_sample(t, DEFAULT_MAX_CHARS, DEFAULT_WINDOWS))
                   for t in texts]
        seconds += time.process_time() - start
        gold = expected(lang)
        predictions[lang] = [code for code, _ in results]
        scores[lang] = [score for _, score in results]
        correct[lang] = sum(p == gold for p in predictions[lang])
        total[lang] = len(texts)
    return {"correct": correct, "total": total, "seconds": seconds,
            "predictions": predictions, "scores": scores}


def accuracy(result: dict[str, Any], langs: list[str]) -> tuple[float, float]:
    """(micro, macro) accuracy over `langs`."""
    if not langs:
        return float("nan"), float("nan")
    c, t = result["correct"], result["total"]
    micro = sum(c[x] for x in langs) / max(1, sum(t[x] for x in langs))
    macro = sum(c[x] / t[x] for x in langs) / len(langs)
    return micro, macro


def supported(backend: str, langs: list[str]) -> list[str]:
    codes = supported_languages(backend)
    return [x for x in langs if expected(x) in codes]


def wrong_labels(result: dict[str, Any], lang: str) -> Counter[str]:
    return Counter(p for p in result["predictions"][lang] if p != expected(lang))


def report_lingua(runs: dict[str, dict[str, dict[str, Any]]],
                  sets: dict[str, dict[str, list[str]]]) -> None:
    """runs[unit][backend] = result; sets[unit] = texts by language."""
    units = list(runs)
    backends = list(runs[units[0]])
    langs = list(sets[units[0]])
    sizes = ", ".join(f"{sum(map(len, sets[u].values())):,} {u}" for u in units)
    print(f"\n## langid_lingua: {len(langs)} languages; {sizes}; max_chars={DEFAULT_MAX_CHARS}\n")
    print("| lang | " + " | ".join(f"{b} {u}" for u in units for b in backends) + " |")
    print("|---|" + "---|" * (len(units) * len(backends)))
    for lang in langs:
        cells = []
        for u in units:
            for b in backends:
                r = runs[u][b]
                acc = r["correct"][lang] / r["total"][lang]
                cells.append(f"{acc:.3f}" if supported(b, [lang]) else f"({acc:.3f})")
        print(f"| {lang} | " + " | ".join(cells) + " |")
    print("\n(in parentheses: a language the backend does not have, so it can never be right)")
    common = [x for x in langs if all(supported(b, [x]) for b in backends)]
    print("\n| backend | unit | languages supported | micro all 75 | macro all 75 | "
          "micro supported | macro supported | micro common | macro common | texts/s (1 core) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for u in units:
        for b in backends:
            r = runs[u][b]
            sup = supported(b, langs)
            ma, mb = accuracy(r, langs)
            sa, sb = accuracy(r, sup)
            ca, cb = accuracy(r, common)
            rate = sum(r["total"].values()) / r["seconds"]
            print(f"| {b} | {u} | {len(sup)} of {len(langs)} | {ma:.3f} | {mb:.3f} | {sa:.3f} "
                  f"| {sb:.3f} | {ca:.3f} | {cb:.3f} | {rate:,.0f} |")
    print(f"\n(common = the {len(common)} languages both backends support)\n")
    for u in units:
        for b in backends:
            r = runs[u][b]
            worst = sorted(supported(b, langs), key=lambda x: r["correct"][x] / r["total"][x])[:6]
            text = ", ".join(
                f"{x} {r['correct'][x] / r['total'][x]:.2f} (as "
                f"{'/'.join(k for k, _ in wrong_labels(r, x).most_common(2))})" for x in worst)
            print(f"- {b}, {u}: weakest supported languages: {text}")

    data = sets[units[0]]
    print(f"\nBy length, {units[0]} of the {len(common)} common languages (accuracy, n):\n")
    buckets = [(0, 40), (41, 80), (81, 150), (151, 10**9)]
    names = [f"{lo}-{hi} chars" if hi < 10**9 else f"> {lo - 1} chars" for lo, hi in buckets]
    print("| backend | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(buckets))
    for b in backends:
        cells = []
        for lo, hi in buckets:
            hits = n = 0
            for lang in common:
                for text, predicted in zip(data[lang], runs[units[0]][b]["predictions"][lang],
                                           strict=True):
                    if lo <= len(text) <= hi:
                        n += 1
                        hits += predicted == expected(lang)
            cells.append(f"{hits / max(n, 1):.3f} ({n:,})")
        print(f"| {b} | " + " | ".join(cells) + " |")

    print("\nIs the score useful for `min_score`? Over the languages each backend supports: "
          "the share of wrong answers that score below 0.5 (would be dropped as low_score) "
          "and of right answers that score 0.5 or more (kept):\n")
    print("| backend | unit | wrong answers < 0.5 | right answers >= 0.5 |")
    print("|---|---|---|---|")
    for u in units:
        for b in backends:
            r = runs[u][b]
            wrong_low = wrong = right_high = right = 0
            for lang in supported(b, langs):
                for p, score in zip(r["predictions"][lang], r["scores"][lang], strict=True):
                    if p == expected(lang):
                        right += 1
                        right_high += score >= 0.5
                    else:
                        wrong += 1
                        wrong_low += score < 0.5
            print(f"| {b} | {u} | {wrong_low / max(wrong, 1):.3f} (of {wrong:,}) | "
                  f"{right_high / max(right, 1):.3f} (of {right:,}) |")

    print("\n`keep: [en]`: English texts kept (recall), and the share of the kept texts that "
          "are English (precision), over all 75 languages:\n")
    print("| backend | unit | min_score | en recall | en precision | texts of the other "
          "74 languages kept as en |")
    print("|---|---|---|---|---|---|")
    for u in units:
        for b in backends:
            for min_score in (0.0, 0.5):
                preds, scores = runs[u][b]["predictions"], runs[u][b]["scores"]

                def kept(lang: str, preds=preds, scores=scores, min_score=min_score) -> int:
                    return sum(p == "en" and s >= min_score
                               for p, s in zip(preds[lang], scores[lang], strict=True))

                true_en = kept("en")
                false = Counter({lang: kept(lang) for lang in langs if lang != "en"})
                others = sum(len(preds[lang]) for lang in langs if lang != "en")
                top = ", ".join(f"{k} {v}" for k, v in false.most_common(4) if v)
                print(f"| {b} | {u} | {min_score} | {true_en / len(preds['en']):.3f} | "
                      f"{true_en / max(1, true_en + sum(false.values())):.3f} | "
                      f"{sum(false.values()):,} of {others:,}" + (f" ({top})" if top else "")
                      + " |")


# ---------------------------------------------------------------------------------------
# Part 2: long documents (Gutenberg books)

START_RE = re.compile(r"^\*\*\* ?START OF.*$", re.M)
END_RE = re.compile(r"^\*\*\* ?END OF", re.M)


def load_books() -> list[tuple[str, str, str]]:
    """(name, language, raw text) for every book, BOM and CRLF kept."""
    books = []
    for folder in ("multilingual_gutenberg", "clean_gutenberg_en"):
        for path in sorted((SHARED / folder).glob("*.txt")):
            raw = path.read_bytes().decode("utf-8")
            name = re.search(r"^Language: (\w+)", raw, re.M).group(1)
            books.append((path.stem, BOOK_LANGUAGES[name], raw))
    return books


def book_chunks(books: list[tuple[str, str, str]], chunk_chars: int,
                per_book: int) -> list[tuple[str, str]]:
    """(language, text): multi-line chunks of each book body, cut at blank lines."""
    docs = []
    for _, lang, raw in books:
        body = raw[START_RE.search(raw).end():END_RE.search(raw).start()]
        paras = re.split(r"(?:\r?\n){2,}", body)
        chunks, current, size = [], [], 0
        for para in paras:
            if not para.strip():
                continue
            current.append(para)
            size += len(para)
            if size >= chunk_chars:
                chunks.append("\r\n\r\n".join(current))
                current, size = [], 0
        step = max(1, len(chunks) / per_book)
        picked = [chunks[int(i * step)] for i in range(min(per_book, len(chunks)))]
        docs += [(lang, c) for c in picked]
    return docs


def head(text: str, max_chars: int | None) -> str:
    return text if max_chars is None else text[:max_chars]


def run_docs(backend: str, docs: list[tuple[str, str]], max_chars: int | None,
             strategy: str) -> dict[str, Any]:
    model = identifier(backend)
    correct: Counter[str] = Counter()
    total: Counter[str] = Counter()
    wrong: dict[str, Counter[str]] = defaultdict(Counter)
    start = time.process_time()
    for lang, text in docs:
        sample = (bounded_sample(text, max_chars, DEFAULT_WINDOWS) if strategy == "windows"
                  else head(text, max_chars))
        predicted = model.predict(sample)[0]
        total[lang] += 1
        if predicted == lang:
            correct[lang] += 1
        else:
            wrong[lang][predicted] += 1
    seconds = time.process_time() - start
    return {"correct": dict(correct), "total": dict(total), "seconds": seconds,
            "wrong": {k: dict(v) for k, v in wrong.items()}}


def report_docs(title: str, runs: list[dict[str, Any]]) -> None:
    langs = sorted(runs[0]["total"], key=lambda x: (x != "en", x))
    print(f"\n## {title}\n")
    print("| backend | strategy | max_chars | " + " | ".join(
        f"{x} (n={runs[0]['total'][x]})" for x in langs) + " | micro | macro | docs/s |")
    print("|" + "---|" * (6 + len(langs)))
    for r in runs:
        cells = [f"{r['correct'].get(x, 0) / r['total'][x]:.3f}" for x in langs]
        n = sum(r["total"].values())
        micro = sum(r["correct"].values()) / n
        macro = sum(r["correct"].get(x, 0) / r["total"][x] for x in langs) / len(langs)
        print(f"| {r['backend']} | {r['strategy']} | {r['max_chars'] or 'none'} | "
              + " | ".join(cells) + f" | {micro:.3f} | {macro:.3f} | {n / r['seconds']:,.0f} |")


def parse_max_chars(value: str) -> list[int | None]:
    return [None if v.strip().lower() == "none" else int(v) for v in value.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="fasttext,langdetect")
    parser.add_argument("--limit-per-language", type=int, default=None,
                        help="use the first N sentences of each language (default: all)")
    parser.add_argument("--paragraph-sentences", type=int, default=5,
                        help="also classify paragraphs of this many consecutive sentences "
                             "(one per line); 1 turns it off")
    parser.add_argument("--skip-sentences", action="store_true")
    parser.add_argument("--skip-books", action="store_true")
    parser.add_argument("--max-chars", default="100,300,600,1000,2000,4000,none",
                        help="comma-separated max_chars values for part 2 ('none': all)")
    parser.add_argument("--chunk-chars", type=int, default=8000)
    parser.add_argument("--chunks-per-book", type=int, default=25)
    parser.add_argument("--whole-books-max-chars", default="300,1000,3000",
                        help="max_chars values for whole raw books ('none' is slow with "
                             "langdetect: it reads 2 MB per book)")
    parser.add_argument("--json", type=Path, help="also save the numbers here")
    args = parser.parse_args()
    backends = args.backends.split(",")
    for b in backends:
        identifier(b)  # load before timing
    saved: dict[str, Any] = {"machine": platform.platform(), "cpus": os.cpu_count(),
                             "load": os.getloadavg()[0]}
    print(f"# Language-ID benchmark ({platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f})")

    if not args.skip_sentences:
        data = load_sentences(SHARED / "langid_lingua" / "sentences", args.limit_per_language)
        sets = {"sentences": data}
        if args.paragraph_sentences > 1:
            sets[f"{args.paragraph_sentences}-line paragraphs"] = paragraphs(
                data, args.paragraph_sentences)
        runs = {unit: {b: run_texts(b, texts) for b in backends}
                for unit, texts in sets.items()}
        report_lingua(runs, sets)
        saved["lingua"] = {unit: {b: {k: v for k, v in r.items()
                                      if k not in ("predictions", "scores")}
                                  for b, r in by_backend.items()}
                           for unit, by_backend in runs.items()}

    if not args.skip_books:
        books = load_books()
        chunks = book_chunks(books, args.chunk_chars, args.chunks_per_book)
        runs = []
        for b in backends:
            for max_chars in parse_max_chars(args.max_chars):
                for strategy in ("windows", "head") if max_chars else ("windows",):
                    r = run_docs(b, chunks, max_chars, strategy)
                    runs.append({"backend": b, "strategy": strategy if max_chars else "all",
                                 "max_chars": max_chars, **r})
        mean = sum(len(t) for _, t in chunks) / len(chunks)
        report_docs(f"Book chunks: {len(chunks)} multi-line documents of ~{mean:,.0f} "
                    f"characters (bodies of 22 Gutenberg books)", runs)
        saved["chunks"] = runs
        whole = [(lang, raw) for _, lang, raw in books]
        runs = []
        for b in backends:
            for max_chars in parse_max_chars(args.whole_books_max_chars):
                for strategy in ("windows", "head") if max_chars else ("windows",):
                    r = run_docs(b, whole, max_chars, strategy)
                    runs.append({"backend": b, "strategy": strategy if max_chars else "all",
                                 "max_chars": max_chars, **r})
        report_docs("Whole raw books: 22 documents of 0.16-2.2 MB with the English "
                    "license header and footer", runs)
        saved["whole_books"] = runs
    if args.json:
        args.json.write_text(json.dumps(saved, indent=1, default=str))


if __name__ == "__main__":
    main()
