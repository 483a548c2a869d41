"""Line classification ground truth and predictions up, row for row in ground-truth order:
classes ordered and matched, scores checked (single-label rows that do not sum to 1 within
:data:`SUM_TOLERANCE` give one warning), hard labels one-hot encoded, logits soft-maxed, groups
carried. What comes out is a :class:`~assay.formats.tables.ClassificationInput` the evaluation layer
trusts; every problem is an :class:`~assay.errors.InputError` naming the file and the row.

>>> data = align(read_ground_truth("gt.csv"), read_predictions("pred.csv"))  # doctest: +SKIP
>>> data.y_score.shape                                                    # doctest: +SKIP
(1000, 10)
"""

from __future__ import annotations

import numpy as np

from assay.errors import InputError
from assay.formats.table_files import short
from assay.formats.tables import (
    HARD_LABELS_NOTE,
    ClassificationInput,
    GroundTruth,
    Predictions,
    Task,
)


def _one_hot(gt: GroundTruth, pred: Predictions, task: Task) -> Predictions:
    """Hard labels as a wide table of 1 / 0 scores over the classes of the ground truth and the
    predictions (the ground truth's declared order, else sorted names)."""
    if task == "classification" and pred.label_sets is not None:
        raise InputError(
            "holds label sets (a 'labels' column); single-label ground truth needs one "
            "predicted 'label' a row",
            file=str(pred.source),
        )
    known = gt.classes
    extra = sorted(set(pred.classes) - set(known))
    classes = (
        [*known, *extra]
        if gt.declared_classes is not None
        else sorted(set(known) | set(pred.classes))
    )
    index = {c: i for i, c in enumerate(classes)}
    scores = np.zeros((len(pred.ids), len(classes)), dtype=np.float64)
    sets = pred.label_sets if pred.label_sets is not None else [[x] for x in pred.labels or []]
    for i, labs in enumerate(sets):
        for lab in labs:
            scores[i, index[lab]] = 1.0
    return Predictions(
        source=pred.source,
        ids=pred.ids,
        classes=classes,
        scores=scores,
        wide=True,
        warnings=list(pred.warnings),
        labels=pred.labels,
        label_sets=pred.label_sets,
        groups=pred.groups,
    )


def _unknown_classes_warning(
    gt: GroundTruth, pred: Predictions, classes: list[str], scores: np.ndarray, task: Task
) -> str | None:
    """One line naming the predicted classes the ground truth has no sample of (predicted:
    the argmax, multi-label a score >= 0.5), with how many samples they take, else None."""
    known = set(gt.classes)
    extra = [j for j, c in enumerate(classes) if c not in known]
    if not extra:
        return None
    if task == "classification":
        counts = np.bincount(np.argmax(scores, axis=1), minlength=len(classes))[extra]
    else:
        counts = (scores[:, extra] >= 0.5).sum(axis=0)
    found = [(classes[j], int(n)) for j, n in zip(extra, counts, strict=True) if n > 0]
    if not found:
        return None
    names = ", ".join(f"'{short(c)}'" for c, _ in found[:5]) + (" ..." if len(found) > 5 else "")
    what = "class" if len(found) == 1 else "classes"
    n = sum(k for _, k in found)
    return (
        f"{pred.source}: predicted {what} not in the ground truth {gt.source.name}: {names} "
        f"({n} of {len(scores)} samples); a sample predicted as one is an error"
    )


def _order_classes(gt: GroundTruth, pred: Predictions) -> list[str]:
    if pred.wide:
        return list(pred.classes)
    if gt.declared_classes and set(pred.classes) <= set(gt.declared_classes):
        return [c for c in gt.declared_classes if c in set(pred.classes)]
    return sorted(pred.classes)


