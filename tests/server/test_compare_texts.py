"""GET /api/compare on a text dataset: the changed samples carry their text (as the feed's items
do); on a dataset without texts they carry none."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from assay.evaluation.classification import ClassificationResults
from assay.server.app import create_app
from assay.store import Workspace
from tests.server.conftest import BASE_URL, get_json

CLASSES = ["question", "statement", "command"]
N = 300


def _scores(y: np.ndarray, strength: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), 3))
    logits[np.arange(len(y)), y] += strength
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    home = tmp_path_factory.mktemp("compare-texts") / "home"
    ws = Workspace(home)
    y = np.random.default_rng(0).integers(0, 3, N)
    ids = np.array([f"t{i}" for i in range(N)])
    texts = [f"sentence number {i}, about {CLASSES[k]}s" for i, k in enumerate(y)]
    with_text = ws.add_dataset_version(
        "sentences", task="classification", samples=pa.table({"id": ids, "text": texts})
    )
    plain = ws.add_dataset_version("plain", task="classification", samples=pa.table({"id": ids}))
    for name, strength, seed, version in (("weak", 0.5, 1, with_text), ("strong", 2.0, 2, with_text),
                                          ("p-weak", 0.5, 1, plain), ("p-strong", 2.0, 2, plain)):  # fmt: skip
        results = ClassificationResults(
            y, _scores(y, strength, seed), classes=CLASSES, sample_ids=ids
        )
        ws.save_evaluation(results, name=name, dataset_version_id=version.id)
    ws.close()
    return TestClient(create_app(home), base_url=BASE_URL)


def test_changed_samples_carry_their_text(client: TestClient) -> None:
    data = get_json(client, "/api/compare?a=1&b=2&intervals=false")
    d = data["disagreements"]
    rows = d["fixed_samples"] + d["broken_samples"] + d["largest_confidence_changes"]
    assert d["fixed_samples"] and rows
    for row in rows:
        i = int(row["id"].removeprefix("t"))
        assert row["index"] == i
        assert row["text"].startswith(f"sentence number {i},")


def test_samples_without_text_carry_none(client: TestClient) -> None:
    d = get_json(client, "/api/compare?a=3&b=4&intervals=false")["disagreements"]
    assert d["fixed_samples"]
    assert all(row.get("text") is None for row in d["fixed_samples"])
