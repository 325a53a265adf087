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
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field, model_validator

from curation.core.document import Document
from curation.core.errors import ConfigError
from curation.core.registry import register
from curation.dedup import minhash
from curation.dedup.report import cluster_report
from curation.steps.base import FilterParams, GlobalStep, kept_files
from gristmill.atomic import write_json_atomic, write_parquet_atomic

BATCH_DOCS = 64
_DECISIONS = pa.schema([("row", pa.int64()), ("rule", pa.string()), ("cluster", pa.string()),
                        ("size", pa.int64()), ("jaccard", pa.float32())])


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
        _save_rows(directory / f"minhash-{self.position}.npy", self.signatures,
                   (p.num_perm,), np.uint32)
        keys = np.concatenate(self.keys, axis=1) if self.keys else \
            np.empty((p.bands, 0), dtype=np.uint64)
        np.save(directory / f"bands-{self.position}.npy", keys)
        np.save(directory / f"rank-{self.position}.npy", np.frombuffer(self.rank, np.float64))
        has = np.concatenate(self.has_shingles) if self.has_shingles else np.empty(0, bool)
        np.save(directory / f"shingled-{self.position}.npy", has)


def _save_rows(path: Path, chunks: list[np.ndarray], row_shape: tuple[int, ...],
               dtype: type) -> None:
    """np.save of the row-wise concatenation of `chunks`, without building it."""
    shape = (sum(len(c) for c in chunks), *row_shape)
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {
            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
            "shape": shape})
        for chunk in chunks:
            handle.write(np.ascontiguousarray(chunk, dtype=dtype).data)


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
        reps = _representatives(labels, members, units.rank(members))[labels]
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
            table = pa.table({
                "row": rows, "rule": np.where(is_rep, None, "near_duplicate"),
                "cluster": rep_ids[mine], "size": sizes[mine],
                "jaccard": np.where(is_rep, np.nan, jaccard[mine]).astype(np.float32),
            }, schema=_DECISIONS)
            write_parquet_atomic(table, out_dir / f"u{int(units.units[p]):05d}.parquet")

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


class UnitArrays:
    """Every unit's saved arrays addressed by one global index (unit order, then row).

    Only the has-shingles mask (1 byte per document) is held for the whole reduce. Band
    keys, ranks and signatures are read from the unit files when needed, with plain reads
    rather than memory maps, so RSS holds exactly what the reduce asked for.
    """

    def __init__(self, unit_dirs: dict[int, Path], position: int):
        self.units = np.array(list(unit_dirs), dtype=np.int64)
        self.dirs = list(unit_dirs.values())
        self.position = position
        self.shingled = _concat([np.load(self._path(d, "shingled")) for d in self.dirs], bool)
        sizes = [_npy_shape(self._path(d, "minhash"))[0] for d in self.dirs]
        self.offsets = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64)))
        self.total = int(self.offsets[-1])

    def _path(self, directory: Path, kind: str) -> Path:
        return directory / f"{kind}-{self.position}.npy"

    def band(self, band: int) -> np.ndarray:
        """One band's keys of every document, in global order, read straight into place."""
        keys = np.empty(self.total, dtype=np.uint64)
        for p, directory in enumerate(self.dirs):
            _read_npy_row(self._path(directory, "bands"), band,
                          keys[self.offsets[p]:self.offsets[p + 1]])
        return keys

    def by_unit(self, index: np.ndarray) -> Iterator[tuple[int, np.ndarray, slice]]:
        """(position of a unit, its rows, the slice of `index` they are) for sorted
        global indices: one pass over the units, however many there are."""
        bounds = np.searchsorted(index, self.offsets)
        for p in np.flatnonzero(np.diff(bounds)):
            where = slice(int(bounds[p]), int(bounds[p + 1]))
            yield int(p), index[where] - self.offsets[p], where

    def rank(self, index: np.ndarray) -> np.ndarray:
        """Keep-rule rank of the documents at sorted global indices."""
        out = np.empty(len(index), dtype=np.float64)
        for p, rows, where in self.by_unit(index):
            out[where] = np.load(self._path(self.dirs[p], "rank"))[rows]
        return out

    def signature_rows(self, index: np.ndarray) -> _SignatureRows:
        """The signatures of the documents at sorted, unique global indices."""
        rows_out = np.empty((len(index), self._num_perm()), dtype=np.uint32)
        for p, rows, where in self.by_unit(index):
            rows_out[where] = _read_npy_rows(self._path(self.dirs[p], "minhash"), rows)
        return _SignatureRows(index, rows_out)

    def _num_perm(self) -> int:
        return _npy_shape(self._path(self.dirs[0], "minhash"))[1] if self.dirs else 0

    def ids(self, index: np.ndarray) -> np.ndarray:
        """The ids of the documents at global indices (any order, repeats allowed)."""
        wanted, back = np.unique(index, return_inverse=True)
        found = np.empty(len(wanted), dtype=object)
        for p, rows, where in self.by_unit(wanted):
            found[where] = _column_values(kept_files(self.dirs[p]), rows, "id")
        return found[back]

    def text(self, index: int) -> str:
        """One document's text."""
        (p, rows, _), = self.by_unit(np.array([index]))
        return _column_values(kept_files(self.dirs[p]), rows, "text")[0]


