"""Helpers for the training tests (no tests here): small corpora and tokenizers.

Texts come from the public-domain books in shared/data, copied into each test's tmp_path.
"""

from __future__ import annotations

import hashlib
import json
import random
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tokenizers import Tokenizer

from tests.support.curation import SHARED_DATA
from training.tokenizer.train import train_bpe, train_chars

DATA = SHARED_DATA
SHAKESPEARE = DATA / "clean_tinyshakespeare" / "input.txt"
GUTENBERG = DATA / "clean_gutenberg_en"


@cache
def shakespeare_docs() -> tuple[str, ...]:
    """The play's speeches (blank-line separated), 7,000+ short documents."""
    return tuple(p for p in SHAKESPEARE.read_text().split("\n\n") if p.strip())


@cache
def bpe_tokenizer(vocab_size: int = 1024) -> Tokenizer:
    docs = shakespeare_docs()[:3000]
    return train_bpe([list(docs)], vocab_size)


@cache
def char_tokenizer() -> Tokenizer:
    return train_chars([list(shakespeare_docs())])


def write_shards(folder: Path, texts: list[str | None], files: int = 1, row_group_size: int = 50,
                 ids: list[str] | None = None, manifest: bool = False) -> list[Path]:
    """Texts (and ids) in `files` Parquet files; with `manifest`, a curation-style
    `_manifest.json` in the parent listing them (like a split folder of a curated output)."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = ids or [f"doc-{i}" for i in range(len(texts))]
    paths = []
    per_file = -(-len(texts) // files)
    for f in range(files):
        part = slice(f * per_file, (f + 1) * per_file)
        table = pa.table({"id": ids[part], "text": pa.array(texts[part], pa.string())})
        path = folder / f"part-{f:05d}.parquet"
        pq.write_table(table, path, row_group_size=row_group_size, compression="zstd")
        paths.append(path)
    if manifest:
        add_to_manifest(folder.parent, paths)
    return paths


def add_to_manifest(root: Path, paths: list[Path]) -> None:
    file = root / "_manifest.json"
    data = json.loads(file.read_text()) if file.exists() else {"schema_version": 1, "files": []}
    for path in paths:
        data["files"].append({"path": path.relative_to(root).as_posix(),
                              "split": path.parent.name, "rows": pq.read_metadata(path).num_rows,
                              "bytes": path.stat().st_size,
                              "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    file.write_text(json.dumps(data))


def curated(root: Path, train: list[str], validation: list[str], **kwargs) -> Path:
    """A curated-output layout: train/, validation/ and one manifest listing both."""
    write_shards(root / "train", train, manifest=True, **kwargs)
    write_shards(root / "validation", validation, manifest=True,
                 ids=[f"val-{i}" for i in range(len(validation))])
    return root


def word_docs(count: int, seed: int = 0, letters: str = "abcdefghij") -> list[str]:
    """Documents of random words of the given letters, of very different lengths."""
    rng = random.Random(seed)
    return [" ".join("".join(rng.choices(letters, k=rng.randint(1, 8)))
                     for _ in range(rng.choice([3, 10, 40, 200])))
            for _ in range(count)]


def tiny_run(root: Path, **sections: dict) -> Path:
    """A curated Shakespeare corpus, its character tokenizer and a training YAML for a
    2-layer, 32-wide model; `sections` update the YAML's sections. Returns the YAML path."""
    import yaml

    docs = list(shakespeare_docs()[:1200])
    curated(root / "corpus", docs[:1100], docs[1100:])
    char_tokenizer().save(str(root / "chars.json"))
    config = {
        "model": {"n_layer": 2, "n_head": 2, "n_embd": 32, "dropout": 0.1},
        "data": {"sources": [str(root / "corpus")], "tokenizer": str(root / "chars.json"),
                 "block_size": 32, "batch_size": 4},
        "optim": {"lr": 3e-3, "min_lr": 3e-4},
        "schedule": {"warmup_steps": 2},
        # float32: numbers compared across runs must not depend on whether this CPU has bf16
        # (dtype auto picks it there); test_dtype_auto_follows_the_cpu covers auto.
        "run": {"out_dir": str(root / "run"), "max_steps": 8, "log_every": 1,
                "dtype": "float32",
                "eval_every": 4, "eval_tokens": 2048, "checkpoint_every": 4, "keep_last": 2},
    }
    for name, values in sections.items():
        config[name].update(values)
    path = root / "train.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def losses(out_dir: Path) -> dict[int, float]:
    """step -> training loss, from a run's metrics.jsonl."""
    lines = (out_dir / "metrics.jsonl").read_text().splitlines()
    return {r["step"]: r["loss"] for r in map(json.loads, lines) if "loss" in r}
