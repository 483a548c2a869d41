"""The data-quality views of one evaluation: the analysis (computed in the background, see
:mod:`assay.server.quality_runs`), performance per bin of a property, the samples ranked by a
property, and the likely label errors. Built on :mod:`assay.service.quality`; the server adds the
samples' text and media URLs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request

from assay.server.config import MAX_ID, MAX_NAME, MAX_OFFSET
from assay.server.deps import Id, SampleLookup, WorkspaceDep
from assay.server.quality_runs import QualityRuns, refs
from assay.server.quality_schemas import (
    ExplorePage,
    LabelIssuesPage,
    PropertyBins,
    QualityPublic,
)
from assay.server.responses import FastJSONResponse
from assay.server.slice_schemas import SliceSamplesPage, SlicesPublic
from assay.service.quality import explore, label_issues_stored, property_bins
from assay.service.slices import MAX_TOP, slice_samples, slices_stored
from assay.store import Workspace

router = APIRouter(prefix="/evaluations", tags=["quality"])

Property = Annotated[
    str, Query(min_length=1, max_length=MAX_NAME, description="a property's name (see properties)")
]
Label = Annotated[str | None, Query(max_length=MAX_NAME * 5, description="a class name")]
ExploreOutcome = Literal["correct", "incorrect", "below_threshold", "tp", "fp", "fn", "tn"]


def _runs(request: Request) -> QualityRuns:
    runs: QualityRuns = request.app.state.quality
    return runs


@router.get(
    "/{evaluation_id}/quality",
    response_model=QualityPublic,
    responses={202: {"description": "still computing: how far it got"}},
)
def quality(
    evaluation_id: Id,
    request: Request,
    train: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="a training dataset version: its near-copies here"),
    ] = None,
    retry: Annotated[bool, Query(description="start a failed analysis again")] = False,
) -> FastJSONResponse:
    """The data-quality analysis at the evaluation's stored operating point: each property's
    importance (Spearman rho with correctness and permutation importance), near-duplicate groups
    (leakage from ``train``), likely label errors. Computed in the background: 202 with
    ``{"status": "running", "stage", "done", "total"}`` until it is ready (poll), then 200 with
    ``status`` "ready" (kept for the last few evaluations) or "failed" with the error."""
    answer = _runs(request).answer(evaluation_id, train, retry=retry)
    return FastJSONResponse(answer, status_code=202 if answer["status"] == "running" else 200)


def _not_computing(request: Request, evaluation_id: int) -> None:
    """409 while a background run is still computing the properties (a request would compute
    them a second time)."""
    run = _runs(request).in_flight(evaluation_id)
    if run is not None:
        raise HTTPException(
            409,
            detail=f"the properties of evaluation {evaluation_id} are being computed "
            f"({run.done} of {run.total}); poll GET /api/evaluations/{evaluation_id}/quality",
        )


@router.get(
    "/{evaluation_id}/quality/bins",
    response_model=PropertyBins,
    responses={409: {"description": "the properties are still being computed"}},
)
def quality_bins(
    evaluation_id: Id,
    workspace: WorkspaceDep,
    request: Request,
    property: Property,
    bins: Annotated[int, Query(ge=2, le=50, description="quantile bins")] = 10,
    label: Label = None,
) -> FastJSONResponse:
    """Accuracy per quantile bin of a property (a bin per category of a categorical one), with
    Wilson 95 % intervals; with ``label``, that class's TPR and precision too. Ties never
    straddle two bins, so there may be fewer bins than asked."""
    _not_computing(request, evaluation_id)
    return FastJSONResponse(
        property_bins(workspace, evaluation_id, property, bins=bins, label=label, processes=False)
    )


@router.get(
    "/{evaluation_id}/quality/explore",
    response_model=ExplorePage,
    responses={409: {"description": "the properties are still being computed"}},
)
def quality_explore(
    evaluation_id: Id,
    workspace: WorkspaceDep,
    request: Request,
    property: Property,
    outcome: Annotated[
        ExploreOutcome | None,
        Query(
            description="correct / incorrect (any task), below_threshold, or tp / fp / fn / tn "
            "relative to label"
        ),  # fmt: skip
    ] = None,
    label: Label = None,
    descending: bool = True,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> FastJSONResponse:
    """The samples ranked by a property (missing values last), filtered by outcome and class,
    each marked when it is a likely label error."""
    _not_computing(request, evaluation_id)
    page = explore(
        workspace,
        evaluation_id,
        property,
        outcome=outcome,
        label=label,
        descending=descending,
        offset=offset,
        limit=limit,
        processes=False,  # never fork from the server's threads
    )
    page["items"] = refs(_lookup(request, workspace, evaluation_id), page["items"])
    return FastJSONResponse(page)


MinSize = Annotated[
    int | None,
    Query(
        ge=1,
        le=10_000_000,
        description="the smallest slice (default max(30, 1 % of N), at most N / 4)",
    ),
]
MaxConditions = Annotated[int, Query(ge=1, le=3, description="conditions per slice at most")]
Top = Annotated[int, Query(ge=1, le=MAX_TOP, description="slices returned")]


@router.get(
    "/{evaluation_id}/quality/slices",
    response_model=SlicesPublic,
    responses={409: {"description": "the properties are still being computed"}},
)
def quality_slices(
    evaluation_id: Id,
    workspace: WorkspaceDep,
    request: Request,
    min_size: MinSize = None,
    max_conditions: MaxConditions = 3,
    top: Top = 20,
) -> FastJSONResponse:
    """The weakest slices (up to ``max_conditions`` conditions over metadata columns and binned
    properties) at the stored operating point: each with its size, accuracy (detection: mean
    per-image F1) and 95 % interval, the difference from the rest with a two-sided p-value,
    Holm-adjusted over the hypotheses tried."""
    _not_computing(request, evaluation_id)
    return FastJSONResponse(slices_stored(workspace, evaluation_id, min_size=min_size,
                                          max_conditions=max_conditions, top=top,
                                          processes=False))  # fmt: skip


@router.get(
    "/{evaluation_id}/quality/slices/{index}/samples",
    response_model=SliceSamplesPage,
    responses={409: {"description": "the properties are still being computed"}},
)
def quality_slice_samples(
    evaluation_id: Id,
    index: Annotated[int, Path(ge=0, le=MAX_TOP - 1, description="the slice's index")],
    workspace: WorkspaceDep,
    request: Request,
    min_size: MinSize = None,
    max_conditions: MaxConditions = 3,
    top: Top = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> FastJSONResponse:
    """The samples of one slice (same parameters as the slices), the wrong ones first."""
    _not_computing(request, evaluation_id)
    page = slice_samples(workspace, evaluation_id, index, min_size=min_size,
                         max_conditions=max_conditions, top=top, offset=offset, limit=limit,
                         processes=False)  # fmt: skip
    page["items"] = refs(_lookup(request, workspace, evaluation_id), page["items"])
    return FastJSONResponse(page)


@router.get("/{evaluation_id}/quality/label-issues", response_model=LabelIssuesPage)
def quality_label_issues(
    evaluation_id: Id,
    workspace: WorkspaceDep,
    request: Request,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> FastJSONResponse:
    """The likely label errors (confident learning: the model is confident in another class),
    most likely first: the given label, the suggested one and the model's confidence. Single-label
    classification only (empty otherwise)."""
    results = workspace.load_results(evaluation_id)
    found = label_issues_stored(workspace, evaluation_id, results=results)
    lookup = _lookup(request, workspace, evaluation_id)
    ids = lookup.table.column("id").to_pylist() if "id" in lookup.table.column_names else None
    page = [dict(r) for r in found[offset : offset + limit]]
    for r in page:
        i = r["index"]
        r["id"] = str(ids[i]) if ids is not None and i < len(ids) else str(i)
    return FastJSONResponse(
        {
            "evaluation_id": evaluation_id,
            "total": len(found),
            "offset": offset,
            "limit": limit,
            "items": refs(lookup, page),
        }
    )


def _lookup(request: Request, workspace: Workspace, evaluation_id: int) -> SampleLookup:
    """The samples lookup of the evaluation's dataset version (shared with the other views)."""
    dv = workspace.get_evaluation(evaluation_id).dataset_version.id
    lookups: Any = request.app.state.sample_lookups
    lookup: SampleLookup | None = lookups.get(dv)
    table = workspace.samples_table(dv)
    if lookup is None or lookup.table is not table:
        lookup = SampleLookup(dv, table)
        lookups[dv] = lookup
    return lookup
