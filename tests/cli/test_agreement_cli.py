"""``assay compare A B --no-labels``: two stored runs compared without their labels (top-1
agreement, kappa, flips), the numbers equal to the service's and scikit-learn's kappa; a
one-line refusal without two ids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from assay.cli.main import app
from assay.evaluation.classification import ClassificationResults
from assay.store import Workspace

CLASSES = ["cat", "dog", "fox"]


@pytest.fixture()
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    rng = np.random.default_rng(5)
    n = 120
    ids = [f"s{i}" for i in range(n)]
    sa = rng.dirichlet(np.ones(3), n)
    sb = np.where(rng.random((n, 1)) < 0.75, sa, rng.dirichlet(np.ones(3), n))
    y = rng.integers(0, 3, n)
    home = tmp_path / "home"
    ws = Workspace(home)
    dv = ws.add_dataset_version("pics", task="classification", samples=pa.table({"id": ids}))
    a = ws.save_evaluation(
        ClassificationResults(y, sa, CLASSES, sample_ids=ids), name="fp32", dataset_version_id=dv.id
    )
    b = ws.save_evaluation(
        ClassificationResults(y, sb, CLASSES, sample_ids=ids), name="int8", dataset_version_id=dv.id
    )
    ws.close()
    monkeypatch.setenv("ASSAY_HOME", str(home))
    return {"a": a.id, "b": b.id, "sa": sa, "sb": sb}


def test_no_labels_prints_and_writes_the_agreement(runs: dict, tmp_path: Path) -> None:
    out = tmp_path / "agreement.json"
    result = CliRunner().invoke(
        app, ["compare", str(runs["a"]), str(runs["b"]), "--no-labels", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(out.read_text())
    pa_, pb_ = runs["sa"].argmax(axis=1), runs["sb"].argmax(axis=1)
    assert answer["agreement"] == pytest.approx(float((pa_ == pb_).mean()))
    assert answer["cohen_kappa"] == pytest.approx(cohen_kappa_score(pa_, pb_))
    text = " ".join(result.output.split())  # the console wraps lines
    assert "top-1 agreement" in text and "Cohen's kappa" in text


def test_no_labels_needs_two_ids(runs: dict, tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("id,cat,dog,fox\ns0,0.2,0.3,0.5\n")
    result = CliRunner().invoke(app, ["compare", str(f), str(f), "--no-labels"])
    assert result.exit_code == 2
    assert "--no-labels compares two stored evaluations" in result.output
