"""Shared state of ``ClassificationResults``: JSON helpers, the attributes every part reads, the
operating point, and the validation at the door (scores, labels, thresholds, class names, top-k).
The words shown (special labels, metric names) come from :mod:`assay.evaluation.vocabulary`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from assay.errors import InputError, ParameterError
from assay.evaluation.results import OperatingPoint
from assay.evaluation.vocabulary import DEFAULT_TOP_K
from assay.metrics.cells import first_bad_row


def float_or_none(x: Any) -> float | None:
    """A JSON-safe float: None for NaN / inf / None."""
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


def floats_or_none(a: Any) -> list[float | None]:
    """A float array as a list, NaN / inf as None."""
    return [x if x - x == 0 else None for x in np.asarray(a, dtype=np.float64).tolist()]


def nanmean(a: np.ndarray) -> float | None:
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else None


class ClassificationBase:
    """The attributes set by ``ClassificationResults`` and the checks shared by its parts."""

    multilabel: bool
    task: str
    top_k: list[int]
    y_score: np.ndarray
    y_true: np.ndarray
    classes: list[str]
    class_index: dict[str, int]
    threshold: float
    zero_division: float
    hard_labels: bool
    sample_ids: np.ndarray | None
    fold_ids: np.ndarray | None
    groups: np.ndarray | None
    n_samples: int
    n_classes: int
    _cache: dict[Any, Any]
    _at_t: dict[Any, Any]
    _curves: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]
    _sample_orders: dict[tuple[str, bool], np.ndarray]
    _last_pred: tuple[Any, np.ndarray] | None
    _intervals: dict[str, Any] | None
    # single-label precomputation
    _pred: np.ndarray
    _top: np.ndarray
    _true_score: np.ndarray
    _rank: np.ndarray
    _correct: np.ndarray
    # multi-label precomputation
    _min_pos: np.ndarray
    # both
    _n_true: np.ndarray
    _auc: np.ndarray
    _ap: np.ndarray

    # ---------------------------------------------------------------- validation at the door
    @staticmethod
    def _check_scores(y_score: Any) -> np.ndarray:
        s = np.asarray(y_score)
        if s.dtype not in (np.float32, np.float64):
            if not np.issubdtype(s.dtype, np.number):
                raise InputError(f"scores must be numbers, got dtype {s.dtype}")
            s = s.astype(np.float64)
        if s.ndim != 2 or s.shape[0] == 0 or s.shape[1] == 0:
            raise InputError(f"scores must be a non-empty (samples, classes) matrix, got {s.shape}")
        s = np.ascontiguousarray(s)
        bad = first_bad_row(s)
        if bad >= 0:
            what = "score is NaN" if np.isnan(s[bad]).any() else "scores must be in [0, 1]"
            raise InputError(what, where=f"row {bad}")
        return s

    def _check_labels(
        self, y_true: Any, classes: Sequence[str] | None, n: int, n_classes: int
    ) -> tuple[list[str], np.ndarray]:
        names = None if classes is None else [str(c) for c in classes]
        if names is not None and len(names) != n_classes:
            raise InputError(f"{len(names)} class names for {n_classes} score columns")
        if names is not None and len(set(names)) != len(names):
            raise InputError("class names are not unique")
        if self.multilabel:
            return self._check_multilabel(y_true, names, n, n_classes)
        y = np.asarray(y_true)
        if y.ndim != 1 or y.shape[0] != n:
            raise InputError(f"labels have shape {y.shape}, expected ({n},) to match the scores")
        if y.dtype.kind in "US" or y.dtype == object:
            y = y.astype(str)
            if names is None:
                names = sorted(set(y.tolist()))
                if len(names) > n_classes:
                    raise InputError(f"{len(names)} label names for {n_classes} score columns")
                if len(names) < n_classes:
                    raise InputError("pass classes= to name the score columns")
            lookup = {c: i for i, c in enumerate(names)}
            try:
                idx = np.array([lookup[v] for v in y.tolist()], dtype=np.int64)
            except KeyError as e:
                raise InputError(f"unknown label {e.args[0]!r}") from None
            return names, idx
        if y.dtype.kind not in "iub":
            if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
                y = y.astype(np.int64)
            else:
                raise InputError("labels must be class indices or class names")
        y = y.astype(np.int64)
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            bad = int(np.flatnonzero((y < 0) | (y >= n_classes))[0])
            raise InputError(f"label index out of range 0..{n_classes - 1}", where=f"row {bad}")
        return names or [str(i) for i in range(n_classes)], y

    def _check_multilabel(
        self, y_true: Any, names: list[str] | None, n: int, n_classes: int
    ) -> tuple[list[str], np.ndarray]:
        names = names or [str(i) for i in range(n_classes)]
        if (
            isinstance(y_true, np.ndarray)
            and y_true.ndim == 2
            or (
                not isinstance(y_true, np.ndarray)
                and len(y_true) > 0
                and isinstance(y_true[0], np.ndarray | list | tuple)
                and len(y_true[0]) == n_classes
                and all(isinstance(v, bool | np.bool_ | int | np.integer) for v in y_true[0])
                and np.asarray(y_true).ndim == 2
            )
        ):
            y = np.asarray(y_true)
            if y.shape != (n, n_classes):
                raise InputError(f"labels have shape {y.shape}, expected ({n}, {n_classes})")
            if not np.isin(y, (0, 1)).all():
                raise InputError("a multi-label indicator matrix must hold 0/1")
            return names, y.astype(bool)
        if len(y_true) != n:
            raise InputError(f"{len(y_true)} label lists for {n} score rows")
        lookup = {c: i for i, c in enumerate(names)}
        y = np.zeros((n, n_classes), dtype=bool)
        for i, labels in enumerate(y_true):
            for v in labels:
                j = lookup.get(str(v)) if not isinstance(v, int | np.integer) else int(v)
                if j is None or not 0 <= j < n_classes:
                    raise InputError(f"unknown label {v!r}", where=f"row {i}")
                y[i, j] = True
        return names, y

    @staticmethod
    def _check_threshold(threshold: Any, error: type[Exception] = ParameterError) -> float:
        try:
            t = float(threshold)
        except (TypeError, ValueError):
            raise error(f"threshold must be a number, got {threshold!r}") from None
        if not 0.0 <= t <= 1.0:
            raise error(f"threshold must be within [0, 1], got {t}")
        return t

    @staticmethod
    def _check_top_k(top_k: Sequence[int] | None, n_classes: int) -> list[int]:
        """The ks of top-k accuracy: given ones (ints >= 1, sorted, unique; k >= C gives 1.0),
        or the defaults below the number of classes."""
        if top_k is None:
            return [k for k in DEFAULT_TOP_K if k < n_classes]
        if isinstance(top_k, str | bytes) or not isinstance(top_k, Sequence | np.ndarray):
            raise ParameterError(f"top_k: expected a list of integers, got {top_k!r}")
        ks = []
        for k in top_k:
            if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
                raise ParameterError(f"top_k: each k must be an integer >= 1, got {k!r}")
            ks.append(int(k))
        return sorted(set(ks))

    def point(self, at: OperatingPoint | None = None) -> OperatingPoint:
        """``at`` with the threshold filled in (the evaluation's when None) and checked.

        >>> from assay.evaluation.classification import ClassificationResults
        >>> ClassificationResults([0, 1], [[.9, .1], [.2, .8]], threshold=0.3).point()
        OperatingPoint(threshold=0.3, iou=None, score=None)
        """
        if at is None:
            return OperatingPoint(threshold=self.threshold)
        if not isinstance(at, OperatingPoint):
            raise ParameterError(f"at: expected an OperatingPoint, got {at!r}")
        t = self.threshold if at.threshold is None else at.threshold
        return OperatingPoint(threshold=self._check_threshold(t))

    def default_point(self) -> dict[str, float | None]:
        """{"threshold": t}: the evaluation's own threshold (single-label 0: the argmax)."""
        return {"threshold": self.threshold}

    def set_default_point(self, at: OperatingPoint) -> None:
        """Make ``at.threshold`` (when given) the evaluation's own threshold."""
        if at.threshold is not None:
            self.threshold = self._check_threshold(at.threshold)

    def point_rule(self, at: OperatingPoint | None = None) -> str:
        """ "argmax" (single-label at threshold 0) or "threshold"."""
        return "argmax" if not self.multilabel and self._t(at) == 0.0 else "threshold"

    def _t(self, at: OperatingPoint | None) -> float:
        t = self.point(at).threshold
        assert t is not None
        return t

    def _tc(self, t: float) -> Any:
        """The threshold in the scores' dtype, the one comparison rule used everywhere."""
        return self.y_score.dtype.type(t)

    def _label(self, label: str | None, parameter: str = "label") -> int:
        """The index of class ``label`` (None: the first class), or a ParameterError naming
        ``parameter``."""
        if label is None:
            return 0
        index = self.class_index.get(label) if isinstance(label, str) else None
        if index is None:
            raise ParameterError(f"{parameter}: unknown label {label!r}")
        return index
