"""The SQLite catalog: schema, connections and the SQL that maps rows to records.

One connection per thread (SQLite connections must not be shared across threads); WAL mode so
readers never wait for a writer; ``busy_timeout`` so two writers queue instead of failing; writes
run in ``BEGIN IMMEDIATE`` transactions so the write lock is taken up front.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay.errors import AssayError
from assay.store._util import storage_error
from assay.store.records import (
    DatasetVersion,
    EvaluationRecord,
    JobRecord,
    ModelVersion,
)

SCHEMA_VERSION = 6
BUSY_TIMEOUT_MS = 60_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    task TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dataset_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    hash TEXT NOT NULL,
    source TEXT,
    n_samples INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (dataset_id, hash)
);
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS model_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    parent_version_id INTEGER REFERENCES model_versions(id) ON DELETE SET NULL,
    hash TEXT,
    path TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (model_id, version)
);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    task TEXT NOT NULL,
    status TEXT NOT NULL,
    dataset_version_id INTEGER NOT NULL REFERENCES dataset_versions(id),
    model_version_id INTEGER REFERENCES model_versions(id),
    params TEXT NOT NULL,
    summary TEXT NOT NULL,
    headline_metric TEXT,
    headline_value REAL,
    n_samples INTEGER NOT NULL,
    n_classes INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    artifact_dir TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS evaluations_created ON evaluations (created_at);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    status TEXT NOT NULL,
    evaluation_id INTEGER REFERENCES evaluations(id) ON DELETE SET NULL,
    error TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""

# Schema 2: ``dataset_versions.media_root`` (the resolved folder every media file of the version
# lies in; NULL: no media, or recorded before schema 2) and ``kept`` on dataset and model versions
# (1: registered on purpose, kept without evaluations; 0: registered by a run, collected once no
# evaluation refers to it). A version made by a run of schema 1 that no evaluation refers to and
# that has a samples table is what a failed run left (explicit registration never wrote samples):
# it is marked 0 and so collected.
_MIGRATE_2 = """
ALTER TABLE dataset_versions ADD COLUMN media_root TEXT;
ALTER TABLE dataset_versions ADD COLUMN kept INTEGER NOT NULL DEFAULT 1;
ALTER TABLE model_versions ADD COLUMN kept INTEGER NOT NULL DEFAULT 1;
UPDATE dataset_versions SET kept = 0 WHERE n_samples > 0
    AND id NOT IN (SELECT dataset_version_id FROM evaluations);
CREATE INDEX IF NOT EXISTS evaluations_dataset ON evaluations (dataset_version_id);
CREATE INDEX IF NOT EXISTS evaluations_model ON evaluations (model_version_id);
"""

# Schema 3: runnable model versions and model jobs. ``model_versions`` gains the model's ``task``,
# ``backend``, ``info`` (JSON: the runner's description plus its preprocessing ``spec``) and
# ``artifact`` (the folder, relative to the workspace home, holding the stored copy of the model;
# NULL for a version registered from a predictions file). ``jobs`` gains ``kind`` ("files": an
# evaluation of files; "model": a run of a registered model over a dataset version), the two
# versions a model job runs, its progress (``done`` of ``total`` samples) and ``started_at``.
_MIGRATE_3 = """
ALTER TABLE model_versions ADD COLUMN task TEXT;
ALTER TABLE model_versions ADD COLUMN backend TEXT;
ALTER TABLE model_versions ADD COLUMN info TEXT;
ALTER TABLE model_versions ADD COLUMN artifact TEXT;
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'files';
ALTER TABLE jobs ADD COLUMN model_version_id INTEGER;
ALTER TABLE jobs ADD COLUMN dataset_version_id INTEGER;
ALTER TABLE jobs ADD COLUMN done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN total INTEGER;
ALTER TABLE jobs ADD COLUMN started_at TEXT;
CREATE INDEX IF NOT EXISTS jobs_model ON jobs (model_version_id);
"""
# Schema 4: ``jobs.pid``, the process running a job (recorded by that process as it starts), so a
# server that starts after another died can make sure the old process is gone before it resumes.
_MIGRATE_4 = """
ALTER TABLE jobs ADD COLUMN pid INTEGER;
"""
# Schema 5: ``jobs.pid_start``, when that process started (Linux: ``starttime`` of
# /proc/<pid>/stat, clock ticks after boot; NULL elsewhere or before schema 5), so a pid the
# kernel has since given to another process is not taken for the old job.
_MIGRATE_5 = """
ALTER TABLE jobs ADD COLUMN pid_start INTEGER;
"""
# Schema 6: ``model_profiles``, a model version's measured speed and size on one device (``assay
# models profile``): ``profile`` is the JSON of :class:`assay.service.profile.Profile` (latency per
# batch size, throughput, size on disk, peak memory); profiling again on a device replaces its row.
_MIGRATE_6 = """
CREATE TABLE IF NOT EXISTS model_profiles (
    model_version_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
    device TEXT NOT NULL,
    profile TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (model_version_id, device)
);
"""
_MIGRATIONS = {
    1: _SCHEMA,
    2: _MIGRATE_2,
    3: _MIGRATE_3,
    4: _MIGRATE_4,
    5: _MIGRATE_5,
    6: _MIGRATE_6,
}

DV_COLUMNS = (
    "dv.id, dv.dataset_id, d.name, d.task, dv.version, dv.hash, dv.source, dv.n_samples, "
    "dv.created_at"
)
MV_COLUMNS = (
    "mv.id, mv.model_id, m.name, mv.version, mv.parent_version_id, mv.hash, mv.path, mv.created_at, "
    "mv.task, mv.backend, mv.info, mv.artifact"
)
MV_WIDTH = 12
DV_FROM = "dataset_versions dv JOIN datasets d ON d.id = dv.dataset_id"
MV_FROM = "model_versions mv JOIN models m ON m.id = mv.model_id"
EVAL_SELECT = (
    "SELECT e.id, e.name, e.task, e.status, e.params, e.summary, e.headline_metric, "
    "e.headline_value, e.n_samples, e.n_classes, e.created_at, e.artifact_dir, "
    f"{DV_COLUMNS}, {MV_COLUMNS} "
    "FROM evaluations e JOIN dataset_versions dv ON dv.id = e.dataset_version_id "
    "JOIN datasets d ON d.id = dv.dataset_id "
    "LEFT JOIN model_versions mv ON mv.id = e.model_version_id "
    "LEFT JOIN models m ON m.id = mv.model_id"
)


def now_iso() -> str:
    """The current UTC time as ISO 8601 with a ``Z`` suffix, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dataset_version_from_row(row: tuple[Any, ...]) -> DatasetVersion:
    return DatasetVersion(*row[:9])


