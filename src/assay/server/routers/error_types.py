"""``GET /api/evaluations/{id}/error-types``: TIDE's detection error types of one evaluation.

The answer is :meth:`assay.evaluation.detection.DetectionResults.error_types` as it is: the six
types (classification, localisation, both, duplicate, background, missed) with their counts and
the AP each would give back (dAP), TIDE's FP / FN oracles, and per class on demand. The numbers
follow TIDE's definitions (Bolya et al., ECCV 2020). The first call of an evaluation computes
(about a second on a COCO-val-scale set) in a worker thread; later calls are cached with it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from assay.errors import ParameterError
from assay.server.answer_schemas import Exact
from assay.server.config import MAX_NAME, MAX_OFFSET
from assay.server.deps import EvaluationDep
from assay.server.responses import FastJSONResponse

router = APIRouter(prefix="/evaluations", tags=["evaluations"])

ErrorType = Literal["cls", "loc", "both", "dupe", "bkg", "miss"]
SpecialType = Literal["fp", "fn"]


class ErrorTypeRow(Exact):
    type: ErrorType
    name: str
    description: str
    count: int
    dap: float | None


class SpecialTypeRow(Exact):
    type: SpecialType
    name: str
    description: str
    dap: float | None


class ErrorTypesOfClass(Exact):
    label: str
    ap: float | None
    counts: dict[ErrorType, int]
    dap: dict[ErrorType, float | None]
    special: dict[SpecialType, float | None]


class ErrorTypesPublic(Exact):
    """TIDE's breakdown: AP and dAP on Assay's 0-1 scale (TIDE prints them x100)."""

    task: Literal["detection"]
    definition: str
    iou: float
    background_iou: float
    max_dets: int
    ap: float | None
    types: list[ErrorTypeRow]
    special: list[SpecialTypeRow]
    classes: list[ErrorTypesOfClass] | None


class ErrorImage(Exact):
    index: int
    file_name: str
    count: int


class ErrorImagesPublic(Exact):
    """The images holding errors of one type, the most such errors first."""

    type: ErrorType
    label: str | None
    iou: float
    background_iou: float
    total: int
    offset: int
    limit: int
    items: list[ErrorImage]


def _method(evaluation: EvaluationDep, name: str) -> Any:
    """The detection results' ``name`` method, or a ParameterError for any other evaluation."""
    res = evaluation.results
    method = getattr(res, name, None)
    if res.task != "detection" or method is None:
        raise ParameterError(
            f"error types are for detection evaluations with their boxes; evaluation "
            f"{evaluation.record.id} is {res.task}"
            + ("" if res.task != "detection" else " without the boxes of each image")
        )
    return method


@router.get("/{evaluation_id}/error-types", response_model=ErrorTypesPublic)
async def get_error_types(
    evaluation: EvaluationDep,
    label: Annotated[
        str | None, Query(max_length=MAX_NAME * 5, description="one class (implies per class)")
    ] = None,
    per_class: Annotated[bool, Query(description="every class's counts and dAP too")] = False,
    iou: Annotated[
        float, Query(ge=0.1, le=0.95, description="TIDE's foreground IoU (default 0.5)")
    ] = 0.5,
    background_iou: Annotated[
        float, Query(gt=0.0, lt=0.95, description="TIDE's background IoU (default 0.1)")
    ] = 0.1,
) -> FastJSONResponse:
    """TIDE's error types of a detection evaluation: per type its count and dAP (the AP50
    gained by fixing every error of that type), the FP / FN oracles, per class on demand."""
    method = _method(evaluation, "error_types")
    answer = await run_in_threadpool(
        lambda: method(label, per_class=per_class, iou=iou, background_iou=background_iou)
    )
    return FastJSONResponse(answer)


@router.get("/{evaluation_id}/error-types/{error_type}/images", response_model=ErrorImagesPublic)
async def get_error_images(
    evaluation: EvaluationDep,
    error_type: Annotated[ErrorType, Path(description="cls, loc, both, dupe, bkg or miss")],
    label: Annotated[
        str | None, Query(max_length=MAX_NAME * 5, description="only this class's errors")
    ] = None,
    iou: Annotated[float, Query(ge=0.1, le=0.95)] = 0.5,
    background_iou: Annotated[float, Query(gt=0.0, lt=0.95)] = 0.1,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=0, le=200)] = 20,
) -> FastJSONResponse:
    """The images with errors of one type (of one class), the most such errors first: the
    examples the detection page opens from a type."""
    method = _method(evaluation, "error_images")
    answer = await run_in_threadpool(
        lambda: method(
            str(error_type),
            label,
            iou=iou,
            background_iou=background_iou,
            offset=offset,
            limit=limit,
        )
    )
    return FastJSONResponse(answer)
