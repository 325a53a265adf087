#!/usr/bin/env python3
"""Build the sample corpus data/sample/part-{0..3}.jsonl.gz from public-domain text.

Sources (shared data folder): clean_gutenberg_en (18 English Project Gutenberg books; the first
~36,000 words of each and its last passage), multilingual_gutenberg (a run of body text from the
es / fr / tl / zh books) and clean_tinyshakespeare (the first ~60,000 words). Texts are cut at
blank lines (CRLF normalized) into documents of about 300-1500 words. The first document of
each English book keeps its BOM, CRLF line endings and Gutenberg header; the last keeps CRLF and
the whole license footer (~3,000 more words).

Mess injected on purpose, as rough shares of all documents (copies inherit their original's
boilerplate and PII, so those shares hold among copies too):
  ~8%  exact duplicates: same text, different url, spread across the four parts
  ~5%  near duplicates: a few words changed, or one line added or removed
  ~15% boilerplate lines ("Accept cookies", "Privacy Policy | Terms of Use", ...)
  ~5%  non-English documents (es, fr, tl, zh)
  ~10% fake PII: e-mails at example.com/.org, 555-01xx phones, sometimes a 192.0.2.x address
  ~3%  very short junk documents ("Home | About | Contact", "Loading...", one word)
  3    documents whose text is empty or whitespace only
  2    malformed JSON lines, both in part-2.jsonl.gz (a reader must reject them)
Actual counts go into data/sample/README.md. Output is byte-identical between runs (fixed seed,
sorted inputs, gzip mtime=0) for a given zlib. Usage:
    python data/make_sample.py [--shared-data PATH] [--out DIR]
"""

import argparse
import gzip
import hashlib
import json
import random
import re
from bisect import bisect_left
from collections import Counter
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED, N_PARTS = 1729, 4
EN_WORDS_PER_BOOK, SHAKESPEARE_WORDS = 36_000, 60_000
COPY_SHARES = {"exact_dup": 0.08, "near_dup": 0.05, "junk": 0.03}  # of all documents
NON_ENGLISH, BOILERPLATE_SHARE, PII_SHARE = 0.05, 0.15, 0.10  # of original documents
LANGS = {"Spanish": "es", "French": "fr", "Tagalog": "tl", "Chinese": "zh"}
BOILERPLATE = ["Accept cookies", "Share this: Facebook Twitter", "All rights reserved",
               "Click here to subscribe", "Privacy Policy | Terms of Use",
               "We use cookies to improve your experience. Accept cookies",
               "© 2019 Example Books. All rights reserved."]
JUNK = ["Home | About | Contact", "Loading...", "Subscribe", "Menu", "404 Not Found",
        "Page 2 of 17", "Next »", "Sign in | Register", "Home"]
EMPTY = ["", "   ", "\n\t\n"]
ADDED_LINES = ["[Illustration]", "(Continued on the next page.)", "Chapter continues below.",
               "Transcriber's note: spelling has been modernised."]
NAMES = ["jane.doe", "john.smith", "reader42", "editor", "a.nonymous", "test.user"]
Doc = dict  # text, source, url, and "mess": set[str] of tags (not written out)


