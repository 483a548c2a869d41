"""The workspace: a SQLite catalog plus per-evaluation artifacts under ``$ASSAY_HOME``.

>>> ws = Workspace(tmp_path)  # doctest: +SKIP
>>> dv = ws.add_dataset_version("pets", task="classification", source=Path("gt.csv"))  # doctest: +SKIP
>>> rec = ws.save_evaluation(results, task="classification", name="r50", dataset_version_id=dv.id)  # doctest: +SKIP
>>> ws.load_results(rec.id).summary()["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from assay.errors import InputError, NotFoundError
from assay.evaluation.results import Results, results_from_arrays
from assay.settings import assay_home
from assay.store import artifacts
from assay.store._util import (
    Stamp,
    _attach_media,
    _file_stamp,
    _normalise_samples,
    _stored_task,
    json_safe,
)
from assay.store.artifacts import TempArtifactDir, fsync_dir, hash_path, remove_tree
from assay.store.catalog import (
    DV_COLUMNS,
    DV_FROM,
    EVAL_SELECT,
    JOB_SELECT,
    MV_COLUMNS,
    MV_FROM,
    Catalog,
    dataset_version_from_row,
    evaluation_from_row,
    job_from_row,
    model_version_from_row,
    now_iso,
)
from assay.store.records import (
    DatasetRecord,
    DatasetVersion,
    EvaluationRecord,
    JobRecord,
    ModelRecord,
    ModelVersion,
)

__all__ = ["Workspace", "Loader"]

JOB_STATUSES = ("queued", "running", "done", "failed")
# rebuilds a results object from its stored arrays and meta (``meta["task"]`` picks the class)
Loader = Callable[[dict[str, np.ndarray], dict[str, Any]], Results]


class Workspace:
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
        for folder in (self.home, self.evaluations_dir, self.datasets_dir, self.thumbnails_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(self.home / "catalog.sqlite")
        self._loader = loader
        self._cache_size = cache_size
        self._results: OrderedDict[int, Results] = OrderedDict()
        self._samples: OrderedDict[int, tuple[Stamp, pa.Table]] = OrderedDict()
        self._lock = threading.Lock()
        self.collect_garbage()

    # ------------------------------------------------------------------ datasets

    def add_dataset_version(
        self,
        name: str,
        *,
        task: str,
        source: Path | str | None = None,
        samples: pa.Table | None = None,
    ) -> DatasetVersion:
        """Register a dataset's content; the same bytes give back the same version.

        ``source`` (a file or folder) is hashed (sha256); without one, the samples table is.
        ``samples`` has an ``id`` column and optionally ``text``, ``path`` (absolute media path) and
        metadata columns; row i is sample index i of every evaluation on this version.
        """
        if source is not None:
            source = Path(source).resolve()
            if not source.exists():
                raise InputError("does not exist", file=str(source))
            digest = hash_path(source)
        elif samples is not None:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, samples.schema) as writer:
                writer.write_table(samples)
            digest = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
        else:
            raise InputError("a dataset version needs a source path or a samples table")
        existing = self._find_dataset_version(name, digest)
        samples = _normalise_samples(samples) if samples is not None else None
        if existing is not None:
            if samples is not None:
                self._attach_media(existing, samples)
            return existing
        with TempArtifactDir(self.datasets_dir) as tmp:
            if samples is not None:
                pq.write_table(samples, tmp.path / "samples.parquet")
            with self.catalog.write() as conn:
                row = conn.execute("SELECT id FROM datasets WHERE name = ?", (name,)).fetchone()
                if row is None:
                    cur = conn.execute(
                        "INSERT INTO datasets (name, task, created_at) VALUES (?, ?, ?)",
                        (name, task, now_iso()),
                    )
                    dataset_id = cur.lastrowid
                else:
                    dataset_id = row[0]
                found = conn.execute(
                    "SELECT id FROM dataset_versions WHERE dataset_id = ? AND hash = ?",
                    (dataset_id, digest),
                ).fetchone()
                if found is not None:  # another writer registered it meanwhile
                    version_id = found[0]
                else:
                    count = conn.execute(
                        "SELECT COUNT(*) FROM dataset_versions WHERE dataset_id = ?", (dataset_id,)
                    ).fetchone()[0]
                    cur = conn.execute(
                        "INSERT INTO dataset_versions (dataset_id, version, hash, source,"
                        " n_samples, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            dataset_id,
                            f"v{count + 1}",
                            digest,
                            str(source) if source is not None else None,
                            samples.num_rows if samples is not None else 0,
                            now_iso(),
                        ),
                    )
                    version_id = int(cur.lastrowid or 0)
                    target = self.datasets_dir / str(version_id)
                    if target.exists():
                        remove_tree(target)
                    tmp.path.rename(target)
                    fsync_dir(self.datasets_dir)
        return self.get_dataset_version(version_id)

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

    def _samples_path(self, dataset_version_id: int) -> Path:
        return self.datasets_dir / str(dataset_version_id) / "samples.parquet"

    def _attach_media(self, version: DatasetVersion, samples: pa.Table) -> None:
        """Give a stored dataset version the media paths a later run found (the same content
        evaluated again with the right images folder). Paths already attached are kept; the
        table is written to a temporary file and renamed over the stored one, under the
        catalog's write lock so two runs never interleave."""
        path = self._samples_path(version.id)
        with self.catalog.write():
            try:
                stored = pq.read_table(path)
            except FileNotFoundError:
                return
            merged = _attach_media(stored, samples)
            if merged is None:
                return
            tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
            try:
                pq.write_table(merged, tmp)
                with open(tmp, "rb") as handle:
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
                fsync_dir(path.parent)
            finally:
                tmp.unlink(missing_ok=True)
        with self._lock:
            self._samples.pop(version.id, None)

    def media_path(self, dataset_version_id: int, index: int) -> Path | None:
        """The media file of sample ``index``, only if registered with that dataset version.

        Raises NotFoundError for an unknown version or an index out of range; None when the sample
        has no file (or the registered file is gone).
        """
        table = self.samples_table(dataset_version_id)
        if not 0 <= index < table.num_rows:
            raise NotFoundError(f"sample {dataset_version_id}:{index} not found")
        if "path" not in table.column_names:
            return None
        value = table.column("path")[index].as_py()
        if not value:
            return None
        path = Path(value)
        return path if path.is_file() else None

    def sample_media_path(self, evaluation_id: int, index: int) -> Path | None:
        """:meth:`media_path` for sample ``index`` of an evaluation's dataset version."""
        record = self.get_evaluation(evaluation_id)
        return self.media_path(record.dataset_version.id, index)

    # ------------------------------------------------------------------ models

    def add_model_version(
        self,
        name: str,
        *,
        parent_version_id: int | None = None,
        path: Path | str | None = None,
        version: str | None = None,
    ) -> ModelVersion:
        """Register a model version (``v1``, ``v2``... unless ``version`` names it).

        A file already registered for this model (same hash) or an existing label gives that version
        back. ``parent_version_id`` links e.g. an INT8 model to its FP32 parent.
        """
        digest = None
        if path is not None:
            path = Path(path).resolve()
            if not path.exists():
                raise InputError("does not exist", file=str(path))
            digest = hash_path(path)
        if parent_version_id is not None:
            self.get_model_version(parent_version_id)
        with self.catalog.write() as conn:
            row = conn.execute("SELECT id FROM models WHERE name = ?", (name,)).fetchone()
            if row is None:
                cur = conn.execute(
                    "INSERT INTO models (name, created_at) VALUES (?, ?)", (name, now_iso())
                )
                model_id = cur.lastrowid
            else:
                model_id = row[0]
            found = None
            if version is not None:
                found = conn.execute(
                    "SELECT id FROM model_versions WHERE model_id = ? AND version = ?",
                    (model_id, version),
                ).fetchone()
            elif digest is not None:
                found = conn.execute(
                    "SELECT id FROM model_versions WHERE model_id = ? AND hash = ?",
                    (model_id, digest),
                ).fetchone()
            if found is not None:
                version_id = found[0]
            else:
                count = conn.execute(
                    "SELECT COUNT(*) FROM model_versions WHERE model_id = ?", (model_id,)
                ).fetchone()[0]
                cur = conn.execute(
                    "INSERT INTO model_versions (model_id, version, parent_version_id, hash, path,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        model_id,
                        version or f"v{count + 1}",
                        parent_version_id,
                        digest,
                        str(path) if path is not None else None,
                        now_iso(),
                    ),
                )
                version_id = cur.lastrowid
        return self.get_model_version(int(version_id or 0))

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
        self.get_dataset_version(dataset_version_id)
        if model_version_id is not None:
            self.get_model_version(model_version_id)
        task = _stored_task(results, task)
        arrays, meta = results.arrays()
        summary: dict[str, Any] = json_safe(results.summary())
        headline: dict[str, Any] = json_safe(results.headline())
        metric, value = headline.get("metric"), headline.get("value")
        n_samples, n_classes = int(results.n_samples), int(results.n_classes)
        document = {"task": task, "name": name, "results": json_safe(meta)}
        params_json = json.dumps(json_safe(params or {}))
        summary_json = json.dumps(summary)
        with TempArtifactDir(self.evaluations_dir) as tmp:
            artifacts.write_arrays(tmp.path, arrays, document)
            with self.catalog.write() as conn:
                evaluation_id = self._next_evaluation_id(conn)
                target = self.evaluations_dir / str(evaluation_id)
                if target.exists():  # left by a crash, not yet collected
                    remove_tree(target)
                tmp.path.rename(target)
                try:
                    fsync_dir(self.evaluations_dir)
                    self._insert_evaluation_row(
                        conn,
                        (
                            evaluation_id,
                            name,
                            task,
                            "done",
                            dataset_version_id,
                            model_version_id,
                            params_json,
                            summary_json,
                            metric,
                            value,
                            n_samples,
                            n_classes,
                            now_iso(),
                            f"evaluations/{evaluation_id}",
                        ),
                    )
                except BaseException:
                    remove_tree(target)
                    raise
        return self.get_evaluation(evaluation_id)

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

    def load_results(self, evaluation_id: int) -> Results:
        """The results object of an evaluation (memory-mapped arrays; the last few are cached)."""
        with self._lock:
            cached = self._results.get(evaluation_id)
            if cached is not None:
                self._results.move_to_end(evaluation_id)
                return cached
        record = self.get_evaluation(evaluation_id)
        arrays, document = artifacts.read_arrays(record.artifact_dir)
        meta = {"task": record.task, **document["results"]}
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

    # ------------------------------------------------------------------ jobs

    def create_job(self, params: dict[str, Any] | None = None) -> JobRecord:
        """A new job in status ``queued``."""
        stamp = now_iso()
        with self.catalog.write() as conn:
            cur = conn.execute(
                "INSERT INTO jobs (status, params, created_at, updated_at) VALUES (?, ?, ?, ?)",
                ("queued", json.dumps(json_safe(params or {})), stamp, stamp),
            )
            job_id = int(cur.lastrowid or 0)
        return self.get_job(job_id)

    def update_job(
        self,
        job_id: int,
        *,
        status: str,
        evaluation_id: int | None = None,
        error: str | None = None,
    ) -> JobRecord:
        if status not in JOB_STATUSES:
            raise ValueError(f"unknown job status {status!r}")
        with self.catalog.write() as conn:
            cur = conn.execute(
                "UPDATE jobs SET status = ?, evaluation_id = COALESCE(?, evaluation_id), error = ?,"
                " updated_at = ? WHERE id = ?",
                (status, evaluation_id, error, now_iso(), job_id),
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"job {job_id} not found")
        return self.get_job(job_id)

    def get_job(self, job_id: int) -> JobRecord:
        row = self.catalog.query_one(f"{JOB_SELECT} WHERE id = ?", (job_id,))
        if row is None:
            raise NotFoundError(f"job {job_id} not found")
        return job_from_row(row)

    def list_jobs(self) -> list[JobRecord]:
        return [job_from_row(row) for row in self.catalog.query(f"{JOB_SELECT} ORDER BY id DESC")]

    def delete_job(self, job_id: int) -> None:
        with self.catalog.write() as conn:
            if conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount == 0:
                raise NotFoundError(f"job {job_id} not found")

    def fail_unfinished_jobs(self, reason: str = "interrupted: the server stopped") -> int:
        """Mark queued/running jobs failed (their thread died with a previous server)."""
        with self.catalog.write() as conn:
            cur = conn.execute(
                "UPDATE jobs SET status = 'failed', error = ?, updated_at = ?"
                " WHERE status IN ('queued', 'running')",
                (reason, now_iso()),
            )
            return int(cur.rowcount)

    # ------------------------------------------------------------------ housekeeping

    def collect_garbage(self) -> int:
        """Remove artifact folders without a catalog row and temporary folders whose writer died."""
        removed = 0
        with self.catalog.write() as conn:
            evaluation_ids = {r[0] for r in conn.execute("SELECT id FROM evaluations")}
            version_ids = {r[0] for r in conn.execute("SELECT id FROM dataset_versions")}
            for folder, known in (
                (self.evaluations_dir, evaluation_ids),
                (self.datasets_dir, version_ids),
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
        return removed

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` answer (``"ok"`` when sound)."""
        row = self.catalog.query_one("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"

    def close(self) -> None:
        self.catalog.close()
