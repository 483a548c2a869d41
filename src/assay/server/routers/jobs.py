from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request

from assay.server.deps import Id, WorkspaceDep
from assay.server.schemas import JobPublic

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("/{job_id}")
def get_job(job_id: Id, workspace: WorkspaceDep) -> JobPublic:
    """A background evaluation job: queued, running, done (with its evaluation id) or failed."""
    return JobPublic.model_validate(asdict(workspace.get_job(job_id)))


@router.delete("/{job_id}", responses={409: {"description": "the job has already ended"}})
def cancel_job(job_id: Id, request: Request) -> JobPublic:
    """Cancel a job: a queued one never starts, a running one is stopped (its process ends and
    nothing of it is stored); the job is then failed with the error ``cancelled``."""
    return JobPublic.model_validate(asdict(request.app.state.jobs.cancel(job_id)))
