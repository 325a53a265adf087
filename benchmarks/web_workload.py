"""A seeded web-like corpus for whole-pipeline benchmarks (`pipeline_vs_datatrove.py`).

Built from the test data in `../shared/data` (never bundled: it is written to a temporary
directory): the 771 real web documents of `web_dolma_cc2019`, `web_datajuicer` and
`web_dolma_tests`, and pages made of public-domain Gutenberg paragraphs with a title, a
menu, a footer and a date line, as a web extract has. On top of those, by share of the
documents:

- exact copies of an earlier document under a new id and url (`EXACT`);
- near copies: 1-2% of the words replaced, another date line and footer (`NEAR`);
- junk: menus, one line repeated, keyword spam, "Loading..." stubs, script pages (`JUNK`);
- contact lines with an e-mail address and a phone number planted in a sentence (`PII`).

The same seed gives the same bytes. Files are JSONL with `id`, `text` and `url`, written in
order, the documents shuffled before they are cut into `files` consecutive parts.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
WEB = ("web_dolma_cc2019", "web_datajuicer", "web_dolma_tests")
EXACT, NEAR, JUNK, PII = 0.06, 0.06, 0.08, 0.2
SMALL_DOCS, SMALL_FILES = 3377, 4

_MENU = ["Home", "About us", "Products", "Blog", "Contact", "Login", "Register", "Cart",
         "Search", "News", "Events", "Gallery", "FAQ", "Support", "Careers", "Shop"]
_FOOTERS = ["Copyright {year} {site}. All rights reserved.",
            "Privacy Policy | Terms of Use | Cookie Policy",
            "This website uses cookies to improve your experience.",
            "Follow us on Facebook, Twitter and Instagram.",
            "Share this article: Facebook Twitter Email"]
_KEYWORDS = ["cheap", "best", "buy", "online", "discount", "free", "shipping", "sale",
             "deal", "price", "shoes", "watches", "phones", "loans", "casino", "hotel"]
_FIRST = ["john", "mary", "peter", "anna", "james", "linda", "robert", "susan", "david",
          "karen", "michael", "laura", "daniel", "emma", "thomas", "olivia"]
_LAST = ["smith", "jones", "brown", "taylor", "wilson", "davies", "evans", "thomas",
         "johnson", "roberts", "walker", "wright", "robinson", "thompson", "white", "hughes"]
_DOMAINS = ["example.com", "mailhost.org", "webmail.net", "company.co.uk", "univ.edu",
            "shop-online.de", "post.fr", "inbox.io"]
_CONTACT = ["For questions about this page, write to {email} or call {phone}.",
            "You can reach our office at {phone} (weekdays) or by e-mail at {email}.",
            "Please send your comments to {email}; urgent matters: {phone}.",
            "Contact {name} at {email} or on {phone} for details."]


@dataclass
class Doc:
    id: str
    text: str
    url: str


def real_web_documents(data: Path = DATA) -> list[str]:
    """Every JSONL record with a text field in the three web sets, in sorted file order."""
    texts = []
    for name in WEB:
        for path in sorted(p for p in (data / name).rglob("*")
                           if p.name.endswith((".jsonl", ".jsonl.gz"))):
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        text = json.loads(line).get("text")
                        if isinstance(text, str) and text.strip():
                            texts.append(text)
    return texts


def gutenberg_paragraphs(data: Path = DATA) -> list[str]:
    """The books' paragraphs between the Project Gutenberg markers, unwrapped to one line."""
    paragraphs = []
    for path in sorted((data / "clean_gutenberg_en").glob("*.txt")):
        text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
        start, end = text.find("*** START OF"), text.find("*** END OF")
        body = text[text.find("\n", start) + 1:end] if start >= 0 and end > start else text
        for block in re.split(r"\n\s*\n", body):
            line = " ".join(block.split())
            if len(line.split()) >= 12:
                paragraphs.append(line)
    return paragraphs


