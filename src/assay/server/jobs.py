"""Background evaluation jobs, each in a process of its own: files on the server's disk evaluated
and stored ("files" jobs), or a registered model version run over a dataset version ("model"
jobs: the "Calculate" of the Models page).

A process can be stopped safely at any moment (the store leaves nothing half-written when one dies
mid-save), so a job can be cancelled while it runs, a job past its time limit is stopped, and
stopping the server never waits for a job. A job's process dies with its server (Linux: a parent
death signal), records its pid, and a server that starts after another died makes sure no job
process of the old one still runs before it resumes a job (and never resumes an ended one: a
cancellation always wins). The same job (kind and params) submitted while it waits or runs is
that job (its id is given back). At most ``workers`` jobs run at once and at most
``queue_size`` wait (a further submission is refused with 429). Job states live in the catalog:
queued, running, done, failed (a cancelled or stopped job is ``failed`` with the reason as its
error). A job whose process could not record its own failure (a full disk) is failed by the
dispatcher; an outcome the dispatcher cannot write either is kept and tried again every
``RETRY_WRITE_SECONDS`` (and a job it cannot mark running waits in the queue), so none is lost.
Model jobs write their progress (samples done of total) to the catalog and stream their
predictions to the work folder :mod:`assay.service.runs` names for their inputs, so a job that a
stopped server left queued or running is queued again when the next server starts and resumes
from the batches already written (and ``assay evaluate --model`` over the same dataset source
resumes it too). One job per model version runs at a time; the rest wait in
order. A model job runs its model on the request's ``device`` (the CPU by default); a server
started with ``assay serve --ray ADDRESS`` sends its model jobs' batches to that Ray cluster
(:mod:`assay.runners.ray_run`), each actor running the model in its own sandboxed worker.

>>> runner = JobRunner(workspace, limits=Limits())  # doctest: +SKIP
>>> job = runner.submit({"gt": "/data/gt.csv", "pred": "/data/pred.csv"})  # doctest: +SKIP
>>> runner.cancel(job.id)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from assay.errors import NotFoundError, one_line
from assay.server.config import Limits
from assay.store import JobRecord, Workspace

logger = logging.getLogger("assay.server")

CANCELLED = "cancelled"
INTERRUPTED = "interrupted: the server stopped"

JobTarget = Callable[[Workspace, dict[str, Any]], int | None]
PROGRESS_EVERY = 0.25  # seconds between two progress writes of a model job
RETRY_WRITE_SECONDS = 1.0  # seconds between two tries of an outcome the dispatcher could not write


class QueueFull(Exception):
    """Too many jobs waiting (a 429)."""


class JobFinished(Exception):
    """The job has already ended (a 409 for a cancellation)."""


class FinishedElsewhere(Exception):
    """A model job's run was finished and stored by another side (``assay evaluate --model``
    over the same dataset source, resuming the batches the job wrote): the job ends done with
    that evaluation, which is not the job's to remove."""

    def __init__(self, evaluation_id: int) -> None:
        super().__init__(f"finished elsewhere as evaluation {evaluation_id}")
        self.evaluation_id = evaluation_id


def evaluate_job(workspace: Workspace, params: dict[str, Any]) -> int:
    """The job body: evaluate the files and store the run; the new evaluation's id."""
    from assay.evaluation.run import evaluate_files
    from assay.service.runs import save_run

    run = evaluate_files(
        Path(params["gt"]),
        Path(params["pred"]),
        task=params.get("task"),
        threshold=params.get("threshold"),
    )
    run.results.set_default_point(_given_point(params))
    record = save_run(workspace, run, model=params.get("model"), name=params.get("name"), params={})
    return record.id


def _given_point(params: dict[str, Any]) -> Any:
    """The operating point a job's request gave (None fields: the task's defaults)."""
    from assay.evaluation.results import OperatingPoint

    return OperatingPoint(
        threshold=params.get("threshold"), iou=params.get("iou"), score=params.get("score")
    )


