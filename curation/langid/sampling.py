"""Bounded samples of long texts, so language ID costs the same on a tweet and on a book."""

from __future__ import annotations

import re

_SPACE = re.compile(r"\s")
_EDGE = 40  # look this far for a word boundary at a window's edges


def bounded_sample(text: str, max_chars: int | None, windows: int = 3) -> str:
    """At most `max_chars` characters of `text`: the text itself when it is short enough,
    else `windows` slices of `max_chars // windows` characters centred at 1/(windows+1),
    2/(windows+1), ... of the text (1/4, 1/2 and 3/4 for three), joined by newlines.

    The slices come from inside the text, not from its edges, because the edges are where a
    long document carries text in another language or none: a license header and footer, a
    title page, navigation. A slice that starts or ends inside a word is trimmed to the
    nearest whitespace within 40 characters (text without spaces, such as Chinese, is cut
    where it is).
    """
    if max_chars is None or len(text) <= max_chars:
        return text
    windows = max(1, min(windows, max_chars))
    width = max_chars // windows
    pieces = []
    for i in range(windows):
        centre = len(text) * (i + 1) // (windows + 1)
        start = min(max(centre - width // 2, 0), len(text) - width)
        end = start + width
        piece = text[start:end]
        if start > 0 and not text[start - 1].isspace():
            cut = _SPACE.search(piece, 0, _EDGE)
            if cut:
                piece = piece[cut.end():]
        if end < len(text) and not text[end].isspace():
            head = len(piece) - _EDGE
            cut = max(piece.rfind(" ", max(head, 0)), piece.rfind("\n", max(head, 0)))
            if cut > 0:
                piece = piece[:cut]
        pieces.append(piece)
    return "\n".join(pieces)
