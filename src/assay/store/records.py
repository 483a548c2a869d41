"""Small records the workspace hands out: plain frozen dataclasses, no behaviour."""

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
    """A background evaluation job."""

    id: int
    status: str
    evaluation_id: int | None
    error: str | None
    created_at: str
    updated_at: str
