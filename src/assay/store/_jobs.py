"""The workspace's background jobs: rows in the catalog's ``jobs`` table.

A job is of ``kind`` "files" (an evaluation of a ground-truth file and a predictions file) or
"model" (a registered model version run over a registered dataset version). It goes
``queued`` -> ``running`` (:meth:`JobsMixin.start_job`, with progress through
:meth:`JobsMixin.update_job_progress`) -> ``done`` / ``failed`` (:meth:`JobsMixin.update_job`).

A job that has ended (``done`` or ``failed``, a cancelled one included) is final: a later
:meth:`JobsMixin.start_job` or :meth:`JobsMixin.update_job` leaves it as it is, so a cancellation
always wins over a process that finishes after it. Asked with ``dedupe``, :meth:`create_job` gives
back a job still queued or running of the same kind and params instead of a second one.
"""

from __future__ import annotations

import json
from typing import Any

from assay.errors import NotFoundError
from assay.store._util import json_safe, storage_guard
from assay.store.catalog import JOB_SELECT, Catalog, job_from_row, now_iso
from assay.store.records import JobRecord

JOB_STATUSES = ("queued", "running", "done", "failed")
UNFINISHED = ("queued", "running")
JOB_KINDS = ("files", "model", "optimize", "profile")


class JobsMixin:
    """Jobs of a :class:`~assay.store.workspace.Workspace` (which provides ``catalog``)."""

    catalog: Catalog

    @storage_guard
    def create_job(
        self,
        params: dict[str, Any] | None = None,
        *,
        kind: str = "files",
        model_version_id: int | None = None,
        dataset_version_id: int | None = None,
        dedupe: bool = False,
    ) -> JobRecord:
        """A new job in status ``queued``. A "model" job names the model and dataset versions it
        runs (unknown ids are a :class:`NotFoundError`). With ``dedupe``, a job of this kind
        and these params (and versions) still queued or running is given back instead."""
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        stamp = now_iso()
        wanted = json.loads(json.dumps(json_safe(params or {})))
        with self.catalog.write() as conn:
            if dedupe:
                for job_id, text, mv, dv in conn.execute(
                    "SELECT id, params, model_version_id, dataset_version_id FROM jobs"
                    " WHERE kind = ? AND status IN ('queued', 'running') ORDER BY id",
                    (kind,),
                ).fetchall():
                    same_versions = (mv, dv) == (model_version_id, dataset_version_id)
                    if same_versions and json.loads(text or "{}") == wanted:
                        existing = int(job_id)
                        break
                else:
                    existing = 0
                if existing:
                    return self.get_job(existing)
            for table, version_id in (
                ("model_versions", model_version_id),
                ("dataset_versions", dataset_version_id),
            ):
                if (
                    version_id is not None
                    and not conn.execute(
                        f"SELECT 1 FROM {table} WHERE id = ?", (version_id,)
                    ).fetchone()
                ):
                    raise NotFoundError(f"{table[:-1].replace('_', ' ')} {version_id} not found")
            cur = conn.execute(
                "INSERT INTO jobs (status, params, created_at, updated_at, kind, model_version_id,"
                " dataset_version_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    "queued",
                    json.dumps(json_safe(params or {})),
                    stamp,
                    stamp,
                    kind,
                    model_version_id,
                    dataset_version_id,
                ),
            )
            job_id = int(cur.lastrowid or 0)
        return self.get_job(job_id)

    @storage_guard
    def start_job(
        self, job_id: int, *, pid: int | None = None, pid_start: int | None = None
    ) -> JobRecord:
        """Mark a job ``running`` and record when it started and the process running it
        (``pid``, and ``pid_start``: when that process started, so a reused pid is told apart).
        A job that has ended (cancelled, say) stays as it is: the caller sees its status and
        does not run it."""
        stamp = now_iso()
        with self.catalog.write() as conn:
            cur = conn.execute(
                "UPDATE jobs SET status = 'running', started_at = ?, updated_at = ?,"
                " pid = COALESCE(?, pid), pid_start = CASE WHEN ? IS NULL THEN pid_start ELSE ?"
                " END WHERE id = ? AND status IN ('queued', 'running')",
                (stamp, stamp, pid, pid, pid_start, job_id),
            )
            if cur.rowcount == 0:
                self._exists(conn, job_id)
        return self.get_job(job_id)

    @staticmethod
    def _exists(conn: Any, job_id: int) -> None:
        if conn.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is None:
            raise NotFoundError(f"job {job_id} not found")

    @storage_guard
    def update_job_progress(self, job_id: int, done: int, total: int | None) -> None:
        """Record how many of ``total`` samples a running job has done."""
        if done < 0 or (total is not None and total < 0):
            raise ValueError(f"bad progress {done} of {total}")
        with self.catalog.write() as conn:
            cur = conn.execute(
                "UPDATE jobs SET done = ?, total = ?, updated_at = ? WHERE id = ?",
                (int(done), None if total is None else int(total), now_iso(), job_id),
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"job {job_id} not found")

    @storage_guard
    def update_job(
        self,
        job_id: int,
        *,
        status: str,
        evaluation_id: int | None = None,
        error: str | None = None,
    ) -> JobRecord:
        """Set a job's status (with its evaluation or error). A job that has ended is final: it
        is given back as it is (a job cancelled while it ran is never marked done after)."""
        if status not in JOB_STATUSES:
            raise ValueError(f"unknown job status {status!r}")
        with self.catalog.write() as conn:
            cur = conn.execute(
                "UPDATE jobs SET status = ?, evaluation_id = COALESCE(?, evaluation_id), error = ?,"
                " updated_at = ? WHERE id = ? AND status IN ('queued', 'running')",
                (status, evaluation_id, error, now_iso(), job_id),
            )
            if cur.rowcount == 0:
                self._exists(conn, job_id)
        return self.get_job(job_id)

    def get_job(self, job_id: int) -> JobRecord:
        row = self.catalog.query_one(f"{JOB_SELECT} WHERE id = ?", (job_id,))
        if row is None:
            raise NotFoundError(f"job {job_id} not found")
        return job_from_row(row)

    def list_jobs(
        self, *, model_version_id: int | None = None, status: str | None = None
    ) -> list[JobRecord]:
        """Jobs, newest first; only those of a model version / in a status when given."""
        clauses: list[str] = []
        args: list[Any] = []
        if model_version_id is not None:
            clauses.append("model_version_id = ?")
            args.append(model_version_id)
        if status is not None:
            clauses.append("status = ?")
            args.append(status)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.catalog.query(f"{JOB_SELECT}{where} ORDER BY id DESC", tuple(args))
        return [job_from_row(row) for row in rows]

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