def model_job(workspace: Workspace, params: dict[str, Any]) -> int:
    """The body of a model job: run the stored model over the dataset version's ground truth
    (re-read from its source, checked unchanged), evaluate and store; the evaluation's id."""
    from assay.service.runs import (
        DEFAULT_BATCH,
        run_device,
        run_model,
        store_model_run,
        work_folder,
    )

    job_id = int(params["job_id"])
    mv_id, dv_id = int(params["model_version_id"]), int(params["dataset_version_id"])
    batch = int(params.get("batch_size", DEFAULT_BATCH))
    device = params.get("device")
    ray = params.get("ray")  # RayOptions of a server started with --ray
    if ray is not None:
        from dataclasses import replace

        ray = replace(ray, device=device, sandbox=params.get("sandbox"))
    finished = _stored_since(workspace, workspace.get_job(job_id), batch, device)
    if finished is not None:
        raise FinishedElsewhere(finished)
    from assay.service.unlabeled import is_unlabeled, run_predictions, stored_prediction_run

    if is_unlabeled(workspace, dv_id):  # no labels: a prediction run, scores kept, no metrics
        reused = stored_prediction_run(workspace, mv_id, dv_id)
        if reused is not None:  # the same model on the same data: that run, not a second one
            raise FinishedElsewhere(reused)
        runner = workspace.load_model_runner(mv_id, sandbox=params.get("sandbox"), device=device)
        return run_predictions(
            workspace, mv_id, dv_id, batch=batch, name=params.get("name"),
            progress=_progress_writer(workspace, job_id), runner=runner,
        ).id  # fmt: skip
    dataset = workspace.get_dataset_version(dv_id)
    gt = workspace.dataset_ground_truth(dv_id)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY or done >= total:
            last[0] = now
            workspace.update_job_progress(job_id, done, total)

    images_root = workspace.media_root(dv_id) if dataset.task == "detection" else None
    # the model runs in a sandboxed worker of this job's process (it reads only its stored copy);
    # with Ray, this copy only describes the model and the actors run it
    runner = workspace.load_model_runner(
        mv_id, sandbox=params.get("sandbox"), device=None if ray is not None else device
    )
    used = run_device(runner, ray)
    # dataset_ground_truth checked the source still hashes to the version's: no second hash
    work = work_folder(
        workspace, mv_id, gt, batch=batch, task=dataset.task, images_root=images_root,
        content=dataset.hash, device=used,
    )  # fmt: skip
    run = run_model(
        workspace,
        mv_id,
        gt,
        task=dataset.task,
        threshold=params.get("threshold"),
        images_root=images_root,
        batch=batch,
        progress=progress,
        runner=runner,
        work=work,
        ray=ray,
    )
    run.results.set_default_point(_given_point(params))
    stored: dict[str, Any] = {"device": used}
    if ray is not None:
        stored["ray"] = {"workers": ray.workers, "gpus_per_worker": ray.gpus_per_worker}
    record = store_model_run(
        workspace, run, mv_id, batch=batch, dataset=dataset.dataset_name, name=params.get("name"),
        params=stored,
    )  # fmt: skip
    return record.id


def optimize_job(workspace: Workspace, params: dict[str, Any]) -> None:
    """The body of an optimize job (the Models page's "Optimize to INT8"): the INT8 child of the
    model version, calibrated on the dataset version, registered with its parent
    (:func:`assay.service.optimize.optimize_int8`); progress: calibration images read."""
    from assay.service.optimize import optimize_int8

    job_id = int(params["job_id"])
    optimize_int8(
        workspace,
        int(params["model_version_id"]),
        calibration=int(params["dataset_version_id"]),
        samples=int(params.get("samples") or 300),
        version=params.get("version"),
        exclude=params.get("exclude") or (),
        exclude_head=bool(params.get("exclude_head")),
        progress=_progress_writer(workspace, job_id),
    )


def profile_job(workspace: Workspace, params: dict[str, Any]) -> None:
    """The body of a profile job (the Models page's "Profile"): the version's profile, stored
    with it (:func:`assay.service.profile.profile_model`); progress: timed calls done."""
    from assay.service.profile import profile_model

    job_id = int(params["job_id"])
    profile_model(
        workspace,
        int(params["model_version_id"]),
        batches=[int(b) for b in params.get("batches") or (1, 8, 32)],
        device=str(params.get("device") or "cpu"),
        runs=int(params.get("runs") or 30),
        progress=_progress_writer(workspace, job_id),
    )


def _progress_writer(workspace: Workspace, job_id: int) -> Callable[[int, int], None]:
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY or done >= total:
            last[0] = now
            workspace.update_job_progress(job_id, done, total)

    return progress


