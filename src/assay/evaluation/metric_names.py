"""The one registry of metric names: for every headline metric of a task, its key (as in the
results' summary), the words a sentence uses for it, which way is better, its unit, the tasks it
exists for and the names people type for it. Compare, the leaderboard, the CLI's gate and
``--metric``, and the REST API (``GET /api/metrics``) all take their names from here.

A name is accepted case-insensitively, whatever its spacing, dashes and underscores ("Macro F1",
"macro-f1" and "macro_f1" are one name), as a key, a label or an alias; aliases depend on the task
("f1" is macro F1 for classification, the overall F1 of the boxes for detection):

>>> resolve("mAP", "detection").key
'AP'
>>> resolve("F1", "classification").key, resolve("f1", "detection").key
('macro_f1', 'f1')
>>> resolve("Accuracy", "multilabel").label
'subset accuracy'
>>> resolve("acuracy", "classification")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
assay.errors.ParameterError: metric: 'acuracy' is not a classification metric (choose from accuracy, ...
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from assay.errors import ParameterError

__all__ = [
    "HEADLINE",
    "REGISTRY",
    "TASKS",
    "UNITS",
    "Metric",
    "accepted_names",
    "find",
    "headline",
    "lookup",
    "metric",
    "metrics",
    "normalize",
    "resolve",
    "resolve_any",
]

TASKS: Final = ("classification", "multilabel", "detection")
# fraction: a share in [0, 1] (accuracy, F1, AP...); nats: natural-log units (log loss); count: a
# number of boxes; score: a number without a natural unit (the Brier score, in [0, 2]).
UNITS: Final = ("fraction", "nats", "count", "score")

_CLS: Final = ("classification",)
_ML: Final = ("multilabel",)
_BOTH: Final = ("classification", "multilabel")
_DET: Final = ("detection",)


@dataclass(frozen=True)
class Metric:
    """One metric of one or more tasks.

    ``key``: as in the results' summary; ``label``: the words of a sentence ("B is better on
    macro F1"); ``points``: differences are said in percentage points (else in 4 decimals).

    >>> m = metric("log_loss", "classification")
    >>> m.label, m.higher_is_better, m.unit
    ('log loss', False, 'nats')
    """

    key: str
    label: str
    higher_is_better: bool
    unit: str
    tasks: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    points: bool = False


_P: Final = True  # points: differences said in percentage points

# fmt: off
REGISTRY: Final[tuple[Metric, ...]] = (
    # key, label, higher is better, unit, tasks, aliases, points
    # ------------------------------------------------ single- and multi-label classification
    Metric("accuracy", "accuracy", True, "fraction", _CLS, ("acc",), _P),
    Metric("accuracy", "subset accuracy", True, "fraction", _ML,
           ("subset_accuracy", "exact_match", "acc"), _P),
    Metric("top1_accuracy", "top-1 accuracy", True, "fraction", _CLS,
           ("top1", "top1_acc", "argmax_accuracy"), _P),
    Metric("hamming_loss", "Hamming loss", False, "fraction", _ML, ("hamming",)),
    Metric("macro_f1", "macro F1", True, "fraction", _BOTH, ("f1", "f1_macro", "f1_score"), _P),
    Metric("macro_precision", "macro precision", True, "fraction", _BOTH,
           ("precision", "precision_macro"), _P),
    Metric("macro_recall", "macro recall", True, "fraction", _BOTH, ("recall", "recall_macro"), _P),
    Metric("micro_f1", "micro F1", True, "fraction", _BOTH, ("f1_micro",)),
    Metric("micro_precision", "micro precision", True, "fraction", _BOTH, ("precision_micro",)),
    Metric("micro_recall", "micro recall", True, "fraction", _BOTH, ("recall_micro",)),
    Metric("weighted_f1", "weighted F1", True, "fraction", _BOTH, ("f1_weighted",)),
    Metric("weighted_precision", "weighted precision", True, "fraction", _BOTH,
           ("precision_weighted",)),
    Metric("weighted_recall", "weighted recall", True, "fraction", _BOTH, ("recall_weighted",)),
    Metric("roc_auc_macro", "ROC AUC", True, "fraction", _BOTH, ("auc", "roc_auc", "auroc")),
    Metric("average_precision_macro", "average precision", True, "fraction", _BOTH,
           ("ap", "auprc", "average_precision", "pr_auc")),
    Metric("log_loss", "log loss", False, "nats", _BOTH, ("logloss", "cross_entropy", "nll")),
    Metric("ece", "calibration error", False, "fraction", _BOTH, ("expected_calibration_error",)),
    Metric("brier", "Brier score", False, "score", _BOTH, ("brier_score",)),
    Metric("coverage", "coverage", True, "fraction", _CLS),
    Metric("selective_accuracy", "selective accuracy", True, "fraction", _CLS),
    Metric("selective_risk", "selective risk", False, "fraction", _CLS, ("risk",)),
    # ------------------------------------------------ detection (COCO, then at the operating point)
    Metric("AP", "mAP (.50:.95)", True, "fraction", _DET,
           ("mAP", "map50_95", "ap50_95", "coco_ap")),
    Metric("AP50", "AP50", True, "fraction", _DET, ("mAP50", "ap@.50", "map@.50")),
    Metric("AP75", "AP75", True, "fraction", _DET, ("mAP75", "ap@.75", "map@.75")),
    Metric("APs", "AP (small)", True, "fraction", _DET, ("ap_small",)),
    Metric("APm", "AP (medium)", True, "fraction", _DET, ("ap_medium",)),
    Metric("APl", "AP (large)", True, "fraction", _DET, ("ap_large",)),
    Metric("AR1", "AR (1 detection)", True, "fraction", _DET),
    Metric("AR10", "AR (10 detections)", True, "fraction", _DET),
    Metric("AR100", "AR (100 detections)", True, "fraction", _DET, ("ar", "mar")),
    Metric("ARs", "AR (small)", True, "fraction", _DET, ("ar_small",)),
    Metric("ARm", "AR (medium)", True, "fraction", _DET, ("ar_medium",)),
    Metric("ARl", "AR (large)", True, "fraction", _DET, ("ar_large",)),
    Metric("precision", "precision", True, "fraction", _DET),
    Metric("recall", "recall", True, "fraction", _DET),
    Metric("f1", "F1", True, "fraction", _DET, ("f1_score",)),
    Metric("tp", "true positives", True, "count", _DET, ("true_positives",)),
    Metric("fp", "false positives", False, "count", _DET, ("false_positives",)),
    Metric("fn", "false negatives", False, "count", _DET, ("false_negatives",)),
)
# fmt: on

# the headline rows of a comparison (in this order), what a leaderboard ranks by and what the
# gate (--fail-if-worse) takes
HEADLINE: Final[dict[str, tuple[str, ...]]] = {
    "classification": ("accuracy", "top1_accuracy", "macro_f1", "macro_precision",
                       "macro_recall", "roc_auc_macro", "average_precision_macro", "log_loss"),
    "multilabel": ("accuracy", "hamming_loss", "macro_f1", "micro_f1", "macro_precision",
                   "macro_recall", "roc_auc_macro", "average_precision_macro", "log_loss"),
    "detection": ("AP", "AP50", "AP75", "precision", "recall", "f1"),
}  # fmt: skip


def normalize(name: str) -> str:
    """A name as it is matched: lower case, letters and digits only.

    >>> normalize("Macro-F1"), normalize("mAP@.50"), normalize(" top-1 accuracy ")
    ('macrof1', 'map50', 'top1accuracy')
    """
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ParameterError(f"task: {task!r} is not one of {', '.join(TASKS)}")


def metrics(task: str | None = None) -> tuple[Metric, ...]:
    """The metrics of ``task`` (every entry when None), in the registry's order.

    >>> [m.key for m in metrics("detection")][:3]
    ['AP', 'AP50', 'AP75']
    """
    if task is None:
        return REGISTRY
    _check_task(task)
    return tuple(m for m in REGISTRY if task in m.tasks)


def lookup(key: str, task: str) -> Metric | None:
    """The metric of ``task`` whose key is exactly ``key``, or None.

    >>> lookup("accuracy", "multilabel").label, lookup("mAP", "detection")
    ('subset accuracy', None)
    """
    return next((m for m in metrics(task) if m.key == key), None)


def metric(key: str, task: str) -> Metric:
    """:func:`lookup`, for a key known to exist (a KeyError otherwise)."""
    found = lookup(key, task)
    if found is None:
        raise KeyError(f"{key!r} is not a {task} metric")
    return found


def headline(task: str) -> tuple[Metric, ...]:
    """The headline metrics of ``task``: a comparison's rows, in order, what a leaderboard ranks
    by and what the gate takes.

    >>> [m.label for m in headline("detection")]
    ['mAP (.50:.95)', 'AP50', 'AP75', 'precision', 'recall', 'F1']
    """
    _check_task(task)
    return tuple(metric(k, task) for k in HEADLINE[task])


def _names(m: Metric) -> tuple[str, ...]:
    return (m.key, m.label, *m.aliases)


def _table(task: str) -> dict[str, Metric]:
    """Every accepted name of ``task``, normalized, to its metric (keys first, then labels, then
    aliases: a key never loses to another metric's alias)."""
    table: dict[str, Metric] = {}
    for pick in (lambda m: (m.key,), lambda m: (m.label,), lambda m: m.aliases):
        for m in metrics(task):
            for name in pick(m):
                table.setdefault(normalize(name), m)
    return table


_TABLES: Final = {task: _table(task) for task in TASKS}


def accepted_names(task: str | None = None, among: Iterable[str] | None = None) -> str:
    """The names to offer in a refusal: the keys (of ``task``, or of every task, restricted to
    ``among`` when given), then the first alias of each.

    >>> accepted_names("detection", among=("AP", "AP50", "f1"))
    'AP, AP50, f1; also mAP, mAP50, f1_score'
    """
    pool = metrics(task)
    if among is not None:
        keep = set(among)
        pool = tuple(m for m in pool if m.key in keep)
    keys = list(dict.fromkeys(m.key for m in pool))
    aliases = list(dict.fromkeys(m.aliases[0] for m in pool if m.aliases))
    aliases = [a for a in aliases if a not in keys][:10]
    return ", ".join(keys) + (f"; also {', '.join(aliases)}" if aliases else "")


def find(name: str, task: str) -> Metric | None:
    """The metric of ``task`` that ``name`` names (key, label or alias, any case), or None.

    >>> find("Logloss", "classification").key, find("hamming", "classification")
    ('log_loss', None)
    """
    _check_task(task)
    return _TABLES[task].get(normalize(name))


def resolve(
    name: str, task: str, *, among: Iterable[str] | None = None, what: str = "metric"
) -> Metric:
    """The metric of ``task`` that ``name`` names; ``among``: the keys allowed here (default
    every metric of the task). Anything else is a :class:`~assay.errors.ParameterError` whose one
    line names ``what`` and lists the accepted names.

    >>> resolve("auc", "classification").key
    'roc_auc_macro'
    >>> resolve("ece", "classification", among=("accuracy", "log_loss"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    assay.errors.ParameterError: metric: 'ece' (calibration error) is not available here ...
    """
    found = find(name, task)
    allowed = None if among is None else tuple(among)
    if found is not None and (allowed is None or found.key in allowed):
        return found
    choices = accepted_names(task, allowed)
    if found is not None:
        raise ParameterError(
            f"{what}: {name!r} ({found.label}) is not available here (choose from {choices})"
        )
    raise ParameterError(f"{what}: {name!r} is not a {task} metric (choose from {choices})")


def resolve_any(name: str) -> dict[str, Metric]:
    """The metric ``name`` names in each task where it names one (empty: in none).

    >>> {t: m.key for t, m in resolve_any("F1").items()}
    {'classification': 'macro_f1', 'multilabel': 'macro_f1', 'detection': 'f1'}
    """
    out = {}
    for task in TASKS:
        found = find(name, task)
        if found is not None:
            out[task] = found
    return out
