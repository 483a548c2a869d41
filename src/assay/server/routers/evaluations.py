from __future__ import annotations

from fastapi import APIRouter, Request, Response

from assay.errors import InputError
from assay.server import answers
from assay.server.deps import EvaluationDep, Id, WorkspaceDep
from assay.server.paths import confine
from assay.server.responses import FastJSONResponse
from assay.server.schemas import (
    EvaluationCreate,
    EvaluationDetail,
    EvaluationsPublic,
    JobCreated,
    ModelRunCreate,
)
from assay.store import Workspace, evaluation_public

router = APIRouter(prefix="/evaluations", tags=["evaluations"])


@router.get("", response_model=EvaluationsPublic)
def list_evaluations(workspace: WorkspaceDep) -> FastJSONResponse:
    """Every stored evaluation, newest first, with its headline metric."""
    items = [evaluation_public(r) for r in workspace.list_evaluations()]
    return FastJSONResponse({"items": items})


@router.post("", status_code=202, responses={429: {"description": "too many jobs waiting"}})
def create_evaluation(body: EvaluationCreate | ModelRunCreate, request: Request) -> JobCreated:
    """Evaluate in a background job: files on the server's disk (``gt`` / ``pred`` under the
    allowed roots), or a registered model version run over a dataset version of its task
    (``model_version_id`` / ``dataset_version_id``: the Models page's "Calculate"). Poll
    ``GET /api/jobs/{id}``, cancel with ``DELETE /api/jobs/{id}``; 429 when too many wait."""
    state = request.app.state
    if isinstance(body, ModelRunCreate):
        _check_model_run(state.workspace, body)
        job = state.jobs.submit(body.model_dump(), kind="model")
        return JobCreated(job_id=job.id)
    params = body.model_dump()
    for field in ("gt", "pred"):
        params[field] = str(confine(params[field], state.roots, state.config.limits, field=field))
    job = state.jobs.submit(params)
    return JobCreated(job_id=job.id)


def _check_model_run(workspace: Workspace, body: ModelRunCreate) -> None:
    """The version can run and the dataset is of its task, or has no labels (any model that
    reads its media makes a prediction run on it) (404 / 422 before anything queues)."""
    from assay.service.unlabeled import is_unlabeled

    version = workspace.get_model_version(body.model_version_id)
    dataset = workspace.get_dataset_version(body.dataset_version_id)
    if not version.runnable:
        raise InputError(
            f"model version {version.id} was registered from predictions; it has no model to run"
        )
    if (
        version.task is not None
        and version.task != dataset.task
        and not is_unlabeled(workspace, dataset.id)
    ):
        raise InputError(
            f"model version {version.id} is a {version.task} model; dataset version "
            f"{dataset.id} ({dataset.dataset_name}) is a {dataset.task} dataset"
        )


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
