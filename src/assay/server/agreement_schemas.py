"""The answers of ``/api/agreement``: two runs on one dataset version compared without labels
(:mod:`assay.service.agreement`), described exactly; the summary is a union keyed on ``task``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from assay.server.answer_schemas import Exact, F, MetadataValue
from assay.server.compare_schemas import LeaderboardDatasetVersion


class AgreementRun(Exact):
    id: int
    name: str
    model: str | None = Field(description="model:version, None for a predictions file")


class FlipMatrix(Exact):
    rows: list[str] = Field(description="A's top class")
    columns: list[str] = Field(description="B's top class")
    counts: list[list[int]]


class AgreementPerClass(Exact):
    label: str
    predicted_a: int
    predicted_b: int
    agreement: F = Field(description="share of A's predictions of the class that B shares")


class AgreementChanged(Exact):
    id: str
    predicted_a: str
    predicted_b: str
    confidence_a: float
    confidence_b: float = Field(description="B's score of A's top class")
    distance: float


class ClassificationAgreement(Exact):
    task: Literal["classification"]
    a: AgreementRun
    b: AgreementRun
    dataset_version: LeaderboardDatasetVersion
    n_samples: int
    classes: list[str]
    agreement: float = Field(description="share of samples whose top-1 class is the same")
    low: float = Field(description="Wilson score interval of the agreement at level")
    high: float
    level: float
    cohen_kappa: F = Field(description="agreement beyond chance (1: all, 0: chance)")
    changed: int = Field(description="samples whose top class differs")
    mean_abs_confidence_change: float = Field(description="mean |B - A| of A's top class's score")
    mean_confidence_change: float = Field(description="mean B - A of A's top class's score")
    flip: FlipMatrix
    per_class: list[AgreementPerClass]
    most_changed: list[AgreementChanged]


class BoxPerClass(Exact):
    label: str
    boxes_a: int
    boxes_b: int
    agreed: int


class ImageChange(Exact):
    id: str
    index: int = Field(description="the image's index in the dataset version")
    boxes_a: int
    boxes_b: int
    agreed: int
    agreement: float


class DetectionAgreement(Exact):
    task: Literal["detection"]
    a: AgreementRun
    b: AgreementRun
    dataset_version: LeaderboardDatasetVersion
    n_images: int
    iou: float
    score: float
    boxes_a: int
    boxes_b: int
    matched: int = Field(description="pairs of boxes at IoU >= iou, whatever their classes")
    agreed: int = Field(description="matched pairs of one class")
    class_flips: int = Field(description="matched pairs of two classes")
    only_a: int
    only_b: int
    agreement: float = Field(description="agreed / (A's boxes + B's boxes - matched)")
    mean_iou: F
    per_class: list[BoxPerClass]
    most_changed: list[ImageChange]


class MultilabelPerClass(Exact):
    label: str
    both: int = Field(description="samples both runs give the class")
    only_a: int = Field(description="samples only A gives it (B lost it)")
    only_b: int = Field(description="samples only B gives it (B gained it)")
    neither: int
    agreement: float = Field(description="share of samples where the two decide alike")
    cohen_kappa: F = Field(description="agreement beyond chance on this class")


class MultilabelChanged(Exact):
    id: str
    labels_a: list[str]
    labels_b: list[str]
    gained: int = Field(description="labels B gives and A does not")
    lost: int = Field(description="labels A gives and B does not")


class MultilabelAgreement(Exact):
    task: Literal["multilabel"]
    a: AgreementRun
    b: AgreementRun
    dataset_version: LeaderboardDatasetVersion
    n_samples: int
    classes: list[str]
    threshold: float = Field(description="a class is predicted where its score >= threshold")
    decisions: int = Field(description="samples x classes")
    agreement: float = Field(description="share of (sample, class) decisions that agree")
    exact: float = Field(description="share of samples whose label set is the same")
    low: float = Field(description="Wilson score interval of exact at level")
    high: float
    level: float
    changed: int = Field(description="samples whose label set differs")
    gained: int = Field(description="labels only B predicts")
    lost: int = Field(description="labels only A predicts")
    per_class: list[MultilabelPerClass]
    most_changed: list[MultilabelChanged]


AgreementPublic = Annotated[
    ClassificationAgreement | DetectionAgreement | MultilabelAgreement,
    Field(discriminator="task"),
]


class AgreementRow(Exact):
    index: int
    id: str
    predicted_a: str
    confidence_a: float = Field(description="A's score of its top class")
    predicted_b: str
    confidence_b: float = Field(description="B's score of its top class")
    rank: int = Field(description="rank of A's class among B's scores (1: B's top class too)")
    change: float = Field(description="B's score of A's class minus A's")
    distance: float = Field(description="total variation between the score rows (0 to 1)")
    text: str | None = None
    media_url: str | None = None
    thumbnail_url: str | None = None
    metadata: dict[str, MetadataValue]


class AgreementSamples(Exact):
    total: int
    offset: int
    limit: int
    sort: str
    descending: bool
    items: list[AgreementRow]


class ClassScores(Exact):
    label: str
    a: float
    b: float


class AgreementSample(AgreementRow):
    scores: list[ClassScores] = Field(description="every class, A's highest first")


class AgreementBox(Exact):
    box: list[float] = Field(description="x, y, width, height in pixels")
    label: str
    score: float
    status: Literal["agreed", "flip", "only_a", "only_b"]
    partner: int | None = Field(description="the matched box's position in the other list")
    iou: F = None


class BoxCounts(Exact):
    agreed: int
    flip: int
    only_a: int
    only_b: int


class AgreementImage(Exact):
    index: int
    id: str
    width: int
    height: int
    iou: float
    score: float
    boxes_a: list[AgreementBox]
    boxes_b: list[AgreementBox]
    counts: BoxCounts
    media_url: str | None = None
    thumbnail_url: str | None = None
    text: str | None = None
    metadata: dict[str, MetadataValue]
