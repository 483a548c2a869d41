from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from assay.errors import InputError
from assay.server.config import Limits
from assay.server.deps import Id, WorkspaceDep
from assay.server.gates import gate_of
from assay.server.optimize_schemas import AgainstParent, OptimizeCreate, ProfileCreate
from assay.server.paths import confine
from assay.server.schemas import (
    JobCreated,
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


def _runnable(workspace: Workspace, version_id: int) -> None:
    version = workspace.get_model_version(version_id)  # 404 before anything queues
    if not version.runnable:
        raise InputError(
            f"model version {version.id} was registered from predictions; it has no model"
        )


@router.post(
    "/versions/{version_id}/optimize",
    status_code=202,
    responses={429: {"description": "too many jobs waiting"}},
)
def optimize_version(version_id: Id, body: OptimizeCreate, request: Request) -> JobCreated:
    """Quantize a model version to INT8 in a background job (``assay models optimize --int8``),
    calibrated on ``samples`` images of the dataset version; the child is registered with this
    version as its parent. Poll ``GET /api/jobs/{id}``; a model it cannot quantize fails the job
    with a one-line error."""
    state = request.app.state
    _runnable(state.workspace, version_id)
    state.workspace.get_dataset_version(body.dataset_version_id)
    params = {"model_version_id": version_id, **body.model_dump()}
    return JobCreated(job_id=state.jobs.submit(params, kind="optimize").id)


@router.post(
    "/versions/{version_id}/profile",
    status_code=202,
    responses={429: {"description": "too many jobs waiting"}},
)
def profile_version(version_id: Id, body: ProfileCreate, request: Request) -> JobCreated:
    """Profile a model version in a background job (``assay models profile``): latency p50 / p95
    per batch size, throughput, size on disk and peak memory, stored with the version (its
    ``profiles``)."""
    from assay.service.profile import parse_batches

    state = request.app.state
    _runnable(state.workspace, version_id)
    if state.workspace.get_model_version(version_id).backend not in ("onnxruntime", "openvino"):
        # TorchScript is run in a sandboxed worker here; the profile times it in a process of
        # its own, outside that sandbox
        raise InputError(
            "the server profiles ONNX and OpenVINO models; profile this one with "
            "assay models profile"
        )
    batches = parse_batches(",".join(str(b) for b in body.batches))
    params = {"model_version_id": version_id, **body.model_dump(), "batches": list(batches)}
    return JobCreated(job_id=state.jobs.submit(params, kind="profile").id)


@router.get("/versions/{version_id}/against-parent")
def against_parent(version_id: Id, workspace: WorkspaceDep, device: str = "cpu") -> AgainstParent:
    """A child version beside its parent: how much faster (profiles on ``device``) and the
    accuracy difference with its 95 % interval (the paired comparison of their newest
    evaluations on one dataset version). 422 when it has no parent."""
    from assay.service.profile import against_parent as compute

    return AgainstParent.model_validate(compute(workspace, version_id, device=device[:40]))
