from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from assay.server.config import MAX_ID
from assay.server.deps import Id, WorkspaceDep
from assay.server.schemas import JobPublic, JobsPublic
from assay.store import JobRecord

router = APIRouter(prefix="/jobs", tags=["jobs"])
MAX_LISTED = 200


def job_public(job: JobRecord, request: Request) -> dict[str, Any]:
    """A job as the API shows it: its record (no params), and its place in the queue."""
    data = asdict(job)
    data.pop("params", None)
    data.pop("pid", None)  # the server's own business
    data.pop("pid_start", None)
    position = request.app.state.jobs.position(job.id) if job.status == "queued" else None
    return {**data, "position": position}


@router.get("")
def list_jobs(
    workspace: WorkspaceDep,
    request: Request,
    model_version_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    status: Literal["queued", "running", "done", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 50,
) -> JobsPublic:
    """Jobs, newest first (at most ``limit``), of one model version / in one status when given."""
    jobs = workspace.list_jobs(model_version_id=model_version_id, status=status)[:limit]
    return JobsPublic.model_validate({"items": [job_public(j, request) for j in jobs]})


@router.get("/{job_id}")
def get_job(job_id: Id, workspace: WorkspaceDep, request: Request) -> JobPublic:
    """A background job: queued (with its place in the queue), running (samples done of total
    for a model job), done (with its evaluation id) or failed (with the reason)."""
    return JobPublic.model_validate(job_public(workspace.get_job(job_id), request))


@router.delete("/{job_id}", responses={409: {"description": "the job has already ended"}})
def cancel_job(job_id: Id, request: Request) -> JobPublic:
    """Cancel a job: a queued one never starts, a running one is stopped (its process ends and
    nothing of it is stored); the job is then failed with the error ``cancelled``."""
    return JobPublic.model_validate(job_public(request.app.state.jobs.cancel(job_id), request))
