"""`assay show EVAL --errors`: TIDE's error types printed and in --json, one-line refusals."""

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
    root = tmp_path_factory.mktemp("show-errors")
    det = evaluate_detections(*make_shapes_dataset(root / "shapes", n_images=20, seed=4))
    rng = np.random.default_rng(0)
    cls = evaluate_classification(rng.integers(0, 2, 30), rng.random((30, 2)), classes=["a", "b"])
    ws = Workspace(root / "home")
    ids = [str(i) for i in det.gt.image_ids]
    ddv = ws.add_dataset_version("shapes", task="detection", samples=pa.table({"id": ids}))
    d = ws.save_evaluation(det, task="detection", name="shapes", dataset_version_id=ddv.id)
    cdv = ws.add_dataset_version(
        "coin", task="classification", samples=pa.table({"id": [str(i) for i in range(30)]})
    )
    c = ws.save_evaluation(cls, task="classification", name="coin", dataset_version_id=cdv.id)
    ws.close()
    return root / "home", d.id, c.id


def _assay(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSAY_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, env=env
    )


def test_printed_and_in_json(home: tuple[Path, int, int], tmp_path: Path) -> None:
    path, det, _ = home
    out = _assay(path, "show", str(det), "--errors")
    assert out.returncode == 0, out.stderr
    assert "Error types (TIDE) at IoU 0.5, background 0.1" in out.stdout
    for name in ("Classification", "Localisation", "Both", "Duplicate", "Background", "Missed"):
        assert name in out.stdout
    assert "Per class: count / the class's own dAP" in out.stdout
    target = tmp_path / "show.json"
    out = _assay(path, "show", str(det), "--errors", "--json", str(target))
    assert out.returncode == 0, out.stderr
    answer = json.loads(target.read_text())["error_types"]
    assert [r["type"] for r in answer["types"]] == ["cls", "loc", "both", "dupe", "bkg", "miss"]
    assert len(answer["classes"]) == 3


def test_refusals(home: tuple[Path, int, int], tmp_path: Path) -> None:
    path, _, cls = home
    target = tmp_path / "never.json"
    out = _assay(path, "show", str(cls), "--errors", "--json", str(target))
    assert out.returncode == 2 and "error types are for detection" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not target.exists()
    out = _assay(path, "show", "4242", "--errors")
    assert out.returncode == 2 and "4242" in out.stderr
