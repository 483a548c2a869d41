from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request

from assay.server.deps import Id, WorkspaceDep
from assay.server.paths import confine
from assay.server.schemas import ModelCreate, ModelsPublic, ModelVersionPublic, ModelVersionsPublic

router = APIRouter(prefix="/models", tags=["models"])


@router.get("")
def list_models(workspace: WorkspaceDep) -> ModelsPublic:
    """Every model with its number of versions."""
    return ModelsPublic.model_validate({"items": [asdict(m) for m in workspace.list_models()]})


@router.post("", status_code=201)
def create_model(
    body: ModelCreate, workspace: WorkspaceDep, request: Request
) -> ModelVersionPublic:
    """Register a model version (e.g. an INT8 model with its FP32 parent); a model file must lie
    under the allowed roots."""
    state = request.app.state
    path = (
        None
        if body.path is None
        else confine(body.path, state.roots, state.config.limits, field="path")
    )
    version = workspace.add_model_version(
        body.name, parent_version_id=body.parent_version_id, path=path, version=body.version
    )
    return ModelVersionPublic.model_validate(asdict(version))


@router.get("/{model_id}/versions")
def list_model_versions(model_id: Id, workspace: WorkspaceDep) -> ModelVersionsPublic:
    """The versions of a model, oldest first."""
    versions = workspace.list_model_versions(model_id)
    return ModelVersionsPublic.model_validate({"items": [asdict(v) for v in versions]})
