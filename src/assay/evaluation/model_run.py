"""Evaluate a model: run it over a labeled dataset, write its predictions as a predictions file,
then evaluate that file exactly as :func:`~assay.evaluation.run.evaluate_files` evaluates one a
user gives (so a model run means what a predictions file means).

Inputs come from the ground truth's own readers: a table with a ``path`` column (images) or a
``text`` column, an ImageFolder tree, or a COCO / YOLO / VOC set with its images. Predictions are
streamed to ``work_dir/shards`` batch by batch (:func:`~assay.runners.run_images`), so calling
again with the same ``work_dir`` after an interruption computes only the missing batches.

    >>> run = evaluate_model("pets.csv", load_runner("r50.onnx"), work_dir=Path("work"))  # doctest: +SKIP
    >>> run.results.summary()["accuracy"]  # doctest: +SKIP
    0.91
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from assay.errors import InputError
from assay.evaluation.run import FileEvaluation, evaluate_files, infer_task
from assay.evaluation.vocabulary import TASKS
from assay.runners import Runner, run_images, run_texts

Progress = Callable[[int, int], None]
SHARDS = "shards"
CLASSIFICATION_FILE = "predictions.parquet"
DETECTION_FILE = "predictions.json"
_SHOWN = 5


def _names(values: Sequence[str]) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:_SHOWN])
    return shown + (f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else "")


def model_task(runner: Runner) -> str:
    """The task a model's spec says it does."""
    return str(runner.spec.task)


def _check_task(gt: Path, runner: Runner, task: str | None) -> str:
    """The dataset's task (``task`` or inferred), checked against the model's."""
    if task is not None and task not in TASKS:
        raise InputError(f"unknown task '{task}' (choose one of {', '.join(TASKS)})")
    dataset_task = task or infer_task(gt)
    mine = model_task(runner)
    if (dataset_task == "detection") != (mine == "detection"):
        kind = "a detection" if dataset_task == "detection" else "a classification"
        raise InputError(
            f"is {kind} dataset and the model ({Path(runner.path).name}) does {mine}",
            file=str(gt),
        )
    return dataset_task


def _model_classes(runner: Runner) -> tuple[str, ...]:
    classes = runner.describe().classes
    if not classes:
        raise InputError(
            "the model does not name its classes; give them with --labels FILE "
            "(one name a line) or 'classes' in its spec",
            file=str(runner.path),
        )
    return tuple(classes)


def _overlap(classes: Sequence[str], labels: Sequence[str], gt: Path, runner: Runner) -> list[str]:
    """Check the model's classes against the dataset's labels; the notes to print."""
    known = set(classes)
    if not known & set(labels):
        raise InputError(
            f"none of the model's {len(classes)} classes ({_names(classes)}) is a label of "
            f"the dataset ({_names(sorted(set(labels)))})",
            file=str(runner.path),
        )
    missing = sorted(set(labels) - known)
    if not missing:
        return []
    return [
        f"{gt}: {len(missing)} of the dataset's labels are not among the model's classes "
        f"({_names(missing)}); the model never predicts them"
    ]


def predict_dataset(
    gt: str | Path,
    runner: Runner,
    *,
    task: str | None = None,
    images_root: str | Path | None = None,
    allow_outside: bool = False,
    batch_size: int = 32,
    work_dir: Path,
    progress: Progress | None = None,
) -> Path:
    """Run ``runner`` over the samples of ground truth ``gt`` and write its predictions file into
    ``work_dir``: for classification a wide Parquet table (``id`` + one probability column per
    class), for detection a COCO results JSON (the ground truth's image and category ids).

    ``progress(done, total)`` counts samples. Interrupted, it keeps every finished batch in
    ``work_dir/shards``; called again with the same ``work_dir`` it computes only the rest.
    Mismatches (a text dataset for an image model, a detection dataset for a classifier, classes
    that share no name with the labels, a sample without its media file) are
    :class:`InputError` s before the model runs.
    """
    return _predict(
        Path(gt), runner, task, images_root, allow_outside, batch_size, Path(work_dir), progress
    )[0]


