"""The workspace: a SQLite catalog plus per-evaluation artifacts under ``$ASSAY_HOME``.

>>> ws = Workspace(tmp_path)  # doctest: +SKIP
>>> dv = ws.add_dataset_version("pets", task="classification", source=Path("gt.csv"))  # doctest: +SKIP
>>> rec = ws.save_evaluation(results, task="classification", name="r50", dataset_version_id=dv.id)  # doctest: +SKIP
>>> ws.load_results(rec.id).summary()["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from assay.errors import InputError, NotFoundError
from assay.evaluation.results import Results, results_from_arrays
from assay.settings import assay_home
from assay.store import artifacts
from assay.store._jobs import JobsMixin
from assay.store._models import ModelsMixin
from assay.store._register import (
    BACKUP_PREFIX,
    DatasetContent,
    Staging,
    attach_media,
    collect_orphans,
    dataset_content,
    model_content,
    prepare_evaluation,
    upsert_dataset_version,
    upsert_model_version,
)
from assay.store._util import (
    Stamp,
    _file_stamp,
    common_folder,
    inside,
    storage_error,
    storage_guard,
)
from assay.store.artifacts import TempArtifactDir, fsync_dir, hash_path, remove_tree
from assay.store.catalog import (
    DV_COLUMNS,
    DV_FROM,
    EVAL_SELECT,
    MV_COLUMNS,
    MV_FROM,
    Catalog,
    dataset_version_from_row,
    evaluation_from_row,
    model_version_from_row,
    now_iso,
)
from assay.store.records import (
    DatasetRecord,
    DatasetVersion,
    EvaluationRecord,
    ModelRecord,
    ModelVersion,
)

__all__ = ["Workspace", "Loader"]

# rebuilds a results object from its stored arrays and meta (``meta["task"]`` picks the class)
Loader = Callable[[dict[str, np.ndarray], dict[str, Any]], Results]


PREDICTIONS_STEM = "predictions"

# what Assay keeps in a workspace home: nothing in there (nor the home, nor a folder holding it) is
# ever registered, read as a ground truth or copied, because a process that opens and closes the
# catalog's files drops SQLite's locks on them (and may unlink its live WAL). Other folders a
# person keeps in the home (the demo's ``demo-data``) may be registered.
OWNED_NAMES = ("evaluations", "datasets", "thumbnails", "models", "work")


class Workspace(JobsMixin, ModelsMixin):
    """A catalog of datasets, models, evaluations and jobs, with the evaluations' artifacts.

    Safe to share between threads (each thread gets its own SQLite connection) and between processes
    (SQLite WAL with a busy timeout; artifacts are renamed into place before the row is committed).
    """

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        cache_size: int = 4,
        loader: Loader = results_from_arrays,
    ) -> None:
        self.home = Path(home).expanduser() if home is not None else assay_home()
        self.evaluations_dir = self.home / "evaluations"
        self.datasets_dir = self.home / "datasets"
        self.thumbnails_dir = self.home / "thumbnails"
        self.models_dir = self.home / "models"
        for folder in (
            self.home,
            self.evaluations_dir,
            self.datasets_dir,
            self.thumbnails_dir,
            self.models_dir,
        ):
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # private
            except OSError as exc:  # a full disk: one line; anything else as it is
                raise (storage_error(exc, self.home) or exc) from None
        self.catalog = Catalog(self.home / "catalog.sqlite")
        self._loader = loader
        self._cache_size = cache_size
        self._results: OrderedDict[int, Results] = OrderedDict()
        self._samples: OrderedDict[int, tuple[Stamp, pa.Table]] = OrderedDict()
        self._lock = threading.Lock()
        self.collect_garbage()

    # ------------------------------------------------------------------ own files

    def owns(self, path: Path | str) -> bool:
        """Whether ``path`` (links followed) is the workspace's own: the home or a folder holding
        it, the catalog and its journal files, a hidden entry of the home (a lock), or anything
        under the folders Assay keeps there (:data:`OWNED_NAMES`)."""
        try:
            real = Path(path).expanduser().resolve()
            home = self.home.resolve()
        except (OSError, RuntimeError, ValueError):
            return True  # a link loop or an odd name: not something to open anyway
        if real == home or home.is_relative_to(real):
            return True
        if not real.is_relative_to(home):
            return False
        first = real.relative_to(home).parts[0]
        return first in OWNED_NAMES or first.startswith(("catalog.sqlite", "."))

    def refuse_own(self, path: Path | str | None, what: str = "path") -> None:
        """One-line :class:`InputError` (nothing read, nothing stored) when ``path`` is the
        workspace's own (see :meth:`owns`)."""
        if path is not None and self.owns(path):
            raise InputError(
                f"{what}: lies in the workspace's own files ({self.home}); "
                "register a file or folder outside them (nothing stored)"
            )

    def _refuse_dataset(self, content: DatasetContent) -> None:
        self.refuse_own(content.source, "dataset")
        if content.samples is not None and "path" in content.samples.column_names:
            for value in content.samples.column("path").to_pylist():
                if value:
                    self.refuse_own(value, "media file")

    # ------------------------------------------------------------------ datasets

    @storage_guard
    def add_dataset_version(
        self,
        name: str,
        *,
        task: str,
        source: Path | str | None = None,
        samples: pa.Table | None = None,
        media_root: Path | str | None = None,
    ) -> DatasetVersion:
        """Register a dataset's content on purpose (kept even without evaluations); the same
        bytes give back the same version.

        ``source`` (a file or folder) is hashed (sha256); without one, the samples table is.
        ``samples`` has an ``id`` column and optionally ``text``, ``path`` (absolute media path) and
        metadata columns; row i is sample index i of every evaluation on this version.
        ``media_root`` is the folder every media path lies in (checked; default: the folder
        holding them all); :meth:`media_path` serves only files inside it.
        """
        self.refuse_own(source, "dataset")
        content = dataset_content(name, task, source, samples, media_root)
        self._refuse_dataset(content)
        with TempArtifactDir(self.datasets_dir) as tmp:
            self._write_samples(content, tmp.path)
            with self._transaction() as (conn, staging):
                version_id = self._register_dataset(conn, staging, content, tmp.path, kept=True)
        return self.get_dataset_version(version_id)

    def _write_samples(self, content: DatasetContent, folder: Path, *, new: bool = False) -> None:
        """The samples table into ``folder`` (fsynced) when the version is ``new`` or not stored
        yet (so a run over a stored dataset does not write its table again)."""
        if content.samples is None or (folder / "samples.parquet").exists():
            return
        if not new and self._find_dataset_version(content.name, content.digest) is not None:
            return
        pq.write_table(content.samples, folder / "samples.parquet")
        with open(folder / "samples.parquet", "rb") as handle:
            os.fsync(handle.fileno())

    def _register_dataset(
        self, conn: Any, staging: Staging, content: DatasetContent, folder: Path, *, kept: bool
    ) -> int:
        """Inside a transaction: the version's id; a new version's samples folder renamed into
        place, or media attached to a stored one."""
        version_id, new = upsert_dataset_version(conn, content, kept=kept, folder=folder)
        if new:
            self._write_samples(content, folder, new=True)
            staging.move(folder, self.datasets_dir / str(version_id))
        elif attach_media(conn, staging, version_id, self._samples_path(version_id), content):
            staging.replaced_samples.append(version_id)
        return version_id

    @contextmanager
    def _transaction(self) -> Iterator[tuple[Any, Staging]]:
        """A catalog write transaction with its renames: both happen, or neither."""
        staging = Staging()
        try:
            with self.catalog.write() as conn:
                yield conn, staging
        except BaseException:
            staging.undo()
            raise
        finally:
            with self._lock:  # a samples table replaced (or put back): read it again
                for version_id in staging.replaced_samples:
                    self._samples.pop(version_id, None)
        staging.finish()

    def _find_dataset_version(self, name: str, digest: str) -> DatasetVersion | None:
        row = self.catalog.query_one(
            f"SELECT {DV_COLUMNS} FROM {DV_FROM} WHERE d.name = ? AND dv.hash = ?", (name, digest)
        )
        return dataset_version_from_row(row) if row else None

    def list_datasets(self) -> list[DatasetRecord]:
        rows = self.catalog.query(
            "SELECT d.id, d.name, d.task, d.created_at, COUNT(dv.id) FROM datasets d "
            "LEFT JOIN dataset_versions dv ON dv.dataset_id = d.id GROUP BY d.id ORDER BY d.id"
        )
        return [DatasetRecord(*row) for row in rows]

    def get_dataset(self, dataset_id: int) -> DatasetRecord:
        for record in self.list_datasets():
            if record.id == dataset_id:
                return record
        raise NotFoundError(f"dataset {dataset_id} not found")

    def list_dataset_versions(self, dataset_id: int) -> list[DatasetVersion]:
        self.get_dataset(dataset_id)
        rows = self.catalog.query(
            f"SELECT {DV_COLUMNS} FROM {DV_FROM} WHERE dv.dataset_id = ? ORDER BY dv.id",
            (dataset_id,),
        )
        return [dataset_version_from_row(row) for row in rows]

    def get_dataset_version(self, version_id: int) -> DatasetVersion:
        row = self.catalog.query_one(
            f"SELECT {DV_COLUMNS} FROM {DV_FROM} WHERE dv.id = ?", (version_id,)
        )
        if row is None:
            raise NotFoundError(f"dataset version {version_id} not found")
        return dataset_version_from_row(row)

    def samples_table(self, dataset_version_id: int) -> pa.Table:
        """The samples table of a dataset version (an empty one with an ``id`` column if none)."""
        table = self.peek_samples_table(dataset_version_id)
        if table is not None:
            return table
        self.get_dataset_version(dataset_version_id)
        path = self._samples_path(dataset_version_id)
        stamp = _file_stamp(path)
        if stamp is not None:
            table = pq.read_table(path, memory_map=True)
        else:
            table = pa.table({"id": pa.array([], pa.string())})
        with self._lock:
            self._samples[dataset_version_id] = (stamp, table)
            while len(self._samples) > max(self._cache_size, 1) * 2:
                self._samples.popitem(last=False)
        return table

    def peek_samples_table(self, dataset_version_id: int) -> pa.Table | None:
        """The cached samples table if it is still the stored one (one ``stat``), else None.

        A later run may attach media to a stored version (see :meth:`add_dataset_version`); the
        file is then replaced, and the next look-up reads the new one."""
        with self._lock:
            cached = self._samples.get(dataset_version_id)
        if cached is None:
            return None
        if _file_stamp(self._samples_path(dataset_version_id)) != cached[0]:
            return None
        with self._lock:
            if dataset_version_id in self._samples:
                self._samples.move_to_end(dataset_version_id)
        return cached[1]

    def dataset_ground_truth(self, version_id: int) -> Path:
        """The source file or folder a dataset version was registered from, checked to hold the
        same content still (a job re-reads the ground truth from there; detection images come
        from :meth:`media_root`). Gone or changed: :class:`InputError`."""
        dv = self.get_dataset_version(version_id)
        if dv.source is None:
            raise InputError(
                f"dataset version {version_id} was registered without a source file; "
                "it cannot be read again"
            )
        source = Path(dv.source)
        if not source.exists():
            raise InputError(
                f"the ground truth of dataset version {version_id} no longer exists",
                file=str(source),
            )
        try:
            digest = hash_path(source)
        except OSError as exc:
            raise InputError(
                f"cannot read the ground truth of dataset version {version_id} ({exc.strerror})",
                file=str(source),
            ) from None
        if digest != dv.hash:
            raise InputError(
                f"changed since dataset version {version_id} was registered; "
                "register it again as a new version",
                file=str(source),
            )
        return source

    def _samples_path(self, dataset_version_id: int) -> Path:
        return self.datasets_dir / str(dataset_version_id) / "samples.parquet"

    def media_root(self, dataset_version_id: int) -> Path | None:
        """The folder every media file of a dataset version lies in (resolved), as recorded at
        registration; for a version recorded before schema 2, the folder holding its registered
        files. None when it has no media."""
        row = self.catalog.query_one(
            "SELECT media_root FROM dataset_versions WHERE id = ?", (dataset_version_id,)
        )
        if row is None:
            raise NotFoundError(f"dataset version {dataset_version_id} not found")
        if row[0]:
            return Path(row[0])
        table = self.samples_table(dataset_version_id)
        if "path" not in table.column_names:
            return None
        folder = common_folder([p for p in table.column("path").to_pylist() if p])
        return Path(folder).resolve() if folder else None

    def media_path(self, dataset_version_id: int, index: int) -> Path | None:
        """The media file of sample ``index``, only if registered with that dataset version and
        its real path (links followed) still lies inside the version's :meth:`media_root`.

        Raises NotFoundError for an unknown version, an index out of range, or a file whose real
        path has left the root (a link swapped in after registration); None when the sample has
        no file (or the registered file is gone).
        """
        table = self.samples_table(dataset_version_id)
        if not 0 <= index < table.num_rows:
            raise NotFoundError(f"sample {dataset_version_id}:{index} not found")
        if "path" not in table.column_names:
            return None
        value = table.column("path")[index].as_py()
        root = self.media_root(dataset_version_id)
        if not value or root is None:
            return None
        path = Path(value)
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not inside(real, root.resolve()):
            raise NotFoundError(
                f"sample {dataset_version_id}:{index} has no media file inside its dataset's folder"
            )
        return path if real.is_file() else None

    def sample_media_path(self, evaluation_id: int, index: int) -> Path | None:
        """:meth:`media_path` for sample ``index`` of an evaluation's dataset version."""
        record = self.get_evaluation(evaluation_id)
        return self.media_path(record.dataset_version.id, index)

    # ------------------------------------------------------------------ models

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

    # ------------------------------------------------------------------ evaluations

    @storage_guard
    def save_evaluation(
        self,
        results: Results,
        *,
        task: str | None = None,
        name: str,
        dataset_version_id: int,
        model_version_id: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> EvaluationRecord:
        """Store an evaluation: all of it or nothing.

        The arrays go to a temporary folder (fsynced), which is renamed to ``evaluations/<id>`` and
        the catalog row inserted inside one write transaction; on any error the folder is removed
        and the transaction rolled back. A crash between the two leaves an unlisted folder that the
        next :class:`Workspace` removes.
        """
        prepared = prepare_evaluation(results, task, name, params)
        with TempArtifactDir(self.evaluations_dir) as tmp:
            artifacts.write_arrays(tmp.path, prepared[0], prepared[1])
            with self._transaction() as (conn, staging):
                for table, version_id in (
                    ("dataset_versions", dataset_version_id),
                    ("model_versions", model_version_id),
                ):
                    if (
                        version_id is not None
                        and not conn.execute(
                            f"SELECT 1 FROM {table} WHERE id = ?", (version_id,)
                        ).fetchone()
                    ):
                        raise NotFoundError(
                            f"{table[:-1].replace('_', ' ')} {version_id} not found"
                        )
                evaluation_id = self._register_evaluation(
                    conn, staging, prepared[2], tmp.path, dataset_version_id, model_version_id
                )
        return self.get_evaluation(evaluation_id)

    @storage_guard
    def save_run(
        self,
        results: Results,
        *,
        name: str | None,
        dataset: tuple[str, str, Path | str | None, pa.Table | None, Path | str | None],
        model: tuple[str, int | None, Path | str | None] | None = None,
        params: dict[str, Any] | None = None,
        model_version_id: int | None = None,
        predictions_file: Path | str | None = None,
    ) -> EvaluationRecord:
        """Register a dataset version, a model version and an evaluation of them in one
        transaction: all three, or nothing at all (an unknown parent, a full disk, a crash).

        ``dataset`` is (name, task, source, samples, media_root) as :meth:`add_dataset_version`
        takes them, ``model`` (name, parent_version_id, path) as :meth:`add_model_version`;
        ``model_version_id`` names a registered version instead (a model run: ``model`` is then
        ignored). ``predictions_file`` is copied into the evaluation's folder as
        ``predictions.<ext>`` (see :meth:`predictions_file`). ``name`` defaults to "<model> on
        <dataset>". Versions first registered this way are collected by :meth:`collect_garbage`
        once no evaluation refers to them.
        """
        self.refuse_own(dataset[2], "dataset")
        content = dataset_content(*dataset)
        self._refuse_dataset(content)
        the_model = None
        if model_version_id is not None:
            model_name = self.get_model_version(model_version_id).model_name
        elif model is not None:
            self.refuse_own(model[2], "model")
            the_model = model_content(*model, None)
            model_name = the_model.name
        else:
            model_name = "no model"
        title = name or f"{model_name} on {content.name}"
        prepared = prepare_evaluation(results, None, title, params)
        with (
            TempArtifactDir(self.datasets_dir) as samples_tmp,
            TempArtifactDir(self.evaluations_dir) as tmp,
        ):
            self._write_samples(content, samples_tmp.path)
            artifacts.write_arrays(tmp.path, prepared[0], prepared[1])
            if predictions_file is not None:
                _copy_predictions(Path(predictions_file), tmp.path)
            with self._transaction() as (conn, staging):
                dv = self._register_dataset(conn, staging, content, samples_tmp.path, kept=False)
                mv: int | None = None
                if model_version_id is not None:
                    if not conn.execute(
                        "SELECT 1 FROM model_versions WHERE id = ?", (model_version_id,)
                    ).fetchone():
                        raise NotFoundError(f"model version {model_version_id} not found")
                    mv = model_version_id
                elif the_model is not None:
                    mv = upsert_model_version(conn, the_model, kept=False)
                evaluation_id = self._register_evaluation(
                    conn, staging, prepared[2], tmp.path, dv, mv
                )
        return self.get_evaluation(evaluation_id)

    def _register_evaluation(
        self,
        conn: Any,
        staging: Staging,
        row: tuple[Any, ...],
        folder: Path,
        dataset_version_id: int,
        model_version_id: int | None,
    ) -> int:
        """Inside a transaction: the artifacts renamed to ``evaluations/<id>``, the row inserted."""
        evaluation_id = self._next_evaluation_id(conn)
        staging.move(folder, self.evaluations_dir / str(evaluation_id))
        name, task, status, params_json, summary_json, metric, value, n, c = row
        self._insert_evaluation_row(
            conn,
            (
                evaluation_id,
                name,
                task,
                status,
                dataset_version_id,
                model_version_id,
                params_json,
                summary_json,
                metric,
                value,
                n,
                c,
                now_iso(),
                f"evaluations/{evaluation_id}",
            ),
        )
        return evaluation_id

    @staticmethod
    def _next_evaluation_id(conn: Any) -> int:
        seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'evaluations'").fetchone()
        top = conn.execute("SELECT COALESCE(MAX(id), 0) FROM evaluations").fetchone()[0]
        return max(seq[0] if seq else 0, top) + 1

    @staticmethod
    def _insert_evaluation_row(conn: Any, row: tuple[Any, ...]) -> None:
        conn.execute(
            "INSERT INTO evaluations (id, name, task, status, dataset_version_id, model_version_id,"
            " params, summary, headline_metric, headline_value, n_samples, n_classes, created_at,"
            " artifact_dir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )

    def list_evaluations(self) -> list[EvaluationRecord]:
        """Every stored evaluation, newest first."""
        rows = self.catalog.query(f"{EVAL_SELECT} ORDER BY e.id DESC")
        return [evaluation_from_row(row, self.home) for row in rows]

    def get_evaluation(self, evaluation_id: int) -> EvaluationRecord:
        row = self.catalog.query_one(f"{EVAL_SELECT} WHERE e.id = ?", (evaluation_id,))
        if row is None:
            raise NotFoundError(f"evaluation {evaluation_id} not found")
        return evaluation_from_row(row, self.home)

    def predictions_file(self, evaluation_id: int) -> Path | None:
        """The predictions file stored with an evaluation (a model run's), or None."""
        record = self.get_evaluation(evaluation_id)
        try:
            found = sorted(
                p
                for p in record.artifact_dir.iterdir()
                if p.is_file() and p.name.split(".", 1)[0] == PREDICTIONS_STEM
            )
        except FileNotFoundError:
            return None
        return found[0] if found else None

    def load_results(self, evaluation_id: int) -> Results:
        """The results object of an evaluation (memory-mapped arrays; the last few are cached)."""
        with self._lock:
            cached = self._results.get(evaluation_id)
            if cached is not None:
                self._results.move_to_end(evaluation_id)
                return cached
        record = self.get_evaluation(evaluation_id)
        arrays, document = artifacts.read_arrays(record.artifact_dir)
        params = record.params or {}
        point = {k: params[k] for k in ("threshold", "iou", "score") if k in params}
        meta = {"task": record.task, **document["results"], "point": point}
        results = self._loader(arrays, meta)
        with self._lock:
            self._results[evaluation_id] = results
            while len(self._results) > max(self._cache_size, 1):
                self._results.popitem(last=False)
        return results

    def peek_results(self, evaluation_id: int) -> Results | None:
        """The results object if it is already in the cache (no I/O), else None."""
        with self._lock:
            return self._results.get(evaluation_id)

    @storage_guard
    def delete_evaluation(self, evaluation_id: int) -> None:
        """Remove an evaluation's row and artifacts."""
        record = self.get_evaluation(evaluation_id)
        with self.catalog.write() as conn:
            conn.execute(
                "UPDATE jobs SET evaluation_id = NULL WHERE evaluation_id = ?", (record.id,)
            )
            conn.execute("DELETE FROM evaluations WHERE id = ?", (record.id,))
        with self._lock:
            self._results.pop(record.id, None)
        remove_tree(record.artifact_dir)

    # ------------------------------------------------------------------ housekeeping

    @storage_guard
    def collect_garbage(self) -> int:
        """Remove what failed or interrupted writes left: artifact folders without a catalog row,
        temporary folders whose writer died, stray temporary files in dataset folders, and
        dataset / model versions registered by a run that no evaluation refers to (versions
        registered on purpose are kept). The number of folders and versions removed."""
        removed = 0
        with self.catalog.write() as conn:
            datasets, models = collect_orphans(conn)
            removed += len(datasets) + len(models)
            evaluation_ids = {r[0] for r in conn.execute("SELECT id FROM evaluations")}
            version_ids = {r[0] for r in conn.execute("SELECT id FROM dataset_versions")}
            model_ids = {
                r[0]
                for r in conn.execute("SELECT id FROM model_versions WHERE artifact IS NOT NULL")
            }
            for folder, known in (
                (self.evaluations_dir, evaluation_ids),
                (self.datasets_dir, version_ids),
                (self.models_dir, model_ids),
            ):
                for child in list(folder.iterdir()):
                    name = child.name
                    stale = (
                        name.startswith(artifacts.TRASH_PREFIX)
                        or (
                            name.startswith(artifacts.TMP_PREFIX) and artifacts.is_stale_temp(child)
                        )
                        or (name.isdigit() and int(name) not in known)
                    )
                    if stale and child.is_dir():
                        remove_tree(child)
                        removed += 1
                    elif folder is self.datasets_dir and name.isdigit() and child.is_dir():
                        # a media attach died between writing its table and the swap: under
                        # the write lock no attach is under way
                        for stray in child.iterdir():
                            if stray.name.startswith((artifacts.TMP_PREFIX, BACKUP_PREFIX)):
                                stray.unlink(missing_ok=True)
        with self._lock:
            for version_id in datasets:
                self._samples.pop(version_id, None)
        return removed

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` answer (``"ok"`` when sound)."""
        row = self.catalog.query_one("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"

    def close(self) -> None:
        self.catalog.close()


def _copy_predictions(source: Path, folder: Path) -> None:
    """Copy a predictions file into an evaluation's temporary folder as ``predictions.<ext>``
    (fsynced)."""
    if not source.is_file():
        raise InputError("no such predictions file", file=str(source))
    suffix = "".join(source.suffixes[-2:]).lower()
    if not suffix.replace(".", "").isalnum():
        suffix = source.suffix.lower() if source.suffix[1:].isalnum() else ""
    target = folder / f"{PREDICTIONS_STEM}{suffix}"
    shutil.copyfile(source, target)
    with open(target, "rb") as handle:
        os.fsync(handle.fileno())
    fsync_dir(folder)