def align(
    gt: GroundTruth, pred: Predictions, *, task: Task | None = None, logits: bool = False
) -> ClassificationInput:
    """Check ground truth against predictions and line them up row for row (ground-truth order)."""
    if task is None:
        task = "multilabel" if gt.multilabel else "classification"
    if task == "classification" and gt.multilabel:
        raise InputError(
            "has a 'labels' column (multi-label) but the task is classification",
            file=str(gt.source),
        )
    hard = pred.hard
    if hard:
        if logits:
            raise InputError(
                "holds hard labels (no scores); --logits applies to score tables",
                file=str(pred.source),
            )
        pred = _one_hot(gt, pred, task)
    if len(pred.classes) < 2 and task == "classification":
        raise InputError("needs scores for at least two classes", file=str(pred.source))
    classes = _order_classes(gt, pred)
    col_of = {c: i for i, c in enumerate(pred.classes)}
    scores = pred.scores[:, [col_of[c] for c in classes]]

    # Row alignment: every ground-truth id once in the predictions, nothing extra.
    pred_order = np.argsort(pred.ids, kind="stable")
    sorted_ids = pred.ids[pred_order]
    pos = np.searchsorted(sorted_ids, gt.ids)
    pos_clipped = np.minimum(pos, len(sorted_ids) - 1)
    found = sorted_ids[pos_clipped] == gt.ids
    if not found.all():
        row = int(np.nonzero(~found)[0][0])
        raise InputError(
            f"no prediction for id '{short(gt.ids[row])}' (ground truth row {row + 1})",
            file=str(pred.source),
        )
    take = pred_order[pos_clipped]
    if len(pred.ids) != len(gt.ids):
        used = np.zeros(len(pred.ids), dtype=bool)
        used[take] = True
        row = int(np.nonzero(~used)[0][0])
        raise InputError(
            f"prediction for id '{short(pred.ids[row])}' that is not in the ground truth {gt.source.name}",
            file=str(pred.source),
            where=f"row {row + 1}" if pred.wide else None,
        )
    scores = scores[take]

    if logits:
        scores = _softmax(scores) if task == "classification" else 1.0 / (1.0 + np.exp(-scores))
    else:
        bad = np.argwhere((scores < 0) | (scores > 1))
        if bad.size:
            i, j = bad[0]
            raise InputError(
                f"score {scores[i, j]:g} is outside [0, 1] (pass --logits for raw scores)",
                file=str(pred.source),
                where=f"row {int(take[i]) + 1}, column '{short(classes[j])}'",
            )

    index = {c: i for i, c in enumerate(classes)}
    if task == "classification":
        labels = gt.labels if gt.labels is not None else []
        y_true: np.ndarray = np.empty(len(labels), dtype=np.int64)
        for i, lab in enumerate(labels):
            k = index.get(lab)
            if k is None:
                hint = " (several labels? use a 'labels' column with '|')" if "," in lab else ""
                raise InputError(
                    f"label '{short(lab)}' is not among the score columns of "
                    f"{pred.source.name}{hint}",
                    file=str(gt.source),
                    where=f"row {i + 1}",
                )
            y_true[i] = k
    else:
        sets = gt.label_sets if gt.label_sets is not None else [[x] for x in (gt.labels or [])]
        y_true = np.zeros((len(sets), len(classes)), dtype=bool)
        for i, labs in enumerate(sets):
            for lab in labs:
                k = index.get(lab)
                if k is None:
                    raise InputError(
                        f"label '{short(lab)}' is not among the score columns of {pred.source.name}",
                        file=str(gt.source),
                        where=f"row {i + 1}",
                    )
                y_true[i, k] = True
    folds = np.array(gt.folds, dtype=object) if gt.folds is not None else None
    groups = _groups(gt, pred, take)
    warnings = [*gt.warnings, *pred.warnings]
    unknown = _unknown_classes_warning(gt, pred, classes, scores, task)
    if unknown is not None:
        warnings.append(unknown)
    if hard:
        warnings.append(f"{pred.source}: {HARD_LABELS_NOTE}")
    elif task == "classification" and not logits:
        note = _sum_warning(scores, take, pred)
        if note is not None:
            warnings.append(note)
    return ClassificationInput(
        gt=gt,
        classes=classes,
        y_true=y_true,
        y_score=scores,
        task=task,
        folds=folds,
        groups=groups,
        warnings=warnings,
        hard_labels=hard,
    )


def _groups(gt: GroundTruth, pred: Predictions, take: np.ndarray) -> np.ndarray | None:
    """The group of each ground-truth row: the ground truth's ``group`` column, else the
    predictions' (through ``take``, the prediction row of each ground-truth row); where both have
    one they must agree (an :class:`InputError` naming the first row that differs).

    >>> from pathlib import Path
    >>> gt = GroundTruth(Path("gt.csv"), np.array(["a", "b"], object), groups=["p1", "p2"])
    >>> pred = Predictions(Path("p.csv"), np.array(["b", "a"], object), ["x"], np.zeros((2, 1)))
    >>> _groups(gt, pred, np.array([1, 0])).tolist()
    ['p1', 'p2']
    >>> pred.groups = ["p2", "p9"]
    >>> _groups(gt, pred, np.array([1, 0]))
    Traceback (most recent call last):
    assay.errors.InputError: gt.csv: row 1: group 'p1' differs from the predictions' 'p9' (p.csv)
    """
    from_gt = None if gt.groups is None else np.array(gt.groups, dtype=object)
    from_pred = None if pred.groups is None else np.array(pred.groups, dtype=object)[take]
    if from_gt is not None and from_pred is not None:
        differ = from_gt != from_pred
        if differ.any():
            i = int(np.argmax(differ))
            raise InputError(
                f"group '{short(from_gt[i])}' differs from the predictions' "
                f"'{short(from_pred[i])}' ({pred.source.name})",
                file=str(gt.source),
                where=f"row {i + 1}",
            )
    return from_gt if from_gt is not None else from_pred


SUM_TOLERANCE = 0.01


def _sum_warning(scores: np.ndarray, take: np.ndarray, pred: Predictions) -> str | None:
    """One line when single-label score rows do not sum to 1 (within ``SUM_TOLERANCE``), else None.

    >>> from pathlib import Path
    >>> p = Predictions(Path("p.csv"), np.array(["a", "b"], object), ["x", "y"], np.zeros((2, 2)))
    >>> _sum_warning(np.array([[0.5, 0.5], [0.2, 0.3]]), np.array([0, 1]), p)
    'p.csv: row 2: scores do not sum to 1 in 1 of 2 rows (first sum 0.5); single-label metrics read them as probabilities (raw scores: pass --logits)'
    """
    sums = scores.sum(axis=1)
    off = np.abs(sums - 1.0) > SUM_TOLERANCE
    n_off = int(np.count_nonzero(off))
    if n_off == 0:
        return None
    i = int(np.argmax(off))
    place = f"row {int(take[i]) + 1}" if pred.wide else f"id '{short(pred.ids[take[i]])}'"
    return (
        f"{pred.source}: {place}: scores do not sum to 1 in {n_off} of {len(sums)} rows "
        f"(first sum {sums[i]:.4g}); single-label metrics read them as probabilities"
        " (raw scores: pass --logits)"
    )


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z