def evaluate_model(
    gt: str | Path,
    runner: Runner,
    *,
    task: str | None = None,
    threshold: float | None = None,
    images_root: str | Path | None = None,
    allow_outside: bool = False,
    batch_size: int = 32,
    work_dir: Path,
    progress: Progress | None = None,
) -> FileEvaluation:
    """:func:`predict_dataset`, then :func:`~assay.evaluation.run.evaluate_files` of the
    predictions file it wrote (``pred_source`` of the answer; it lies in ``work_dir``)."""
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise InputError(f"threshold {threshold} is outside [0, 1]")
    path, eval_task, notes = _predict(
        Path(gt), runner, task, images_root, allow_outside, batch_size, Path(work_dir), progress
    )
    run = evaluate_files(
        gt,
        path,
        task=eval_task,
        threshold=threshold,
        images_root=images_root,
        allow_outside=allow_outside,
    )
    run.notes = notes + run.notes
    return run


def _predict(
    gt: Path,
    runner: Runner,
    task: str | None,
    images_root: str | Path | None,
    allow_outside: bool,
    batch_size: int,
    work_dir: Path,
    progress: Progress | None,
) -> tuple[Path, str, list[str]]:
    """The predictions file, the task to evaluate it under and the notes."""
    if not gt.exists():
        raise InputError("no such file or folder", file=str(gt))
    if batch_size < 1:
        raise InputError(f"batch size {batch_size} is not a positive number (--batch)")
    dataset_task = _check_task(gt, runner, task)
    work_dir.mkdir(parents=True, exist_ok=True)
    if dataset_task == "detection":
        return _predict_detection(
            gt, runner, images_root, allow_outside, batch_size, work_dir, progress
        )
    return _predict_classification(
        gt, runner, dataset_task, allow_outside, batch_size, work_dir, progress
    )


def _media_items(gt_path: Path, gt: Any, media: str, runner: Runner) -> list[str]:
    """The images (paths) or texts the model runs on, one per ground-truth row."""
    name = Path(runner.path).name
    if media == "text":
        if gt.text is None:
            what = (
                f"images given to a text model: the dataset has image files, the model ({name})"
                if gt.paths is not None
                else f"has no 'text' column; the model ({name})"
            )
            raise InputError(f"{what} takes texts (a 'text' column)", file=str(gt_path))
        for i, t in enumerate(gt.text):
            if t is None:
                raise InputError(
                    f"sample '{gt.ids[i]}' has no text", file=str(gt_path), where=f"row {i + 1}"
                )
        return list(gt.text)
    if media == "image":
        if gt.paths is None:
            what = (
                f"texts given to an image model: the dataset has texts, the model ({name})"
                if gt.text is not None
                else f"has no 'path' column; the model ({name})"
            )
            raise InputError(
                f"{what} takes images (an ImageFolder or a 'path' column)", file=str(gt_path)
            )
        for i, p in enumerate(gt.paths):
            if p is None or not os.path.isfile(p):
                raise InputError(
                    f"sample '{gt.ids[i]}' has no media file"
                    + ("" if p is None else f" ({p} not found)"),
                    file=str(gt_path),
                    where=None if gt_path.is_dir() else f"row {i + 1}, column 'path'",
                )
        return [str(p) for p in gt.paths]
    raise InputError(
        f"the model takes {media} inputs; assay runs image and text models over a dataset",
        file=str(runner.path),
    )


