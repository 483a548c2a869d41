from __future__ import annotations

from fastapi import APIRouter, Request, Response

from assay.server import answers
from assay.server.deps import EvaluationDep, WorkspaceDep
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


@router.post("", status_code=202)
def create_evaluation(body: EvaluationCreate, request: Request) -> JobCreated:
    """Evaluate files on the server's disk in a background job; poll ``GET /api/jobs/{id}``."""
    job = request.app.state.jobs.submit(body)
    return JobCreated(job_id=job.id)


@router.get("/{evaluation_id}", response_model=EvaluationDetail)
async def get_evaluation(evaluation: EvaluationDep) -> FastJSONResponse:
    """One evaluation at its default operating point: summary with its intervals, optimal point,
    folds, headline and the detection protocols table.

    On the event loop like the other views, so a results object is only ever used by one thread.
    """
    return FastJSONResponse(answers.evaluation_detail(evaluation))


@router.delete("/{evaluation_id}", status_code=204)
def delete_evaluation(evaluation_id: int, workspace: WorkspaceDep, request: Request) -> Response:
    """Delete an evaluation and its arrays."""
    workspace.delete_evaluation(evaluation_id)
    request.app.state.memo.pop(evaluation_id, None)
    return Response(status_code=204)
