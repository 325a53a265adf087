"""`gristmill ablate`: train the same small model on each variant of the data with several
seeds, evaluate every run on the same fixed sets and tasks, and say which data is better
and whether the difference is larger than the seeds' noise.

Only the data changes between variants: one tokenizer, one training config, the same token
budget (exactly), and the same seeds (initial weights and batch order) for every variant.
Each run is an ordinary resumable training run under OUT/runs/VARIANT/seed-S, so a killed
ablation continues where it stopped when the same command runs again. A variant given as a
pipeline and its input is curated first, into OUT/variants/VARIANT (`variant_data`).
"""

from __future__ import annotations

import json
import math
import statistics
from itertools import combinations
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from training import checkpoint
from training.config import TrainConfig, load_config
from training.data.corpus import find_splits, iter_texts, take_chars
from training.errors import TrainingError
from training.eval.ablation_config import (
    AblationConfig,
    PipelineVariant,
    TokenizerPart,
    load_ablation,
)
from training.eval.decontam import overlap
from training.eval.perplexity import text_split
from training.eval.report import render_report
from training.eval.variant_data import curate_variants
from training.tokenizer.load import encode, fingerprint, load_tokenizer
from training.tokenizer.train import train_bpe


def ablate(path: str | Path, out: Path, quiet: bool = False) -> dict[str, Any]:
    """Run (or resume) every variant x seed; write ablation.json and report.html."""
    cfg = load_ablation(path)
    out.mkdir(parents=True, exist_ok=True)
    curate_variants(cfg, out, quiet)
    variants = cfg.variant_paths(out)
    tokenizer_file = shared_tokenizer(cfg, out, quiet)
    probe = run_config(cfg, next(iter(variants.values())), cfg.seeds[0], tokenizer_file, 1,
                       out / "probe", {})
    steps, per_step = budget_steps(cfg.train.tokens, probe)
    sets, contamination = evaluation_sets(cfg, variants, out, probe.data.holdout, quiet)
    data_tokens = {name: check_budget(name, p, cfg, tokenizer_file, probe.data.holdout)
                   for name, p in variants.items()}
    plan = {"variants": variants, "seeds": cfg.seeds, "tokens": steps * per_step,
            "steps": steps, "tokens_per_step": per_step, "tokenizer": str(tokenizer_file),
            "tokenizer_sha256": fingerprint(load_tokenizer(tokenizer_file))["sha256"],
            "train": cfg.train.model_dump(mode="json"), "eval": cfg.eval.model_dump(mode="json")}
    pipelines = {n: v.model_dump(mode="json") for n, v in cfg.variants.items()
                 if isinstance(v, PipelineVariant)}
    if pipelines:  # a changed pipeline must not resume on the data of the old one
        plan["pipelines"] = pipelines
    _check_plan(out, plan)
    from training.trainer import train

    runs: dict[str, dict[int, Path]] = {}
    for name, data in variants.items():
        for seed in cfg.seeds:
            run_dir = out / "runs" / name / f"seed-{seed}"
            runs.setdefault(name, {})[seed] = run_dir
            found = checkpoint.latest(run_dir / "checkpoints")
            if found is not None and found.step >= steps:
                continue
            if not quiet:
                print(f"ablate: {name}, seed {seed}: {steps} steps x {per_step:,} tokens")
            train(run_config(cfg, data, seed, tokenizer_file, steps, run_dir, sets),
                  resume=found is not None, quiet=True)
    result = summarize(plan, runs, contamination, data_tokens)
    (out / "ablation.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "report.html").write_text(render_report(result), encoding="utf-8")
    return result


def shared_tokenizer(cfg: AblationConfig, out: Path, quiet: bool) -> Path:
    """The one tokenizer of every run: given, trained once on an equal mix of the variants,
    or the training config's; a variant that names another one is refused."""
    given = cfg.tokenizer if isinstance(cfg.tokenizer, str) else None
    from_overrides = cfg.train.overrides.get("data.tokenizer")
    if given and from_overrides and Path(given) != Path(str(from_overrides)):
        raise TrainingError(f"tokenizer {given} and train.overrides data.tokenizer "
                            f"{from_overrides} differ; an ablation uses one tokenizer")
    if isinstance(cfg.tokenizer, TokenizerPart):
        path = out / "tokenizer.json"
        if not path.exists():
            mix = [text for p in cfg.variant_paths(out).values() for text in
                   _texts(p, cfg.tokenizer.chars_per_variant)]
            if not quiet:
                print(f"ablate: training a {cfg.tokenizer.vocab_size}-token BPE on "
                      f"{len(mix):,} documents, an equal share of characters per variant")
            partial = path.with_name(".tmp-tokenizer.json")  # a kill leaves no half file
            train_bpe([mix], cfg.tokenizer.vocab_size).save(str(partial))
            partial.replace(path)
    else:
        path = Path(given or from_overrides or load_config(cfg.train.config).data.tokenizer)
    shared = fingerprint(load_tokenizer(path))
    for name, variant in cfg.variants.items():
        own = getattr(variant, "tokenizer", None)
        if own and fingerprint(load_tokenizer(own)) != shared:
            raise TrainingError(f"variant {name} names tokenizer {own}, which differs from "
                                f"{path}: every variant must use one tokenizer, or losses "
                                "and their differences measure the vocabularies, not the data")
    return path


def _texts(path: str, chars: int) -> list[str]:
    split = find_splits(path, holdout=0.0).train
    return [t for batch in take_chars(iter_texts(split), chars) for t in batch]


def run_config(cfg: AblationConfig, data: str, seed: int, tokenizer: Path, steps: int,
               out_dir: Path, sets: dict[str, str]) -> TrainConfig:
    """The training config of one run: the recipe, with only data, seed and out_dir set."""
    every = max(1, steps // cfg.train.evals)
    items = [f"{key}={json.dumps(value)}" for key, value in cfg.train.overrides.items()]
    items += [f"data.sources={json.dumps([data])}", f"data.tokenizer={json.dumps(str(tokenizer))}",
              f"run.out_dir={json.dumps(str(out_dir))}", f"run.seed={seed}",
              f"run.max_steps={steps}", f"run.eval_every={every}",
              f"run.checkpoint_every={every}", "run.keep_last=1",
              f"run.eval_sets={json.dumps(sets)}", f"run.eval_tasks={json.dumps(cfg.eval.tasks)}",
              f"run.eval_tasks_limit={json.dumps(cfg.eval.task_limit)}",
              f"run.eval_task_data={json.dumps(cfg.eval.task_data)}"]
    return load_config(cfg.train.config, items)


def budget_steps(tokens: int, config: TrainConfig) -> tuple[int, int]:
    d = config.data
    per_step = d.batch_size * d.block_size * config.run.grad_accum
    if tokens % per_step:
        low = tokens // per_step * per_step
        raise TrainingError(f"train.tokens {tokens:,} is not a whole number of steps of "
                            f"{per_step:,} tokens (batch_size x block_size x grad_accum); "
                            f"use {low or per_step:,} or {low + per_step:,} so every run "
                            "trains exactly the budget")
    return tokens // per_step, per_step


def check_budget(name: str, path: str, cfg: AblationConfig, tokenizer_file: Path,
                 holdout: float) -> int:
    """Tokens in the variant's training split (counted up to the budget); a budget above
    them means repeating the data, refused unless train.allow_repeats."""
    tokenizer = load_tokenizer(tokenizer_file)
    total = 0
    for batch in iter_texts(find_splits(path, holdout).train):
        total += sum(len(ids) + 1 for ids in encode(tokenizer, batch))  # + end-of-text
        if total >= cfg.train.tokens:
            return total
    epochs = cfg.train.tokens / max(total, 1)
    if not cfg.train.allow_repeats:
        raise TrainingError(f"variant {name} ({path}) has {total:,} training tokens, fewer "
                            f"than the budget of {cfg.train.tokens:,}: {epochs:.2f} epochs. "
                            "Lower train.tokens, or set train.allow_repeats: true to repeat it")
    print(f"ablate: variant {name} has {total:,} tokens; the budget repeats it {epochs:.2f} "
          "times (train.allow_repeats)")
    return total


def evaluation_sets(cfg: AblationConfig, variants: dict[str, str], out: Path, holdout: float,
                    quiet: bool) -> tuple[dict[str, str], dict[str, Any]]:
    """Check each evaluation set against each variant's training data for n-gram overlap;
    with `decontaminate: remove`, the runs score a copy without the overlapping documents
    (the same copy for every variant)."""
    sets, report = {}, {}
    for name, path in cfg.eval.sets.items():
        docs = [t for batch in iter_texts(text_split(path)) for t in batch]
        found = {v: overlap(docs, iter_texts(find_splits(p, holdout).train), cfg.eval.ngram)
                 for v, p in variants.items()}
        dirty = sorted({i for o in found.values() for i in o.contaminated})
        report[name] = {"documents": len(docs), "ngram": cfg.eval.ngram,
                        "overlap": {v: {"documents": len(o.contaminated),
                                        "fraction": o.fraction} for v, o in found.items()},
                        "removed": 0}
        for v, o in found.items():
            if o.fraction == 1.0:
                print(f"WARNING: every document of evaluation set {name} ({path}) shares a "
                      f"{cfg.eval.ngram}-word sequence with variant {v}'s training data: its "
                      "scores measure memorization, not generalization")
            elif o.contaminated and not quiet:
                print(f"ablate: {len(o.contaminated)} of {len(docs)} documents of {name} "
                      f"overlap variant {v}'s training data")
        sets[name] = path
        if cfg.eval.decontaminate == "remove" and dirty:
            kept = [d for i, d in enumerate(docs) if i not in set(dirty)]
            if not kept:
                raise TrainingError(f"evaluation set {name}: every document overlaps the "
                                    "training data; nothing is left to evaluate on")
            folder = out / "eval_sets" / name
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.table({"id": [f"{name}-{i}" for i in range(len(kept))],
                                     "text": kept}), folder / "part-00000.parquet")
            sets[name] = str(folder)
            report[name]["removed"] = len(dirty)
    return sets, report


def _check_plan(out: Path, plan: dict[str, Any]) -> None:
    file = out / "plan.json"
    if file.exists():
        old = json.loads(file.read_text())
        changed = sorted(k for k in plan if old.get(k) != plan[k])
        if changed:
            raise TrainingError(f"{out} holds an ablation with another {changed[0]}; run the "
                                "same ablation file to resume it, or choose another --out")
    file.write_text(json.dumps(plan, indent=2) + "\n")


def curve(run_dir: Path, per_step: int) -> list[dict[str, Any]]:
    """The run's evaluations in order: step, tokens and every evaluation metric."""
    points = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        scores = {k: v for k, v in record.items() if k.startswith(("val_", "eval_", "task_"))}
        if scores:
            points.append({"step": record["step"], "tokens": record["step"] * per_step,
                           **scores})
    return points


def lower_is_better(metric: str) -> bool:
    return "bpb" in metric or "loss" in metric or "ppl" in metric


def summarize(plan: dict[str, Any], runs: dict[str, dict[int, Path]],
              contamination: dict[str, Any], data_tokens: dict[str, int]) -> dict[str, Any]:
    per_run = {v: {str(s): {"curve": curve(d, plan["tokens_per_step"])} for s, d in seeds.items()}
               for v, seeds in runs.items()}
    for seeds in per_run.values():
        for run in seeds.values():
            run["final"] = {k: v for k, v in run["curve"][-1].items()
                            if k not in ("step", "tokens")}
            run["tokens"] = run["curve"][-1]["tokens"]
    metrics = [m for m in next(iter(next(iter(per_run.values())).values()))["final"]
               if m.startswith(("eval_bpb/", "eval_loss/", "task_"))]
    variants = {v: {m: _spread([r["final"][m] for r in seeds.values()]) for m in metrics}
                for v, seeds in per_run.items()}
    differences = [difference(a, b, m, variants) for a, b in combinations(per_run, 2)
                   for m in metrics]
    primary = next((m for m in metrics if m.startswith("eval_bpb/")),
                   "task_bpb" if "task_bpb" in metrics else (metrics[0] if metrics else None))
    return {"plan": plan, "runs": per_run, "variants": variants, "differences": differences,
            "primary": primary, "contamination": contamination, "data_tokens": data_tokens,
            "verdict": verdict(primary, differences)}


def _spread(values: list[float]) -> dict[str, Any]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values),
            "values": values}


