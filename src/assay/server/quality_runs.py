"""Data-quality analyses run in the background, one at a time, so a request never waits the
seconds to a minute that the properties of a large set take: ``GET /api/evaluations/{id}/quality``
starts one (or finds it), and answers how far it got until it is ready.

At most ``queue`` analyses wait or run (429 beyond); the last ``keep`` answers are kept, each until
its dataset version's samples table is replaced (media attached by a later run). The properties
themselves are cached on disk per dataset version by :mod:`assay.service.quality`, so after a
restart only the ranking is computed again.

>>> runs = QualityRuns(workspace)                       # doctest: +SKIP
>>> runs.answer(3, None)["status"]                      # doctest: +SKIP
'running'
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from assay.errors import AssayError, InputError
from assay.server.deps import SampleLookup
from assay.server.jobs import QueueFull
from assay.service.quality import analyze_stored
from assay.store import Workspace
from assay.store.records import PREDICTIONS_STATUS

logger = logging.getLogger("assay.server")

Key = tuple[int, int | None]  # (evaluation, training dataset version)
Analyze = Callable[..., dict[str, Any]]
REF_FIELDS = ("text", "media_url", "thumbnail_url")


@dataclass
class Run:
    """One analysis: its stage and progress, then its answer or its error."""

    key: Key
    table: pa.Table  # the samples table it was computed on
    total: int
    stage: str = "queued"
    done: int = 0
    answer: dict[str, Any] | None = None
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def public(self) -> dict[str, Any]:
        if self.answer is not None:
            return self.answer
        if self.error is not None:
            return {"status": "failed", "evaluation_id": self.key[0], "error": self.error}
        return {
            "status": "running",
            "evaluation_id": self.key[0],
            "stage": self.stage,
            "done": min(self.done, self.total),
            "total": self.total,
        }


class QualityRuns:
    """The background analyses of one server (a daemon thread: a stopping server never waits)."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        keep: int = 8,
        queue_size: int = 8,
        wait_s: float = 0.5,
        analyze: Analyze = analyze_stored,
    ) -> None:
        self.workspace = workspace
        self.keep = keep
        self.queue_size = queue_size
        self.wait_s = wait_s  # how long a request waits for an answer before saying "running"
        self._analyze = analyze
        self._runs: OrderedDict[Key, Run] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[Run] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._own: Workspace | None = None  # the worker's workspace

    # ---------------------------------------------------------------- requests

    def answer(
        self, evaluation_id: int, train: int | None, *, retry: bool = False
    ) -> dict[str, Any]:
        """The analysis of an evaluation (``train``: a training dataset version for the leakage
        check), started when there is none; a failed one starts again with ``retry``."""
        run = self.run(evaluation_id, train, retry=retry)
        run.finished.wait(self.wait_s)
        return run.public()

    def run(self, evaluation_id: int, train: int | None, *, retry: bool = False) -> Run:
        """The run of (evaluation, train), started when there is none (404 / 422 at once for an
        unknown or unfinished evaluation, an unknown training set)."""
        ws = self.workspace
        record = ws.get_evaluation(evaluation_id)
        if record.status == PREDICTIONS_STATUS:
            raise InputError(
                f"evaluation {evaluation_id} is a prediction run on an unlabeled dataset "
                "version: no labels, so no metrics and no data quality to analyse"
            )
        if record.status != "done":
            raise InputError(f"evaluation {evaluation_id} is {record.status}: nothing to analyse")
        if train is not None:
            ws.get_dataset_version(train)
            if train == record.dataset_version.id:
                raise InputError(
                    f"train: dataset version {train} is the evaluated set itself; name the "
                    "training set's version"
                )
        table = ws.samples_table(record.dataset_version.id)
        key = (evaluation_id, train)
        with self._lock:
            run = self._runs.get(key)
            if run is not None:
                stale = run.table is not table and run.finished.is_set()
                if not stale and not (retry and run.error is not None):
                    self._runs.move_to_end(key)
                    return run
            waiting = sum(not r.finished.is_set() for r in self._runs.values())
            if waiting >= self.queue_size:
                raise QueueFull(
                    f"{waiting} data-quality analyses are waiting; try again when one is done"
                )
            run = Run(key=key, table=table, total=record.n_samples)
            self._runs[key] = run
            self._runs.move_to_end(key)
            self._trim()
            self._start()
        self._queue.put(run)
        return run

    def ready(self, evaluation_id: int) -> bool:
        """Whether a finished analysis of the evaluation is kept here (any training set); only
        looks, never starts one."""
        with self._lock:
            return any(
                eid == evaluation_id and run.answer is not None
                for (eid, _), run in self._runs.items()
            )

    def in_flight(self, evaluation_id: int) -> Run | None:
        """A run of the evaluation still computing its properties (None when there is none)."""
        with self._lock:
            for (eid, _), run in self._runs.items():
                computing = run.stage in ("queued", "properties") and not run.finished.is_set()
                if eid == evaluation_id and computing:
                    return run
        return None

    def _trim(self) -> None:
        finished = [k for k, r in self._runs.items() if r.finished.is_set()]
        while len(self._runs) > self.keep and finished:
            del self._runs[finished.pop(0)]

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="assay-quality", daemon=True)
            self._thread.start()

    # ---------------------------------------------------------------- the worker

    def _work(self) -> None:
        while True:
            run = self._queue.get()
            try:
                self._compute(run)
            finally:
                run.finished.set()
                self._queue.task_done()

    def _compute(self, run: Run) -> None:
        evaluation_id, train = run.key
        run.stage = "properties"

        def progress(done: int, total: int) -> None:
            run.done, run.total = int(done), int(total)
            if total and done >= total:
                run.stage = "analysis"

        started = time.perf_counter()
        if self._own is None:  # results objects of its own: the views' stay on the event loop
            self._own = Workspace(self.workspace.home, cache_size=2)
        try:
            # threads, never forked processes: this process runs the server's other threads
            answer = self._analyze(
                self._own, evaluation_id, train=train, progress=progress, processes=False
            )
            run.stage = "analysis"
            run.answer = self._decorate(answer, evaluation_id, train)
        except AssayError as exc:  # one line meant for the user (an extra missing, bad data)
            run.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - the answer says it failed; the log has why
            logger.error("data-quality analysis of evaluation %s failed", evaluation_id,
                         exc_info=exc)  # fmt: skip
            run.error = f"the analysis failed ({type(exc).__name__}; logged by the server)"
        logger.info(
            "data-quality analysis of evaluation %s: %s in %.1f s",
            evaluation_id,
            "failed" if run.error else "ready",
            time.perf_counter() - started,
        )

    def _decorate(
        self, answer: dict[str, Any], evaluation_id: int, train: int | None
    ) -> dict[str, Any]:
        """The store's answer with status, name and media, and the samples it names with their
        text and media URLs (the training set's for leakage)."""
        ws = self._own or self.workspace
        record = ws.get_evaluation(evaluation_id)
        dv = record.dataset_version.id
        lookup = SampleLookup(dv, ws.samples_table(dv))
        out = {"status": "ready", **answer, "name": record.name, "media": lookup.media}
        dup = dict(answer["duplicates"])
        dup["groups"] = [
            {
                **g,
                "items": refs(
                    lookup,
                    [{"index": i, "id": s} for i, s in zip(g["indices"], g["ids"], strict=True)],
                ),
            }  # fmt: skip
            for g in dup["groups"]
        ]
        if dup.get("leakage") is not None and train is not None:
            rows = refs(lookup, [dict(r) for r in dup["leakage"]])
            theirs = SampleLookup(train, ws.samples_table(train))
            mirrored = refs(theirs, [{"index": r["train_index"]} for r in rows])
            for row, other in zip(rows, mirrored, strict=True):
                if "text" in other:
                    row["train_text"] = other["text"]
                if "thumbnail_url" in other:
                    row["train_thumbnail_url"] = other["thumbnail_url"]
            dup["leakage"] = rows
        out["duplicates"] = dup
        out["label_issues"] = refs(lookup, [dict(r) for r in answer["label_issues"]])
        return out


def refs(lookup: SampleLookup, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` (dicts with an ``index``) with the sample's text and media URLs, in place."""
    lookup.decorate(items)
    for item in items:
        item.pop("metadata", None)
    return items
