"""Model jobs ("Calculate"): a registered model version run over a dataset version in the
background, with progress, one job per model version at a time, and a job that survives a server
restart by resuming from the predictions already written."""

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
import numpy as np
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from onnx import TensorProto, helper, numpy_helper

from assay.server.app import create_app
from assay.server.config import Limits
from assay.store import Workspace
from tests.runners.models import _save, write_images
from tests.server.conftest import BASE_URL, get_json

CLASSES = ("ant", "bee", "cat")


def slow_model(path: Path, depth: int = 300, width: int = 512) -> Path:
    """softmax of ``depth`` tanh layers over a flattened 3x8x8 input: tens of ms a batch."""
    rng = np.random.default_rng(0)
    a = (rng.normal(size=(3 * 8 * 8, width)) * 0.05).astype(np.float32)
    b = (rng.normal(size=(width, width)) * (1.5 / np.sqrt(width))).astype(np.float32)
    c = (rng.normal(size=(width, len(CLASSES))) * 0.5).astype(np.float32)
    nodes = [helper.make_node("Flatten", ["x"], ["h0"], axis=1)]
    nodes.append(helper.make_node("MatMul", ["h0", "A"], ["h1"]))
    for i in range(1, depth + 1):
        nodes.append(helper.make_node("MatMul", [f"h{i}", "B"], [f"m{i}"]))
        nodes.append(helper.make_node("Tanh", [f"m{i}"], [f"h{i + 1}"]))
    nodes.append(helper.make_node("MatMul", [f"h{depth + 1}", "C"], ["logits"]))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=-1))
    graph = helper.make_graph(
        nodes,
        "slow",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", len(CLASSES)])],
        initializer=[numpy_helper.from_array(v, k) for k, v in (("A", a), ("B", b), ("C", c))],
    )
    return _save(graph, path, {"classes": ",".join(CLASSES)})


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    """A workspace with a runnable model (two versions), a predictions-only version, an image
    dataset version (120 images) and a detection dataset version."""
    data = tmp_path / "data"
    for k, name in enumerate(CLASSES):
        write_images(data / "images" / name, 40, size=(8, 8), seed=10 + k)
    ws = Workspace(tmp_path / "home")
    model = slow_model(tmp_path / "slow.onnx")
    ws.add_model(model, name="slow")
    ws.add_model(model, name="slow", version="copy")
    (data / "pred.csv").write_text("id,ant\n1,0.5\n")
    ws.add_model_version("from-predictions", path=data / "pred.csv")
    ws.add_dataset_version("shapes", task="classification", source=data / "images")
    (data / "coco.json").write_text('{"images": [], "annotations": [], "categories": []}')
    ws.add_dataset_version("boxes", task="detection", source=data / "coco.json")
    ws.close()
    return tmp_path / "home"


def _ids(home: Path) -> dict[str, int]:
    ws = Workspace(home)
    try:
        versions = {
            (v.model_name, v.version): v.id for m in ws.list_models()
            for v in ws.list_model_versions(m.id)
        }  # fmt: skip
        datasets = {d.name: ws.list_dataset_versions(d.id)[0].id for d in ws.list_datasets()}
    finally:
        ws.close()
    return {
        "slow": versions[("slow", "v1")],
        "copy": versions[("slow", "copy")],
        "predictions": versions[("from-predictions", "v1")],
        "images": datasets["shapes"],
        "boxes": datasets["boxes"],
    }


