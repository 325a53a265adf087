"""One unit of work: one input file through one stage, written atomically.

Runs in a worker process (or a Ray task later): reads the unit, applies the stage's
steps, writes kept and rejected rows, and publishes the unit directory in one rename.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curation.core.counters import StepCounts
from curation.core.document import Document, Rejected
from curation.core.errors import InputFileError
from curation.core.pipeline import Pipeline, Stage
from curation.io.readers import InputFile, read_file
from curation.io.records import DocBatch
from curation.io.shards import ShardWriter, doc_row, rejected_row
from curation.run.workdir import WorkDir, commit_dir
from curation.steps.base import GlobalStep

DONE_FILE = "done.json"
ProgressHook = Callable[[int], None]


@dataclass
class UnitResult:
    """What a finished (or failed) unit reports back to the executor."""

    unit: int
    counts: list[StepCounts | None]
    files: dict[str, list[dict]]
    error: str | None = None


def run_unit(pipeline: Pipeline, stage: Stage, unit: InputFile, work: WorkDir,
             strict: bool = False, progress: ProgressHook | None = None) -> UnitResult:
    """Process a unit unless its directory already exists (then report what it recorded)."""
    final = work.unit_dir(stage.index, unit.index)
    if (final / DONE_FILE).exists():
        return load_result(final, unit.index)
    tmp = work.fresh_tmp(final)
    try:
        result = _process(pipeline, stage, unit, work, tmp, strict, progress or (lambda n: None))
    except InputFileError as err:
        return UnitResult(unit.index, [], {}, error=str(err))
    (tmp / DONE_FILE).write_text(json.dumps(_result_json(result, tmp), indent=1))
    commit_dir(tmp, final)
    return load_result(final, unit.index)


def load_result(directory: Path, unit: int) -> UnitResult:
    data = json.loads((directory / DONE_FILE).read_text())
    counts = [None if c is None else StepCounts.from_dict(c) for c in data["counts"]]
    files = {k: [{**f, "path": str(directory / f["path"])} for f in v]
             for k, v in data["files"].items()}
    return UnitResult(unit, counts, files)


def _result_json(result: UnitResult, tmp: Path) -> dict:
    counts = [None if c is None else c.to_dict() for c in result.counts]
    files = {k: [{**f, "path": str(Path(f["path"]).relative_to(tmp))} for f in v]
             for k, v in result.files.items()}
    return {"counts": counts, "files": files}


class _Sinks:
    """Writers of one unit: kept rows (by split on the last stage), rejected rows, keys."""

    def __init__(self, pipeline: Pipeline, stage: Stage, tmp: Path):
        cfg = pipeline.config.output
        self.last = stage.index == len(pipeline.stages) - 1
        self.split = self.last and pipeline.has_split
        self.keep_rejected = cfg.write_rejected
        names = (["train", "validation"] if self.split else ["data"]) if self.last else ["kept"]
        self.kept = {name: ShardWriter(tmp, name, pipeline.schema, cfg, temporary=not self.last)
                     for name in names}
        self.rejected = ShardWriter(tmp, "rejected", pipeline.rejected_schema, cfg)

    def keep(self, doc: Document) -> None:
        target = doc.meta["split"] if self.split else next(iter(self.kept))
        self.kept[target].write(doc_row(doc), doc.nbytes)

    def keep_batch(self, docs: DocBatch) -> None:
        """Documents no step looks at: Arrow columns straight to the writer."""
        assert not self.split
        next(iter(self.kept.values())).write_batch(docs.batch, docs.text_bytes)

    def reject(self, rej: Rejected) -> None:
        if self.keep_rejected:
            self.rejected.write(rejected_row(rej), rej.doc.nbytes + len(rej.raw or b""))

    def close(self) -> dict[str, list[dict]]:
        writers = {**self.kept, "rejected": self.rejected}
        return {name: [{**asdict(s), "path": str(s.path)} for s in w.close()]
                for name, w in writers.items()}


def _process(pipeline: Pipeline, stage: Stage, unit: InputFile, work: WorkDir, tmp: Path,
             strict: bool, progress: ProgressHook) -> UnitResult:
    counts: list[StepCounts | None] = [None] * len(pipeline.names)
    for position in _positions(stage):
        counts[position] = StepCounts(pipeline.names[position])
    if stage.exit is not None:  # the global step's map-side time (its documents count later)
        counts[stage.exit] = StepCounts(pipeline.names[stage.exit])
    sinks = _Sinks(pipeline, stage, tmp)
    decisions = _decisions(pipeline, stage, work, unit.index)
    collector = None
    if stage.exit is not None:
        exit_step = pipeline.step(stage.exit)
        assert isinstance(exit_step, GlobalStep)
        collector = exit_step.collector(stage.exit)
    row = -1
    for record in _source(pipeline, stage, unit, work, counts, strict):
        if isinstance(record, DocBatch):
            sinks.keep_batch(record)
            progress(record.num_rows)
            continue
        row += 1
        if row % 1000 == 999:
            progress(1000)
        if isinstance(record, Rejected):
            sinks.reject(record)
            continue
        rejected = _apply_steps(pipeline, stage, record, decisions.get(row), counts)
        if rejected is not None:
            sinks.reject(rejected)
            continue
        if collector is not None:
            start = time.perf_counter()
            collector.add(record)
            counts[stage.exit].seconds += time.perf_counter() - start
        sinks.keep(record)
    progress((row + 1) % 1000)
    files = sinks.close()
    if collector is not None:
        start = time.perf_counter()
        collector.save(tmp)
        counts[stage.exit].seconds += time.perf_counter() - start
    return UnitResult(unit.index, counts, files)


def _positions(stage: Stage) -> list[int]:
    first = [0] if stage.index == 0 else [stage.entry]
    return [*first, *stage.maps]


def _decisions(pipeline: Pipeline, stage: Stage, work: WorkDir, unit: int) -> dict:
    if stage.entry is None:
        return {}
    step = pipeline.step(stage.entry)
    assert isinstance(step, GlobalStep)
    return step.load_decisions(work.reduce_dir(stage.entry), unit)


def _source(pipeline: Pipeline, stage: Stage, unit: InputFile, work: WorkDir,
            counts: list[StepCounts | None], strict: bool
            ) -> Iterator[Document | Rejected | DocBatch]:
    """Stage 0 reads the input file (counting under `read`); later stages read stage k-1.

    Batches of documents come through as they are only where no step will see them."""
    if stage.index > 0:
        yield from _previous_stage(pipeline, stage, unit, work)
        return
    read = counts[0]
    untouched = not stage.maps and stage.exit is None
    # Records that are not documents (a WARC's requests...) are counted as flagged.
    for record in read_file(unit, pipeline.config.input, skipped=read.flagged, batches=True):
        if isinstance(record, DocBatch):
            size = int(record.text_bytes.sum())
            read.docs_in += record.num_rows
            read.docs_out += record.num_rows
            read.bytes_in += size
            read.bytes_out += size
            yield from [record] if untouched else record.documents()
            continue
        read.docs_in += 1
        if isinstance(record, Rejected):
            if strict:
                raise InputFileError(unit.url, f"record {record.doc.id}: {record.reason} "
                                     "(--strict makes bad records fatal)")
            read.rejected[record.reason.split(":", 1)[1]] += 1
            read.bytes_in += len(record.raw or b"") or record.doc.nbytes
        else:
            read.docs_out += 1
            read.bytes_in += record.nbytes
            read.bytes_out += record.nbytes
        yield record


def _previous_stage(pipeline: Pipeline, stage: Stage, unit: InputFile,
                    work: WorkDir) -> Iterator[Document]:
    directory = work.unit_dir(stage.index - 1, unit.index)
    for path in sorted(directory.glob("kept-*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(8192):
            yield from DocBatch.of(batch).documents()


def _apply_steps(pipeline: Pipeline, stage: Stage, doc: Document, decision: Any,
                 counts: list[StepCounts | None]) -> Rejected | None:
    """Run the stage's steps on one document; the first drop wins and is recorded."""
    if stage.entry is not None:
        step = pipeline.step(stage.entry)
        rejected = _run_one(step, counts[stage.entry], doc,
                            lambda: step.apply(doc, decision))
        if rejected is not None:
            rejected.duplicate_of = getattr(decision, "duplicate_of", None)
            return rejected
    for position in stage.maps:
        step = pipeline.step(position)
        rejected = _run_one(step, counts[position], doc, lambda s=step: s.process(doc))
        if rejected is not None:
            return rejected
    return None


def _run_one(step, counts: StepCounts, doc: Document, call: Callable[[], str | None]
             ) -> Rejected | None:
    counts.docs_in += 1
    counts.bytes_in += doc.nbytes
    start = time.perf_counter()
    rule = call()
    counts.seconds += time.perf_counter() - start
    if rule is not None and step.annotate_only:
        counts.flagged[rule] += 1
        rule = None
    if rule is not None:
        counts.rejected[rule] += 1
        return Rejected(doc, f"{step.name}:{rule}")
    counts.docs_out += 1
    counts.bytes_out += doc.nbytes
    return None
