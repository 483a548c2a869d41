"""``assay analyze EVAL``: the data-quality analysis of a stored evaluation, printed (or as JSON):
which sample properties go with the model's errors, performance along the top one, near-duplicate
groups, leakage from a training set, and likely label errors. ``cli.main`` mounts the command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli.errors import handle_errors
from assay.cli.inputs import id_parser
from assay.cli.mlflow_cli import MlflowFlag, MlflowRun, mlflow_target, say_logged
from assay.cli.shared import EVALUATION_ID, check_out_path, to_stdout, workspace, write_json

TOP_ROWS = 10
DATASET_VERSION_ID = id_parser("dataset version")


class _PropertiesProgress:
    """A bar on stderr while properties are computed, then while they are ranked (the store
    reports each phase from 0; nothing when stderr is not a terminal)."""

    PHASES = ("Computing sample properties", "Ranking the properties")

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from assay.cli.report import make_console

        console = make_console(stderr=True)
        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), TimeElapsedColumn(), console=console, transient=True,
            disable=not console.is_terminal,
        )  # fmt: skip
        self._task = self._bar.add_task(self.PHASES[0], total=None)
        self._phase = 0
        self._finished = False  # the phase reached its total

    def __enter__(self) -> _PropertiesProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def __call__(self, done: int, total: int) -> None:
        if self._finished and done < total and self._phase + 1 < len(self.PHASES):
            self._phase += 1
            self._bar.reset(self._task, description=self.PHASES[self._phase])
        self._finished = done >= total
        self._bar.update(self._task, completed=done, total=total)


def _num(value: Any, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _rate(rate: dict[str, Any] | None) -> str:
    if rate is None or rate["value"] is None:
        return "—"
    return f"{rate['value']:.3f} [{rate['low']:.3f}, {rate['high']:.3f}]"


def print_analysis(result: dict[str, Any], bins: dict[str, Any] | None, console: Any) -> None:
    """The analysis for a person: importance, performance by the top property, duplicates,
    leakage and label errors, each with its top rows."""
    from rich.table import Table

    point = ", ".join(f"{k} {v:g}" for k, v in result["point"].items() if v is not None)
    console.print(
        f"Evaluation {result['evaluation_id']} ({result['task']}, {result['n_samples']} samples, "
        f"{result['n_correct']} correct at {point}) · analysed in {result['timing_s']:.1f} s"
    )
    for note in result["notes"]:
        console.print(f"  note: {note}")
    kinds = {p["name"]: p["kind"] for p in result["properties"]}
    table = Table(title="\nWhat goes with errors (most important first)", title_justify="left",
                  box=None, pad_edge=False)  # fmt: skip
    for col in ("property", "kind", "importance", "± std", "Spearman ρ", "p", "n"):
        table.add_column(col, justify="left" if col in ("property", "kind") else "right")
    for r in result["importance"][:15]:
        p = r["spearman_p"]
        table.add_row(r["property"], kinds.get(r["property"], ""), _num(r["importance"]),
                      _num(r["importance_std"]), _num(r["spearman"]),
                      "—" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}"), str(r["n"]))  # fmt: skip
    console.print(table)
    console.print(
        "  importance: the drop in held-out ROC AUC of a model predicting correctness when the "
        "property is shuffled; ρ > 0: higher values go with correct samples"
    )
    if bins is not None:
        t = Table(title=f"\nPerformance by {bins['property']}", title_justify="left", box=None,
                  pad_edge=False)  # fmt: skip
        for col in ("bin", "n", "accuracy [95% CI]"):
            t.add_column(col, justify="left" if col == "bin" else "right")
        for b in bins["bins"]:
            where = b["category"] or f"{_num(b['lower'])} – {_num(b['upper'])}"
            t.add_row(where, str(b["n"]), _rate(b["accuracy"]))
        console.print(t)
    dup = result["duplicates"]
    unit = "bits of perceptual hash" if dup["kind"] == "image" else "(1 − Jaccard)"
    if dup["kind"] is None:
        console.print("\nNear-duplicates: no media files or texts to compare")
    else:
        console.print(f"\nNear-duplicate groups ({dup['kind']}s): {dup['n_groups']}")
        for g in dup["groups"][:TOP_ROWS]:
            ids = ", ".join(g["ids"][:8]) + (" …" if len(g["ids"]) > 8 else "")
            console.print(f"  {len(g['ids'])} samples, distance {g['distance']:.3g} {unit}: {ids}")
    if dup["leakage"] is not None:
        console.print(
            f"\nLeakage: {len(dup['leakage'])} samples have a near-copy in training dataset "
            f"version {dup['train_id']}"
        )
        for r in dup["leakage"][:TOP_ROWS]:
            console.print(f"  {r['id']} ≈ train {r['train_id']} (distance {r['distance']:g})")
    if result["task"] == "classification":
        console.print(f"\nLikely label errors: {result['n_label_issues']}")
        if result["label_issues"]:
            t = Table(box=None, pad_edge=False)
            for col in ("sample", "given", "suggested", "confidence", "p(given)"):
                t.add_column(col, justify="right" if col in ("confidence", "p(given)") else "left")
            for r in result["label_issues"][:TOP_ROWS]:
                t.add_row(r["id"], r["given"], r["suggested"], _num(r["confidence"]),
                          _num(r["self_confidence"]))  # fmt: skip
            console.print(t)


@handle_errors
def analyze(
    evaluation: Annotated[
        int,
        typer.Argument(
            help="The evaluation to analyse (see `assay list`).",
            parser=EVALUATION_ID,
        ),
    ],
    train: Annotated[
        int | None,
        typer.Option(
            "--train",
            metavar="<dataset version>",
            help="The training set's dataset version id: its near-copies in the evaluated set "
            "are reported as leakage, and the OOV share of texts uses its vocabulary.",
            parser=DATASET_VERSION_ID,
        ),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option(
            "--json",
            help="Write the analysis as JSON to this file ('-': stdout, which then carries only "
            "the JSON).",
        ),
    ] = None,
    bins: Annotated[
        int,
        typer.Option(
            "--bins", help="Bins of the performance-by-property table.", min=1, max=100
        ),  # fmt: skip
    ] = 10,
    mlflow: MlflowFlag = False,
    mlflow_run: MlflowRun = None,
    slices: Annotated[
        bool,
        typer.Option("--slices", help="The weakest slices instead (metadata x binned properties)."),
    ] = False,
    min_size: Annotated[
        int | None,
        typer.Option(
            "--min-size", help="With --slices: the smallest slice (default max(30, 1 %)).", min=1
        ),
    ] = None,
    max_conditions: Annotated[
        int,
        typer.Option("--max-conditions", help="With --slices: conditions per slice.", min=1, max=3),
    ] = 3,
    embeddings: Annotated[
        bool, typer.Option("--embeddings", help="The 2-D embedding map instead (see --method).")
    ] = False,
    method: Annotated[str, typer.Option("--method", help="The map's layout: pca or umap.")] = "pca",
    out: Annotated[
        Path | None, typer.Option("--out", help="With --embeddings: write the map as CSV here.")
    ] = None,
) -> None:
    """Data quality of an evaluation: per-sample properties (image brightness, contrast,
    sharpness…, text length and OOV share, box counts and overlaps, the dataset's metadata)
    ranked by how much they go with the model's errors, accuracy along the top one,
    near-duplicates, leakage from a training set, and likely label errors. Properties are
    computed once per dataset version and cached."""
    from assay.cli.report import make_console
    from assay.service.quality import analyze_stored, property_bins

    if slices:
        from assay.cli.slices_cli import slices_command

        slices_command(evaluation, json_out, min_size=min_size, max_conditions=max_conditions)
        return
    if embeddings:
        from assay.cli.embeddings_cli import embedding_map_command

        embedding_map_command(evaluation, method, out, json_out)
        return
    check_out_path(json_out)
    to_mlflow, mlflow_run = mlflow_target(mlflow, mlflow_run)
    ws = workspace()
    with _PropertiesProgress() as bar:
        result = analyze_stored(ws, evaluation, train=train, progress=bar)
    top = next((r["property"] for r in result["importance"] if r["importance"] is not None), None)
    top_bins = None if top is None else property_bins(ws, evaluation, top, bins=bins, train=train)
    if json_out is not None:
        write_json({**result, "top_property_bins": top_bins}, json_out)
    if not to_stdout(json_out):
        print_analysis(result, top_bins, make_console())
    sys.stdout.flush()
    if to_mlflow:
        from assay.integrations.mlflow_log import log_analysis

        say_logged(log_analysis(result, evaluation, run_id=mlflow_run))