def _stored_since(
    workspace: Workspace, job: JobRecord, batch: int, device: str | None = None
) -> int | None:
    """An evaluation of the job's model version on its dataset version, run at its batch size
    (and on its ``device``, unless that is ``auto``) and stored after the job was created (by
    the CLI, resuming the job's work folder), or None."""
    from assay.runners.devices import device_key, parse_device

    wanted = None if device == "auto" else device_key(parse_device(device))
    for record in workspace.list_evaluations():  # newest first
        if record.created_at < job.created_at:
            break
        if (
            record.model_version is not None
            and record.model_version.id == job.model_version_id
            and record.dataset_version.id == job.dataset_version_id
            and (record.params or {}).get("batch") == batch
            and (
                device == "auto"
                or device_key(str((record.params or {}).get("device", "cpu"))) == wanted
            )
        ):
            return record.id
    return None


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux ``PR_SET_PDEATHSIG``;
    elsewhere nothing); exit at once when the parent is already gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the server died before the signal was armed
        os._exit(1)


def _job_process(
    home: str,
    job_id: int,
    params: dict[str, Any],
    target: JobTarget,
    parent: int | None = None,
    sandbox: Any = None,
    ray: Any = None,
) -> None:
    """The child process: run the job and write its outcome to the catalog. A job that has
    ended before it starts (cancelled) is not run; an evaluation stored by a job cancelled while
    it ran is removed again (the job stays cancelled)."""
    if parent is not None:
        die_with_parent(parent)
    workspace = Workspace(home)
    try:
        me = os.getpid()
        if workspace.start_job(job_id, pid=me, pid_start=process_start(me)).status != "running":
            return
        given = {**params, "job_id": job_id}
        if sandbox is not None and params.get("kind") == "model":
            given["sandbox"] = sandbox  # the bounds of the model's worker
        if ray is not None and params.get("kind") == "model":
            given["ray"] = ray  # the cluster its batches go to
        evaluation_id = target(workspace, given)
    except FinishedElsewhere as done:
        workspace.update_job(job_id, status="done", evaluation_id=done.evaluation_id)
    except Exception as exc:  # noqa: BLE001 - any failure is the job's error, in one line
        workspace.update_job(job_id, status="failed", error=one_line(exc))
    else:
        ended = workspace.update_job(job_id, status="done", evaluation_id=evaluation_id)
        if ended.status != "done" and evaluation_id is not None:
            with contextlib.suppress(NotFoundError):
                workspace.delete_evaluation(evaluation_id)
    finally:
        workspace.close()


