"""Terminal rendering with rich of the JSON report every results object gives (``report(at)``).

One printer serves classification, multi-label and detection: what it shows is decided by the
fields the report carries (a summary key that is absent or None is not shown, a per-class column
that no row has is not drawn); the task only chooses words (multi-label "Subset accuracy",
detection "images"). Headings break only between their phrases, so nothing is cut mid-phrase at
80 columns.

>>> from rich.console import Console
>>> import io
>>> out = Console(file=io.StringIO(), width=80)
>>> say(["Per class", "at threshold 0.5"], console=out)
>>> out.file.getvalue()
'Per class · at threshold 0.5\\n'
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from assay.evaluation.vocabulary import TOP_K_TIE_RULE

MAX_ROWS = 40

# Summary rows in display order: (key, label, note). The note names the convention behind the
# number; "{point}" is replaced by the operating point, "{macro}" by "macro over k of n classes".
SUMMARY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("accuracy", "Accuracy", "at {point}"),
    ("coverage", "Coverage", "share of samples with a top score ≥ the threshold"),
    ("selective_accuracy", "Accuracy on kept", "risk = 1 − this"),
    ("top1_accuracy", "Top-1 accuracy", "argmax = scikit-learn's accuracy_score"),
    ("top_k", "Top-{k} accuracy", "ties: see the rule below"),
    ("hamming_loss", "Hamming loss", "at {point}"),
    ("macro_precision", "Precision", "{macro}"),
    ("macro_recall", "Recall", "{macro}"),
    ("macro_f1", "F1", "{macro}"),
    ("micro_f1", "F1 (micro)", "at {point}"),
    ("weighted_f1", "F1 (weighted)", "at {point}"),
    ("AP", "AP", "IoU .50:.95, {macro}"),
    ("AP50", "AP50", "IoU .50"),
    ("AP75", "AP75", "IoU .75"),
    ("APs", "AP small", "area < 32²"),
    ("APm", "AP medium", "32² ≤ area < 96²"),
    ("APl", "AP large", "area ≥ 96²"),
    ("AR1", "AR1", "1 detection per image"),
    ("AR10", "AR10", "10 detections per image"),
    ("AR100", "AR100", "100 detections per image"),
    ("ARs", "AR small", ""),
    ("ARm", "AR medium", ""),
    ("ARl", "AR large", ""),
    ("precision", "Precision", "at {point}"),
    ("recall", "Recall", "at {point}"),
    ("f1", "F1", "at {point}"),
    ("tp", "TP", "at {point}"),
    ("fp", "FP", "at {point}"),
    ("fn", "FN", "at {point}"),
    ("roc_auc_macro", "ROC AUC", "{macro}"),
    ("average_precision_macro", "Average precision", "{macro}"),
    ("log_loss", "Log loss", ""),
    ("brier", "Brier score", ""),
    ("ece", "ECE", "expected calibration error"),
)
# The label a task gives a summary key when it means something else there.
TASK_LABELS: dict[tuple[str, str], str] = {("multilabel", "accuracy"): "Subset accuracy"}
SAMPLE_NOUN: dict[str, str] = {"detection": "images"}
# Summary key -> its key in the summary's ``macro_over``.
MACRO_OVER: dict[str, str] = {
    "macro_precision": "precision",
    "macro_recall": "recall",
    "macro_f1": "f1",
    "roc_auc_macro": "roc_auc",
    "average_precision_macro": "average_precision",
    "AP": "AP",
}
# Per-class columns in display order: (row field, header); columns no row carries are left out.
PER_CLASS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("total_labeled", "n"),
    ("total_predicted", "pred"),
    ("tp", "TP"),
    ("fp", "FP"),
    ("fn", "FN"),
    ("precision", "P"),
    ("recall", "R"),
    ("f1", "F1"),
    ("roc_auc", "AUC"),
    ("average_precision", "AP"),
    ("AP", "AP"),
    ("AP50", "AP50"),
    ("AP75", "AP75"),
    ("AR100", "AR100"),
)
# Left out, in this order, while the table is wider than the terminal (all are in --json; n and
# pred are TP + FN and TP + FP).
PER_CLASS_DROP_FIRST: tuple[str, ...] = ("total_predicted", "AP75", "total_labeled", "AR100")
CLASS_MIN_WIDTH = 16
PER_CLASS_LEGEND = {
    "total_labeled": "n = labeled",
    "total_predicted": "pred = predicted",
    "precision": "P / R = precision / recall",
}
FOLD_METRICS: tuple[tuple[str, str], ...] = (
    ("accuracy", "accuracy"),
    ("macro_f1", "macro F1"),
    ("roc_auc_macro", "ROC AUC"),
    ("average_precision_macro", "AP"),
    ("log_loss", "log loss"),
    ("AP", "AP"),
    ("AP50", "AP50"),
    ("f1", "F1"),
)


def make_console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr) whose width follows the terminal or ``COLUMNS``."""
    return Console(stderr=stderr, highlight=False)