def n_words(text: str) -> int:
    """Whitespace word count; characters / 7 for unspaced scripts such as Chinese."""
    return max(len(text.split()), len(text) // 7)


def chunks(text: str, rng: random.Random) -> list[str]:
    """Split text at blank lines into chunks of about 300-1500 words, mostly short ones."""
    paras = [p for p in re.split(r"\n(?:[ \t]*\n)+", text.replace("\r\n", "\n")) if p.strip()]
    out, cur, size, target = [], [], 0, 0
    for p in paras:
        if cur and (size >= target or size + n_words(p) > 1500):
            out.append("\n\n".join(cur))
            cur, size = [], 0
        if not cur:
            target = rng.randint(360, 1500) if rng.random() < 0.06 else rng.randint(290, 350)
        cur.append(p)
        size += n_words(p)
    return [*out, "\n\n".join(cur)] if cur else out


def leading(parts: list[str], budget: int) -> int:
    """How many leading parts it takes to reach budget words."""
    return min(len(parts), 1 + bisect_left(list(accumulate(map(n_words, parts))), budget))


def split_gutenberg(path: Path) -> tuple[str, str, str]:
    """Read a Gutenberg book (BOM and CRLF kept) as (header, body, footer)."""
    raw = path.read_bytes().decode("utf-8")
    start = raw.index("\n", raw.index("*** START OF")) + 1
    end = raw.index("*** END OF")
    return raw[:start], raw[start:end], raw[end:]


def doc(text: str, source: str, url: str, *mess: str) -> Doc:
    """A document; mess tags are counted for the README, not written."""
    return {"text": text, "source": source, "url": url, "mess": set(mess)}


def english_books(folder: Path, rng: random.Random) -> list[Doc]:
    """Leading chunks of each book; the first keeps the header, the last the footer."""
    docs = []
    for path in sorted(folder.glob("*.txt")):
        header, body, footer = split_gutenberg(path)
        parts = chunks(body, rng)
        last = len(parts) - 1
        for i in [*range(min(leading(parts, EN_WORDS_PER_BOOK), last)), last]:
            text, mess = parts[i], []
            if i == 0:
                text, mess = header + text.replace("\n", "\r\n"), ["bom", "crlf"]
            elif i == last:
                text, mess = text.replace("\n", "\r\n") + "\r\n\r\n" + footer, ["crlf"]
            url = f"https://example.org/books/{path.stem}/{i}"
            docs.append(doc(text, f"gutenberg/{path.stem}", url, *mess))
    return docs


def foreign_books(folder: Path, n: int, rng: random.Random) -> list[Doc]:
    """n body chunks in all: a consecutive run from each non-English book."""
    paths = sorted(folder.glob("*.txt"))
    docs = []
    for k, path in enumerate(paths):
        header, body, _ = split_gutenberg(path)
        lang = LANGS[re.search(r"^Language: (\w+)", header, re.M).group(1)]
        parts, take = chunks(body, rng), n // len(paths) + (k < n % len(paths))
        start = rng.randrange(len(parts) - take)
        for i in range(start, start + take):
            url = f"https://example.org/{lang}/books/{path.stem}/{i}"
            docs.append(doc(parts[i], f"gutenberg-{lang}/{path.stem}", url, "non_english"))
    return docs


def fake_pii(rng: random.Random) -> str:
    """One line with an obviously fictitious e-mail, phone number or TEST-NET address."""
    name = rng.choice(NAMES)
    email = f"{name}@{rng.choice(['example.com', 'example.org'])}"
    d4, d2 = rng.randint(1000, 9999), rng.randint(0, 99)
    phone = rng.choice([f"(555) 010-{d4}", f"(202) 555-01{d2:02d}", f"+1 555 0100 23{d2:02d}"])
    lines = [f"Questions? Write to {email} or call {phone}.", f"Contact: {email}",
             f"Call {phone} for a free catalogue.",
             f"Posted by {name} ({email}) from 192.0.2.{rng.randint(1, 254)}"]
    return rng.choices(lines, weights=[3, 3, 3, 1])[0]


def insert_lines(text: str, lines: list[str], rng: random.Random) -> str:
    """Insert lines as paragraphs, mostly at the top or bottom of the text."""
    paras = text.split("\n\n")
    for line in lines:
        at = rng.choice([0, len(paras)]) if rng.random() < 0.7 else rng.randrange(len(paras) + 1)
        paras.insert(at, line)
    return "\n\n".join(paras)


def near_copy(text: str, rng: random.Random) -> str:
    """Change a few words, or add or remove one line."""
    kind = rng.randrange(3)
    if kind == 0 and text.count(" ") > 20:
        words = text.split(" ")
        for i in rng.sample(range(len(words)), min(len(words), rng.randint(2, 5))):
            words[i] = rng.choice(words)
        return " ".join(words)
    lines = text.split("\n")
    if kind == 1:
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(ADDED_LINES))
    else:
        del lines[rng.choice([i for i, line in enumerate(lines) if line.strip()])]
    return "\n".join(lines)


def build(shared: Path, rng: random.Random) -> list[Doc]:
    """All documents, mess included, shuffled."""
    originals = english_books(shared / "clean_gutenberg_en", rng)
    plays = chunks((shared / "clean_tinyshakespeare" / "input.txt").read_text("utf-8"), rng)
    originals += [doc(plays[i], "shakespeare", f"https://example.org/books/shakespeare/{i}")
                  for i in range(leading(plays, SHAKESPEARE_WORDS))]
    n_foreign = round(len(originals) * NON_ENGLISH / (1 - NON_ENGLISH))
    originals += foreign_books(shared / "multilingual_gutenberg", n_foreign, rng)
    for d in rng.sample(originals, round(BOILERPLATE_SHARE * len(originals))):
        d["text"] = insert_lines(d["text"], rng.sample(BOILERPLATE, rng.randint(1, 3)), rng)
        d["mess"].add("boilerplate")
    for d in rng.sample(originals, round(PII_SHARE * len(originals))):
        d["text"] = insert_lines(d["text"], [fake_pii(rng)], rng)
        d["mess"].add("pii")
    total = round((len(originals) + len(EMPTY)) / (1 - sum(COPY_SHARES.values())))
    n = {kind: round(share * total) for kind, share in COPY_SHARES.items()}
    copies = []
    for k, d in enumerate(rng.sample(originals, n["exact_dup"] + n["near_dup"])):
        if k < n["exact_dup"]:
            host = rng.choice(["https://mirror.example.net", "http://www.example.org"])
            copies.append({**d, "url": d["url"].replace("https://example.org", host),
                           "mess": d["mess"] | {"exact_dup"}})
        else:
            url = d["url"].replace("https://example.org", "https://reprints.example.com")
            copies.append({**d, "text": near_copy(d["text"], rng), "url": url,
                           "mess": d["mess"] | {"near_dup"}})
    junk = [doc(rng.choice(JUNK), "web", f"https://example.org/page/{i}", "junk")
            for i in range(n["junk"])]
    junk += [doc(t, "web", f"https://example.org/empty/{i}", "empty") for i, t in enumerate(EMPTY)]
    docs = originals + copies + junk
    assert len({d["url"] for d in docs}) == len(docs), "urls must be unique"
    rng.shuffle(docs)
    return docs


