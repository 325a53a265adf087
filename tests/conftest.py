"""Test set-up: offline switches for every test, and the in-process `curate` fixture."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")


@pytest.fixture
def curate() -> Callable[..., int]:
    """Run `gristmill curate` in-process with the given arguments; returns the exit code."""
    from gristmill.launcher import main

    def run(*args: str) -> int:
        return main(["curate", "--quiet", *map(str, args)])

    return run
