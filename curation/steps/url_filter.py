"""URL filter: drop pages by domain or URL block lists, or by banned words in the URL.

Lists are files (any fsspec path), one entry a line; blank lines and `#` comments are
skipped. A domain entry also blocks its subdomains (`example.com` blocks
`www.example.com` and `a.b.example.com`); a URL entry blocks that URL with or without its
scheme, `www.` and trailing slash. The reason names the rule and the list
(`url_filter:domain:adult`). The banned words are a small list of our own, matched against
the URL's words (split on anything not a letter or digit), and banned subwords anywhere in
the host and path; the UT1 blocklist (CC BY-SA) is not bundled: docs/web.md shows how to
point `domain_lists` at it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import fsspec
import pyarrow as pa
from pydantic import Field

from curation.core.document import Document
from curation.core.errors import ConfigError
from curation.core.registry import register
from curation.steps.base import FilterParams, Step

# Words that name adult content and rarely anything else ("escort" is also a car, "anal" a
# medical word, "xxx" also a clothing size inside "xxxl": those are left out or word-only).
BANNED_WORDS = ["porn", "porno", "pornography", "xxx", "sex", "sexy", "nude", "nudes",
                "fuck", "fucking", "hentai", "milf", "nsfw", "erotic", "erotica", "bdsm",
                "fetish", "incest", "orgy", "camgirl", "camgirls", "webcamsex", "bukkake",
                "gangbang", "threesome", "blowjob"]
BANNED_SUBWORDS = ["porn", "hentai", "bukkake", "gangbang", "blowjob", "camgirl"]
_WORDS = re.compile(r"[^\W_]+")


class UrlFilterParams(FilterParams):
    url_field: str = Field("url", description="the column that holds the page's URL")
    domain_lists: dict[str, str] = Field(
        default_factory=dict, description="list name -> file of blocked domains (subdomains "
                                          "match too), e.g. {adult: ut1/adult/domains}")
    url_lists: dict[str, str] = Field(
        default_factory=dict, description="list name -> file of blocked URLs")
    banned_words: list[str] = Field(
        BANNED_WORDS, description="drop URLs with one of these as a word (lowercase)")
    banned_subwords: list[str] = Field(
        BANNED_SUBWORDS, description="drop URLs with one of these anywhere in host or path")
    drop_missing_url: bool = Field(
        False, description="drop documents without a URL (false: keep them)")


def read_list(path: str, where: str) -> set[str]:
    """The entries of a block-list file, lowercase."""
    try:
        with fsspec.open(path, "rt", encoding="utf-8", errors="replace",
                         compression="infer") as handle:
            lines = [line.strip().lower() for line in handle]
    except (OSError, ValueError) as err:
        raise ConfigError(f"url_filter.{where}: cannot read '{path}' ({err})") from None
    return {line for line in lines if line and not line.startswith("#")}


def normalize_url(url: str) -> str:
    """`https://www.Example.com/a/` -> `example.com/a`: what URL entries are compared as."""
    url = url.strip().lower().split("#", 1)[0]
    url = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url)
    return url.removeprefix("www.").rstrip("/")


@register
class UrlFilter(Step):
    """Drop pages whose domain or URL is on a block list, or whose URL has a banned word."""

    name = "url_filter"
    Params = UrlFilterParams
    columns = {"url_blocked": pa.string()}

    def __init__(self, params=None):
        super().__init__(params)
        p = self.params
        self._domains = {name: read_list(path, f"domain_lists.{name}")
                         for name, path in p.domain_lists.items()}
        self._urls = {name: {normalize_url(u) for u in read_list(path, f"url_lists.{name}")}
                      for name, path in p.url_lists.items()}
        self._words = frozenset(w.lower() for w in p.banned_words)
        self._subwords = [w.lower() for w in p.banned_subwords]

    def process(self, doc: Document) -> str | None:
        url = doc.meta.get(self.params.url_field)
        rule = self._rule(url) if url else ("missing_url" if self.params.drop_missing_url
                                            else None)
        doc.meta["url_blocked"] = rule
        return rule

    def _rule(self, url: str) -> str | None:
        host = (urlsplit(url if "://" in url else "//" + url).hostname or "").rstrip(".")
        labels = host.split(".")
        suffixes = {".".join(labels[i:]) for i in range(len(labels))}
        for name, domains in self._domains.items():
            if not suffixes.isdisjoint(domains):
                return f"domain:{name}"
        normalized = normalize_url(url)
        for name, urls in self._urls.items():
            if normalized in urls:
                return f"url:{name}"
        lowered = url.lower()
        if any(word in self._words for word in _WORDS.findall(lowered)):
            return "banned_word"
        if any(sub in normalized for sub in self._subwords):
            return "banned_subword"
        return None
