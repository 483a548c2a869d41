"""Two runs on one dataset version compared without labels: the summary (agreement, kappa, flip
matrix; box agreement for detectors), the per-sample table, one sample's scores of both models,
one image's boxes of both detectors (:mod:`assay.service.agreement`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool

from assay.server.agreement_schemas import (
    AgreementImage,
    AgreementPublic,
    AgreementSample,
    AgreementSamples,
)
from assay.server.config import MAX_ID, MAX_NAME, MAX_OFFSET, Limits
from assay.server.deps import SampleLookup, WorkspaceDep
from assay.server.gates import Gate, gate_of
from assay.server.responses import FastJSONResponse
from assay.server.schemas import Problem
from assay.service.agreement import (
    MAX_PAGE,
    agreement_image,
    agreement_sample,
    agreement_samples,
    agreement_stored,
)
from assay.store import Workspace

router = APIRouter(prefix="/agreement", tags=["agreement"])

RunId = Annotated[int, Query(ge=1, le=MAX_ID, description="a stored evaluation (run)")]
Iou = Annotated[float, Query(gt=0, le=1, description="detection: IoU of a matched pair")]
Score = Annotated[
    float, Query(allow_inf_nan=False, ge=-1e9, le=1e9, description="detection: boxes kept from")
]
Index = Annotated[int, PathParam(ge=0, le=MAX_OFFSET, description="sample (image) index")]
BUSY: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "too many comparisons running; see Retry-After"}
}


def _gate(request: Request) -> Gate:
    """Agreement shares compare's gate: a pass over two whole runs."""
    limits: Limits = request.app.state.config.limits
    return gate_of(request.app.state, "comparison", limits.compare_workers, limits.compare_queue)


def _decorated(workspace: Workspace, a: int, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows given text, media URLs and metadata from the runs' dataset version."""
    dv = workspace.get_evaluation(a).dataset_version.id
    return SampleLookup(dv, workspace.samples_table(dv)).decorate(items)


@router.get("", response_model=AgreementPublic, responses=BUSY)
async def get_agreement(
    a: RunId,
    b: RunId,
    workspace: WorkspaceDep,
    request: Request,
    iou: Iou = 0.5,
    score: Score = 0.0,
    threshold: Annotated[
        float,
        Query(
            ge=0, le=1, allow_inf_nan=False, description="multi-label: a class is predicted from"
        ),
    ] = 0.5,
) -> FastJSONResponse:
    """Runs A and B on the same dataset version compared without labels (any labels the version
    has are ignored). Classification: top-1 agreement with its 95 % Wilson interval, Cohen's
    kappa, the flip matrix (A's top class by B's), the mean (absolute) change of the score of
    A's top class, per-class shares and the samples that changed most. Detection: B's boxes
    matched to A's at ``iou`` (class-agnostic): matched, agreed, class flips, only in A, only in
    B, and the images that changed most. Multi-label: each class predicted from ``threshold``;
    per class both / only A / only B / neither, agreement and kappa; the share of samples with
    the same label set, labels gained and lost. 422 for runs on other data or of two tasks; kept (bounded) and gated as compare is (503 when busy)."""
    memo = request.app.state.compare_memo
    key = ("agreement", a, b, iou, score, threshold)
    answer: dict[str, Any] | None = memo.get(key)
    if answer is None:

        def work() -> dict[str, Any]:
            kept: dict[str, Any] | None = memo.get(key)
            if kept is not None:
                return kept
            made = agreement_stored(workspace, a, b, iou=iou, score=score, threshold=threshold)
            memo[key] = made
            return made

        answer = await _gate(request).run(key, work)
    return FastJSONResponse(answer)


@router.get("/samples", response_model=AgreementSamples)
async def list_agreement_samples(
    a: RunId,
    b: RunId,
    workspace: WorkspaceDep,
    predicted_a: Annotated[str | None, Query(max_length=MAX_NAME, description="A's class")] = None,
    predicted_b: Annotated[str | None, Query(max_length=MAX_NAME, description="B's class")] = None,
    changed: Annotated[
        bool | None, Query(description="true: top class differs; false: the same")
    ] = None,
    search: Annotated[str | None, Query(max_length=MAX_NAME, description="in the id")] = None,
    sort: Literal[
        "distance", "confidence_a", "confidence_b", "change", "rank", "index"
    ] = "distance",
    descending: bool = True,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> FastJSONResponse:
    """The per-sample table of two single-label runs: each model's top class and score, the
    rank of A's class among B's scores, the change of its score and the distance between the
    two rows; ``predicted_a`` and ``predicted_b`` together select one cell of the flip matrix.
    Sorted (ties by index) and paged; rows carry media URLs and metadata as feed items do."""

    def work() -> dict[str, Any]:
        page = agreement_samples(
            workspace, a, b, predicted_a=predicted_a, predicted_b=predicted_b, changed=changed,
            search=search, sort=sort, descending=descending, offset=offset, limit=limit,
        )  # fmt: skip
        _decorated(workspace, a, page["items"])
        return page

    return FastJSONResponse(await run_in_threadpool(work))


@router.get("/samples/{index}", response_model=AgreementSample)
async def get_agreement_sample(
    index: Index, a: RunId, b: RunId, workspace: WorkspaceDep
) -> FastJSONResponse:
    """One row of the per-sample table with both models' scores of every class."""

    def work() -> dict[str, Any]:
        return _decorated(workspace, a, [agreement_sample(workspace, a, b, index)])[0]

    return FastJSONResponse(await run_in_threadpool(work))


@router.get("/images/{index}", response_model=AgreementImage)
async def get_agreement_image(
    index: Index,
    a: RunId,
    b: RunId,
    workspace: WorkspaceDep,
    iou: Iou = 0.5,
    score: Score = 0.0,
) -> FastJSONResponse:
    """Both detectors' boxes on one image, each marked agreed, flip (matched, another class),
    only_a or only_b, with its partner in the other list; the image's media URL."""

    def work() -> dict[str, Any]:
        one = agreement_image(workspace, a, b, index, iou=iou, score=score)
        return _decorated(workspace, a, [one])[0]

    return FastJSONResponse(await run_in_threadpool(work))
