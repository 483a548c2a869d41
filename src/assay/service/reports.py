"""Reports of stored evaluations: the self-contained HTML file or the Markdown summary of one
evaluation, or of a comparison of two, as the CLI (``assay report``), the server's download and
the MLflow integration make them."""

from __future__ import annotations

from typing import Any

from assay.errors import ParameterError
from assay.store.workspace import Workspace

FORMATS = ("html", "md")


def stored_report_data(
    ws: Workspace,
    evaluation_id: int,
    *,
    compare_to: int | None = None,
    samples: int = 0,
    intervals: bool = True,
    resamples: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """What the report of stored evaluation ``evaluation_id`` shows, at its stored operating
    point (:func:`assay.reports.evaluation_data`); with ``compare_to`` the comparison of B =
    ``compare_to`` against A = ``evaluation_id`` with A's report below it. ``samples``: thumbnails
    of that many worst samples whose files Assay can read (images only). ``intervals``: 95 %
    bootstrap intervals of the headline (200 resamples, ``seed``)."""
    from assay.reports import comparison_data, evaluation_data
    from assay.reports.data import worst_samples
    from assay.service.comparisons import compare_stored, stored_point

    record = ws.get_evaluation(evaluation_id)
    results = ws.load_results(evaluation_id)
    at = stored_point(ws, evaluation_id)
    items = worst_samples(results, at, samples)
    for item in items:
        item["uri"] = _thumbnail(ws, evaluation_id, item["index"])
    data = evaluation_data(
        results,
        at,
        name=record.name or f"Evaluation {evaluation_id}",
        intervals=results.intervals(at=at, seed=seed) if intervals else None,
        samples=items,
    )
    data["id"] = evaluation_id
    if compare_to is None:
        return data
    comparison = compare_stored(ws, evaluation_id, compare_to, n=resamples, seed=seed)
    return comparison_data(comparison, baseline=data)


def _thumbnail(ws: Workspace, evaluation_id: int, index: int) -> str | None:
    from assay.reports import thumbnail_uri

    path = ws.sample_media_path(evaluation_id, index)
    if path is None or not path.is_file():
        return None
    try:
        return thumbnail_uri(path.read_bytes())
    except OSError:
        return None


def render(data: dict[str, Any], fmt: str = "html") -> str:
    """``data`` as the text of a report file: "html" (self-contained) or "md" (Markdown)."""
    from assay.reports import render_html, render_markdown

    if fmt not in FORMATS:
        raise ParameterError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    return render_html(data) if fmt == "html" else render_markdown(data)