def fmt(value: Any, digits: int = 4) -> str:
    """A number for a person: floats to ``digits`` places, None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def say(
    phrases: Sequence[str],
    *,
    console: Console,
    sep: str = " · ",
    style: str | None = None,
) -> None:
    """Print ``phrases`` joined by ``sep``, breaking lines only between phrases."""
    width = console.width
    tail = sep.rstrip()  # what ends a line that the next phrase continues
    phrases = [phrase for phrase in phrases if phrase]
    lines: list[str] = []
    line = ""
    for i, phrase in enumerate(phrases):
        joined = f"{line}{sep}{phrase}" if line else phrase
        room = cell_len(tail) if i < len(phrases) - 1 else 0
        if line and cell_len(joined) + room > width:
            lines.append(line + tail)
            line = "  " + phrase
        else:
            line = joined
    lines.append(line)
    for text in lines:
        console.print(Text(text, style=style or ""))


def point_text(answer: dict[str, Any], rule: str | None = None) -> str:
    """The operating point an answer carries: "argmax (no threshold)", "threshold 0.5" or "IoU
    0.5, confidence ≥ 0.71 (F1-optimal)"; ``rule`` is the summary's ``point_rule``."""
    if rule == "argmax":
        return "argmax (no threshold)"
    parts = []
    if answer.get("threshold") is not None:
        parts.append(f"threshold {answer['threshold']:g}")
    if answer.get("iou") is not None:
        parts.append(f"IoU {answer['iou']:g}")
    if answer.get("score") is not None:
        optimal = " (F1-optimal)" if rule == "f1_optimal" else ""
        parts.append(f"confidence ≥ {answer['score']:.4g}{optimal}")
    return ", ".join(parts)


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
    """Print the JSON report of any task for a person."""
    out = console or make_console()
    summary = report["summary"]
    task = str(report.get("task", ""))
    point = point_text(report, summary.get("point_rule"))
    say(
        [
            task.capitalize(),
            f"{summary['n_samples']} {SAMPLE_NOUN.get(task, 'samples')}",
            f"{len(report['classes'])} classes",
            point,
        ],
        console=out,
        style="bold",
    )
    _print_summary(summary, task, point, report.get("intervals"), out)
    _print_optimal(report.get("optimal"), out)
    _print_per_class(report.get("per_class"), point, out)
    _print_folds(report.get("folds"), task, out)
    _print_confused(report.get("confusion"), point, out)
    _print_extra(report.get("extra"), out)


