"""Background evaluation jobs: files on the server's disk evaluated in a worker thread and stored.

>>> runner = JobRunner(workspace)  # doctest: +SKIP
>>> job = runner.submit(EvaluationCreate(gt="gt.csv", pred="pred.csv"))  # doctest: +SKIP
>>> workspace.get_job(job.id).status  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from assay.errors import InputError
from assay.server.schemas import EvaluationCreate
from assay.store import JobRecord, Workspace

logger = logging.getLogger("assay.server")


class JobRunner:
    """Runs evaluation jobs one at a time in a worker thread; their state lives in the catalog."""

    def __init__(self, workspace: Workspace, *, workers: int = 1) -> None:
        self.workspace = workspace
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assay-job")
        self.futures: dict[int, Future[None]] = {}

    def submit(self, request: EvaluationCreate) -> JobRecord:
        """Check the paths now (a bad one is a 422, not a failed job), then queue the job."""
        for field in ("gt", "pred"):
            path = Path(getattr(request, field)).expanduser()
            if not path.exists():
                raise InputError(f"{field}: no such file or folder: {path}")
        job = self.workspace.create_job(request.model_dump())
        self.futures[job.id] = self._pool.submit(self._run, job.id, request)
        return job

    def _run(self, job_id: int, request: EvaluationCreate) -> None:
        from assay.evaluation.run import evaluate_files
        from assay.store.runs import save_run

        ws = self.workspace
        ws.update_job(job_id, status="running")
        try:
            run = evaluate_files(
                Path(request.gt).expanduser(),
                Path(request.pred).expanduser(),
                task=request.task,
                threshold=request.threshold,
            )
            record = save_run(
                ws,
                run,
                model=request.model,
                name=request.name,
                params={"threshold": request.threshold},
            )
        except Exception as exc:  # noqa: BLE001 - any failure is the job's error, in one line
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            logger.warning("job %s failed: %s", job_id, message)
            ws.update_job(job_id, status="failed", error=message)
            return
        ws.update_job(job_id, status="done", evaluation_id=record.id)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Block until a job submitted here has finished (for tests and scripts)."""
        future = self.futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
