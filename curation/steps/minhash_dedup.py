"""Near-duplicate removal with MinHash LSH, in three stages the executor can resume.

map:    each unit saves its documents' signatures (n x num_perm uint32), band keys stored
        band-major (bands x n uint64), a rank value for the keep rule, and a has-shingles mask.
reduce: per band, sort the keys of every unit and link documents with equal keys; optionally
        drop links whose estimated Jaccard is below the threshold; connected components;
        one document per component is kept by the keep rule; decisions are written per unit.
apply:  the next stage records cluster columns and rejects the other members.

Reduce memory (docs/dedup.md derives it): about 27 bytes per document while a band is
sorted, about 60 per candidate pair and 4 x num_perm + ~100 per document with a candidate;
band keys, signature rows, ids and texts are read from the unit files as needed, never
memory-mapped and never all at once.
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from curation.core.document import Document
from curation.core.errors import ConfigError
from curation.core.registry import register
from curation.dedup import minhash, npy
from curation.dedup.clusters import components, representatives, unpack_pairs
from curation.dedup.report import cluster_report
from curation.dedup.unit_arrays import UnitArrays
from curation.steps.base import FilterParams, GlobalStep
from gristmill.atomic import write_json_atomic

BATCH_DOCS = 64


class MinhashParams(FilterParams):
    ngram: int = Field(5, ge=1, le=64, description="words per shingle")
    num_perm: int = Field(112, ge=2, le=1024, description="hash permutations per signature")
    bands: int | None = Field(None, ge=1, description="LSH bands (default 14, or from threshold)")
    rows: int | None = Field(None, ge=1, description="rows per band (default 8, or from threshold)")
    threshold: float | None = Field(
        None, gt=0, lt=1, description="target Jaccard: when bands/rows are not given, picks "
                                      "them so pairs this similar are found 90% of the time")
    verify: bool = Field(
        False, description="drop candidate pairs whose estimated Jaccard is below the threshold "
                           "(without one: (1/bands)^(1/rows), 0.72 for 14 x 8)")
    keep: Literal["first", "longest", "quality"] = Field(
        "first", description="which member of a cluster stays: input order, most characters, "
                             "or highest `quality_field`")
    quality_field: str = Field("quality_score", description="column used by keep: quality")
    seed: int = Field(1, description="permutation seed (datasketch's default is 1)")

    @model_validator(mode="after")
    def _choose_bands(self) -> MinhashParams:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither")
        if self.bands is None:
            self.bands, self.rows = (14, 8) if self.threshold is None else \
                minhash.bands_for_threshold(self.threshold, self.num_perm)
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm "
                             f"{self.num_perm}")
        return self

    @property
    def effective_threshold(self) -> float:
        """The given threshold, or where the S-curve of bands/rows crosses 1/2 roughly."""
        return self.threshold or (1 / self.bands) ** (1 / self.rows)


class MinhashDecision(NamedTuple):
    rule: str | None
    duplicate_of: str | None
    size: int
    jaccard: float | None


class _SignatureCollector:
    """Signatures and band keys of one unit's kept documents, computed in batches.

    Held per document until `save`: the signature (4 x num_perm bytes), its band keys
    (8 x bands), rank and mask (9). The files are written chunk by chunk, never
    concatenated, so a unit's peak stays at that and not twice it.
    """

    def __init__(self, step: MinhashDedup, position: int):
        self.step, self.position = step, position
        self.texts: list[str] = []
        self.signatures: list[np.ndarray] = []
        self.keys: list[np.ndarray] = []
        self.has_shingles: list[np.ndarray] = []
        self.rank = array("d")

    def add(self, doc: Document) -> None:
        self.texts.append(doc.text)
        self.rank.append(self.step.rank(doc))
        if len(self.texts) >= BATCH_DOCS:
            self._flush()

    def _flush(self) -> None:
        p = self.step.params
        hashes, counts = minhash.shingle_hashes(self.texts, p.ngram)
        signatures = minhash.signatures(hashes, counts, self.step.perms)
        self.signatures.append(signatures)
        self.keys.append(minhash.band_keys(signatures, p.bands, p.rows))
        self.has_shingles.append(counts > 0)
        self.texts = []

    def save(self, directory: Path) -> None:
        if self.texts:
            self._flush()
        p = self.step.params
        npy.save_rows(directory / f"minhash-{self.position}.npy", self.signatures,
                   (p.num_perm,), np.uint32)
        keys = np.concatenate(self.keys, axis=1) if self.keys else \
            np.empty((p.bands, 0), dtype=np.uint64)
        np.save(directory / f"bands-{self.position}.npy", keys)
        np.save(directory / f"rank-{self.position}.npy", np.frombuffer(self.rank, np.float64))
        has = np.concatenate(self.has_shingles) if self.has_shingles else np.empty(0, bool)
        np.save(directory / f"shingled-{self.position}.npy", has)


@register
class MinhashDedup(GlobalStep):
    """Remove near duplicates (MinHash LSH over word n-grams); one document per cluster stays."""

    name = "minhash_dedup"
    handles_chat = True  # on the rendered conversation (docs/shard-format.md#chat-rows)
    Params = MinhashParams
    columns = {"dup_cluster": pa.string(), "dup_cluster_size": pa.int32(),
               "dup_jaccard": pa.float32()}
    decision_schema = pa.schema([("row", pa.int64()), ("rule", pa.string()),
                                 ("cluster", pa.string()), ("size", pa.int64()),
                                 ("jaccard", pa.float32())])

    def __init__(self, params: Any = None):
        super().__init__(params)
        self.perms = minhash.permutations(self.params.num_perm, self.params.seed)

    def rank(self, doc: Document) -> float:
        """Higher stays: length for keep=longest, the quality column for keep=quality."""
        if self.params.keep == "longest":
            return float(len(doc.text))
        if self.params.keep == "quality":
            return _quality(doc.meta, self.params.quality_field)
        return 0.0

    def collector(self, position: int) -> _SignatureCollector:
        return _SignatureCollector(self, position)

    def reduce(self, unit_dirs: dict[int, Path], position: int, out_dir: Path) -> None:
        units = UnitArrays(unit_dirs, position)
        edges = self._candidate_edges(units)
        report: dict[str, Any] = {"candidate_pairs": len(edges)}
        if self.params.verify:
            edges = edges[self.similar(units, edges)]
            report["verified_pairs"] = len(edges)
        members, labels = components(edges)
        self.decide(units, members, labels, report, out_dir)

    def _candidate_edges(self, units: UnitArrays) -> np.ndarray:
        """Pairs (first document of a bucket, other member) over all bands, de-duplicated.

        Pairs are packed into one int64 (first * total + other) and merged band by band,
        so memory holds the distinct pairs, not one copy per band that found them."""
        codes = np.empty(0, dtype=np.int64)
        for band in range(self.params.bands):
            codes = np.union1d(codes, self.band_codes(units, band))
        return unpack_pairs(codes, units.total)

    @staticmethod
    def band_codes(units: UnitArrays, band: int) -> np.ndarray:
        """One band's candidate pairs, packed (first * total + other), unsorted."""
        keys = units.band(band)
        order = np.argsort(keys, kind="stable")
        order = order[units.shingled[order]]  # texts without shingles share one key
        sorted_keys = keys[order]
        del keys
        same = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1]) + 1
        first = np.searchsorted(sorted_keys, sorted_keys[same])  # start of each bucket
        return order[first] * units.total + order[same]

    def similar(self, units: UnitArrays, edges: np.ndarray) -> np.ndarray:
        """verify: which pairs' estimated Jaccard reaches the threshold."""
        sigs = units.signature_rows(np.unique(edges))
        return sigs.jaccard(edges[:, 0], edges[:, 1]) >= self.params.effective_threshold

    def decide(self, units: UnitArrays, members: np.ndarray, labels: np.ndarray,
               report: dict[str, Any], out_dir: Path) -> None:
        """From components (sorted members, labels in order of first member) to per-unit
        decisions and report.json; the single-node and the Ray reduce both end here."""
        reps = representatives(labels, members, units.rank(members))[labels]
        rep_ids = units.ids(reps)
        sizes = np.bincount(labels)[labels]
        jaccard = units.signature_rows(members).jaccard(members, reps)
        self._write_decisions(units, members, reps, rep_ids, sizes, jaccard, out_dir)
        report.update(cluster_report(units, members, labels, reps, rep_ids),
                      bands=self.params.bands, rows=self.params.rows)
        write_json_atomic(out_dir / "report.json", report)

    def _write_decisions(self, units: UnitArrays, members: np.ndarray, reps: np.ndarray,
                         rep_ids: np.ndarray, sizes: np.ndarray, jaccard: np.ndarray,
                         out_dir: Path) -> None:
        for p, rows, mine in units.by_unit(members):
            is_rep = members[mine] == reps[mine]
            self.write_decisions(out_dir, int(units.units[p]), {
                "row": rows, "rule": np.where(is_rep, None, "near_duplicate"),
                "cluster": rep_ids[mine], "size": sizes[mine],
                "jaccard": np.where(is_rep, np.nan, jaccard[mine]).astype(np.float32),
            })

    def decision(self, rule: str | None, cluster: str, size: int,
                 jaccard: float | None) -> MinhashDecision:
        kept = rule is None
        return MinhashDecision(rule, None if kept else cluster, size, None if kept else jaccard)

    def ray_reduce(self) -> Callable[..., None]:
        from curation.dedup.ray_reduce import reduce_minhash  # needs Ray: only with executor ray

        return reduce_minhash

    def apply(self, doc: Document, decision: MinhashDecision | None) -> str | None:
        if decision is None:
            doc.meta.update(dup_cluster=None, dup_cluster_size=1, dup_jaccard=None)
            return None
        cluster = decision.duplicate_of or doc.id
        doc.meta.update(dup_cluster=cluster, dup_cluster_size=decision.size,
                        dup_jaccard=decision.jaccard)
        return decision.rule

    @staticmethod
    def report(out_dir: Path) -> dict[str, Any]:
        return json.loads((out_dir / "report.json").read_text())


def _quality(meta: dict[str, Any], field: str) -> float:
    """A document's quality score for keep=quality. Input metadata is stored as text, so a
    number written as a string counts; a missing, non-numeric or NaN value ranks last."""
    if field not in meta:
        raise ConfigError(f"minhash_dedup: keep: quality reads the column '{field}', which no "
                          "document has; list it in input.metadata, compute it in a step "
                          "before minhash_dedup, or set quality_field")
    value = meta[field]
    if isinstance(value, bool):
        return -math.inf
    try:
        number = float(value)
    except (TypeError, ValueError):
        return -math.inf
    return -math.inf if math.isnan(number) else number
