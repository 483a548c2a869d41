"""Embedding maps laid out in the background, one at a time, with progress: the first map of an
evaluation may run its model over the dataset again (its embedding output) and a UMAP of 100k
samples takes a minute, so a request never waits for one. ``POST
/api/evaluations/{id}/embeddings/maps`` starts a map (or finds it), ``GET .../embeddings/map``
answers it once cached (:mod:`assay.store.embeddings`), else how far its run got.

At most ``queue_size`` maps wait or run (429 beyond); the last ``keep`` runs are remembered (a
finished one only to say it failed: a done map is read from the cache on disk).

>>> runs = EmbeddingRuns(workspace)                                   # doctest: +SKIP
>>> runs.start(3, "umap", {"seed": 0})["status"]                      # doctest: +SKIP
'running'
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from assay.errors import AssayError, InputError
from assay.evaluation.embeddings import method_params
from assay.server.jobs import QueueFull
from assay.service.embeddings import cached_map, embedding_map
from assay.store import Workspace
from assay.store.records import PREDICTIONS_STATUS

logger = logging.getLogger("assay.server")

Key = tuple[int, str, str]  # (evaluation, method, parameters as JSON)


@dataclass
class MapRun:
    """One map being laid out: its stage and progress, then done or its error."""

    key: Key
    stage: str = "queued"
    done: int = 0
    total: int = 0
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def public(self) -> dict[str, Any]:
        evaluation_id, method, params = self.key
        base = {"evaluation_id": evaluation_id, "method": method, "params": json.loads(params)}
        if self.error is not None:
            return {**base, "status": "failed", "error": self.error}
        if self.finished.is_set():
            return {**base, "status": "ready"}
        return {
            **base,
            "status": "running",
            "stage": self.stage,
            "done": min(self.done, self.total),
            "total": self.total,
        }


class EmbeddingRuns:
    """The background map runs of one server (a daemon thread: a stopping server never waits).
    ``sandbox``: the limits a model runs under when its embedding output is read."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        keep: int = 16,
        queue_size: int = 4,
        sandbox: Any = None,
    ) -> None:
        self.workspace = workspace
        self.keep = keep
        self.queue_size = queue_size
        self.sandbox = sandbox
        self._runs: OrderedDict[Key, MapRun] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[MapRun] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._own: Workspace | None = None

    @staticmethod
    def key(evaluation_id: int, method: str, params: dict[str, Any] | None) -> Key:
        checked = method_params(method, params)
        return (evaluation_id, method, json.dumps(checked, sort_keys=True))

    def _check(self, evaluation_id: int) -> None:
        record = self.workspace.get_evaluation(evaluation_id)
        if record.status == PREDICTIONS_STATUS:
            raise InputError(
                f"evaluation {evaluation_id} is a prediction run on an unlabeled dataset "
                "version: no outcomes to map"
            )
        if record.status != "done":
            raise InputError(f"evaluation {evaluation_id} is {record.status}: nothing to map")

    def status(
        self, evaluation_id: int, method: str, params: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The run of this map: running (stage, done of total), failed (error), or "missing"
        when none was started (a cached map is answered by the caller)."""
        key = self.key(evaluation_id, method, params)
        with self._lock:
            run = self._runs.get(key)
        if run is None:
            return {
                "evaluation_id": evaluation_id,
                "method": method,
                "params": json.loads(key[2]),
                "status": "missing",
            }
        return run.public()

    def start(
        self,
        evaluation_id: int,
        method: str,
        params: dict[str, Any] | None,
        *,
        retry: bool = False,
    ) -> dict[str, Any]:
        """Start laying out this map unless it is cached or running (a failed one again only
        with ``retry``); its status."""
        self._check(evaluation_id)
        key = self.key(evaluation_id, method, params)
        checked = json.loads(key[2])
        if cached_map(self.workspace, evaluation_id, method, checked) is not None:
            return {"evaluation_id": evaluation_id, "method": method, "params": checked,
                    "status": "ready"}  # fmt: skip
        with self._lock:
            run = self._runs.get(key)
            if run is not None and not (run.finished.is_set() and (retry or run.error is None)):
                self._runs.move_to_end(key)
                return run.public()
            waiting = sum(not r.finished.is_set() for r in self._runs.values())
            if waiting >= self.queue_size:
                raise QueueFull(f"{waiting} embedding maps are waiting; try again when one is done")
            run = MapRun(key=key)
            self._runs[key] = run
            finished = [k for k, r in self._runs.items() if r.finished.is_set()]
            while len(self._runs) > self.keep and finished:
                del self._runs[finished.pop(0)]
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="assay-embeddings", daemon=True
                )
                self._thread.start()
        self._queue.put(run)
        return run.public()

    def wait(self, evaluation_id: int, method: str, params: dict[str, Any] | None,
             timeout: float | None = None) -> None:  # fmt: skip
        """Wait for this map's run to finish (tests, the CLI)."""
        with self._lock:
            run = self._runs.get(self.key(evaluation_id, method, params))
        if run is not None:
            run.finished.wait(timeout)

    def _work(self) -> None:
        while True:
            run = self._queue.get()
            try:
                self._compute(run)
            finally:
                run.finished.set()
                self._queue.task_done()

    def _compute(self, run: MapRun) -> None:
        evaluation_id, method, params = run.key

        def progress(stage: str, done: int, total: int) -> None:
            run.stage, run.done, run.total = stage, done, total

        if self._own is None:  # results objects of its own: the views' stay on the event loop
            self._own = Workspace(self.workspace.home, cache_size=2)
        try:
            embedding_map(
                self._own,
                evaluation_id,
                method,
                json.loads(params),
                progress=progress,
                sandbox=self.sandbox,
            )
        except AssayError as exc:  # one line meant for the user (an extra missing, bad data)
            run.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - the answer says it failed; the log has why
            logger.exception("embedding map of evaluation %s failed", evaluation_id)
            run.error = f"the map could not be computed ({type(exc).__name__})"
