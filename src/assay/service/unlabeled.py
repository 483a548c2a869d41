"""Dataset versions without labels and the prediction runs made on them.

An unlabeled dataset version (:func:`register_unlabeled`; ``assay datasets add PATH
--unlabeled``, or a source :func:`~assay.formats.unlabeled.looks_unlabeled` calls unlabeled) is
a classification dataset version whose samples table has ``id`` and ``path`` (images) or
``text`` and no ``label`` column; it is marked by ``assay.unlabeled`` in the table's metadata
(:func:`is_unlabeled`), so no catalog schema change is needed.

A registered model run on one (:func:`run_predictions`; ``assay evaluate --model M --gt
UNLABELED``) is a *prediction run*: stored like an evaluation (a row in ``evaluations``, the
model's score table kept as ``predictions.parquet`` in its folder) with status ``predictions``,
no summary and no metric. Every surface that needs labels refuses it in one line
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
from assay.store.records import DatasetVersion, EvaluationRecord
from assay.store.workspace import Workspace

__all__ = [
    "UNLABELED_KEY",
    "PredictionScores",
    "is_unlabeled",
    "prediction_scores",
    "register_unlabeled",
    "run_predictions",
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
) -> EvaluationRecord:
    """Run a registered single-label classifier over an unlabeled dataset version and store
    its scores as a prediction run (no metrics). A model whose inputs the version lacks
    (images for a text model), a multi-label or detection model, or scores that are not
    probabilities are :class:`InputError` s before anything is stored."""
    import tempfile

    from assay.evaluation.model_run import model_task
    from assay.runners import run_images, run_texts

    if not is_unlabeled(ws, dataset_version_id):
        raise InputError(
            f"dataset version {dataset_version_id} has labels: evaluate the model on it instead"
        )
    if runner is None:
        runner = ws.load_model_runner(model_version_id, device=device)
    if model_task(runner) != "classification":
        raise InputError(
            f"model version {model_version_id} is {model_task(runner)}: prediction runs on "
            "unlabeled data are for single-label classifiers"
        )
    samples = ws.samples_table(dataset_version_id)
    media = runner.describe().media
    column = {"image": "path", "text": "text"}.get(media)
    if column is None or column not in samples.column_names:
        raise InputError(
            f"the model takes {media} inputs and dataset version {dataset_version_id} has "
            f"no '{column or media}' column"
        )
    items = [str(v) for v in samples.column(column).to_pylist()]
    classes = [str(c) for c in runner.describe().classes or ()]
    if not classes:
        raise InputError(
            f"model version {model_version_id} does not name its classes ('classes' in its spec)"
        )
    with tempfile.TemporaryDirectory(dir=ws.home) as tmp:
        out = Path(tmp)
        run = run_texts if media == "text" else run_images
        result = run(runner, items, batch_size=batch, out_dir=out / "shards", progress=progress)
        scores = np.asarray(result.scores, np.float64)
        if scores.shape != (len(items), len(classes)):
            raise InputError(
                f"the model gave scores of shape {list(scores.shape)} for {len(items)} "
                f"samples and {len(classes)} classes"
            )
        if not np.all(np.isfinite(scores) & (scores >= 0) & (scores <= 1)):
            raise InputError(
                "the model's scores are not probabilities; set 'activation: softmax' in its spec"
            )
        columns: dict[str, Any] = {"id": samples.column("id")}
        for j, c in enumerate(classes):
            columns[c] = pa.array(scores[:, j], pa.float64())
        target = out / "predictions.parquet"
        pq.write_table(pa.table(columns), target)
        return ws.save_predictions(
            dataset_version_id=dataset_version_id,
            model_version_id=model_version_id,
            predictions_file=target,
            n_samples=len(items),
            n_classes=len(classes),
            name=name,
            params={"batch": batch},
        )


@dataclass
class PredictionScores:
    """A prediction run's scores, shaped as agreement reads a classification result:
    ``y_score`` (samples by classes, probabilities), ``classes``, ``sample_ids``."""

    classes: list[str]
    y_score: np.ndarray
    sample_ids: np.ndarray
    task: str = "classification"

    @property
    def n_samples(self) -> int:
        return int(self.y_score.shape[0])


def prediction_scores(ws: Workspace, evaluation_id: int) -> PredictionScores:
    """The scores a prediction run stored (its ``predictions.parquet``)."""
    path = ws.predictions_file(evaluation_id)
    if path is None:
        raise InputError(f"evaluation {evaluation_id} has no stored predictions")
    table = pq.read_table(path)
    classes = [c for c in table.column_names if c != "id"]
    scores = np.column_stack([table.column(c).to_numpy() for c in classes]).astype(np.float64)
    ids = np.array([str(v) for v in table.column("id").to_pylist()], dtype=object)
    return PredictionScores(classes=classes, y_score=scores, sample_ids=ids)
