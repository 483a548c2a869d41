"""Jobs: a bounded pool and queue, cancellation (queued never start, running are stopped), a time
limit, and a server that stops at once with a job running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from assay.server.app import create_app
from assay.server.config import Limits
from tests.server.conftest import BASE_URL
from tests.server.job_targets import full_disk_job, slow_job

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "gt.csv").write_text("id,label\n1,cat\n")
    (folder / "pred.csv").write_text("id,cat\n1,0.9\n")
    return folder


def _app_client(tmp_path: Path, data: Path, **limits: Any) -> TestClient:
    app = create_app(
        tmp_path / "home", data_roots=[data], limits=Limits(**limits), job_target=slow_job
    )
    return TestClient(app, base_url=BASE_URL)


def _submit(client: TestClient, data: Path, seconds: float, tag: str) -> Any:
    body = {
        "gt": str(data / "gt.csv"),
        "pred": str(data / "pred.csv"),
        "name": str(seconds),
        "model": str(data / tag),
    }
    return client.post("/api/evaluations", json=body)


def _until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_bounded_queue_and_cancellation(tmp_path: Path, data: Path) -> None:
    with _app_client(tmp_path, data, job_workers=1, job_queue=1) as client:
        first = _submit(client, data, 60, "a").json()["job_id"]
        _until(lambda: (data / "a.started").exists())
        assert client.get(f"/api/jobs/{first}").json()["status"] == "running"
        second = _submit(client, data, 0, "b").json()["job_id"]
        assert client.get(f"/api/jobs/{second}").json()["status"] == "queued"
        full = _submit(client, data, 0, "c")
        assert full.status_code == 429 and "waiting" in full.json()["detail"]

        cancelled = client.delete(f"/api/jobs/{second}")
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "failed" and cancelled.json()["error"] == "cancelled"

        started = time.monotonic()
        stopped = client.delete(f"/api/jobs/{first}")
        assert time.monotonic() - started < 30  # the job itself would sleep 60 s
        assert stopped.json()["status"] == "failed" and stopped.json()["error"] == "cancelled"
        pid = int((data / "a.started").read_text())
        _until(lambda: not _alive(pid), 30)  # well before its 60 s were up
        assert client.delete(f"/api/jobs/{first}").status_code == 409
        assert client.delete("/api/jobs/987654").status_code == 404

        # the queue has room again; the queued job that was cancelled never ran
        third = _submit(client, data, 0, "d").json()["job_id"]
        client.app.state.jobs.wait(third, timeout=60)  # type: ignore[attr-defined]
        assert client.get(f"/api/jobs/{third}").json()["status"] == "done"
        assert not (data / "b.started").exists() and not (data / "a.finished").exists()
        assert client.delete(f"/api/jobs/{third}").status_code == 409  # done stays done


def test_time_limit(tmp_path: Path, data: Path) -> None:
    with _app_client(tmp_path, data, job_seconds=1.0) as client:
        job_id = _submit(client, data, 60, "slow").json()["job_id"]
        client.app.state.jobs.wait(job_id, timeout=30)  # type: ignore[attr-defined]
        job = client.get(f"/api/jobs/{job_id}").json()
        assert job["status"] == "failed" and job["error"] == "stopped after 1 s"
        assert not (data / "slow.finished").exists()


def test_a_job_that_cannot_record_its_failure_is_failed_by_the_dispatcher_who_retries(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's process finds the disk full (it dies without writing its failure); the
    dispatcher's first writes (running, then failed) hit ENOSPC too: the job waits and starts
    again, and its failure is written on a later try, never lost."""
    import errno

    from assay.server import jobs as jobs_module

    monkeypatch.setattr(jobs_module, "RETRY_WRITE_SECONDS", 0.2, raising=False)
    app = create_app(
        tmp_path / "home", data_roots=[data], limits=Limits(), job_target=full_disk_job
    )
    with TestClient(app, base_url=BASE_URL) as client:
        runner = client.app.state.jobs  # type: ignore[attr-defined]
        real = runner.workspace.update_job
        tries: list[str] = []

        def flaky(job_id: int, *, status: str, **kwargs: Any) -> Any:
            tries.append(status)
            if tries.count(status) == 1 and status in ("running", "failed"):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(job_id, status=status, **kwargs)

        monkeypatch.setattr(runner.workspace, "update_job", flaky)
        job_id = _submit(client, data, 0, "full").json()["job_id"]
        runner.wait(job_id, timeout=30)
        job = client.get(f"/api/jobs/{job_id}").json()
        assert job["status"] == "failed", job
        assert job["error"] == "the job's process ended unexpectedly (1)", job
        assert (data / "full.started").exists()  # it ran once the running write went through
        assert tries == ["running", "running", "failed", "failed"], tries
        assert runner.counts() == {"queued": 0, "running": 0} and not runner._unwritten


