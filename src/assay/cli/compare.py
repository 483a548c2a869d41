"""`assay compare A B`: the comparison of two stored evaluations, printed, and the CI gate."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

from assay.errors import ParameterError

GATE_METRICS = (
    "accuracy",
    "top1_accuracy",
    "macro_f1",
    "macro_precision",
    "macro_recall",
    "roc_auc_macro",
    "average_precision_macro",
    "log_loss",
)


def parse_gate(text: str | None) -> tuple[str, ...]:
    """The metrics of ``--fail-if-worse`` (a comma-separated list); an unknown one is a usage
    error naming the known ones."""
    if text is None:
        return ()
    names = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    bad = [n for n in names if n not in GATE_METRICS]
    if not names or bad:
        raise ParameterError(
            f"--fail-if-worse: unknown metric {', '.join(bad) or repr(text)} "
            f"(choose from {', '.join(GATE_METRICS)})"
        )
    return names


def gate(result: dict[str, Any], metrics: tuple[str, ...]) -> list[str]:
    """The lines saying where B is significantly worse than A on ``metrics`` (empty: pass)."""
    from assay.evaluation.compare import verdict

    failures = []
    for row in result["metrics"]:
        if row["metric"] not in metrics or not row["significant"] or row["delta"] is None:
            continue
        worse = (row["delta"] < 0) == row["higher_is_better"]
        if worse:
            failures.append(verdict(row, result["level"]).replace("A is better", "B is worse"))
    return failures


def _num(v: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.{digits}f}"


def _p(v: Any) -> str:
    if v is None:
        return "—"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def print_comparison(result: dict[str, Any], console: Console) -> None:
    a, b = result["a"], result["b"]
    console.print(f"[bold]A[/] = evaluation {a['id']}  {a['name']}")
    console.print(f"[bold]B[/] = evaluation {b['id']}  {b['name']}")
    console.print(
        f"{result['n_samples']} samples matched by id · thresholds A {result['thresholds']['a']:g}"
        f", B {result['thresholds']['b']:g} · {result['n_resamples']} paired resamples\n"
    )
    level = round(result["level"] * 100)
    table = Table(title="B − A", title_justify="left", box=None, pad_edge=False)
    for col, just in (("metric", "left"), ("A", "right"), ("B", "right"), ("B − A", "right"),
                      (f"{level}% CI", "right"), ("p", "right"), ("test", "left")):  # fmt: skip
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for row in result["metrics"]:
        ci = "—" if row["low"] is None else f"[{row['low']:+.4f}, {row['high']:+.4f}]"
        delta = "—" if row["delta"] is None else f"{row['delta']:+.4f}"
        style = "bold" if row["significant"] else None
        table.add_row(row["label"], _num(row["a"]), _num(row["b"]), delta, ci, _p(row["p_value"]),
                      row["test"] or "", style=style)  # fmt: skip
    console.print(table)
    console.print()
    for line in result["verdicts"]:
        console.print(f"  {line}")
    d = result["disagreements"]
    console.print(
        f"\nSamples: {d['fixed']} fixed (A wrong → B right), {d['broken']} broken (A right → B "
        f"wrong), {d['prediction_changed']} with another prediction; mean |confidence change| "
        f"{d['mean_abs_confidence_change']:.4f}"
    )
    changed = [r for r in result["per_class"] if r["recall_delta"] not in (None, 0)]
    changed.sort(key=lambda r: r["p_holm"] if r["p_holm"] is not None else 1.0)
    if changed:
        per = Table(title="\nPer class · recall (Holm-adjusted McNemar p)", title_justify="left",
                    box=None, pad_edge=False)  # fmt: skip
        for col in ("class", "n", "recall A", "recall B", "B − A", "p (Holm)", "F1 A", "F1 B"):
            per.add_column(col, justify="left" if col == "class" else "right")
        for r in changed[:15]:
            per.add_row(r["label"], str(r["n"]), _num(r["recall_a"], 3), _num(r["recall_b"], 3),
                        f"{r['recall_delta']:+.3f}", _p(r["p_holm"]), _num(r["f1_a"], 3),
                        _num(r["f1_b"], 3), style="bold" if r["significant"] else None)  # fmt: skip
        console.print(per)
        if len(changed) > 15:
            console.print(f"… and {len(changed) - 15} more classes whose recall changed")
