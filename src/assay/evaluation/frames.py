"""Results in a notebook: the per-class table, the confusion matrix and the sample feed as pandas
DataFrames, and the compact HTML summary Jupyter shows for a results object.

pandas is optional (``pip install 'assay[notebook]'``): it is imported inside :func:`to_pandas`.
``results`` is any :class:`assay.evaluation.results.Results` (which calls these; not imported
here, so the two modules do not import each other), ``at`` an ``OperatingPoint`` or None.

>>> from assay.evaluation.classification import ClassificationResults
>>> r = ClassificationResults([0, 1, 1], [[.9, .1], [.2, .8], [.6, .4]], ["cat", "dog"])
>>> to_pandas(r, "per_class").loc["dog", "recall"]
np.float64(0.5)
>>> to_pandas(r, "confusion").loc["dog", "cat"]  # rows actual, columns predicted
np.int64(1)
>>> "<table" in summary_html(r)
True
"""

from __future__ import annotations

from html import escape
from typing import Any

from assay.errors import ParameterError
from assay.evaluation.metric_names import HEADLINE, lookup

TABLES = ("per_class", "confusion", "samples")


def to_pandas(results: Any, table: str = "per_class", at: Any = None, **query: Any) -> Any:
    """One table of ``results`` at ``at`` as a ``pandas.DataFrame``:

    - "per_class": one row per class (index ``label``), the columns of ``per_class(at)``;
    - "confusion": counts, rows actual and columns predicted (``normalize``, ``top`` as
      ``confusion``); with ``normalize`` the shown values instead of the counts;
    - "samples": one row per sample of ``samples(at, **query)`` (``limit`` default: all).
    """
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_pandas needs pandas: pip install 'assay[notebook]'") from None
    if table == "per_class":
        return pd.DataFrame(results.per_class(at)["items"]).set_index("label")
    if table == "confusion":
        c = results.confusion(at, **query)
        values = c["counts"] if c.get("normalize") is None else c["matrix"]
        frame = pd.DataFrame(values, index=c["rows"], columns=c["columns"])
        frame.index.name, frame.columns.name = "actual", "predicted"
        return frame
    if table == "samples":
        query.setdefault("limit", results.n_samples)
        return pd.DataFrame(results.samples(at, **query)["items"])
    raise ParameterError(f"table: {table!r} is not one of {', '.join(TABLES)}")


def summary_html(results: Any, at: Any = None) -> str:
    """A compact HTML summary (what Jupyter shows): the task, sizes, operating point, and the
    headline metrics of the task with their values."""
    s = results.summary(at)
    task = s["task"]
    point = (
        f"IoU {s['iou']:.2f}, confidence {s['score']:.3f}"
        if task == "detection" and s.get("score") is not None
        else "argmax"
        if s.get("point_rule") == "argmax"
        else f"threshold {s.get('threshold')}"
    )
    rows = []
    for key in HEADLINE[task]:
        value = s.get(key)
        m = lookup(key, task)
        if value is None or m is None:
            continue
        text = f"{value:.4f}" if isinstance(value, float) else escape(str(value))
        rows.append(f"<tr><td>{escape(m.label)}</td><td>{text}</td></tr>")
    noun = "images" if task == "detection" else "samples"
    return (
        f"<div><strong>Assay {escape(task)} results</strong> · {s['n_samples']} {noun} · "
        f"{s['n_classes']} classes · at {escape(point)}"
        f"<table><thead><tr><th>metric</th><th>value</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
