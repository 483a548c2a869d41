"""The detection report's error-types section (TIDE): the same numbers as ``error_types()``."""

from __future__ import annotations

from pathlib import Path

from assay.demo.shapes import make_shapes_dataset
from assay.evaluation.detection import evaluate_detections
from assay.reports import evaluation_data, render_html, render_markdown


def test_detection_report_has_the_error_types(tmp_path: Path) -> None:
    det = evaluate_detections(*make_shapes_dataset(tmp_path, n_images=16, seed=5))
    data = evaluation_data(det, name="shapes")
    answer = det.error_types(per_class=True)
    assert data["error_types"] == answer
    html = render_html(data)
    assert "<h2>Error types (TIDE)</h2>" in html and 'data-table="error-types-per-class"' in html
    for row in answer["types"]:
        assert f"<td>{row['name']}</td><td>{row['count']}</td><td>{row['dap']:.4f}</td>" in html
    md = render_markdown(data)
    assert "Error types (TIDE):" in md
    miss = next(r for r in answer["types"] if r["type"] == "miss")
    assert f"| Missed | {miss['count']} | {miss['dap']:.4f} |" in md


def test_a_classification_report_has_none() -> None:
    import numpy as np

    from assay.evaluation.classification import evaluate_classification

    rng = np.random.default_rng(0)
    res = evaluate_classification(rng.integers(0, 2, 20), rng.random((20, 2)), classes=["a", "b"])
    data = evaluation_data(res)
    assert data["error_types"] is None
    assert "Error types" not in render_html(data)