def test_a_reused_pid_is_not_taken_for_the_old_job_process(tmp_path: Path) -> None:
    """A restarted server kills the job process a dead one left only when the pid still names
    that process: same pid, another start time (the kernel gave the pid to another process) is
    left alone; the recorded start time kills it; a catalog of schema 4 gains the column."""
    import multiprocessing
    import sqlite3

    from assay.server.jobs import INTERRUPTED, JobRunner, _is_job_process, process_start
    from assay.store import Workspace
    from tests.server.job_targets import sleep_forever

    assert process_start(os.getpid()) is not None and process_start(2**22 + 1) is None
    ws = Workspace(tmp_path / "home")
    stray = multiprocessing.get_context("spawn").Process(target=sleep_forever, daemon=True)
    stray.start()
    try:
        _until(lambda: _is_job_process(stray.pid or 0), 60)  # exec'd: its cmdline is a job's
        started = process_start(stray.pid or 0)
        assert started is not None and started >= (process_start(os.getpid()) or 0)
        other = ws.create_job({"gt": "a.csv"})
        ws.start_job(other.id, pid=stray.pid, pid_start=started + 1)  # another process's pid
        assert ws.get_job(other.id).pid_start == started + 1
        runner = JobRunner(ws, limits=Limits())
        assert runner.recover() == (0, 1)
        assert stray.is_alive() and ws.get_job(other.id).error == INTERRUPTED

        same = ws.create_job({"gt": "b.csv"})
        ws.start_job(same.id, pid=stray.pid, pid_start=started)
        assert JobRunner(ws, limits=Limits()).recover() == (0, 1)
        stray.join(timeout=60)
        assert not stray.is_alive()  # killed: the pid still named the job's process
    finally:
        if stray.is_alive():
            stray.kill()
        ws.close()

    old = tmp_path / "old"  # a schema-4 catalog: the column is added, old rows have none
    Workspace(old).close()
    with sqlite3.connect(old / "catalog.sqlite") as conn:
        conn.execute("ALTER TABLE jobs DROP COLUMN pid_start")
        conn.execute("INSERT INTO jobs (status, params, created_at, updated_at, pid)"
                     " VALUES ('running', '{}', 'now', 'now', 1)")  # fmt: skip
        conn.execute("PRAGMA user_version = 4")
    reopened = Workspace(old)
    try:
        (job,) = reopened.list_jobs()
        assert job.pid == 1 and job.pid_start is None
    finally:
        reopened.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (not yet reaped) counts as gone
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(tmp_path: Path, data: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    env = {**os.environ, "ASSAY_TEST_HOME": str(data / "home"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tests.server.job_targets:slow_app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _up(url), 60)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_sigterm_with_a_running_job_exits_at_once(
    server: tuple[subprocess.Popen[bytes], str], data: Path
) -> None:
    proc, url = server
    body = {
        "gt": str(data / "gt.csv"),
        "pred": str(data / "pred.csv"),
        "name": "600",
        "model": str(data / "long"),
    }
    answer = httpx.post(f"{url}/api/evaluations", json=body, timeout=60)
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["job_id"]
    _until(lambda: (data / "long.started").exists(), 60)
    child = int((data / "long.started").read_text())
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)  # the job would sleep 600 s: the server did not wait for it
    _until(lambda: not _alive(child), 60)
    from assay.store import Workspace

    job = Workspace(data / "home").get_job(job_id)
    assert job.status == "failed" and job.error == "interrupted: the server stopped"