def model_version_from_row(row: tuple[Any, ...]) -> ModelVersion | None:
    if row[0] is None:
        return None
    return ModelVersion(
        id=row[0],
        model_id=row[1],
        model_name=row[2],
        version=row[3],
        parent_version_id=row[4],
        hash=row[5],
        path=row[6],
        created_at=row[7],
        task=row[8],
        backend=row[9],
        info=json.loads(row[10]) if row[10] else None,
        artifact=row[11],
    )


def evaluation_from_row(row: tuple[Any, ...], home: Path) -> EvaluationRecord:
    return EvaluationRecord(
        id=row[0],
        name=row[1],
        task=row[2],
        status=row[3],
        params=json.loads(row[4]),
        summary=json.loads(row[5]),
        headline_metric=row[6],
        headline_value=row[7],
        n_samples=row[8],
        n_classes=row[9],
        created_at=row[10],
        artifact_dir=home / row[11],
        dataset_version=dataset_version_from_row(row[12:21]),
        model_version=model_version_from_row(row[21 : 21 + MV_WIDTH]),
    )


def job_from_row(row: tuple[Any, ...]) -> JobRecord:
    return JobRecord(
        id=row[0],
        status=row[1],
        evaluation_id=row[2],
        error=row[3],
        created_at=row[4],
        updated_at=row[5],
        kind=row[6],
        model_version_id=row[7],
        dataset_version_id=row[8],
        done=row[9],
        total=row[10],
        started_at=row[11],
        params=json.loads(row[12]) if row[12] else {},
        pid=row[13],
        pid_start=row[14],
    )


JOB_SELECT = (
    "SELECT id, status, evaluation_id, error, created_at, updated_at, kind, model_version_id,"
    " dataset_version_id, done, total, started_at, params, pid, pid_start FROM jobs"
)


class Catalog:
    """Thread-local SQLite connections to one catalog file, and transactions over them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        version = self.query_one("PRAGMA user_version")[0]  # type: ignore[index]
        if version > SCHEMA_VERSION:
            raise AssayError(
                f"{path}: catalog schema version {version} is newer than this Assay "
                f"(knows {SCHEMA_VERSION}); upgrade Assay"
            )
        if version < SCHEMA_VERSION:
            with self.write() as c:
                version = c.execute("PRAGMA user_version").fetchone()[0]  # another process?
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[step].split(";"):
                        if statement.strip():
                            c.execute(statement)
                c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
                )
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
            except sqlite3.Error as exc:
                raise self._disk_error(exc) from None
            self._local.conn = conn
        return conn

    def _disk_error(self, exc: sqlite3.Error) -> Exception:
        """A full or failing disk as one :class:`StorageError` line; other errors unchanged."""
        return storage_error(exc, self.path.parent) or exc

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error
        (a failed ``COMMIT`` included). A full disk or SQLite's "disk I/O error" is raised as
        one :class:`~assay.errors.StorageError` line."""
        conn = self.connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._disk_error(exc) from None
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._disk_error(exc) from None
            raise

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._disk_error(exc) from None

    def query_one(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        try:
            row: tuple[Any, ...] | None = self.connection().execute(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise self._disk_error(exc) from None
        return row

    def close(self) -> None:
        """Close this thread's connection (other threads' close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
