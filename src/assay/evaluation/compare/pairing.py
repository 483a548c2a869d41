"""What a comparison of two single-label evaluations computes once per pair, whatever the
thresholds: B aligned to A's samples and classes, which model's top class is right, each model's
confidence in the truth and its change, and the samples whose confidence changed most. Kept on
A (with B, so B's id cannot be reused while they are) for the next comparison of the pair: a
new threshold then costs only what depends on it (the quick answer of the compare page)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assay.evaluation.classification import ClassificationResults
from assay.evaluation.compare.common import align_evaluations, top_changes
from assay.evaluation.results import Results


@dataclass(frozen=True)
class Pair:
    """Threshold-free arrays of A against B (A's sample and class order).

    ``rows`` / ``cols``: B's rows and columns in A's order; ``b``: B in that order (B itself
    when already so); ``top_fixed`` / ``top_broken``: the samples whose top class (the argmax)
    B gets right and A wrong / A right and B wrong; ``true_a`` / ``true_b``: each model's score
    of the annotated class; ``move``: ``true_b - true_a``; ``largest``: the ``top`` samples
    whose ``|move|`` is largest (largest first) and ``mean_abs_move`` its mean."""

    rows: np.ndarray
    cols: np.ndarray
    b: ClassificationResults
    top_fixed: np.ndarray
    top_broken: np.ndarray
    true_a: np.ndarray
    true_b: np.ndarray
    move: np.ndarray
    largest: np.ndarray
    top: int
    mean_abs_move: float


def aligned(a: Results, b: Results) -> tuple[np.ndarray, np.ndarray, ClassificationResults]:
    """(rows, cols, B in A's sample and class order) (:func:`align_evaluations`); the matching
    and the re-built B are kept on A for the next comparison of the pair (with B, so its id
    cannot be reused while they are)."""
    cache = a.memo("aligned_pair", 4)
    hit = cache.get(id(b))
    if hit is not None:
        return hit[1], hit[2], hit[3]
    rows, cols = align_evaluations(a, b)
    assert isinstance(a, ClassificationResults) and isinstance(b, ClassificationResults)
    same = np.array_equal(rows, np.arange(len(rows))) and np.array_equal(cols, np.arange(len(cols)))
    out = b
    if not same:
        out = ClassificationResults(
            a.y_true, b.y_score[rows][:, cols], classes=a.classes, threshold=b.threshold,
            sample_ids=a.sample_ids,
        )  # fmt: skip
    cache[id(b)] = (b, rows, cols, out)
    return rows, cols, out


def pair_of(a: ClassificationResults, b: ClassificationResults, top: int) -> Pair:
    """The threshold-free arrays of A against B (:class:`Pair`), computed once per pair and
    ``top``, then kept on A."""
    cache = a.memo("pair", 2)
    hit = cache.get((id(b), top))
    if hit is not None:
        return hit[1]
    rows, cols, ab = aligned(a, b)
    y = a.y_true
    n = len(y)
    right_a, right_b = a.top_classes == y, ab.top_classes == y
    index = np.arange(n)
    true_a = a.y_score[index, y]
    true_b = ab.y_score[index, y]
    move = true_b - true_a
    pair = Pair(
        rows=rows, cols=cols, b=ab, top_fixed=~right_a & right_b, top_broken=right_a & ~right_b,
        true_a=true_a, true_b=true_b, move=move,
        largest=top_changes(move, np.ones(n, dtype=bool), top), top=top,
        mean_abs_move=float(np.abs(move).mean()) if n else 0.0,
    )  # fmt: skip
    cache[(id(b), top)] = (b, pair)
    return pair
