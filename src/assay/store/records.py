"""Small records the workspace hands out: plain frozen dataclasses, and their plain-dict form."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    """A named dataset; its content lives in its versions."""

    id: int
    name: str
    task: str
    created_at: str
    n_versions: int = 0


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One content of a dataset, identified by the hash of its bytes."""

    id: int
    dataset_id: int
    dataset_name: str
    task: str
    version: str
    hash: str
    source: str | None
    n_samples: int
    created_at: str


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A named model; its weights live in its versions."""

    id: int
    name: str
    created_at: str
    n_versions: int = 0


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One version of a model (e.g. INT8), optionally derived from a parent (its FP32 original)."""

    id: int
    model_id: int
    model_name: str
    version: str
    parent_version_id: int | None
    hash: str | None
    path: str | None
    created_at: str
    task: str | None = None
    backend: str | None = None
    info: dict[str, Any] | None = field(default=None, compare=False)
    artifact: str | None = None

    @property
    def runnable(self) -> bool:
        """Whether the workspace holds a copy of the model itself (not only its predictions)."""
        return self.artifact is not None


PREDICTIONS_STATUS = "predictions"
"""An evaluation's status when it is a prediction run: a model's scores on a dataset version
without labels (no metrics)."""


@dataclass(frozen=True, slots=True)
class EvaluationRecord:
    """The catalog row of one stored evaluation, joined with its dataset and model versions."""

    id: int
    name: str
    task: str
    status: str
    dataset_version: DatasetVersion
    model_version: ModelVersion | None
    params: dict[str, Any]
    summary: dict[str, Any]
    headline_metric: str | None
    headline_value: float | None
    n_samples: int
    n_classes: int
    created_at: str
    artifact_dir: Path = field(compare=False)


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A background evaluation job: of files (``kind`` "files") or of a registered model over
    a dataset version ("model"), with its progress (``done`` of ``total`` samples)."""

    id: int
    status: str
    evaluation_id: int | None
    error: str | None
    created_at: str
    updated_at: str
    kind: str = "files"
    model_version_id: int | None = None
    dataset_version_id: int | None = None
    done: int = 0
    total: int | None = None
    started_at: str | None = None
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    pid: int | None = field(default=None, compare=False)  # the process that runs (ran) it
    # when that process started (clock ticks after boot, /proc/<pid>/stat; None: not known)
    pid_start: int | None = field(default=None, compare=False)


HEADLINE_LABELS = {"roc_auc_macro": "ROC AUC", "AP": "mAP", "accuracy": "Accuracy"}


def evaluation_public(record: EvaluationRecord) -> dict[str, Any]:
    """An evaluation as a plain dict: the REST list entry and ``assay list --json``."""
    dv, mv = record.dataset_version, record.model_version
    return {
        "id": record.id,
        "name": record.name,
        "task": record.task,
        "status": record.status,
        "predictions_only": record.status == PREDICTIONS_STATUS,  # no labels: no metrics
        "created_at": record.created_at,
        "dataset": {
            "id": dv.dataset_id,
            "name": dv.dataset_name,
            "version_id": dv.id,
            "version": dv.version,
            "hash": dv.hash,
        },
        "model": None
        if mv is None
        else {
            "id": mv.model_id,
            "name": mv.model_name,
            "version_id": mv.id,
            "version": mv.version,
            "parent_version_id": mv.parent_version_id,
        },
        "headline": {
            "metric": record.headline_metric,
            "label": HEADLINE_LABELS.get(record.headline_metric or "", record.headline_metric),
            "value": record.headline_value,
        },
        "n_samples": record.n_samples,
        "n_classes": record.n_classes,
        "params": record.params,
    }
