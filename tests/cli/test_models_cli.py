"""`assay models add / list`, `assay evaluate --model` (register-and-run, registered names, the
progress and resume after a kill) and `assay export --predictions`, through the command line."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from assay.cli.main import app
from tests.runners.models import _save, linear_softmax, write_images

CLASSES = ("cat", "dog", "owl")


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    monkeypatch.setenv("ASSAY_HOME", str(ws))
    return ws


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    path, _, _ = linear_softmax(tmp_path / "lin.onnx", n_classes=3)
    (tmp_path / "lin.labels.txt").write_text("\n".join(CLASSES) + "\n")
    return path


@pytest.fixture()
def pets(tmp_path: Path) -> Path:
    root = tmp_path / "pets"
    for k, name in enumerate(CLASSES):
        write_images(root / name, 3, size=(8, 8), seed=k)
    return root


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _counts(home: Path) -> dict[str, int]:
    if not (home / "catalog.sqlite").exists():
        return {}
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        tables = ("datasets", "dataset_versions", "models", "model_versions", "evaluations")
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


def test_models_add_and_list(home: Path, model: Path, tmp_path: Path) -> None:
    code, stdout, stderr = run("models", "add", str(model), "--name", "lin", "--version", "fp32")
    assert code == 0, stderr
    assert "Registered model version 1 · lin fp32" in stdout
    assert "classification" in stdout and "onnxruntime" in stdout
    assert "3: cat, dog, owl" in stdout and "image 3×8×8" in stdout
    code, stdout, _ = run("models", "add", str(model), "--name", "lin", "--version", "fp32")
    assert code == 0 and "Already registered model version 1" in stdout
    other, _, _ = linear_softmax(tmp_path / "int8.onnx", n_classes=3, seed=5)
    code, stdout, stderr = run(
        "models", "add", str(other), "--name", "lin", "--parent", "1",
        "--labels", str(tmp_path / "lin.labels.txt"), "--input-size", "8x8", "--mean", "0.5",
        "--std", "0.25", "--channels", "bgr", "--layout", "NCHW",
    )  # fmt: skip
    assert code == 0, stderr
    code, stdout, _ = run("models", "list")
    assert code == 0
    lines = [line.split() for line in stdout.splitlines()]
    assert lines[3][:8] == ["1", "lin", "fp32", "—", "classification", "onnxruntime", "3", "0"]
    assert lines[4][:8] == ["2", "lin", "v2", "1", "classification", "onnxruntime", "3", "0"]
    code, stdout, _ = run("models", "list", "--json", "-")
    rows = json.loads(stdout)
    assert [(r["id"], r["version"], r["parent_version_id"]) for r in rows] == [
        (1, "fp32", None),
        (2, "v2", 1),
    ]
    assert rows[1]["classes"] == list(CLASSES) and rows[1]["runnable"] is True
    assert rows[1]["input_shape"] == [3, 8, 8] and rows[1]["evaluations"] == []


def test_a_bad_model_file_is_one_line_and_stores_nothing(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x01garbage")
    gt = tmp_path / "gt.csv"
    gt.write_text("id,label,text\n1,a,x\n")
    for args in (
        ("models", "add", str(bad), "--name", "bad"),
        ("evaluate", "--gt", str(gt), "--model", str(bad)),
    ):
        code, stdout, stderr = run(*args)
        assert code == 2, stdout
        assert stderr.strip().splitlines() == [
            line for line in stderr.strip().splitlines() if line.startswith("Error: ")
        ]
        assert len(stderr.strip().splitlines()) == 1
        assert f"{bad}: not a loadable ONNX model" in stderr
        assert set(_counts(home).values()) <= {0}
        assert not (home / "models").exists() or list((home / "models").iterdir()) == []


def test_usage_errors(home: Path, model: Path, pets: Path, tmp_path: Path) -> None:
    pred = tmp_path / "pred.csv"
    pred.write_text("id,cat,dog\n1,0.5,0.5\n")
    for args, hint in (
        ((), "'--pred' / '--model'"),
        (("--pred", str(pred), "--model", str(model)), "'--pred' / '--model'"),
        (("--pred", str(pred), "--batch", "8"), "--batch"),
        (("--pred", str(pred), "--input-size", "8x8"), "--input-size"),
        (("--model", str(model), "--logits"), "--logits"),
        (("--model", str(model), "--input-size", "8by8"), "--input-size"),
        (("--model", str(model), "--mean", "1,2"), "--mean"),
        (("--model", str(model), "--channels", "RGBA"), "--channels"),
        (("--model", "nosuch", "--parent", "1"), "--parent"),
        (("--model", str(model), "--batch", "0"), "--batch"),
    ):
        code, stdout, stderr = run("evaluate", "--gt", str(pets), *args)
        assert code == 2, (args, stdout)
        assert hint in stderr, (args, stderr)
    assert set(_counts(home).values()) <= {0}
    code, _, stderr = run("evaluate", "--gt", str(pets), "--model", "nosuch")
    assert code == 2
    assert stderr.strip() == (
        "Error: nosuch: no such model file or folder, and no registered model of that name "
        "(see assay models list)"
    )


def test_evaluate_a_model_file_then_by_name_and_export(
    home: Path, model: Path, pets: Path, tmp_path: Path
) -> None:
    code, stdout, stderr = run(
        "evaluate", "--gt", str(pets), "--model", str(model), "--batch", "4", "--json",
        str(tmp_path / "r.json"),
    )  # fmt: skip
    assert code == 0, stderr
    assert "Stored as evaluation 1" in stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["n_samples"] == 9
    assert not list((home / "work").iterdir())  # the work folder goes once stored
    code, stdout, _ = run("list", "--json", "-")
    (row,) = json.loads(stdout)
    assert row["name"] == "lin on pets" and row["model"]["version_id"] == 1
    assert row["params"]["batch"] == 4 and row["params"]["model_version_id"] == 1
    for ref in ("lin", "lin:v1", "#1"):
        code, stdout, stderr = run("evaluate", "--gt", str(pets), "--model", ref, "--force")
        assert code == 0, (ref, stderr)
        match = re.search(r"Stored as evaluation (\d+)", stdout)
        assert match is not None
        shown = json.loads(run("show", match.group(1), "--json", "-")[1])
        assert shown["summary"] == report["summary"]
    assert _counts(home)["model_versions"] == 1 and _counts(home)["evaluations"] == 4
    out = tmp_path / "exported.parquet"
    code, stdout, _ = run("export", "1", "--predictions", str(out))
    assert code == 0 and f"to {out}" in stdout
    table = pq.read_table(out).to_pydict()
    assert list(table) == ["id", *CLASSES] and len(table["id"]) == 9
    code, _, stderr = run("export", "1", "--predictions", str(tmp_path / "no" / "x.parquet"))
    assert code == 2 and "--predictions" in stderr


def test_export_of_an_evaluation_of_your_own_file(home: Path, tmp_path: Path) -> None:
    gt, pred = tmp_path / "gt.csv", tmp_path / "pred.csv"
    gt.write_text("id,label\n1,cat\n2,dog\n")
    pred.write_text("id,cat,dog\n1,0.9,0.1\n2,0.3,0.7\n")
    assert run("evaluate", "--gt", str(gt), "--pred", str(pred))[0] == 0
    code, stdout, stderr = run("export", "1", "--predictions", str(tmp_path / "out.csv"))
    assert code == 2 and not (tmp_path / "out.csv").exists()
    assert stderr.strip() == (
        f"Error: {pred.resolve()}: evaluation 1 was made from a predictions file you gave "
        "(Assay keeps no copy of it)"
    )
    code, _, stderr = run("export", "7", "--predictions", str(tmp_path / "out.csv"))
    assert code == 2 and stderr.strip() == "Error: evaluation 7 not found"


def test_a_dataset_the_model_cannot_read_stores_nothing(
    home: Path, model: Path, tmp_path: Path
) -> None:
    gt = tmp_path / "texts.csv"
    gt.write_text("id,label,text\n1,cat,a cat\n")
    code, _, stderr = run("evaluate", "--gt", str(gt), "--model", str(model))
    assert code == 2
    assert stderr.strip() == (
        f"Error: {gt}: texts given to an image model: the dataset has texts, the model "
        "(lin.onnx) takes images (an ImageFolder or a 'path' column)"
    )
    assert set(_counts(home).values()) == {0} and list((home / "models").iterdir()) == []


# ------------------------------------------------------------------ interruption and resume


def _slow_model(path: Path, n_classes: int = 3, depth: int = 400, width: int = 512) -> Path:
    """softmax(tanh(...tanh(flatten(x) @ A) @ B ...) @ C): ``depth`` layers of ``width``, slow
    enough (tens of ms a batch) for a run to be stopped midway."""
    rng = np.random.default_rng(0)
    a = (rng.normal(size=(3 * 8 * 8, width)) * 0.05).astype(np.float32)
    b = (rng.normal(size=(width, width)) * (1.5 / np.sqrt(width))).astype(np.float32)
    c = (rng.normal(size=(width, n_classes)) * 0.5).astype(np.float32)
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
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", n_classes])],
        initializer=[numpy_helper.from_array(v, k) for k, v in (("A", a), ("B", b), ("C", c))],
    )
    return _save(graph, path, {"classes": ",".join(CLASSES)})


def _cli(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "ASSAY_HOME": str(home), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "assay.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _state(pid: int) -> str:
    """The process's state letter in /proc (R running, S sleeping, T stopped, Z zombie...)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _stop_midway(home: Path, proc: subprocess.Popen[str], sig: int, rows: int) -> int:
    """Send ``sig`` while the run is midway; the rows then written.

    Once at least one batch is on disk the run is paused (SIGSTOP), found short of its end, sent
    ``sig`` and let go (SIGCONT): the signal lands mid-run whatever the machine's load."""
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, "the run ended before a batch was seen on disk"
        logs = list((home / "work").glob("*/shards/scores.f64")) if (home / "work").exists() else []
        if logs and logs[0].stat().st_size >= 8 * 3 * 4:
            break
        assert time.monotonic() < deadline, "no batch on disk after 120 s"
        time.sleep(0.005)
    proc.send_signal(signal.SIGSTOP)
    while _state(proc.pid) != "T":
        assert time.monotonic() < deadline + 60, "the run was not paused"
        time.sleep(0.005)
    paused = logs[0].stat().st_size // (8 * 3)
    assert paused <= rows - 3 * 4, f"the run was paused too late to stop it midway ({paused})"
    proc.send_signal(sig)
    proc.send_signal(signal.SIGCONT)
    proc.wait(timeout=120)
    (log,) = list((home / "work").glob("*/shards/scores.f64"))
    done = log.stat().st_size // (8 * 3)
    assert 0 < done < rows, "the run was not stopped midway"
    return done


