"""What a dedup report shows: cluster counts, a size histogram, the largest clusters with
scrubbed example snippets (rendered by the stats report, stored in the manifest)."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from curation.pii.scrub import snippet

SIZE_BINS = [2, 3, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
LARGEST = 5


class TextSource(Protocol):
    """Resolves a global document index to its text (only a few are ever read)."""

    total: int

    def text(self, index: int) -> str: ...


def cluster_report(units: TextSource, members: np.ndarray, labels: np.ndarray,
                   reps: np.ndarray, rep_ids: np.ndarray) -> dict[str, Any]:
    """Summary of the clusters found. Per member (global index, sorted): its cluster label
    (0..k-1), the global index of its cluster's kept document and that document's id."""
    sizes = np.bincount(labels) if len(labels) else np.empty(0, dtype=np.int64)
    counts, _ = np.histogram(sizes, bins=[*SIZE_BINS, np.inf])
    histogram = [{"min_size": low, "clusters": int(n)}
                 for low, n in zip(SIZE_BINS, counts, strict=True) if n]
    largest = [_cluster_example(units, members, labels == label, reps, rep_ids)
               for label in np.argsort(-sizes, kind="stable")[:LARGEST]]
    return {"documents": int(units.total), "clusters": len(sizes),
            "documents_in_clusters": len(members),
            "documents_removed": int(len(members) - len(sizes)),
            "size_histogram": histogram, "largest_clusters": largest}


def _cluster_example(units: TextSource, members: np.ndarray, mine: np.ndarray,
                     reps: np.ndarray, rep_ids: np.ndarray) -> dict[str, Any]:
    """Size, kept id and two scrubbed snippets (the kept document, then the first other)."""
    first = int(np.flatnonzero(mine)[0])
    rep = int(reps[first])
    other = next((int(m) for m in members[mine] if m != rep), rep)
    return {"size": int(mine.sum()), "kept_id": str(rep_ids[first]),
            "examples": [snippet(units.text(rep)), snippet(units.text(other))]}
