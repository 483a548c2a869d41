"""Bounded memory: 1,000 distinct request values into every cache keyed by one, and no cache
grows past its bound (the server's LRUs, the per-evaluation memos, the results objects' own)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from assay.evaluation.classification import evaluate_classification
from assay.evaluation.detection import MAX_KEPT_OPTIMA
from assay.server.answers import MAX_CACHED_CURVE_POINTS, MAX_CACHED_CURVES, MAX_CACHED_OPTIMA
from assay.server.app import create_app
from assay.server.config import Limits
from assay.server.deps import EvaluationContext
from assay.store import Workspace
from tests.server.conftest import BASE_URL, CLASSES, Seeded, build_workspace

N = 1000


def _mappings(obj: Any) -> dict[str, int]:
    """The sizes of every mapping an object holds in its attributes (one level deep)."""
    attrs = getattr(obj, "__dict__", {})
    return {k: len(v) for k, v in attrs.items() if isinstance(v, Mapping)}


@pytest.fixture(scope="module")
def hammered(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, Seeded]:
    root = tmp_path_factory.mktemp("bounded")
    seeded = build_workspace(root / "home", root / "data")
    app = create_app(seeded.home, limits=Limits(cached_evaluations=8, cached_sample_tables=4))
    return TestClient(app, base_url=BASE_URL), seeded


def _context(client: TestClient, evaluation_id: int) -> dict[str, Any]:
    memo: dict[str, Any] = client.app.state.memo[evaluation_id]  # type: ignore[attr-defined]
    return memo


def test_detection_optimal_and_feed_per_iou(hammered: tuple[TestClient, Seeded]) -> None:
    client, seeded = hammered
    rng = np.random.default_rng(1)
    base = f"/api/evaluations/{seeded.detection}"
    for i in range(N):
        iou = f"{0.05 + 0.9 * i / N:.6f}"
        assert client.get(f"{base}/optimal?iou={iou}").status_code == 200
        if i % 4 == 0:  # the matching caches: per IoU and per (IoU, confidence)
            score = f"{rng.random():.6f}"
            assert client.get(f"{base}/samples?iou={iou}&score={score}&limit=5").status_code == 200
    memo = _context(client, seeded.detection)
    assert len(memo["optima"]) <= MAX_CACHED_OPTIMA
    res = client.app.state.workspace.peek_results(seeded.detection)  # type: ignore[attr-defined]
    sizes = _mappings(res)
    assert sizes.get("_optimal", 0) <= MAX_KEPT_OPTIMA, sizes
    assert all(size < N // 2 for size in sizes.values()), sizes


def test_classification_thresholds_labels_and_curves(hammered: tuple[TestClient, Seeded]) -> None:
    client, seeded = hammered
    base = f"/api/evaluations/{seeded.text}"
    for i in range(N):
        t = f"{i / N:.6f}"
        label = CLASSES[i % 3]
        bins = 1 + i % 997
        assert client.get(f"{base}/curves/calibration?label={label}&bins={bins}").status_code == 200
        if i % 4 == 0:
            assert client.get(f"{base}/optimal?threshold={t}").status_code == 200
            assert client.get(f"{base}/curves/roc?label=nope-{i}").status_code == 422
        if i % 10 == 0:
            assert client.get(f"{base}/labels?threshold={t}").status_code == 200
            assert client.get(f"{base}/samples?threshold={t}&offset={i}&limit=3").status_code == 200
            assert client.get(f"{base}/labels/{label}?threshold={t}&limit=2").status_code == 200
    memo = _context(client, seeded.text)
    assert len(memo["curves"]) <= MAX_CACHED_CURVES
    assert memo["curves"].weight <= MAX_CACHED_CURVE_POINTS
    assert len(memo["optima"]) <= MAX_CACHED_OPTIMA
    res = client.app.state.workspace.peek_results(seeded.text)  # type: ignore[attr-defined]
    sizes = _mappings(res)
    assert all(size < N // 2 for size in sizes.values()), sizes


def test_many_evaluations_ids_and_media(
    hammered: tuple[TestClient, Seeded], tmp_path: Path
) -> None:
    client, seeded = hammered
    ws = Workspace(seeded.home)
    rng = np.random.default_rng(2)
    import pyarrow as pa

    made = []
    for i in range(20):  # more evaluations (and dataset versions) than the caches keep
        dv = ws.add_dataset_version(
            f"many{i}",
            task="classification",
            samples=pa.table({"id": [f"{i}-{k}" for k in range(5)]}),
        )
        res = evaluate_classification(rng.integers(0, 3, 5), rng.random((5, 3)), classes=CLASSES)
        made.append(ws.save_evaluation(res, name=f"e{i}", dataset_version_id=dv.id).id)
    ws.close()
    for i in range(N):
        if i % 5 == 0:
            evaluation = made[i // 5 % len(made)]
            assert client.get(f"/api/evaluations/{evaluation}/summary").status_code == 200
            media = client.get(f"/api/samples/{seeded.image_dv}:{i}/media")
            assert media.status_code == (200 if i < 40 and i != 5 else 404)
        assert client.get(f"/api/evaluations/{10_000 + i}").status_code == 404
        assert client.get(f"/api/samples/{10_000 + i}:0/media").status_code == 404
    state: Any = client.app.state  # type: ignore[attr-defined]
    assert len(state.memo) <= 8
    assert len(state.sample_lookups) <= 4
    assert len(state.media_roots) <= Limits().cached_media_roots
    assert len(state.workspace._results) <= 4 and len(state.workspace._samples) <= 8


def test_context_memo_is_per_evaluation(hammered: tuple[TestClient, Seeded]) -> None:
    client, seeded = hammered
    assert client.get(f"/api/evaluations/{seeded.image}").status_code == 200
    memo = _context(client, seeded.image)
    assert set(memo) <= {"report", "intervals", "curves", "optima"}
    assert EvaluationContext  # the memo is the one EvaluationContext.cached writes into