def difference(a: str, b: str, metric: str, variants: dict[str, Any]) -> dict[str, Any]:
    """a minus b; the noise is the seeds' standard deviation pooled over the two variants;
    significant when the difference is more than twice it."""
    sa, sb = variants[a][metric], variants[b][metric]
    diff = sa["mean"] - sb["mean"]
    noise = math.sqrt((sa["std"] ** 2 + sb["std"] ** 2) / 2)
    better = None
    if diff:
        better = a if (diff < 0) == lower_is_better(metric) else b
    return {"a": a, "b": b, "metric": metric, "difference": diff, "noise": noise,
            "significant": abs(diff) > 2 * noise, "better": better}


def verdict(primary: str | None, differences: list[dict[str, Any]]) -> str:
    if primary is None:
        return "no evaluation metrics: give eval.sets or eval.tasks"
    sentences = []
    for d in (d for d in differences if d["metric"] == primary):
        worse = d["b"] if d["better"] == d["a"] else d["a"]
        size = f"{abs(d['difference']):.4f} (seed noise {d['noise']:.4f})"
        if d["significant"]:
            sentences.append(f"{d['better']} is better than {worse} on {primary} by {size}: "
                             "significant, more than twice the noise.")
        else:
            sentences.append(f"{d['a']} and {d['b']} differ on {primary} by {size}: within "
                             "the noise, so this ablation cannot tell them apart.")
    return " ".join(sentences)
