"""Candidate pairs to clusters: unpack pair codes, connected components, and the member
each cluster keeps."""

from __future__ import annotations

import numpy as np


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


def representatives(labels: np.ndarray, members: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Per component (ascending label): the member with the highest rank, then the first."""
    order = np.lexsort((members, -rank, labels))
    first = np.ones(len(order), dtype=bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    return members[order][first]
