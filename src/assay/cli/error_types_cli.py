"""``assay show EVAL --errors``: TIDE's detection error types printed as two tables.

The answer is :meth:`assay.evaluation.detection.DetectionResults.error_types` with
``per_class=True``; the numbers follow TIDE's definitions (Bolya et al., ECCV 2020).
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

__all__ = ["print_error_types"]


def _num(value: Any, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def print_error_types(answer: dict[str, Any], console: Console) -> None:
    """The six types (count, dAP, meaning) with the FP / FN oracles, then each class's counts
    and own dAP (classes without any error left out)."""
    title = (
        f"Error types (TIDE) at IoU {answer['iou']:g}, background {answer['background_iou']:g}: "
        f"AP {_num(answer['ap'])}"
    )
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("type", style="bold", no_wrap=True)
    table.add_column("count", justify="right")
    table.add_column("dAP", justify="right")
    table.add_column("meaning", style="dim")
    for r in answer["types"]:
        table.add_row(r["name"], str(r["count"]), _num(r["dap"]), r["description"])
    for r in answer["special"]:
        table.add_row(f"{r['name']} (oracle)", "", _num(r["dap"]), r["description"])
    console.print(table)
    console.print(
        "dAP: the AP gained by fixing every error of the type (TIDE's oracle; TIDE prints it "
        "x100).",
        style="dim",
    )
    classes = [c for c in answer.get("classes") or [] if any(c["counts"].values())]
    if not classes:
        return
    per = Table(title="Per class: count / the class's own dAP", box=box.SIMPLE_HEAD,
                title_justify="left")  # fmt: skip
    per.add_column("class", style="bold", no_wrap=True)
    per.add_column("AP", justify="right")
    for r in answer["types"]:
        per.add_column(r["name"], justify="right")
    for c in classes:
        cells = [
            f"{c['counts'][r['type']]} / {_num(c['dap'][r['type']], 3)}" for r in answer["types"]
        ]
        per.add_row(c["label"], _num(c["ap"]), *cells)
    console.print(per)
