"""GET /api/leaderboard answers the simultaneous procedure: each row's rank interval, the
interval of its difference from the best of the others (significant exactly when it lies below
0), the winner's interval that accounts for its selection, and the procedure named at the top;
the answer matches its schema exactly (no NaN)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from assay.evaluation.classification import ClassificationResults
from assay.server.app import create_app
from assay.store import Workspace
from tests.server.conftest import BASE_URL, get_json

CLASSES = ["ant", "bee", "cat"]


def _scores(y: np.ndarray, strength: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), 3))
    logits[np.arange(len(y)), y] += strength
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """Four evaluations of one dataset version: two close strong models, a middle and a weak."""
    home = tmp_path_factory.mktemp("leaderboard") / "home"
    ws = Workspace(home)
    y = np.random.default_rng(0).integers(0, 3, 800)
    ids = np.array([f"s{i}" for i in range(800)])
    dv = ws.add_dataset_version("insects", task="classification", samples=pa.table({"id": ids}))
    for name, strength, seed in (("weak", 0.6, 1), ("strong", 2.0, 2), ("strong too", 2.0, 3),
                                 ("middle", 1.2, 4)):  # fmt: skip
        results = ClassificationResults(
            y, _scores(y, strength, seed), classes=CLASSES, sample_ids=ids
        )
        ws.save_evaluation(results, name=name, dataset_version_id=dv.id)
    ws.close()
    return TestClient(create_app(home), base_url=BASE_URL)


def test_the_leaderboard_answers_rank_intervals_and_the_procedure(client: TestClient) -> None:
    data = get_json(client, "/api/leaderboard?dataset_version=1&resamples=400")
    assert data["procedure"] == "max-T bootstrap over all pairs (simultaneous, 95 %)"
    assert data["critical_value"] > 1.96 and data["n_resamples"] == 400
    rows = data["rows"]
    assert [r["name"] for r in rows][2:] == ["middle", "weak"]
    top, second = rows[0], rows[1]
    assert top["best"] and top["rank_low"] == 1 and top["delta_low"] is None
    assert not second["significant"] and (second["rank_low"], second["rank_high"]) == (1, 2)
    for r in rows[2:]:
        assert r["significant"] and r["delta_high"] < 0 and r["p_holm"] < 0.05
        assert r["rank_low"] >= 3
    assert [(r["rank_low"], r["rank_high"]) for r in rows[2:]] == [(3, 3), (4, 4)]
    assert top["simultaneous_low"] < top["low"] and top["high"] < top["simultaneous_high"]
    by_loss = get_json(client, "/api/leaderboard?dataset_version=1&metric=log_loss&resamples=200")
    worst = by_loss["rows"][-1]
    assert worst["name"] == "weak" and worst["significant"] and worst["delta_low"] > 0
