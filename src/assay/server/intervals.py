"""Bootstrap intervals, computed once per evaluation in a worker process and kept on disk.

Bootstrapping a large evaluation takes seconds to minutes: too long for a page load, and too much
Python work to share the server's GIL with. The first request for an evaluation starts
``python -m assay.server.intervals HOME ID N`` and answers ``intervals_status: "pending"`` with no
intervals; the worker writes ``intervals.json`` next to the evaluation's arrays, and later requests
(and later servers) read it.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from assay.server.deps import EvaluationContext
from assay.store import Workspace

logger = logging.getLogger("assay.server")

EXTRA_NAME = "intervals"
WORKER_TIMEOUT_S = 3600


def compute_intervals(home: Path, evaluation_id: int, n: int) -> dict[str, Any]:
    """Load the evaluation, bootstrap it, keep the answer with its artifacts (the worker's job)."""
    workspace = Workspace(home)
    results = workspace.load_results(evaluation_id)
    intervals = {k: v for k, v in results.bootstrap(n=n, seed=0).items() if v is not None}
    workspace.write_extra(evaluation_id, EXTRA_NAME, intervals)
    return intervals


class IntervalsCache:
    """evaluation id -> its bootstrap intervals (status ready / pending / failed)."""

    def __init__(
        self, workspace: Workspace, *, n_classification: int = 200, n_detection: int = 100
    ) -> None:
        self.workspace = workspace
        self.n_classification = n_classification
        self.n_detection = n_detection
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assay-bootstrap")
        self._done: dict[int, dict[str, Any]] = {}
        self._running: dict[int, Future[None]] = {}
        self._failed: dict[int, str] = {}

    def get(self, ctx: EvaluationContext) -> tuple[str, dict[str, Any]]:
        """(status, intervals); starts the computation when there is none yet."""
        key = ctx.record.id
        with self._lock:
            if key in self._done:
                return "ready", self._done[key]
            if key in self._failed:
                return "failed", {}
            if key in self._running:
                return "pending", {}
        stored = self.workspace.read_extra(key, EXTRA_NAME)
        with self._lock:
            if stored is not None:
                self._done[key] = stored
                return "ready", stored
            if key not in self._running:
                n = self.n_detection if ctx.is_detection else self.n_classification
                self._running[key] = self._pool.submit(self._run_worker, key, n)
        return "pending", {}

    def _run_worker(self, key: int, n: int) -> None:
        command = [sys.executable, "-m", "assay.server.intervals", str(self.workspace.home)]
        try:
            proc = subprocess.run(
                [*command, str(key), str(n)],
                capture_output=True,
                text=True,
                timeout=WORKER_TIMEOUT_S,
                check=False,
            )
            stored = self.workspace.read_extra(key, EXTRA_NAME) if proc.returncode == 0 else None
            error = None if stored is not None else _last_line(proc.stderr) or "no intervals"
        except (OSError, subprocess.SubprocessError) as exc:
            stored, error = None, str(exc)
        with self._lock:
            self._running.pop(key, None)
            if stored is not None:
                self._done[key] = stored
            else:
                logger.warning("bootstrap of evaluation %s failed: %s", key, error)
                self._failed[key] = str(error)

    def wait(self, timeout: float | None = 300.0) -> None:
        """Block until the running computations are done (tests, scripts)."""
        with self._lock:
            futures = list(self._running.values())
        for future in futures:
            future.exception(timeout=timeout)

    def forget(self, key: int) -> None:
        with self._lock:
            self._done.pop(key, None)
            self._failed.pop(key, None)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m assay.server.intervals HOME EVALUATION_ID N", file=sys.stderr)
        return 2
    compute_intervals(Path(args[0]), int(args[1]), int(args[2]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
