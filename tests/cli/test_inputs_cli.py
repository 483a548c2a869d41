"""Inputs people actually have, through the command line: hard labels, `assay datasets add /
list`, names that would merge two kinds of data, the same evaluation run twice, warnings on
stderr, an option given twice, tables at 80 columns."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from assay.cli.main import app
from tests.runners.models import linear_softmax, write_images

CLASSES = ("cat", "dog", "owl")


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    monkeypatch.setenv("ASSAY_HOME", str(ws))
    monkeypatch.setenv("COLUMNS", "80")
    return ws


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _counts(home: Path) -> dict[str, int]:
    if not (home / "catalog.sqlite").exists():
        return {}
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        tables = ("datasets", "dataset_versions", "models", "model_versions", "evaluations")
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A ground truth in a generic file name (data/pets/gt.csv), a score table, hard labels."""
    rng = np.random.default_rng(5)
    n = 60
    y = rng.integers(0, 3, n)
    p = rng.dirichlet(np.ones(3), n) * 0.5 + 0.5 * np.eye(3)[y]
    folder = tmp_path / "data" / "pets"
    folder.mkdir(parents=True)
    gt = folder / "gt.csv"
    gt.write_text("id,label\n" + "".join(f"s{i},{CLASSES[k]}\n" for i, k in enumerate(y)))
    scores = tmp_path / "resnet.csv"
    scores.write_text(
        "id,cat,dog,owl\n"
        + "".join(f"s{i},{r[0]:.6f},{r[1]:.6f},{r[2]:.6f}\n" for i, r in enumerate(p))
    )
    hard = tmp_path / "hard.csv"
    hard.write_text(
        "id,prediction\n" + "".join(f"s{i},{CLASSES[int(np.argmax(r))]}\n" for i, r in enumerate(p))
    )
    return gt, scores, hard


def test_hard_labels_through_the_cli(home: Path, files: tuple[Path, Path, Path]) -> None:
    gt, _, hard = files
    out = home.parent / "r.json"
    code, stdout, stderr = run("evaluate", "--gt", str(gt), "--pred", str(hard), "--json", str(out))
    assert code == 0, stderr
    assert "hard labels: no scores, so ROC AUC, AP, log loss, calibration and curves" in stderr
    report = json.loads(out.read_text())
    assert report["summary"]["roc_auc_macro"] is None and report["summary"]["accuracy"] > 0.5
    code, _, stderr = run("show", str(report["id"]))
    assert code == 0 and "hard labels" in stderr  # the stored notes, again


def test_datasets_add_and_list(home: Path, files: tuple[Path, Path, Path]) -> None:
    gt, scores, _ = files
    code, stdout, stderr = run("datasets", "add", str(gt))
    assert code == 0, stderr
    assert "Registered dataset version 1" in stdout and "pets v1" in stdout  # not "gt"
    assert "60 samples" in stdout and "3 classes" in stdout
    code, stdout, _ = run("datasets", "add", str(gt))
    assert code == 0 and "Already registered dataset version 1" in stdout
    # an evaluation of the same file lands on the registered version
    code, _, stderr = run("evaluate", "--gt", str(gt), "--pred", str(scores))
    assert code == 0, stderr
    code, stdout, _ = run("datasets", "list", "--json", "-")
    data = json.loads(stdout)
    assert [d["name"] for d in data] == ["pets"]
    version = data[0]["versions"][0]
    assert version["id"] == 1 and version["n_samples"] == 60 and version["n_classes"] == 3
    assert version["task"] == "classification" and version["evaluations"] == 1
    code, stdout, _ = run("datasets", "list")
    assert code == 0 and "pets v1" in stdout
    assert max(map(len, stdout.splitlines())) <= 80
    code, stdout, _ = run("list")
    assert code == 0 and "(#1)" in stdout  # the dataset version's id
    assert max(map(len, stdout.splitlines())) <= 80


