"""Registering dataset and model versions inside a catalog transaction, and the renames that go
with it.

Files are written (and fsynced) before the transaction; inside it they are renamed into place
(:class:`Staging`), and the renames are undone if the transaction does not commit. So what one
call registers (a run: dataset version + model version + evaluation) is all there or none of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import InputError, NotFoundError
from assay.evaluation.results import OperatingPoint, Results
from assay.formats.remote import url_of
from assay.store._util import (
    attach_media_column,
    common_folder,
    inside,
    json_safe,
    normalise_samples,
    stored_task,
)
from assay.store.artifacts import fsync_dir, hash_path, remove_tree
from assay.store.catalog import now_iso

if TYPE_CHECKING:  # numpy and pyarrow load where they are used: `assay list` uses neither
    import numpy as np
    import pyarrow as pa

BACKUP_PREFIX = ".bak-"


class Staging:
    """Renames done inside a transaction, undone when it fails.

    >>> # with catalog.write() as conn: staging.move(tmp, target); ...
    >>> # on error: staging.undo(); after COMMIT: staging.finish()
    """

    def __init__(self) -> None:
        self._moved: list[tuple[Path, Path | None]] = []  # (target, backup of what it replaced)
        self.replaced_samples: list[int] = []  # dataset versions whose samples table changed

    def move(self, source: Path, target: Path) -> None:
        """Rename a folder into place (a folder left there by a crash is removed first)."""
        if target.exists():
            remove_tree(target)
        source.rename(target)
        self._moved.append((target, None))
        fsync_dir(target.parent)

    def replace(self, source: Path, target: Path) -> None:
        """Replace a file, keeping the old one aside until :meth:`finish`."""
        backup = target.with_name(f"{BACKUP_PREFIX}{uuid.uuid4().hex}-{target.name}")
        try:
            os.link(target, backup)
        except OSError:  # a file system without hard links
            shutil.copy2(target, backup)
        self._moved.append((target, backup))
        os.replace(source, target)
        fsync_dir(target.parent)

    def undo(self) -> None:
        """Put everything back as it was (best effort: this runs while an error propagates)."""
        for target, backup in reversed(self._moved):
            try:
                if backup is None:
                    remove_tree(target)
                else:
                    os.replace(backup, target)
            except OSError:
                pass
        self._moved.clear()

    def finish(self) -> None:
        """Drop the backups once the transaction has committed."""
        for _, backup in self._moved:
            if backup is not None:
                backup.unlink(missing_ok=True)
        self._moved.clear()


def prepare_evaluation(
    results: Results, task: str | None, name: str, params: dict[str, Any] | None
) -> tuple[dict[str, np.ndarray], dict[str, Any], tuple[Any, ...]]:
    """The arrays, the artifact document and the catalog row (less its id and versions)."""
    task = stored_task(results, task)
    # the operating point every surface starts from: the results' own, where the params name
    # one field of it (threshold, iou, score) that field; kept in the params and the results
    params = dict(params or {})
    fields = {k: params[k] for k in ("threshold", "iou", "score") if params.get(k) is not None}
    results.set_default_point(OperatingPoint(**fields))
    params.update(results.default_point())
    arrays, meta = results.arrays()
    headline: dict[str, Any] = json_safe(results.headline())
    document = {"task": task, "name": name, "results": json_safe(meta)}
    row = (
        name,
        task,
        "done",
        json.dumps(json_safe(params)),
        json.dumps(json_safe(results.summary())),
        headline.get("metric"),
        headline.get("value"),
        int(results.n_samples),
        int(results.n_classes),
    )
    return arrays, document, row


@dataclass(frozen=True)
class DatasetContent:
    """What a dataset version is made of, computed before the transaction."""

    name: str
    task: str
    digest: str
    source: str | None
    samples: pa.Table | None
    media_root: str | None


def media_root_of(samples: pa.Table | None, given: str | Path | None) -> str | None:
    """The folder every media path of ``samples`` must lie in: ``given`` (resolved) when named,
    else the folder holding them all; None when there is no media path.

    A path outside ``given`` is an :class:`InputError` (the readers refuse such paths first;
    this guards callers of the Python API)."""
    paths = []
    if samples is not None and "path" in samples.column_names:
        paths = [p for p in samples.column("path").to_pylist() if p]
    if not paths:
        return None
    if given is None:
        return common_folder(paths)
    root = str(Path(given).resolve())
    for i, p in enumerate(samples.column("path").to_pylist() if samples is not None else []):
        if p and not inside(p, root):
            raise InputError(
                f"media path lies outside the dataset's folder {root}", where=f"row {i + 1}"
            )
    return root


def dataset_content(
    name: str,
    task: str,
    source: Path | str | None,
    samples: pa.Table | None,
    media_root: Path | str | None,
) -> DatasetContent:
    """A dataset version's content: its hash, normalised samples and media root."""
    if source is not None:
        source = Path(source).resolve()
        if not source.exists():
            raise InputError("does not exist", file=str(source))
        digest = hash_path(source)
    elif samples is not None:
        import pyarrow as pa

        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, samples.schema) as writer:
            writer.write_table(samples)
        digest = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
    else:
        raise InputError("a dataset version needs a source path or a samples table")
    samples = normalise_samples(samples) if samples is not None else None
    root = media_root_of(samples, media_root)
    # a ground truth fetched from object storage is recorded by its URL (never credentials)
    shown = (url_of(source) or str(source)) if source else None
    return DatasetContent(name, task, digest, shown, samples, root)


