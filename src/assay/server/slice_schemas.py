"""The answers of the weakest-slices routes (``/api/evaluations/{id}/quality/slices...``):
:mod:`assay.service.slices`'s answers as the server sends them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from assay.server.answer_schemas import Exact, F, Task
from assay.server.quality_schemas import ExploreItem


class SliceCondition(Exact):
    column: str
    op: Literal["==", "range"] = Field(description="a category (==) or a quantile bin (range)")
    value: str | float | int | None = Field(default=None, description="the category (==)")
    low: F = Field(default=None, description="range: the bin's lower edge (inclusive; None: -inf)")
    high: F = Field(default=None, description="range: the bin's upper edge (exclusive; None: inf)")
    text: str = Field(description="the condition in words, e.g. 'brightness < 0.31'")


class Slice(Exact):
    index: int = Field(description="its number, for .../quality/slices/{index}/samples")
    conditions: list[SliceCondition]
    description: str
    n: int = Field(description="samples (detection: images) in the slice")
    n_wrong: int | None = Field(description="wrong samples (classification)")
    metric: float = Field(description="accuracy, or the mean per-image F1 (detection)")
    low: F = Field(description="95 % interval: Wilson, or percentile bootstrap over images")
    high: F
    rest: float = Field(description="the metric on the other samples")
    difference: float = Field(description="metric - rest")
    z: F = Field(description="the test statistic; > 0: the slice is worse")
    p_value: float = Field(description="two-sided test of the slice against the rest")
    p_holm: float = Field(description="Holm-adjusted over n_family hypotheses")
    significant: bool = Field(description="p_holm < alpha and worse than the rest")


class SlicesPublic(Exact):
    evaluation_id: int
    task: Task
    point: dict[str, float | None]
    metric: Literal["accuracy", "f1"]
    n_samples: int
    overall: float
    min_size: int
    max_conditions: int
    alpha: float
    n_tried: int = Field(description="slices of at least min_size samples tested")
    n_family: int = Field(
        description="the hypotheses Holm adjusts for: the slices tried, and every conjunction "
        "at a level the beam cut"
    )
    n_significant: int
    columns: list[str] = Field(description="the properties and metadata columns searched")
    slices: list[Slice]
    notes: list[str]
    timing_s: float


class SliceSamplesPage(Exact):
    evaluation_id: int
    task: Task
    slice: Slice
    total: int
    offset: int
    limit: int
    items: list[ExploreItem]
