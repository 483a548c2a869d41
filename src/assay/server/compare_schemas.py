"""The answer of ``GET /api/compare``: :func:`assay.evaluation.compare.compare_classification`
as :mod:`assay.cli.compare` wraps it, described exactly."""

from __future__ import annotations

from pydantic import Field

from assay.server.answer_schemas import Exact, F


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
    low: F
    high: F
    p_value: F
    test: str | None = Field(description="McNemar exact (accuracy) or paired bootstrap")
    significant: bool


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
    low: F
    high: F
    p_value: F = Field(description="McNemar exact within the class")
    p_holm: F = Field(description="Holm-adjusted across the classes")
    significant: bool


class CompareSample(Exact):
    index: int = Field(description="the sample's row in evaluation A")
    index_b: int = Field(description="its row in evaluation B")
    id: str
    actual: str
    predicted_a: str | None
    predicted_b: str | None
    confidence_a: float = Field(description="A's score of the actual class")
    confidence_b: float
    change: str = Field(description="fixed, broken, changed or same")


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


class ComparePublic(Exact):
    a: CompareSide
    b: CompareSide
    n_samples: int
    classes: list[str]
    thresholds: CompareThresholds
    n_resamples: int
    level: float
    metrics: list[CompareMetric]
    verdicts: list[str]
    per_class: list[CompareClassRow]
    disagreements: Disagreements
    confusion: CompareConfusion
