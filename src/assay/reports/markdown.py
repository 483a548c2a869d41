"""The Markdown summary of a report: short enough for a pull-request comment."""

from __future__ import annotations

from typing import Any

from assay.evaluation import metric_names
from assay.reports.error_types import error_types_markdown
from assay.reports.html import point_text

MAX_ROWS = 10  # per-class rows shown (the worst by F1 / recall change); all are in the HTML


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value).replace("|", "\\|")


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _evaluation(data: dict[str, Any]) -> list[str]:
    report = data["report"]
    summary = report["summary"]
    intervals = report.get("intervals") or {}
    lines = [f"**{summary['task']}** · {summary['n_samples']} samples · {summary['n_classes']} "
             f"classes · at {point_text(report)}", "",
             _row(["Metric", "Value", "95% CI"]), _row(["---", "---:", "---"])]  # fmt: skip
    for m in metric_names.metrics(summary["task"]):
        value = summary.get(m.key)
        if value is None or isinstance(value, list):
            continue
        ci = intervals.get(m.key)
        ci_text = f"[{_num(ci['low'])}, {_num(ci['high'])}]" if ci else ""
        lines.append(_row([m.label[:1].upper() + m.label[1:], _num(value), ci_text]))
    items = [r for r in report["per_class"]["items"] if r.get("f1") is not None]
    items.sort(key=lambda r: r["f1"])
    if items:
        lines += ["", f"Lowest F1 ({min(MAX_ROWS, len(items))} of {len(items)} classes):", "",
                  _row(["Class", "n", "Precision", "Recall", "F1"]),
                  _row(["---", "---:", "---:", "---:", "---:"])]  # fmt: skip
        for r in items[:MAX_ROWS]:
            lines.append(_row([_num(r["label"]), _num(r.get("total_labeled")), _num(r.get("precision")),
                               _num(r.get("recall")), _num(r.get("f1"))]))  # fmt: skip
    confused = (report.get("confusion") or {}).get("most_confused") or []
    if confused:
        pairs = ", ".join(f"{c['actual']} → {c['predicted']} ({c['count']})" for c in confused[:5])
        lines += ["", f"Most confused (actual → predicted): {pairs}"]
    if data.get("error_types"):
        lines += ["", "Error types (TIDE):", ""] + error_types_markdown(data["error_types"])
    return lines


def _comparison(comparison: dict[str, Any]) -> list[str]:
    a, b = comparison.get("a") or {}, comparison.get("b") or {}
    lines = [f"A (baseline) **{a.get('name', 'A')}** · B (candidate) **{b.get('name', 'B')}** · "
             f"{comparison['task']} · {comparison.get('n_samples')} {comparison.get('resampled', 'samples')}", ""]  # fmt: skip
    gate = comparison.get("gate")
    if gate and gate.get("metrics"):
        if gate.get("failed"):
            lines += ["**Gate failed** ❌", ""] + [f"- {line}" for line in gate["failed"]] + [""]
        else:
            lines += [f"**Gate passed** ✅ ({', '.join(gate['metrics'])})", ""]
    verdicts = comparison.get("verdicts") or []
    lines += [f"- {v}" for v in verdicts] or ["- No significant difference."]
    lines += ["", _row(["Metric", "A", "B", "B − A", "95% CI", "p (Holm)", ""]),
              _row(["---", "---:", "---:", "---:", "---", "---:", "---"])]  # fmt: skip
    for m in comparison["metrics"]:
        mark = ""
        if m.get("significant"):
            better = (m.get("delta") or 0) * (1 if m["higher_is_better"] else -1) > 0
            mark = "better" if better else "**worse**"
        lines.append(_row([m["label"], _num(m.get("a")), _num(m.get("b")), _num(m.get("delta")),
                           f"[{_num(m.get('low'))}, {_num(m.get('high'))}]", _num(m.get("p_holm")), mark]))  # fmt: skip
    per_class = [r for r in comparison.get("per_class") or [] if r.get("significant")]
    if per_class:
        lines += ["", f"Classes that changed significantly ({len(per_class)}):", ""]
        for r in per_class[:MAX_ROWS]:
            delta = r.get("recall_delta", r.get("delta"))
            lines.append(
                f"- {r['label']}: recall {_num(delta)} [{_num(r.get('low'))}, {_num(r.get('high'))}]"
            )
    return lines


def render_markdown(data: dict[str, Any]) -> str:
    """The report of :func:`assay.reports.evaluation_data` or :func:`comparison_data` as
    GitHub-flavoured Markdown: the headline with intervals, the weakest classes, the verdicts."""
    lines = [f"### Assay · {data['name']}", ""]
    lines += _comparison(data["comparison"]) if data["kind"] == "comparison" else _evaluation(data)
    lines += [
        "",
        f"<sub>Assay {data['assay_version']} · conventions: see the HTML report.</sub>",
        "",
    ]
    return "\n".join(lines)
