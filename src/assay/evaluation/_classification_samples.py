"""The sample feed of ``ClassificationResults``: predictions at a threshold, filtered, sorted and
paged samples, and the per-sample dicts the UI shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.errors import ParameterError
from assay.evaluation._classification_base import ClassificationBase
from assay.evaluation.results import OperatingPoint
from assay.evaluation.vocabulary import BELOW_THRESHOLD, CLASSIFICATION_SORTS, NO_LABEL, OUTCOMES


class SamplesMixin(ClassificationBase):
    """Samples, one sample, and the predictions at the last threshold asked."""

    # ---------------------------------------------------------------- samples
    def _pred_at(self, t: float) -> np.ndarray:
        """Single-label predicted index per sample (-1 below threshold); multi-label (N, C) bool."""
        tc = self._tc(t)
        last = self._last_pred
        if last is not None and last[0] == tc:
            return last[1]  # consecutive queries at one threshold (a label's TP / FP / FN pages)
        pred = self.y_score >= tc if self.multilabel else np.where(self._top >= tc, self._pred, -1)
        pred.flags.writeable = False
        self._last_pred = (tc, pred)
        return pred

    def predictions(self, at: OperatingPoint | None = None) -> np.ndarray:
        """The prediction of every sample at the point (read-only): single-label, the index of
        the predicted class (the argmax), -1 where its score is below the threshold; multi-label,
        an (N, C) boolean matrix of the labels predicted."""
        return self._pred_at(self._t(at))

    def outcomes(self, at: OperatingPoint | None = None) -> np.ndarray:
        """Whether each sample is right at the point: its prediction is its label (single-label;
        a sample below the threshold is not right), or every label is (multi-label)."""
        pred = self.predictions(at)
        if self.multilabel:
            return np.asarray((pred == self.y_true.astype(bool)).all(axis=1))
        return np.asarray(pred == self.y_true)

    @property
    def top_classes(self) -> np.ndarray:
        """Single-label: each sample's highest-scoring class index (the argmax, ties to the
        first), whatever the threshold."""
        return self._pred

    @property
    def top_scores(self) -> np.ndarray:
        """Single-label: each sample's highest score (the one the threshold is compared with)."""
        return self._top

    def samples(
        self,
        at: OperatingPoint | None = None,
        *,
        actual: str | None = None,
        predicted: str | None = None,
        label: str | None = None,
        outcome: str | None = None,
        errors_only: bool = False,
        sort: str | None = None,
        descending: bool | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> dict[str, Any]:
        """Filtered, sorted, paged samples at the threshold.

        ``actual`` / ``predicted`` name a confusion row / column / cell (``predicted`` may be
        "Below threshold", multi-label ``actual`` "No label") and select exactly the samples
        counted there, so a cell's feed total is its count (multi-label: a cell (a, p) off the
        diagonal holds the samples missing a and wrongly predicting p). ``outcome`` tp / fp / fn is relative to ``label``
        (without one: tp = correct, fp = a wrong class predicted, fn = the annotated class
        missed). ``sort``: confidence (top score, the default), confusion (top score minus the
        annotated class's score; multi-label: its lowest annotated score), index; descending by
        default, ties by index.

        >>> from assay.evaluation.classification import ClassificationResults
        >>> r = ClassificationResults([0, 1], [[.9, .1], [.6, .4]], ["a", "b"])
        >>> page = r.samples(OperatingPoint(threshold=0), errors_only=True)
        >>> page["total"], page["items"][0]["id"], page["items"][0]["predicted"]
        (1, '1', 'a')
        """
        sort = "confidence" if sort is None else sort
        descending = True if descending is None else bool(descending)
        if sort not in CLASSIFICATION_SORTS:
            raise ParameterError(
                f"sort: must be one of {', '.join(CLASSIFICATION_SORTS)}, got {sort!r}"
            )
        if outcome is not None and outcome not in OUTCOMES:
            raise ParameterError(f"outcome: must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        for name, value in (("offset", offset), ("limit", limit)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise ParameterError(f"{name}: must be an integer >= 0, got {value!r}")
        offset, limit = int(offset), int(limit)
        t = self._t(at)
        pred = self._pred_at(t)
        n = self.n_samples
        mask = np.ones(n, dtype=bool)
        L = None if label is None else self._label(label)
        if self.multilabel:
            y = self.y_true
            # A row / column / cell filter selects exactly the samples counted there (see
            # ``confusion``): each sample once per cell, so a cell's count is its feed's total.
            a = None if actual in (None, NO_LABEL) else self._label(actual, "actual")
            q = (
                None
                if predicted in (None, BELOW_THRESHOLD)
                else self._label(predicted, "predicted")
            )
            if actual == NO_LABEL or predicted == BELOW_THRESHOLD:
                wrong = (pred & ~y).any(axis=1)
                missed = (y & ~pred).any(axis=1)
            if actual == NO_LABEL:
                mask &= wrong & ~missed
            elif a is not None:
                mask &= y[:, a]
            if predicted == BELOW_THRESHOLD:
                mask &= missed & ~wrong
            elif q is not None:
                mask &= pred[:, q]
            if a is not None and a != q and predicted is not None:
                mask &= ~pred[:, a]  # off the diagonal: the annotated class is missed
            if q is not None and q != a and actual is not None:
                mask &= ~y[:, q]  # ... and the predicted one is wrong
            exact = (pred == y).all(axis=1)
            if outcome is not None:
                if L is not None:
                    yl, pl = y[:, L], pred[:, L]
                    cond = {"tp": yl & pl, "fp": pl & ~yl, "fn": yl & ~pl}[outcome]
                else:
                    cond = {
                        "tp": exact,
                        "fp": (pred & ~y).any(axis=1),
                        "fn": (y & ~pred).any(axis=1),
                    }[outcome]
                mask &= cond
            if errors_only:
                mask &= ~exact
            worst = np.where(np.isfinite(self._min_pos), self._min_pos, self._top)
            margin = self._top - worst
        else:
            y = self.y_true
            if actual is not None:
                mask &= y == self._label(actual, "actual")
            if predicted is not None:
                p = -1 if predicted == BELOW_THRESHOLD else self._label(predicted, "predicted")
                mask &= pred == p
            if outcome is not None:
                if L is not None:
                    cond = {
                        "tp": (y == L) & (pred == L),
                        "fp": (pred == L) & (y != L),
                        "fn": (y == L) & (pred != L),
                    }[outcome]
                else:
                    cond = {"tp": pred == y, "fp": (pred != y) & (pred >= 0), "fn": pred != y}[
                        outcome
                    ]
                mask &= cond
            if errors_only:
                mask &= pred != y
            margin = self._top.astype(np.float64) - self._true_score
        idx = np.flatnonzero(mask)
        if sort == "index":
            order = idx[::-1] if descending else idx
        else:
            # One stable sort of all samples per (key, direction), kept: restricting it to the
            # mask gives the same order as sorting the selected samples (ties by index).
            full = self._sample_orders.get((sort, descending))
            if full is None:
                key = self._top if sort == "confidence" else margin
                full = np.argsort(-key if descending else key, kind="stable")
                self._sample_orders[(sort, descending)] = full
            order = full[mask[full]] if idx.size < n else full
        page = order[offset : offset + limit]
        return {
            "task": self.task,
            "threshold": t,
            "total": int(idx.size),
            "offset": offset,
            "limit": limit,
            "n_boxes": None,
            "items": [self._sample_dict(int(i), t, label=L) for i in page],
        }

    def _sample_dict(self, i: int, t: float, *, label: int | None = None) -> dict[str, Any]:
        s = self.y_score[i]
        tc = self._tc(t)
        sid = str(i) if self.sample_ids is None else str(self.sample_ids[i])
        if self.multilabel:
            actual_idx = np.flatnonzero(self.y_true[i])
            pred_idx = np.flatnonzero(s >= tc)
            if actual_idx.size:
                worst = int(actual_idx[np.argmin(s[actual_idx])])
                actual_conf: float | None = float(s[worst])
                rank: int | None = 1 + int((s > s[worst]).sum() + (s[:worst] == s[worst]).sum())
            else:
                actual_conf, rank = None, None
            yl = self.y_true[i]
            pl = s >= tc
            if label is not None:
                outcome = _outcome(bool(yl[label]), bool(pl[label]))
            else:
                exact = bool((yl == pl).all())
                outcome = "correct" if exact else ("incorrect" if pl.any() else "below_threshold")
            return {
                "index": i,
                "id": sid,
                "actual": [self.classes[j] for j in actual_idx],
                "predicted": [self.classes[j] for j in pred_idx],
                "confidence": float(self._top[i]),
                "actual_confidence": actual_conf,
                "actual_rank": rank,
                "outcome": outcome,
            }
        a = int(self.y_true[i])
        p = int(self._pred[i]) if self._top[i] >= tc else -1
        if label is not None:
            outcome = _outcome(a == label, p == label)
        else:
            outcome = "correct" if p == a else ("below_threshold" if p < 0 else "incorrect")
        return {
            "index": i,
            "id": sid,
            "actual": self.classes[a],
            "predicted": self.classes[p] if p >= 0 else None,
            "confidence": float(self._top[i]),
            "actual_confidence": float(self._true_score[i]),
            "actual_rank": int(self._rank[i]),
            "outcome": outcome,
        }

    def sample(self, index: int, at: OperatingPoint | None = None) -> dict[str, Any]:
        """One sample's item with all class scores, highest first (ties in class order).

        >>> from assay.evaluation.classification import ClassificationResults
        >>> ClassificationResults([0, 1], [[.9, .1], [.6, .4]]).sample(1)["scores"]
        [{'label': '0', 'score': 0.6}, {'label': '1', 'score': 0.4}]
        """
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise ParameterError(f"index: expected an integer, got {index!r}")
        if not 0 <= int(index) < self.n_samples:
            raise ParameterError(f"index: {index} is out of range 0..{self.n_samples - 1}")
        d = self._sample_dict(int(index), self._t(at))
        s = self.y_score[int(index)]
        order = np.argsort(-s, kind="stable")
        d["scores"] = [{"label": self.classes[j], "score": float(s[j])} for j in order]
        return d


def _outcome(is_actual: bool, is_pred: bool) -> str:
    if is_actual and is_pred:
        return "tp"
    if is_pred:
        return "fp"
    return "fn" if is_actual else "tn"
