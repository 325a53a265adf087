"""Near-duplicate removal with MinHash LSH, in three stages the executor can resume.

map:    each unit saves its documents' signatures (n x num_perm uint32), band keys stored
        band-major (bands x n uint64), a rank value for the keep rule, and a has-shingles mask.
reduce: per band, sort the keys of every unit and link documents with equal keys; optionally
        drop links whose estimated Jaccard is below the threshold; connected components;
        one document per component is kept by the keep rule; decisions are written per unit.
apply:  the next stage records cluster columns and rejects the other members.

Reduce memory is about 40 bytes per document plus 16 per candidate link (see
docs/dedup.md); signatures are memory-mapped and only the rows of linked documents read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field, model_validator
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from curation import minhash
from curation.document import Document
from curation.io.atomic import write_json_atomic, write_parquet_atomic
from curation.registry import register
from curation.steps.base import FilterParams, GlobalStep, kept_files
from curation.steps.dedup_report import cluster_report
from curation.steps.keyed_dedup import lookup_ids

BATCH_DOCS = 64
_DECISIONS = pa.schema([("row", pa.int64()), ("rule", pa.string()), ("cluster", pa.string()),
                        ("size", pa.int64()), ("jaccard", pa.float32())])


class MinhashParams(FilterParams):
    ngram: int = Field(5, ge=1, le=64, description="words per shingle")
    num_perm: int = Field(112, ge=2, le=1024, description="hash permutations per signature")
    bands: int | None = Field(None, ge=1, description="LSH bands (default 14, or from threshold)")
    rows: int | None = Field(None, ge=1, description="rows per band (default 8, or from threshold)")
    threshold: float | None = Field(
        None, gt=0, lt=1, description="target Jaccard: picks bands/rows when they are not given")
    verify: bool = Field(
        False, description="drop candidate pairs whose estimated Jaccard is below the threshold")
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
    """Signatures of one unit's kept documents, computed in batches."""

    def __init__(self, step: MinhashDedup, position: int):
        self.step, self.position = step, position
        self.texts: list[str] = []
        self.signatures: list[np.ndarray] = []
        self.has_shingles: list[np.ndarray] = []
        self.rank: list[float] = []

    def add(self, doc: Document) -> None:
        self.texts.append(doc.text)
        self.rank.append(self.step.rank(doc))
        if len(self.texts) >= BATCH_DOCS:
            self._flush()

    def _flush(self) -> None:
        p = self.step.params
        hashes, counts = minhash.shingle_hashes(self.texts, p.ngram)
        self.signatures.append(minhash.signatures(hashes, counts, self.step.perms))
        self.has_shingles.append(counts > 0)
        self.texts = []

    def save(self, directory: Path) -> None:
        if self.texts:
            self._flush()
        p = self.step.params
        sigs = np.concatenate(self.signatures) if self.signatures else \
            np.empty((0, p.num_perm), dtype=np.uint32)
        np.save(directory / f"minhash-{self.position}.npy", sigs)
        np.save(directory / f"bands-{self.position}.npy", minhash.band_keys(sigs, p.bands, p.rows))
        np.save(directory / f"rank-{self.position}.npy", np.array(self.rank, dtype=np.float64))
        has = np.concatenate(self.has_shingles) if self.has_shingles else np.empty(0, bool)
        np.save(directory / f"shingled-{self.position}.npy", has)


