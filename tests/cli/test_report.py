"""What the printed report says: conventions made visible (accuracy at the threshold next to top-1,
"macro over k of n classes", top-k with its tie rule), intervals beside the metrics, the notes of
``evaluate_files``, and one printer for every task."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, top_k_accuracy_score
from typer.testing import CliRunner

from assay.cli.main import app
from assay.evaluation.vocabulary import TOP_K_TIE_RULE

CLASSES = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "yak"]


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    monkeypatch.setenv("ASSAY_HOME", str(ws))
    return ws


@pytest.fixture()
def scored(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """8 score columns, but "yak" is never the annotated class: its ROC AUC and average precision
    are undefined, so those macro averages are over 7 of 8 classes."""
    rng = np.random.default_rng(5)
    n = 300
    y = rng.integers(0, len(CLASSES) - 1, n)
    logits = rng.normal(size=(n, len(CLASSES))) + 1.2 * np.eye(len(CLASSES))[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    gt = tmp_path / "gt.csv"
    gt.write_text("id,label\n" + "".join(f"s{i},{CLASSES[k]}\n" for i, k in enumerate(y)))
    pred = tmp_path / "pred.csv"
    pred.write_text(
        "id,"
        + ",".join(CLASSES)
        + "\n"
        + "".join(f"s{i}," + ",".join(f"{v:.9f}" for v in row) + "\n" for i, row in enumerate(p))
    )
    return gt, pred, y, p


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "100"})
    return result.exit_code, result.stdout, result.stderr


def row(stdout: str, label: str) -> str:
    """The report line whose metric name is exactly ``label``."""
    return next(line for line in stdout.splitlines() if re.match(rf"{re.escape(label)}\s+\S", line))


def test_accuracy_conventions_macro_over_and_top_k(
    home: Path, scored: tuple[Path, Path, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    gt, pred, y, p = scored
    out = tmp_path / "r.json"
    code, stdout, stderr = run(
        "evaluate", "--gt", str(gt), "--pred", str(pred), "--top-k", "1,2,4", "--json", str(out),
        "--threshold", "0.5",
    )  # fmt: skip
    assert code == 0, stderr
    summary = json.loads(out.read_text())["summary"]

    # Accuracy at the threshold next to top-1 (argmax) accuracy, which is scikit-learn's.
    labels = list(range(len(CLASSES)))
    top1 = accuracy_score(y, p.argmax(axis=1))
    assert summary["top1_accuracy"] == pytest.approx(top1)
    assert summary["accuracy"] < summary["top1_accuracy"]  # some samples are below 0.5
    accuracy, top1_line = row(stdout, "Accuracy"), row(stdout, "Top-1 accuracy")
    assert f"{summary['accuracy']:.4f}" in accuracy and "threshold 0.5" in accuracy
    assert f"{top1:.4f}" in top1_line and "scikit-learn's accuracy_score" in top1_line
    lines = stdout.splitlines()
    # a threshold is selective prediction: coverage and the accuracy on the kept samples follow
    coverage, kept = row(stdout, "Coverage"), row(stdout, "Accuracy on kept")
    assert f"{summary['coverage']:.4f}" in coverage and summary["coverage"] < 1
    assert f"{summary['selective_accuracy']:.4f}" in kept
    assert lines.index(coverage) == lines.index(accuracy) + 1
    assert lines.index(top1_line) == lines.index(kept) + 1

    # Top-k for the ks asked for (no tied scores here, so scikit-learn agrees), with the tie rule.
    assert [t["k"] for t in summary["top_k"]] == [1, 2, 4]
    for item in summary["top_k"]:
        expected = top_k_accuracy_score(y, p, k=item["k"], labels=labels)
        assert item["value"] == pytest.approx(expected)
        if item["k"] > 1:
            assert f"{expected:.4f}" in row(stdout, f"Top-{item['k']} accuracy")
    assert " ".join(TOP_K_TIE_RULE.split()[:8]) in " ".join(stdout.split())

    # Macro averages say over how many classes they are taken, in the report and in the JSON.
    over = summary["macro_over"]
    items = json.loads(out.read_text())["per_class"]["items"]
    present = sum(1 for r in items if r["total_labeled"] + r["total_predicted"] > 0)
    predicted = sum(1 for r in items if r["total_predicted"] > 0)
    labeled = sum(1 for r in items if r["total_labeled"] > 0)
    # scikit-learn's default: every average over the labels present (labeled or predicted), a
    # class never predicted counting precision 0 -- and the report says how many
    assert (over["precision"], over["recall"], over["f1"]) == (present, present, present)
    assert summary["never_predicted"] == present - predicted
    assert summary["never_labeled"] == present - labeled
    assert over["roc_auc"] == over["average_precision"] == 7  # undefined without a positive
    assert "macro over 7 of 8 classes" in row(stdout, "ROC AUC")
    assert "macro over 7 of 8 classes" in row(stdout, "Average precision")
    assert f"macro over {present} of 8 classes" in row(stdout, "Recall")
    if present > predicted:
        assert f"{present - predicted} never predicted: precision 0" in " ".join(stdout.split())
    assert "scikit-learn's defaults" in " ".join(stdout.split())


def test_top_k_on_show_and_where_it_does_not_apply(
    home: Path, scored: tuple[Path, Path, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    gt, pred, _, _ = scored
    code, stdout, _ = run("evaluate", "--gt", str(gt), "--pred", str(pred), "--json", "-")
    assert [t["k"] for t in json.loads(stdout)["summary"]["top_k"]] == [1, 3, 5]  # default
    eid = json.loads(stdout)["id"]
    code, stdout, _ = run("show", str(eid), "--top-k", "2", "--json", "-")
    assert [t["k"] for t in json.loads(stdout)["summary"]["top_k"]] == [2]

    from assay.demo.shapes import make_shapes_dataset

    det_gt, det_pred = make_shapes_dataset(tmp_path / "det", n_images=4)
    code, stdout, stderr = run(
        "evaluate", "--gt", str(det_gt), "--pred", str(det_pred), "--top-k", "3"
    )
    assert code == 0 and "--top-k ignored" in stderr and "Top-3" not in stdout


def test_top_k_is_checked(home: Path, scored: tuple[Path, Path, np.ndarray, np.ndarray]) -> None:
    gt, pred, _, _ = scored
    for bad in ("0", "a,b", "", "3,-1"):
        code, _, stderr = run("evaluate", "--gt", str(gt), "--pred", str(pred), "--top-k", bad)
        assert code == 2 and "--top-k" in stderr


def test_intervals_beside_the_metrics(
    home: Path, scored: tuple[Path, Path, np.ndarray, np.ndarray]
) -> None:
    gt, pred, _, _ = scored
    code, stdout, _ = run("evaluate", "--gt", str(gt), "--pred", str(pred), "--json", "-")
    eid = json.loads(stdout)["id"]
    code, stdout, _ = run("show", str(eid), "--intervals", "--json", "-")
    report = json.loads(stdout)
    intervals = report["intervals"]
    code, stdout, _ = run("show", str(eid), "--intervals")
    assert code == 0 and "95 % CI" in stdout
    for key, label in (("accuracy", "Accuracy"), ("macro_f1", "F1"), ("roc_auc_macro", "ROC AUC")):
        ci = intervals[key]
        assert ci["low"] <= report["summary"][key] <= ci["high"]
        assert f"{ci['low']:.3f} – {ci['high']:.3f}" in row(stdout, label)
    code, stdout, _ = run("show", str(eid), "--json", "-")
    assert json.loads(stdout)["intervals"] is None  # only on request


def test_multilabel_report(home: Path, tmp_path: Path) -> None:
    gt = tmp_path / "gt.jsonl"
    gt.write_text(
        "".join(
            json.dumps({"id": f"m{i}", "labels": labels, "fold": i % 2}) + "\n"
            for i, labels in enumerate([["x", "y"], ["z"], [], ["x"], ["y", "z"], ["x", "z"]])
        )
    )
    pred = tmp_path / "pred.csv"
    pred.write_text(
        "id,x,y,z\nm0,.9,.4,.1\nm1,.2,.1,.8\nm2,.3,.6,.2\nm3,.7,.2,.3\nm4,.1,.8,.9\nm5,.6,.3,.4\n"
    )
    code, stdout, stderr = run("evaluate", "--gt", str(gt), "--pred", str(pred))
    assert code == 0, stderr
    assert stdout.startswith("Multilabel")
    assert row(stdout, "Subset accuracy") and row(stdout, "Hamming loss")
    assert "Top-1 accuracy" not in stdout  # argmax accuracy is single-label only
    fold_header = stdout.splitlines()[stdout.splitlines().index("Per fold") + 1]
    assert "subset accuracy" in fold_header


def test_plain_csv_with_a_bad_row(home: Path, tmp_path: Path) -> None:
    gt, pred = tmp_path / "labels.csv", tmp_path / "scores.csv"
    gt.write_text("id,label\na1,spam\na2,ham\na3,ham\na4,spam\n")
    pred.write_text("id,spam,ham\na1,0.9,0.1\na2,0.2,0.8\na3,0.4,,\na4,0.7,0.3\n")
    code, stdout, stderr = run("evaluate", "--gt", str(gt), "--pred", str(pred))
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1 and "scores.csv" in stderr
    assert "Traceback" not in stdout + stderr
    assert json.loads(run("list", "--json", "-")[1]) == []


def test_notes_come_before_the_report(home: Path, tmp_path: Path) -> None:
    """--images where each file_name already holds a subfolder: the note says what was found."""
    from assay.demo.shapes import make_shapes_dataset

    gt, pred = make_shapes_dataset(tmp_path / "det", n_images=6)
    images = gt.parent / "images"
    assert any(images.iterdir())
    args = ("evaluate", "--gt", str(gt), "--pred", str(pred), "--images", str(images))
    code, stdout, stderr = run(*args)
    assert code == 0, stderr
    first = stderr.splitlines()[0]  # notes and warnings: on stderr, one line each
    assert re.fullmatch(r"found 6 of 6 image files under .*", first, re.IGNORECASE), first
    assert stdout.splitlines()[0].startswith("Detection")
    code, stdout, stderr = run(*args, "--json", "-")
    assert code == 0 and json.loads(stdout)["task"] == "detection"  # stdout: only the JSON
    assert re.search(r"found 6 of 6 image files", stderr, re.IGNORECASE)


def test_two_classes_no_top_k_row_and_no_tie_rule(home: Path, tmp_path: Path) -> None:
    gt, pred = tmp_path / "labels.csv", tmp_path / "scores.csv"
    gt.write_text("id,label\na1,spam\na2,ham\na3,ham\na4,spam\n")
    pred.write_text("id,spam,ham\na1,0.9,0.1\na2,0.2,0.8\na3,0.4,0.6\na4,0.7,0.3\n")
    code, stdout, _ = run("evaluate", "--gt", str(gt), "--pred", str(pred))
    assert code == 0 and row(stdout, "Top-1 accuracy")
    assert "Top-1 accuracy" in stdout and "Top-k accuracy counts" not in stdout


def test_reader_warnings_are_notes_before_the_report(home: Path, tmp_path: Path) -> None:
    gt, pred = tmp_path / "labels.csv", tmp_path / "scores.csv"
    gt.write_text("id,label\na1,spam\na2,ham\na3,ham\na4,spam\n")
    pred.write_text("id,spam,ham\na1,0.9,0.9\na2,0.2,0.8\na3,0.4,0.6\na4,0.7,0.3\n")
    code, stdout, stderr = run("evaluate", "--gt", str(gt), "--pred", str(pred))
    assert code == 0
    first = stderr.splitlines()[0]  # notes and warnings: on stderr, one line each
    assert "scores.csv" in first and "do not sum to 1" in first
    assert stdout.splitlines()[0].startswith("Classification")
    code, stdout, stderr = run("evaluate", "--gt", str(gt), "--pred", str(pred), "--json", "-")
    assert json.loads(stdout)["task"] == "classification" and "do not sum to 1" in stderr