def _until(predicate: Any, timeout: float = 120.0, every: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


def _client(home: Path, **limits: Any) -> TestClient:
    return TestClient(create_app(home, limits=Limits(**limits)), base_url=BASE_URL)


def test_calculate_runs_the_model_and_shows_progress_then_the_evaluation(
    home: Path, tmp_path: Path
) -> None:
    # the ~40 ms model: with the 6 ms one the whole job could land between two progress writes
    version = _add_slower(home, tmp_path)
    ids = _ids(home)
    with _client(home) as client:
        answer = client.post(
            "/api/evaluations",
            json={"model_version_id": version, "dataset_version_id": ids["images"],
                  "batch_size": 1},
        )  # fmt: skip
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job_id"]
        seen: list[dict[str, Any]] = []

        def finished() -> bool:
            seen.append(get_json(client, f"/api/jobs/{job_id}"))
            return seen[-1]["status"] in ("done", "failed")

        _until(finished)
        job = seen[-1]
        assert job["status"] == "done", job
        assert job["kind"] == "model" and job["total"] == 120 and job["done"] == 120
        assert any(s["status"] == "running" and 0 < s["done"] < 120 for s in seen)
        models = get_json(client, "/api/models")["items"]
        (slower,) = [m for m in models if m["name"] == "slower"]
        v1 = next(v for v in slower["versions"] if v["id"] == version)
        assert v1["runnable"] and v1["task"] == "classification" and v1["backend"] == "onnxruntime"
        assert v1["classes"] == list(CLASSES)
        (evaluation,) = v1["evaluations"]
        assert evaluation["id"] == job["evaluation_id"]
        assert evaluation["dataset_version_id"] == ids["images"]
        assert evaluation["headline_value"] is not None
        listed = get_json(client, f"/api/jobs?model_version_id={version}")["items"]
        assert [j["id"] for j in listed] == [job_id]
        assert not list((home / "work").glob("job-*"))  # the work folder is removed


def test_a_job_that_cannot_run_is_refused_before_it_queues(home: Path) -> None:
    ids = _ids(home)
    with _client(home) as client:
        cases = [
            ({"model_version_id": ids["predictions"], "dataset_version_id": ids["images"]}, 422,
             "no model to run"),
            ({"model_version_id": ids["slow"], "dataset_version_id": ids["boxes"]}, 422,
             "detection dataset"),
            ({"model_version_id": 999, "dataset_version_id": ids["images"]}, 404, "not found"),
            ({"model_version_id": ids["slow"], "dataset_version_id": 999}, 404, "not found"),
            ({"model_version_id": ids["slow"], "dataset_version_id": ids["images"],
              "batch_size": 0}, 422, ""),
            ({"model_version_id": ids["slow"], "dataset_version_id": ids["images"],
              "threshold": 2}, 422, ""),
        ]  # fmt: skip
        for body, status, words in cases:
            answer = client.post("/api/evaluations", json=body)
            assert answer.status_code == status, (body, answer.text)
            assert words in answer.json()["detail"] if words else True
        assert get_json(client, "/api/jobs")["items"] == []


def test_one_job_per_model_version_runs_at_a_time(home: Path) -> None:
    ids = _ids(home)
    with _client(home, job_workers=2) as client:

        def submit(version: int, batch: int = 2) -> int:
            body = {"model_version_id": version, "dataset_version_id": ids["images"],
                    "batch_size": batch}  # fmt: skip
            answer = client.post("/api/evaluations", json=body)
            assert answer.status_code == 202, answer.text
            return int(answer.json()["job_id"])

        first, second, other = submit(ids["slow"]), submit(ids["slow"], 3), submit(ids["copy"])
        # the same job again (kind and params) while it waits or runs is that job
        assert submit(ids["slow"], 3) == second and submit(ids["slow"]) == first

        def state(job_id: int) -> dict[str, Any]:
            return get_json(client, f"/api/jobs/{job_id}")

        _until(lambda: state(first)["status"] == "running" and state(other)["status"] == "running")
        waiting = state(second)
        assert waiting["status"] == "queued" and waiting["position"] == 1
        _until(lambda: all(state(j)["status"] == "done" for j in (first, second, other)))


# ------------------------------------------------------------------ a server restart


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def serve(home: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> tuple[str, subprocess.Popen[bytes]]:
        port = _free_port()
        env = {**os.environ, "ASSAY_HOME": str(home), "OMP_NUM_THREADS": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "assay.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # killed with its job processes
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/api/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _until(healthy, 60, 0.1)
        return url, proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)


def test_a_job_resumes_after_the_server_is_killed(home: Path, serve: Any) -> None:
    ids = _ids(home)
    url, proc = serve()
    body = {"model_version_id": ids["slow"], "dataset_version_id": ids["images"], "batch_size": 2}
    answer = httpx.post(f"{url}/api/evaluations", json=body, timeout=60)
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["job_id"]

    def job(base: str) -> dict[str, Any]:
        return dict(httpx.get(f"{base}/api/jobs/{job_id}", timeout=60).json())

    _until(lambda: job(url)["done"] >= 20)
    before = job(url)["done"]
    os.killpg(proc.pid, signal.SIGKILL)  # the server and its job process, at once
    proc.wait(timeout=60)

    url, _ = serve()
    seen: list[dict[str, Any]] = []

    def finished() -> bool:
        seen.append(job(url))
        return seen[-1]["status"] in ("done", "failed")

    _until(finished, every=0.005)
    assert seen[-1]["status"] == "done", seen[-1]
    # resumed, not restarted: the progress never went back below what was done before the kill
    assert min(s["done"] for s in seen) >= before, (before, [s["done"] for s in seen][:20])
    evaluations = httpx.get(f"{url}/api/evaluations", timeout=60).json()["items"]
    assert [e["id"] for e in evaluations] == [seen[-1]["evaluation_id"]]
    assert evaluations[0]["n_samples"] == 120


def _job_pid(home: Path, job_id: int) -> int | None:
    ws = Workspace(home)
    try:
        return ws.get_job(job_id).pid
    finally:
        ws.close()


def _add_slower(home: Path, tmp_path: Path) -> int:
    """Register ``slower`` (~40 ms a batch of 2) and give its version id. A test that kills a
    running job needs the job still running when the kill lands: progress is written every
    0.25 s, and with the fixture's 6 ms model the first write after the start could be the last
    one (all 120 done) on a loaded machine."""
    ws = Workspace(home)
    try:
        return ws.add_model(slow_model(tmp_path / "slower.onnx", depth=1500), name="slower").id
    finally:
        ws.close()


def test_a_job_process_dies_with_its_killed_server_and_the_next_server_resumes_it(
    home: Path, serve: Any, tmp_path: Path
) -> None:
    model_version = _add_slower(home, tmp_path)
    ids = _ids(home)
    url, proc = serve()
    body = {"model_version_id": model_version, "dataset_version_id": ids["images"], "batch_size": 2}
    job_id = httpx.post(f"{url}/api/evaluations", json=body, timeout=60).json()["job_id"]
    _until(lambda: httpx.get(f"{url}/api/jobs/{job_id}", timeout=60).json()["done"] >= 4)
    child = _job_pid(home, job_id)
    assert child is not None and child != proc.pid
    os.kill(proc.pid, signal.SIGKILL)  # the server alone: its job process must follow it
    proc.wait(timeout=60)
    _until(lambda: not _alive(child), 60)
    ws = Workspace(home)
    try:  # it died with the server, not of having finished its job
        stopped = ws.get_job(job_id)
    finally:
        ws.close()
    assert stopped.evaluation_id is None and stopped.status != "done", stopped

    url, _ = serve()  # a second server on the same home is refused while one runs; now none does
    _until(lambda: httpx.get(f"{url}/api/jobs/{job_id}", timeout=60).json()["status"] == "done")
    assert len(httpx.get(f"{url}/api/evaluations", timeout=60).json()["items"]) == 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_a_second_server_on_the_same_workspace_is_refused(home: Path, serve: Any) -> None:
    url, _ = serve()
    env = {**os.environ, "ASSAY_HOME": str(home)}
    second = subprocess.run(
        [sys.executable, "-m", "assay.cli", "serve", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 2, second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "another Assay server holds the workspace" in lines[0], lines
    # commands that use the catalog briefly still work beside the server
    listed = subprocess.run(
        [sys.executable, "-m", "assay.cli", "list"], env=env, capture_output=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    assert httpx.get(f"{url}/api/health", timeout=60).status_code == 200


def test_a_restarted_server_ends_the_old_job_process_before_it_resumes(home: Path) -> None:
    import multiprocessing

    from assay.server.jobs import INTERRUPTED, JobRunner
    from tests.server.job_targets import sleep_forever

    ids = _ids(home)
    ws = Workspace(home)
    stray = multiprocessing.get_context("spawn").Process(target=sleep_forever, daemon=True)
    stray.start()
    try:
        files = ws.create_job({"gt": "a.csv"})
        ws.start_job(files.id, pid=stray.pid)
        model = ws.create_job(
            {"model_version_id": ids["slow"], "dataset_version_id": ids["images"]},
            kind="model",
            model_version_id=ids["slow"],
            dataset_version_id=ids["images"],
        )
        ws.update_job(model.id, status="failed", error="cancelled")  # by the dead server
        runner = JobRunner(ws, limits=Limits())
        assert runner.recover() == (0, 1)
        stray.join(timeout=60)
        assert not stray.is_alive()  # killed before anything resumed
        assert ws.get_job(files.id).error == INTERRUPTED
        assert ws.get_job(model.id).error == "cancelled"  # never run again
        runner.shutdown()
    finally:
        if stray.is_alive():
            stray.kill()
        ws.close()


def test_a_job_stopped_with_its_server_finishes_from_the_cli(
    home: Path, serve: Any, tmp_path: Path
) -> None:
    """A model run has one work folder whichever side starts it: a Calculate job whose server was
    killed is finished by ``assay evaluate --model`` over the dataset's source, from the batches
    the job wrote, with the predictions of a run never interrupted."""
    model_version = _add_slower(home, tmp_path)
    ids = _ids(home)
    url, proc = serve()
    body = {"model_version_id": model_version, "dataset_version_id": ids["images"], "batch_size": 2}
    job_id = httpx.post(f"{url}/api/evaluations", json=body, timeout=60).json()["job_id"]
    _until(lambda: httpx.get(f"{url}/api/jobs/{job_id}", timeout=60).json()["done"] >= 4)
    before = httpx.get(f"{url}/api/jobs/{job_id}", timeout=60).json()["done"]
    os.killpg(proc.pid, signal.SIGKILL)  # the server and its job process, at once
    proc.wait(timeout=60)

    def cli(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "ASSAY_HOME": str(ws), "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
        return subprocess.run(
            [sys.executable, "-m", "assay.cli", *args],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    source = home.parent / "data" / "images"
    finished = cli(home, "evaluate", "--gt", str(source), "--model", "slower:v1", "--batch", "2")
    assert finished.returncode == 0, finished.stderr
    resumed = int(finished.stderr.split("Resuming: ")[1].split(" of 120")[0])
    assert before <= resumed < 120 and resumed % 2 == 0  # the job's whole batches, kept
    assert list((home / "work").iterdir()) == []
    # the next server resumes the job and finds the run stored: done, with that evaluation
    url, _ = serve()
    _until(lambda: httpx.get(f"{url}/api/jobs/{job_id}", timeout=60).json()["status"] == "done")
    assert httpx.get(f"{url}/api/jobs/{job_id}", timeout=60).json()["evaluation_id"] == 1
    assert [e["id"] for e in httpx.get(f"{url}/api/evaluations", timeout=60).json()["items"]] == [1]

    reference = tmp_path / "reference"
    again = cli(reference, "evaluate", "--gt", str(source), "--model", str(tmp_path / "slower.onnx"),
                "--batch", "2")  # fmt: skip
    assert again.returncode == 0, again.stderr
    tables = []
    for ws in (home, reference):
        out = tmp_path / f"{ws.name}.parquet"
        done = cli(ws, "export", "1", "--predictions", str(out))
        assert done.returncode == 0, done.stderr
        tables.append(pq.read_table(out).to_pydict())
    assert tables[0] == tables[1]  # the same predictions, row for row
    assert len(set(tables[0]["id"])) == 120
