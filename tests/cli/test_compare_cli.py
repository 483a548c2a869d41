"""`assay compare A B`: the table and verdicts, --json, the --fail-if-worse gate's exit codes,
and one-line refusals."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

CLASSES = ["ant", "bee", "cat"]


def _write(path: Path, y: np.ndarray, strength: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), len(CLASSES)))
    logits[np.arange(len(y)), y] += strength
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", *CLASSES])
        for i, row in enumerate(p):
            w.writerow([f"s{i}", *(f"{v:.6f}" for v in row)])


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare")
    y = np.random.default_rng(0).integers(0, 3, 900)
    with (root / "gt.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "label"])
        w.writerows([f"s{i}", CLASSES[k]] for i, k in enumerate(y))
    _write(root / "weak.csv", y, 0.8, 1)
    _write(root / "strong.csv", y, 1.8, 2)
    other = root / "other.csv"
    other.write_text("id,label\nx1,ant\nx2,bee\n")
    (root / "other_pred.csv").write_text("id,ant,bee,cat\nx1,0.8,0.1,0.1\nx2,0.2,0.7,0.1\n")
    home = root / "home"
    for gt, pred in (
        ("gt.csv", "weak.csv"),
        ("gt.csv", "strong.csv"),
        ("other.csv", "other_pred.csv"),
    ):
        _assay(home, "evaluate", "--gt", str(root / gt), "--pred", str(root / pred), check=True)
    return home


def _assay(home: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSAY_HOME": str(home), "COLUMNS": "120"}
    out = subprocess.run(
        [sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, env=env
    )
    if check:
        assert out.returncode == 0, out.stderr
    return out


def test_compare_prints_the_differences_and_verdicts(home: Path) -> None:
    out = _assay(home, "compare", "1", "2", "--resamples", "200")
    assert out.returncode == 0, out.stderr
    assert "B is better on accuracy: +" in out.stdout and "95% CI [" in out.stdout
    assert "McNemar" in out.stdout and "fixed (A wrong → B right)" in out.stdout


def test_the_gate_fails_only_when_b_is_significantly_worse(home: Path, tmp_path: Path) -> None:
    better = _assay(home, "compare", "1", "2", "--fail-if-worse", "accuracy,macro_f1")
    assert better.returncode == 0, better.stderr
    worse = _assay(home, "compare", "2", "1", "--fail-if-worse", "accuracy,macro_f1",
                   "--json", str(tmp_path / "gate.json"))  # fmt: skip
    assert worse.returncode == 1
    lines = worse.stderr.strip().splitlines()
    assert lines[0].startswith("Gate failed: B is worse on accuracy: -") and "CI" in lines[0]
    report = json.loads((tmp_path / "gate.json").read_text())
    assert (
        report["gate"]["metrics"] == ["accuracy", "macro_f1"] and len(report["gate"]["failed"]) == 2
    )
    assert {r["metric"] for r in report["metrics"]} >= {"accuracy", "roc_auc_macro"}
    same = _assay(home, "compare", "1", "1")
    assert same.returncode == 2 and same.stderr.count("\n") == 1


def test_compare_refuses_other_data_and_unknown_metrics(home: Path) -> None:
    for args, words in (
        (("compare", "1", "3"), "compare evaluations of the same data"),
        (("compare", "1", "2", "--fail-if-worse", "acuracy"), "unknown metric acuracy"),
        (("compare", "1", "99"), "not found"),
    ):
        out = _assay(home, *args)
        assert out.returncode == 2, out
        assert words in out.stderr and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert _assay(home, "compare", "1", "2", "--json", "-").stdout.lstrip().startswith("{")


def test_compare_files_with_a_ground_truth(home: Path) -> None:
    root = home.parent
    out = _assay(home, "compare", "--gt", str(root / "gt.csv"), str(root / "weak.csv"),
                 str(root / "strong.csv"), "--resamples", "200", "--json", "-")  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["task"] == "classification" and data["a"]["name"].endswith("weak.csv")
    assert data["verdicts"][0].startswith("B is better on accuracy")
    gate = _assay(home, "compare", "--gt", str(root / "gt.csv"), str(root / "strong.csv"),
                  str(root / "weak.csv"), "--fail-if-worse", "accuracy")  # fmt: skip
    assert gate.returncode == 1 and "B is worse on accuracy" in gate.stderr
    wrong = _assay(home, "compare", "1", "2", "--fail-if-worse", "AP50")
    assert wrong.returncode == 2 and "not a metric of a classification comparison" in wrong.stderr


def test_the_gate_and_the_leaderboard_take_the_names_people_type(home: Path) -> None:
    worse = _assay(home, "compare", "2", "1", "--fail-if-worse", "Accuracy,F1")
    assert worse.returncode == 1, worse.stderr
    assert "B is worse on accuracy" in worse.stderr and "B is worse on macro F1" in worse.stderr
    for names, words in (("mAP", "mAP is not a metric of a classification comparison"),
                         ("accuracy,nonsense", "unknown metric nonsense")):  # fmt: skip
        out = _assay(home, "compare", "1", "2", "--fail-if-worse", names)
        assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
        assert words in out.stderr and "(choose from accuracy, top1_accuracy" in out.stderr
    args = ("leaderboard", "1", "--metric", "Accuracy", "--resamples", "50", "--json", "-")
    board = json.loads(_assay(home, *args, check=True).stdout)
    assert board["metric"] == "accuracy" and board["label"] == "accuracy"
    loss = _assay(home, "leaderboard", "1", "--metric", "logloss", "--resamples", "50", check=True)
    assert "ranked by log loss (lower is better)" in loss.stdout
    bad = _assay(home, "leaderboard", "1", "--metric", "mAP")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "'mAP' is not a classification metric (choose from accuracy" in bad.stderr


def test_compare_without_annotations(home: Path) -> None:
    root = home.parent
    out = _assay(home, "compare", str(root / "weak.csv"), str(root / "strong.csv"))
    assert out.returncode == 0, out.stderr
    assert "top-1 agreement" in out.stdout and "Cohen's kappa" in out.stdout
    assert "Most frequent flips" in out.stdout
    gated = _assay(home, "compare", str(root / "weak.csv"), str(root / "strong.csv"),
                   "--fail-if-worse", "accuracy")  # fmt: skip
    assert gated.returncode == 2 and "needs annotations" in gated.stderr
    mixed = _assay(home, "compare", "1", str(root / "weak.csv"))
    assert mixed.returncode == 2 and "not one of each" in mixed.stderr
    missing = _assay(home, "compare", str(root / "weak.csv"), str(root / "nope.csv"))
    assert missing.returncode == 2 and "nope.csv" in missing.stderr
    other = _assay(home, "compare", str(root / "weak.csv"), str(root / "other_pred.csv"))
    assert other.returncode == 2 and "other samples" in other.stderr
    assert other.stderr.count("\n") == 1


def test_compare_detection_files(tmp_path: Path) -> None:
    from assay.demo.shapes import make_shapes_dataset

    gt, dets = make_shapes_dataset(tmp_path, n_images=40, seed=2)
    data = json.loads(Path(dets).read_text())
    first = min(d["category_id"] for d in data)
    (tmp_path / "worse.json").write_text(
        json.dumps([d for i, d in enumerate(data) if not (d["category_id"] == first and i % 2)])
    )
    home = tmp_path / "home"
    out = _assay(home, "compare", "--gt", str(gt), str(dets), str(tmp_path / "worse.json"),
                 "--score", "0.3", "--fail-if-worse", "AP50")  # fmt: skip
    assert out.returncode == 1, out.stderr
    assert "mAP per IoU" in out.stdout and "Per class · AP" in out.stdout
    assert out.stderr.startswith("Gate failed: B is worse on AP50: -")
    named = _assay(home, "compare", "--gt", str(gt), str(dets), str(tmp_path / "worse.json"),
                   "--score", "0.3", "--fail-if-worse", "mAP,F1,ap50")  # fmt: skip
    assert named.returncode == 1, named.stderr
    assert "Gate failed: B is worse on mAP (.50:.95)" in named.stderr
    assert "B is worse on AP50" in named.stderr
    unlabeled = _assay(home, "compare", str(dets), str(tmp_path / "worse.json"))
    assert unlabeled.returncode == 0 and "Box agreement" in unlabeled.stdout
    assert not home.exists() or not (home / "catalog.sqlite").exists()


def test_leaderboard(home: Path) -> None:
    out = _assay(home, "leaderboard", "1", "--resamples", "200")
    assert out.returncode == 0, out.stderr
    assert "ranked by accuracy" in out.stdout and "best" in out.stdout
    assert "1 of 1 significantly worse than the best" in out.stdout
    data = json.loads(_assay(home, "leaderboard", "2", "--json", "-", check=True).stdout)
    assert [r["id"] for r in data["rows"]] == [2, 1] and data["rows"][1]["significant"]
    bad = _assay(home, "leaderboard", "1", "--metric", "AP50")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_the_gate_with_a_margin(home: Path, tmp_path: Path) -> None:
    """--margin (points for accuracy): the gate fails only when the worst plausible drop
    exceeds the margin; the answer says whether B is equivalent within ±margin (TOST)."""
    strict = _assay(home, "compare", "2", "1", "--fail-if-worse", "accuracy", "--margin", "0.5")
    assert strict.returncode == 1, strict.stderr
    assert strict.stderr.startswith(
        "Gate failed: B may be worse than A on accuracy by more than the margin of 0.5 points"
    )
    loose = _assay(home, "compare", "2", "1", "--fail-if-worse", "accuracy", "--margin", "60",
                   "--json", str(tmp_path / "m.json"))  # fmt: skip
    assert loose.returncode == 0, loose.stderr
    data = json.loads((tmp_path / "m.json").read_text())
    (item,) = data["margin"]["metrics"]
    assert item["noninferior"] and 0 < item["worst_drop"] < 0.6 and item["margin"] == 0.6
    assert data["gate"]["margin"] == 60 and data["gate"]["failed"] == []
    assert "non-inferior to A on accuracy at a margin of 60 points" in loose.stdout
    assert "equivalent to A within ±60 points on accuracy" in loose.stdout
    better = _assay(home, "compare", "1", "2", "--fail-if-worse", "accuracy", "--margin", "0.5")
    assert better.returncode == 0, better.stderr
    help_text = _assay(home, "compare", "--help").stdout
    assert "percentage points" in " ".join(help_text.split())