class _Maker:
    def __init__(self, seed: int, data: Path):
        self.rng = random.Random(seed)
        self.paragraphs = gutenberg_paragraphs(data)
        self.serial = 0

    def name(self) -> str:
        self.serial += 1
        return f"doc-{self.serial:07d}"

    def url(self) -> str:
        site = f"{self.rng.choice(_KEYWORDS)}{self.rng.choice(_LAST)}{self.rng.randrange(100)}"
        return f"https://www.{site}.com/{self.rng.choice(_KEYWORDS)}/{self.rng.randrange(10**6)}"

    def page(self) -> str:
        """A title, a menu line, paragraphs up to a lognormal length (median ~5 KB), a
        date and a footer."""
        rng = self.rng
        target = min(60_000, int(rng.lognormvariate(8.5, 0.6)))
        body, size = [], 0
        while size < target:
            body.append(rng.choice(self.paragraphs))
            size += len(body[-1]) + 1
        title = " ".join(body[0].split()[:rng.randint(3, 8)]).rstrip(",;:")
        menu = " | ".join(rng.sample(_MENU, rng.randint(4, 8)))
        footer = rng.choice(_FOOTERS).format(year=rng.randint(2005, 2024),
                                             site=title.split()[0])
        date = f"Posted on {rng.randint(1, 28)} {rng.choice(['March', 'June', 'October'])} " \
               f"{rng.randint(2008, 2024)}"
        return "\n".join([title, menu, date, *body, footer])

    def junk(self) -> str:
        rng = self.rng
        kind = rng.randrange(5)
        if kind == 0:
            return "\n".join(rng.choice(_MENU) for _ in range(rng.randint(10, 60)))
        if kind == 1:
            line = rng.choice(self.paragraphs)[:rng.randint(40, 200)]
            return "\n".join([line] * rng.randint(5, 40))
        if kind == 2:
            return " ".join(rng.choice(_KEYWORDS) for _ in range(rng.randint(80, 600)))
        if kind == 3:
            return rng.choice(["Loading...", "Page not found", "Please enable JavaScript.",
                               "403 Forbidden", "Redirecting"])
        return "function init() { var x = document.getElementById('main'); }\n" \
               + rng.choice(self.paragraphs) + "\nLorem ipsum dolor sit amet."

    def near_copy(self, text: str) -> str:
        """1-2% of the words replaced; the last line redrawn as a footer (of longer texts)."""
        rng = self.rng
        lines = text.split("\n")
        if len(lines) > 2:
            lines[-1] = rng.choice(_FOOTERS).format(year=rng.randint(2005, 2024), site="Site")
            text = "\n".join(lines)
        tokens = text.split(" ")
        for _ in range(max(1, len(tokens) * rng.randint(1, 2) // 100)):
            tokens[rng.randrange(len(tokens))] = rng.choice(_KEYWORDS)
        return " ".join(tokens)

    def plant_pii(self, text: str) -> str:
        rng = self.rng
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first}.{last}{rng.randrange(100)}@{rng.choice(_DOMAINS)}"
        area, mid, end = rng.randint(201, 989), rng.randint(200, 999), rng.randint(1000, 9999)
        phone = rng.choice([f"({area}) {mid}-{end}", f"{area}-{mid}-{end}",
                            f"+1 {area} {mid} {end}", f"+44 20 {mid} {end}"])
        line = rng.choice(_CONTACT).format(email=email, phone=phone,
                                           name=f"{first.title()} {last.title()}")
        lines = text.split("\n")
        lines.insert(rng.randint(1, max(1, len(lines) - 1)), line)
        return "\n".join(lines)


def make_documents(n_docs: int, seed: int = 0, data: Path = DATA) -> list[Doc]:
    """`n_docs` documents: the real web ones once, then pages, junk and copies, shuffled."""
    maker = _Maker(seed, data)
    rng = maker.rng
    docs = [Doc(maker.name(), text, maker.url()) for text in real_web_documents(data)]
    docs = docs[:n_docs]
    while len(docs) < n_docs:
        roll = rng.random()
        if roll < EXACT and docs:
            docs.append(Doc(maker.name(), rng.choice(docs).text, maker.url()))
        elif roll < EXACT + NEAR and docs:
            docs.append(Doc(maker.name(), maker.near_copy(rng.choice(docs).text), maker.url()))
        elif roll < EXACT + NEAR + JUNK:
            docs.append(Doc(maker.name(), maker.junk(), maker.url()))
        else:
            docs.append(Doc(maker.name(), maker.page(), maker.url()))
    for doc in docs:
        if rng.random() < PII:
            doc.text = maker.plant_pii(doc.text)
    rng.shuffle(docs)
    return docs


def write_corpus(root: Path, n_docs: int, files: int, seed: int = 0,
                 data: Path = DATA) -> tuple[int, int]:
    """Write `files` JSONL files under `root`; returns (documents, bytes of text, UTF-8)."""
    docs = make_documents(n_docs, seed, data)
    root.mkdir(parents=True, exist_ok=True)
    per_file = -(-len(docs) // files)
    text_bytes = 0
    for part in range(files):
        with open(root / f"part-{part:03d}.jsonl", "w", encoding="utf-8") as f:
            for doc in docs[part * per_file:(part + 1) * per_file]:
                f.write(json.dumps({"id": doc.id, "text": doc.text, "url": doc.url},
                                   ensure_ascii=False) + "\n")
                text_bytes += len(doc.text.encode("utf-8"))
    return len(docs), text_bytes
