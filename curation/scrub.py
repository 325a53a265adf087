"""Regex scrubbing of contact details in text that reports show (examples, snippets).

Reports must never show an e-mail address or a phone number, even when the pipeline has no
`pii` step; this is the last line of defence for what people read, not a PII filter.
"""

from __future__ import annotations

import re

_PATTERNS = [
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("URL", re.compile(r"\bhttps?://\S+", re.IGNORECASE)),
    ("IP", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}\b",
                      re.IGNORECASE)),
    ("CREDIT_CARD", re.compile(r"\b(?:\d[ -]?){13,19}\b")),
    ("SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("PHONE", re.compile(r"(?<!\w)(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])"
                         r"\d{2,4}(?:[\s.-]\d{2,4}){1,3}(?!\w)")),
]


def scrub(text: str) -> str:
    """Replace e-mails, URLs, IPs, card numbers, SSNs and phone numbers with <TYPE>."""
    for label, pattern in _PATTERNS:
        text = pattern.sub(f"<{label}>", text)
    return text


def snippet(text: str, length: int = 240) -> str:
    """A scrubbed one-line excerpt of the start of a text."""
    return scrub(" ".join(text[: length * 2].split()))[:length]
