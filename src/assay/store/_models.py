"""Runnable model versions: a copy of the model's files under ``<home>/models/<version_id>/``, its
task, backend, description and preprocessing spec in the catalog.

Layout of a stored copy: ``model/<name>`` (the model file, an OpenVINO IR's ``.xml`` and ``.bin``,
an ONNX model's external data files or a Hugging Face folder, under their names in the model's
folder), ``labels/<name>`` (the labels file the spec names) and ``tokenizer/`` (a tokenizer folder
the spec names outside the model). The stored spec names those by their paths inside the copy;
``info["model_file"]`` is the model's. A copy is whole and private: folders 0700, files 0600.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay import settings
from assay.errors import InputError, NotFoundError
from assay.formats.remote import fetch_model, is_url
from assay.store._base import WorkspaceBase
from assay.store._register import model_content, next_label, upsert_model_version
from assay.store._util import json_safe, storage_guard
from assay.store.artifacts import TempArtifactDir, fsync_dir, hash_path
from assay.store.catalog import MV_COLUMNS, MV_FROM, Catalog, model_version_from_row, now_iso
from assay.store.records import ModelRecord, ModelVersion

if TYPE_CHECKING:  # the runners (onnxruntime, PIL) load where a model is added or run
    from assay.runners import Runner
    from assay.runners.sandbox import SandboxLimits
    from assay.runners.spec import PreprocessSpec

MODEL_DIR = "model"
LABELS_DIR = "labels"
TOKENIZER_DIR = "tokenizer"


@dataclass(frozen=True)
class ModelFiles:
    """What a stored copy is made of: (source, path inside the copy) pairs and the model's entry."""

    copies: tuple[tuple[Path, str], ...]
    entry: str


def model_sources(path: Path) -> list[tuple[Path, str]]:
    """The files or folder a model at ``path`` is made of, with their names in its folder (an
    OpenVINO IR: its .xml and .bin; an ONNX model: its external data files too), each checked to
    lie inside the model's folder."""
    from assay.runners.files import model_files

    return model_files(path)


def tree_bytes(path: Path) -> int:
    """The bytes of a file, or of every file under a folder."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def plan_files(source: Path, spec: PreprocessSpec) -> ModelFiles:
    """Which files a stored copy holds, checked against :data:`settings.MAX_MODEL_BYTES`."""
    named = model_sources(source)
    sources = [p for p, _ in named]
    copies = [(p, f"{MODEL_DIR}/{name}") for p, name in named]
    entry = f"{MODEL_DIR}/{named[0][1]}"
    if spec.labels_file:
        labels = Path(spec.labels_file).expanduser().resolve()
        if not labels.is_file():
            raise InputError("no such labels file", file=str(spec.labels_file))
        copies.append((labels, f"{LABELS_DIR}/{labels.name}"))
    if spec.tokenizer:
        tokenizer = Path(spec.tokenizer).expanduser().resolve()
        if not tokenizer.is_dir():
            raise InputError("no such tokenizer folder", file=str(spec.tokenizer))
        if not any(tokenizer == p or tokenizer.is_relative_to(p) for p in sources):
            copies.append((tokenizer, TOKENIZER_DIR))
    total = sum(tree_bytes(p) for p, _ in copies)
    if total > settings.MAX_MODEL_BYTES:
        raise InputError(
            f"the model is {total / 2**20:.0f} MiB, over the workspace's limit of "
            f"{settings.MAX_MODEL_BYTES / 2**20:.0f} MiB (assay.settings.MAX_MODEL_BYTES)",
            file=str(source),
        )
    return ModelFiles(tuple(copies), entry)


def stored_spec(runner: Runner, files: ModelFiles) -> dict[str, Any]:
    """The spec a stored copy runs with: the runner's own (filled from the model: size, layout,
    dtype), its classes fixed, its labels file and tokenizer named inside the copy."""
    from assay.runners.spec import spec_to_mapping

    spec = runner.spec
    classes = runner.describe().classes
    changes: dict[str, Any] = {}
    if classes is not None:
        changes["classes"] = tuple(classes)
    for _source, inside in files.copies:
        if spec.labels_file and inside.startswith(f"{LABELS_DIR}/"):
            changes["labels_file"] = inside
        if spec.tokenizer and inside == TOKENIZER_DIR:
            changes["tokenizer"] = TOKENIZER_DIR
    if spec.tokenizer and "tokenizer" not in changes:  # inside the model folder
        tokenizer = Path(spec.tokenizer).resolve()
        for source, inside in files.copies:
            if tokenizer == source or tokenizer.is_relative_to(source):
                changes["tokenizer"] = f"{inside}/{tokenizer.relative_to(source).as_posix()}"
                changes["tokenizer"] = changes["tokenizer"].rstrip("/.") or inside
    mapping = spec_to_mapping(spec)
    mapping.update({k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()})
    return mapping


def model_digest(files: ModelFiles, spec: dict[str, Any]) -> str:
    """sha256 over the copy's files (by their paths inside it) and the stored spec: the same
    bytes with the same spec are the same version."""
    digest = hashlib.sha256()
    for source, inside in files.copies:
        digest.update(f"{inside}\0{hash_path(source)}\0".encode())
    digest.update(json.dumps(spec, sort_keys=True).encode())
    return digest.hexdigest()


def _private_dirs(folder: Path, target: Path) -> None:
    """``target``'s parent and every folder between it and ``folder``, made 0700."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    here = target.parent
    while here != folder and here.is_relative_to(folder):
        os.chmod(here, 0o700)
        here = here.parent


