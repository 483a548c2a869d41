"""Models run in sandboxed workers (issue 17, item 1): what a hostile model tries is refused in one
line, a worker past a limit is stopped and replaced, the worker holds none of the server's secrets.

The hostile code is run with ``Sandbox.call`` (a standard-library function sent to the worker) and,
where torch is installed, as a TorchScript model that reads /etc/shadow with ``torch.from_file``.
"""

from __future__ import annotations

import os
import pathlib
import time
from pathlib import Path

import numpy as np
import pytest

from assay.errors import InputError
from assay.runners import load_runner
from assay.runners.sandbox import (
    ALLOW_FLAG,
    ModelFailed,
    ModelUnavailable,
    Sandbox,
    SandboxedRunner,
    SandboxLimits,
    carries_code,
    check_code_allowed,
)
from assay.runners.sandbox_worker import landlock_available, pack_answer, unpack_answer
from tests.runners.models import linear_softmax

needs_landlock = pytest.mark.skipif(not landlock_available(), reason="no Landlock here")

LIMITS = SandboxLimits(memory_bytes=1 << 30, call_seconds=3.0, load_seconds=30.0)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    allowed = tmp_path_factory.mktemp("model-folder")
    (allowed / "weights.bin").write_bytes(b"mine")
    box = Sandbox([allowed], limits=LIMITS)
    box.allowed = allowed  # type: ignore[attr-defined]
    yield box
    box.close()


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("the server's secret")
    secret.chmod(0o600)
    return secret


