from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from fastapi import APIRouter, Request

from assay.server.deps import Id, WorkspaceDep
from assay.server.paths import confine
from assay.server.schemas import (
    DatasetCreate,
    DatasetsPublic,
    DatasetVersionPublic,
    DatasetVersionsPublic,
)

router = APIRouter(prefix="/datasets", tags=["datasets"])


@router.get("")
def list_datasets(workspace: WorkspaceDep) -> DatasetsPublic:
    """Every dataset with its versions (the Models page picks one to run a model over)."""
    items = [
        {**asdict(d), "versions": [asdict(v) for v in workspace.list_dataset_versions(d.id)]}
        for d in workspace.list_datasets()
    ]
    return DatasetsPublic.model_validate({"items": items})


@router.post("", status_code=201)
def create_dataset(
    body: DatasetCreate, workspace: WorkspaceDep, request: Request
) -> DatasetVersionPublic:
    """Register a file or folder on the server's disk (under the allowed roots); the same bytes
    give back the same version."""
    state = request.app.state
    source: Path = confine(body.path, state.roots, state.config.limits, field="path")
    version = workspace.add_dataset_version(body.name, task=body.task, source=source)
    return DatasetVersionPublic.model_validate(asdict(version))


@router.get("/{dataset_id}/versions")
def list_dataset_versions(dataset_id: Id, workspace: WorkspaceDep) -> DatasetVersionsPublic:
    """The versions of a dataset, oldest first."""
    versions = workspace.list_dataset_versions(dataset_id)
    return DatasetVersionsPublic.model_validate({"items": [asdict(v) for v in versions]})