def copy_files(files: ModelFiles, folder: Path) -> None:
    """Copy the model's files into ``folder`` whole (links followed), private to this user (folders
    0700, files 0600), each file fsynced."""
    os.chmod(folder, 0o700)
    for source, inside in files.copies:
        target = folder / inside
        _private_dirs(folder, target)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=False, copy_function=shutil.copyfile)
            written = [p for p in target.rglob("*") if p.is_file()]
            for sub in [target, *(p for p in target.rglob("*") if p.is_dir())]:
                os.chmod(sub, 0o700)
        else:
            shutil.copyfile(source, target)
            written = [target]
        for path in written:
            os.chmod(path, 0o600)
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        fsync_dir(target.parent)


class ModelsMixin(WorkspaceBase):
    """Model versions of a :class:`~assay.store.workspace.Workspace`: registered on purpose or by
    a run, runnable ones with their stored copy."""

    @storage_guard
    def add_model_version(
        self,
        name: str,
        *,
        parent_version_id: int | None = None,
        path: Path | str | None = None,
        version: str | None = None,
    ) -> ModelVersion:
        """Register a model version on purpose (``v1``, ``v2``... unless ``version`` names it).

        A file already registered for this model (same hash) or an existing label gives that version
        back. ``parent_version_id`` links e.g. an INT8 model to its FP32 parent.
        """
        self.refuse_own(path, "model")
        content = model_content(name, parent_version_id, path, version)
        with self.catalog.write() as conn:
            version_id = upsert_model_version(conn, content, kept=True)
        return self.get_model_version(version_id)

    def list_models(self) -> list[ModelRecord]:
        rows = self.catalog.query(
            "SELECT m.id, m.name, m.created_at, COUNT(mv.id) FROM models m "
            "LEFT JOIN model_versions mv ON mv.model_id = m.id GROUP BY m.id ORDER BY m.id"
        )
        return [ModelRecord(*row) for row in rows]

    def get_model(self, model_id: int) -> ModelRecord:
        for record in self.list_models():
            if record.id == model_id:
                return record
        raise NotFoundError(f"model {model_id} not found")

    def list_model_versions(self, model_id: int) -> list[ModelVersion]:
        self.get_model(model_id)
        rows = self.catalog.query(
            f"SELECT {MV_COLUMNS} FROM {MV_FROM} WHERE mv.model_id = ? ORDER BY mv.id", (model_id,)
        )
        return [v for v in map(model_version_from_row, rows) if v is not None]

    def get_model_version(self, version_id: int) -> ModelVersion:
        row = self.catalog.query_one(
            f"SELECT {MV_COLUMNS} FROM {MV_FROM} WHERE mv.id = ?", (version_id,)
        )
        record = model_version_from_row(row) if row else None
        if record is None:
            raise NotFoundError(f"model version {version_id} not found")
        return record

    @storage_guard
    def add_model(
        self,
        path: Path | str,
        *,
        name: str,
        version: str | None = None,
        parent_version_id: int | None = None,
        spec: PreprocessSpec | None = None,
        overrides: dict[str, Any] | None = None,
        sandbox: SandboxLimits | None = None,
        origin: str | None = None,
    ) -> ModelVersion:
        """Register a model that Assay can run: loaded first (a bad model or spec fails before
        anything is stored), then its files copied to ``models/<version_id>/`` and its task,
        backend, description and spec recorded, all in one transaction.

        ``spec`` / ``overrides`` as :func:`~assay.runners.load_runner` takes them (default: the
        spec file next to the model). The same files with the same spec under the same name give
        that version back; a ``version`` label already used for other content is an
        :class:`InputError`; an unknown ``parent_version_id`` a :class:`NotFoundError`.
        With ``sandbox`` (the server) the model is loaded and checked in a sandboxed worker
        (:mod:`assay.runners.sandbox`), which is stopped again before this returns.
        ``origin``: what the version's ``path`` says where the files are a passing copy (a
        child made by ``assay models optimize`` in a temporary folder says how it was made).
        """
        name = (name or "").strip()
        if not name:
            raise InputError("a model needs a name")
        if version is not None and not version.strip():
            raise InputError("an empty version label")
        # a URL (object storage): fetched into the cache with the spec and labels beside it
        source = fetch_model(str(path)) if is_url(path) else Path(path).expanduser()
        self.refuse_own(source, "model")  # never the workspace's own files (nothing read)
        if not source.exists():
            raise InputError("no such model file or folder", file=str(source))
        if parent_version_id is not None:
            try:
                self.get_model_version(parent_version_id)
            except NotFoundError:
                raise NotFoundError(
                    f"model version {parent_version_id} not found (--parent)"
                ) from None
        from assay.runners import load_runner
        from assay.runners.sandbox import SandboxedRunner

        runner: Runner
        if sandbox is not None:
            with SandboxedRunner(source, spec, limits=sandbox, **(overrides or {})) as runner:
                pass  # loaded and described in its worker; the worker is stopped here
        else:
            runner = load_runner(source, spec, **(overrides or {}))
        files = plan_files(source, runner.spec)
        mapping = stored_spec(runner, files)
        digest = model_digest(files, mapping)
        info = json_safe(
            {**runner.describe().as_dict(), "spec": mapping, "model_file": files.entry}
        )
        where = origin or str(source.resolve())
        info["path"] = where
        found = _find_version(self.catalog, name, digest, version)
        if found is not None and found[1] is not None:
            with self.catalog.write() as conn:
                conn.execute("UPDATE model_versions SET kept = 1 WHERE id = ?", (found[0],))
            return self.get_model_version(found[0])
        with TempArtifactDir(self.models_dir) as tmp:
            copy_files(files, tmp.path)
            with self._transaction() as (conn, staging):
                version_id, new = _insert_version(
                    conn, name, version, parent_version_id, digest, where
                )
                if not new:  # registered meanwhile by another process
                    conn.execute("UPDATE model_versions SET kept = 1 WHERE id = ?", (version_id,))
                    return self.get_model_version(version_id)
                staging.move(tmp.path, self.models_dir / str(version_id))
                conn.execute(
                    "UPDATE model_versions SET task = ?, backend = ?, info = ?, artifact = ?,"
                    " kept = 1 WHERE id = ?",
                    (
                        info["task"],
                        info["backend"],
                        json.dumps(info),
                        f"models/{version_id}",
                        version_id,
                    ),
                )
        return self.get_model_version(version_id)

    def load_model_runner(
        self,
        version_id: int,
        *,
        sandbox: SandboxLimits | None = None,
        device: str | None = None,
    ) -> Runner:
        """The runner of a registered model version, from its stored copy and stored spec; with
        ``sandbox``, a :class:`~assay.runners.sandbox.SandboxedRunner` whose worker may read only
        the version's stored copy; on ``device`` (:mod:`assay.runners.devices`; None: the CPU)."""
        record = self.get_model_version(version_id)
        if not record.runnable or record.artifact is None:
            raise InputError(
                f"model version {version_id} was registered from a predictions file; "
                "it has no model to run"
            )
        folder = self.home / record.artifact
        info = record.info or {}
        mapping = dict(info.get("spec") or {})
        for key in ("labels_file", "tokenizer"):
            if mapping.get(key):
                mapping[key] = str(folder / mapping[key])
        model_path = folder / str(info.get("model_file", ""))
        if not info.get("model_file") or not model_path.exists():
            raise InputError(
                f"the stored copy of model version {version_id} is missing", file=str(model_path)
            )
        from assay.runners import load_runner
        from assay.runners.sandbox import SandboxedRunner
        from assay.runners.spec import spec_from_mapping

        spec = spec_from_mapping(mapping, source=f"model version {version_id} (stored spec)")
        if sandbox is not None:
            options = {"device": device} if device is not None else None
            return SandboxedRunner(
                model_path, spec, limits=sandbox, read=[folder], runner_options=options
            )
        return load_runner(model_path, spec, device=device)

    @storage_guard
    def delete_model_version(self, version_id: int) -> None:
        """Remove a model version nothing refers to (no evaluation, child version or job) with
        its stored copy, and its model when that was its last version; one in use is an
        :class:`InputError` saying what uses it."""
        self.get_model_version(version_id)
        with self.catalog.write() as conn:
            for sql, what in (
                ("SELECT COUNT(*) FROM evaluations WHERE model_version_id = ?", "evaluations"),
                ("SELECT COUNT(*) FROM model_versions WHERE parent_version_id = ?", "children"),
                ("SELECT COUNT(*) FROM jobs WHERE model_version_id = ?", "jobs"),
            ):
                n = conn.execute(sql, (version_id,)).fetchone()[0]
                if n:
                    raise InputError(f"model version {version_id} has {n} {what}; it is kept")
            conn.execute("DELETE FROM model_profiles WHERE model_version_id = ?", (version_id,))
            conn.execute("DELETE FROM model_versions WHERE id = ?", (version_id,))
            conn.execute("DELETE FROM models WHERE id NOT IN (SELECT model_id FROM model_versions)")
        self.collect_garbage()  # its stored copy no longer has a row

    @storage_guard
    def save_model_profile(self, version_id: int, device: str, profile: dict[str, Any]) -> None:
        """Store a model version's profile on ``device`` (:mod:`assay.service.profile`), in
        place of the one measured there before."""
        self.get_model_version(version_id)
        with self.catalog.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO model_profiles (model_version_id, device, profile,"
                " created_at) VALUES (?, ?, ?, ?)",
                (version_id, device, json.dumps(json_safe(profile)), now_iso()),
            )

    def model_profiles(self, version_id: int | None = None) -> dict[int, list[dict[str, Any]]]:
        """The stored profiles by model version id (of ``version_id`` only, when given), each
        version's oldest device first."""
        sql = "SELECT model_version_id, profile FROM model_profiles"
        args: tuple[Any, ...] = ()
        if version_id is not None:
            sql += " WHERE model_version_id = ?"
            args = (version_id,)
        out: dict[int, list[dict[str, Any]]] = {}
        for vid, text in self.catalog.query(sql + " ORDER BY created_at", args):
            out.setdefault(int(vid), []).append(json.loads(text))
        return out

    def evaluation_counts(self) -> dict[int, int]:
        """The number of evaluations of each model version that has any."""
        rows = self.catalog.query(
            "SELECT model_version_id, COUNT(*) FROM evaluations"
            " WHERE model_version_id IS NOT NULL GROUP BY model_version_id"
        )
        return {int(r[0]): int(r[1]) for r in rows}

    def model_version_labels(self) -> dict[int, str]:
        """Every model version's label (``v1``, ``int8``...) by its id."""
        rows = self.catalog.query("SELECT id, version FROM model_versions")
        return {int(i): str(v) for i, v in rows}

    def newest_model_version_id(self) -> int:
        """The largest model version id (0 in an empty workspace)."""
        row = self.catalog.query_one("SELECT COALESCE(MAX(id), 0) FROM model_versions")
        return int(row[0]) if row else 0

    def find_model_version(self, name: str, version: str | None = None) -> ModelVersion:
        """Model ``name``'s version labelled ``version``, or its newest runnable version (else
        its newest); :class:`NotFoundError` when there is none."""
        if version is not None:
            row = self.catalog.query_one(
                "SELECT mv.id FROM model_versions mv JOIN models m ON m.id = mv.model_id"
                " WHERE m.name = ? AND mv.version = ?",
                (name, version),
            )
        else:
            row = self.catalog.query_one(
                "SELECT mv.id FROM model_versions mv JOIN models m ON m.id = mv.model_id"
                " WHERE m.name = ? ORDER BY mv.artifact IS NOT NULL DESC, mv.id DESC LIMIT 1",
                (name,),
            )
        if row is None:
            label = f"{name}:{version}" if version is not None else name
            raise NotFoundError(f"no registered model {label!r} (see assay models list)")
        return self.get_model_version(int(row[0]))


