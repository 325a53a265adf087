"""What a dedup report shows: cluster counts, a size histogram, the largest clusters with
scrubbed example snippets (rendered by the stats report, stored in the manifest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from curation.scrub import snippet
from curation.steps.keyed_dedup import lookup_ids

SIZE_BINS = [2, 3, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
LARGEST = 5


def cluster_report(units: Any, labels: np.ndarray, members: np.ndarray, reps: np.ndarray,
                   unit_dirs: dict[int, Path]) -> dict[str, Any]:
    """Summary of the clusters found; `units` resolves global indices to ids and texts."""
    cluster_labels, sizes = np.unique(labels[members], return_counts=True)
    counts, _ = np.histogram(sizes, bins=[*SIZE_BINS, np.inf])
    histogram = [{"min_size": low, "clusters": int(n)} for low, n in zip(SIZE_BINS, counts,
                                                                        strict=True) if n]
    largest = []
    for label in cluster_labels[np.argsort(-sizes, kind="stable")][:LARGEST]:
        in_cluster = members[labels[members] == label]
        rep = reps[labels[members] == label][0]
        other = next((m for m in in_cluster if m != rep), rep)
        largest.append({
            "size": len(in_cluster),
            "kept_id": str(lookup_ids(*units.locate(np.array([rep])), unit_dirs)[0]),
            "examples": [snippet(units.text(int(rep))), snippet(units.text(int(other)))],
        })
    return {"documents": int(units.total), "clusters": len(cluster_labels),
            "documents_in_clusters": len(members),
            "documents_removed": int(len(members) - len(cluster_labels)),
            "size_histogram": histogram, "largest_clusters": largest}
