"""The patterns and checks behind our phone, card and SSN recognizers, free of presidio.

`curation.pii.recognizers` wraps them in presidio `PatternRecognizer`s; `curation.pii.scrub` uses
them directly (stdlib `re`) to scrub report snippets without loading presidio. They were
written from the formats in presidio-research's synthetic set and then checked for false
positives on real prose (Gutenberg) and raw web text (Common Crawl).
"""

from __future__ import annotations

import re

# Not glued to a word, an amount, a closing bracket or a path, and not part of a longer run
# of numbers: "3.14159", "1 2 3 4 5 6 7 8", "978-83-7181-510-2", "2019-06-12 14:30",
# "j.rmed.2019.05.012".
BEFORE = r"(?<![\w+$€£¥/)])(?<!\d[,\-/ ])(?<!\w\.)"
AFTER = r"(?![\w/]|[.,:\-/ ]\d)"
SEP = r"[ .\-/]"

# (name, regex, presidio score); matched case-insensitively ("x", "ext").
PHONE_PATTERNS = [
    ("phone (digit groups)",
     BEFORE
     + rf"(?:\+\d{{1,3}}{SEP}?)?"          # country code
     + rf"(?:\(0\){SEP}?)?"                 # trunk prefix written (0)
     + rf"(?:\(\d{{1,5}}\){SEP}?)?"         # area code in brackets
     + rf"\d{{1,5}}(?:{SEP}\d{{2,8}}){{1,5}}"
     + r"(?:[ ]?(?:x|ext\.?|extension)[ ]?\d{1,6})?"
     + AFTER,
     0.4),
    ("phone (area code in brackets)",
     BEFORE + r"(?:\+\d{1,3}[ ]?)?\(\d{1,5}\)[ ]?\d{5,10}" + AFTER, 0.4),
    ("phone (one run of digits)", BEFORE + r"(?:\+\d{8,14}|\d{10,11})" + AFTER, 0.3),
]
CARD_PATTERNS = [
    ("card (digits)", BEFORE + r"\d{12,19}" + AFTER, 0.3),
    ("card (groups of four)",
     BEFORE + r"\d{4}(?P<s>[ \-])\d{4}(?:(?P=s)\d{4}){1,2}(?:(?P=s)\d{1,4})?" + AFTER, 0.3),
    ("card (4-6-4/5)", BEFORE + r"\d{4}(?P<s>[ \-])\d{6}(?P=s)\d{4,5}" + AFTER, 0.3),
]
SSN_PATTERN = ("SSN 3-2-4", BEFORE + r"\d{3}([\- .])\d{2}\1\d{4}" + AFTER, 0.5)

_DIGITS = re.compile(r"\d+")
_EXTENSION = re.compile(r"\s?(?:x|ext\.?|extension)\s?\d+$", re.IGNORECASE)
_ADDRESS_AFTER = re.compile(r"[ \t]+[A-Z]")


def digits_of(text: str) -> str:
    return "".join(_DIGITS.findall(text))


def plausible_phone(text: str) -> bool:
    """7-15 digits (extension apart) that do not read as a date, years, an IP or filler."""
    main = _EXTENSION.sub("", text)
    groups = _DIGITS.findall(main)
    digits = "".join(groups)
    if not 7 <= len(digits) <= 15 or len(set(digits)) == 1:
        return False
    prefixed = main.startswith(("+", "("))
    if not prefixed and len(groups) > 1 and len(groups[0]) == 1 and len(digits) < 10:
        return False  # "1 850 1860": a lone digit before groups is a list, not a trunk code
    separators = set(_DIGITS.sub("|", main).strip("|").split("|")) if len(groups) > 1 else set()
    if "." in separators and len(separators) > 1 and not prefixed:
        return False  # times and mixed numbering: 10.00-12.00, 11-034 12.05.2019
    if len(groups) == 2 and "." in separators:
        return False  # a decimal number: 35.123456
    if len(groups) == 2 and separators == {"-"} and len(groups[0]) == len(groups[1]) == 4:
        return False  # an ISSN, a page or year range: 1234-5678
    if len(groups) == 2 and not prefixed and (len(groups[0]) > 4 or
                                              len(groups[1]) < len(groups[0])):
        return False  # house number and street number, postcode: 17151 2450, 3610-114
    if len(groups) == 2 and all(len(g) == 4 and 1000 <= int(g) <= 2199 for g in groups):
        return False  # a range of years: 1914 1918
    if len(groups) == 3 and len(separators) == 1 and _is_date(groups):
        return False
    # An IPv4 address is the IP recognizer's.
    return not (len(groups) == 4 and separators == {"."}
                and all(len(g) <= 3 and int(g) <= 255 for g in groups))


def starts_address(text: str, start: int, end: int) -> bool:
    """A bare two-group number followed on its line by a capital: "370 3911 Fourth Avenue"."""
    return (text[start].isdigit() and len(_DIGITS.findall(text, start, end)) == 2
            and _ADDRESS_AFTER.match(text, end) is not None)


def _is_date(groups: list[str]) -> bool:
    a, b, c = groups
    if len(a) == 4:  # 2019-06-12
        year, first, second = int(a), b, c
    elif len(c) == 4:  # 12.06.2019 or 06/12/2019
        year, first, second = int(c), a, b
    else:
        return False
    if not (1000 <= year <= 2199 and len(first) <= 2 and len(second) <= 2):
        return False
    x, y = int(first), int(second)
    return 1 <= x <= 31 and 1 <= y <= 31 and min(x, y) <= 12


# Issuer prefixes (IIN ranges) in use, with the lengths each is issued in.
_CARD_PREFIXES: list[tuple[tuple[str, ...], range]] = [
    (("4",), range(13, 20)),                                         # Visa 13, 16, 19
    (("51", "52", "53", "54", "55"), range(16, 17)),                 # Mastercard
    (tuple(str(p) for p in range(2221, 2721)), range(16, 17)),       # Mastercard 2-series
    (("2200", "2201", "2202", "2203", "2204"), range(16, 20)),       # Mir
    (("34", "37"), range(15, 16)),                                   # American Express
    (("300", "301", "302", "303", "304", "305", "3095", "36", "38", "39"),
     range(14, 20)),                                                 # Diners Club
    (("6011", "644", "645", "646", "647", "648", "649", "65"), range(16, 20)),  # Discover
    (("35",), range(16, 20)),                                        # JCB (3528-3589)
    (("2131", "1800"), range(15, 16)),                               # JCB (old 15-digit)
    (("62", "81"), range(16, 20)),                                   # UnionPay
    (("50", "56", "57", "58", "6", "0604"), range(12, 20)),          # Maestro
]


def valid_card(digits: str) -> bool:
    """A known issuer prefix, a length that issuer uses, and a correct Luhn check digit."""
    if not 12 <= len(digits) <= 19:
        return False
    if not any(digits.startswith(prefixes) and len(digits) in lengths
               for prefixes, lengths in _CARD_PREFIXES):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0
