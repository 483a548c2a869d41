"""The analysis views of one evaluation: summary, optimal point, per-class table, confusion,
curves, sample feed.

Each route parses its query into one :class:`~assay.evaluation.results.OperatingPoint` and calls
the results object's method of the same name (:mod:`assay.server.answers` adds the dataset's
fields to samples and the caches). Answers take about a millisecond, so the handlers run on the
event loop: no thread hand-off, no GIL convoy between 20 concurrent requests.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from assay.evaluation.results import OperatingPoint
from assay.server import answers
from assay.server.answer_schemas import (
    ConfusionPublic,
    CurveKind,
    CurvePublic,
    LabelDetail,
    LabelsPublic,
    OptimalMetric,
    OptimalPublic,
    Outcome,
    SampleDetail,
    SampleSort,
    SamplesPublic,
    Summary,
)
from assay.server.config import MAX_NAME, MAX_OFFSET
from assay.server.deps import EvaluationDep
from assay.server.responses import FastJSONResponse

router = APIRouter(prefix="/evaluations", tags=["evaluations"])


def operating_point(
    threshold: Annotated[
        float | None,
        Query(ge=0.0, le=1.0, description="classification threshold (default: the evaluation's)"),
    ] = None,
    iou: Annotated[
        float | None, Query(ge=0.0, le=1.0, description="detection IoU threshold (default 0.5)")
    ] = None,
    score: Annotated[
        float | None,
        Query(allow_inf_nan=False, description="detection confidence threshold (default 0)"),
    ] = None,
) -> OperatingPoint:
    """The operating point of a query; a field that does not apply to the task is ignored."""
    return OperatingPoint(threshold=threshold, iou=iou, score=score)


At = Annotated[OperatingPoint, Depends(operating_point)]
Label = Annotated[str | None, Query(max_length=MAX_NAME * 5, description="a class name")]


@router.get("/{evaluation_id}/summary", response_model=Summary)
async def get_summary(evaluation: EvaluationDep, at: At) -> FastJSONResponse:
    """The summary metrics at an operating point."""
    return FastJSONResponse(answers.summary(evaluation, at))


@router.get("/{evaluation_id}/optimal", response_model=OptimalPublic)
async def get_optimal(
    evaluation: EvaluationDep,
    at: At,
    metric: Annotated[
        OptimalMetric,
        Query(
            description="f1 (macro), accuracy, precision, recall, micro_f1; detection: f1, "
            "precision, recall (at iou)"
        ),
    ] = "f1",
) -> FastJSONResponse:
    """The operating point that maximises ``metric`` (detection: the confidence at ``iou``)."""
    return FastJSONResponse(answers.optimal(evaluation, str(metric), at))


@router.get("/{evaluation_id}/labels", response_model=LabelsPublic)
async def list_labels(evaluation: EvaluationDep, at: At) -> FastJSONResponse:
    """The per-class table at an operating point."""
    return FastJSONResponse(answers.labels(evaluation, at))


@router.get("/{evaluation_id}/labels/{label:path}", response_model=LabelDetail)
async def get_label(
    evaluation: EvaluationDep,
    label: Annotated[str, Path(max_length=MAX_NAME * 5)],
    at: At,
    limit: Annotated[int, Query(ge=1, le=500, description="examples per outcome")] = 12,
) -> FastJSONResponse:
    """One label's metrics with TP / FP / FN example samples."""
    return FastJSONResponse(answers.label_detail(evaluation, label, at, limit=limit))


@router.get("/{evaluation_id}/confusion", response_model=ConfusionPublic)
async def get_confusion(
    evaluation: EvaluationDep,
    at: At,
    normalize: Annotated[
        Literal["true", "probability"] | None,
        Query(description="none (counts), true (row fractions), probability (mean score)"),
    ] = None,
    top: Annotated[int | None, Query(ge=1, le=1000, description="keep the N most confused")] = None,
) -> FastJSONResponse:
    """The confusion matrix (rows actual, columns predicted) and the most confused pairs."""
    return FastJSONResponse(answers.confusion(evaluation, at, normalize=normalize, top=top))


@router.get("/{evaluation_id}/curves/{kind}", response_model=CurvePublic)
async def get_curve(
    evaluation: EvaluationDep,
    kind: CurveKind,
    at: At,
    label: Label = None,
    bins: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> FastJSONResponse:
    """A curve (ROC, PR, threshold curves, calibration, density), at most 1,000 points."""
    return FastJSONResponse(answers.curve(evaluation, str(kind), label, at, bins=bins))


@router.get("/{evaluation_id}/samples", response_model=SamplesPublic)
async def list_samples(
    evaluation: EvaluationDep,
    at: At,
    actual: Label = None,
    predicted: Label = None,
    outcome: Annotated[Outcome | None, Query()] = None,
    label: Label = None,
    errors_only: bool = False,
    sort: Annotated[SampleSort | None, Query()] = None,
    descending: bool | None = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> FastJSONResponse:
    """The sample feed (detection: the image feed): filtered by a confusion cell, sorted, paged."""
    answer = answers.samples(
        evaluation,
        at,
        actual=actual,
        predicted=predicted,
        outcome=None if outcome is None else str(outcome),
        label=label,
        errors_only=errors_only,
        sort=None if sort is None else str(sort),
        descending=descending,
        offset=offset,
        limit=limit,
    )
    return FastJSONResponse(answer)


@router.get("/{evaluation_id}/samples/{index}", response_model=SampleDetail)
async def get_sample(
    evaluation: EvaluationDep,
    index: Annotated[int, Path(ge=-MAX_OFFSET, le=MAX_OFFSET, description="sample index")],
    at: At,
) -> FastJSONResponse:
    """One sample with every class score (detection: one image with its boxes)."""
    return FastJSONResponse(answers.sample(evaluation, index, at))
