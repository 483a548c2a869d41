"""``assay report EVAL [--compare B]``: a stored evaluation (or a comparison of two) as one
self-contained HTML file to attach or open offline, or as a Markdown summary for a pull-request
comment. ``cli.main`` mounts the command."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from assay.cli.errors import handle_errors
from assay.cli.shared import EVALUATION_ID, check_out_path, to_stdout, workspace, write_atomically


class ReportFormat(StrEnum):
    html = "html"
    md = "md"


@handle_errors
def report(
    evaluation_id: Annotated[
        int,
        typer.Argument(
            help="The evaluation (see `assay list`); with --compare, A, the baseline.",
            parser=EVALUATION_ID,
            metavar="EVAL",
        ),
    ],
    compare: Annotated[
        int | None,
        typer.Option(
            "--compare",
            help="B, a stored evaluation on the same data: the report compares B with EVAL.",
            parser=EVALUATION_ID,
            metavar="B",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="The file to write ('-': stdout). Default: report-EVAL.html, or stdout for md.",
        ),
    ] = None,
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", help="html: one self-contained file; md: a Markdown summary."),
    ] = ReportFormat.html,
    samples: Annotated[
        int,
        typer.Option(
            "--samples",
            help="Embed thumbnails of the N worst samples (images; each at most 160 px, 24 kB).",
            min=0,
            max=50,
        ),
    ] = 0,
    intervals: Annotated[
        bool,
        typer.Option(
            "--intervals/--no-intervals", help="95 % bootstrap intervals on the headline."
        ),
    ] = True,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap resamples.")] = 0,
) -> None:
    """Write a report of a stored evaluation: headline metrics with intervals, the per-class
    table, the confusion matrix, the curves and the conventions used; with --compare, the
    verdicts, the per-class changes and the confusion difference too. The HTML opens offline:
    its data, styles and script are inside it."""
    from assay.service.reports import render, stored_report_data

    if out is None:
        out = Path("-") if fmt is ReportFormat.md else Path(f"report-{evaluation_id}.html")
    check_out_path(out, "--output")
    ws = workspace()
    data = stored_report_data(
        ws, evaluation_id, compare_to=compare, samples=samples, intervals=intervals, seed=seed
    )
    text = render(data, fmt.value)
    if to_stdout(out):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_atomically(out, text.encode("utf-8"), "report")
    size = out.stat().st_size
    typer.echo(f"Wrote the report to {out} ({size / 1024:.0f} kB)", err=True)
