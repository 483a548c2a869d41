"""Pydantic schemas of the REST API, one family per resource (XPublic, XsPublic, XCreate), and
:class:`EvaluationDetail`; the analysis answers are in :mod:`assay.server.answer_schemas`. Every
model is exact (``extra="forbid"``): the server tests validate every answer against its route's
``response_model``, and the web client's types are generated from the OpenAPI document.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, JsonValue

from assay.server.answer_schemas import (
    Exact,
    F,
    FoldsPublic,
    Interval,
    OptimalPublic,
    PointPublic,
    ProtocolsTable,
    Summary,
    Task,
)
from assay.server.config import MAX_ID, MAX_NAME, MAX_PATH


class Health(Exact):
    status: Literal["ok"] = "ok"
    version: str


class Problem(Exact):
    """Every error: one line."""

    detail: str


# ---------------------------------------------------------------- datasets and models


class DatasetPublic(Exact):
    id: int
    name: str
    task: str
    created_at: str
    n_versions: int
    versions: list[DatasetVersionPublic] = Field(
        default_factory=list, description="the dataset's versions, oldest first"
    )


class DatasetsPublic(Exact):
    items: list[DatasetPublic]


class DatasetVersionPublic(Exact):
    id: int
    dataset_id: int
    dataset_name: str
    task: Task
    version: str
    hash: str
    source: str | None
    n_samples: int
    created_at: str
    media: Literal["image", "text", "table"] | None = Field(
        None,
        description="what its samples are: images, texts, or a table of labels without either; "
        "None: not known (registered without its samples)",
    )
    n_classes: int | None = Field(None, description="the number of its classes (None: not known)")
    classes: list[str] | None = Field(None, description="its classes (None: not known)")
    evaluations: int = Field(0, description="the number of evaluations stored on it")
    unlabeled: bool = Field(
        False,
        description="registered without labels: models run on it make prediction runs "
        "(no metrics), compared with each other by agreement",
    )


class DatasetCreated(DatasetVersionPublic):
    """A registered dataset version, whether it is new, and notes for people (a name taken
    because another kind holds the one asked for, warnings from reading the files)."""

    new: bool
    notes: list[str] = Field(default_factory=list)


class DataRoots(Exact):
    """The folders a path given to the server (a dataset, a model) must lie under."""

    roots: list[str]


class DatasetVersionsPublic(Exact):
    items: list[DatasetVersionPublic]


DatasetPublic.model_rebuild()
DatasetsPublic.model_rebuild()


class DatasetCreate(Exact):
    """Register a dataset version from a file or folder on the server's disk, read as
    ``assay datasets add`` reads it."""

    name: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_NAME,
        description="default: the folder's name, or the file's stem",
    )
    path: str = Field(min_length=1, max_length=MAX_PATH)
    task: Task | None = Field(None, description="default: inferred from the files")
    images: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_PATH,
        description="detection: the folder the images lie in (default: the annotation's folder)",
    )
    unlabeled: bool | None = Field(
        None,
        description="true: register the samples without labels (any label column ignored); "
        "default: detected (without labels) for a flat image folder, a table without a label "
        "column, COCO images without annotations",
    )


class VersionEvaluation(Exact):
    """An evaluation of a model version, as the Models page lists it."""

    id: int
    name: str
    dataset_version_id: int
    dataset_name: str
    dataset_version: str
    headline_metric: str | None
    headline_value: F
    created_at: str


class BatchTiming(Exact):
    """One batch size of a profile: median and 95th-percentile latency of one forward pass
    (milliseconds), its mean, and samples per second."""

    batch: int
    p50_ms: float
    p95_ms: float
    mean_ms: float
    throughput: float


class ModelProfile(Exact):
    """A version's profile on one device (``assay models profile``; :mod:`assay.service.profile`
    says what each number is)."""

    model_version_id: int
    device: str
    backend: str
    runs: int
    warmup: int
    cores: int
    size_bytes: int = Field(description="the model's stored files, in bytes")
    peak_memory_bytes: int = Field(description="peak RSS growth loading and running it")
    memory_method: str
    batches: list[BatchTiming]


class ModelVersionPublic(Exact):
    id: int
    model_id: int
    model_name: str
    version: str
    parent_version_id: int | None
    parent_version: str | None = Field(None, description="the parent's version label")
    hash: str | None
    path: str | None
    created_at: str
    task: Task | None = Field(None, description="what the model does (None: predictions only)")
    backend: str | None = Field(
        None, description="the runner: onnxruntime, openvino, torchscript, transformers or skops"
    )
    runnable: bool = Field(False, description="the workspace holds the model itself")
    media: Literal["image", "text", "table"] | None = None
    classes: list[str] | None = None
    input_shape: list[int | None] | None = Field(
        None, description="the model's input tensor without its batch axis (None: not known)"
    )
    evaluations: list[VersionEvaluation] = Field(default_factory=list)
    profiles: list[ModelProfile] = Field(
        default_factory=list, description="its profiles, one per device"
    )


class ModelPublic(Exact):
    id: int
    name: str
    created_at: str
    n_versions: int
    versions: list[ModelVersionPublic] = Field(
        default_factory=list, description="the model's versions, oldest first"
    )


class ModelsPublic(Exact):
    items: list[ModelPublic]


class ModelVersionsPublic(Exact):
    items: list[ModelVersionPublic]


class ModelCreate(Exact):
    """Register a model version (optionally a file, optionally derived from a parent version)."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    path: str | None = Field(None, min_length=1, max_length=MAX_PATH)
    version: str | None = Field(None, min_length=1, max_length=MAX_NAME)
    parent_version_id: int | None = Field(None, ge=0, le=MAX_ID)


