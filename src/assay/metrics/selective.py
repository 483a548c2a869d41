"""Selective prediction: keep the samples whose confidence is at least a threshold, abstain on the
rest. Coverage is the share kept, risk the error rate among the kept (1 - selective accuracy).

The risk-coverage curve has one point per distinct confidence (highest first: the smallest
coverage), and its area (AURC, Geifman et al., 2018, "Bias-reduced uncertainty estimation for
deep neural classifiers") is the step integral ``sum_j (coverage_j - coverage_{j-1}) * risk_j``,
which without ties equals the mean over ``i = 1..N`` of the risk among the ``i`` most confident
samples; tied confidences enter together, as a threshold keeps or drops them together.
"""

from __future__ import annotations

import numpy as np

__all__ = ["risk_coverage_curve"]


def risk_coverage_curve(
    confidence: np.ndarray, correct: np.ndarray
) -> dict[str, np.ndarray | float]:
    """{thresholds, coverage, risk, aurc}: at threshold ``thresholds[j]`` (descending, distinct
    confidences) the share of samples kept and the error rate among them.

    >>> c = risk_coverage_curve(np.array([.9, .8, .8, .3]), np.array([True, False, True, False]))
    >>> c["coverage"].tolist(), c["risk"].tolist(), round(c["aurc"], 4)
    ([0.25, 0.75, 1.0], [0.0, 0.3333333333333333, 0.5], 0.2917)
    """
    conf = np.asarray(confidence, dtype=np.float64)
    ok = np.asarray(correct, dtype=bool)
    n = conf.shape[0]
    if n == 0:
        empty = np.zeros(0)
        return {"thresholds": empty, "coverage": empty, "risk": empty, "aurc": float("nan")}
    order = np.argsort(-conf, kind="stable")
    sc, errors = conf[order], np.cumsum(~ok[order])
    last = np.r_[np.flatnonzero(sc[1:] != sc[:-1]), n - 1]  # the end of each tied run
    kept = last + 1
    coverage = kept / n
    risk = errors[last] / kept
    aurc = float(np.sum(np.diff(np.r_[0.0, coverage]) * risk))
    return {"thresholds": sc[last], "coverage": coverage, "risk": risk, "aurc": aurc}
