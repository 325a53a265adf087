"""Where training metrics go: metrics.jsonl, TensorBoard when installed, a progress bar."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from training.errors import TrainingError


class MetricsLog:
    """One JSON object per line, each with `step`; a resumed run first drops the lines of
    steps after its checkpoint, so the file reads like one uninterrupted run."""

    def __init__(self, out_dir: Path, resumed_step: int, tensorboard: bool | None):
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / "metrics.jsonl"
        self._trim(resumed_step)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 closed in close()
        self._board = _board(out_dir / "tensorboard", tensorboard)

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._board is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)):
                    self._board.add_scalar(key, value, record["step"])

    def close(self) -> None:
        self._file.close()
        if self._board is not None:
            self._board.close()

    def _trim(self, step: int) -> None:
        if not self.path.exists():
            return
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if line.strip() and _step(line) <= step]
        if len(kept) != len(lines):
            self.path.write_text("".join(kept), encoding="utf-8")


def _step(line: str) -> int:
    try:
        return json.loads(line)["step"]
    except (ValueError, KeyError, TypeError):
        return 1 << 62  # a torn last line from a kill: dropped


def _board(directory: Path, wanted: bool | None) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        if wanted:
            raise TrainingError("run.tensorboard is true but TensorBoard is not installed: "
                                "pip install tensorboard") from None
        return None
    return SummaryWriter(str(directory)) if wanted is not False else None


class TrainProgress:
    """A progress bar with loss, tokens/s, learning rate and MFU (main rank only)."""

    def __init__(self, start: int, total: int, enabled: bool):
        self._bar = Progress(TextColumn("step {task.completed}/{task.total}"), BarColumn(),
                             TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                             TextColumn("eta"), TimeRemainingColumn(), disable=not enabled)
        self._task = self._bar.add_task("train", total=total, completed=start, status="")
        self.started = time.monotonic()

    def __enter__(self) -> TrainProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def update(self, step: int, record: dict[str, Any] | None = None) -> None:
        status = None
        if record is not None:
            mfu = f" mfu {record['mfu']:.1%}" if record.get("mfu") is not None else ""
            status = (f"loss {record['loss']:.4f} {record['tokens_per_s']:,.0f} tok/s "
                      f"lr {record['lr']:.2e}{mfu}")
        self._bar.update(self._task, completed=step,
                         **({"status": status} if status else {}))

    def print(self, text: str) -> None:
        self._bar.console.print(text, highlight=False)
