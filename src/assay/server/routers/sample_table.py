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
    "detection": ("index", "id", "file_name", "width", "height", "n_gt", "n_pred", "tp", "fp",
                  "fn", "worst_error"),
}  # fmt: skip


def worst_error(boxes: list[dict[str, Any]]) -> str | None:
    """An image's worst error at the point (the words of the web table's column): its most
    confident wrong prediction ("cat detected as dog (0.91)" for a box matching an object of
    another class, "false dog (0.88)" for one matching none), else its largest missed object
    ("missed cat"); None when it has none."""
    wrong = [b for b in boxes if b["kind"] == "pred" and b["status"] in ("fp", "misclassified")]
    if wrong:
        worst = max(wrong, key=lambda b: b["score"] or 0.0)  # the first of equal scores
        score = f"{worst['score'] or 0.0:.2f}"
        match = worst.get("match")
        if worst["status"] == "misclassified" and match is not None:
            return f"{boxes[match]['label']} detected as {worst['label']} ({score})"
        return f"false {worst['label']} ({score})"
    missed = [b for b in boxes if b["kind"] == "gt" and b["status"] in ("fn", "misclassified")]
    if not missed:
        return None
    return f"missed {max(missed, key=lambda b: b['bbox'][2] * b['bbox'][3])['label']}"


def _detection_row(item: dict[str, Any]) -> dict[str, Any]:
    """A feed image with its counts at the point: annotated objects (TP + FN, crowd regions
    left out), predictions (TP + FP) and its worst error."""
    return {
        **item,
        "n_gt": item["tp"] + item["fn"],
        "n_pred": item["tp"] + item["fp"],
        "worst_error": worst_error(item.get("boxes") or []),
    }


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
    file_name, width, height, n_gt (annotated objects), n_pred (predictions), tp, fp, fn and
    worst_error (:func:`worst_error`) at the operating point. At most ``max_rows`` rows
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
    detection = first["task"] == "detection"
    results = evaluation.results

    def body() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        page: dict[str, Any] = first
        offset = 0
        while True:
            for item in page["items"]:
                row = _detection_row(item) if detection else item
                writer.writerow([_cell(row.get(c)) for c in columns])
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
