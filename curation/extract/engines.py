"""Extraction engines: HTML in, the page's main content out, in one layout for both.

Layout: a paragraph, heading or quote is a block; a list is a block with one item a line;
a table is a block with one row a line (cells separated by a tab); blocks are separated by
one blank line. Gopher, C4 and FineWeb count lines and paragraphs, so both engines must
give the same shape.

- `resiliparse` (Apache-2.0): Resiliparse's `extract_plain_text` with `main_content`, no
  alt texts, links, form fields, noscript or comments (dolma's and NeMo's choices), and
  `skip_elements` set to BOILERPLATE: `<aside>`, `<nav>`, `<footer>`, and elements whose
  class or id names a boilerplate block, unless they hold a paragraph (some pages wrap
  their article in a `teaser` or `promo` container).
  Its gristmill option `trim_tail_words: N` drops the lines after the last line of at least
  N words: the short headings and link lines that follow an article ("Related articles").
- `trafilatura` (Apache-2.0 from 1.8): FineWeb's settings (`favor_precision`, no comments,
  `deduplicate`) by default; its XML body tree is turned into the layout above.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_BLANK_RUNS = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \u00a0]+")
_TABS = re.compile(r"[ \t]*\t[ \t]*")
_NAMES = ("related", "newsletter", "comment", "author", "promo", "copyright", "disclaimer",
          "footer", "caption", "teaser")  # chosen on the development half of the benchmark
BOILERPLATE = ("aside", "nav", "footer",
               *(f"[{attr}*={name}]:not(:has(p))" for name in _NAMES for attr in ("class", "id")))
TRIM_TAIL = "trim_tail_words"  # gristmill's own option of the resiliparse engine
_LINE_TAGS = {"lb", "item", "row", "p", "head", "quote", "code", "list", "table", "div"}
Engine = Callable[[str], str]


def tidy(text: str) -> str:
    """Strip each line, drop soft hyphens, keep at most one blank line between blocks."""
    text = text.replace("\u00ad", "")  # soft hyphens split words for every later step
    lines = [_TABS.sub("\t", _SPACES.sub(" ", line)).strip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def resiliparse_engine(options: dict[str, Any]) -> Engine:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    settings = {"main_content": True, "alt_texts": False, "links": False,
                "form_fields": False, "noscript": False, "comments": False,
                "list_bullets": False, "preserve_formatting": True,
                "skip_elements": list(BOILERPLATE), **options}
    tail_words = settings.pop(TRIM_TAIL, 0)

    def extract(html: str) -> str:
        text = tidy(extract_plain_text(HTMLTree.parse(html), **settings))
        return trim_tail(text, tail_words) if tail_words else text

    return extract


def trim_tail(text: str, min_words: int) -> str:
    """Cut the lines after the last line of at least `min_words` words (kept whole when no
    line is that long)."""
    lines = text.split("\n")
    last = next((i for i in range(len(lines) - 1, -1, -1)
                 if len(lines[i].split()) >= min_words), None)
    return text if last is None else "\n".join(lines[:last + 1])


def trafilatura_engine(options: dict[str, Any]) -> Engine:
    import trafilatura

    settings = {"favor_precision": True, "include_comments": False, "deduplicate": True,
                **options, "with_metadata": False}

    def extract(html: str) -> str:
        document = trafilatura.bare_extraction(html, **settings)
        body = getattr(document, "body", None)
        return "" if body is None else tidy("\n\n".join(_blocks(body)))

    return extract


def _blocks(body: Any) -> list[str]:
    """The body's children as text blocks in the layout above."""
    blocks = [body.text or ""]
    for element in body:
        blocks += [_text(element), element.tail or ""]  # text between blocks is a block
    return [block.strip("\n") for block in blocks if block.strip()]


def _text(element: Any) -> str:
    """An element's text: line breaks, list items, table rows and nested blocks start a
    new line; table cells are separated by a tab."""
    parts = [element.text or ""]
    for position, child in enumerate(element):
        if child.tag in _LINE_TAGS:
            parts.append("\n")
        elif child.tag == "cell" and position:
            parts.append("\t")
        if child.tag != "lb":
            parts.append(_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


ENGINES: dict[str, Callable[[dict[str, Any]], Engine]] = {
    "resiliparse": resiliparse_engine, "trafilatura": trafilatura_engine}


def make_engine(name: str, options: dict[str, Any] | None = None) -> Engine:
    return ENGINES[name](dict(options or {}))


def reset_caches(name: str) -> None:
    """trafilatura keeps per-process caches that grow about 1 MB a page."""
    if name == "trafilatura":
        from trafilatura.meta import reset_caches as reset

        reset()