def process_start(pid: int) -> int | None:
    """When process ``pid`` started: ``starttime`` of /proc/<pid>/stat (clock ticks after
    boot); None where there is no /proc or no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()  # the name, in parentheses, may hold spaces
    try:
        return int(fields[19])  # field 22 of stat; fields[0] is field 3 (the state)
    except (IndexError, ValueError):
        return None


def _is_job_process(pid: int, start: int | None = None) -> bool:
    """Whether ``pid`` is a live job process (a spawned Python child, not a zombie) and, with
    ``start`` (its :func:`process_start` recorded by the job), the same process: a pid that the
    kernel has since given to another process is not the old job."""
    if pid <= 0 or pid == os.getpid():
        return False
    if start is not None and process_start(pid) not in (start, None):
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or another user's: not ours
        return False
    proc = Path(f"/proc/{pid}")
    if not proc.exists():  # no /proc: alive is all that can be told
        return True
    try:
        if "\nState:\tZ" in (proc / "status").read_text():
            return False
        return b"multiprocessing" in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def end_stray_process(pid: int, timeout: float = 10.0, start: int | None = None) -> bool:
    """Kill a job process a dead server left running and wait until it is gone; whether one
    was running. With ``start`` (when the job's process started, as it recorded), a process
    that has the pid now but started at another time is another process: left alone."""
    if not _is_job_process(pid, start):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while _is_job_process(pid, start) and time.monotonic() < deadline:
        time.sleep(0.02)
    logger.warning("killed job process %d left by a stopped server", pid)
    return True


@dataclass
class _Running:
    process: BaseProcess
    started: float
    model_version_id: int | None = None


class JobRunner:
    """A bounded pool of job processes fed from a bounded queue by one dispatcher thread."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        limits: Limits,
        target: JobTarget = evaluate_job,
        model_target: JobTarget = model_job,
        sandbox: Any = None,
        ray: Any = None,
    ) -> None:
        self.workspace = workspace
        self.sandbox = sandbox  # SandboxLimits of a model job's worker (None: in the job process)
        self.ray = ray  # RayOptions: model jobs predict on this Ray cluster (None: in the job)
        self.limits = limits
        self.targets = {
            "files": target,
            "model": model_target,
            "optimize": optimize_job,
            "profile": profile_job,
        }
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self._queue: deque[tuple[int, dict[str, Any]]] = deque()
        self._running: dict[int, _Running] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._done: dict[int, threading.Event] = {}
        # outcomes the dispatcher could not write (a full disk): job id -> reason, tried again
        self._unwritten: dict[int, str | None] = {}
        self._retry_at = 0.0
        self._start_after = 0.0  # a "running" write failed: no job starts before this
        self._stopping = False
        # started with the first job: a server that never runs one has no dispatcher polling
        self._thread = threading.Thread(target=self._loop, name="assay-jobs", daemon=True)

    # ------------------------------------------------------------------ requests

    def submit(self, params: dict[str, Any], *, kind: str = "files") -> JobRecord:
        """Queue a job (its paths or versions already checked); ``QueueFull`` when too many
        wait. A "model" job's params name ``model_version_id`` and ``dataset_version_id``. The
        same job (kind and params) still waiting or running here is given back instead of a new
        one; a files job's file that is the workspace's own is refused (InputError)."""
        if kind == "files":
            for field in ("gt", "pred"):
                self.workspace.refuse_own(params.get(field), field)
        with self._lock:
            if len(self._queue) >= self.limits.job_queue:
                raise QueueFull(f"{len(self._queue)} jobs are waiting already; try again later")
            if self._stopping:
                raise QueueFull("the server is stopping")
            job = self.workspace.create_job(
                params,
                kind=kind,
                model_version_id=params.get("model_version_id"),
                dataset_version_id=params.get("dataset_version_id"),
                dedupe=True,
            )
            if job.id in self._done:  # the same job, already here
                return job
            self._enqueue(job.id, kind, params)
        self._wake.set()
        return job

    def _enqueue(self, job_id: int, kind: str, params: dict[str, Any]) -> None:
        self._queue.append((job_id, {**params, "kind": kind}))
        self._done[job_id] = threading.Event()
        if not self._thread.is_alive():
            self._thread.start()

    def recover(self) -> tuple[int, int]:
        """At start: queue again the model jobs a stopped server left queued or running (they
        resume from the predictions already written) and fail the files jobs it left (their
        reason: the server stopped). A job process the old server left running is killed (and
        gone) first; a job that ended meanwhile (done, or cancelled) is left as it is.
        (resumed, failed)."""
        resumed = failed = 0
        for job in self.workspace.list_jobs():
            if job.status in ("queued", "running") and job.pid is not None:
                end_stray_process(job.pid, start=job.pid_start)
        for job in sorted(self.workspace.list_jobs(), key=lambda j: j.id):
            if job.status not in ("queued", "running"):
                continue
            if job.kind != "model":
                self.workspace.update_job(job.id, status="failed", error=INTERRUPTED)
                failed += 1
                continue
            if self.workspace.update_job(job.id, status="queued").status != "queued":
                continue  # it ended meanwhile (cancelled): never run again
            with self._lock:
                self._enqueue(job.id, "model", dict(job.params))
            resumed += 1
        if resumed:
            self._wake.set()
        return resumed, failed

    def position(self, job_id: int) -> int | None:
        """A queued job's place in the queue (1: next), None when it is not waiting here."""
        with self._lock:
            for i, (queued_id, _) in enumerate(self._queue, start=1):
                if queued_id == job_id:
                    return i
        return None

    def cancel(self, job_id: int) -> JobRecord:
        """Cancel a job: a queued one never starts, a running one is stopped. ``JobFinished``
        when it has already ended (done jobs keep their evaluation)."""
        job = self.workspace.get_job(job_id)
        with self._lock:
            queued = next((item for item in self._queue if item[0] == job_id), None)
            if queued is not None:
                self._queue.remove(queued)
                self.workspace.update_job(job_id, status="failed", error=CANCELLED)
                self._finish(job_id)
                return self.workspace.get_job(job_id)
            running = self._running.pop(job_id, None)
        if running is None:
            if job.status in ("queued", "running"):  # another server's job, or a stale row
                raise JobFinished(f"job {job_id} is not run by this server")
            raise JobFinished(f"job {job_id} has already ended ({job.status})")
        self._stop(running.process)
        self._settle(job_id, running.process, CANCELLED)
        return self.workspace.get_job(job_id)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Block until a job submitted here has ended (for tests and scripts)."""
        event = self._done.get(job_id)
        if event is not None and not event.wait(timeout):
            raise TimeoutError(f"job {job_id} still running after {timeout} s")

    def shutdown(self) -> None:
        """Stop every running job (failed: interrupted) and drop the queue; never waits long."""
        with self._lock:
            self._stopping = True
            queued = list(self._queue)
            self._queue.clear()
            running = dict(self._running)
            self._running.clear()
        self._wake.set()
        for job_id, _ in queued:
            self._mark(job_id, INTERRUPTED)
        for job_id, item in running.items():
            self._stop(item.process)
            self._settle(job_id, item.process, INTERRUPTED)
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        for job_id, reason in list(self._unwritten.items()):  # a last try; else the next server
            self._settle(job_id, None, reason)  # finds it queued or running (``recover``)

    def counts(self) -> dict[str, int]:
        """Jobs queued and running now."""
        with self._lock:
            return {"queued": len(self._queue), "running": len(self._running)}

    # ------------------------------------------------------------------ the dispatcher

    def _loop(self) -> None:
        while not self._stopping:
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - the dispatcher must survive a catalog hiccup
                logger.exception("job dispatcher")
            self._wake.wait(0.05)
            self._wake.clear()

    def _tick(self) -> None:
        now = time.monotonic()
        if self._unwritten and now >= self._retry_at:
            self._retry_at = now + RETRY_WRITE_SECONDS
            for job_id, reason in list(self._unwritten.items()):
                self._settle(job_id, None, reason)
        with self._lock:
            ended = {i: r for i, r in self._running.items() if not r.process.is_alive()}
            late = {
                i: r
                for i, r in self._running.items()
                if i not in ended and now - r.started > self.limits.job_seconds
            }
            for job_id in (*ended, *late):
                del self._running[job_id]
            while len(self._running) < self.limits.job_workers and now >= self._start_after:
                picked = self._next_startable()
                if picked is None:
                    break
                job_id, params = picked
                target = self.targets[params.get("kind", "files")]
                process = self._context.Process(
                    target=_job_process,
                    args=(
                        str(self.workspace.home),
                        job_id,
                        params,
                        target,
                        os.getpid(),
                        self.sandbox,
                        self.ray,
                    ),
                    name=f"assay-job-{job_id}",
                    daemon=True,
                )
                try:
                    self.workspace.update_job(job_id, status="running")
                except Exception:  # noqa: BLE001 - the catalog refused: the job waits again
                    self._queue.appendleft((job_id, params))
                    self._start_after = now + RETRY_WRITE_SECONDS
                    logger.warning("job %d: could not be marked running; tried again", job_id)
                    break
                self._running[job_id] = _Running(process, now, params.get("model_version_id"))
                process.start()
        for job_id, item in ended.items():
            self._settle(job_id, item.process, None)
        for job_id, item in late.items():
            self._stop(item.process)
            self._settle(job_id, item.process, f"stopped after {self.limits.job_seconds:g} s")

    def _next_startable(self) -> tuple[int, dict[str, Any]] | None:
        """The first queued job whose model version has no job running (under the lock)."""
        busy = {r.model_version_id for r in self._running.values() if r.model_version_id}
        for item in self._queue:
            if item[1].get("model_version_id") not in busy:
                self._queue.remove(item)
                return item
        return None

    @staticmethod
    def _stop(process: BaseProcess) -> None:
        if process.is_alive():
            process.kill()
        process.join(timeout=5)

    def _settle(self, job_id: int, process: BaseProcess | None, reason: str | None) -> None:
        """After a job's process ended: a job it left unfinished fails with ``reason`` (or its
        exit code); one it finished keeps its outcome. A job whose process could not record its
        own failure (a full disk) is failed here; when this write fails too, the job is kept
        and tried again every ``RETRY_WRITE_SECONDS`` (never lost: it is not reported ended
        until its outcome is written)."""
        if reason is None and process is not None:
            reason = f"the job's process ended unexpectedly ({process.exitcode})"
        try:
            job = self.workspace.get_job(job_id)
            if job.status in ("queued", "running"):
                self.workspace.update_job(job_id, status="failed", error=reason)
        except NotFoundError:
            pass
        except Exception as exc:  # noqa: BLE001 - a full disk: keep it and try again later
            if job_id not in self._unwritten:
                logger.warning("job %d: its outcome could not be written (%s)", job_id, exc)
            self._unwritten[job_id] = reason
            return
        self._unwritten.pop(job_id, None)
        self._finish(job_id)

    def _mark(self, job_id: int, reason: str) -> None:
        self._settle(job_id, None, reason)

    def _finish(self, job_id: int) -> None:
        event = self._done.pop(job_id, None)
        if event is not None:
            event.set()
