"""Exact models of the analysis answers.

The answers are built by the results objects (:mod:`assay.evaluation.results` gives their shapes)
and sent as they are through orjson (:mod:`assay.server.responses`); the models here describe them
exactly (no extra field, none missing), as unions keyed on ``task`` where the tasks differ and on
``kind`` for curves (the two PR curves told apart by their fields), so the OpenAPI document and
the TypeScript types generated from it are the contract. The words of
:mod:`assay.evaluation.vocabulary` are enums here, so the generated client carries them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from assay.evaluation import vocabulary as vocab

Task = Literal["classification", "multilabel", "detection"]
F = float | None  # a float that may be undefined
MetadataValue = str | float | int | bool | None
BoxStatus = Literal["tp", "fp", "fn", "misclassified", "crowd"]


def _enum(name: str, *groups: tuple[str, ...]) -> type[StrEnum]:
    values = list(dict.fromkeys(v for group in groups for v in group))
    return StrEnum(name, {v: v for v in values})  # type: ignore[return-value]


if TYPE_CHECKING:  # plain strings to the type checker, enums to pydantic and OpenAPI
    SpecialLabel: TypeAlias = str
    Outcome: TypeAlias = str
    ItemOutcome: TypeAlias = str
    SampleSort: TypeAlias = str
    OptimalMetric: TypeAlias = str
    ClassificationOptimum: TypeAlias = str
    DetectionOptimum: TypeAlias = str
    CurveKind: TypeAlias = str
    ClassOrSpecial: TypeAlias = str
else:
    SpecialLabel = _enum("SpecialLabel", vocab.SPECIAL_LABELS)
    Outcome = _enum("Outcome", vocab.OUTCOMES)
    ItemOutcome = _enum(
        "ItemOutcome", vocab.OUTCOMES, ("tn", "correct", "incorrect", "below_threshold")
    )
    SampleSort = _enum("SampleSort", vocab.CLASSIFICATION_SORTS, vocab.DETECTION_SORTS)
    ClassificationOptimum = _enum("ClassificationOptimum", vocab.CLASSIFICATION_OPTIMA)
    DetectionOptimum = _enum("DetectionOptimum", vocab.DETECTION_OPTIMA)
    OptimalMetric = _enum("OptimalMetric", vocab.CLASSIFICATION_OPTIMA, vocab.DETECTION_OPTIMA)
    CurveKind = _enum("CurveKind", vocab.CLASSIFICATION_CURVES, vocab.DETECTION_CURVES)
    # a confusion row / column: a class name or one of the special labels
    ClassOrSpecial = SpecialLabel | str


class Exact(BaseModel):
    """An answer with exactly these fields."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- operating points


class ClassificationPoint(Exact):
    threshold: float


class DetectionPoint(Exact):
    iou: float
    score: float


class PointPublic(Exact):
    """An operating point; the fields that do not apply to the task are null."""

    threshold: float | None
    iou: float | None
    score: float | None


# ---------------------------------------------------------------- summary


class TopK(Exact):
    k: int
    value: F


PointRule = Literal["argmax", "threshold", "given", "f1_optimal"]


class ClassificationMacroOver(Exact):
    """How many classes each macro average is taken over: scikit-learn's labels present
    (labeled or predicted; multi-label every class), or with ``zero_division`` null the classes
    where each metric is defined."""

    precision: int
    recall: int
    f1: int
    roc_auc: int
    average_precision: int


class DetectionMacroOver(Exact):
    AP: int


class ClassificationSummary(ClassificationPoint):
    """Single-label and multi-label classification at a threshold."""

    task: Literal["classification", "multilabel"]
    point_rule: PointRule = Field(
        description="argmax: single-label with no threshold (scikit-learn's numbers); threshold: "
        "a threshold > 0 (single-label abstains below it) or multi-label's per-class threshold"
    )
    n_samples: int
    n_classes: int
    accuracy: F
    top1_accuracy: F
    top_k: list[TopK]
    hamming_loss: F
    macro_precision: F
    macro_recall: F
    macro_f1: F
    micro_precision: F
    micro_recall: F
    micro_f1: F
    weighted_precision: F
    weighted_recall: F
    weighted_f1: F
    roc_auc_macro: F
    average_precision_macro: F
    log_loss: F
    brier: F
    ece: F
    coverage: F = Field(description="single-label: the share of samples with a prediction")
    selective_accuracy: F = Field(description="single-label: accuracy among the kept samples")
    selective_risk: F = Field(description="single-label: error rate among the kept samples")
    zero_division: float | None = Field(
        description="0: an undefined ratio counts as 0 (scikit-learn's default); null: each "
        "average is over the classes where its metric is defined"
    )
    never_predicted: int = Field(description="classes in the averages never predicted")
    never_labeled: int = Field(description="classes in the averages never labeled")
    macro_over: ClassificationMacroOver


