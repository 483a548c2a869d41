"""The `assay` command end to end: evaluate, list, show, delete, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from assay.cli.main import app


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    monkeypatch.setenv("ASSAY_HOME", str(ws))
    return ws


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(3)
    classes = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu"]
    n = 200
    y = rng.integers(0, len(classes), n)
    logits = rng.normal(size=(n, len(classes))) + 2.0 * np.eye(len(classes))[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    gt = tmp_path / "gt.csv"
    gt.write_text(
        "id,label,fold\n" + "".join(f"s{i},{classes[k]},{i % 3}\n" for i, k in enumerate(y))
    )
    pred = tmp_path / "pred.csv"
    pred.write_text(
        "id,"
        + ",".join(classes)
        + "\n"
        + "".join(f"s{i}," + ",".join(f"{v:.8f}" for v in row) + "\n" for i, row in enumerate(p))
    )
    return gt, pred


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_evaluate_list_show_delete(home: Path, files: tuple[Path, Path], tmp_path: Path) -> None:
    gt, pred = files
    out = tmp_path / "report.json"
    code, stdout, _ = run(
        "evaluate", "--gt", str(gt), "--pred", str(pred), "--json", str(out), "--name", "first"
    )
    assert code == 0, stdout
    assert "Accuracy" in stdout and "Per class" in stdout and "Stored as evaluation" in stdout
    report = json.loads(out.read_text())
    assert report["task"] == "classification"
    assert report["classes"] == ["ant", "bee", "cat", "dog", "eel", "fox", "gnu"]
    for key in (
        "accuracy",
        "top1_accuracy",
        "top_k",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "roc_auc_macro",
        "average_precision_macro",
        "log_loss",
        "ece",
    ):
        assert key in report["summary"]
    rows = {row["label"]: row for row in report["per_class"]["items"]}
    assert list(rows) == report["classes"]
    assert set(rows["cat"]) >= {
        "total_labeled",
        "total_predicted",
        "tp",
        "fp",
        "fn",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "average_precision",
    }
    # no threshold given: the argmax, no "Below threshold" column, scikit-learn's accuracy
    assert report["threshold"] == 0 and report["summary"]["point_rule"] == "argmax"
    assert "Below threshold" not in report["confusion"]["columns"]
    assert report["summary"]["accuracy"] == report["summary"]["top1_accuracy"]

    code, stdout, _ = run("list", "--json", "-")
    assert code == 0
    rows = json.loads(stdout)
    assert [r["name"] for r in rows] == ["first"]
    eid = rows[0]["id"]
    assert rows[0]["task"] == "classification"

    code, stdout, _ = run("show", str(eid), "--json", "-", "--threshold", "0.5")
    assert code == 0
    shown = json.loads(stdout)
    assert shown["threshold"] == 0.5 and shown["summary"]["point_rule"] == "threshold"
    assert shown["confusion"]["columns"][-1] == "Below threshold"
    assert shown["summary"]["roc_auc_macro"] == pytest.approx(report["summary"]["roc_auc_macro"])
    assert shown["summary"]["accuracy"] <= report["summary"]["accuracy"]  # abstentions count wrong
    assert shown["summary"]["coverage"] < 1 and shown["summary"]["selective_accuracy"] is not None
    again = json.loads(run("show", str(eid), "--json", "-")[1])  # the stored point: the argmax
    assert again["summary"] == report["summary"]

    code, stdout, _ = run("show", str(eid))
    assert code == 0 and "Per class" in stdout

    code, _, _ = run("delete", str(eid))
    assert code == 0
    code, stdout, _ = run("list", "--json", "-")
    assert json.loads(stdout) == []
    code, _, stderr = run("show", str(eid))
    assert code == 2 and stderr.startswith("Error: ") and str(eid) in stderr
    assert "not found" in stderr and len(stderr.strip().splitlines()) == 1


def test_the_same_file_is_the_same_dataset_version(home: Path, files: tuple[Path, Path]) -> None:
    gt, pred = files
    assert run("evaluate", "--gt", str(gt), "--pred", str(pred))[0] == 0
    assert run("evaluate", "--gt", str(gt), "--pred", str(pred), "--threshold", "0.3")[0] == 0
    rows = json.loads(run("list", "--json", "-")[1])
    assert len(rows) == 2
    assert rows[0]["dataset"]["version_id"] == rows[1]["dataset"]["version_id"]
    gt.write_text(gt.read_text().replace("s0,", "s0,", 1) + "")
    lines = gt.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",9"  # change a fold: a new version
    gt.write_text("\n".join(lines) + "\n")
    assert run("evaluate", "--gt", str(gt), "--pred", str(pred))[0] == 0
    rows = json.loads(run("list", "--json", "-")[1])
    assert len({r["dataset"]["version_id"] for r in rows}) == 2


def test_multilabel_inferred(home: Path, tmp_path: Path) -> None:
    gt = tmp_path / "gt.jsonl"
    gt.write_text(
        '{"id": "a", "labels": ["x", "y"]}\n{"id": "b", "labels": ["z"]}\n{"id": "c", "labels": []}\n'
    )
    pred = tmp_path / "pred.csv"
    pred.write_text("id,x,y,z\na,.9,.4,.1\nb,.2,.1,.8\nc,.3,.6,.2\n")
    out = tmp_path / "r.json"
    code, stdout, _ = run("evaluate", "--gt", str(gt), "--pred", str(pred), "--json", str(out))
    assert code == 0, stdout
    assert json.loads(out.read_text())["task"] == "multilabel"


@pytest.mark.parametrize(
    ("gt_text", "pred_text", "needle"),
    [
        ("id,label\n1,a\n2,b\n", "id,a,b\n1,.5,.5\n", "no prediction for id '2'"),
        ("id,label\n1,a\n", "id,a,b\n1,2,.5\n", "row 1, column 'a'"),
        ("id,label\n1,a\n1,b\n", "id,a,b\n1,.5,.5\n", "row 2: id '1' appears twice"),
    ],
)
def test_bad_input_exit_2_one_line_nothing_stored(
    home: Path, tmp_path: Path, gt_text: str, pred_text: str, needle: str
) -> None:
    gt, pred = tmp_path / "gt.csv", tmp_path / "pred.csv"
    gt.write_text(gt_text)
    pred.write_text(pred_text)
    code, stdout, stderr = run("evaluate", "--gt", str(gt), "--pred", str(pred))
    assert code == 2
    assert needle in stderr and len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stderr + stdout
    assert json.loads(run("list", "--json", "-")[1]) == []


def test_bad_threshold_and_folder(home: Path, files: tuple[Path, Path], tmp_path: Path) -> None:
    gt, pred = files
    code, _, stderr = run("evaluate", "--gt", str(gt), "--pred", str(pred), "--threshold", "1.5")
    assert code == 2 and "--threshold" in stderr
    code, _, stderr = run("evaluate", "--gt", str(gt), "--pred", str(tmp_path))
    assert code == 2 and "is a folder" in stderr


def test_real_process_error_is_one_line(home: Path, tmp_path: Path) -> None:
    gt, pred = tmp_path / "gt.csv", tmp_path / "pred.csv"
    gt.write_text("id,label\n1,a\n")
    pred.write_text("id,a,b\n1,x,.5\n")
    env = {**os.environ, "ASSAY_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-m", "assay.cli", "evaluate", "--gt", str(gt), "--pred", str(pred)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1  # the formats layer's wording may change; not its place
    assert line.startswith(f"Error: {pred.resolve()}: row 1, column 'a': ")
    assert line.endswith("is not a number")


def test_detection_inferred_from_coco(home: Path, tmp_path: Path) -> None:
    from assay.demo.shapes import make_shapes_dataset

    gt, pred = make_shapes_dataset(tmp_path / "det", n_images=12)
    out = tmp_path / "det.json"
    code, stdout, _ = run(
        "evaluate",
        "--gt",
        str(gt),
        "--pred",
        str(pred),
        "--iou",
        "0.6",
        "--score",
        "0.2",
        "--json",
        str(out),
    )
    assert code == 0, stdout
    assert "Detection" in stdout and "Per class" in stdout
    report = json.loads(out.read_text())
    assert report["task"] == "detection"
    summary = report["summary"]
    for key in ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100"):
        assert key in summary
    assert report["confusion"]["rows"][-1] == "Not an object"
    assert report["confusion"]["columns"][-1] == "Not detected"
    assert report["iou"] == 0.6 and report["score"] == 0.2
    assert summary["iou"] == 0.6 and summary["score"] == 0.2
    rows = json.loads(run("list", "--json", "-")[1])
    assert rows[0]["task"] == "detection" and rows[0]["headline"]["metric"] == "AP"
    shown = json.loads(run("show", str(rows[0]["id"]), "--json", "-")[1])
    assert shown["summary"] == summary and shown["iou"] == 0.6  # the stored point


def _row(stdout: str, label: str) -> list[str]:
    """The cells of the first report line starting with ``label``."""
    line = next(line for line in stdout.splitlines() if line.startswith(label + " "))
    return line[len(label) :].split()


def test_detection_report_prints_prf_and_counts_at_the_point(home: Path, tmp_path: Path) -> None:
    from assay.demo.shapes import make_shapes_dataset

    gt, pred = make_shapes_dataset(tmp_path / "det", n_images=12)
    code, stdout, _ = run("evaluate", "--gt", str(gt), "--pred", str(pred), "--json", "-")
    eid = json.loads(stdout)["id"]
    stored = json.loads(run("show", str(eid), "--json", "-")[1])["summary"]
    assert stored["point_rule"] == "f1_optimal" and stored["score"] > 0  # no --score given
    stdout = run("show", str(eid))[1]
    assert f"IoU 0.5, confidence ≥ {stored['score']:.4g} (F1-optimal)" in stdout
    for iou, score in (("0.5", "0.0"), ("0.7", "0.4")):
        code, stdout, _ = run("show", str(eid), "--iou", iou, "--score", score, "--json", "-")
        summary = json.loads(stdout)["summary"]
        code, stdout, _ = run("show", str(eid), "--iou", iou, "--score", score)
        assert code == 0
        assert f"at IoU {float(iou):g}, confidence ≥ {float(score):g}" in stdout
        for key, label in (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1")):
            assert _row(stdout, label)[0] == f"{summary[key]:.4f}"
        for key in ("tp", "fp", "fn"):
            assert _row(stdout, key.upper())[0] == str(summary[key])
        items = json.loads(run("show", str(eid), "--iou", iou, "--score", score, "--json", "-")[1])
        first = items["per_class"]["items"][0]
        cells = _row(stdout, first["label"])
        assert str(first["tp"]) in cells and f"{first['f1']:.3f}" in cells


def test_detection_bad_results_exit_2(home: Path, tmp_path: Path) -> None:
    from assay.demo.shapes import make_shapes_dataset

    gt, _ = make_shapes_dataset(tmp_path / "det", n_images=3)
    bad = tmp_path / "bad.json"
    bad.write_text(
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5}, {"image_id": 1'
    )
    code, _, stderr = run("evaluate", "--gt", str(gt), "--pred", str(bad))
    assert code == 2 and "bad.json" in stderr and len(stderr.strip().splitlines()) == 1
    assert json.loads(run("list", "--json", "-")[1]) == []


def test_intervals_and_folds_in_the_report(
    home: Path, files: tuple[Path, Path], tmp_path: Path
) -> None:
    gt, pred = files
    out = tmp_path / "ci.json"
    code, stdout, _ = run(
        "evaluate", "--gt", str(gt), "--pred", str(pred), "--intervals", "--json", str(out)
    )
    assert code == 0, stdout
    assert "95 % CI" in stdout and "Per fold" in stdout and "± std" in stdout
    report = json.loads(out.read_text())
    for key in ("accuracy", "macro_f1", "roc_auc_macro"):
        ci = report["intervals"][key]
        assert ci["low"] <= report["summary"][key] <= ci["high"]
    assert sorted(str(f["fold"]) for f in report["folds"]["folds"]) == ["0", "1", "2"]
    eid = json.loads(run("list", "--json", "-")[1])[0]["id"]
    shown = json.loads(run("show", str(eid), "--json", "-")[1])
    assert shown["intervals"] is None  # only on request
    code, stdout, _ = run("show", str(eid), "--intervals")
    assert code == 0 and "95 % CI" in stdout
