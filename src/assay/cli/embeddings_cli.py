"""``assay analyze EVAL --embeddings [--method pca|umap] [--out map.csv] [--json FILE]``: the
2-D embedding map of a stored evaluation (:mod:`assay.service.embeddings`), with a progress bar
while the model's embedding is read and the map laid out; a summary printed, the points written
as CSV (index, x, y, outcome, actual, predicted, confidence) and/or JSON."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from assay.cli.shared import check_out_path, to_stdout, workspace, write_json


class _MapProgress:
    """A bar on stderr per stage (nothing when stderr is not a terminal)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from assay.cli.report import make_console

        console = make_console(stderr=True)
        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            console=console, transient=True, disable=not console.is_terminal,
        )  # fmt: skip
        self._task = self._bar.add_task("Starting", total=None)

    def __enter__(self) -> _MapProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        self._bar.update(
            self._task, description=stage.capitalize(), completed=done, total=total or None
        )


def embedding_map_command(
    evaluation: int, method: str, out: Path | None, json_out: Path | None
) -> None:
    """Lay out (or read from the cache) the map and write / print it."""
    from assay.cli.report import make_console
    from assay.service.embeddings import embedding_map, map_points, write_map_csv

    if method not in ("pca", "umap"):
        raise typer.BadParameter(f"expected pca or umap, got {method!r}", param_hint="--method")
    check_out_path(out, "--out")
    check_out_path(json_out)
    ws = workspace()
    started = time.perf_counter()
    with _MapProgress() as bar:
        found = embedding_map(ws, evaluation, method, progress=bar)
    points = map_points(ws, evaluation, found)
    seconds = time.perf_counter() - started
    if out is not None:
        write_map_csv(found, points, out)
    if json_out is not None:
        write_json(points, json_out)
    if to_stdout(json_out):
        return
    console = make_console()
    _print_summary(points, found.computed, seconds, out, console)


def _print_summary(
    points: dict[str, Any], computed: bool, seconds: float, out: Path | None, console: Any
) -> None:
    import numpy as np

    outcome = np.asarray(points["outcome"])
    counts = ", ".join(
        f"{int((outcome == code).sum())} {name}"
        for code, name in enumerate(points["outcome_names"])
    )
    how = f"laid out in {seconds:.1f} s" if computed else "from the cache"
    console.print(
        f"Evaluation {points['evaluation_id']}: {points['method'].upper()} map of "
        f"{points['n']} samples ({how})"
    )
    console.print(f"  embedding: {points['source_text']} ({points['dims']} dimensions)")
    console.print(f"  outcomes: {counts}")
    x, y = np.asarray(points["x"]), np.asarray(points["y"])
    if len(x):
        console.print(f"  extent: x {x.min():.3g} … {x.max():.3g}, y {y.min():.3g} … {y.max():.3g}")
    if out is not None:
        console.print(f"  points written to {out}")
