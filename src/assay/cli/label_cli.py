"""``assay show EVAL --label NAME``: one label at the operating point, as the web UI's label page
shows it: its precision, recall and F1, its TP / FN / FP counts, and the samples (detection: the
images) behind each, the first of each kind listed.

The counts are the per-class table's (:meth:`~assay.evaluation.results.Results.per_class`) and the
samples the feed's (:meth:`~assay.evaluation.results.Results.samples` filtered by the label and
the outcome), so each list's total equals its count for classification; for detection it is the
number of images holding such boxes.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

__all__ = ["label_of", "print_label"]

OUTCOMES = (("tp", "True positives"), ("fn", "False negatives"), ("fp", "False positives"))


def label_of(results: Any, at: Any, name: str, *, limit: int = 10) -> dict[str, Any]:
    """One label's row of the per-class table at ``at`` and, per outcome (TP, FN, FP), the
    total and the first ``limit`` samples of the feed (most confident first); a ParameterError
    for a label the evaluation does not have."""
    label = results.check_label(name, "--label")
    rows = results.per_class(at)["items"]
    row = next((r for r in rows if r["label"] == label), None)
    answer: dict[str, Any] = {"label": label, "metrics": row, "samples": {}}
    for outcome, _ in OUTCOMES:
        page = results.samples(at, label=label, outcome=outcome, limit=limit)
        answer["samples"][outcome] = {
            "total": page["total"],
            "items": [
                {k: item.get(k) for k in ("index", "id", "actual", "predicted", "confidence")}
                for item in page["items"]
            ],
        }
    return answer


def _num(value: Any) -> str:
    return "—" if value is None else f"{value:.4f}"


def print_label(answer: dict[str, Any], console: Console, *, detection: bool) -> None:
    """The label's numbers on one line, then a table per outcome of its first samples."""
    row = answer["metrics"] or {}
    console.print(
        f"[bold]{answer['label']}[/bold]: precision {_num(row.get('precision'))}, recall "
        f"{_num(row.get('recall'))}, F1 {_num(row.get('f1'))} · TP {row.get('tp', 0)}, "
        f"FN {row.get('fn', 0)}, FP {row.get('fp', 0)}"
    )
    unit = "images" if detection else "samples"
    for outcome, words in OUTCOMES:
        got = answer["samples"][outcome]
        shown = len(got["items"])
        noun = unit if got["total"] != 1 else unit[:-1]
        console.print(f"\n{words}: {got['total']} {noun}" + (f", first {shown}" if shown else ""))
        if not shown:
            continue
        table = Table(box=box.SIMPLE_HEAD)
        table.add_column("#", justify="right")
        table.add_column("id")
        if not detection:
            table.add_column("actual")
            table.add_column("predicted")
            table.add_column("confidence", justify="right")
        for item in got["items"]:
            cells = [str(item["index"]), str(item["id"])]
            if not detection:
                conf = item.get("confidence")
                cells += [str(item.get("actual") or "—"), str(item.get("predicted") or "—"),
                          "—" if conf is None else f"{conf:.3f}"]  # fmt: skip
            table.add_row(*cells)
        console.print(table)
