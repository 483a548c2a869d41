"""The HTML and Markdown reports: what they show equals the results' own answers, the HTML is
self-contained (its data inline, nothing fetched) and stays small for many classes."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assay.demo.shapes import make_shapes_dataset
from assay.errors import ParameterError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.compare import compare
from assay.evaluation.detection import evaluate_detections
from assay.reports import (
    comparison_data,
    conventions,
    evaluation_data,
    render_html,
    render_markdown,
    thumbnail_uri,
)
from assay.reports.data import MAX_CURVE_POINTS, MAX_MATRIX, worst_samples


def _results(n: int, k: int, noise: float, seed: int = 0) -> ClassificationResults:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    s = rng.random((n, k)) * noise
    s[np.arange(n), y] += 0.5
    s /= s.sum(1, keepdims=True)
    return ClassificationResults(y, s, [f"class_{i:03d}" for i in range(k)])


def _embedded(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="assay-data">(.*?)</script>', html, re.S)
    assert m
    return json.loads(m.group(1).replace("<\\/", "</"))


@pytest.fixture(scope="module")
def small() -> ClassificationResults:
    return _results(300, 3, 1.0)


def test_the_html_carries_the_results_own_numbers(small) -> None:
    data = evaluation_data(small, name="small <model>", intervals=small.intervals(n=50))
    html = render_html(data)
    assert html.startswith("<!DOCTYPE html>")
    assert "small &lt;model&gt;" in html  # escaped
    assert _embedded(html) == json.loads(json.dumps(data))
    summary = small.summary()
    card = re.search(r'data-metric="accuracy">.*?class="v">([0-9.]+)<', html)
    assert card and card.group(1) == f"{summary['accuracy']:.4f}"
    for row in small.per_class()["items"]:
        assert f"<td>{row['label']}</td><td>{row['total_labeled']}</td>" in html
    counts = small.confusion()["counts"]
    assert f">{counts[0][0]}</td>" in html
    assert "Conventions" in html and "scikit-learn" in html
    for kind in ("ROC (one-vs-rest)", "Precision-recall", "Reliability", "Risk-coverage"):
        assert kind in html


def test_the_html_fetches_nothing(small) -> None:
    html = render_html(evaluation_data(small))
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "@import" not in html and "url(" not in html
    assert html.count("<script") == 2  # the data and the one inline script, no src


def test_a_report_of_100_classes_stays_under_2_mb() -> None:
    r = _results(5000, 100, 3.0, seed=1)
    data = evaluation_data(r, intervals=r.intervals(n=20))
    html = render_html(data)
    assert len(html.encode("utf-8")) < 2_000_000
    shown = data["confusion_shown"]
    assert shown["top"] == MAX_MATRIX and len(shown["rows"]) <= MAX_MATRIX + 2
    assert len(data["report"]["confusion"]["counts"]) >= 100  # the full matrix is kept inside
    assert all(len(c["x"]) <= MAX_CURVE_POINTS for c in data["curves"])


def test_markdown_shows_the_headline_and_its_intervals(small) -> None:
    iv = small.intervals(n=50)
    md = render_markdown(evaluation_data(small, name="small", intervals=iv))
    s = small.summary()
    lo, hi = iv["accuracy"]["low"], iv["accuracy"]["high"]
    assert f"| Accuracy | {s['accuracy']:.4f} | [{lo:.4f}, {hi:.4f}] |" in md
    worst = min(small.per_class()["items"], key=lambda r: r["f1"])
    assert md.index(worst["label"]) < md.index("Most confused")


def test_a_comparison_shows_verdicts_per_class_and_the_confusion_difference(small) -> None:
    worse = _results(300, 3, 2.0)  # same labels (same seed), noisier scores
    result = compare(small, worse, n=100, seed=0)
    result.update(a={"id": 1, "name": "A"}, b={"id": 2, "name": "B"})
    data = comparison_data(result, baseline=evaluation_data(small, name="A"))
    html = render_html(data)
    for verdict in result["verdicts"]:
        assert verdict.replace("'", "&#x27;") in html
    assert "Confusion difference (B − A)" in html
    diff = np.array(result["confusion"]["difference"])
    assert diff.sum() == 0 and f">{diff[0][0]:+d}</td>" in html
    md = render_markdown(data)
    accuracy = next(m for m in result["metrics"] if m["metric"] == "accuracy")
    assert f"| accuracy | {accuracy['a']:.4f} | {accuracy['b']:.4f} |" in md
    result["gate"] = {"metrics": ["accuracy"], "failed": ["accuracy: worse"]}
    assert "**Gate failed**" in render_markdown(comparison_data(result))


def test_a_comparison_without_annotations_is_refused() -> None:
    with pytest.raises(ParameterError, match="annotations"):
        comparison_data({"task": "classification", "agreement": {}})


def test_a_detection_report(tmp_path: Path) -> None:
    det = evaluate_detections(*make_shapes_dataset(tmp_path, n_images=12, seed=2))
    data = evaluation_data(det, name="shapes")
    html = render_html(data)
    assert "IoU 0.50" in html and "Precision-recall (COCO, IoU 0.50)" in html
    assert f"{det.summary()['AP']:.4f}" in html
    assert "pycocotools" in " ".join(data["conventions"])
    items = worst_samples(det, det.point(), 3)
    assert len(items) == 3 and items[0]["caption"].startswith("TP ")


def test_thumbnails_are_bounded_and_only_images() -> None:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (900, 1200, 3), dtype=np.uint8)).save(buf, "PNG")
    uri = thumbnail_uri(buf.getvalue(), side=160, max_bytes=24_000)
    assert uri is not None and uri.startswith("data:image/jpeg;base64,")
    raw = base64.b64decode(uri.split(",", 1)[1])
    assert len(raw) <= 24_000
    assert max(Image.open(io.BytesIO(raw)).size) == 160
    assert thumbnail_uri(b"not an image") is None


def test_worst_samples_are_the_most_confident_errors(small) -> None:
    items = worst_samples(small, small.point(), 4)
    feed = small.samples(errors_only=True, sort="confusion", limit=4)["items"]
    assert [i["index"] for i in items] == [f["index"] for f in feed]
    assert "predicted" in items[0]["caption"]
    with pytest.raises(ParameterError):
        worst_samples(small, small.point(), 51)


def test_conventions_name_the_operating_point_rule() -> None:
    assert conventions("classification", "argmax")[-1].endswith("the argmax (no threshold).")
    assert any("subset accuracy" in c for c in conventions("multilabel"))
    with pytest.raises(ParameterError):
        conventions("regression")
