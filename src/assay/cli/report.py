"""Terminal rendering of reports with rich: highlights, per-class table, confusion highlights."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

MAX_ROWS = 40


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def make_console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr) whose width follows the terminal or ``COLUMNS``."""
    return Console(stderr=stderr, highlight=False)


def say(
    phrases: Sequence[str],
    *,
    console: Console,
    sep: str = " · ",
    style: str | None = None,
) -> None:
    """Print ``phrases`` joined by ``sep``, breaking lines only between phrases."""
    width = console.width
    lines: list[str] = []
    line = ""
    for phrase in phrases:
        if not phrase:
            continue
        joined = f"{line}{sep}{phrase}" if line else phrase
        if line and cell_len(joined) > width:
            lines.append(line + sep.rstrip())
            line = "  " + phrase
        else:
            line = joined
    lines.append(line)
    for text in lines:
        console.print(Text(text, style=style or ""))


@contextlib.contextmanager
def progress(delay: float = 1.0) -> Iterator[Callable[[str], None]]:
    """A spinner with the current step on stderr, shown only once the work has taken ``delay`` s."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    err = make_console(stderr=True)
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("Starting", total=None)
    started = threading.Event()
    done = threading.Event()

    def show_later() -> None:
        if not done.wait(delay) and err.is_terminal:
            bar.start()
            started.set()

    timer = threading.Thread(target=show_later, daemon=True)
    timer.start()
    try:
        yield lambda text: bar.update(task, description=text)
    finally:
        done.set()
        timer.join()
        if started.is_set():
            bar.stop()


def print_report(report: dict[str, Any], *, console: Console | None = None) -> None:
    """Print a classification or detection JSON report for a person."""
    out = console or make_console()
    if report.get("task") == "detection":
        _print_detection(report, out)
    else:
        _print_classification(report, out)


def _highlights(
    items: list[tuple[str, str, Any]], intervals: dict[str, Any] | None = None
) -> Table:
    """Name, value and, where a bootstrap ran, the 95 % interval; ``items`` are (label, key, value)."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    if intervals:
        table.add_column(style="dim")
    for label, key, value in items:
        ci = (intervals or {}).get(key)
        row = [label, _fmt(value)]
        if intervals:
            row.append(f"95 % CI {_fmt(ci['low'])} – {_fmt(ci['high'])}" if ci else "")
        table.add_row(*row)
    return table


def _print_classification(report: dict[str, Any], console: Console) -> None:
    s = report["summary"]
    names = [
        ("Accuracy", "accuracy"),
        ("Top-5 accuracy", "top5_accuracy"),
        ("Macro precision", "macro_precision"),
        ("Macro recall", "macro_recall"),
        ("Macro F1", "macro_f1"),
        ("ROC AUC (macro)", "roc_auc_macro"),
        ("Average precision (macro)", "average_precision_macro"),
        ("Log loss", "log_loss"),
        ("Expected calibration error", "ece"),
    ]
    items = [(n, k, s.get(k)) for n, k in names if k == "accuracy" or s.get(k) is not None]
    task = report.get("task", "classification")
    heading = [task.capitalize(), f"{len(report['classes'])} classes"]
    say([*heading, f"threshold {report['threshold']:g}"], console=console, style="bold")
    console.print(_highlights(items, report.get("intervals")))
    opt = report.get("optimal")
    if opt:
        console.print(
            f"Optimal threshold for {opt.get('metric')}: {_fmt(opt.get('threshold'), 3)} ({_fmt(opt.get('value'))})"
        )
    say(["Per class"], console=console, style="bold")
    table = Table()
    for col in ("class", "n", "pred", "TP", "FP", "FN", "P", "R", "F1", "AUC", "AP"):
        table.add_column(col, justify="left" if col == "class" else "right", no_wrap=col != "class")
    per_class = report["per_class"]
    for k, (cls, row) in enumerate(per_class.items()):
        if k == MAX_ROWS:
            table.add_row(f"… {len(per_class) - MAX_ROWS} more (see --json)", *[""] * 10)
            break
        counts = (row.get(f) for f in ("total_labeled", "total_predicted", "tp", "fp", "fn"))
        rates = (row.get(f) for f in ("precision", "recall", "f1", "roc_auc", "average_precision"))
        table.add_row(cls, *(_fmt(v) for v in counts), *(_fmt(v, 3) for v in rates))
    console.print(table)
    legend = ["n = labeled", "pred = predicted", "P / R = precision / recall"]
    say(legend, console=console, style="dim")
    _print_folds(report.get("per_fold"), console)
    confused = _most_confused(report.get("confusion"))
    if confused:
        console.print(
            "Most confused (actual → predicted): "
            + ", ".join(f"{a} → {p} ({n})" for a, p, n in confused[:5])
        )


