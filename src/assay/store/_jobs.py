"""The workspace's background jobs: rows in the catalog's ``jobs`` table."""

from __future__ import annotations

import json
from typing import Any

from assay.errors import NotFoundError
from assay.store._util import json_safe, storage_guard
from assay.store.catalog import JOB_SELECT, Catalog, job_from_row, now_iso
from assay.store.records import JobRecord

JOB_STATUSES = ("queued", "running", "done", "failed")


class JobsMixin:
    """Jobs of a :class:`~assay.store.workspace.Workspace` (which provides ``catalog``)."""

    catalog: Catalog

    @storage_guard
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

    @storage_guard
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
