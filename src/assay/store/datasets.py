"""Registering datasets from their files, and the names datasets and models are stored under.

``assay datasets add`` and ``assay evaluate --gt`` read a ground truth with the same readers
(:func:`read_dataset`). A dataset version is known by its name and the hash of its files; what it
*is* (:class:`Kind`: task, media and class set) is read back from its samples table (the class set
of a detection set is kept in the table's metadata).

Names (:func:`dataset_name`, :func:`model_name`): a new version under an existing name must be
of the same kind. Given explicitly, another kind is refused in one line
(:class:`~assay.errors.InputError`, nothing stored); a default name is moved to the first free
``name-2``, ``name-3``... with a note. The default dataset name is the file's stem, or for a generic
stem (``gt``, ``ground_truth``, ``labels``, ``annotations``...) its folder's name; a folder's is its
own name. A file already registered keeps the name it was registered under.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from assay.errors import InputError
from assay.store.artifacts import hash_path
from assay.store.records import DatasetVersion
from assay.store.workspace import Workspace

__all__ = [
    "DatasetRead",
    "Kind",
    "dataset_kind",
    "dataset_name",
    "default_dataset_name",
    "default_model_name",
    "model_name",
    "read_dataset",
    "register_dataset",
    "with_classes",
]

CLASSES_KEY = b"assay.classes"

GENERIC_STEMS = {
    "gt",
    "ground_truth",
    "ground-truth",
    "groundtruth",
    "truth",
    "label",
    "labels",
    "annotation",
    "annotations",
    "targets",
    "data",
    "dataset",
    "data.yaml",
}
"""File stems that name no dataset: the folder's name is used instead."""

GENERIC_MODEL_STEMS = {
    "pred",
    "preds",
    "prediction",
    "predictions",
    "detections",
    "results",
    "scores",
    "output",
    "outputs",
}
"""Predictions-file stems that name no model: the folder's name is used instead."""


def _named(path: Path, generic: set[str]) -> str:
    path = Path(path)
    if path.is_dir():
        return path.resolve().name or "dataset"
    stem = path.stem
    if stem.lower() in generic or path.name.lower() in generic:
        parent = path.resolve().parent.name
        if parent:
            return parent
    return stem


def default_dataset_name(path: Path) -> str:
    """A folder's name; a file's stem, or its folder's name for a generic stem.

    >>> default_dataset_name(Path("/data/pets/gt.csv")), default_dataset_name(Path("/d/val.csv"))
    ('pets', 'val')
    """
    return _named(path, GENERIC_STEMS)


def default_model_name(path: Path) -> str:
    """A predictions file's stem, or its folder's name for a generic stem (``predictions``).

    >>> default_model_name(Path("/runs/resnet50/predictions.csv"))
    'resnet50'
    """
    return _named(path, GENERIC_MODEL_STEMS)


@dataclass(frozen=True)
class Kind:
    """What a dataset (or a model's predictions) is: task, media ("image", "text" or None:
    unknown) and class set (None: unknown). Unknowns agree with anything."""

    task: str
    media: str | None = None
    classes: tuple[str, ...] | None = None

    def differs(self, other: Kind) -> str | None:
        """Why ``other`` is of another kind, in words, or None when it agrees."""
        if _family(self.task) != _family(other.task):
            return f"it is {_a(self.task)} dataset, this is {_a(other.task)} one"
        if self.media and other.media and self.media != other.media:
            return f"it holds {self.media}s, this holds {other.media}s"
        if self.classes is not None and other.classes is not None:
            mine, theirs = set(self.classes), set(other.classes)
            if mine != theirs:
                new = sorted(theirs - mine)
                gone = sorted(mine - theirs)
                parts = []
                if new:
                    parts.append(f"adds {_names(new)}")
                if gone:
                    parts.append(f"lacks {_names(gone)}")
                return (
                    f"its class set ({len(mine)} classes) differs: this one {' and '.join(parts)}"
                )
        return None

    def describe(self) -> str:
        n = "?" if self.classes is None else str(len(self.classes))
        return f"{self.task}, {self.media or 'no media'}, {n} classes"


def _family(task: str) -> str:
    return "classification" if task in ("classification", "multilabel") else task


def _a(task: str) -> str:
    word = {"multilabel": "multi-label"}.get(task, task)
    return f"a {word}"


def _names(names: list[str], shown: int = 3) -> str:
    quoted = ", ".join(f"'{n}'" for n in names[:shown])
    return quoted + (f" and {len(names) - shown} more" if len(names) > shown else "")


