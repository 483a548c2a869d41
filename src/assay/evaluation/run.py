"""Evaluate files: read ground truth and predictions, infer the task, build the results object.

The CLI and the server's background jobs both come through here, so a file means the same thing
everywhere.

>>> run = evaluate_files("gt.csv", "pred.csv")           # doctest: +SKIP
>>> run.task, run.results.summary()["accuracy"]          # doctest: +SKIP
('classification', 0.91)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from assay.errors import InputError
from assay.evaluation.vocabulary import TASKS
from assay.formats.files import check_input


@dataclass
class FileEvaluation:
    """What one evaluation of files produced: the results, the dataset's per-sample table and
    notes for the user (such as how many image files were found)."""

    task: str
    results: Any
    samples: pa.Table
    gt_source: Path
    pred_source: Path
    notes: list[str] = field(default_factory=list)
    media_root: Path | None = None  # the folder every media path of ``samples`` lies in


def infer_task(gt: str | Path) -> str:
    """Guess the task from the ground truth: COCO / YOLO / VOC means detection."""
    path = Path(gt)
    if path.is_dir():
        if (path / "Annotations").is_dir() or (path / "labels").is_dir():
            return "detection"
        return "classification"
    if path.suffix.lower() == ".json":
        check_input(path)  # a regular file within the cap: never a pipe or a device
        with path.open("rb") as f:
            head = f.read(65536).lstrip(b"\xef\xbb\xbf").lstrip()
        if head.startswith(b"{") and (b'"annotations"' in head or b'"images"' in head):
            return "detection"
    return "classification"


def evaluate_files(
    gt: str | Path,
    pred: str | Path,
    *,
    task: str | None = None,
    threshold: float | None = None,
    logits: bool = False,
    images_root: str | Path | None = None,
    allow_outside: bool = False,
) -> FileEvaluation:
    """Read, check and evaluate; raises :class:`InputError` on bad input, before anything is stored.

    Media paths (a table's ``path``, ImageFolder and YOLO images, COCO / VOC ``file_name``) must
    lie inside the dataset's root folder, links followed, unless ``allow_outside``
    (:mod:`assay.formats.media`); ``media_root`` of the answer is that folder.

    Detection: ``images_root`` is the images folder (default: the format's own, or the COCO
    file's folder); ``threshold``: None for the task's default (single-label: the argmax;
    multi-label: 0.5); ``notes`` then says "found N of M image files under DIR", and no image found
    under a folder the caller named is an :class:`InputError` naming it.
    """
    # regular files within the cap (or folders), links followed: never a pipe or a device
    gt_path = check_input(gt, folder_ok=True)
    pred_path = check_input(pred, folder_ok=True)
    if task is not None and task not in TASKS:
        raise InputError(f"unknown task '{task}' (choose one of {', '.join(TASKS)})")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise InputError(f"threshold {threshold} is outside [0, 1]")
    if task is None:
        task = infer_task(gt_path)
    if task == "detection":
        return _evaluate_detection_files(gt_path, pred_path, images_root, allow_outside)
    return _evaluate_classification_files(
        gt_path, pred_path, task, threshold, logits, allow_outside
    )


def _evaluate_classification_files(
    gt_path: Path,
    pred_path: Path,
    task: str | None,
    threshold: float | None,
    logits: bool,
    allow_outside: bool,
) -> FileEvaluation:
    from assay.evaluation.classification import evaluate_classification
    from assay.formats.align import align
    from assay.formats.tables import read_ground_truth, read_predictions

    if pred_path.is_dir():
        raise InputError("is a folder, expected a predictions file", file=str(pred_path))
    gt = read_ground_truth(gt_path, allow_outside=allow_outside)
    if task is None or task == "classification":
        task = "multilabel" if gt.multilabel else "classification"
    pred = read_predictions(pred_path)
    data = align(gt, pred, task=task, logits=logits)  # type: ignore[arg-type]
    results = evaluate_classification(
        data.y_true,
        data.y_score,
        classes=data.classes,
        multilabel=data.task == "multilabel",
        threshold=threshold,
        sample_ids=gt.ids,
        folds=data.folds,
        groups=data.groups,
        hard_labels=data.hard_labels,
    )
    return FileEvaluation(
        task=data.task,
        results=results,
        samples=gt.samples_table(),
        gt_source=gt.source,
        pred_source=pred.source,
        notes=list(data.warnings),
        media_root=gt.media_root if gt.paths is not None else None,
    )


def _evaluate_detection_files(
    gt_path: Path, pred_path: Path, images_root: str | Path | None, allow_outside: bool
) -> FileEvaluation:
    """Read, locate the image files, evaluate.

    Each image's ``file_name`` is looked for under the images folder, under the annotation file's
    folder, and by its last part under the images folder; "found N of M image files under DIR" is
    a note, and finding none under a folder the user named is an :class:`InputError`.
    """
    from assay.evaluation.detection import DetectionResults
    from assay.formats.detection import (
        locate_images,
        read_detection_gt,
        read_detection_predictions,
    )

    if images_root is not None and not Path(images_root).is_dir():
        raise InputError("no such folder (--images)", file=str(images_root))
    gt = read_detection_gt(gt_path, images_root=images_root, allow_outside=allow_outside)
    files = locate_images(gt, allow_outside=allow_outside)
    if images_root is not None and files.total and not files.found:
        example = next((f for f in gt.file_names if f), "")
        raise InputError(
            f"no image file found for the {files.total} images of {gt_path.name}"
            + (f" (first file_name {example!r})" if example else ""),
            file=str(files.root),
        )
    notes = [] if files.note() is None else [str(files.note())]
    gt.image_paths = files.paths
    dt = read_detection_predictions(pred_path, gt)
    notes += [*gt.warnings, *dt.warnings]  # e.g. boxes that look like corners
    results = DetectionResults(gt, dt)
    samples = pa.table(
        {
            "id": pa.array([str(i) for i in gt.image_ids.tolist()], pa.string()),
            "file_name": pa.array(list(gt.file_names), pa.string()),
            "path": pa.array([None if p is None else str(p) for p in files.paths], pa.string()),
            "width": pa.array(gt.widths.tolist(), pa.int64()),
            "height": pa.array(gt.heights.tolist(), pa.int64()),
        }
    )
    return FileEvaluation(
        task="detection",
        results=results,
        samples=samples,
        gt_source=gt_path.resolve(),
        pred_source=pred_path.resolve(),
        notes=notes,
        media_root=files.media_root if files.found else None,
    )
