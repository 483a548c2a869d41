"""`assay show EVAL --label NAME`: one label at the point (the web UI's label page), its counts
equal to the per-class table's and to the totals of the samples listed; one-line refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from assay.demo.shapes import make_shapes_dataset
from assay.evaluation.classification import evaluate_classification
from assay.evaluation.detection import evaluate_detections
from assay.store import Workspace


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    root = tmp_path_factory.mktemp("show-label")
    det = evaluate_detections(*make_shapes_dataset(root / "shapes", n_images=12, seed=5))
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 90)
    raw = rng.random((90, 3)) + 0.8 * np.eye(3)[y]
    scores = raw / raw.sum(axis=1, keepdims=True)
    cls = evaluate_classification(y, scores, classes=["ant", "bee", "cat"])
    ws = Workspace(root / "home")
    ids = [str(i) for i in det.gt.image_ids]
    ddv = ws.add_dataset_version("shapes", task="detection", samples=pa.table({"id": ids}))
    d = ws.save_evaluation(det, task="detection", name="shapes", dataset_version_id=ddv.id)
    cdv = ws.add_dataset_version(
        "bugs", task="classification", samples=pa.table({"id": [str(i) for i in range(90)]})
    )
    c = ws.save_evaluation(cls, task="classification", name="bugs", dataset_version_id=cdv.id)
    ws.close()
    return root / "home", d.id, c.id


def _assay(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSAY_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, env=env
    )


def test_classification_label_counts_and_samples(
    home: tuple[Path, int, int], tmp_path: Path
) -> None:
    path, _, cls = home
    target = tmp_path / "label.json"
    out = _assay(path, "show", str(cls), "--label", "bee", "--json", str(target))
    assert out.returncode == 0, out.stderr
    report = json.loads(target.read_text())
    answer = report["label"]
    row = next(r for r in report["per_class"]["items"] if r["label"] == "bee")
    assert answer["metrics"]["tp"] == row["tp"] and answer["metrics"]["fp"] == row["fp"]
    for outcome in ("tp", "fn", "fp"):
        got = answer["samples"][outcome]
        assert got["total"] == row[outcome]
        assert len(got["items"]) == min(10, row[outcome])
    assert all(i["actual"] == "bee" for i in answer["samples"]["fn"]["items"])
    assert all(i["predicted"] == "bee" for i in answer["samples"]["fp"]["items"])
    assert all(i["actual"] != "bee" for i in answer["samples"]["fp"]["items"])
    printed = _assay(path, "show", str(cls), "--label", "bee")
    assert printed.returncode == 0, printed.stderr
    assert f"True positives: {row['tp']} samples" in printed.stdout
    assert f"False negatives: {row['fn']} samples" in printed.stdout


def test_detection_label_lists_images(home: tuple[Path, int, int]) -> None:
    path, det, _ = home
    out = _assay(path, "show", str(det), "--label", "circle")
    assert out.returncode == 0, out.stderr
    assert "circle: precision" in out.stdout and "True positives:" in out.stdout
    assert " images" in out.stdout


def test_an_unknown_label_is_one_line(home: tuple[Path, int, int]) -> None:
    path, _, cls = home
    out = _assay(path, "show", str(cls), "--label", "wasp")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["Error: --label: unknown label 'wasp'"]
    assert "Traceback" not in out.stderr