@pytest.fixture()
def big_set(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "many"
    for k, name in enumerate(CLASSES):
        write_images(root / name, 40, size=(8, 8), seed=10 + k)
    return root, _slow_model(tmp_path / "slow.onnx")


def _exported(home: Path, evaluation_id: int, out: Path) -> dict[str, list]:
    env = {**os.environ, "ASSAY_HOME": str(home)}
    subprocess.run(
        [sys.executable, "-m", "assay.cli", "export", str(evaluation_id), "--predictions",
         str(out)],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    return pq.read_table(out).to_pydict()


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=lambda s: signal.Signals(s).name
)
def test_a_killed_run_resumes_where_it_stopped(
    tmp_path: Path, big_set: tuple[Path, Path], sig: int
) -> None:
    root, slow = big_set
    args = ("evaluate", "--gt", str(root), "--model", str(slow), "--batch", "4")
    reference_home = tmp_path / "reference"
    proc = _cli(reference_home, *args)
    assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else ""
    reference = _exported(reference_home, 1, tmp_path / "reference.parquet")

    home = tmp_path / "ws"
    proc = _cli(home, *args)
    done = _stop_midway(home, proc, sig, 120)
    stderr = proc.stderr.read() if proc.stderr else ""
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:  # Ctrl-C (or a plain kill): one line, exit 130
        assert proc.returncode == 130, stderr
        assert stderr.strip().splitlines()[-1].startswith("interrupted after ")
        assert stderr.strip().endswith("of 120 samples; run the same command again to resume")
    assert _counts(home)["evaluations"] == 0  # nothing of the run is stored yet

    again = _cli(home, *args)
    assert again.wait(timeout=300) == 0
    stderr = again.stderr.read() if again.stderr else ""
    resumed = int(stderr.split("Resuming: ")[1].split(" of 120")[0])
    assert resumed >= done and resumed % 4 == 0 and resumed < 120  # whole batches kept
    assert _counts(home)["evaluations"] == 1 and _counts(home)["model_versions"] == 1
    table = _exported(home, 1, tmp_path / "resumed.parquet")
    assert table == reference  # the same predictions, row for row
    assert len(set(table["id"])) == len(table["id"]) == 120  # no duplicate rows
    assert list((home / "work").iterdir()) == []