def next_label(conn: sqlite3.Connection, table: str, owner: str, owner_id: int) -> str:
    """``v<N+1>`` for the highest ``vN`` of an owner (numbers are never given twice, even after
    a version was removed)."""
    labels = conn.execute(f"SELECT version FROM {table} WHERE {owner} = ?", (owner_id,)).fetchall()
    numbers = [int(m.group(1)) for (v,) in labels if (m := re.fullmatch(r"v(\d+)", v))]
    return f"v{max(numbers, default=len(labels)) + 1}"


def upsert_dataset_version(
    conn: sqlite3.Connection, content: DatasetContent, *, kept: bool, folder: Path | None
) -> tuple[int, bool]:
    """The id of the version with this content (inserted if new) and whether it is new.

    ``kept`` marks a version registered on purpose (it stays without evaluations); registering
    an existing version on purpose marks it so too. ``folder`` holds the version's samples (a
    temporary folder) and is the caller's to rename when the version is new."""
    row = conn.execute("SELECT id FROM datasets WHERE name = ?", (content.name,)).fetchone()
    if row is None:
        cur = conn.execute(
            "INSERT INTO datasets (name, task, created_at) VALUES (?, ?, ?)",
            (content.name, content.task, now_iso()),
        )
        dataset_id = int(cur.lastrowid or 0)
    else:
        dataset_id = row[0]
    found = conn.execute(
        "SELECT id FROM dataset_versions WHERE dataset_id = ? AND hash = ?",
        (dataset_id, content.digest),
    ).fetchone()
    if found is not None:
        if kept:
            conn.execute("UPDATE dataset_versions SET kept = 1 WHERE id = ?", (found[0],))
        return int(found[0]), False
    cur = conn.execute(
        "INSERT INTO dataset_versions (dataset_id, version, hash, source, n_samples, created_at,"
        " media_root, kept) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            dataset_id,
            next_label(conn, "dataset_versions", "dataset_id", dataset_id),
            content.digest,
            content.source,
            content.samples.num_rows if content.samples is not None else 0,
            now_iso(),
            content.media_root,
            int(kept),
        ),
    )
    return int(cur.lastrowid or 0), True


