"""ROC-AUC and accuracy for the quality classifier's training report and the benchmarks."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative (ties count half), by the Mann-Whitney rank sum. NaN without both classes."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2)
                 / (positives * negatives))


def accuracy(labels, scores, threshold: float = 0.5) -> float:
    """Share of examples on the right side of `threshold` (score >= threshold is positive)."""
    labels = np.asarray(labels, dtype=bool)
    return float(np.mean((np.asarray(scores) >= threshold) == labels)) if len(labels) else \
        float("nan")