def _print_summary(
    summary: dict[str, Any],
    task: str,
    point: str,
    intervals: dict[str, Any] | None,
    out: Console,
) -> None:
    """Name, value, the interval where a bootstrap ran, and the convention behind the number."""
    macro_over = summary.get("macro_over") or {}
    n_classes = summary.get("n_classes")
    intervals = intervals or {}
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_header=bool(intervals))
    table.add_column("metric", style="bold", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    if intervals:
        table.add_column("95 % CI", no_wrap=True)
    table.add_column("", style="dim")
    rows: list[tuple[str, Any, Any, str]] = []
    tie_rule = False  # said under the table when a top-k row is shown
    argmax = summary.get("point_rule") == "argmax"
    for key, label, note in SUMMARY_ROWS:
        value = summary.get(key)
        if value is None or (argmax and key in ("coverage", "selective_accuracy")):
            continue
        over = macro_over.get(MACRO_OVER.get(key, ""))
        macro = f"macro over {over} of {n_classes} classes" if over is not None else "macro"
        never = {"macro_precision": "never_predicted", "macro_recall": "never_labeled"}.get(key)
        if never and summary.get("zero_division") == 0 and summary.get(never):
            word = "precision" if key == "macro_precision" else "recall"
            macro += f", {summary[never]} {never.replace('_', ' ')}: {word} 0 for them"
        note = note.format(point=point, macro=macro)
        label = TASK_LABELS.get((task, key), label)
        if key != "top_k":
            rows.append((label, value, intervals.get(key), note))
            continue
        for item in value:  # top-1 is the argmax accuracy, shown once
            if item["k"] != 1 or summary.get("top1_accuracy") is None:
                rows.append((label.format(k=item["k"]), item["value"], None, note))
                tie_rule = True
    for label, value, ci, note in rows:
        cells = [label, fmt(value)]
        if intervals:
            cells.append(f"{fmt(ci['low'], 3)} – {fmt(ci['high'], 3)}" if ci else "")
        table.add_row(*cells, note)
    out.print(table)
    if tie_rule:
        say([TOP_K_TIE_RULE], console=out, style="dim")
    if "zero_division" in summary:
        rule = (
            "scikit-learn's defaults (the labels present, an undefined ratio counting 0)"
            if summary["zero_division"] == 0
            else "each over the classes where its metric is defined (zero_division=nan)"
        )
        say([f"Macro and weighted averages: {rule}."], console=out, style="dim")


def _print_optimal(optimal: dict[str, Any] | None, out: Console) -> None:
    if not optimal or optimal.get("value") is None:
        return
    say(
        [
            f"Best {optimal.get('metric')}: {fmt(optimal.get('value'))}",
            f"at {point_text(optimal)}",
        ],
        console=out,
        sep=" ",
    )


def _print_per_class(per_class: dict[str, Any] | None, point: str, out: Console) -> None:
    rows = (per_class or {}).get("items") or []
    if not rows:
        return
    present = {key for row in rows for key in row}
    columns = [(key, head) for key, head in PER_CLASS_COLUMNS if key in present]
    longest = max(cell_len(str(row.get("label"))) for row in rows[:MAX_ROWS])  # long ones fold
    dropped: list[str] = []
    table = _per_class_table(rows, columns)
    for key in PER_CLASS_DROP_FIRST:  # the narrowest terminals lose the least needed columns
        if _natural_width(out, table) - max(0, longest - CLASS_MIN_WIDTH) <= out.width:
            break
        if key in present:
            dropped.extend(head for k, head in columns if k == key)
            columns = [(k, head) for k, head in columns if k != key]
            table = _per_class_table(rows, columns)
    out.print()
    say(["Per class", f"counts and P / R / F1 at {point}"], console=out, style="bold")
    out.print(table)
    shown = {key for key, _ in columns}
    legend = [text for key, text in PER_CLASS_LEGEND.items() if key in shown]
    if len(rows) > MAX_ROWS:
        legend.insert(0, f"{MAX_ROWS} of {len(rows)} classes shown, all in --json")
    if dropped:
        legend.append(f"{', '.join(dropped)}: in --json")
    say(legend, console=out, style="dim")


def _natural_width(out: Console, table: Table) -> int:
    """The width ``table`` takes when nothing is squeezed."""
    return Measurement.get(out, out.options.update_width(10_000), table).maximum


def _per_class_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> Table:
    longest = max(cell_len(str(row.get("label"))) for row in rows[:MAX_ROWS])
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), show_edge=False)
    table.add_column("class", overflow="fold", min_width=min(longest, CLASS_MIN_WIDTH))
    for _, head in columns:
        table.add_column(head, justify="right", no_wrap=True)
    for row in rows[:MAX_ROWS]:
        table.add_row(str(row.get("label")), *(fmt(row.get(key), 3) for key, _ in columns))
    return table


