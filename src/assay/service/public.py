"""One public shape per entity, shared by the CLI's ``--json`` and the REST API: a dataset
version, a model version, a dataset or model with its versions. Plain dicts of JSON values; the
server validates them against its schemas (``server/schemas.py``), so the two cannot drift.

>>> dataset_version_public(ws, ws.get_dataset_version(1))["media"]  # doctest: +SKIP
'image'
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from typing import Any

from assay.store.datasets import dataset_kind
from assay.store.records import DatasetVersion, ModelVersion
from assay.store.workspace import Workspace


def dataset_version_public(
    ws: Workspace, version: DatasetVersion, evaluations: int = 0
) -> dict[str, Any]:
    """A dataset version: its record, what its samples are (``media``: "image", "text",
    "table" for labels and metadata only, None when registered without its samples), its
    classes and their number (None when not known), its number of ``evaluations`` and whether it
    is ``unlabeled`` (:mod:`assay.service.unlabeled`)."""
    from assay.service.unlabeled import is_unlabeled

    kind = dataset_kind(ws, version)  # reads the (cached) samples table
    rows = ws.samples_table(version.id).num_rows
    media = kind.media or ("table" if rows else None)
    return {
        **asdict(version),
        "media": media,
        "n_classes": None if kind.classes is None else len(kind.classes),
        "classes": None if kind.classes is None else list(kind.classes),
        "evaluations": evaluations,
        "unlabeled": is_unlabeled(ws, version.id),
    }


def datasets_public(ws: Workspace) -> list[dict[str, Any]]:
    """Every dataset with its versions, oldest first, each with its number of evaluations."""
    counts = ws.dataset_evaluation_counts()
    return [
        {
            **asdict(d),
            "versions": [
                dataset_version_public(ws, v, counts.get(v.id, 0))
                for v in ws.list_dataset_versions(d.id)
            ],
        }
        for d in ws.list_datasets()
    ]


def model_evaluations(ws: Workspace) -> dict[int, list[dict[str, Any]]]:
    """Each model version's evaluations, newest first, with their headline metric."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in ws.list_evaluations():
        if record.model_version is None:
            continue
        dv = record.dataset_version
        found[record.model_version.id].append(
            {
                "id": record.id,
                "name": record.name,
                "dataset_version_id": dv.id,
                "dataset_name": dv.dataset_name,
                "dataset_version": dv.version,
                "headline_metric": record.headline_metric,
                "headline_value": record.headline_value,
                "created_at": record.created_at,
            }
        )
    return found


def model_version_public(
    version: ModelVersion,
    labels: dict[int, str],
    evaluations: dict[int, list[dict[str, Any]]],
    profiles: dict[int, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """A model version: its record without the workspace's internal paths, its parent's label,
    what it takes (``media``, ``classes``, ``input_shape``; None for predictions only), its
    evaluations (:func:`model_evaluations`) and its profiles (``profiles``: by version id, as
    :meth:`~assay.store.Workspace.model_profiles` gives them). ``labels``: every version's label
    by id."""
    info = version.info or {}
    data = asdict(version)
    for internal in ("info", "artifact"):
        data.pop(internal, None)
    parent = version.parent_version_id
    return {
        **data,
        "parent_version": labels.get(parent) if parent is not None else None,
        "runnable": version.runnable,
        "media": info.get("media"),
        "classes": info.get("classes"),
        "input_shape": info.get("input_shape"),
        "evaluations": evaluations.get(version.id, []),
        "profiles": (profiles or {}).get(version.id, []),
    }


def models_public(ws: Workspace) -> list[dict[str, Any]]:
    """Every model with its versions, oldest first."""
    labels, evaluations = ws.model_version_labels(), model_evaluations(ws)
    profiles = ws.model_profiles()
    return [
        {
            **asdict(m),
            "versions": [
                model_version_public(v, labels, evaluations, profiles)
                for v in ws.list_model_versions(m.id)
            ],
        }
        for m in ws.list_models()
    ]