class DetectionSummary(DetectionPoint):
    """COCO numbers (threshold-free) and the overall P / R / F1, TP / FP / FN at (iou, score)."""

    task: Literal["detection"]
    point_rule: PointRule = Field(
        description="given: the confidence asked for or stored; f1_optimal: none was, so the "
        "F1-optimal confidence at the IoU"
    )
    n_samples: int
    n_classes: int
    AP: F
    AP50: F
    AP75: F
    APs: F
    APm: F
    APl: F
    AR1: F
    AR10: F
    AR100: F
    ARs: F
    ARm: F
    ARl: F
    precision: F
    recall: F
    f1: F
    tp: int
    fp: int
    fn: int
    macro_over: DetectionMacroOver


Summary = Annotated[ClassificationSummary | DetectionSummary, Field(discriminator="task")]


class Interval(Exact):
    low: F
    high: F


# ---------------------------------------------------------------- per-class table


class ClassificationLabelRow(Exact):
    label: str
    total_labeled: int
    total_predicted: int
    tp: int
    fp: int
    fn: int
    precision: F
    recall: F
    f1: F
    roc_auc: F
    average_precision: F


class DetectionLabelRow(Exact):
    label: str
    AP: F
    AP50: F
    AP75: F
    AR100: F
    APs: F
    APm: F
    APl: F
    total_labeled: int
    total_predicted: int
    tp: int
    fp: int
    fn: int
    precision: F
    recall: F
    f1: F


class ClassificationLabels(ClassificationPoint):
    task: Literal["classification", "multilabel"]
    items: list[ClassificationLabelRow]


class DetectionLabels(DetectionPoint):
    task: Literal["detection"]
    items: list[DetectionLabelRow]


LabelsPublic = Annotated[ClassificationLabels | DetectionLabels, Field(discriminator="task")]


# ---------------------------------------------------------------- samples


class SampleDecoration(Exact):
    """What the server adds to a sample from its dataset version: the id is always there; text,
    media URLs and the dataset's metadata columns where it has them."""

    text: str | None = None
    media_url: str | None = None
    thumbnail_url: str | None = None
    metadata: dict[str, MetadataValue]


class ClassificationItem(SampleDecoration):
    index: int
    id: str
    actual: str
    predicted: str | None
    confidence: float
    actual_confidence: float
    actual_rank: int
    outcome: ItemOutcome
    possible_label_error: bool | None = Field(
        description="a likely label error (confident learning: the model is confident in another "
        "class); null until a data-quality analysis of the evaluation is ready on this server"
    )


class MultilabelItem(SampleDecoration):
    index: int
    id: str
    actual: list[str]
    predicted: list[str]
    confidence: float
    actual_confidence: F
    actual_rank: int | None
    outcome: ItemOutcome


class Box(Exact):
    kind: Literal["gt", "pred"]
    label: str
    bbox: list[float] = Field(min_length=4, max_length=4, description="[x, y, width, height]")
    score: F
    status: BoxStatus
    match: int | None = Field(description="index in boxes of the matched box")
    iou: F


class DetectionItem(SampleDecoration):
    index: int
    id: str
    file_name: str
    width: int | None
    height: int | None
    tp: int
    fp: int
    fn: int
    boxes: list[Box]


class ClassificationSamples(ClassificationPoint):
    task: Literal["classification"]
    total: int
    offset: int
    limit: int
    n_boxes: None
    items: list[ClassificationItem]


class MultilabelSamples(ClassificationPoint):
    task: Literal["multilabel"]
    total: int
    offset: int
    limit: int
    n_boxes: None
    items: list[MultilabelItem]


class DetectionSamples(DetectionPoint):
    task: Literal["detection"]
    total: int
    offset: int
    limit: int
    n_boxes: int | None = Field(description="boxes in the filtered cell over all its images")
    items: list[DetectionItem]


SamplesPublic = Annotated[
    ClassificationSamples | MultilabelSamples | DetectionSamples, Field(discriminator="task")
]


class LabelScore(Exact):
    label: str
    score: float


class ClassificationSampleDetail(ClassificationItem):
    """A sample with every class score, highest first."""

    task: Literal["classification"]
    scores: list[LabelScore]


class MultilabelSampleDetail(MultilabelItem):
    task: Literal["multilabel"]
    scores: list[LabelScore]


class DetectionSampleDetail(DetectionItem):
    task: Literal["detection"]


SampleDetail = Annotated[
    ClassificationSampleDetail | MultilabelSampleDetail | DetectionSampleDetail,
    Field(discriminator="task"),
]


class ClassificationExamples(Exact):
    tp: list[ClassificationItem]
    fp: list[ClassificationItem]
    fn: list[ClassificationItem]


class MultilabelExamples(Exact):
    tp: list[MultilabelItem]
    fp: list[MultilabelItem]
    fn: list[MultilabelItem]


class DetectionExamples(Exact):
    tp: list[DetectionItem]
    fp: list[DetectionItem]
    fn: list[DetectionItem]


class ClassificationLabelDetail(ClassificationPoint):
    task: Literal["classification"]
    label: str
    metrics: ClassificationLabelRow
    examples: ClassificationExamples


