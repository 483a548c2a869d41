from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from assay.server.deps import WorkspaceDep
from assay.server.schemas import JobPublic

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("/{job_id}")
def get_job(job_id: int, workspace: WorkspaceDep) -> JobPublic:
    """A background evaluation job: queued, running, done (with its evaluation id) or failed."""
    return JobPublic.model_validate(asdict(workspace.get_job(job_id)))
