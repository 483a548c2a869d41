from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request

from assay.server.deps import Id, WorkspaceDep
from assay.server.paths import confine
from assay.server.schemas import (
    DataRoots,
    DatasetCreate,
    DatasetCreated,
    DatasetsPublic,
    DatasetVersionsPublic,
)
from assay.service.public import dataset_version_public, datasets_public

router = APIRouter(prefix="/datasets", tags=["datasets"])


@router.get("")
def list_datasets(workspace: WorkspaceDep) -> DatasetsPublic:
    """Every dataset with its versions, each with its task and media (the Models page and the
    leakage picker offer only the versions a model or a set can take)."""
    return DatasetsPublic.model_validate({"items": datasets_public(workspace)})


@router.get("/roots")
def data_roots(request: Request) -> DataRoots:
    """The folders a path given to this server must lie under: the workspace and each
    ``--data-root``."""
    return DataRoots(roots=[str(root) for root in request.app.state.roots])


@router.post("", status_code=201)
def create_dataset(
    body: DatasetCreate, workspace: WorkspaceDep, request: Request
) -> DatasetCreated:
    """Register a ground truth on the server's disk (under the allowed roots) as
    ``assay datasets add`` does: read with the same readers (task inferred unless given; named
    after its folder or file unless ``name`` says otherwise), kept without evaluations. The same
    bytes give back the same version (``new`` false). A name held by a dataset of another task,
    media or class set is refused in one line (422) when given, else another is taken (a note).
    ``unlabeled`` (or a source without labels: a flat image folder, a table without a label
    column, COCO images without annotations) registers it without labels
    (:mod:`assay.service.unlabeled`)."""
    from assay.store.datasets import register_dataset

    state = request.app.state
    source: Path = confine(body.path, state.roots, state.config.limits, field="path")
    images = (
        None
        if body.images is None
        else confine(body.images, state.roots, state.config.limits, field="images")
    )
    from assay.formats.unlabeled import looks_unlabeled

    if body.unlabeled or (body.task in (None, "classification") and looks_unlabeled(source)):
        from assay.errors import InputError
        from assay.service.unlabeled import register_unlabeled

        if images is not None:
            raise InputError("images applies to detection sets with labels")
        version, new = register_unlabeled(workspace, source, name=body.name)
        notes: list[str] = []
    else:
        version, new, notes = register_dataset(
            workspace, source, name=body.name, task=body.task, images_root=images
        )
    return DatasetCreated.model_validate(
        {**dataset_version_public(workspace, version), "new": new, "notes": notes}
    )


@router.get("/{dataset_id}/versions")
def list_dataset_versions(dataset_id: Id, workspace: WorkspaceDep) -> DatasetVersionsPublic:
    """The versions of a dataset, oldest first."""
    versions = workspace.list_dataset_versions(dataset_id)
    counts = workspace.dataset_evaluation_counts()
    return DatasetVersionsPublic.model_validate(
        {"items": [dataset_version_public(workspace, v, counts.get(v.id, 0)) for v in versions]}
    )
