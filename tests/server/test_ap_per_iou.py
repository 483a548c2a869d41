"""The detection page's AP at each IoU .50:.95: ``extra.per_iou`` of an evaluation's answer."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from assay.server.answer_schemas import ProtocolsTable
from assay.store import Workspace
from tests.server.conftest import Seeded


def _answer(client: TestClient, evaluation: int) -> dict:
    answer = client.get(f"/api/evaluations/{evaluation}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_per_iou_is_cocos_map_at_each_threshold(client: TestClient, seeded: Seeded) -> None:
    answer = _answer(client, seeded.detection)
    ProtocolsTable.model_validate(answer["extra"], strict=True)
    per_iou = answer["extra"]["per_iou"]
    assert [row["iou"] for row in per_iou] == pytest.approx(np.linspace(0.5, 0.95, 10).tolist())
    summary = answer["summary"]
    # its ends and its mean are the COCO summary's AP50, AP75 and AP
    assert per_iou[0]["AP"] == pytest.approx(summary["AP50"], abs=1e-12)
    assert per_iou[5]["AP"] == pytest.approx(summary["AP75"], abs=1e-12)
    assert np.mean([row["AP"] for row in per_iou]) == pytest.approx(summary["AP"], abs=1e-12)
    # each: the mean of pycocotools' precision array at that IoU (all areas, 100 detections)
    precision = Workspace(seeded.home).load_results(seeded.detection).precision
    for t, row in enumerate(per_iou):
        p = precision[t, :, :, 0, 2]
        assert row["AP"] == pytest.approx(float(p[p > -1].mean()), abs=1e-12)


def test_classification_has_no_per_iou(client: TestClient, seeded: Seeded) -> None:
    assert _answer(client, seeded.image)["extra"] is None
