"""The answer of ``GET /api/compare``: :func:`assay.evaluation.compare.compare` as
:func:`assay.service.comparisons.compare_stored` wraps it, described exactly; a union keyed on
``task``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from assay.server.answer_schemas import Exact, F


class LeaderboardDatasetVersion(Exact):
    id: int
    dataset: str
    version: str


class CompareSide(Exact):
    id: int
    name: str


class CompareMetric(Exact):
    metric: str
    label: str
    higher_is_better: bool
    a: F
    b: F
    delta: F = Field(description="B - A")
    low: F = Field(description="the interval of B - A; it excludes 0 exactly when p < 1 - level")
    high: F
    p_value: F = Field(description="the row's own p (unadjusted), from the interval's procedure")
    p_holm: F = Field(description="Holm-adjusted across the headline rows (the family)")
    p_mc: F = Field(description="Monte-Carlo standard error of a bootstrap p (None: not random)")
    se: F = Field(description="standard error of B - A (accuracy: under no difference)")
    mde: F = Field(description="smallest difference the test detects with 80 % power at its level")
    test: str | None = Field(
        description="Tango score (McNemar) for accuracy and top-1 accuracy; delta method (normal) "
        "and DeLong (normal) for ROC AUC: the normal interval with the analytic SE of the paired "
        "difference from every sample and its z-test; group bootstrap (normal) with groups; "
        "bootstrap over images (normal) for detection"
    )
    significant: bool = Field(description="p_holm < 1 - level")
    primary: bool = Field(description="the task's primary metric")


class CompareFamily(Exact):
    primary: str = Field(description="the primary metric's key")
    primary_p: F = Field(description="its p alone (unadjusted)")
    primary_significant_alone: bool
    headline: list[str] = Field(description="the family: Holm across these rows")
    untested: int = Field(description="rows of the family not tested yet (counted as p = 1)")
    adjustment: Literal["holm"]
    rule: str
    mde: str = Field(description="what a row's mde is")


class CompareMarginMetric(Exact):
    metric: str
    label: str
    margin: float = Field(description="in the metric's units (0.005 = 0.5 points)")
    units: Literal["points", "metric"] = Field(description="how the margin was given")
    p_noninferior: float = Field(description="one-sided p of 'B worse by at least the margin'")
    p_noninferior_holm: float = Field(description="Holm across the margin metrics")
    worst_drop: F = Field(
        description="the bad-side bound at the metric's Holm level, as a loss (< 0: a gain)"
    )
    worst_level: float = Field(description="the two-sided level of that bound's interval")
    noninferior: bool = Field(description="p_noninferior_holm < (1 - level) / 2")
    p_tost: float = Field(description="TOST: the larger of the two one-sided p at ±margin")
    p_tost_holm: float
    tost_low: F = Field(description="the 1 - 2 alpha interval TOST reads")
    tost_high: F
    equivalent: bool = Field(description="p_tost_holm < 1 - level")
    mde: F


class CompareMargin(Exact):
    metrics: list[CompareMarginMetric]
    verdicts: list[str]
    rule: str | None = None


class CompareClassRow(Exact):
    label: str
    n: int
    recall_a: F
    recall_b: F
    f1_a: F
    f1_b: F
    ap_a: F
    ap_b: F
    recall_delta: F
    low: F = Field(description="Tango's score interval (grouped samples: group bootstrap)")
    high: F
    p_value: F = Field(description="McNemar's score test within the class (Tango's at 0)")
    p_holm: F = Field(description="Holm-adjusted across the classes")
    significant: bool


class CompareSample(Exact):
    index: int = Field(description="the sample's row in evaluation A")
    index_b: int = Field(description="its row in evaluation B")
    id: str
    actual: str | list[str] = Field(description="the label (multi-label: the label set)")
    predicted_a: str | list[str] | None
    predicted_b: str | list[str] | None
    confidence_a: float = Field(
        description="A's score of the actual class (multi-label: mean over the actual labels)"
    )
    confidence_b: float
    change: str = Field(description="fixed, broken, changed or same")
    text: str | None = Field(None, description="the sample's text (text datasets)")


class Disagreements(Exact):
    fixed: int
    broken: int
    both_right: int
    both_wrong: int
    prediction_changed: int
    mean_abs_confidence_change: float
    largest_confidence_changes: list[CompareSample]
    fixed_samples: list[CompareSample]
    broken_samples: list[CompareSample]


class CompareConfusion(Exact):
    columns: list[str]
    rows: list[str]
    a: list[list[int]]
    b: list[list[int]]
    difference: list[list[int]]


class CompareThresholds(Exact):
    a: float
    b: float


class ClassificationComparePublic(Exact):
    task: Literal["classification", "multilabel"]
    a: CompareSide
    b: CompareSide
    dataset_version: LeaderboardDatasetVersion
    n_samples: int
    classes: list[str]
    thresholds: CompareThresholds
    n_resamples: int
    level: float
    resampled: Literal["samples", "groups", "images"] = Field(
        description="what the bootstrap resamples"
    )
    metrics: list[CompareMetric]
    family: CompareFamily
    margin: CompareMargin | None = Field(description="with margin: non-inferiority, TOST")
    verdicts: list[str]
    per_class: list[CompareClassRow]
    disagreements: Disagreements
    confusion: CompareConfusion


class DetectionCompareClassRow(Exact):
    label: str
    n: int = Field(description="ground-truth boxes of the class (crowd regions left out)")
    ap_a: F
    ap_b: F
    ap50_a: F
    ap50_b: F
    ap75_a: F
    ap75_b: F
    ap_delta: F = Field(description="B - A of AP (.50:.95)")
    low: F
    high: F
    p_value: F = Field(description="z-test with the SE of the paired bootstrap over images")
    p_mc: F = Field(description="its Monte-Carlo standard error")
    p_holm: F = Field(description="Holm-adjusted across the classes")
    significant: bool


class CompareIouRow(Exact):
    iou: float
    a: float
    b: float
    delta: float
    low: F
    high: F
    p_value: F


class CompareImage(Exact):
    index: int
    id: str
    file_name: str
    tp_a: int
    fp_a: int
    fn_a: int
    tp_b: int
    fp_b: int
    fn_b: int
    errors_delta: int = Field(description="B's FP + FN minus A's")


class CompareImages(Exact):
    better: int = Field(description="images where B has fewer FP + FN")
    worse: int
    same: int = Field(description="images with the same TP, FP and FN")
    changed: list[CompareImage]
    better_images: list[CompareImage]
    worse_images: list[CompareImage]


class DetectionPoint(Exact):
    iou: float
    score: float


class DetectionPoints(Exact):
    a: DetectionPoint
    b: DetectionPoint


class DetectionComparePublic(Exact):
    task: Literal["detection"]
    a: CompareSide
    b: CompareSide
    dataset_version: LeaderboardDatasetVersion
    n_samples: int = Field(description="images")
    classes: list[str]
    points: DetectionPoints
    n_resamples: int
    level: float
    resampled: Literal["samples", "groups", "images"] = Field(
        description="what the bootstrap resamples"
    )
    metrics: list[CompareMetric]
    family: CompareFamily
    margin: CompareMargin | None = Field(description="with margin: non-inferiority, TOST")
    verdicts: list[str]
    per_class: list[DetectionCompareClassRow]
    per_iou: list[CompareIouRow]
    images: CompareImages
    confusion: CompareConfusion


ComparePublic = Annotated[
    ClassificationComparePublic | DetectionComparePublic, Field(discriminator="task")
]


class LeaderboardMetric(Exact):
    metric: str
    label: str
    higher_is_better: bool


class LeaderboardRow(Exact):
    id: int = Field(description="the evaluation")
    name: str
    model: str | None = Field(description="model:version, when a model version is recorded")
    value: F
    low: F = Field(
        description="this model's own percentile interval: right for it alone, not for the one "
        "picked as best (see simultaneous_low)"
    )
    high: F
    simultaneous_low: F = Field(
        description="the value's interval simultaneous over every model of the board (max-T "
        "over the values): it holds whichever model came first, so the winner's accounts for "
        "its selection"
    )
    simultaneous_high: F
    rank: int = Field(description="1 = best by the point estimates")
    rank_low: int | None = Field(
        description="the best rank the model may plausibly hold: 1 + the models surely better "
        "(their simultaneous interval of the difference excludes 0); None without a value"
    )
    rank_high: int | None = Field(
        description="the worst plausible rank: the ranked models - the models surely worse; "
        "every rank interval holds at once at the board's level"
    )
    best: bool
    delta: F = Field(description="value - the best's value (paired); None for the best")
    delta_low: F = Field(
        description="simultaneous interval of value - the best of the other models' true values"
    )
    delta_high: F
    p_value: F = Field(
        description="unadjusted p of the difference from the best alone (see test); not the "
        "verdict's"
    )
    p_holm: F = Field(
        description="the simultaneous (max-T adjusted) p that some model is better than this "
        "one: below 1 - level exactly when significant; None for the best"
    )
    test: str | None = Field(description="p_value's test: McNemar exact or a paired bootstrap")
    significant: bool = Field(
        description="significantly worse than the best: delta_high < 0 (the simultaneous "
        "interval excludes 0), so some model is surely better; boards of equal models get any "
        "on about 1 - level of boards (family-wise)"
    )


class LeaderboardPublic(Exact):
    dataset_version: LeaderboardDatasetVersion
    task: Literal["classification", "multilabel", "detection"]
    metric: str
    label: str
    higher_is_better: bool
    n_resamples: int
    level: float
    procedure: str = Field(
        description="how significantly worse, the rank intervals and the simultaneous "
        'intervals are made, e.g. "max-T bootstrap over all pairs (simultaneous, 95 %)"'
    )
    critical_value: F = Field(
        description="the max-T critical value in standard errors (1.96 would be one pair "
        "alone); None with fewer than two ranked models"
    )
    metrics: list[LeaderboardMetric]
    rows: list[LeaderboardRow]