# ---------------------------------------------------------------- evaluations


class DatasetRef(Exact):
    id: int
    name: str
    version_id: int
    version: str
    hash: str


class ModelRef(Exact):
    id: int
    name: str
    version_id: int
    version: str
    parent_version_id: int | None


class Headline(Exact):
    """The one number shown for an evaluation: ROC AUC (classification, else accuracy) or mAP."""

    metric: str | None
    label: str | None
    value: F


class EvaluationPublic(Exact):
    id: int
    name: str
    task: Task
    status: Literal["done", "running", "failed", "predictions"]
    predictions_only: bool = Field(
        description="A prediction run: a model's scores on a dataset version without labels "
        "(no metrics; agreement with another run is what it offers)"
    )
    created_at: str
    dataset: DatasetRef
    model: ModelRef | None
    headline: Headline
    n_samples: int
    n_classes: int
    params: dict[str, JsonValue]


class EvaluationsPublic(Exact):
    items: list[EvaluationPublic]


class PointCreate(Exact):
    """The operating point a job's evaluation is stored with; fields left out take the task's
    defaults."""

    threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="classification threshold (default: the argmax; multi-label 0.5)",
    )
    iou: float | None = Field(
        None, ge=0.0, le=1.0, allow_inf_nan=False, description="detection IoU (default 0.5)"
    )
    score: float | None = Field(
        None,
        allow_inf_nan=False,
        description="detection confidence (default: the F1-optimal one at the IoU)",
    )


class EvaluationCreate(PointCreate):
    """Evaluate files on the server's disk in a background job."""

    gt: str = Field(min_length=1, max_length=MAX_PATH, description="ground truth file or folder")
    pred: str = Field(min_length=1, max_length=MAX_PATH, description="predictions file")
    task: Task | None = None
    name: str | None = Field(None, min_length=1, max_length=MAX_NAME)
    model: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_NAME,
        description="model name the predictions are stored under",
    )


class ModelRunCreate(PointCreate):
    """Run a registered model version over a dataset version in a background job."""

    model_version_id: int = Field(ge=0, le=MAX_ID)
    dataset_version_id: int = Field(ge=0, le=MAX_ID)
    batch_size: int = Field(32, ge=1, le=1024)
    name: str | None = Field(None, min_length=1, max_length=MAX_NAME)
    device: str | None = Field(
        None,
        max_length=16,
        pattern=r"^(auto|cpu|cuda(:\d{1,3})?|tensorrt(:\d{1,3})?|AUTO|CPU|GPU(\.\d{1,3})?)$",
        description="where the model runs: auto, cpu (default), cuda[:N], tensorrt[:N] (ONNX "
        "Runtime), OpenVINO's GPU[.N] / AUTO; a device the server lacks fails the job in one line",
    )


class JobCreated(Exact):
    job_id: int


class JobPublic(Exact):
    id: int
    kind: Literal["files", "model", "optimize", "profile"] = "files"
    status: Literal["queued", "running", "done", "failed"]
    evaluation_id: int | None
    error: str | None
    created_at: str
    updated_at: str
    started_at: str | None = None
    model_version_id: int | None = None
    dataset_version_id: int | None = None
    done: int = Field(0, description="samples predicted so far (model jobs)")
    total: int | None = Field(None, description="samples to predict (model jobs)")
    position: int | None = Field(None, description="place in the queue (1: next), when queued")


class JobsPublic(Exact):
    items: list[JobPublic]


class EvaluationDetail(EvaluationPublic):
    """One evaluation with what its page opens on, all at the default operating point."""

    classes: list[str]
    point: PointPublic
    summary: Summary
    intervals: dict[str, Interval | None] = Field(
        description="95 % intervals of the population values, keyed as summary; each holds its "
        "estimate except ece's, which is centred on the debiased ECE (the ECE shown is biased "
        "upward, so the interval can lie below it)"
    )
    optimal: OptimalPublic
    folds: FoldsPublic | None
    media: Literal["image", "text"] | None
    metadata_columns: list[str]
    extra: ProtocolsTable | None
