"""``GET /api/evaluations/{id}/report``: the standalone report of an evaluation (or of a
comparison with another) as a file to download, the same file ``assay report`` writes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from assay.server.config import MAX_ID, Limits
from assay.server.deps import Id, WorkspaceDep
from assay.server.gates import gate_of
from assay.server.schemas import Problem
from assay.service.reports import render, stored_report_data

router = APIRouter(tags=["reports"])

MEDIA_TYPES = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8"}


@router.get(
    "/evaluations/{evaluation_id}/report",
    response_class=Response,
    responses={
        200: {"content": {"text/html": {}, "text/markdown": {}}, "description": "the file"},
        404: {"model": Problem},
        422: {"model": Problem},
        503: {"model": Problem, "description": "too many reports being made; see Retry-After"},
    },
)
async def download_report(
    evaluation_id: Id,
    workspace: WorkspaceDep,
    request: Request,
    format: Annotated[Literal["html", "md"], Query(description="html or md")] = "html",  # noqa: A002
    compare: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="B: compare it with this evaluation (A)"),
    ] = None,
    samples: Annotated[
        int, Query(ge=0, le=50, description="thumbnails of this many worst samples")
    ] = 0,
    intervals: Annotated[bool, Query(description="95 % bootstrap intervals")] = True,
) -> Response:
    """One self-contained HTML file (data, styles and script inline; opens offline) or a
    Markdown summary of the evaluation at its stored operating point: headline metrics with
    intervals, the per-class table, the confusion matrix, curves and the conventions; with
    ``compare``, the comparison of that evaluation (B) with this one (A) too. Sent as an
    attachment named ``assay-report-<id>[-vs-<B>].<format>``. Reports share the comparisons'
    limits (bootstraps over whole evaluations): at most ``Limits.compare_workers`` are made at
    once and ``compare_queue`` wait (identical requests share one), else a 503."""

    def work() -> str:
        data = stored_report_data(
            workspace, evaluation_id, compare_to=compare, samples=samples, intervals=intervals
        )
        return render(data, format)

    limits: Limits = request.app.state.config.limits
    gate = gate_of(request.app.state, "report", limits.compare_workers, limits.compare_queue)
    text = await gate.run((evaluation_id, format, compare, samples, intervals), work)
    name = f"assay-report-{evaluation_id}" + (f"-vs-{compare}" if compare else "") + f".{format}"
    return Response(
        text.encode("utf-8"),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