def attach_media(
    conn: sqlite3.Connection, staging: Staging, version_id: int, path: Path, content: DatasetContent
) -> bool:
    """Give a stored version the media paths ``content`` has where it has none (see
    :func:`~assay.store._util.attach_media_column`), widening its media root to hold them; the new
    table is written beside the stored one and swapped in through ``staging``. Whether it did."""
    if content.samples is None:
        return False
    import pyarrow.parquet as pq

    try:
        stored = pq.read_table(path)
    except FileNotFoundError:
        return False
    merged = attach_media_column(stored, content.samples)
    if merged is None:
        return False
    old_root = conn.execute(
        "SELECT media_root FROM dataset_versions WHERE id = ?", (version_id,)
    ).fetchone()[0]
    had_media = "path" in stored.column_names and any(stored.column("path").to_pylist())
    roots = [r for r in (old_root if had_media else None, content.media_root) if r]
    if not roots:
        root = media_root_of(merged, None)
    else:
        root = os.path.commonpath(roots) if len(roots) > 1 else roots[0]
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    try:
        pq.write_table(merged, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        staging.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    conn.execute("UPDATE dataset_versions SET media_root = ? WHERE id = ?", (root, version_id))
    return True


@dataclass(frozen=True)
class ModelContent:
    """What a model version is, computed before the transaction."""

    name: str
    parent_version_id: int | None
    digest: str | None
    path: str | None
    version: str | None


def model_content(
    name: str, parent_version_id: int | None, path: Path | str | None, version: str | None
) -> ModelContent:
    """A model version's content: its file's hash (if a file is named)."""
    digest = None
    if path is not None:
        path = Path(path).resolve()
        if not path.exists():
            raise InputError("does not exist", file=str(path))
        digest = hash_path(path)
    return ModelContent(
        name, parent_version_id, digest, str(path) if path is not None else None, version
    )


def upsert_model_version(conn: sqlite3.Connection, content: ModelContent, *, kept: bool) -> int:
    """The id of the model version (inserted if new). An unknown parent is a
    :class:`NotFoundError` (the caller's transaction is then rolled back)."""
    if content.parent_version_id is not None:
        parent = conn.execute(
            "SELECT id FROM model_versions WHERE id = ?", (content.parent_version_id,)
        ).fetchone()
        if parent is None:
            raise NotFoundError(f"model version {content.parent_version_id} not found (--parent)")
    row = conn.execute("SELECT id FROM models WHERE name = ?", (content.name,)).fetchone()
    if row is None:
        cur = conn.execute(
            "INSERT INTO models (name, created_at) VALUES (?, ?)", (content.name, now_iso())
        )
        model_id = int(cur.lastrowid or 0)
    else:
        model_id = row[0]
    found: Any = None
    if content.version is not None:
        found = conn.execute(
            "SELECT id FROM model_versions WHERE model_id = ? AND version = ?",
            (model_id, content.version),
        ).fetchone()
    elif content.digest is not None:
        found = conn.execute(
            "SELECT id FROM model_versions WHERE model_id = ? AND hash = ?",
            (model_id, content.digest),
        ).fetchone()
    if found is not None:
        if kept:
            conn.execute("UPDATE model_versions SET kept = 1 WHERE id = ?", (found[0],))
        return int(found[0])
    cur = conn.execute(
        "INSERT INTO model_versions (model_id, version, parent_version_id, hash, path,"
        " created_at, kept) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            model_id,
            content.version or next_label(conn, "model_versions", "model_id", model_id),
            content.parent_version_id,
            content.digest,
            content.path,
            now_iso(),
            int(kept),
        ),
    )
    return int(cur.lastrowid or 0)


# what a run left behind when it died between registering its versions and its evaluation
# (before schema 2, when those were three transactions), or what lost its last evaluation
ORPHAN_DATASET_VERSIONS = (
    "SELECT id FROM dataset_versions WHERE kept = 0"
    " AND id NOT IN (SELECT dataset_version_id FROM evaluations)"
)
ORPHAN_MODEL_VERSIONS = (
    "SELECT id FROM model_versions WHERE kept = 0"
    " AND id NOT IN (SELECT model_version_id FROM evaluations WHERE model_version_id IS NOT NULL)"
    " AND id NOT IN (SELECT parent_version_id FROM model_versions"
    " WHERE parent_version_id IS NOT NULL)"
)


def collect_orphans(conn: sqlite3.Connection) -> tuple[list[int], list[int]]:
    """Delete versions registered by a run that no evaluation refers to (and datasets / models
    left without versions by that); the ids of the dataset and model versions deleted."""
    datasets = [r[0] for r in conn.execute(ORPHAN_DATASET_VERSIONS)]
    models = [r[0] for r in conn.execute(ORPHAN_MODEL_VERSIONS)]
    for table, ids in (("dataset_versions", datasets), ("model_versions", models)):
        for version_id in ids:
            conn.execute(f"DELETE FROM {table} WHERE id = ?", (version_id,))
    if datasets:
        conn.execute(
            "DELETE FROM datasets WHERE id NOT IN (SELECT dataset_id FROM dataset_versions)"
        )
    if models:
        conn.execute("DELETE FROM models WHERE id NOT IN (SELECT model_id FROM model_versions)")
    return datasets, models
