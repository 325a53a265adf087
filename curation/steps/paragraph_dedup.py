"""Drop paragraphs (or lines) already seen earlier in the corpus: repeated boilerplate.

The dolma approach: every paragraph's hash goes through a Bloom filter in corpus order
(file, then position), and a paragraph whose hash the filter already holds is removed.
Within one file the check is exact; across files a unique paragraph is removed by mistake
with at most `false_positive_rate` probability (the filter is sized from the real count).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from curation.core.document import Document
from curation.core.registry import register
from curation.dedup.bloom import BloomFilter
from curation.steps.base import FilterParams, GlobalStep
from curation.text.normalize import normalize_for_dedup
from gristmill.atomic import write_json_atomic
from gristmill.hashing import hash64

_SPLITTERS = {"paragraph": re.compile(r"(\r?\n[ \t]*\r?\n\s*)"), "line": re.compile(r"(\r?\n)")}
_EMPTY = np.uint64(0)


class ParagraphDedupParams(FilterParams):
    unit: Literal["paragraph", "line"] = Field(
        "paragraph", description="paragraphs (blank-line separated) or single lines")
    min_chars: int = Field(
        0, ge=0, description="shorter units are never removed (protects 'Chapter 1', '***')")
    false_positive_rate: float = Field(
        1e-5, gt=0, lt=0.5, description="chance that a unique unit is removed (Bloom filter)")


def split_units(text: str, unit: str) -> list[str]:
    """[unit, separator, unit, separator, ..., unit]: joining it gives the text back."""
    return _SPLITTERS[unit].split(text)


class _ParagraphCollector:
    def __init__(self, step: ParagraphDedup, position: int):
        self.step, self.position = step, position
        self.hashes: list[int] = []
        self.counts: list[int] = []

    def add(self, doc: Document) -> None:
        units = split_units(doc.text, self.step.params.unit)[::2]
        self.hashes.extend(self.step.unit_hash(u) for u in units)
        self.counts.append(len(units))

    def save(self, directory: Path) -> None:
        np.save(directory / f"paragraphs-{self.position}.npy",
                np.array(self.hashes, dtype=np.uint64))
        np.save(directory / f"paragraph_counts-{self.position}.npy",
                np.array(self.counts, dtype=np.int64))


@register
class ParagraphDedup(GlobalStep):
    """Remove paragraphs or lines that appeared earlier in the corpus (Bloom filter)."""

    name = "paragraph_dedup"
    Params = ParagraphDedupParams
    columns = {"dup_paragraphs": pa.int32()}
    decision_schema = pa.schema([("row", pa.int64()), ("drop", pa.list_(pa.int32()))])

    def unit_hash(self, text: str) -> int:
        """0 for units too short to remove; otherwise the normalized text's hash (never 0)."""
        words = normalize_for_dedup(text)
        if not words or len(text.strip()) < self.params.min_chars:
            return 0
        return hash64(words, salt="paragraph") or 1

    def collector(self, position: int) -> _ParagraphCollector:
        return _ParagraphCollector(self, position)

    def reduce(self, unit_dirs: dict[int, Path], position: int, out_dir: Path) -> None:
        files = {u: (d / f"paragraphs-{position}.npy", d / f"paragraph_counts-{position}.npy")
                 for u, d in unit_dirs.items()}
        total = sum(np.load(h, mmap_mode="r").shape[0] for h, _ in files.values())
        bloom = BloomFilter(total, self.params.false_positive_rate)
        removed = 0
        for unit, (hash_file, count_file) in files.items():
            hashes, counts = np.load(hash_file), np.load(count_file)
            duplicate = _seen_before(hashes, bloom)
            removed += int(duplicate.sum())
            dropped = _dropped_units(duplicate, counts)
            if dropped:
                self.write_decisions(out_dir, unit, dropped)
        write_json_atomic(out_dir / "report.json", {
            "units": "lines" if self.params.unit == "line" else "paragraphs",
            "total": int(total), "removed": removed, "bloom_bits": bloom.bits_count,
            "bloom_probes": bloom.probes,
            "expected_false_positive_rate": bloom.expected_false_positive_rate(total)})

    def decision(self, drop: list[int]) -> list[int]:
        return drop

    def apply(self, doc: Document, drop: list[int] | None) -> str | None:
        doc.meta["dup_paragraphs"] = len(drop) if drop else 0
        if not drop:
            return None
        parts, dropped = split_units(doc.text, self.params.unit), set(drop)
        kept = [i for i in range(0, len(parts), 2) if i // 2 not in dropped]
        if not kept:
            return "all_duplicate"
        if self.annotate_only:
            return None
        pieces = []
        for n, i in enumerate(kept):
            pieces.append(parts[i])
            if n + 1 < len(kept):
                pieces.append(parts[i + 1] if i + 1 < len(parts) else "\n")
        doc.set_text("".join(pieces))
        return None


def _seen_before(hashes: np.ndarray, bloom: BloomFilter) -> np.ndarray:
    """Duplicate mask in order: exact within this array, Bloom against earlier arrays."""
    real = hashes != _EMPTY
    _, first = np.unique(hashes, return_index=True)
    repeat = np.ones(len(hashes), dtype=bool)
    repeat[first] = False
    duplicate = real & (repeat | bloom.contains(hashes))
    bloom.add(hashes[real])
    return duplicate


def _dropped_units(duplicate: np.ndarray, counts: np.ndarray) -> dict[str, Any] | None:
    """Rows with something to drop, and the indices of their duplicate units."""
    doc_of = np.repeat(np.arange(len(counts)), counts)
    index_in_doc = np.arange(len(doc_of)) - np.repeat(np.cumsum(counts) - counts, counts)
    hit = np.flatnonzero(duplicate)
    if len(hit) == 0:
        return None
    rows, starts = np.unique(doc_of[hit], return_index=True)
    drops = [part.tolist() for part in np.split(index_in_doc[hit].astype(np.int32), starts[1:])]
    return {"row": rows, "drop": drops}
