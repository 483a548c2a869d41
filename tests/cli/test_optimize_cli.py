"""`assay models optimize --int8` and `assay models profile` through the command line: the child
registered with its parent, the profile printed and stored, refusals in one line (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli.main import app
from assay.store import Workspace
from tests.service.int8_models import make_classifier


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("optimize-cli")
    ws = root / "ws"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASSAY_HOME", str(ws))
        model = make_classifier(root / "train", root / "conv.onnx")
        assert run("models", "add", str(model), "--name", "conv", "--version", "fp32")[0] == 0
        assert run("datasets", "add", str(root / "train"), "--name", "calib")[0] == 0
        yield ws


def test_optimize_registers_the_child(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_HOME", str(home))
    code, out, err = run(
        "models", "optimize", "conv:fp32", "--int8", "--calibration", "calib", "--samples", "30"
    )
    assert code == 0, err
    assert "Registered model version 2" in out and "conv int8" in out
    ws = Workspace(home)
    child = ws.get_model_version(2)
    assert child.parent_version_id == 1 and child.version == "int8"

    # the head (every node after the last Conv / Gemm / MatMul) kept in float: another child
    code, out, err = run(
        "models", "optimize", "conv:fp32", "--int8", "--calibration", "calib", "--samples", "30",
        "--exclude-head", "--version", "int8-head",
    )  # fmt: skip
    assert code == 0, err
    head = Workspace(home).get_model_version(3)
    assert head.version == "int8-head" and "kept in float" in (head.path or "")

    code, out, err = run("models", "profile", "conv:int8", "--batch", "1,2", "--runs", "3")
    assert code == 0, err
    assert "p50 ms" in out and "size on disk" in out
    assert [row["batch"] for row in ws.model_profiles(2)[2][0]["batches"]] == [1, 2]
    ws.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("conv:fp32", "--calibration", "calib"), "--int8"),
        (("conv:fp32", "--int8"), "--calibration"),
        (("conv:fp32", "--int8", "--calibration", "nope"), "no registered dataset version"),
        (("nope", "--int8", "--calibration", "calib"), "no registered model"),
        (("conv:fp32", "--int8", "--calibration", "calib", "--samples", "0"), "--samples"),
        (
            ("conv:fp32", "--int8", "--calibration", "calib", "--exclude", "Conv,../../etc"),
            "'../../etc' is neither a node nor an operator type",
        ),
    ],
)
def test_optimize_refusals(
    home: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], message: str
) -> None:
    monkeypatch.setenv("ASSAY_HOME", str(home))
    before = Workspace(home).newest_model_version_id()
    code, out, err = run("models", "optimize", *args)
    assert code == 2
    assert message in err + out
    assert "Traceback" not in err + out
    assert Workspace(home).newest_model_version_id() == before


def test_profile_refusals(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_HOME", str(home))
    code, out, err = run("models", "profile", "conv:fp32", "--batch", "0")
    assert code == 2 and "--batch" in err + out
    code, out, err = run("models", "profile", "conv:fp32", "--runs", "0")
    assert code == 2 and "--runs" in err + out