def _print_folds(folds: dict[str, Any] | None, task: str, out: Console) -> None:
    """One row per cross-validation fold, then the mean ± standard deviation."""
    if not folds:
        return
    mean, std = folds.get("mean") or {}, folds.get("std") or {}
    metrics = [
        (key, TASK_LABELS[task, key].lower() if (task, key) in TASK_LABELS else head)
        for key, head in FOLD_METRICS
        if mean.get(key) is not None
    ]
    out.print()
    say(["Per fold"], console=out, style="bold")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), show_edge=False)
    table.add_column("fold")
    table.add_column("n", justify="right")
    for _, head in metrics:
        table.add_column(head, justify="right")
    for fold in folds.get("folds") or []:
        values = fold.get("metrics") or {}
        table.add_row(
            str(fold.get("fold")),
            fmt(fold.get("n_samples")),
            *(fmt(values.get(key)) for key, _ in metrics),
        )
    table.add_row("mean", "", *(fmt(mean.get(key)) for key, _ in metrics), style="bold")
    table.add_row("± std", "", *(fmt(std.get(key)) for key, _ in metrics))
    out.print(table)


def _print_confused(confusion: dict[str, Any] | None, point: str, out: Console) -> None:
    pairs = (confusion or {}).get("most_confused") or []
    if not pairs:
        return
    unit = (confusion or {}).get("unit", "samples")
    out.print()
    say(["Most confused", f"actual → predicted, {unit}", f"at {point}"], console=out, style="bold")
    say(
        [f"{p['actual']} → {p['predicted']} ({p['count']})" for p in pairs[:5]],
        console=out,
        sep=", ",
    )


def _print_extra(extra: dict[str, Any] | None, out: Console) -> None:
    """The flat tables an answer adds (detection: AP under each interpolation protocol)."""
    if not extra:
        return
    rows = {
        name: value
        for name, value in extra.items()
        if isinstance(value, dict)
        and value
        and all(v is None or isinstance(v, int | float) for v in value.values())
    }
    if not rows:
        return
    columns = list(dict.fromkeys(k for value in rows.values() for k in value))
    out.print()
    heading = "AP by interpolation protocol" if "protocols" in extra else "More"
    say([heading], console=out, style="bold")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), show_edge=False)
    table.add_column("")
    for column in columns:
        table.add_column(column, justify="right")
    for name, value in rows.items():
        table.add_row(name, *(fmt(value.get(column)) for column in columns))
    out.print(table)


def print_evaluations(rows: list[dict[str, Any]], *, console: Console | None = None) -> None:
    """The table of `assay list`."""
    out = console or make_console()
    if not rows:
        out.print("No evaluations yet. Run [bold]assay evaluate --gt … --pred …[/].")
        return
    say(
        ["Evaluations", "newest first", "model × dataset under each name"],
        console=out,
        style="bold",
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), show_edge=False)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("evaluation", overflow="fold", min_width=12)
    table.add_column("task", no_wrap=True)
    table.add_column("headline", no_wrap=True)
    table.add_column("created", no_wrap=True, min_width=10)
    for r in rows:
        headline = r.get("headline") or {}
        model = (r.get("model") or {}).get("name", "—")
        dataset = (r.get("dataset") or {}).get("name", "")
        label = headline.get("label") or headline.get("metric") or ""
        table.add_row(
            str(r.get("id")),
            Text(f"{r.get('name') or ''}\n") + Text(f"{model} × {dataset}", style="dim"),
            str(r.get("task")),
            "predictions only"
            if r.get("predictions_only")
            else f"{label} {fmt(headline.get('value'), 3)}",
            str(r.get("created_at", ""))[:10],
        )
    out.print(table)


