"""The analysis views of one evaluation: per-class table, confusion, curves, sample feed.

Every answer comes from the results object's precomputed queries (see :mod:`assay.server.answers`)
and takes about a millisecond, so the handlers run on the event loop: no thread hand-off, no GIL
convoy between 20 concurrent requests.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from assay.server import answers
from assay.server.deps import EvaluationDep
from assay.server.responses import FastJSONResponse
from assay.server.schemas import (
    ConfusionPublic,
    CurvePublic,
    LabelDetail,
    LabelsPublic,
    OptimalPublic,
    SampleDetail,
    SamplesPublic,
    SummaryPublic,
)

router = APIRouter(prefix="/evaluations", tags=["evaluations"])

Threshold = Annotated[
    float | None,
    Query(ge=0.0, le=1.0, description="classification threshold (default: the evaluation's)"),
]
IoU = Annotated[float, Query(ge=0.0, le=1.0, description="detection IoU threshold")]
Score = Annotated[float, Query(allow_inf_nan=False, description="detection confidence threshold")]
Label = Annotated[str | None, Query(description="a class name")]
CurveKind = Literal["roc", "pr", "threshold", "calibration", "density"]
OptimalMetric = Literal["f1", "accuracy", "precision", "recall", "micro_f1"]
SampleSort = Literal["confidence", "confusion", "index", "errors", "tp", "fp", "fn"]


@router.get("/{evaluation_id}/summary", response_model=SummaryPublic)
async def get_summary(
    evaluation: EvaluationDep, threshold: Threshold = None, iou: IoU = 0.5, score: Score = 0.0
) -> FastJSONResponse:
    """The headline metrics at a threshold (detection: overall P / R / F1 at IoU and confidence)."""
    return FastJSONResponse(answers.summary(evaluation, threshold=threshold, iou=iou, score=score))


@router.get("/{evaluation_id}/optimal", response_model=OptimalPublic)
async def get_optimal(
    evaluation: EvaluationDep,
    metric: Annotated[
        OptimalMetric,
        Query(
            description="f1 (macro), accuracy, precision, recall, micro_f1; detection: f1, "
            "precision, recall"
        ),
    ] = "f1",
    iou: IoU = 0.5,
) -> FastJSONResponse:
    """The threshold (detection: the confidence at ``iou``) that maximises ``metric``."""
    return FastJSONResponse(answers.optimal(evaluation, metric=metric, iou=iou))


@router.get("/{evaluation_id}/labels", response_model=LabelsPublic)
async def list_labels(
    evaluation: EvaluationDep, threshold: Threshold = None, iou: IoU = 0.5, score: Score = 0.0
) -> FastJSONResponse:
    """The per-class table at a threshold (detection: at IoU and confidence)."""
    return FastJSONResponse(answers.labels(evaluation, threshold=threshold, iou=iou, score=score))


@router.get("/{evaluation_id}/labels/{label:path}", response_model=LabelDetail)
async def get_label(
    evaluation: EvaluationDep,
    label: str,
    threshold: Threshold = None,
    iou: IoU = 0.5,
    score: Score = 0.0,
    limit: Annotated[int, Query(ge=1, le=500, description="examples per outcome")] = 12,
) -> FastJSONResponse:
    """One label's metrics with TP / FP / FN example samples."""
    answer = answers.label_detail(
        evaluation, label, threshold=threshold, iou=iou, score=score, limit=limit
    )
    return FastJSONResponse(answer)


@router.get("/{evaluation_id}/confusion", response_model=ConfusionPublic)
async def get_confusion(
    evaluation: EvaluationDep,
    threshold: Threshold = None,
    iou: IoU = 0.5,
    score: Score = 0.0,
    normalize: Annotated[
        Literal["true", "probability"] | None,
        Query(description="none (counts), true (row fractions), probability (mean score)"),
    ] = None,
    top: Annotated[int | None, Query(ge=1, le=1000, description="keep the N most confused")] = None,
) -> FastJSONResponse:
    """The confusion matrix (rows actual, columns predicted) and the most confused pairs."""
    answer = answers.confusion(
        evaluation, threshold=threshold, iou=iou, score=score, normalize=normalize, top=top
    )
    return FastJSONResponse(answer)


@router.get("/{evaluation_id}/curves/{kind}", response_model=CurvePublic)
async def get_curve(
    evaluation: EvaluationDep,
    kind: CurveKind,
    label: Label = None,
    iou: IoU = 0.5,
    bins: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> FastJSONResponse:
    """A curve (ROC, PR, threshold curves, calibration, density), at most 1,000 points."""
    return FastJSONResponse(answers.curve(evaluation, kind, label=label, iou=iou, bins=bins))


@router.get("/{evaluation_id}/samples", response_model=SamplesPublic)
async def list_samples(
    evaluation: EvaluationDep,
    actual: Label = None,
    predicted: Label = None,
    outcome: Annotated[Literal["tp", "fp", "fn"] | None, Query()] = None,
    label: Label = None,
    errors_only: bool = False,
    sort: Annotated[SampleSort | None, Query()] = None,
    descending: bool | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    threshold: Threshold = None,
    iou: IoU = 0.5,
    score: Score = 0.0,
) -> FastJSONResponse:
    """The sample feed (detection: the image feed): filtered by a confusion cell, sorted, paged."""
    answer = answers.samples(
        evaluation,
        actual=actual,
        predicted=predicted,
        outcome=outcome,
        label=label,
        errors_only=errors_only,
        sort=sort,
        descending=descending,
        offset=offset,
        limit=limit,
        threshold=threshold,
        iou=iou,
        score=score,
    )
    return FastJSONResponse(answer)


@router.get("/{evaluation_id}/samples/{index}", response_model=SampleDetail)
async def get_sample(
    evaluation: EvaluationDep,
    index: int,
    threshold: Threshold = None,
    iou: IoU = 0.5,
    score: Score = 0.0,
) -> FastJSONResponse:
    """One sample with every class score (detection: one image with its boxes)."""
    answer = answers.sample(evaluation, index, threshold=threshold, iou=iou, score=score)
    return FastJSONResponse(answer)
