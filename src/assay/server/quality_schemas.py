"""The answers of the data-quality routes (``/api/evaluations/{id}/quality...``):
:mod:`assay.service.quality`'s answers as the server sends them, described exactly, plus what the
server adds from the dataset version (text, media and thumbnail URLs). ``GET .../quality`` is a
union keyed on ``status``: the analysis runs in the background and the answer says how far it got
until it is ready."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from assay.server.answer_schemas import Exact, F, ItemOutcome, Task

PropertyKind = Literal["image", "text", "box", "metadata"]


class SampleRef(Exact):
    """A sample of the evaluated set, with what the server adds from its dataset version."""

    index: int
    id: str
    text: str | None = None
    media_url: str | None = None
    thumbnail_url: str | None = None


class QualityProperty(Exact):
    name: str
    kind: PropertyKind
    description: str
    n_missing: int = Field(description="samples where the property is undefined")
    categories: list[str] | None = Field(description="the names of a categorical property")


class QualityImportance(Exact):
    property: str
    spearman: F = Field(description="Spearman rho with correctness (1 = correct)")
    spearman_p: F
    importance: F = Field(
        description="mean drop in held-out ROC AUC of a model predicting correctness when the "
        "property is shuffled"
    )
    importance_std: F
    n: int = Field(description="samples where the property is defined")


class DuplicateGroup(Exact):
    indices: list[int]
    ids: list[str]
    distance: float = Field(
        description="the largest pair distance in the group: pHash bits (images) or "
        "1 - Jaccard (texts)"
    )
    items: list[SampleRef]


class LeakageRow(Exact):
    index: int = Field(description="the sample in the evaluated set")
    id: str
    train_index: int = Field(description="its near-copy's row in the training set")
    train_id: str
    distance: float
    text: str | None = None
    media_url: str | None = None
    thumbnail_url: str | None = None
    train_text: str | None = None
    train_thumbnail_url: str | None = None


class QualityDuplicates(Exact):
    kind: Literal["image", "text"] | None
    groups: list[DuplicateGroup] = Field(description="the 100 largest groups")
    n_groups: int
    leakage: list[LeakageRow] | None = Field(description="None without a training set")
    train_id: int | None = Field(description="the training dataset version")


class LabelIssue(Exact):
    index: int
    id: str
    given: str
    suggested: str
    confidence: F = Field(description="the model's probability of the suggested class")
    self_confidence: F = Field(description="its probability of the given label")
    text: str | None = None
    media_url: str | None = None
    thumbnail_url: str | None = None


class QualityClassificationPoint(Exact):
    threshold: F


class QualityDetectionPoint(Exact):
    iou: F
    score: F


class QualityStages(Exact):
    properties: float
    importance: float
    duplicates: float
    label_issues: float


class QualityReady(Exact):
    status: Literal["ready"]
    evaluation_id: int
    name: str
    task: Task
    media: Literal["image", "text"] | None
    n_samples: int
    point: QualityClassificationPoint | QualityDetectionPoint
    n_correct: int
    properties: list[QualityProperty]
    importance: list[QualityImportance] = Field(description="most important first")
    duplicates: QualityDuplicates
    label_issues: list[LabelIssue] = Field(description="the 100 most likely, most likely first")
    n_label_issues: int
    notes: list[str]
    timing_s: F
    stages_s: QualityStages


class QualityRunning(Exact):
    status: Literal["running"]
    evaluation_id: int
    stage: Literal["queued", "properties", "analysis"] = Field(
        description="waiting for another analysis; computing the samples' properties (done of "
        "total); ranking them, looking for duplicates and label errors"
    )
    done: int
    total: int


class QualityFailed(Exact):
    status: Literal["failed"]
    evaluation_id: int
    error: str


QualityPublic = Annotated[
    QualityReady | QualityRunning | QualityFailed, Field(discriminator="status")
]


class Rate(Exact):
    value: F
    low: F = Field(description="Wilson 95 % interval")
    high: F
    k: int
    n: int


class PropertyBin(Exact):
    lower: F
    upper: F
    category: str | None
    n: int
    accuracy: Rate | None
    tpr: Rate | None
    precision: Rate | None


class PropertyBins(Exact):
    evaluation_id: int
    task: Task
    property: str
    kind: PropertyKind
    label: str | None
    n_missing: int
    bins: list[PropertyBin]


class ExploreItem(Exact):
    index: int
    id: str
    value: float | str | None
    actual: str | list[str] | None
    predicted: str | list[str] | None
    outcome: ItemOutcome
    possible_label_error: bool
    tp: int | None
    fp: int | None
    fn: int | None
    text: str | None = None
    media_url: str | None = None
    thumbnail_url: str | None = None


class ExplorePage(Exact):
    evaluation_id: int
    task: Task
    property: str
    kind: PropertyKind
    total: int
    offset: int
    limit: int
    items: list[ExploreItem]


class LabelIssuesPage(Exact):
    evaluation_id: int
    total: int
    offset: int
    limit: int
    items: list[LabelIssue]