def _find_version(
    catalog: Catalog, name: str, digest: str, version: str | None
) -> tuple[int, str | None] | None:
    """(id, artifact) of the version of model ``name`` with this content (or this label, which
    must then hold this content); None when there is none."""
    if version is not None:
        row = catalog.query_one(
            "SELECT mv.id, mv.artifact, mv.hash FROM model_versions mv JOIN models m"
            " ON m.id = mv.model_id WHERE m.name = ? AND mv.version = ?",
            (name, version),
        )
        if row is not None and row[2] != digest:
            raise InputError(
                f"model {name!r} already has a version {version!r} with other files or spec; "
                "give another --version"
            )
    else:
        row = catalog.query_one(
            "SELECT mv.id, mv.artifact FROM model_versions mv JOIN models m"
            " ON m.id = mv.model_id WHERE m.name = ? AND mv.hash = ? AND mv.artifact IS NOT NULL"
            " ORDER BY mv.id LIMIT 1",
            (name, digest),
        )
    return None if row is None else (int(row[0]), row[1])


def _insert_version(
    conn: Any,
    name: str,
    version: str | None,
    parent_version_id: int | None,
    digest: str,
    path: str,
) -> tuple[int, bool]:
    """Inside a transaction: the id of a new model version row (its model made if new) and True;
    or an existing runnable version with this label or content and False."""
    if (
        parent_version_id is not None
        and not conn.execute(
            "SELECT 1 FROM model_versions WHERE id = ?", (parent_version_id,)
        ).fetchone()
    ):
        raise NotFoundError(f"model version {parent_version_id} not found (--parent)")
    row = conn.execute("SELECT id FROM models WHERE name = ?", (name,)).fetchone()
    if row is None:
        cur = conn.execute("INSERT INTO models (name, created_at) VALUES (?, ?)", (name, now_iso()))
        model_id = int(cur.lastrowid or 0)
    else:
        model_id = int(row[0])
    if version is not None:
        found = conn.execute(
            "SELECT id, hash FROM model_versions WHERE model_id = ? AND version = ?",
            (model_id, version),
        ).fetchone()
        if found is not None:
            if found[1] != digest:
                raise InputError(
                    f"model {name!r} already has a version {version!r} with other files or "
                    "spec; give another --version"
                )
            return int(found[0]), False
    else:
        found = conn.execute(
            "SELECT id FROM model_versions WHERE model_id = ? AND hash = ?"
            " AND artifact IS NOT NULL",
            (model_id, digest),
        ).fetchone()
        if found is not None:
            return int(found[0]), False
    cur = conn.execute(
        "INSERT INTO model_versions (model_id, version, parent_version_id, hash, path,"
        " created_at, kept) VALUES (?, ?, ?, ?, ?, ?, 1)",
        (
            model_id,
            version or next_label(conn, "model_versions", "model_id", model_id),
            parent_version_id,
            digest,
            path,
            now_iso(),
        ),
    )
    return int(cur.lastrowid or 0), True
