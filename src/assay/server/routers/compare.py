from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from assay.server.compare_schemas import ComparePublic, LeaderboardPublic
from assay.server.config import MAX_ID
from assay.server.deps import WorkspaceDep
from assay.server.responses import FastJSONResponse
from assay.store.comparisons import compare_stored, leaderboard_stored

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


@router.get("/leaderboard", response_model=LeaderboardPublic)
def leaderboard(
    dataset_version: CompareId,
    workspace: WorkspaceDep,
    request: Request,
    metric: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_]+$")] = None,
    resamples: Annotated[
        int | None,
        Query(ge=50, le=2000, description="default 1000; 200 for detection"),
    ] = None,
) -> FastJSONResponse:
    """Every completed evaluation of a dataset version ranked by ``metric`` (default accuracy;
    AP for detection), each with its 95 % interval, and its paired difference from the best
    with a Holm-adjusted p-value: which are significantly worse. 422 for a metric the task
    does not have. Kept (bounded) per query and the evaluations it ranked."""
    ids = tuple(
        r.id
        for r in workspace.list_evaluations()
        if r.dataset_version.id == dataset_version and r.status == "done"
    )
    memo = request.app.state.compare_memo
    key = ("leaderboard", dataset_version, metric, resamples, ids)
    answer: dict[str, Any] | None = memo.get(key)
    if answer is None:
        answer = leaderboard_stored(workspace, dataset_version, metric, n=resamples)
        memo[key] = answer
    return FastJSONResponse(answer)
