"""The embedding map of one evaluation (:mod:`assay.service.embeddings`): the map's points with
what each says (outcome, classes, confidence, likely label error, a data-quality property),
maps laid out in the background (:mod:`assay.server.embedding_runs`), the nearest neighbours of
a sample by cosine distance in the embedding space, and a page of the samples a lasso selected.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from assay.errors import ParameterError
from assay.evaluation.embeddings import MAX_SEED
from assay.server import answers
from assay.server.config import MAX_NAME
from assay.server.deps import EvaluationDep, Id
from assay.server.embedding_runs import EmbeddingRuns
from assay.server.embedding_schemas import (
    MAX_K,
    MapPublic,
    MapRequest,
    MapStatus,
    Method,
    NeighboursPublic,
    SelectionPublic,
    SelectionRequest,
)
from assay.server.responses import FastJSONResponse
from assay.server.routers.views import At
from assay.service.embeddings import cached_map, map_points, neighbours
from assay.store.embeddings import read_embedding

router = APIRouter(prefix="/evaluations", tags=["embeddings"])


def _runs(request: Request) -> EmbeddingRuns:
    runs = getattr(request.app.state, "embeddings", None)
    if runs is None:  # an app built without it (tests of other routers): one of its own
        runs = EmbeddingRuns(
            request.app.state.workspace, sandbox=getattr(request.app.state, "sandbox", None)
        )
        request.app.state.embeddings = runs
    return runs


def _params(
    method: str, seed: int, n_neighbors: int | None, min_dist: float | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"seed": seed}
    if method == "umap":
        if n_neighbors is not None:
            out["n_neighbors"] = n_neighbors
        if min_dist is not None:
            out["min_dist"] = min_dist
    elif n_neighbors is not None or min_dist is not None:
        raise ParameterError("n_neighbors / min_dist: parameters of umap only")
    return out


@router.get(
    "/{evaluation_id}/embeddings/map",
    response_model=MapPublic,
    responses={202: {"model": MapStatus, "description": "not laid out yet: how far it got"}},
)
async def get_map(
    evaluation: EvaluationDep,
    request: Request,
    at: At,
    method: Annotated[Method, Query()] = "pca",
    n_neighbors: Annotated[int | None, Query(ge=2, le=200)] = None,
    min_dist: Annotated[float | None, Query(ge=0.0, le=1.0, allow_inf_nan=False)] = None,
    seed: Annotated[int, Query(ge=0, le=MAX_SEED)] = 0,
    property: Annotated[
        str | None,
        Query(max_length=MAX_NAME, description="a computed data-quality property's values"),
    ] = None,
    label_errors: Annotated[
        bool, Query(description="mark likely label errors (single-label; seconds the first time)")
    ] = False,
) -> FastJSONResponse:
    """The 2-D map of the evaluation's samples (one entry per sample in every column) at an
    operating point, once laid out: 200. Before, 202 with the run's status; a PCA map (the quick
    first answer) is started by this request, a UMAP one by ``POST .../embeddings/maps``."""
    eid = evaluation.record.id
    params = _params(method, seed, n_neighbors, min_dist)
    ws = request.app.state.workspace
    found = await run_in_threadpool(cached_map, ws, eid, method, params)
    if found is None:
        runs = _runs(request)
        status = runs.status(eid, method, params)
        if method == "pca" and status["status"] == "missing":
            status = runs.start(eid, method, params)
        if status["status"] != "ready":
            return FastJSONResponse(status, status_code=202)
        found = await run_in_threadpool(cached_map, ws, eid, method, params)
        if found is None:  # pragma: no cover - removed between the two reads
            raise HTTPException(409, "the map was removed while it was read; ask again")
    answer = await run_in_threadpool(
        partial(map_points, prop=property, label_errors=label_errors), ws, eid, found, at
    )
    return FastJSONResponse({"status": "ready", **answer})


@router.post(
    "/{evaluation_id}/embeddings/maps",
    response_model=MapStatus,
    status_code=202,
    responses={
        200: {"model": MapStatus, "description": "the map is cached already"},
        429: {"description": "too many maps waiting"},
    },
)
def start_map(evaluation_id: Id, body: MapRequest, request: Request) -> FastJSONResponse:
    """Start laying out a map (UMAP, or PCA) in the background; its status (``ready`` when
    it is cached already). Poll ``GET .../embeddings/map`` with the same parameters."""
    status = _runs(request).start(evaluation_id, body.method, body.params(), retry=body.retry)
    return FastJSONResponse(status, status_code=200 if status["status"] == "ready" else 202)


@router.get(
    "/{evaluation_id}/embeddings/neighbours",
    response_model=NeighboursPublic,
    responses={409: {"description": "the embedding is not computed yet"}},
)
async def get_neighbours(
    evaluation: EvaluationDep,
    request: Request,
    at: At,
    index: Annotated[int, Query(ge=0, le=2**31, description="the sample's index")],
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 8,
) -> FastJSONResponse:
    """The ``k`` samples nearest to sample ``index`` by cosine distance in the embedding space
    (the one the map lays out), nearest first, each with its sample."""
    eid = evaluation.record.id
    ws = request.app.state.workspace
    if index >= evaluation.results.n_samples:
        raise ParameterError(
            f"index: must be a sample index in 0..{evaluation.results.n_samples - 1}"
        )
    if await run_in_threadpool(read_embedding, ws, eid) is None:
        raise HTTPException(409, "the embedding is not computed yet: ask for the map first")
    found = await run_in_threadpool(neighbours, ws, eid, index, k)
    items = [{**n, "sample": answers.sample(evaluation, n["index"], at)} for n in found]
    return FastJSONResponse({"evaluation_id": eid, "index": index, "k": k, "items": items})


@router.post("/{evaluation_id}/embeddings/selection", response_model=SelectionPublic)
async def selection(evaluation: EvaluationDep, at: At, body: SelectionRequest) -> FastJSONResponse:
    """A page of the samples a lasso or box selected on the map (in the order given), each as
    ``/samples/{index}`` gives it."""
    n = evaluation.results.n_samples
    bad = [i for i in body.indices if not 0 <= i < n]
    if bad:
        raise ParameterError(f"indices: {bad[0]} is not a sample index (0..{n - 1})")
    page = body.indices[body.offset : body.offset + body.limit]
    items = [answers.sample(evaluation, i, at) for i in page]
    return FastJSONResponse(
        {
            "evaluation_id": evaluation.record.id,
            "total": len(body.indices),
            "offset": body.offset,
            "limit": body.limit,
            "items": items,
        }
    )
