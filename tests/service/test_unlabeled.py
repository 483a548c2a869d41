"""Unlabeled dataset versions and prediction runs: a flat folder of images registered without
labels, two models run on it and stored as prediction runs (no metrics), their agreement
(checked against scikit-learn's kappa and a count by hand), and the refusals."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from assay.errors import InputError
from assay.service.agreement import agreement_samples, agreement_stored
from assay.service.unlabeled import (
    is_unlabeled,
    prediction_scores,
    register_unlabeled,
    run_predictions,
)
from assay.store import Workspace
from assay.store.datasets import register_dataset
from tests.service.int8_models import make_classifier, write_folder


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("unlabeled")
    ws = Workspace(root / "ws")
    a = ws.add_model(make_classifier(root / "train", root / "a.onnx", seed=0), name="a")
    b = ws.add_model(make_classifier(root / "train2", root / "b.onnx", seed=1), name="b")
    write_folder(root / "labeled", 10, seed=5)
    flat = root / "photos"
    flat.mkdir()
    for p in sorted((root / "labeled").glob("*/*.png")):
        shutil.copy(p, flat / p.name)
    dv, new = register_unlabeled(ws, flat)
    ra = run_predictions(ws, a.id, dv.id, batch=7)
    rb = run_predictions(ws, b.id, dv.id)
    yield {"root": root, "ws": ws, "dv": dv, "new": new, "ra": ra, "rb": rb, "a": a}
    ws.close()


def test_registered_without_labels(setup: dict) -> None:
    ws, dv = setup["ws"], setup["dv"]
    assert setup["new"] and dv.n_samples == 30 and dv.dataset_name == "photos"
    assert is_unlabeled(ws, dv.id)
    assert "label" not in ws.samples_table(dv.id).column_names
    again, new = register_unlabeled(ws, setup["root"] / "photos")
    assert again.id == dv.id and not new


def test_prediction_runs_have_scores_and_no_metrics(setup: dict) -> None:
    ws, ra = setup["ws"], setup["ra"]
    assert ra.status == "predictions" and ra.headline_metric is None
    assert ra.n_samples == 30 and ra.n_classes == 3
    assert ra.params["predictions_only"] is True
    scores = prediction_scores(ws, ra.id)
    assert scores.y_score.shape == (30, 3)
    np.testing.assert_allclose(scores.y_score.sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(InputError, match="prediction run on an unlabeled"):
        ws.load_results(ra.id)


def test_agreement_of_two_prediction_runs(setup: dict) -> None:
    ws, ra, rb = setup["ws"], setup["ra"], setup["rb"]
    out = agreement_stored(ws, ra.id, rb.id)
    ta = prediction_scores(ws, ra.id).y_score.argmax(axis=1)
    tb = prediction_scores(ws, rb.id).y_score.argmax(axis=1)
    assert out["n_samples"] == 30
    assert out["agreement"] == pytest.approx(float(np.mean(ta == tb)))
    assert out["cohen_kappa"] == pytest.approx(cohen_kappa_score(ta, tb), abs=1e-9)
    page = agreement_samples(ws, ra.id, rb.id)
    assert page["total"] == 30


def test_refusals(setup: dict, tmp_path: Path) -> None:
    ws, root = setup["ws"], setup["root"]
    labeled, _, _ = register_dataset(ws, root / "labeled", name="labeled")
    with pytest.raises(InputError, match="has labels"):
        run_predictions(ws, setup["a"].id, labeled.id)
    with pytest.raises(InputError, match="holds labeled versions"):
        register_unlabeled(ws, root / "photos", name="labeled")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no images"):
        register_unlabeled(ws, empty)