class _SignatureRows:
    """Signatures of a sorted set of documents, looked up by global index."""

    def __init__(self, index: np.ndarray, rows: np.ndarray):
        self.index, self.rows = index, rows

    def jaccard(self, left: np.ndarray, right: np.ndarray, chunk: int = 16384) -> np.ndarray:
        """Estimated Jaccard of each pair: the share of equal signature values."""
        out = np.empty(len(left), dtype=np.float64)
        for low in range(0, len(left), chunk):
            a = self.rows[np.searchsorted(self.index, left[low:low + chunk])]
            b = self.rows[np.searchsorted(self.index, right[low:low + chunk])]
            out[low:low + chunk] = (a == b).mean(axis=1)
        return out


def _npy_header(handle: BinaryIO) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of a C-order .npy file; leaves `handle` at the first value."""
    version = np.lib.format.read_magic(handle)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
        np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(handle)
    assert not fortran, "minhash arrays are saved in C order"
    return shape, dtype


def _npy_shape(path: Path) -> tuple[int, ...]:
    with open(path, "rb") as handle:
        return _npy_header(handle)[0]


def _read_npy_row(path: Path, row: int, out: np.ndarray) -> None:
    """Row `row` of a 2-D .npy file into `out`, with one seek and one read."""
    with open(path, "rb") as handle:
        shape, dtype = _npy_header(handle)
        assert dtype == out.dtype and shape[1] == len(out), f"{path}: unexpected {shape}"
        handle.seek(row * shape[1] * dtype.itemsize, 1)
        if handle.readinto(memoryview(out).cast("B")) != out.nbytes:
            raise OSError(f"{path}: truncated")


def _read_npy_rows(path: Path, rows: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Sorted rows of a 2-D .npy file, read in sequential chunks of `chunk` rows."""
    with open(path, "rb") as handle:
        shape, dtype = _npy_header(handle)
        data_start = handle.tell()
        width = shape[1] * dtype.itemsize
        out = np.empty((len(rows), shape[1]), dtype=dtype)
        block = rows // chunk
        cuts = np.flatnonzero(np.diff(block, prepend=-1))
        for low, high in zip(cuts, [*cuts[1:], len(rows)], strict=True):
            first = int(block[low]) * chunk
            count = min(chunk, shape[0] - first)
            handle.seek(data_start + first * width)
            values = np.fromfile(handle, dtype=dtype, count=count * shape[1])
            out[low:high] = values.reshape(count, shape[1])[rows[low:high] - first]
        return out


def _column_values(files: list[Path], rows: np.ndarray, column: str,
                   batch_rows: int = 8192) -> list[Any]:
    """Values of `column` at sorted `rows` of a unit's kept files (rows count across the
    files in order). Only row groups holding a wanted row are decoded, in batches, and
    reading stops at the last wanted row: a few example texts never load a whole shard."""
    out: list[Any] = []
    first = 0  # index of the current row group's first row
    for path in files:
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            size = parquet.metadata.row_group(group).num_rows
            low, high = np.searchsorted(rows, [first, first + size])
            batches = parquet.iter_batches(batch_rows, row_groups=[group], columns=[column])
            start = first
            while low < high:
                batch = next(batches)
                end = int(np.searchsorted(rows, start + batch.num_rows))
                out += batch.column(0).take(pa.array(rows[low:end] - start)).to_pylist()
                low, start = end, start + batch.num_rows
            first += size
    return out


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


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def unpack_pairs(codes: np.ndarray, total: int) -> np.ndarray:
    """Packed pair codes -> (n, 2) global indices."""
    return np.stack(np.divmod(codes, max(total, 1)), axis=1)


def components(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Documents in some edge (sorted global indices) and their component labels (0..k-1,
    in order of each component's first document). The graph holds only linked documents,
    so its size follows the duplicates, not the corpus."""
    # scipy.sparse takes about a second to import; every run loads every step module
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(edges) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)
    members, local = np.unique(edges, return_inverse=True)
    local = local.reshape(-1, 2)
    graph = coo_matrix((np.ones(len(local), dtype=np.int8), (local[:, 0], local[:, 1])),
                       shape=(len(members), len(members)))
    _, labels = connected_components(graph, directed=False)
    return members, labels


def _representatives(labels: np.ndarray, members: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Per component (ascending label): the member with the highest rank, then the first."""
    order = np.lexsort((members, -rank, labels))
    first = np.ones(len(order), dtype=bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    return members[order][first]
