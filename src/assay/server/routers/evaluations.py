from __future__ import annotations

from fastapi import APIRouter, Request, Response

from assay.server import answers
from assay.server.deps import EvaluationDep, Id, WorkspaceDep
from assay.server.paths import confine
from assay.server.responses import FastJSONResponse
from assay.server.schemas import (
    EvaluationCreate,
    EvaluationDetail,
    EvaluationsPublic,
    JobCreated,
)
from assay.store import evaluation_public

router = APIRouter(prefix="/evaluations", tags=["evaluations"])


@router.get("", response_model=EvaluationsPublic)
def list_evaluations(workspace: WorkspaceDep) -> FastJSONResponse:
    """Every stored evaluation, newest first, with its headline metric."""
    items = [evaluation_public(r) for r in workspace.list_evaluations()]
    return FastJSONResponse({"items": items})


@router.post("", status_code=202, responses={429: {"description": "too many jobs waiting"}})
def create_evaluation(body: EvaluationCreate, request: Request) -> JobCreated:
    """Evaluate files on the server's disk (under the allowed roots) in a background job; poll
    ``GET /api/jobs/{id}``, cancel with ``DELETE /api/jobs/{id}``; 429 when too many wait."""
    state = request.app.state
    params = body.model_dump()
    for field in ("gt", "pred"):
        params[field] = str(confine(params[field], state.roots, state.config.limits, field=field))
    job = state.jobs.submit(params)
    return JobCreated(job_id=job.id)


@router.get("/{evaluation_id}", response_model=EvaluationDetail)
async def get_evaluation(evaluation: EvaluationDep) -> FastJSONResponse:
    """One evaluation at its default operating point: summary with its intervals, optimal point,
    folds, headline and the detection protocols table.

    On the event loop like the other views, so a results object is only ever used by one thread.
    """
    return FastJSONResponse(answers.evaluation_detail(evaluation))


@router.delete("/{evaluation_id}", status_code=204)
def delete_evaluation(evaluation_id: Id, workspace: WorkspaceDep, request: Request) -> Response:
    """Delete an evaluation and its arrays."""
    workspace.delete_evaluation(evaluation_id)
    request.app.state.memo.pop(evaluation_id, None)
    return Response(status_code=204)
