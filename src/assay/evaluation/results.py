"""One results interface for every task: classification, multi-label and detection.

Every screen, report and REST answer stands on :class:`Results`. A query names its operating point
explicitly with an :class:`OperatingPoint` (a threshold for classification; an IoU and a confidence
for detection); the results object fills what is left out with its defaults and checks the rest.

Every method returns a plain, JSON-safe dict (floats undefined somewhere are ``None``, never NaN or
inf) whose shape is the REST answer of the same name: the server passes it through, adding only
what comes from the dataset (text, media URLs, metadata) to sample items. Answers whose shape
differs between tasks carry ``task`` ("classification", "multilabel" or "detection"), so the REST
schemas are unions keyed on it; answers at an operating point carry that point's fields
(``threshold`` for classification and multi-label; ``iou`` and ``score`` for detection).

Shapes (``label`` is a class name; ``F`` is ``float | None``):

``summary(at)``
    Every summary carries ``point_rule``, how its operating point was chosen: "argmax" (single-
    label at threshold 0: no threshold), "threshold" (classification at t > 0, multi-label
    always), "given" (detection at a confidence given or stored) or "f1_optimal" (detection's
    default: the F1-optimal confidence at the IoU).
    classification / multilabel: {task, threshold, n_samples, n_classes, accuracy (at the
    threshold; multi-label: subset accuracy), top1_accuracy (argmax, scikit-learn's
    ``accuracy_score``; None for multi-label), top_k: [{k, value}] (the ks asked for, default 1, 3,
    5 below the number of classes; single-label only, else []), hamming_loss (multi-label, else
    None), macro_precision, macro_recall, macro_f1, micro_precision, micro_recall, micro_f1,
    weighted_precision, weighted_recall, weighted_f1, roc_auc_macro, average_precision_macro,
    log_loss, brier, ece, coverage, selective_accuracy, selective_risk (single-label: the share
    of samples with a prediction and the accuracy / error rate among them; None for multi-label)
    (all F), zero_division (0, or None for the defined-classes rule), never_predicted,
    never_labeled (present classes whose precision / recall is undefined: 0 in the averages),
    macro_over: {precision, recall, f1, roc_auc, average_precision} (how many classes each macro
    average is taken over: scikit-learn's labels present by default)}.
    detection: {task, iou, score, n_samples (images), n_classes, AP, AP50, AP75, APs, APm, APl,
    AR1, AR10, AR100, ARs, ARm, ARl (COCO, threshold-free, F), precision, recall, f1 (F), tp, fp,
    fn (int; overall at (iou, score) from the confusion matching), macro_over: {AP: classes with
    ground truth}}.

``per_class(at)``
    {task, <point>, items: [row]}; classification row: {label, total_labeled, total_predicted, tp,
    fp, fn, precision, recall, f1, roc_auc, average_precision}; detection row: {label, AP, AP50,
    AP75, AR100, APs, APm, APl, total_labeled, total_predicted, tp, fp, fn, precision, recall, f1}.

``confusion(at, normalize=None, top=None)``
    {task, <point>, unit ("samples" | "boxes"), rows, columns, counts (int matrix), matrix (the
    shown values: counts, or with normalize "true" row fractions, with "probability" (classification
    only) the mean score of the column class over the cell; None where undefined), normalize, top,
    n_classes, most_confused: [{actual, predicted, count}] (10 largest off-diagonal cells)}.
    Rows are actual classes, columns predicted; the special labels of :mod:`vocabulary` close them.
    ``top`` keeps the ``top`` classes most involved in confusions (rows and columns), special
    labels always kept.

``samples(at, *, actual, predicted, label, outcome, errors_only, sort, descending, offset, limit)``
    {task, <point>, total, offset, limit, n_boxes (detection with a cell filter: the boxes in that
    cell over all matching images, else None), items: [item]}.
    classification item: {index, id (str), actual (label), predicted (label | None below the
    threshold), confidence, actual_confidence, actual_rank, outcome}; multilabel item: the same
    with ``actual`` / ``predicted`` lists and actual_confidence / actual_rank F; detection item:
    {index, id (str), file_name, width, height, tp, fp, fn, boxes: [box]} (boxes as in ``sample``).
    ``outcome``: tp / fp / fn relative to ``label`` when one is given (tn where neither), else
    correct / incorrect / below_threshold.

``sample(index, at)``
    an item plus, classification / multilabel: scores: [{label, score}] highest first;
    detection: boxes: [{kind ("gt" | "pred"), label, bbox [x, y, w, h], score F, status ("tp" |
    "fp" | "fn" | "misclassified" | "crowd"), match (index in boxes | None), iou F}].

``optimal(metric="f1", at)``
    {task, metric, value F, <point>}: the point maximising ``metric`` (one of
    ``vocabulary.OPTIMA[task]``); detection searches the confidence at ``at.iou``.

``curve(kind, label=None, at)``
    {kind, label, ...}: roc {fpr, tpr, thresholds, auc}; pr {precision, recall, thresholds,
    average_precision} (detection: {iou, recall, precision, scores, average_precision}, 101 COCO
    points at ``at.iou``, one of 0.50:0.05:0.95); threshold {thresholds, precision, recall, tpr,
    fpr}; calibration {ece, bins: [{lower, upper, count, confidence, accuracy}]} (label None);
    density {edges, positives, negatives}. ``bins`` sets the calibration / density bins.

``headline()``
    {metric, label (human name), value F}: ROC AUC (macro) for classification, falling back to
    accuracy; AP (COCO mAP .50:.95) for detection.

``intervals(n=200, seed=0, at)``
    {metric key: {low, high} | None}: 95 % bootstrap intervals (samples; images for detection) of
    the summary metrics, keyed exactly as in ``summary``.

``folds(at)``
    None, or {folds: [{fold, n_samples, metrics: summary}], mean: {key: F}, std: {key: F}}.

``report(at)``
    the JSON report of the CLI: {task, classes, <point>, summary, per_class, confusion, optimal,
    intervals (after ``intervals()``, else None), folds, extra (detection: the AP under COCO / VOC
    interpolation protocols; else None)}.

``arrays()`` / ``from_arrays(arrays, meta)``
    (dict of numpy arrays, JSON-able meta with ``task``) and back, without recomputation where
    the object can avoid it; the store persists these and calls
:func:`assay.evaluation.dispatch.results_from_arrays`.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assay.caches import LRU
from assay.errors import ParameterError

if TYPE_CHECKING:  # numpy loads on use: the store's catalog (`assay list`) imports this module
    import numpy as np

__all__ = ["OperatingPoint", "Results"]


@dataclass(frozen=True)
class OperatingPoint:
    """Where threshold-dependent answers are computed: ``threshold`` (classification; single-label
    0 is the argmax, no threshold) and ``iou`` in [0, 1], ``score`` (detection confidence, any
    finite number). None means the results object's default (the evaluation's stored point); a
    field that does not apply to the task is ignored.

    >>> OperatingPoint(threshold=0.7)
    OperatingPoint(threshold=0.7, iou=None, score=None)
    >>> OperatingPoint(iou=2.0)
    Traceback (most recent call last):
    ...
    assay.errors.ParameterError: iou: 2.0 is outside [0, 1]
    """

    threshold: float | None = None
    iou: float | None = None
    score: float | None = None

    def __post_init__(self) -> None:
        import numpy as np

        for name in ("threshold", "iou", "score"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
                raise ParameterError(f"{name}: expected a number, got {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise ParameterError(f"{name}: expected a finite number, got {value!r}")
            if name != "score" and not 0.0 <= value <= 1.0:
                raise ParameterError(f"{name}: {value!r} is outside [0, 1]")
            object.__setattr__(self, name, value)


_MEMO_LOCK = threading.Lock()


class Results(ABC):
    """What every results object answers; see the module docstring for the shapes."""

    task: str
    classes: list[str]
    n_samples: int
    n_classes: int
    default_iou: float = 0.5

    @abstractmethod
    def point(self, at: OperatingPoint | None = None) -> OperatingPoint:
        """``at`` with every field of this task filled in (the defaults) and checked."""

    @abstractmethod
    def default_point(self) -> dict[str, float | None]:
        """The evaluation's own operating point as it is stored: {"threshold": t}
        (classification; 0 is the argmax) or {"iou": i, "score": s} (detection; score None: the
        F1-optimal confidence at the IoU). ``point()`` with nothing given answers from it."""

    @abstractmethod
    def set_default_point(self, at: OperatingPoint) -> None:
        """Make the given fields of ``at`` this evaluation's own operating point (None fields
        keep theirs); what a store keeps with the evaluation and every surface starts from."""

    @abstractmethod
    def point_rule(self, at: OperatingPoint | None = None) -> str:
        """How ``point(at)`` was chosen: the summary's ``point_rule``."""

    @abstractmethod
    def summary(self, at: OperatingPoint | None = None) -> dict[str, Any]: ...

    @abstractmethod
    def per_class(self, at: OperatingPoint | None = None) -> dict[str, Any]: ...

    @abstractmethod
    def confusion(
        self,
        at: OperatingPoint | None = None,
        *,
        normalize: str | None = None,
        top: int | None = None,
    ) -> dict[str, Any]: ...

    @abstractmethod
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
    ) -> dict[str, Any]: ...

    @abstractmethod
    def sample(self, index: int, at: OperatingPoint | None = None) -> dict[str, Any]: ...

    @abstractmethod
    def optimal(self, metric: str = "f1", at: OperatingPoint | None = None) -> dict[str, Any]: ...

    @abstractmethod
    def curve(
        self,
        kind: str,
        label: str | None = None,
        at: OperatingPoint | None = None,
        *,
        bins: int | None = None,
    ) -> dict[str, Any]: ...

    @abstractmethod
    def headline(self) -> dict[str, Any]: ...

    @abstractmethod
    def intervals(
        self, n: int = 200, seed: int = 0, at: OperatingPoint | None = None
    ) -> dict[str, dict[str, float] | None]: ...

    @abstractmethod
    def folds(self, at: OperatingPoint | None = None) -> dict[str, Any] | None: ...

    @abstractmethod
    def report(self, at: OperatingPoint | None = None) -> dict[str, Any]: ...

    @abstractmethod
    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]: ...

    @classmethod
    @abstractmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Results: ...

    def to_pandas(
        self, table: str = "per_class", at: OperatingPoint | None = None, **query: Any
    ) -> Any:
        """ "per_class", "confusion" or "samples" as a pandas DataFrame (needs pandas; see
        :func:`assay.evaluation.frames.to_pandas`)."""
        from assay.evaluation.frames import to_pandas

        return to_pandas(self, table, at, **query)

    def _repr_html_(self) -> str:
        """Jupyter's view: a compact summary (:func:`assay.evaluation.frames.summary_html`)."""
        from assay.evaluation.frames import summary_html

        return summary_html(self)

    def memo(self, name: str, maxsize: int = 2) -> LRU[Any, Any]:
        """A bounded, thread-safe cache kept with this evaluation under ``name``: what an
        analysis of it computes once and re-uses (a comparison's replicates on given resamples, an
        aligned copy, per-sample influences), dropped with the evaluation, the least recently used
        entries first once ``maxsize`` are kept."""
        with _MEMO_LOCK:
            memos: dict[str, LRU[Any, Any]] = self.__dict__.setdefault("_memos", {})
            if name not in memos:
                memos[name] = LRU(maxsize)
            return memos[name]

    def check_label(self, label: str | None, parameter: str = "label") -> str | None:
        """``label`` itself (None passes), or a ParameterError naming ``parameter``."""
        if label is None:
            return None
        known = self.__dict__.get("_label_set")
        if known is None:
            known = frozenset(self.classes)
            self.__dict__["_label_set"] = known
        if label not in known:
            raise ParameterError(f"{parameter}: unknown label {label!r}")
        return label
