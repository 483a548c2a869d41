from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from assay.errors import InputError
from assay.server.config import Limits
from assay.server.deps import Id, WorkspaceDep
from assay.server.gates import gate_of
from assay.server.paths import confine
from assay.server.schemas import (
    ModelCreate,
    ModelsPublic,
    ModelVersionPublic,
    ModelVersionsPublic,
    Problem,
)
from assay.service.public import model_evaluations, model_version_public, models_public
from assay.store import Workspace

router = APIRouter(prefix="/models", tags=["models"])


@router.get("")
def list_models(workspace: WorkspaceDep) -> ModelsPublic:
    """Every model with its versions (parent, task, backend, classes, whether it can run) and
    each version's evaluations with their headline metric."""
    return ModelsPublic.model_validate({"items": models_public(workspace)})


@router.post(
    "",
    status_code=201,
    responses={503: {"model": Problem, "description": "too many registrations; see Retry-After"}},
)
async def create_model(
    body: ModelCreate, workspace: WorkspaceDep, request: Request
) -> ModelVersionPublic:
    """Register a model version (e.g. an INT8 model with its FP32 parent); a file must lie under
    the allowed roots. A model file (ONNX, OpenVINO IR, TorchScript, skops, a Hugging Face folder)
    is loaded, checked and copied into the workspace, so it can be run ("Calculate", what-if);
    any other file is recorded as the source of predictions only. A folder that holds no model
    is a 422, and so is a model whose input tensor holds more than ``Limits.max_input_values``
    values. At most ``Limits.register_workers`` registrations run at once and
    ``register_queue`` wait (the same request twice is one registration), else a 503."""
    limits: Limits = request.app.state.config.limits
    gate = gate_of(
        request.app.state, "registration", limits.register_workers, limits.register_queue
    )
    key = ("model", body.path, body.name, body.version, body.parent_version_id)
    return await gate.run(key, _register, body, workspace, request.app.state)


def _register(body: ModelCreate, workspace: Workspace, state: Any) -> ModelVersionPublic:
    from assay.runners import input_values_cap, runner_entry

    limits: Limits = state.config.limits
    path = (
        None
        if body.path is None
        else confine(body.path, state.roots, limits, field="path", model=True)
    )
    is_model = False
    if path is not None:
        try:
            runner_entry(path)
            is_model = True
        except InputError:
            if path.is_dir():  # a folder is a model or nothing: never a predictions source
                raise
            is_model = False
    if is_model and path is not None:
        with input_values_cap(limits.max_input_values):
            version = workspace.add_model(
                path,
                name=body.name,
                version=body.version,
                parent_version_id=body.parent_version_id,
                sandbox=state.sandbox,  # loaded and checked in a confined worker
            )
    else:
        version = workspace.add_model_version(
            body.name, parent_version_id=body.parent_version_id, path=path, version=body.version
        )
    return ModelVersionPublic.model_validate(
        model_version_public(version, workspace.model_version_labels(), {})
    )


@router.get("/{model_id}/versions")
def list_model_versions(model_id: Id, workspace: WorkspaceDep) -> ModelVersionsPublic:
    """The versions of a model, oldest first."""
    versions = workspace.list_model_versions(model_id)
    labels, evaluations = workspace.model_version_labels(), model_evaluations(workspace)
    return ModelVersionsPublic.model_validate(
        {"items": [model_version_public(v, labels, evaluations) for v in versions]}
    )
