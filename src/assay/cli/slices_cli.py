"""``assay analyze EVAL --slices``: the weakest slices of a stored evaluation, printed (or as
JSON). ``cli.analyze`` calls :func:`slices_command`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from assay.cli.shared import check_out_path, to_stdout, workspace, write_json


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def print_slices(result: dict[str, Any], console: Any) -> None:
    """The slices for a person: one row each, the significant ones marked."""
    from rich.table import Table

    point = ", ".join(f"{k} {v:g}" for k, v in result["point"].items() if v is not None)
    what = "accuracy" if result["metric"] == "accuracy" else "mean per-image F1"
    console.print(
        f"Evaluation {result['evaluation_id']} ({result['task']}, {result['n_samples']} "
        f"samples at {point}): {what} {result['overall']:.3f} overall"
    )
    console.print(
        f"  {result['n_tried']} slices tried (at least {result['min_size']} samples, up to "
        f"{result['max_conditions']} conditions over {len(result['columns'])} columns); p-values "
        f"Holm-adjusted over {result['n_family']}; {result['n_significant']} significant at "
        f"{result['alpha']:g}"
    )
    for note in result["notes"]:
        console.print(f"  note: {note}")
    if not result["columns"]:
        console.print("\nNo metadata columns or properties to slice by.")
        return
    if not result["slices"]:
        console.print("\nNo slice is worse than the rest.")
        return
    table = Table(title=f"\nWeakest slices (by {what})", title_justify="left", box=None,
                  pad_edge=False)  # fmt: skip
    for col in ("#", "slice", "n", what, "95% CI", "vs rest", "p", "p (Holm)", ""):
        table.add_column(col, justify="left" if col in ("slice", "") else "right")
    for s in result["slices"]:
        ci = "—" if s["low"] is None else f"[{s['low']:.3f}, {s['high']:.3f}]"
        table.add_row(str(s["index"] + 1), s["description"], str(s["n"]), f"{s['metric']:.3f}",
                      ci, f"{s['difference']:+.3f}", _p(s["p_value"]), _p(s["p_holm"]),
                      "significant" if s["significant"] else "")  # fmt: skip
    console.print(table)


def slices_command(
    evaluation: int,
    json_out: Path | None,
    *,
    min_size: int | None,
    max_conditions: int,
) -> None:
    """Find, print and (with ``--json``) write the weakest slices."""
    from assay.cli.report import make_console
    from assay.service.slices import slices_stored

    check_out_path(json_out)
    result = slices_stored(workspace(), evaluation, min_size=min_size,
                           max_conditions=max_conditions)  # fmt: skip
    if json_out is not None:
        write_json(result, json_out)
    if not to_stdout(json_out):
        print_slices(result, make_console())
    sys.stdout.flush()