def with_classes(samples: pa.Table, classes: list[str]) -> pa.Table:
    """The samples table carrying its class set in its metadata."""
    meta = dict(samples.schema.metadata or {})
    meta[CLASSES_KEY] = json.dumps(list(classes)).encode()
    return samples.replace_schema_metadata(meta)


def kind_of_samples(samples: pa.Table, task: str) -> Kind:
    """The kind of a samples table: media from its ``path`` / ``text`` columns, classes from
    its metadata, else its ``label`` / ``labels`` column."""
    media = None
    names = samples.column_names
    if "path" in names and samples.column("path").null_count < samples.num_rows:
        media = "image"
    elif "text" in names:
        media = "text"
    classes: tuple[str, ...] | None = None
    stored = (samples.schema.metadata or {}).get(CLASSES_KEY)
    if stored:
        classes = tuple(json.loads(stored))
    elif "label" in names:
        classes = tuple(sorted({str(v) for v in samples.column("label").to_pylist() if v}))
    elif "labels" in names:
        values = samples.column("labels").to_pylist()
        classes = tuple(sorted({str(x) for v in values for x in (v or [])}))
    return Kind(task, media, classes)


def dataset_kind(ws: Workspace, version: DatasetVersion) -> Kind:
    """The kind of a stored dataset version."""
    samples = ws.samples_table(version.id)
    if samples.num_rows == 0:  # registered without samples: only its task is known
        return Kind(version.task)
    return kind_of_samples(samples, version.task)


@dataclass
class DatasetRead:
    """A ground truth read as a dataset version: what the workspace keeps of it."""

    source: Path
    task: str
    samples: pa.Table
    media_root: Path | None
    classes: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def kind(self) -> Kind:
        return kind_of_samples(self.samples, self.task)


def read_dataset(
    path: Path,
    *,
    task: str | None = None,
    images_root: Path | None = None,
    allow_outside: bool = False,
) -> DatasetRead:
    """Read a ground truth as ``assay evaluate --gt`` does: a CSV / JSONL / Parquet table or an
    ImageFolder (classification, multi-label), COCO / YOLO / VOC (detection)."""
    from assay.evaluation.run import infer_task
    from assay.evaluation.vocabulary import TASKS

    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", file=str(path))
    if task is not None and task not in TASKS:
        raise InputError(f"unknown task '{task}' (choose one of {', '.join(TASKS)})")
    given = task
    if task is None:
        task = infer_task(path)
    if task == "detection":
        return _read_detection(path, images_root, allow_outside)
    from assay.formats.tables import read_ground_truth

    gt = read_ground_truth(path, allow_outside=allow_outside)
    if given == "classification" and gt.multilabel:  # inferred: the labels column decides
        raise InputError(
            "has a 'labels' column (multi-label) but the task is classification", file=str(path)
        )
    task = "multilabel" if gt.multilabel or task == "multilabel" else "classification"
    classes = gt.classes
    return DatasetRead(
        source=gt.source,
        task=task,
        samples=with_classes(gt.samples_table(), classes),
        media_root=gt.media_root if gt.paths is not None else None,
        classes=classes,
        notes=list(gt.warnings),
    )


def _read_detection(path: Path, images_root: Path | None, allow_outside: bool) -> DatasetRead:
    from assay.formats.detection import locate_images, read_detection_gt

    if images_root is not None and not Path(images_root).is_dir():
        raise InputError("no such folder (--images)", file=str(images_root))
    gt = read_detection_gt(path, images_root=images_root, allow_outside=allow_outside)
    files = locate_images(gt, allow_outside=allow_outside)
    samples = pa.table(
        {
            "id": pa.array([str(i) for i in gt.image_ids.tolist()], pa.string()),
            "file_name": pa.array(list(gt.file_names), pa.string()),
            "path": pa.array([None if p is None else str(p) for p in files.paths], pa.string()),
            "width": pa.array(gt.widths.tolist(), pa.int64()),
            "height": pa.array(gt.heights.tolist(), pa.int64()),
        }
    )
    notes = list(gt.warnings)
    if files.note() is not None:
        notes.append(str(files.note()))
    return DatasetRead(
        source=path.resolve(),
        task="detection",
        samples=with_classes(samples, list(gt.classes)),
        media_root=files.media_root if files.found else None,
        classes=list(gt.classes),
        notes=notes,
    )


def _versions_named(ws: Workspace, name: str) -> list[DatasetVersion]:
    row = ws.catalog.query_one("SELECT id FROM datasets WHERE name = ?", (name,))
    return [] if row is None else ws.list_dataset_versions(int(row[0]))