class MultilabelLabelDetail(ClassificationPoint):
    task: Literal["multilabel"]
    label: str
    metrics: ClassificationLabelRow
    examples: MultilabelExamples


class DetectionLabelDetail(DetectionPoint):
    task: Literal["detection"]
    label: str
    metrics: DetectionLabelRow
    examples: DetectionExamples


LabelDetail = Annotated[
    ClassificationLabelDetail | MultilabelLabelDetail | DetectionLabelDetail,
    Field(discriminator="task"),
]


# ---------------------------------------------------------------- confusion


class ConfusionPair(Exact):
    actual: ClassOrSpecial
    predicted: ClassOrSpecial
    count: int


class _Confusion(Exact):
    rows: list[ClassOrSpecial]
    columns: list[ClassOrSpecial]
    counts: list[list[int]]
    matrix: list[list[F]] = Field(description="counts, row fractions or mean scores")
    top: int | None
    n_classes: int
    most_confused: list[ConfusionPair]


class ClassificationConfusion(_Confusion, ClassificationPoint):
    task: Literal["classification", "multilabel"]
    unit: Literal["samples"]
    normalize: Literal["true", "probability"] | None


class DetectionConfusion(_Confusion, DetectionPoint):
    task: Literal["detection"]
    unit: Literal["boxes"]
    normalize: Literal["true"] | None


ConfusionPublic = Annotated[
    ClassificationConfusion | DetectionConfusion, Field(discriminator="task")
]


# ---------------------------------------------------------------- optimal


class ClassificationOptimal(ClassificationPoint):
    """The threshold maximising ``metric`` and the metric's value there."""

    task: Literal["classification", "multilabel"]
    metric: ClassificationOptimum
    value: F


class DetectionOptimal(DetectionPoint):
    """The confidence at ``iou`` maximising ``metric`` and the metric's value there."""

    task: Literal["detection"]
    metric: DetectionOptimum
    value: F


OptimalPublic = Annotated[ClassificationOptimal | DetectionOptimal, Field(discriminator="task")]


# ---------------------------------------------------------------- curves (told apart by kind;
# the two PR curves by their fields: detection's has iou and scores)


class RocCurve(Exact):
    kind: Literal["roc"]
    label: str
    fpr: list[float]
    tpr: list[float]
    thresholds: list[F] = Field(description="the first is +inf (null in JSON)")
    auc: F


class PrCurve(Exact):
    kind: Literal["pr"]
    label: str
    precision: list[float]
    recall: list[float]
    thresholds: list[F]
    average_precision: F


class DetectionPrCurve(Exact):
    """COCO's 101 recall points at ``iou``; ``scores`` the confidence reached at each."""

    kind: Literal["pr"]
    label: str
    iou: float
    recall: list[float]
    precision: list[F]
    scores: list[F]
    average_precision: F


class ThresholdCurve(Exact):
    kind: Literal["threshold"]
    label: str
    thresholds: list[F]
    precision: list[F]
    recall: list[F]
    tpr: list[F]
    fpr: list[F]


class CalibrationBin(Exact):
    lower: float
    upper: float
    count: int
    confidence: F
    accuracy: F


class CalibrationCurve(Exact):
    kind: Literal["calibration"]
    label: None
    ece: F
    bins: list[CalibrationBin]


class RiskCoverageCurve(Exact):
    """Single-label selective prediction: keeping the samples whose top score is at least each
    threshold, the share kept and the error rate among them; ``aurc`` the area."""

    kind: Literal["risk_coverage"]
    label: None
    thresholds: list[F]
    coverage: list[F]
    risk: list[F]
    aurc: F


class DensityCurve(Exact):
    kind: Literal["density"]
    label: str
    edges: list[float]
    positives: list[int]
    negatives: list[int]


CurvePublic = (
    RocCurve
    | PrCurve
    | DetectionPrCurve
    | ThresholdCurve
    | CalibrationCurve
    | DensityCurve
    | RiskCoverageCurve
)


# ---------------------------------------------------------------- folds, protocols, detail


class Fold(Exact):
    fold: str
    n_samples: int
    metrics: Summary


class FoldsPublic(Exact):
    """Per-fold summaries, with the mean and standard deviation of every numeric key."""

    folds: list[Fold]
    mean: dict[str, F]
    std: dict[str, F]


class ProtocolAP(Exact):
    AP50: F
    AP75: F
    AP: F


class IouAP(Exact):
    """COCO's mAP (101-point) at one IoU threshold."""

    iou: float
    AP: F


class ProtocolsTable(Exact):
    """mAP under COCO 101-point, VOC 11-point and all-point interpolation, side by side, and
    COCO's mAP at each IoU threshold .50, .55, …, .95."""

    iou: float
    protocols: list[Literal["coco_101", "voc_11", "all_point"]]
    coco_101: ProtocolAP
    voc_11: ProtocolAP
    all_point: ProtocolAP
    per_class_AP50: dict[str, dict[str, F]]
    per_iou: list[IouAP] = Field(
        default_factory=list, description="COCO's mAP at each IoU threshold, .50 to .95"
    )