def test_datasets_add_bad_input_is_one_line(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,label\n1,a\n1,b\n")
    code, stdout, stderr = run("datasets", "add", str(bad))
    assert code == 2 and stderr.startswith("Error: ") and "bad.csv" in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stdout + stderr
    assert set(_counts(home).values()) <= {0}


def test_names_never_merge_two_kinds(home: Path, files: tuple[Path, Path, Path], tmp_path: Path):
    gt, _, _ = files
    assert run("datasets", "add", str(gt), "--name", "pets")[0] == 0
    other = tmp_path / "other.csv"
    other.write_text("id,label\n1,ant\n2,bee\n")
    before = _counts(home)
    code, _, stderr = run("datasets", "add", str(other), "--name", "pets")
    assert code == 2 and "dataset 'pets' exists" in stderr and "class set" in stderr
    assert len(stderr.strip().splitlines()) == 1 and _counts(home) == before
    # without a name: stored under a new one, with a note
    moved = tmp_path / "more" / "pets"
    moved.mkdir(parents=True)
    (moved / "gt.csv").write_text("id,label\n1,ant\n2,bee\n")
    code, stdout, stderr = run("datasets", "add", str(moved / "gt.csv"))
    assert code == 0, stderr
    assert "stored as 'pets-2'" in stderr and "pets-2 v1" in stdout
    # a model name given explicitly for predictions of another class set is refused
    preds = tmp_path / "p.csv"
    preds.write_text("id,ant,bee\n1,0.9,0.1\n2,0.2,0.8\n")
    assert run("evaluate", "--gt", str(other), "--pred", str(preds), "--model-name", "m")[0] == 0
    before = _counts(home)
    code, _, stderr = run("evaluate", "--gt", str(gt), "--pred", str(files[1]), "--model-name", "m")
    assert code == 2 and "model 'm' exists" in stderr and _counts(home) == before


def test_the_same_evaluation_twice_is_answered_from_the_store(
    home: Path, files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    gt, scores, _ = files
    code, first, _ = run("evaluate", "--gt", str(gt), "--pred", str(scores))
    assert code == 0
    copy = tmp_path / "copy.csv"  # the same bytes under another name: the same predictions
    copy.write_bytes(scores.read_bytes())
    before = _counts(home)
    code, stdout, _ = run("evaluate", "--gt", str(gt), "--pred", str(copy))
    assert code == 0 and "Already stored as evaluation 1" in stdout
    assert "Accuracy" in stdout and _counts(home) == before
    out = tmp_path / "r.json"
    code, stdout, _ = run("evaluate", "--gt", str(gt), "--pred", str(scores), "--json", "-")
    assert code == 0 and json.loads(stdout)["id"] == 1
    # other options: another evaluation; --force: stored again
    code, stdout, _ = run("evaluate", "--gt", str(gt), "--pred", str(scores), "--threshold", "0.7")
    assert code == 0 and "Stored as evaluation 2" in stdout
    code, stdout, _ = run(
        "evaluate", "--gt", str(gt), "--pred", str(scores), "--force", "--json", str(out)
    )
    assert code == 0 and "Stored as evaluation 3" in stdout and json.loads(out.read_text())["id"]


def test_the_same_model_run_twice(home: Path, tmp_path: Path) -> None:
    model, _, _ = linear_softmax(tmp_path / "lin.onnx", n_classes=3)
    (tmp_path / "lin.labels.txt").write_text("\n".join(CLASSES) + "\n")
    root = tmp_path / "pets"
    for k, name in enumerate(CLASSES):
        write_images(root / name, 2, size=(8, 8), seed=k)
    code, stdout, stderr = run("evaluate", "--gt", str(root), "--model", str(model))
    assert code == 0, stderr
    before = _counts(home)
    code, stdout, _ = run("evaluate", "--gt", str(root), "--model", "lin")
    assert code == 0 and "Already stored as evaluation 1" in stdout and _counts(home) == before
    code, stdout, _ = run("evaluate", "--gt", str(root), "--model", "lin", "--force")
    assert code == 0 and "Stored as evaluation 2" in stdout


def test_pred_given_twice_is_refused(home: Path, files: tuple[Path, Path, Path]) -> None:
    gt, scores, hard = files
    code, _, stderr = run("evaluate", "--gt", str(gt), "--pred", str(scores), f"--pred={hard}")
    assert code == 2 and "--pred" in stderr and "given twice" in stderr
    assert _counts(home) == {}


def test_warnings_go_to_stderr_one_line_each(home: Path, tmp_path: Path) -> None:
    gt = tmp_path / "gt.csv"
    gt.write_text('id,label\n1,cat\n2,"cat,dog"\n3,dog\n')
    pred = tmp_path / "pred.csv"
    pred.write_text("id,label\n1,cat\n2,zebra\n3,dog\n")
    code, stdout, stderr = run("evaluate", "--gt", str(gt), "--pred", str(pred))
    assert code == 0, stderr
    lines = stderr.strip().splitlines()
    assert any("'labels' column with '|'" in line for line in lines)
    assert any("'zebra'" in line for line in lines)
    assert "zebra'" not in stdout.split("Accuracy")[0]
    stored = json.loads(run("list", "--json", "-")[1])[0]["params"]["notes"]
    assert any("'zebra'" in n for n in stored)


def test_labels_joined_by_commas_in_an_error_get_the_hint(home: Path, tmp_path: Path) -> None:
    gt = tmp_path / "gt.csv"
    gt.write_text('id,label\n1,cat\n2,"cat,dog"\n3,dog\n')
    pred = tmp_path / "pred.csv"
    pred.write_text("id,cat,dog\n1,0.8,0.2\n2,0.5,0.5\n3,0.1,0.9\n")
    code, _, stderr = run("evaluate", "--gt", str(gt), "--pred", str(pred))
    assert code == 2 and "row 2" in stderr and "'labels' column with '|'" in stderr
