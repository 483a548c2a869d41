"""Results in a notebook: to_pandas of the per-class table, the confusion matrix and the sample
feed equal the answers they come from; the HTML summary Jupyter shows; pandas missing is one
line."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from assay.errors import ParameterError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.results import OperatingPoint

pd = (
    pytest.importorskip("pandas")
    if not __import__("os").environ.get("CI")
    else __import__("pandas")
)


@pytest.fixture(scope="module")
def res() -> ClassificationResults:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    s = rng.random((200, 3))
    s[np.arange(200), y] += 0.3
    return ClassificationResults(y, s / s.sum(1, keepdims=True), ["ant", "bee", "cat"])


def test_per_class_frame(res) -> None:
    at = OperatingPoint(threshold=0.5)
    frame = res.to_pandas("per_class", at)
    items = res.per_class(at)["items"]
    assert list(frame.index) == [r["label"] for r in items]
    for r in items:
        assert frame.loc[r["label"], "f1"] == pytest.approx(r["f1"])
        assert frame.loc[r["label"], "tp"] == r["tp"]


def test_confusion_frame(res) -> None:
    c = res.confusion()
    frame = res.to_pandas("confusion")
    assert frame.to_numpy().tolist() == c["counts"]
    assert list(frame.index) == c["rows"] and list(frame.columns) == c["columns"]
    rows = res.to_pandas("confusion", normalize="true")
    assert np.allclose(rows.sum(axis=1), 1.0)


def test_samples_frame(res) -> None:
    frame = res.to_pandas("samples")
    assert len(frame) == 200
    errors = res.to_pandas("samples", errors_only=True)
    assert len(errors) == res.samples(errors_only=True)["total"]
    assert (errors["outcome"] == "incorrect").all()


def test_unknown_table(res) -> None:
    with pytest.raises(ParameterError, match="table"):
        res.to_pandas("roc")


def test_the_notebook_view(res) -> None:
    html = res._repr_html_()
    assert f"{res.summary()['accuracy']:.4f}" in html and "200 samples" in html


def test_without_pandas_one_line(res, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install 'assay\[notebook\]'"):
        res.to_pandas()
