"""MLflow against a real tracking server (``mlflow server``, SQLite backend, started once for
this module on a free port and stopped after): ``--mlflow`` on evaluate / compare / analyze logs
parameters, metrics with intervals, per-class metrics and artifacts; a wrong run id is one line
before any work; the "assay" evaluator gives Assay's numbers inside mlflow.models.evaluate."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

if os.environ.get("CI"):
    import mlflow  # CI installs assay[mlflow]: nothing here may skip there
else:
    mlflow = pytest.importorskip("mlflow")

from mlflow.tracking import MlflowClient  # noqa: E402

from assay.cli.main import app  # noqa: E402
from assay.evaluation.classification import evaluate_classification  # noqa: E402

CLASSES = ["ant", "bee", "cat"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed below
    exe = Path(sys.executable).with_name("mlflow")
    proc = subprocess.Popen(
        [str(exe), "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1"],
        cwd=root, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited: {(root / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("mlflow server did not answer /health in 90 s")
            time.sleep(0.3)
        mp = pytest.MonkeyPatch()
        mp.setenv("MLFLOW_TRACKING_URI", url)
        mp.setenv("MLFLOW_EXPERIMENT_NAME", "assay-tests")
        mlflow.set_tracking_uri(url)
        yield url
        mp.undo()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _write(path: Path, y: np.ndarray, strength: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), len(CLASSES)))
    logits[np.arange(len(y)), y] += strength
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", *CLASSES])
        w.writerows([f"s{i}", *(f"{v:.6f}" for v in row)] for i, row in enumerate(p))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mlflow-data")
    y = np.random.default_rng(0).integers(0, 3, 300)
    with (root / "gt.csv").open("w", newline="") as f:
        csv.writer(f).writerows(
            [["id", "label"], *([f"s{i}", CLASSES[k]] for i, k in enumerate(y))]
        )
    _write(root / "strong.csv", y, 2.0, 1)
    _write(root / "weak.csv", y, 0.5, 2)
    return root


def _run(home: Path, *args: str):  # type: ignore[no-untyped-def]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASSAY_HOME", str(home))
        return CliRunner().invoke(app, list(args))


def _artifacts(client: MlflowClient, run_id: str) -> set[str]:
    return {a.path for a in client.list_artifacts(run_id)}


@pytest.fixture(scope="module")
def stored(server: str, files: Path) -> Path:
    """Evaluations 1 (strong) and 2 (weak) in a workspace, nothing logged yet."""
    home = files / "home"
    for pred in ("strong.csv", "weak.csv"):
        res = _run(home, "evaluate", "--gt", str(files / "gt.csv"), "--pred", str(files / pred))
        assert res.exit_code == 0, res.output
    return home


def test_evaluate_logs_params_metrics_intervals_and_artifacts(
    server: str, files: Path, stored: Path
) -> None:
    res = _run(stored, "evaluate", "--gt", str(files / "gt.csv"), "--pred",
               str(files / "strong.csv"), "--intervals", "--name", "strong", "--force",
               "--mlflow", "--json", str(files / "strong.json"))  # fmt: skip
    assert res.exit_code == 0, res.output
    client = MlflowClient(server)
    experiment = client.get_experiment_by_name("assay-tests").experiment_id
    run = next(r for r in client.search_runs([experiment]) if r.info.run_name == "strong")
    report = json.loads((files / "strong.json").read_text())
    m = run.data.metrics
    assert m["accuracy"] == pytest.approx(report["summary"]["accuracy"])
    assert m["accuracy_ci_low"] == pytest.approx(report["intervals"]["accuracy"]["low"])
    assert m["accuracy_ci_low"] <= m["accuracy"] <= m["accuracy_ci_high"]
    cat = next(r for r in report["per_class"]["items"] if r["label"] == "cat")
    assert m["per_class/cat/f1"] == pytest.approx(cat["f1"])
    assert "n_samples" not in m and run.data.params["n_samples"] == "300"
    assert run.data.params["task"] == "classification"
    assert run.data.params["evaluation_name"] == "strong"
    assert {"report.html", "report.json", "strong.csv"} <= _artifacts(client, run.info.run_id)
    html = client.download_artifacts(run.info.run_id, "report.html", str(files))
    assert Path(html).read_text().startswith("<!DOCTYPE html>")


def test_compare_logs_into_a_given_run(server: str, stored: Path) -> None:
    client = MlflowClient(server)
    run_id = client.create_run(client.create_experiment("given")).info.run_id
    res = _run(stored, "compare", "1", "2", "--mlflow", run_id)  # --mlflow [RUN_ID]
    assert res.exit_code == 0, res.output
    m = client.get_run(run_id).data.metrics
    assert m["delta/accuracy"] < 0 and m["delta/accuracy_ci_high"] < 0
    assert m["a/accuracy"] - m["b/accuracy"] == pytest.approx(-m["delta/accuracy"])
    assert {"comparison.html", "comparison.md", "comparison.json"} <= _artifacts(client, run_id)


def test_analyze_logs_its_analysis(server: str, stored: Path) -> None:
    client = MlflowClient(server)
    run_id = client.create_run(client.create_experiment("analysis")).info.run_id
    res = _run(stored, "analyze", "2", "--mlflow-run", run_id)
    assert res.exit_code == 0, res.output
    assert "analysis.json" in _artifacts(client, run_id)
    assert "label_issues" in client.get_run(run_id).data.metrics


def test_a_wrong_run_id_is_one_line_and_nothing_is_stored(server: str, files: Path) -> None:
    home = files / "home-wrong"
    res = _run(home, "evaluate", "--gt", str(files / "gt.csv"), "--pred", str(files / "weak.csv"),
               "--mlflow", "0123456789abcdef0123456789abcdef")  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "MLflow run" in res.output and "Traceback" not in res.output
    assert not (home / "evaluations").exists() or not any((home / "evaluations").iterdir())


def test_the_assay_evaluator_in_mlflow_evaluate(server: str) -> None:
    import pandas as pd

    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 200)
    scores = rng.random((200, 3))
    scores[np.arange(200), y] += 0.4
    scores /= scores.sum(1, keepdims=True)
    labels = [CLASSES[k] for k in y]
    expected = evaluate_classification(labels, scores, classes=CLASSES).summary()

    def model(frame: pd.DataFrame) -> pd.DataFrame:  # a classifier: features -> class scores
        return pd.DataFrame(scores[frame["row"].to_numpy()], columns=CLASSES)

    data = pd.DataFrame({"row": np.arange(200), "label": labels})
    with mlflow.start_run() as run:
        result = mlflow.models.evaluate(model, data, targets="label", model_type="classifier",
                                        evaluators=["assay"], evaluator_config={"assay": {"intervals": 50}})  # fmt: skip
    assert result.metrics["accuracy"] == pytest.approx(expected["accuracy"])
    assert result.metrics["roc_auc_macro"] == pytest.approx(expected["roc_auc_macro"])
    assert "accuracy_ci_low" in result.metrics
    client = MlflowClient(server)
    logged = client.get_run(run.info.run_id).data.metrics
    assert logged["macro_f1"] == pytest.approx(expected["macro_f1"])
    assert {"assay_report.html", "assay_report.json"} <= _artifacts(client, run.info.run_id)


def test_the_assay_evaluator_for_a_detector(server: str) -> None:
    import pandas as pd

    truth = [[{"bbox": [10, 10, 20, 20], "label": "cat"}], [{"bbox": [5, 5, 30, 30], "label": "dog"}],
             [{"bbox": [0, 0, 10, 10], "label": "cat"}]]  # fmt: skip
    found = [[{"bbox": [11, 10, 20, 20], "label": "cat", "score": 0.9}],
             [{"bbox": [5, 5, 30, 30], "label": "cat", "score": 0.8}], []]  # fmt: skip
    data = pd.DataFrame({"image": [1, 2, 3], "boxes": truth, "found": found})
    with mlflow.start_run():
        result = mlflow.models.evaluate(data=data, targets="boxes", predictions="found", model_type="classifier",
                                        evaluators=["assay"],
                                        evaluator_config={"assay": {"task": "detection", "intervals": 0, "score": 0.5}})  # fmt: skip
    m = result.metrics
    assert m["tp"] == 1 and m["fn"] == 2 and m["fp"] == 1  # the dog predicted as a cat: FP + FN
    assert m["per_class/dog/AP"] == 0.0 and 0 < m["AP50"] <= 1
