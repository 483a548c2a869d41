"""Pydantic schemas of the REST API, one family per resource (XPublic, XsPublic, XCreate).

The analysis answers (tables, matrices, curves, samples) are built by the results objects and sent
as they are (see :mod:`assay.server.responses`); their schemas here document them for the generated
TypeScript client.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Task = Literal["classification", "multilabel", "detection"]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class Problem(BaseModel):
    """Every error: one line."""

    detail: str


# ---------------------------------------------------------------- datasets and models


class DatasetPublic(BaseModel):
    id: int
    name: str
    task: str
    created_at: str
    n_versions: int


class DatasetsPublic(BaseModel):
    items: list[DatasetPublic]


class DatasetVersionPublic(BaseModel):
    id: int
    dataset_id: int
    dataset_name: str
    version: str
    hash: str
    source: str | None
    n_samples: int
    created_at: str


class DatasetVersionsPublic(BaseModel):
    items: list[DatasetVersionPublic]


class DatasetCreate(BaseModel):
    """Register a dataset version from a file or folder on the server's disk."""

    name: str = Field(min_length=1)
    path: str = Field(min_length=1)
    task: Task = "classification"


class ModelPublic(BaseModel):
    id: int
    name: str
    created_at: str
    n_versions: int


class ModelsPublic(BaseModel):
    items: list[ModelPublic]


class ModelVersionPublic(BaseModel):
    id: int
    model_id: int
    model_name: str
    version: str
    parent_version_id: int | None
    hash: str | None
    path: str | None
    created_at: str


class ModelVersionsPublic(BaseModel):
    items: list[ModelVersionPublic]


class ModelCreate(BaseModel):
    """Register a model version (optionally a file, optionally derived from a parent version)."""

    name: str = Field(min_length=1)
    path: str | None = None
    version: str | None = None
    parent_version_id: int | None = None


# ---------------------------------------------------------------- evaluations


class DatasetRef(BaseModel):
    id: int
    name: str
    version_id: int
    version: str
    hash: str


class ModelRef(BaseModel):
    id: int
    name: str
    version_id: int
    version: str
    parent_version_id: int | None


class Headline(BaseModel):
    metric: str | None
    label: str | None
    value: float | None


class EvaluationPublic(BaseModel):
    id: int
    name: str
    task: Task
    status: Literal["done", "running", "failed"]
    created_at: str
    dataset: DatasetRef
    model: ModelRef | None
    headline: Headline
    n_samples: int
    n_classes: int
    params: dict[str, Any]


class EvaluationsPublic(BaseModel):
    items: list[EvaluationPublic]


class Interval(BaseModel):
    low: float | None
    high: float | None


class EvaluationDetail(EvaluationPublic):
    """One evaluation with what its page opens on."""

    classes: list[str]
    summary: dict[str, Any]
    intervals_status: Literal["ready", "pending", "failed"]
    intervals: dict[str, Interval]
    optimal: dict[str, Any] | None
    threshold: float | None
    media: Literal["image", "text"] | None
    per_fold: dict[str, Any] | None = None
    coco: dict[str, float | None] | None = None
    protocols: dict[str, Any] | None = None


class EvaluationCreate(BaseModel):
    """Evaluate files on the server's disk in a background job."""

    model_config = ConfigDict(extra="forbid")

    gt: str = Field(min_length=1, description="ground truth file or folder")
    pred: str = Field(min_length=1, description="predictions file")
    task: Task | None = None
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    name: str | None = None
    model: str | None = Field(None, description="model name the predictions are stored under")


class JobCreated(BaseModel):
    job_id: int


class JobPublic(BaseModel):
    id: int
    status: Literal["queued", "running", "done", "failed"]
    evaluation_id: int | None
    error: str | None
    created_at: str
    updated_at: str


# ---------------------------------------------------------------- analysis answers


class LabelRow(BaseModel):
    model_config = ConfigDict(extra="allow")

    label: str


class LabelsPublic(BaseModel):
    threshold: float | None = None
    iou: float | None = None
    score: float | None = None
    items: list[LabelRow]


class SamplePublic(BaseModel):
    """A sample (classification) or an image (detection); the fields depend on the task."""

    model_config = ConfigDict(extra="allow")

    index: int
    id: str | int | None = None
    media_url: str | None = None
    thumbnail_url: str | None = None
    text: str | None = None


class LabelDetail(BaseModel):
    label: str
    metrics: dict[str, Any]
    examples: dict[Literal["tp", "fp", "fn"], list[SamplePublic]]


class ConfusionPair(BaseModel):
    actual: str
    predicted: str
    count: int


class ConfusionPublic(BaseModel):
    rows: list[str]
    columns: list[str]
    matrix: list[list[float | None]]
    normalize: str | None
    top: int | None
    n_classes: int
    threshold: float | None = None
    iou: float | None = None
    score: float | None = None
    most_confused: list[ConfusionPair]


class CurvePublic(BaseModel):
    """roc: fpr, tpr, thresholds, auc; pr: precision, recall, thresholds (detection: scores), ap;
    threshold: thresholds, precision, recall, tpr, fpr; calibration: ece, bins; density: edges,
    positives, negatives."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["roc", "pr", "threshold", "calibration", "density"]
    label: str | None = None


class SummaryPublic(BaseModel):
    """classification: ``summary(threshold)`` (accuracy, macro / micro / weighted P, R, F1 at the
    threshold and the threshold-free metrics); detection: overall precision, recall, f1, tp, fp,
    fn at (iou, score)."""

    threshold: float | None = None
    iou: float | None = None
    score: float | None = None
    summary: dict[str, Any]


class OptimalPublic(BaseModel):
    """The operating point maximising ``metric``: classification {threshold}, detection {iou,
    score}; ``value`` is the metric there (None when undefined everywhere)."""

    metric: str
    value: float | None
    threshold: float | None = None
    iou: float | None = None
    score: float | None = None


class SamplesPublic(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[SamplePublic]


class SampleDetail(SamplePublic):
    """classification: + scores [{label, score}] (highest first); detection: + boxes."""

    scores: list[dict[str, Any]] | None = None
    boxes: list[dict[str, Any]] | None = None