FOLD_METRICS = (
    ("accuracy", "accuracy"),
    ("macro F1", "macro_f1"),
    ("ROC AUC", "roc_auc_macro"),
    ("AP", "average_precision_macro"),
    ("log loss", "log_loss"),
)


def _print_folds(per_fold: dict[str, Any] | None, console: Console) -> None:
    """One row per cross-validation fold, then the mean ± standard deviation."""
    if not per_fold:
        return
    say(["Per fold"], console=console, style="bold")
    table = Table()
    table.add_column("fold")
    for label, _ in FOLD_METRICS:
        table.add_column(label, justify="right")
    for fold, summary in per_fold["folds"].items():
        table.add_row(str(fold), *(_fmt(summary.get(k)) for _, k in FOLD_METRICS))
    mean, std = per_fold["mean"], per_fold["std"]
    table.add_row(
        "mean ± std",
        *(f"{_fmt(mean.get(k))} ± {_fmt(std.get(k), 3)}" for _, k in FOLD_METRICS),
        style="bold",
    )
    console.print(table)


def _most_confused(confusion: dict[str, Any] | None) -> list[tuple[str, str, int]]:
    if not confusion:
        return []
    rows, cols, matrix = confusion["rows"], confusion["columns"], confusion["matrix"]
    pairs = [
        (rows[i], cols[j], int(v))
        for i, row in enumerate(matrix)
        for j, v in enumerate(row)
        if v and rows[i] != cols[j] and cols[j] != "Below threshold"
    ]
    return sorted(pairs, key=lambda p: -p[2])


def _print_detection(report: dict[str, Any], console: Console) -> None:
    coco = report["coco"]
    items = [(k, k, v) for k, v in coco.items()]
    say(["Detection", "COCO bbox"], console=console, style="bold")
    console.print(_highlights(items, report.get("intervals")))
    say(["Per class"], console=console, style="bold")
    table = Table()
    for col in ("class", "AP", "AP50", "AP75", "AR100"):
        table.add_column(col, justify="left" if col == "class" else "right")
    per_class = report["per_class"]
    for k, (cls, row) in enumerate(per_class.items()):
        if k == MAX_ROWS:
            table.add_row(f"… {len(per_class) - MAX_ROWS} more (see --json)", "", "", "", "")
            break
        table.add_row(cls, *(_fmt(row.get(f)) for f in ("AP", "AP50", "AP75", "AR100")))
    console.print(table)
    confused = _most_confused(report.get("confusion"))
    if confused:
        console.print(
            f"At IoU {report.get('iou')} and score ≥ {report.get('score')}, most frequent errors: "
            + ", ".join(f"{a} → {p} ({n})" for a, p, n in confused[:5])
        )


def print_evaluations(rows: list[dict[str, Any]], *, console: Console | None = None) -> None:
    """The table of `assay list`."""
    console = console or make_console()
    if not rows:
        console.print("No evaluations yet. Run [bold]assay evaluate --gt … --pred …[/].")
        return
    say(["Evaluations", "newest first"], console=console, style="bold")
    table = Table()
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("evaluation (model × dataset)", overflow="fold")
    table.add_column("task", no_wrap=True)
    table.add_column("headline", no_wrap=True)
    table.add_column("created", no_wrap=True)
    for r in rows:
        headline = r.get("headline") or {}
        model = (r.get("model") or {}).get("name", "—")
        dataset = (r.get("dataset") or {}).get("name", "")
        label = headline.get("label") or headline.get("metric") or ""
        table.add_row(
            str(r.get("id")),
            f"{r.get('name') or ''}\n[dim]{model} × {dataset}[/]",
            str(r.get("task")),
            f"{label} {_fmt(headline.get('value'), 3)}",
            str(r.get("created_at", ""))[:10],
        )
    console.print(table)
