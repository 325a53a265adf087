"""Interleave sources in proportion to their weights, without randomness.

Smooth weighted round robin (as in nginx): every pick adds each source's share to its
credit and takes the source with the most credit, which then pays 1. Over any stretch of
picks each source's count is within one of its share, and the credits are the whole state.
"""

from __future__ import annotations

from collections.abc import Sequence


def pick(credits: list[float], shares: Sequence[float]) -> int:
    """The next source; `shares` sum to 1, `credits` (one per source) is updated in place."""
    for i, share in enumerate(shares):
        credits[i] += share
    best = max(range(len(credits)), key=credits.__getitem__)
    credits[best] -= 1.0
    return best