def _predict_classification(
    gt_path: Path,
    runner: Runner,
    dataset_task: str,
    allow_outside: bool,
    batch_size: int,
    work_dir: Path,
    progress: Progress | None,
) -> tuple[Path, str, list[str]]:
    from assay.formats.tables import read_ground_truth

    gt = read_ground_truth(gt_path, allow_outside=allow_outside)
    mine = model_task(runner)
    if gt.multilabel and mine != "multilabel":
        raise InputError(
            "is multi-label (a 'labels' column) and the model is single-label; "
            "set 'task: multilabel' (and 'activation: sigmoid') in its spec",
            file=str(gt_path),
        )
    if dataset_task == "multilabel" and mine != "multilabel":
        raise InputError("the model is single-label; --task multilabel needs a multi-label model")
    eval_task = "multilabel" if mine == "multilabel" else "classification"
    media = runner.describe().media
    items = _media_items(gt_path, gt, media, runner)
    classes = _model_classes(runner)
    if "id" in classes:
        raise InputError("a class named 'id' cannot be a score column", file=str(runner.path))
    labels = [x for s in gt.label_sets for x in s] if gt.label_sets is not None else gt.labels
    notes = _overlap(classes, labels or [], gt_path, runner)
    shards = work_dir / SHARDS
    if media == "text":
        result = run_texts(runner, items, batch_size=batch_size, out_dir=shards, progress=progress)
    else:
        result = run_images(runner, items, batch_size=batch_size, out_dir=shards, progress=progress)
    scores = np.asarray(result.scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape != (len(items), len(classes)):
        raise InputError(
            f"the model gave scores of shape {list(scores.shape)} for {len(items)} samples "
            f"and {len(classes)} classes",
            file=str(runner.path),
        )
    bad = np.argwhere(~np.isfinite(scores) | (scores < 0) | (scores > 1))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise InputError(
            f"the model's score {scores[i, j]:g} for sample '{gt.ids[i]}', class "
            f"'{classes[j]}' is not a probability; set 'activation: softmax' (or 'sigmoid') "
            "in its spec",
            file=str(runner.path),
        )
    columns: dict[str, Any] = {"id": pa.array([str(i) for i in gt.ids], pa.string())}
    for j, c in enumerate(classes):
        columns[c] = pa.array(scores[:, j], pa.float64())
    for label in sorted(set(labels or []) - set(classes)):  # never predicted: score 0
        columns[label] = pa.array(np.zeros(len(items)), pa.float64())
    target = work_dir / CLASSIFICATION_FILE
    tmp = target.with_name(f".{target.name}.tmp")
    pq.write_table(pa.table(columns), tmp)
    os.replace(tmp, target)
    return target, eval_task, notes


def _predict_detection(
    gt_path: Path,
    runner: Runner,
    images_root: str | Path | None,
    allow_outside: bool,
    batch_size: int,
    work_dir: Path,
    progress: Progress | None,
) -> tuple[Path, str, list[str]]:
    from assay.formats.detection import locate_images, read_detection_gt

    if images_root is not None and not Path(images_root).is_dir():
        raise InputError("no such folder (--images)", file=str(images_root))
    gt = read_detection_gt(gt_path, images_root=images_root, allow_outside=allow_outside)
    if runner.describe().media != "image":
        raise InputError("the detector does not take images", file=str(runner.path))
    classes = _model_classes(runner)
    notes = _overlap(classes, gt.classes, gt_path, runner)
    files = locate_images(gt, allow_outside=allow_outside)
    for i, p in enumerate(files.paths):
        if p is None:
            raise InputError(
                f"no image file for image {int(gt.image_ids[i])} "
                f"(file_name {gt.file_names[i]!r}); {files.note() or 'no images folder'}",
                file=str(files.root or gt_path),
            )
    result = run_images(
        runner,
        [str(p) for p in files.paths],
        batch_size=batch_size,
        out_dir=work_dir / SHARDS,
        progress=progress,
    )
    category = {name: int(gt.category_ids[k]) for k, name in enumerate(gt.classes)}
    model_to_category = [category.get(c) for c in classes]
    entries: list[dict[str, Any]] = []
    dropped = 0
    for i, det in enumerate(result.detections or []):
        image_id = int(gt.image_ids[i])
        for box, score, label in zip(det.boxes, det.scores, det.labels, strict=True):
            k = int(label)
            cat = model_to_category[k] if 0 <= k < len(classes) else None
            if cat is None:
                dropped += 1
                continue
            x1, y1, x2, y2 = (float(v) for v in box)
            if not (np.isfinite([x1, y1, x2, y2, float(score)]).all() and x2 > x1 and y2 > y1):
                dropped += 1
                continue
            entries.append(
                {
                    "image_id": image_id,
                    "category_id": cat,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": float(score),
                }
            )
    if dropped:
        notes.append(
            f"{runner.path}: {dropped} detections left out (a class the dataset does not have, "
            "or an empty or non-finite box)"
        )
    target = work_dir / DETECTION_FILE
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(entries), encoding="utf-8")
    os.replace(tmp, target)
    return target, "detection", notes
