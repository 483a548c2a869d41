"""The analysis views: labels, confusion, curves, sample feed, one sample; and their bad params."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import CLASSES, Seeded
from tests.server.conftest import get_error as _error
from tests.server.conftest import get_json as _get

# ---------------------------------------------------------------- labels


def test_labels_follow_the_threshold(client: TestClient, seeded: Seeded) -> None:
    base = f"/api/evaluations/{seeded.image}/labels"
    default = _get(client, base)
    assert default["threshold"] == 0.5
    assert [row["label"] for row in default["items"]] == CLASSES
    row = default["items"][0]
    assert {"tp", "fp", "fn", "precision", "recall", "f1", "roc_auc"} <= set(row)
    at_zero = _get(client, f"{base}?threshold=0")
    predicted = sum(r["total_predicted"] for r in at_zero["items"])
    assert predicted == 40  # every sample predicted at t = 0
    strict = _get(client, f"{base}?threshold=0.99")
    assert sum(r["total_predicted"] for r in strict["items"]) < predicted


def test_detection_labels(client: TestClient, seeded: Seeded) -> None:
    base = f"/api/evaluations/{seeded.detection}/labels"
    loose = _get(client, f"{base}?iou=0.3&score=0")
    assert (loose["iou"], loose["score"]) == (0.3, 0.0)
    row = loose["items"][0]
    assert {"AP", "AP50", "AP75", "AR100", "APs", "APm", "APl", "tp", "fp", "fn", "f1"} <= set(row)
    strict = _get(client, f"{base}?iou=0.9&score=0.9")
    assert sum(r["tp"] for r in strict["items"]) <= sum(r["tp"] for r in loose["items"])


def test_label_detail(client: TestClient, seeded: Seeded) -> None:
    answer = _get(client, f"/api/evaluations/{seeded.image}/labels/dog?threshold=0.3&limit=3")
    assert answer["label"] == "dog" and "f1" in answer["metrics"]
    assert set(answer["examples"]) == {"tp", "fp", "fn"}
    for outcome, items in answer["examples"].items():
        assert len(items) <= 3
        for item in items:
            assert item["outcome"] == outcome
            if item["index"] != 5:
                assert item["media_url"] == f"/api/samples/{seeded.image_dv}:{item['index']}/media"
    det = _get(client, f"/api/evaluations/{seeded.detection}/labels/cat?limit=2")
    assert "AP50" in det["metrics"] and all(len(v) <= 2 for v in det["examples"].values())
    assert det["examples"]["tp"] and all(i["tp"] > 0 for i in det["examples"]["tp"])


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("labels?threshold=1.5", "threshold"),
        ("labels?threshold=-0.1", "threshold"),
        ("labels/dog?limit=0", "limit"),
        ("labels/dog?limit=501", "limit"),
        ("labels/dog?threshold=2", "threshold"),
    ],
)
def test_label_bad_parameters(
    client: TestClient, seeded: Seeded, query: str, parameter: str
) -> None:
    assert _error(client, f"/api/evaluations/{seeded.image}/{query}").startswith(parameter)


def test_unknown_label(client: TestClient, seeded: Seeded) -> None:
    assert "unknown label 'wolf'" in _error(client, f"/api/evaluations/{seeded.image}/labels/wolf")
    assert "wolf" in _error(client, f"/api/evaluations/{seeded.detection}/labels/wolf")
    bad_iou = _error(client, f"/api/evaluations/{seeded.detection}/labels?iou=1.2")
    assert bad_iou.startswith("iou")


# ---------------------------------------------------------------- confusion


def test_confusion_counts_and_normalisations(client: TestClient, seeded: Seeded) -> None:
    base = f"/api/evaluations/{seeded.image}/confusion"
    counts = _get(client, f"{base}?threshold=0.5")
    assert counts["rows"] == CLASSES and counts["columns"] == [*CLASSES, "Below threshold"]
    assert sum(map(sum, counts["matrix"])) == 40
    assert counts["n_classes"] == 3 and counts["normalize"] is None
    assert all(pair["actual"] != pair["predicted"] for pair in counts["most_confused"])
    at_zero = _get(client, f"{base}?threshold=0")
    assert at_zero["columns"] == CLASSES
    rows = _get(client, f"{base}?normalize=true")["matrix"]
    for row in rows:
        assert sum(v for v in row if v is not None) == pytest.approx(1.0)
    probability = _get(client, f"{base}?normalize=probability&threshold=0")["matrix"]
    assert all(v is None or 0 <= v <= 1 for row in probability for v in row)


def test_confusion_top_keeps_the_special_column(client: TestClient, seeded: Seeded) -> None:
    answer = _get(client, f"/api/evaluations/{seeded.image}/confusion?top=2&threshold=0.5")
    assert len(answer["rows"]) == 2 and answer["top"] == 2
    assert answer["columns"][-1] == "Below threshold" and len(answer["columns"]) == 3
    assert all(len(row) == 3 for row in answer["matrix"])
    same = _get(client, f"/api/evaluations/{seeded.image}/confusion?top=10")
    assert same["rows"] == CLASSES


def test_detection_confusion(client: TestClient, seeded: Seeded) -> None:
    base = f"/api/evaluations/{seeded.detection}/confusion"
    answer = _get(client, f"{base}?iou=0.5&score=0.25")
    assert answer["rows"] == [*CLASSES, "Not an object"]
    assert answer["columns"] == [*CLASSES, "Not detected"]
    assert (answer["iou"], answer["score"]) == (0.5, 0.25)
    top = _get(client, f"{base}?top=1")
    assert top["rows"][-1] == "Not an object" and top["columns"][-1] == "Not detected"
    assert len(top["rows"]) == 2
    fractions = _get(client, f"{base}?normalize=true")["matrix"]
    assert all(
        sum(v for v in row if v is not None) == pytest.approx(1.0) for row in fractions if any(row)
    )
    assert _error(client, f"{base}?normalize=probability").startswith("normalize")


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("normalize=rows", "normalize"),
        ("top=0", "top"),
        ("threshold=7", "threshold"),
        ("top=x", "top"),
    ],
)
def test_confusion_bad_parameters(
    client: TestClient, seeded: Seeded, query: str, parameter: str
) -> None:
    assert _error(client, f"/api/evaluations/{seeded.image}/confusion?{query}").startswith(
        parameter
    )


# ---------------------------------------------------------------- curves


@pytest.mark.parametrize("kind", ["roc", "pr", "threshold", "calibration", "density"])
def test_curves_are_down_sampled(client: TestClient, seeded: Seeded, kind: str) -> None:
    answer = _get(client, f"/api/evaluations/{seeded.text}/curves/{kind}?label=bird")
    assert answer["kind"] == kind
    for value in answer.values():
        if isinstance(value, list):
            assert len(value) <= 1000
    if kind == "roc":
        assert answer["label"] == "bird" and len(answer["fpr"]) == 1000  # 1,500 samples
        assert answer["fpr"][0] == 0 and answer["fpr"][-1] == 1
        assert answer["thresholds"][0] is None  # inf is not JSON
    if kind == "density":
        assert sum(answer["positives"]) + sum(answer["negatives"]) == 1500


def test_curve_label_defaults_to_the_first_class(client: TestClient, seeded: Seeded) -> None:
    assert _get(client, f"/api/evaluations/{seeded.image}/curves/roc")["label"] == "cat"
    bins = _get(client, f"/api/evaluations/{seeded.image}/curves/calibration?bins=5")
    assert len(bins["bins"]) == 5
    ml = _get(client, f"/api/evaluations/{seeded.multilabel}/curves/pr?label=dog")
    assert ml["label"] == "dog"


def test_detection_pr_curve(client: TestClient, seeded: Seeded) -> None:
    answer = _get(client, f"/api/evaluations/{seeded.detection}/curves/pr?label=dog&iou=0.75")
    assert answer["iou"] == 0.75 and len(answer["recall"]) == 101
    assert _error(client, f"/api/evaluations/{seeded.detection}/curves/pr?iou=0.52").startswith(
        "iou"
    )
    assert _error(client, f"/api/evaluations/{seeded.detection}/curves/roc").startswith("kind")


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("curves/roc?label=wolf", "label"),
        ("curves/sideways", "kind"),
        ("curves/density?bins=0", "bins"),
        ("curves/pr?iou=2", "iou"),
    ],
)
def test_curve_bad_parameters(
    client: TestClient, seeded: Seeded, query: str, parameter: str
) -> None:
    assert _error(client, f"/api/evaluations/{seeded.image}/{query}").startswith(parameter)


# ---------------------------------------------------------------- samples


def test_samples_feed_filters_sorts_and_pages(client: TestClient, seeded: Seeded) -> None:
    base = f"/api/evaluations/{seeded.image}/samples"
    first = _get(client, f"{base}?limit=10")
    assert first["total"] == 40 and (first["offset"], first["limit"]) == (0, 10)
    confidences = [item["confidence"] for item in first["items"]]
    assert confidences == sorted(confidences, reverse=True)
    second = _get(client, f"{base}?limit=10&offset=10")
    assert not {i["index"] for i in first["items"]} & {i["index"] for i in second["items"]}
    by_index = _get(client, f"{base}?sort=index&descending=false&limit=500")
    assert [i["index"] for i in by_index["items"]] == list(range(40))
    for item in by_index["items"]:
        if item["index"] == 5:
            assert "media_url" not in item and "thumbnail_url" not in item
        else:
            assert (
                item["thumbnail_url"] == f"/api/samples/{seeded.image_dv}:{item['index']}/thumbnail"
            )
    errors = _get(client, f"{base}?errors_only=true&threshold=0&limit=500")
    assert all(i["actual"] != i["predicted"] for i in errors["items"])
    cell = _get(client, f"{base}?actual=cat&predicted=dog&threshold=0&limit=500")
    assert all((i["actual"], i["predicted"]) == ("cat", "dog") for i in cell["items"])
    below = _get(client, f"{base}?predicted=Below%20threshold&threshold=0.9")
    assert all(i["predicted"] is None for i in below["items"])
    fp = _get(client, f"{base}?label=dog&outcome=fp&threshold=0")
    assert all(i["outcome"] == "fp" and i["predicted"] == "dog" for i in fp["items"])
    confused = _get(client, f"{base}?sort=confusion&limit=5")["items"]
    margins = [i["confidence"] - i["actual_confidence"] for i in confused]
    assert margins == sorted(margins, reverse=True)


def test_text_samples_carry_text(client: TestClient, seeded: Seeded) -> None:
    items = _get(client, f"/api/evaluations/{seeded.text}/samples?limit=3")["items"]
    assert all(i["text"] == f"question number {i['index']}" for i in items)
    assert all("media_url" not in i for i in items)


def test_detection_image_feed(client: TestClient, seeded: Seeded) -> None:
    base = f"/api/evaluations/{seeded.detection}/samples"
    feed = _get(client, f"{base}?limit=5&iou=0.5&score=0.1")
    assert feed["total"] == 12 and len(feed["items"]) == 5
    item = feed["items"][0]
    assert {"index", "id", "file_name", "width", "height", "tp", "fp", "fn"} <= set(item)
    assert item["media_url"] == f"/api/samples/{seeded.detection_dv}:{item['index']}/media"
    spurious = _get(client, f"{base}?actual=Not%20an%20object&predicted=dog&limit=500")
    assert spurious["total"] >= 1
    assert _error(client, f"{base}?outcome=tp").startswith("outcome")
    assert _error(client, f"{base}?sort=loudness").startswith("sort")


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("limit=501", "limit"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
        ("sort=loudness", "sort"),
        ("outcome=maybe", "outcome"),
        ("actual=wolf", "actual"),
        ("predicted=wolf", "predicted"),
        ("label=wolf", "label"),
        ("threshold=1.01", "threshold"),
        ("errors_only=perhaps", "errors_only"),
    ],
)
def test_samples_bad_parameters(
    client: TestClient, seeded: Seeded, query: str, parameter: str
) -> None:
    assert _error(client, f"/api/evaluations/{seeded.image}/samples?{query}").startswith(parameter)


def test_one_sample(client: TestClient, seeded: Seeded) -> None:
    answer = _get(client, f"/api/evaluations/{seeded.image}/samples/3?threshold=0.2")
    scores = [s["score"] for s in answer["scores"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 3
    assert {s["label"] for s in answer["scores"]} == set(CLASSES)
    assert answer["media_url"] == f"/api/samples/{seeded.image_dv}:3/media"
    ml = _get(client, f"/api/evaluations/{seeded.multilabel}/samples/0")
    assert isinstance(ml["actual"], list)
    image = _get(client, f"/api/evaluations/{seeded.detection}/samples/2?iou=0.5&score=0.1")
    kinds = {box["kind"] for box in image["boxes"]}
    assert kinds <= {"gt", "pred"} and "gt" in kinds
    assert all(b["status"] in {"tp", "fp", "fn", "crowd", "misclassified"} for b in image["boxes"])
    for evaluation, index in ((seeded.image, 40), (seeded.image, -1), (seeded.detection, 12)):
        _error(client, f"/api/evaluations/{evaluation}/samples/{index}", 404)
    _error(client, f"/api/evaluations/{seeded.image}/samples/0?threshold=3")