@needs_landlock
def test_reading_outside_the_model_folder_is_refused_in_one_line(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    secret = _secret(tmp_path)
    for path in (secret, Path("/etc/shadow"), Path("/etc/passwd"), Path.home() / ".bashrc"):
        with pytest.raises(ModelFailed) as caught:
            sandbox.call(pathlib.Path(path).read_bytes)
        line = str(caught.value)
        assert "\n" not in line and "PermissionError" in line or "FileNotFoundError" in line
    with pytest.raises(ModelFailed, match="PermissionError"):
        sandbox.call(os.listdir, str(tmp_path))
    # the model's own folder is readable
    allowed = sandbox.allowed  # type: ignore[attr-defined]
    assert sandbox.call(pathlib.Path(allowed / "weights.bin").read_bytes) == b"mine"


@needs_landlock
def test_writing_outside_is_refused_and_the_private_temp_folder_is_writable(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = tmp_path / "written-by-the-model"
    with pytest.raises(ModelFailed, match="PermissionError"):
        sandbox.call(pathlib.Path(target).write_text, "pwned")
    assert not target.exists()
    allowed = sandbox.allowed  # type: ignore[attr-defined]
    with pytest.raises(ModelFailed, match="PermissionError"):  # its own folder: read only
        sandbox.call(pathlib.Path(allowed / "new").write_text, "x")
    assert sandbox.tmp is not None
    assert sandbox.call(pathlib.Path(sandbox.tmp, "scratch").write_text, "ok") == 2


def test_the_worker_holds_none_of_the_servers_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASSAY_TOKEN", "a-token-of-the-server-0123456789")
    monkeypatch.setenv("ASSAY_HOME", "/somewhere/private")
    with Sandbox(limits=LIMITS) as box:
        assert box.call(os.getenv, "ASSAY_TOKEN") is None
        assert box.call(os.getenv, "ASSAY_HOME") is None
        assert box.call(os.getenv, "HF_HUB_OFFLINE") == "1"
        assert box.call(os.getenv, "TRANSFORMERS_OFFLINE") == "1"
        environ = box.call(pathlib.Path("/proc/self/environ").read_bytes)
        assert b"ASSAY_TOKEN" not in environ and b"0123456789" not in environ


def test_an_endless_loop_is_stopped_at_the_time_limit_and_the_worker_replaced(
    sandbox: Sandbox,
) -> None:
    sandbox.call(sum, range(3))
    first = sandbox.pid
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match="time limit of 3 s") as caught:
        sandbox.call(sum, range(10**13))  # CPU-bound, would run for hours
    assert time.monotonic() - started < 60  # stopped: it would run for hours
    assert "\n" not in str(caught.value)
    assert sandbox.call(sum, range(4)) == 6  # the next call works, in a new worker
    assert sandbox.pid != first


def test_memory_beyond_the_limit_fails_in_one_line_and_the_worker_is_replaced(
    sandbox: Sandbox,
) -> None:
    sandbox.call(sum, range(3))
    first = sandbox.pid
    with pytest.raises(ModelUnavailable, match="memory limit of 1024 MiB") as caught:
        sandbox.call(bytearray, 3 << 30)
    assert "\n" not in str(caught.value)
    assert sandbox.call(len, "four") == 4
    assert sandbox.pid != first


def test_a_crashing_worker_is_one_line_and_replaced(sandbox: Sandbox) -> None:
    with pytest.raises(ModelUnavailable, match="died|ended") as caught:
        sandbox.call(os._exit, 3)
    assert "\n" not in str(caught.value)
    assert sandbox.call(abs, -2) == 2


def test_the_cpu_limit_per_call() -> None:
    limits = SandboxLimits(memory_bytes=1 << 30, call_seconds=20.0, cpu_seconds=1.0)
    with Sandbox(limits=limits) as box:
        with pytest.raises(ModelUnavailable, match="CPU limit of 1 s"):
            box.call(sum, range(10**13))
        assert box.call(sum, range(3)) == 3


def test_answers_are_never_unpickled() -> None:
    answer = {"value": [np.arange(3), b"raw", {"k": (1.5, None)}]}
    back = unpack_answer(pack_answer(answer))
    assert np.array_equal(back["value"][0], np.arange(3))
    assert back["value"][1:] == [b"raw", {"k": [1.5, None]}]
    with pytest.raises((TypeError, ValueError)):  # an object array would need pickle
        pack_answer({"value": np.array([object()], dtype=object)})
    with pytest.raises(ValueError):
        unpack_answer(b"\x80\x04garbage")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_an_onnx_model_runs_in_its_worker_as_it_does_in_process(tmp_path: Path) -> None:
    path, _, _ = linear_softmax(tmp_path / "m.onnx", shape=(3, 8, 8), n_classes=4)
    x = np.random.default_rng(0).random((5, 3, 8, 8), dtype=np.float32)
    with SandboxedRunner(path, limits=LIMITS) as runner:
        assert runner.landlock == (7 if landlock_available() else 0) or runner.landlock > 0
        inside = runner.predict(x)
        assert runner.describe() == load_runner(path).describe()
        assert runner.spec == load_runner(path).spec
        worker = runner.pid
        for _ in range(20):  # a warm worker: loaded once, asked again (its speed: benchmarks/)
            runner.predict(x[:1])
        assert runner.pid == worker
    np.testing.assert_allclose(inside, load_runner(path).predict(x))


def test_a_bad_model_is_an_input_error_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(InputError) as caught:
        SandboxedRunner(bad, limits=LIMITS)
    assert "\n" not in str(caught.value)


def test_code_formats_are_refused_without_landlock_unless_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted = tmp_path / "model.pt"
    scripted.write_bytes(b"PK")
    data = tmp_path / "model.onnx"
    data.write_bytes(b"x")
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text("{}")
    assert carries_code(data) is None and carries_code(hf) is None
    (hf / "pytorch_model.bin").write_bytes(b"x")
    assert carries_code(scripted) and carries_code(hf)
    monkeypatch.setattr("assay.runners.sandbox.landlock_available", lambda: False)
    for path in (scripted, hf):
        with pytest.raises(InputError, match=ALLOW_FLAG) as caught:
            check_code_allowed(path, SandboxLimits())
        assert "\n" not in str(caught.value)
        with pytest.raises(InputError, match=ALLOW_FLAG):
            SandboxedRunner(path, limits=SandboxLimits())
        check_code_allowed(path, SandboxLimits(allow_code_models=True))
    check_code_allowed(data, SandboxLimits())
    monkeypatch.setattr("assay.runners.sandbox.landlock_available", lambda: True)
    check_code_allowed(scripted, SandboxLimits())


# ------------------------------------------------------------------ TorchScript (the torch extra)


def _shadow_model(path: Path, target: str) -> Path:
    torch = pytest.importorskip("torch")

    class Exfiltrate(torch.nn.Module):
        def __init__(self, target: str) -> None:
            super().__init__()
            self.target = target

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            stolen = torch.from_file(self.target, shared=False, size=600, dtype=torch.uint8)
            return stolen.to(torch.float32).reshape(1, 600).repeat(x.shape[0], 1)

    torch.jit.script(Exfiltrate(target)).save(str(path))
    return path


@needs_landlock
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_torchscript_model_cannot_read_a_file_outside_its_folder(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(bytes(range(256)) * 3)
    secret.chmod(0o600)
    folder = tmp_path / "model"
    folder.mkdir()
    path = _shadow_model(folder / "evil.pt", str(secret))
    x = np.zeros((1, 3, 8, 8), np.float32)
    stolen = load_runner(path, size=(8, 8)).predict(x)  # in process: the attack works
    assert bytes(np.asarray(stolen)[0, :256].astype(np.uint8)) == bytes(range(256))
    with (
        SandboxedRunner(path, limits=LIMITS, size=(8, 8)) as runner,
        pytest.raises(InputError) as caught,
    ):
        runner.predict(x)
    assert "\n" not in str(caught.value)
    with (
        SandboxedRunner(
            _shadow_model(folder / "shadow.pt", "/etc/shadow"), limits=LIMITS, size=(8, 8)
        ) as runner,
        pytest.raises(InputError),
    ):
        runner.predict(x)
