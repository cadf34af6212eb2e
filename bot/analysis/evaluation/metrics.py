"""Detector metrics without scikit-learn: ROC AUC, TPR at a fixed FPR, thresholds."""

from __future__ import annotations

import numpy as np


def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    y = np.asarray(y, bool)
    s = np.asarray(s, float)
    pos, neg = s[y], s[~y]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    allv = np.concatenate([pos, neg])[order]
    # ties share their average rank
    _, first, counts = np.unique(allv, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2 + 1
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def threshold_at_fpr(neg_scores: np.ndarray, fpr: float) -> float:
    """A threshold t such that at most `fpr` of the negatives score >= t (just above the
    highest negative score that must stay below it)."""
    neg = np.sort(np.asarray(neg_scores, float))
    if not len(neg):
        return float("inf")
    k = int(np.floor(fpr * len(neg)))  # negatives allowed at or above the threshold
    return float(np.nextafter(neg[-1 - k], np.inf)) if k < len(neg) else float(neg[0])


def tpr_at_fpr(y: np.ndarray, s: np.ndarray, fpr: float) -> tuple[float, float]:
    """(TPR, threshold) at the threshold that keeps the false-positive rate at most `fpr`."""
    y = np.asarray(y, bool)
    s = np.asarray(s, float)
    t = threshold_at_fpr(s[~y], fpr)
    return (float((s[y] >= t).mean()) if y.any() else float("nan")), t