def _classes_text(classes: Sequence[str] | None, shown: int = 4) -> str:
    if not classes:
        return "—"
    head = ", ".join(classes[:shown])
    return f"{len(classes)}: {head}" + (", …" if len(classes) > shown else "")


def _input_text(row: dict[str, Any]) -> str:
    shape = row.get("input_shape")
    media = row.get("media") or ""
    if not shape:
        return media or "—"
    dims = "×".join("?" if d is None else str(d) for d in shape)
    return f"{media} {dims}".strip()


def print_model_version(
    row: dict[str, Any], *, console: Console | None = None, new: bool = True
) -> None:
    """What `assay models add` registered (or found already registered)."""
    out = console or make_console()
    verb = "Registered" if new else "Already registered"
    say(
        [f"{verb} model version {row['id']}", f"{row['model_name']} {row['version']}"],
        console=out,
        style="bold",
    )
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column(no_wrap=True, style="dim")
    table.add_column(overflow="fold")
    for label, value in (
        ("task", row.get("task") or "—"),
        ("backend", row.get("backend") or "—"),
        ("classes", _classes_text(row.get("classes"), 8)),
        ("input", _input_text(row)),
        ("parent", "—" if row.get("parent_version_id") is None else str(row["parent_version_id"])),
    ):
        table.add_row(label, Text(str(value)))
    out.print(table)
    out.print(f"\nRun it: assay evaluate --gt DATASET --model '#{row['id']}'")


def print_model_versions(rows: list[dict[str, Any]], *, console: Console | None = None) -> None:
    """The table of `assay models list`."""
    out = console or make_console()
    if not rows:
        out.print("No models yet. Run [bold]assay models add MODEL --name NAME[/].")
        return
    say(["Model versions", "oldest first"], console=out, style="bold")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=0, show_edge=False)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("model", overflow="fold", min_width=6)
    table.add_column("version", overflow="fold", min_width=7)
    table.add_column("parent", justify="right", no_wrap=True)
    table.add_column("task", no_wrap=True)
    table.add_column("backend", no_wrap=True)
    table.add_column("classes", justify="right", no_wrap=True)
    table.add_column("evals", justify="right", no_wrap=True)
    table.add_column("created", no_wrap=True, min_width=10)
    for r in rows:
        parent = r.get("parent_version_id")
        table.add_row(
            str(r["id"]),
            Text(str(r["model_name"])),
            Text(str(r["version"])),
            "—" if parent is None else str(parent),
            str(r.get("task") or "—"),
            str(r.get("backend") or ("predictions" if not r.get("runnable") else "—")),
            "—" if not r.get("classes") else str(len(r["classes"])),
            str(len(r.get("evaluations") or [])),
            str(r.get("created_at", ""))[:10],
        )
    out.print(table)


class InferenceProgress:
    """A progress bar for a model run on stderr: samples done of total, samples/s, ETA.

    Call it as ``progress(done, total)``; the first call may start at samples already on disk
    (a resumed run), which then count neither towards the speed nor the ETA. ``done`` and
    ``total`` keep the last values seen (for the "interrupted after N of M" line).
    """

    def __init__(self, description: str = "Predicting") -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = make_console(stderr=True)
        self.done = 0
        self.total: int | None = None
        self.resumed: int | None = None
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        )
        self._task = self._bar.add_task(description, total=None, rate="")

    def __enter__(self) -> InferenceProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def __call__(self, done: int, total: int) -> None:
        if self.resumed is None:
            self.resumed = done
            self._bar.reset(self._task, total=total, completed=done)
            if done:
                self.console.print(
                    f"Resuming: {done} of {total} samples already predicted", highlight=False
                )
        self.done, self.total = done, total
        self._bar.update(self._task, completed=done, total=total)
        speed = self._bar.tasks[self._task].speed
        rate = f"{speed:,.0f} samples/s" if speed else ""
        self._bar.update(self._task, rate=rate)
