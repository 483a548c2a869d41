from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from assay.server.compare_schemas import ComparePublic
from assay.server.config import MAX_ID
from assay.server.deps import WorkspaceDep
from assay.server.responses import FastJSONResponse
from assay.store.comparisons import compare_stored

router = APIRouter(tags=["compare"])

CompareId = Annotated[int, Query(ge=1, le=MAX_ID)]


@router.get("/compare", response_model=ComparePublic)
def compare(
    a: CompareId,
    b: CompareId,
    workspace: WorkspaceDep,
    request: Request,
    resamples: Annotated[
        int | None,
        Query(ge=50, le=2000, description="default 1000; 200 for detection"),
    ] = None,
) -> FastJSONResponse:
    """Evaluation B against A on the same dataset version: metric differences with paired
    bootstrap intervals and p-values (McNemar's exact test for accuracy), verdicts, per-class
    recall with Holm's correction, the samples B fixed or broke, and both confusion matrices with
    their difference; for detection, AP per class and per IoU (bootstrap over images) and the
    images whose TP / FP / FN changed. 422 for evaluations of other data or tasks (multi-label
    is not compared yet). Answers are kept (a bounded cache) per (a, b, resamples)."""
    memo = request.app.state.compare_memo
    key = (a, b, resamples)
    answer: dict[str, Any] | None = memo.get(key)
    if answer is None:
        answer = compare_stored(workspace, a, b, n=resamples, seed=0)
        memo[key] = answer
    return FastJSONResponse(answer)
