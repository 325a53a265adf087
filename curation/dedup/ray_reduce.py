"""MinHash clustering as Ray tasks: no task and not the driver ever holds every pair.

- band tasks (one per band) sort one band's keys of all units and emit its candidate
  pairs, split into partitions by pair code;
- partition tasks merge their share of every band into distinct pairs (verified if
  asked) and reduce them to a forest: each linked document -> the smallest document of
  its component (a union-find's roots);
- merge tasks join forests pairwise, a tree of depth log2(partitions), into the
  components of the whole graph: a forest has one entry per linked document, so its
  size follows the duplicates found, not the pairs;
- one last task picks the kept documents and writes the decisions with
  `MinhashDedup.decide`, the code of the single-node reduce, so both decide alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import ray

from curation.dedup.clusters import components, unpack_pairs
from curation.dedup.unit_arrays import UnitArrays

if TYPE_CHECKING:  # the step hands itself over (MinhashDedup.ray_reduce)
    from curation.steps.minhash_dedup import MinhashDedup


def reduce_minhash(step: MinhashDedup, unit_dirs: dict[int, Path], position: int,
                   out_dir: Path, partitions: int | None = None) -> None:
    """The step's reduce, distributed; `partitions` (default: the cluster's CPUs) only
    changes how the work is cut, never the result."""
    parts = partitions or max(1, int(ray.cluster_resources().get("CPU", 1)))
    step_ref = ray.put(step)
    by_band = [_band.options(num_returns=parts).remote(step_ref, unit_dirs, position, b, parts)
               for b in range(step.params.bands)]
    by_band = [refs if parts > 1 else [refs] for refs in by_band]
    pairs = [_partition.remote(step_ref, unit_dirs, position, *(refs[p] for refs in by_band))
             for p in range(parts)]
    forests = [forest for _, forest in pairs]
    while len(forests) > 1:
        forests = [_merge.remote(*forests[i:i + 2]) for i in range(0, len(forests), 2)]
    counts = ray.get([found for found, _ in pairs])
    report: dict[str, Any] = {"candidate_pairs": sum(c for c, _ in counts)}
    if step.params.verify:
        report["verified_pairs"] = sum(v for _, v in counts)
    ray.get(_decide.remote(step_ref, unit_dirs, position, forests[0], report, out_dir))


@ray.remote(num_cpus=1)
def _band(step: MinhashDedup, unit_dirs: dict[int, Path], position: int, band: int,
          parts: int) -> list[np.ndarray] | np.ndarray:
    codes = step.band_codes(UnitArrays(unit_dirs, position), band)
    part = codes % parts
    split = np.split(codes[np.argsort(part, kind="stable")],
                     np.cumsum(np.bincount(part, minlength=parts))[:-1])
    return split if parts > 1 else split[0]


@ray.remote(num_cpus=1, num_returns=2)
def _partition(step: MinhashDedup, unit_dirs: dict[int, Path], position: int,
               *band_codes: np.ndarray) -> tuple[tuple[int, int], np.ndarray]:
    """(distinct pairs, verified pairs) of this share, and its forest."""
    units = UnitArrays(unit_dirs, position)
    edges = unpack_pairs(np.unique(np.concatenate(band_codes)), units.total)
    found = len(edges)
    if step.params.verify:
        edges = edges[step.similar(units, edges)]
    return (found, len(edges)), forest(edges)


@ray.remote(num_cpus=1)
def _merge(*forests: np.ndarray) -> np.ndarray:
    return forest(np.concatenate(forests))


@ray.remote(num_cpus=1)
def _decide(step: MinhashDedup, unit_dirs: dict[int, Path], position: int, links: np.ndarray,
            report: dict[str, Any], out_dir: Path) -> None:
    # roots are each component's smallest member, so their order is the labels' order
    labels = np.unique(links[:, 1], return_inverse=True)[1].reshape(-1)
    step.decide(UnitArrays(unit_dirs, position), links[:, 0], labels, report, out_dir)


def forest(edges: np.ndarray) -> np.ndarray:
    """(n, 2): each document in some edge (sorted) and its component's smallest document.
    Its rows, as edges, connect exactly what `edges` connects."""
    members, labels = components(edges)
    roots = members[np.unique(labels, return_index=True)[1]][labels]
    return np.stack([members, roots], axis=1)
