"""The per-sample table of one evaluation as CSV (DL Workbench's report: every sample with its
predicted class, annotated class, the annotated class's rank, both confidences and the outcome;
detection: every image with its TP / FP / FN), filtered and sorted as the feed is, streamed in
pages and bounded."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from assay.server import answers
from assay.server.answer_schemas import Outcome, SampleSort
from assay.server.deps import EvaluationDep
from assay.server.routers.views import At, Label

router = APIRouter(prefix="/evaluations", tags=["evaluations"])

MAX_EXPORT_ROWS = 1_000_000  # rows one export holds at most (the headers say when cut)
_PAGE = 500

COLUMNS = {
    "classification": (
        "index", "id", "predicted", "confidence", "actual", "actual_rank", "actual_confidence",
        "outcome",
    ),
    "multilabel": (
        "index", "id", "predicted", "confidence", "actual", "actual_rank", "actual_confidence",
        "outcome",
    ),
    "detection": ("index", "id", "file_name", "width", "height", "tp", "fp", "fn"),
}  # fmt: skip


def _cell(value: Any) -> Any:
    """A CSV cell: lists joined by "|", None empty, and text that a spreadsheet would read as a
    formula (=, +, -, @ first) quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = "|".join(str(v) for v in value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


@router.get(
    "/{evaluation_id}/samples.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "the table as CSV"}},
)
async def export_samples(
    evaluation: EvaluationDep,
    at: At,
    actual: Label = None,
    predicted: Label = None,
    outcome: Annotated[Outcome | None, Query()] = None,
    label: Label = None,
    errors_only: bool = False,
    sort: Annotated[SampleSort | None, Query()] = None,
    descending: bool | None = None,
    max_rows: Annotated[int, Query(ge=1, le=MAX_EXPORT_ROWS)] = MAX_EXPORT_ROWS,
) -> StreamingResponse:
    """The sample feed's rows (the same filters and order as ``/samples``) as CSV, one row per
    sample (detection: per image): classification columns index, id, predicted, confidence (its
    score), actual, actual_rank (the annotated class's rank among the scores, 1 = top),
    actual_confidence (its score), outcome; multi-label sets joined by "|"; detection index, id,
    file_name, width, height, tp, fp, fn at the operating point. At most ``max_rows`` rows
    (``X-Assay-Total`` gives the feed's total, ``X-Assay-Rows`` the rows sent). Bad filters are
    a 422 before anything is sent."""
    query: dict[str, Any] = {
        "actual": actual, "predicted": predicted,
        "outcome": None if outcome is None else str(outcome), "label": label,
        "errors_only": errors_only, "sort": None if sort is None else str(sort),
        "descending": descending,
    }  # fmt: skip
    first = answers.samples(evaluation, at, **query, offset=0, limit=min(_PAGE, max_rows))
    total = int(first["total"])
    rows = min(total, max_rows)
    columns = COLUMNS[str(first["task"])]
    results = evaluation.results

    def body() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        page: dict[str, Any] = first
        offset = 0
        while True:
            for item in page["items"]:
                writer.writerow([_cell(item.get(c)) for c in columns])
            offset += len(page["items"])
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            if offset >= rows or not page["items"]:
                return
            page = results.samples(at, **query, offset=offset, limit=min(_PAGE, rows - offset))

    name = f"evaluation-{evaluation.record.id}-samples.csv"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Assay-Total": str(total),
        "X-Assay-Rows": str(rows),
    }
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers=headers)