def _registered_as(ws: Workspace, digest: str, kind: Kind) -> str | None:
    """The name of a dataset holding a version of these bytes and this kind, if any."""
    rows = ws.catalog.query(
        "SELECT d.name, dv.id FROM dataset_versions dv JOIN datasets d ON d.id = dv.dataset_id "
        "WHERE dv.hash = ? ORDER BY dv.id",
        (digest,),
    )
    for name, version_id in rows:
        if dataset_kind(ws, ws.get_dataset_version(version_id)).differs(kind) is None:
            return str(name)
    return None


def dataset_name(
    ws: Workspace, name: str | None, default: str, kind: Kind, digest: str | None = None
) -> tuple[str, str | None]:
    """The name to store a dataset version of ``kind`` under, and a note when it is not the one
    asked for. ``name`` given: refused (:class:`InputError`) when its newest version is of
    another kind. None: the name these bytes (``digest``) are registered under, else ``default``,
    else the first free ``default-2``, ``default-3``..."""
    if name is not None:
        versions = _versions_named(ws, name)
        if versions:
            why = dataset_kind(ws, versions[-1]).differs(kind)
            if why is not None:
                raise InputError(
                    f"dataset '{name}' exists and {why}; give another --name (nothing stored)"
                )
        return name, None
    if digest is not None:
        found = _registered_as(ws, digest, kind)
        if found is not None:
            return found, None

    def differs(name: str) -> str | None:
        versions = _versions_named(ws, name)
        return dataset_kind(ws, versions[-1]).differs(kind) if versions else None

    return _free_name(default, differs, "dataset")


def register_dataset(
    ws: Workspace,
    path: Path,
    *,
    name: str | None = None,
    task: str | None = None,
    images_root: Path | None = None,
    allow_outside: bool = False,
) -> tuple[DatasetVersion, bool, list[str]]:
    """Read and register a ground truth as a dataset version kept without evaluations: (the
    version, whether it is new, notes to print). Bad input or a refused name stores nothing;
    nothing of the workspace's own (its home, catalog or folders: :meth:`Workspace.owns`) is
    even read."""
    ws.refuse_own(path, "dataset")
    ws.refuse_own(images_root, "images")
    read = read_dataset(path, task=task, images_root=images_root, allow_outside=allow_outside)
    digest = hash_path(read.source)
    chosen, note = dataset_name(
        ws, name, default_dataset_name(Path(path)), read.kind, digest=digest
    )
    before = ws.catalog.query_one("SELECT COALESCE(MAX(id), 0) FROM dataset_versions")
    version = ws.add_dataset_version(
        chosen,
        task=read.task,
        source=read.source,
        samples=read.samples,
        media_root=read.media_root,
    )
    new = version.id > int(before[0] if before else 0)
    return version, new, [*read.notes, *([note] if note else [])]


# ------------------------------------------------------------------ models


def model_kind(ws: Workspace, model: str) -> Kind | None:
    """The kind of a model's newest version that says what it is (task and classes), or None."""
    row = ws.catalog.query_one(
        "SELECT mv.task, mv.info FROM model_versions mv JOIN models m ON m.id = mv.model_id "
        "WHERE m.name = ? AND mv.task IS NOT NULL ORDER BY mv.id DESC LIMIT 1",
        (model,),
    )
    if row is None:
        return None
    info: dict[str, Any] = json.loads(row[1]) if row[1] else {}
    classes = info.get("classes")
    return Kind(
        str(row[0]), info.get("media"), None if classes is None else tuple(map(str, classes))
    )


def model_name(ws: Workspace, name: str | None, default: str, kind: Kind) -> tuple[str, str | None]:
    """As :func:`dataset_name` for a model version made from predictions (``--model-name``)."""
    if name is not None:
        found = model_kind(ws, name)
        why = None if found is None else _model_differs(found, kind)
        if why is not None:
            raise InputError(
                f"model '{name}' exists and {why}; give another --model-name (nothing stored)"
            )
        return name, None

    def differs(name: str) -> str | None:
        found = model_kind(ws, name)
        return None if found is None else _model_differs(found, kind)

    return _free_name(default, differs, "model")


def _free_name(
    default: str, differs: Callable[[str], str | None], noun: str
) -> tuple[str, str | None]:
    """``default``, or the first of ``default-2``, ``default-3``, ... whose stored kind does not
    differ from the new one, with the note that says why the name moved."""
    candidate, n, first_why = default, 1, None
    while (why := differs(candidate)) is not None:
        first_why = first_why or why
        n += 1
        candidate = f"{default}-{n}"
    if candidate == default:
        return candidate, None
    return candidate, f"{noun} '{default}' exists and {first_why}: stored as '{candidate}'"


def _model_differs(stored: Kind, new: Kind) -> str | None:
    why = stored.differs(new)
    return None if why is None else why.replace("dataset", "model")