def write(docs: list[Doc], out: Path, rng: random.Random) -> list[tuple[str, int, int, str]]:
    """Write the parts (two malformed lines into part-2); return (name, docs, bytes, sha256)."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for p in range(N_PARTS):
        part = docs[p::N_PARTS]
        lines = [json.dumps({k: d[k] for k in ("text", "source", "url")}, ensure_ascii=False)
                 for d in part]
        if p == 2:
            bad = lines[rng.randrange(len(lines))]
            lines.insert(rng.randrange(len(lines)), bad[: len(bad) // 2])  # a truncated write
            lines.insert(rng.randrange(len(lines)), "{'text': 'a Python dict, not JSON'}")
        data = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), 9, mtime=0)
        (out / f"part-{p}.jsonl.gz").write_bytes(data)
        files.append((f"part-{p}.jsonl.gz", len(part), len(data), hashlib.sha256(data).hexdigest()))
    return files


MESS = {"exact_dup": "copy of another document's text, other url",
        "near_dup": "copy with a few words changed, or a line added or removed",
        "boilerplate": "cookie / share / subscribe / copyright lines inserted",
        "non_english": "Spanish, French, Tagalog or Chinese text", "pii": "fake PII line inserted",
        "junk": "very short page text (these repeat)", "empty": "empty or whitespace-only text",
        "bom": "starts with a BOM (first part of a book)", "crlf": "CRLF line endings"}


def readme(docs: list[Doc], files: list[tuple[str, int, int, str]]) -> str:
    """The README of data/sample, with the actual counts."""
    mess = Counter(tag for d in docs for tag in d["mess"])
    langs = Counter(d["source"].split("/")[0][-2:] for d in docs if "non_english" in d["mess"])
    rows = "\n".join(f"| `{f}` | {n:,} | {b:,} | `{h}` |" for f, n, b, h in files)
    counts = "\n".join(f"| {tag} | {what} | {mess[tag]:,} | {100 * mess[tag] / len(docs):.1f}% |"
                       for tag, what in MESS.items())
    return f"""# Sample corpus

A small, deliberately messy corpus for the demo and the tests: {len(docs):,} documents in
{N_PARTS} gzipped JSON Lines files, one object a line with `text`, `source` and `url` (ids are
derived by the reader). `part-2.jsonl.gz` also holds **2 malformed lines** (a truncated object
and a Python dict) that the reader must reject. Made by `python data/make_sample.py`.

| file | documents | bytes | sha256 |
|---|---|---|---|
{rows}

## Source text and license

Project Gutenberg eBooks (18 English books: about the first {EN_WORDS_PER_BOOK:,} words of each
and its last passage; runs from Spanish, French, Tagalog and Chinese books) and tinyshakespeare
(karpathy/char-rnn: about the first {SHAKESPEARE_WORDS:,} words). These texts are in the public
domain in the United States. Project Gutenberg is a trademark of the Project Gutenberg Literary
Archive Foundation; its header and license footer appear as found in the books. URLs are fake.
The injected lines (boilerplate, junk, fake PII) are part of this project, under its license.

## Injected mess

| kind | what | documents | share |
|---|---|---|---|
{counts}

Non-English documents by language: {", ".join(f"{k} {v}" for k, v in sorted(langs.items()))}.
The PII is fictitious: e-mail addresses at example.com / example.org, 555-01xx-style phone
numbers and IPv4 addresses from 192.0.2.0/24 (TEST-NET-1, reserved for documentation).
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "sample")
    args = ap.parse_args()
    rng = random.Random(SEED)
    docs = build(args.shared_data, rng)
    files = write(docs, args.out, rng)
    (args.out / "README.md").write_text(readme(docs, files), encoding="utf-8")
    for name, n, size, digest in files:
        print(f"{name}: {n} documents, {size:,} bytes, sha256 {digest}")
    print(f"{len(docs)} documents;", dict(Counter(t for d in docs for t in d["mess"])))


if __name__ == "__main__":
    main()
