"""Device resolution per backend (assay.runners.devices), on this CPU machine with the backends'
probes faked where a GPU is needed; the runners and `assay evaluate --device` on a device that
is not there (one line, exit 2, nothing stored)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from assay.cli.main import app
from assay.errors import InputError
from assay.runners import devices, load_runner
from assay.runners.devices import Device, device_key, parse_device, resolve_device
from tests.runners.models import linear_softmax, write_images

CPU = ["CPUExecutionProvider"]
CUDA = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def fake_ort(monkeypatch: pytest.MonkeyPatch, providers: list[str], count: int | None) -> None:
    monkeypatch.setattr(devices, "onnxruntime_providers", lambda: list(providers))
    monkeypatch.setattr(devices, "cuda_device_count", lambda: count)


def test_parse_device() -> None:
    assert parse_device(None) == "cpu"
    assert parse_device("cuda") == "cuda:0"
    assert parse_device("cuda:3") == "cuda:3"
    assert parse_device("tensorrt") == "tensorrt:0"
    assert parse_device("GPU.1") == "GPU.1"
    assert parse_device("AUTO") == "AUTO"
    for bad in ("gpu0", "cuda:x", "cpu:1", "auto:0", "", "cuda:-1"):
        with pytest.raises(InputError, match="unknown device"):
            parse_device(bad)


def test_onnxruntime_on_a_cpu_only_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ort(monkeypatch, CPU, 0)
    assert resolve_device("onnxruntime", "cpu") == Device("onnxruntime", "cpu", "cpu", None)
    auto = resolve_device("onnxruntime", "auto")
    assert auto.name == "cpu" and auto.setting == CPU
    assert auto.why == "onnxruntime has no CUDA provider (providers: CPU)"
    with pytest.raises(InputError) as err:
        resolve_device("onnxruntime", "cuda:1")
    assert str(err.value) == (
        "cuda:1 asked but this machine has no CUDA device for onnxruntime (providers: CPU)"
    )
    with pytest.raises(InputError, match="no TensorRT provider for onnxruntime"):
        resolve_device("onnxruntime", "tensorrt")
    with pytest.raises(InputError, match="GPU is not a device of onnxruntime"):
        resolve_device("onnxruntime", "GPU")


def test_onnxruntime_with_cuda_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ort(monkeypatch, CUDA, 2)
    auto = resolve_device("onnxruntime", "auto")
    assert auto.name == "cuda:0"
    assert auto.setting == [("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"]
    assert auto.label() == "cuda:0 (onnxruntime, CUDAExecutionProvider)"
    one = resolve_device("onnxruntime", "cuda:1")
    assert one.setting[0] == ("CUDAExecutionProvider", {"device_id": 1})
    trt = resolve_device("onnxruntime", "tensorrt:1")
    assert [p if isinstance(p, str) else p[0] for p in trt.setting] == CUDA
    with pytest.raises(InputError) as err:
        resolve_device("onnxruntime", "cuda:2")
    assert str(err.value) == (
        "cuda:2 asked but this machine has 2 CUDA devices for onnxruntime "
        "(providers: Tensorrt, CUDA, CPU)"
    )
    fake_ort(monkeypatch, CUDA, 0)  # the provider is installed, the driver has no device
    assert resolve_device("onnxruntime", "auto").name == "cpu"
    with pytest.raises(InputError, match="no CUDA device"):
        resolve_device("onnxruntime", "cuda")


def test_torch_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "torch_cuda_count", lambda: 0)
    for backend in ("torchscript", "transformers"):
        assert resolve_device(backend, "auto").name == "cpu"
        with pytest.raises(InputError) as err:
            resolve_device(backend, "cuda")
        assert str(err.value) == (
            f"cuda:0 asked but this machine has no CUDA device for {backend} "
            "(torch.cuda.device_count() = 0)"
        )
    monkeypatch.setattr(devices, "torch_cuda_count", lambda: 1)
    assert resolve_device("torchscript", "auto").setting == "cuda:0"
    assert resolve_device("transformers", "cuda:0").name == "cuda:0"
    with pytest.raises(InputError, match="has 1 CUDA device for torchscript"):
        resolve_device("torchscript", "cuda:1")
    with pytest.raises(InputError, match="AUTO is not a device of torchscript"):
        resolve_device("torchscript", "AUTO")


def test_openvino_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "openvino_devices", lambda: ["CPU"])
    assert resolve_device("openvino", "auto").name == "CPU"
    assert resolve_device("openvino", "cpu").setting == "CPU"
    assert resolve_device("openvino", "AUTO").setting == "AUTO"
    with pytest.raises(InputError) as err:
        resolve_device("openvino", "GPU")
    assert str(err.value) == "GPU asked but this machine has no GPU for openvino (devices: CPU)"
    with pytest.raises(InputError, match="cuda:0 is not a device of openvino"):
        resolve_device("openvino", "cuda")
    monkeypatch.setattr(devices, "openvino_devices", lambda: ["CPU", "GPU.0", "GPU.1"])
    assert resolve_device("openvino", "auto").name == "GPU.0"
    assert resolve_device("openvino", "GPU").name == "GPU.0"
    assert resolve_device("openvino", "GPU.1").setting == "GPU.1"
    with pytest.raises(InputError, match="no GPU device GPU.2 for openvino"):
        resolve_device("openvino", "GPU.2")
    monkeypatch.setattr(devices, "openvino_devices", lambda: ["CPU", "GPU"])
    assert resolve_device("openvino", "GPU.0").setting == "GPU"


def test_scikit_learn_is_cpu_only() -> None:
    assert resolve_device("skops", "auto").name == "cpu"
    with pytest.raises(InputError) as err:
        resolve_device("skops", "cuda")
    assert str(err.value) == "cuda:0 asked but skops models run on the CPU only"


def test_device_key_keeps_cpu_folders() -> None:
    assert device_key(None) is None and device_key("cpu") is None and device_key("CPU") is None
    assert device_key("cuda:0") == "cuda:0"


@pytest.mark.filterwarnings("ignore:Specified provider")
def test_onnx_runner_on_the_cpu_and_refused_devices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _, _ = linear_softmax(tmp_path / "lin.onnx", n_classes=3)
    runner = load_runner(path, classes=["a", "b", "c"], device="auto")
    assert runner.describe().device == "cpu"
    x = np.zeros((2, 3, 8, 8), np.float32)
    np.testing.assert_allclose(
        runner.predict(x), load_runner(path, classes=["a", "b", "c"]).predict(x)
    )
    fake_ort(monkeypatch, CPU, 0)
    with pytest.raises(InputError, match="^cuda:1 asked but this machine has no CUDA device"):
        load_runner(path, device="cuda:1")
    # the providers say CUDA, this onnxruntime cannot start it: refused, never a silent CPU run
    fake_ort(monkeypatch, CUDA, 1)
    with pytest.raises(InputError) as err:
        load_runner(path, device="cuda")
    assert "cuda:0 asked but onnxruntime could not start its CUDAExecutionProvider" in str(
        err.value
    )


def test_torchscript_runner_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.environ.get("CI"):
        pytest.importorskip("torch")
    import torch

    module = torch.jit.script(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2)))
    path = tmp_path / "m.pt"
    module.save(str(path))
    runner = load_runner(path, size=(2, 2), classes=["a", "b"], device="auto")
    assert runner.describe().device == ("cuda:0" if torch.cuda.is_available() else "cpu")
    monkeypatch.setattr(devices, "torch_cuda_count", lambda: 0)
    with pytest.raises(InputError, match="no CUDA device for torchscript"):
        load_runner(path, size=(2, 2), classes=["a", "b"], device="cuda")


def test_sandboxed_runner_takes_the_device(tmp_path: Path) -> None:
    from assay.runners.sandbox import SandboxedRunner

    path, _, _ = linear_softmax(tmp_path / "lin.onnx", n_classes=3)
    with SandboxedRunner(path, classes=["a", "b", "c"], runner_options={"device": "cpu"}) as r:
        assert r.describe().device == "cpu"
    if "CUDAExecutionProvider" not in devices.onnxruntime_providers():
        with pytest.raises(InputError, match="no CUDA device for onnxruntime"):
            SandboxedRunner(path, classes=["a", "b", "c"], runner_options={"device": "cuda:0"})


# --------------------------------------------------------------------------- the CLI


def _counts(home: Path) -> dict[str, int]:
    if not (home / "catalog.sqlite").exists():
        return {}
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("model_versions", "evaluations")
        }


def test_cli_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "ws"
    monkeypatch.setenv("ASSAY_HOME", str(home))
    path, _, _ = linear_softmax(tmp_path / "lin.onnx", n_classes=3)
    (tmp_path / "lin.labels.txt").write_text("cat\ndog\nowl\n")
    root = tmp_path / "pets"
    for k, name in enumerate(("cat", "dog", "owl")):
        write_images(root / name, 2, size=(8, 8), seed=k)
    fake_ort(monkeypatch, CPU, 0)
    result = CliRunner().invoke(
        app, ["evaluate", "--gt", str(root), "--model", str(path), "--device", "cuda:1"]
    )
    assert result.exit_code == 2, result.stdout
    assert result.stderr.strip() == (
        "Error: cuda:1 asked but this machine has no CUDA device for onnxruntime (providers: CPU)"
    )
    assert set(_counts(home).values()) <= {0}
    for args, hint in (
        (("--device", "gpu0"), "unknown device"),
        (("--workers", "2"), "--workers"),
        (("--gpus-per-worker", "1"), "--gpus-per-worker"),
    ):
        result = CliRunner().invoke(
            app, ["evaluate", "--gt", str(root), "--model", str(path), *args]
        )
        assert result.exit_code == 2 and hint in result.stderr, (args, result.stderr)
    pred = tmp_path / "pred.csv"
    pred.write_text("id,cat,dog,owl\n1,0.2,0.3,0.5\n")
    result = CliRunner().invoke(
        app, ["evaluate", "--gt", str(root), "--pred", str(pred), "--device", "cpu"]
    )
    assert result.exit_code == 2 and "--device" in result.stderr
    result = CliRunner().invoke(
        app,
        ["evaluate", "--gt", str(root), "--model", str(path), "--device", "auto", "--json", "-"],
    )
    assert result.exit_code == 0, result.stderr
    from assay.store import Workspace

    ws = Workspace(home)
    (record,) = ws.list_evaluations()
    assert record.params["device"] == "cpu"
