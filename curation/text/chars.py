# ruff: noqa: RUF001  (this module is about Unicode punctuation: the look-alikes are meant)
"""Character sets the text rules share (sentence ends, Gopher's symbols) and the helpers that
turn code point ranges into regex character classes."""

from __future__ import annotations

import re


def from_ranges(spec: str) -> frozenset[str]:
    """'21 2E 61D-61F' -> the characters at those code points (inclusive ranges)."""
    chars = set()
    for part in spec.split():
        low, _, high = part.partition("-")
        chars.update(chr(c) for c in range(int(low, 16), int(high or low, 16) + 1))
    return frozenset(chars)


# Sentence-terminal punctuation (the Unicode Sentence_Terminal characters that datatrove's
# TERMINAL_PUNCTUATION lists: 159 of them). FineWeb counts lines ending in one of these.
TERMINAL_PUNCTUATION = from_ranges(
    "21 2E 3F 589 61D-61F 6D4 700-702 7F9 837 839 83D-83E 964-965 104A-104B 1362 1367-1368 "
    "166E 1735-1736 17D4-17D6 17D9-17DA 1803 1809 1944-1945 1AA8-1AAB 1B5A-1B5B 1B5E-1B5F "
    "1B7D-1B7E 1C3B-1C3C 1C7E-1C7F 203C-203D 2047-2049 2E2E 2E3C 2E53-2E54 3002 A4FF "
    "A60E-A60F A6F3 A6F7 A876-A877 A8CE-A8CF A92F A9C8-A9C9 AA5D-AA5F AAF0-AAF1 ABEB FE52 "
    "FE56-FE57 FF01 FF0E FF1F FF61 10A56-10A57 10F55-10F59 10F86-10F89 11047-11048 "
    "110BE-110C1 11141-11143 111C5-111C6 111CD 111DE-111DF 11238-11239 1123B-1123C 112A9 "
    "1144B-1144C 115C2-115C3 115C9-115D7 11641-11642 1173C-1173E 11944 11946 11A42-11A43 "
    "11A9B-11A9C 11C41-11C42 11EF7-11EF8 11F43-11F44 16A6E-16A6F 16AF5 16B37-16B38 16B44 "
    "16E98 1BC9F 1DA88")

# The characters after which spaCy's rule-based sentencizer may start a new sentence: the
# terminal set above less the 31 characters added to Unicode after its list was made.
SENTENCE_END = TERMINAL_PUNCTUATION - from_ranges(
    "61D-61E 837 839 83D-83E 17D4-17D6 17D9-17DA 1B7D-1B7E 2E53-2E54 10F55-10F59 "
    "10F86-10F89 11944 11946 11EF7-11EF8 11F43-11F44 16E98")

# Gopher's "symbol" characters: a word made only of these is not counted as a word.
SYMBOLS = frozenset(
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~´«»…–—“”„’►━∶〈〉《》「」【】、。，；：？！（）．％１～"
    + "".join(map(chr, [*range(0, 9), 11, 12, *range(13, 32), *range(127, 160)]))
) | TERMINAL_PUNCTUATION
SYMBOLS_STR = "".join(sorted(SYMBOLS))


def ranges_class(spec: str) -> str:
    """A regex character-class body for code point ranges written as in `from_ranges`."""
    out = []
    for part in spec.split():
        low, _, high = part.partition("-")
        out.append(re.escape(chr(int(low, 16))))
        if high:
            out.append("-" + re.escape(chr(int(high, 16))))
    return "".join(out)


def code_points_class(code_points) -> str:
    """A regex character-class body for a sorted iterable of code points (as ranges)."""
    out, run = [], None
    for cp in code_points:
        if run is not None and cp == run[1] + 1:
            run[1] = cp
            continue
        if run is not None:
            out.append(run)
        run = [cp, cp]
    if run is not None:
        out.append(run)
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
                   for a, b in out)


# Letters as the tokenizer sees them: the cased alphabets below, and whole blocks of the
# scripts without case (Hebrew, Arabic, Indic, Sinhala, Ethiopic, Hangul, kana, CJK), which


def char_class(chars: frozenset[str]) -> str:
    """A regex matching one of `chars`. The engine tests a class of characters past U+FFFF
    range by range, so those are only tried on such characters."""
    bmp = code_points_class(sorted(ord(c) for c in chars if c < "\U00010000"))
    astral = code_points_class(sorted(ord(c) for c in chars if c >= "\U00010000"))
    return f"(?:[{bmp}]|(?=[\\U00010000-\\U0010ffff])[{astral}])"

