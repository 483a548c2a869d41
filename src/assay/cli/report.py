"""Terminal rendering of reports with rich: highlights, per-class table, confusion highlights."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

MAX_ROWS = 40


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


@contextlib.contextmanager
def progress(delay: float = 1.0) -> Iterator[Callable[[str], None]]:
    """A spinner with the current step on stderr, shown only once the work has taken ``delay`` s."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    task = bar.add_task("Starting", total=None)
    started = threading.Event()
    done = threading.Event()

    def show_later() -> None:
        if not done.wait(delay) and err_console.is_terminal:
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


def print_report(report: dict[str, Any], *, evaluation_id: int | None = None) -> None:
    """Print a classification or detection JSON report for a person."""
    if report.get("task") == "detection":
        _print_detection(report)
    else:
        _print_classification(report)
    if evaluation_id is not None:
        console.print(
            f"\nStored as evaluation [bold]{evaluation_id}[/]  (assay show {evaluation_id})"
        )


def _highlights(title: str, items: list[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in items:
        table.add_row(key, _fmt(value))
    return table


def _print_classification(report: dict[str, Any]) -> None:
    s = report["summary"]
    items = [
        ("Accuracy", s.get("accuracy")),
        ("Top-5 accuracy", s.get("top5_accuracy")),
        ("Macro precision", s.get("macro_precision")),
        ("Macro recall", s.get("macro_recall")),
        ("Macro F1", s.get("macro_f1")),
        ("ROC AUC (macro)", s.get("roc_auc_macro")),
        ("Average precision (macro)", s.get("average_precision_macro")),
        ("Log loss", s.get("log_loss")),
        ("Expected calibration error", s.get("ece")),
    ]
    items = [(k, v) for k, v in items if k in ("Accuracy",) or v is not None]
    task = report.get("task", "classification")
    console.print(
        _highlights(
            f"{task.capitalize()} · {len(report['classes'])} classes · threshold {report['threshold']:g}",
            items,
        )
    )
    opt = report.get("optimal")
    if opt:
        console.print(
            f"Optimal threshold for {opt.get('metric')}: {_fmt(opt.get('threshold'), 3)} ({_fmt(opt.get('value'))})"
        )
    table = Table(
        title="Per class", caption="n = labeled · pred = predicted · P / R = precision / recall"
    )
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
    confused = _most_confused(report.get("confusion"))
    if confused:
        console.print(
            "Most confused (actual → predicted): "
            + ", ".join(f"{a} → {p} ({n})" for a, p, n in confused[:5])
        )


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


def _print_detection(report: dict[str, Any]) -> None:
    coco = report["coco"]
    console.print(_highlights("Detection · COCO bbox", list(coco.items())))
    table = Table(title="Per class")
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


def print_evaluations(rows: list[dict[str, Any]]) -> None:
    """The table of `assay list`."""
    if not rows:
        console.print("No evaluations yet. Run [bold]assay evaluate --gt … --pred …[/].")
        return
    table = Table(title="Evaluations")
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
