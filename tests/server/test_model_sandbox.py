"""The server runs every model in a sandboxed worker (issue 17, item 1): an endless model is
stopped (503, one line) without blocking what-if for other models, a model reading files outside
its folder at registration or at prediction gets nothing, and SIGTERM stops the server while a
model loops (without waiting for the model's time limit)."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from fastapi.testclient import TestClient
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from assay.runners.sandbox import landlock_available
from assay.server.app import create_app
from assay.server.config import Limits
from assay.store import Workspace
from tests.runners.models import OPSET, linear_softmax
from tests.server.conftest import BASE_URL

LIMITS = Limits(model_call_seconds=2.0, model_memory_bytes=1 << 30, predict_workers=2)
needs_landlock = pytest.mark.skipif(not landlock_available(), reason="no Landlock here")


def endless_onnx(path: Path, n_classes: int = 3) -> Path:
    """Pure data that never ends: scores = Loop(2^62 iterations of Identity) over a linear map."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Identity", ["v_in"], ["v_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_in", TensorProto.FLOAT, ["N", n_classes]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_out", TensorProto.FLOAT, ["N", n_classes]),
        ],
    )
    w = numpy_helper.from_array(np.ones((3 * 8 * 8, n_classes), np.float32), "w")
    trips = numpy_helper.from_array(np.array(1 << 62, np.int64), "trips")
    cond = numpy_helper.from_array(np.array(True), "cond")
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["x"], ["flat"]),
            helper.make_node("MatMul", ["flat", "w"], ["logits"]),
            helper.make_node("Loop", ["trips", "cond", "logits"], ["scores"], body=body),
        ],
        "endless",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", n_classes])],
        [w, trips, cond],
    )
    model = helper.make_model(graph, opset_imports=OPSET)
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (12, 10), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _predict(client: TestClient, version: int) -> object:
    return client.post(
        f"/api/models/{version}/predict",
        files=[("files", ("a.png", _png(), "image/png"))],
    )


def _workspace(tmp: Path) -> tuple[Path, int, int]:
    models = tmp / "models"
    models.mkdir()
    ws = Workspace(tmp / "home")
    good, _, _ = linear_softmax(models / "good.onnx", shape=(3, 8, 8), n_classes=3)
    good_id = ws.add_model(good, name="good").id
    loop_id = ws.add_model(endless_onnx(models / "loop.onnx"), name="loop").id
    ws.close()
    return tmp / "home", good_id, loop_id


@pytest.fixture()
def home(tmp_path: Path) -> tuple[Path, int, int]:
    return _workspace(tmp_path)


def test_an_endless_model_is_stopped_with_a_503_and_blocks_no_one(
    home: tuple[Path, int, int],
) -> None:
    path, good, loop = home
    app = create_app(path, limits=LIMITS)
    with TestClient(app, base_url=BASE_URL) as client:
        assert _predict(client, good).status_code == 200
        for _ in range(2):  # twice: the worker is replaced and stopped again
            answer = _predict(client, loop)  # an answer at all: the endless model was stopped
            assert answer.status_code == 503, answer.text
            detail = answer.json()["detail"]
            assert "time limit of 2 s" in detail and "\n" not in detail
        answer = _predict(client, good)  # the other model still answers
        assert answer.status_code == 200
        scores = [c["score"] for c in answer.json()["items"][0]["classes"]]
        assert sum(scores) == pytest.approx(1.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes whose parent is ``pid``."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)"
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:  # ppid; then utime, stime at 11, 12 (clock ticks)
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def test_sigterm_stops_the_server_while_a_model_loops(
    home: tuple[Path, int, int], tmp_path: Path
) -> None:
    import httpx

    path, _, loop = home
    port = _free_port()
    env = {**os.environ, "ASSAY_HOME": str(path)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from assay.cli.main import app; app()",
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                up = httpx.get(f"{url}/api/health", timeout=1).status_code == 200
                break
            except httpx.HTTPError:
                up = False
                time.sleep(0.1)
        assert up, "the server did not start"
        # two endless predictions in flight (default limits: 60 s of wall clock each)
        clients = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import httpx,sys; httpx.post(sys.argv[1], files={'files': "
                    "('a.png', open(sys.argv[2], 'rb').read(), 'image/png')}, timeout=120)",
                    f"{url}/api/models/{loop}/predict",
                    str(_png_file(tmp_path)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        # the model loops once its worker has spent more CPU than starting and loading take
        deadline = time.monotonic() + 120
        while _children_cpu_seconds(server.pid) < 3.0:
            assert time.monotonic() < deadline, "no model worker ran the looping model"
            time.sleep(0.1)
        assert all(c.poll() is None for c in clients)  # waiting on the looping model
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)  # well before the predictions' 60 s limit
        for client in clients:
            client.kill()
            client.wait()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.stderr is not None
    assert "Traceback" not in server.stderr.read().decode(errors="replace")


def _png_file(tmp_path: Path) -> Path:
    target = tmp_path / "a.png"
    target.write_bytes(_png())
    return target


@needs_landlock
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_torchscript_model_reads_nothing_outside_at_registration_or_what_if(
    tmp_path: Path,
) -> None:
    torch = pytest.importorskip("torch")
    secret = tmp_path / "secret"
    secret.write_bytes(b"s3cret-" * 100)
    secret.chmod(0o600)

    class AtLoad(torch.nn.Module):
        """Reads the secret when loaded (its __setstate__ runs in torch.jit.load)."""

        def __init__(self, target: str) -> None:
            super().__init__()
            self.target = target
            self.stolen = torch.zeros(600)

        @torch.jit.export
        def __getstate__(self) -> tuple[str, torch.Tensor, bool]:
            return (self.target, self.stolen, self.training)

        @torch.jit.export
        def __setstate__(self, state: tuple[str, torch.Tensor, bool]) -> None:
            self.target = state[0]
            self.stolen = torch.from_file(state[0], shared=False, size=600, dtype=torch.uint8).to(
                torch.float32
            )
            self.training = state[2]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.stolen.reshape(1, 600).repeat(x.shape[0], 1)

    class AtRun(torch.nn.Module):
        def __init__(self, target: str) -> None:
            super().__init__()
            self.target = target

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            stolen = torch.from_file(self.target, shared=False, size=600, dtype=torch.uint8)
            return stolen.to(torch.float32).reshape(1, 600).repeat(x.shape[0], 1)

    folder = tmp_path / "models"
    folder.mkdir()
    torch.jit.script(AtLoad(str(secret))).save(str(folder / "at_load.pt"))
    torch.jit.script(AtRun("/etc/shadow")).save(str(folder / "at_run.pt"))
    (folder / "at_run.preprocess.json").write_text('{"size": [8, 8]}')
    (folder / "at_load.preprocess.json").write_text('{"size": [8, 8]}')
    app = create_app(tmp_path / "home", limits=LIMITS, data_roots=[tmp_path])
    with TestClient(app, base_url=BASE_URL) as client:
        answer = client.post("/api/models", json={"path": str(folder / "at_load.pt"), "name": "a"})
        assert answer.status_code == 422, answer.text
        assert "\n" not in answer.json()["detail"] and "s3cret" not in answer.text
        answer = client.post("/api/models", json={"path": str(folder / "at_run.pt"), "name": "b"})
        assert answer.status_code == 201, answer.text
        version = answer.json()["id"]
        answer = _predict(client, version)
        assert "root:" not in answer.text
        if answer.status_code == 200:
            assert "error" in answer.json()["items"][0]
        else:
            assert answer.status_code in (422, 503)
