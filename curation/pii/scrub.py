"""Regex scrubbing of contact details in text that reports show (examples, snippets).

Reports must never show an e-mail address or a phone number, even when the pipeline has no
`pii` step; this is the last line of defence for what people read, not a PII filter. It
shares the phone patterns and checks of the `pii` step (`curation.pii.patterns`) but loads
no presidio. Card numbers need an issuer prefix, a length that issuer uses and a correct
Luhn digit, with one separator throughout: a real card always has them, and the 14-digit
timestamps in Common Crawl file names (`CC-MAIN-20230101123456-...`) do not. A URL keeps
its scheme, host and path (the structure a reader needs) and loses its query and fragment.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from curation.pii.patterns import (
    CARD_PATTERNS,
    PHONE_PATTERNS,
    digits_of,
    plausible_phone,
    starts_address,
    valid_card,
)

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_HEX = r"[0-9a-f]{1,4}"
_IPV6 = (rf"(?:{_HEX}:){{7}}{_HEX}"                       # full form
         rf"|(?:{_HEX}:){{1,7}}:(?:{_HEX}(?::{_HEX}){{0,5}})?"  # with :: after some groups
         rf"|::(?:{_HEX}(?::{_HEX}){{0,6}})?")            # leading ::

_Check = Callable[[str, re.Match], bool]
_PATTERNS: list[tuple[str, re.Pattern, _Check | None]] = [
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), None),
    ("IP", re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)"
                      rf"|(?<![\w:])(?:{_IPV6})(?![\w:])", re.IGNORECASE), None),
    ("IBAN", re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b",
                        re.IGNORECASE),
     lambda text, m: any(c.isdigit() for c in m.group()[4:])),
    *(("CREDIT_CARD", re.compile(regex), lambda text, m: valid_card(digits_of(m.group())))
      for _, regex, _ in CARD_PATTERNS),
    ("SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), None),
    *(("PHONE", re.compile(regex, re.IGNORECASE),
       lambda text, m: plausible_phone(m.group()) and not starts_address(text, *m.span()))
      for _, regex, _ in PHONE_PATTERNS),
]


_URL = re.compile(r"\b(?:https?://|www\.)[^\s?#]*(?P<rest>[?#]\S*)?", re.IGNORECASE)


def _url_structure(match: re.Match) -> str:
    return match.group()[:match.start("rest") - match.start()] + "?<QUERY>" \
        if match.group("rest") else match.group()


def scrub(text: str) -> str:
    """Replace e-mails, IPs, IBANs, card numbers, SSNs and phone numbers with <TYPE>, and
    URL queries with <QUERY>."""
    text = _URL.sub(_url_structure, text)
    for label, pattern, check in _PATTERNS:
        if check is None:
            text = pattern.sub(f"<{label}>", text)
        else:
            text = pattern.sub(lambda m, t=text, c=check, lb=label:
                               f"<{lb}>" if c(t, m) else m.group(), text)
    return text


def snippet(text: str, length: int = 240) -> str:
    """A scrubbed one-line excerpt of the start of a text."""
    return scrub(" ".join(text[: length * 2].split()))[:length]
