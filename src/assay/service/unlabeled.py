"""Dataset versions without labels and the prediction runs made on them.

An unlabeled dataset version (:func:`register_unlabeled`; ``assay datasets add PATH
--unlabeled``, or a source :func:`~assay.formats.unlabeled.looks_unlabeled` calls unlabeled) is
a classification dataset version whose samples table has ``id`` and ``path`` (images) or
``text`` and no ``label`` column; it is marked by ``assay.unlabeled`` in the table's metadata
(:func:`is_unlabeled`), so no catalog schema change is needed. Detectors run on its images too.

A registered model run on one (:func:`run_predictions`; ``assay evaluate --model M --gt
UNLABELED``) is a *prediction run*: stored like an evaluation (a row in ``evaluations`` with the
model's task, the model's predictions kept as ``predictions.parquet`` in its folder: a score table
for a single- or multi-label classifier, one row per box for a detector) with status
``predictions``, no summary and no metric. The same model on the same version again gives the
stored run back (:func:`stored_prediction_run`); an interrupted run resumes from the batches it
streamed to its work folder (:func:`prediction_work_folder`). Every surface that needs labels refuses it in one line
(:meth:`Workspace.load_results` raises :class:`InputError`); agreement
(:mod:`assay.service.agreement`) reads its scores (:func:`prediction_scores`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from assay.errors import InputError
from assay.store.datasets import default_dataset_name
from assay.store.records import PREDICTIONS_STATUS, DatasetVersion, EvaluationRecord
from assay.store.workspace import Workspace

__all__ = [
    "UNLABELED_KEY",
    "box_table",
    "PredictedBoxes",
    "PredictionScores",
    "is_unlabeled",
    "prediction_scores",
    "register_unlabeled",
    "prediction_work_folder",
    "run_predictions",
    "stored_prediction_run",
    "unlabeled_version_for",
]

UNLABELED_KEY = b"assay.unlabeled"


def _mark(samples: pa.Table) -> pa.Table:
    meta = dict(samples.schema.metadata or {})
    meta[UNLABELED_KEY] = b"1"
    return samples.replace_schema_metadata(meta)


def is_unlabeled(ws: Workspace, dataset_version_id: int) -> bool:
    """Whether a stored dataset version was registered without labels."""
    samples = ws.samples_table(dataset_version_id)
    return (samples.schema.metadata or {}).get(UNLABELED_KEY) == b"1"


def _default_name(ws: Workspace, path: Path) -> str:
    """The source's default name; ``<name>-unlabeled`` when a dataset of that name holds
    labeled versions (the same images registered with their labels)."""
    name = default_dataset_name(path)
    row = ws.catalog.query_one(
        "SELECT dv.id FROM dataset_versions dv JOIN datasets d ON d.id = dv.dataset_id "
        "WHERE d.name = ? ORDER BY dv.id DESC LIMIT 1",
        (name,),
    )
    if row is not None and not is_unlabeled(ws, int(row[0])):
        return f"{name}-unlabeled"
    return name


def register_unlabeled(
    ws: Workspace, path: Path, *, name: str | None = None, allow_outside: bool = False
) -> tuple[DatasetVersion, bool]:
    """Read ``path`` without labels (:func:`~assay.formats.unlabeled.read_unlabeled`) and
    register it as an unlabeled dataset version: (the version, whether it is new). A name given
    that holds labeled versions is refused (nothing stored)."""
    from assay.formats.unlabeled import read_unlabeled

    ws.refuse_own(path, "dataset")
    gt = read_unlabeled(path, allow_outside=allow_outside)
    if name is not None:
        row = ws.catalog.query_one(
            "SELECT dv.id FROM dataset_versions dv JOIN datasets d ON d.id = dv.dataset_id "
            "WHERE d.name = ? ORDER BY dv.id DESC LIMIT 1",
            (name,),
        )
        if row is not None and not is_unlabeled(ws, int(row[0])):
            raise InputError(
                f"dataset '{name}' holds labeled versions; give another --name (nothing stored)"
            )
    chosen = name or _default_name(ws, Path(path))
    before = ws.catalog.query_one("SELECT COALESCE(MAX(id), 0) FROM dataset_versions")
    version = ws.add_dataset_version(
        chosen,
        task="classification",
        source=gt.source,
        samples=_mark(gt.samples_table()),
        media_root=gt.media_root if gt.paths is not None else None,
    )
    return version, version.id > int(before[0] if before else 0)


def unlabeled_version_for(ws: Workspace, gt: Path) -> DatasetVersion | None:
    """The unlabeled dataset version ``gt`` names, or None for a labeled source:
    ``dataset:ID`` (a stored version; one with labels is an :class:`InputError`), or a source
    :func:`~assay.formats.unlabeled.looks_unlabeled` calls unlabeled (registered here, the same
    bytes giving back the same version)."""
    from assay.formats.unlabeled import looks_unlabeled

    text = str(gt)
    if text.startswith("dataset:"):
        digits = text.split(":", 1)[1]
        if not (digits.isascii() and digits.isdigit()):
            raise InputError(f"{text!r}: expected dataset:ID, a dataset version's id")
        version = ws.get_dataset_version(int(digits))
        if not is_unlabeled(ws, version.id):
            raise InputError(
                f"dataset version {version.id} has labels: evaluate with --gt {version.source}"
            )
        return version
    if not looks_unlabeled(gt):
        return None
    return register_unlabeled(ws, gt)[0]


PREDICTION_TASKS = ("classification", "multilabel", "detection")
BOX_COLUMNS = ("image", "label", "x", "y", "w", "h", "score")
CLASSES_KEY = b"assay.classes"


def stored_prediction_run(
    ws: Workspace, model_version_id: int, dataset_version_id: int
) -> int | None:
    """The newest prediction run of model version ``model_version_id`` on dataset version
    ``dataset_version_id``, or None. A run of the same model on the same data is reused (as a
    labeled evaluation of the same inputs is: ``assay evaluate`` shows the stored one)."""
    row = ws.catalog.query_one(
        "SELECT id FROM evaluations WHERE model_version_id = ? AND dataset_version_id = ? "
        "AND status = ? ORDER BY id DESC LIMIT 1",
        (model_version_id, dataset_version_id, PREDICTIONS_STATUS),
    )
    return None if row is None else int(row[0])


def prediction_work_folder(
    ws: Workspace, model_version_id: int, dataset_version_id: int, batch: int, device: str
) -> Path:
    """``<home>/work/<key>``: where a prediction run streams its batches, named by what makes
    them (the model version and its files, the dataset version and its content, the batch size,
    the device when it is not the CPU), so an interrupted run of the same inputs resumes there."""
    import hashlib

    from assay.runners.devices import device_key

    mv = ws.get_model_version(model_version_id)
    dv = ws.get_dataset_version(dataset_version_id)
    parts: list[Any] = ["predictions", mv.id, mv.hash, dv.id, dv.hash, batch]
    key = device_key(device)
    if key is not None:
        parts.append(f"device={key}")
    digest = hashlib.sha256("\0".join(str(p) for p in parts).encode())
    return ws.home / "work" / digest.hexdigest()[:32]


def run_predictions(
    ws: Workspace,
    model_version_id: int,
    dataset_version_id: int,
    *,
    batch: int = 32,
    name: str | None = None,
    progress: Any = None,
    device: str | None = None,
    runner: Any = None,
    force: bool = False,
) -> EvaluationRecord:
    """Run a registered model (a single-label or multi-label classifier, or a detector) over an
    unlabeled dataset version and store its predictions as a prediction run (no metrics).

    A prediction run of the same model version on the same dataset version already stored is
    given back without running (:func:`stored_prediction_run`) unless ``force`` (then a new run
    is stored beside it, as ``assay evaluate --force`` does for labeled evaluations). Batches
    stream to :func:`prediction_work_folder`, so an interrupted run resumes from the batches it
    wrote; the folder is removed once the run is stored.

    Classification and multi-label: a wide table (``id`` + one probability column per class).
    Detection: one row per box (``image``: the sample's index, ``label``, ``x, y, w, h`` in
    pixels, ``score``), the classes in the table's metadata. A model whose inputs the version
    lacks (images for a text model), a model of another task, or scores that are not
    probabilities are :class:`InputError` s before anything is stored."""
    import shutil

    from assay.evaluation.model_run import model_task
    from assay.runners import run_images, run_texts

    if not is_unlabeled(ws, dataset_version_id):
        raise InputError(
            f"dataset version {dataset_version_id} has labels: evaluate the model on it instead"
        )
    if batch < 1:
        raise InputError(f"batch size {batch} is not a positive number (--batch)")
    if not force:
        found = stored_prediction_run(ws, model_version_id, dataset_version_id)
        if found is not None:
            return ws.get_evaluation(found)
    if runner is None:
        runner = ws.load_model_runner(model_version_id, device=device)
    task = model_task(runner)
    if task not in PREDICTION_TASKS:
        raise InputError(
            f"model version {model_version_id} does {task}: prediction runs on unlabeled data "
            "are for classifiers (single- or multi-label) and detectors"
        )
    samples = ws.samples_table(dataset_version_id)
    info = runner.describe()
    media = info.media
    column = {"image": "path", "text": "text"}.get(media)
    if (
        column is None
        or column not in samples.column_names
        or (task == "detection" and media != "image")
    ):
        raise InputError(
            f"the model takes {media} inputs and dataset version {dataset_version_id} has "
            f"no '{column or media}' column"
        )
    items = [str(v) for v in samples.column(column).to_pylist()]
    classes = [str(c) for c in info.classes or ()]
    if not classes:
        raise InputError(
            f"model version {model_version_id} does not name its classes ('classes' in its spec)"
        )
    if task != "detection" and "id" in classes:
        raise InputError("a class named 'id' cannot be a score column")
    used = str(getattr(info, "device", "cpu"))
    work = prediction_work_folder(ws, model_version_id, dataset_version_id, batch, used)
    run = run_texts if media == "text" else run_images
    result = run(runner, items, batch_size=batch, out_dir=work / "shards", progress=progress)
    if task == "detection":
        table = box_table(result.detections or [], classes)
    else:
        table = _score_table(samples.column("id"), result.scores, len(items), classes, task)
    target = work / "predictions.parquet"
    pq.write_table(table, target)
    record = ws.save_predictions(
        dataset_version_id=dataset_version_id,
        model_version_id=model_version_id,
        predictions_file=target,
        n_samples=len(items),
        n_classes=len(classes),
        name=name,
        params={"batch": batch, "device": used},
        task=task,
    )
    shutil.rmtree(work, ignore_errors=True)
    return record


def _score_table(ids: Any, raw: Any, n: int, classes: list[str], task: str) -> pa.Table:
    """``id`` + one probability column per class, checked."""
    scores = np.asarray(raw, np.float64)
    if scores.shape != (n, len(classes)):
        raise InputError(
            f"the model gave scores of shape {list(scores.shape)} for {n} "
            f"samples and {len(classes)} classes"
        )
    if not np.all(np.isfinite(scores) & (scores >= 0) & (scores <= 1)):
        activation = "sigmoid" if task == "multilabel" else "softmax"
        raise InputError(
            f"the model's scores are not probabilities; set 'activation: {activation}' in its spec"
        )
    columns: dict[str, Any] = {"id": ids}
    for j, c in enumerate(classes):
        columns[c] = pa.array(scores[:, j], pa.float64())
    return pa.table(columns)


def box_table(detections: list[Any], classes: list[str]) -> pa.Table:
    """One row per kept box (a known class, a finite box of positive size, a finite score):
    image index, class name, x, y, w, h (pixels), score; the classes in the metadata."""
    import json

    image: list[int] = []
    label: list[str] = []
    xywh: list[list[float]] = []
    score: list[float] = []
    for i, det in enumerate(detections):
        for box, s, k in zip(det.boxes, det.scores, det.labels, strict=True):
            x1, y1, x2, y2 = (float(v) for v in box)
            if not (0 <= int(k) < len(classes)) or not np.isfinite([x1, y1, x2, y2, s]).all():
                continue
            if x2 <= x1 or y2 <= y1:
                continue
            image.append(i)
            label.append(classes[int(k)])
            xywh.append([x1, y1, x2 - x1, y2 - y1])
            score.append(float(s))
    boxes: np.ndarray = np.asarray(xywh, np.float64).reshape(-1, 4)
    table = pa.table(
        {
            "image": pa.array(image, pa.int64()),
            "label": pa.array(label, pa.string()),
            "x": boxes[:, 0],
            "y": boxes[:, 1],
            "w": boxes[:, 2],
            "h": boxes[:, 3],
            "score": pa.array(score, pa.float64()),
        }
    )
    return table.replace_schema_metadata({CLASSES_KEY: json.dumps(classes).encode()})


@dataclass
class PredictionScores:
    """A prediction run's scores, shaped as agreement reads a classification result:
    ``y_score`` (samples by classes, probabilities), ``classes``, ``sample_ids``; ``task``:
    classification or multilabel."""

    classes: list[str]
    y_score: np.ndarray
    sample_ids: np.ndarray
    task: str = "classification"

    @property
    def n_samples(self) -> int:
        return int(self.y_score.shape[0])


@dataclass
class PredictedBoxes:
    """A detector's prediction run, shaped as agreement reads a detection result: ``gt`` (the
    dataset version's images, no boxes; image ids 0..n-1 in the dataset's order, sizes 0 where
    not known), ``dt`` (the boxes), ``image_names`` (each image's sample id)."""

    gt: Any
    dt: Any
    image_names: list[str]
    task: str = "detection"


def prediction_scores(ws: Workspace, evaluation_id: int) -> PredictionScores | PredictedBoxes:
    """What a prediction run stored (its ``predictions.parquet``): the score table of a
    classifier, the boxes of a detector."""
    record = ws.get_evaluation(evaluation_id)
    path = ws.predictions_file(evaluation_id)
    if path is None:
        raise InputError(f"evaluation {evaluation_id} has no stored predictions")
    table = pq.read_table(path)
    if record.task == "detection":
        return _boxes(ws, record, table)
    classes = [c for c in table.column_names if c != "id"]
    scores = np.column_stack([table.column(c).to_numpy() for c in classes]).astype(np.float64)
    ids = np.array([str(v) for v in table.column("id").to_pylist()], dtype=object)
    return PredictionScores(classes=classes, y_score=scores, sample_ids=ids, task=record.task)


def _boxes(ws: Workspace, record: EvaluationRecord, table: pa.Table) -> PredictedBoxes:
    import json

    from assay.formats.detection_types import DetectionGroundTruth, DetectionPredictions

    classes = [str(c) for c in json.loads((table.schema.metadata or {})[CLASSES_KEY])]
    samples = ws.samples_table(record.dataset_version.id)
    names = [str(v) for v in samples.column("id").to_pylist()]
    n = len(names)
    gt = DetectionGroundTruth.from_arrays(
        classes=classes, image_ids=np.arange(n), file_names=names,
        widths=np.zeros(n, np.int64), heights=np.zeros(n, np.int64),
        boxes=np.zeros((0, 4)), labels=[], image=[],
    )  # fmt: skip
    where = {c: k for k, c in enumerate(classes)}
    labels = [where[str(v)] for v in table.column("label").to_pylist()]
    boxes = np.column_stack([table.column(c).to_numpy() for c in ("x", "y", "w", "h")])
    dt = DetectionPredictions(
        boxes=np.asarray(boxes, np.float64).reshape(-1, 4),
        labels=np.asarray(labels, np.int32),
        scores=table.column("score").to_numpy().astype(np.float64),
        image=table.column("image").to_numpy().astype(np.int32),
    )
    return PredictedBoxes(gt=gt, dt=dt, image_names=names)