@register
class MinhashDedup(GlobalStep):
    """Remove near duplicates (MinHash LSH over word n-grams); one document per cluster stays."""

    name = "minhash_dedup"
    Params = MinhashParams
    columns = {"dup_cluster": pa.string(), "dup_cluster_size": pa.int32(),
               "dup_jaccard": pa.float32()}

    def __init__(self, params: Any = None):
        super().__init__(params)
        self.perms = minhash.permutations(self.params.num_perm, self.params.seed)

    def rank(self, doc: Document) -> float:
        """Higher stays: length for keep=longest, the quality column for keep=quality."""
        if self.params.keep == "longest":
            return float(len(doc.text))
        if self.params.keep == "quality":
            value = doc.meta.get(self.params.quality_field)
            return float(value) if isinstance(value, (int, float)) else float("-inf")
        return 0.0

    def collector(self, position: int) -> _SignatureCollector:
        return _SignatureCollector(self, position)

    def reduce(self, unit_dirs: dict[int, Path], position: int, out_dir: Path) -> None:
        units = _UnitArrays(unit_dirs, position)
        edges = self._candidate_edges(units)
        if self.params.verify and len(edges):
            similar = units.jaccard(edges[:, 0], edges[:, 1]) >= self.params.effective_threshold
            edges = edges[similar]
        labels, sizes = _components(edges, units.total)
        members = np.flatnonzero(sizes[labels] > 1)
        reps = _representatives(labels[members], members, units.rank[members])
        rep_of_member = reps[np.searchsorted(np.unique(labels[members]), labels[members])] \
            if len(members) else members
        rep_ids = lookup_ids(*units.locate(rep_of_member), unit_dirs)
        jaccard = units.jaccard(members, rep_of_member) if len(members) else np.empty(0)
        self._write_decisions(units, members, rep_of_member, rep_ids, sizes[labels[members]],
                              jaccard, out_dir)
        report = cluster_report(units, labels, members, rep_of_member, unit_dirs)
        report.update(bands=self.params.bands, rows=self.params.rows,
                      candidate_pairs=len(edges))
        write_json_atomic(out_dir / "report.json", report)

    def _candidate_edges(self, units: _UnitArrays) -> np.ndarray:
        """Pairs (first document of a bucket, other member) over all bands, de-duplicated."""
        found = []
        for band in range(self.params.bands):
            keys = units.band(band)
            order = np.argsort(keys, kind="stable")
            order = order[units.shingled[order]]
            sorted_keys = keys[order]
            same = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1]) + 1
            if len(same) == 0:
                continue
            group_start = np.maximum.accumulate(
                np.where(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])),
                         np.arange(len(order)), 0))
            found.append(np.stack([order[group_start[same]], order[same]], axis=1))
        if not found:
            return np.empty((0, 2), dtype=np.int64)
        return np.unique(np.concatenate(found), axis=0)

    def _write_decisions(self, units: _UnitArrays, members: np.ndarray, reps: np.ndarray,
                         rep_ids: np.ndarray, sizes: np.ndarray, jaccard: np.ndarray,
                         out_dir: Path) -> None:
        unit, row = units.locate(members)
        for u in np.unique(unit):
            mine = unit == u
            is_rep = members[mine] == reps[mine]
            table = pa.table({
                "row": row[mine], "rule": np.where(is_rep, None, "near_duplicate"),
                "cluster": rep_ids[mine], "size": sizes[mine],
                "jaccard": np.where(is_rep, np.nan, jaccard[mine]).astype(np.float32),
            }, schema=_DECISIONS)
            write_parquet_atomic(table, out_dir / f"u{int(u):05d}.parquet")

    def load_decisions(self, out_dir: Path, unit: int) -> dict[int, MinhashDecision]:
        path = out_dir / f"u{unit:05d}.parquet"
        if not path.exists():
            return {}
        t = pq.read_table(path).to_pydict()
        return {row: MinhashDecision(rule, None if rule is None else cluster, size,
                                     None if rule is None else jac)
                for row, rule, cluster, size, jac in zip(
                    t["row"], t["rule"], t["cluster"], t["size"], t["jaccard"], strict=True)}

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


class _UnitArrays:
    """Every unit's saved arrays addressed by one global index (unit order, then row)."""

    def __init__(self, unit_dirs: dict[int, Path], position: int):
        self.units = list(unit_dirs)
        self.dirs = list(unit_dirs.values())
        self.sigs = [np.load(d / f"minhash-{position}.npy", mmap_mode="r") for d in self.dirs]
        self.bands = [np.load(d / f"bands-{position}.npy", mmap_mode="r") for d in self.dirs]
        sizes = np.array([len(s) for s in self.sigs], dtype=np.int64)
        self.offsets = np.concatenate(([0], np.cumsum(sizes)))
        self.total = int(self.offsets[-1])
        self.rank = _concat([np.load(d / f"rank-{position}.npy") for d in self.dirs], np.float64)
        self.shingled = _concat([np.load(d / f"shingled-{position}.npy") for d in self.dirs],
                                bool)

    def band(self, band: int) -> np.ndarray:
        return _concat([b[band] for b in self.bands], np.uint64)

    def locate(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Global indices -> (unit index, row in unit)."""
        position = np.searchsorted(self.offsets, index, side="right") - 1
        return np.array(self.units, dtype=np.int64)[position], index - self.offsets[position]

    def signatures(self, index: np.ndarray) -> np.ndarray:
        out = np.empty((len(index), self.sigs[0].shape[1] if self.sigs else 0), np.uint32)
        position = np.searchsorted(self.offsets, index, side="right") - 1
        for p in np.unique(position):
            mine = position == p
            out[mine] = self.sigs[p][index[mine] - self.offsets[p]]
        return out

    def jaccard(self, left: np.ndarray, right: np.ndarray, chunk: int = 65536) -> np.ndarray:
        """Estimated Jaccard: the share of equal signature values."""
        out = np.empty(len(left), dtype=np.float64)
        for low in range(0, len(left), chunk):
            a = self.signatures(left[low:low + chunk])
            b = self.signatures(right[low:low + chunk])
            out[low:low + chunk] = (a == b).mean(axis=1)
        return out

    def text(self, index: int) -> str:
        unit, row = self.locate(np.array([index]))
        position = self.units.index(int(unit[0]))
        table = pa.concat_tables([pq.read_table(p, columns=["text"])
                                  for p in kept_files(self.dirs[position])])
        return table.column("text")[int(row[0])].as_py()


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def _components(edges: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Connected-component label per document and the size of each component."""
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])),
                       shape=(total, total))
    _, labels = connected_components(graph, directed=False)
    return labels, np.bincount(labels)


def _representatives(labels: np.ndarray, members: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Per component (ascending label): the member with the highest rank, then the first."""
    order = np.lexsort((members, -rank, labels))
    first = np.concatenate(([True], labels[order][1:] != labels[order][:-1]))
    return members[order][first]
