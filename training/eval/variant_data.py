"""Variants given as a pipeline and its input: `gristmill ablate` curates each into
OUT/variants/NAME before any training.

Curation runs as its own process (`python -m gristmill.launcher curate ...`) because
training never imports curation: the two halves share only the shard contract, and the
curated directory is then read like any other variant. A finished output (its manifest
written) is not curated again; a killed one is resumed by curate itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gristmill.shards import MANIFEST
from training.errors import TrainingError
from training.eval.ablation_config import AblationConfig, PipelineVariant


def curate_variants(cfg: AblationConfig, out: Path, quiet: bool) -> None:
    for name, variant in cfg.variants.items():
        if isinstance(variant, PipelineVariant):
            curate(name, variant, Path(cfg.variant_paths(out)[name]), quiet)


def curate_command(variant: PipelineVariant, dest: Path, quiet: bool) -> list[str]:
    inputs = [variant.input] if isinstance(variant.input, str) else variant.input
    return [sys.executable, "-m", "gristmill.launcher", "curate", variant.pipeline,
            *variant.overrides, *(x for path in inputs for x in ("--input", path)),
            "--output", str(dest), *(["--quiet"] if quiet else [])]


def curate(name: str, variant: PipelineVariant, dest: Path, quiet: bool) -> None:
    """`gristmill curate` into `dest` unless it holds a finished run; a failure is one
    line naming the variant (quiet: with curate's last line of error)."""
    if (dest / MANIFEST).exists():
        return
    if not quiet:
        print(f"ablate: variant {name}: gristmill curate {variant.pipeline} into {dest}")
    done = subprocess.run(curate_command(variant, dest, quiet), text=True,
                          stdout=subprocess.DEVNULL if quiet else None,
                          stderr=subprocess.PIPE if quiet else None, check=False)
    if done.returncode == 0:
        return
    said = (done.stderr or "").strip().splitlines()
    if (dest / MANIFEST).exists():  # finished with a warning (e.g. most records rejected)
        print(f"ablate: variant {name}: curate warned: {said[-1] if said else 'see above'}")
        return
    raise TrainingError(f"variant {name}: gristmill curate {variant.pipeline} failed (exit "
                        f"{done.returncode}): {said[-1] if said else 'its error is above'}; "
                        "fix it and run ablate again (curation resumes)")
