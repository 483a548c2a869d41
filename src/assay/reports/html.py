"""The self-contained HTML report: one file with its data, styles and script inline (no network,
no server, no CDN), readable in any browser opened from disk."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from assay.evaluation import metric_names
from assay.reports.error_types import error_types_html
from assay.reports.svg import line_chart

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1100px;
color:#1b1f24;padding:0 16px}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;
border-bottom:1px solid #ddd;padding-bottom:4px}.meta{color:#555}.cards{display:flex;flex-wrap:wrap;
gap:10px}.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:140px}
.card .v{font-size:20px;font-weight:600}.card .k,.card .ci{color:#555;font-size:12px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}th,td{padding:3px 8px;
border-bottom:1px solid #eee;text-align:right}th{background:#f6f8fa;cursor:pointer;position:sticky;
top:0}td:first-child,th:first-child{text-align:left}.cm td{min-width:28px;text-align:center;
border:1px solid #fff}.cm th{font-weight:500;font-size:12px}.scroll{overflow:auto;max-height:600px}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{margin:0}.chart figcaption{font-weight:600}
.legend{list-style:none;padding:0;margin:4px 0;font-size:12px;columns:2}.swatch{display:inline-block;
width:10px;height:10px;margin-right:4px}.samples{display:flex;flex-wrap:wrap;gap:10px}
.samples figure{margin:0;width:170px;font-size:12px}.samples img{width:160px;height:auto;image-rendering:pixelated}.verdicts li{margin:2px 0}.worse{color:#b00020}
.better{color:#0a7d32}.note{color:#555;font-size:12px}
"""
# Sorts a table by the column clicked (numbers as numbers); no other behaviour.
_JS = """
document.querySelectorAll('table.sortable th').forEach(function(th, col){
  th.addEventListener('click', function(){
    var body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var down = th.dataset.dir !== 'desc'; th.dataset.dir = down ? 'desc' : 'asc';
    function key(r){ var t = r.cells[col].textContent; var n = parseFloat(t); return isNaN(n) ? t : n; }
    rows.sort(function(a, b){ var x = key(a), y = key(b); var c = x < y ? -1 : x > y ? 1 : 0;
      return down ? -c : c; });
    rows.forEach(function(r){ body.appendChild(r); });
  });
});
"""


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def point_text(report: dict[str, Any]) -> str:
    """The operating point in words: "argmax", "threshold 0.5" or "IoU 0.5, confidence 0.31"."""
    summary = report.get("summary") or {}
    if summary.get("task") == "detection" or "iou" in report:
        return f"IoU {_num(report.get('iou'), 2)}, confidence {_num(report.get('score'), 3)}"
    if summary.get("point_rule") == "argmax":
        return "argmax (no threshold)"
    return f"threshold {_num(report.get('threshold'), 3)}"


def _table(headers: list[str], rows: list[list[str]], cls: str = "sortable") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _cards(report: dict[str, Any]) -> str:
    """The headline metrics as cards (value and interval), the other summary metrics as a table."""
    summary = report["summary"]
    task = summary["task"]
    intervals = report.get("intervals") or {}
    headline = set(metric_names.HEADLINE[task]) | {"coverage"}
    cards, rest = [], []
    for m in metric_names.metrics(task):
        value = summary.get(m.key)
        if value is None or isinstance(value, list) or (m.key == "coverage" and value == 1.0):
            continue
        ci = intervals.get(m.key)
        ci_text = f"[{_num(ci['low'])}, {_num(ci['high'])}]" if ci else ""
        if m.key in headline:
            cards.append(
                f'<div class="card" data-metric="{escape(m.key)}"><div class="k">'
                f'{escape(m.label)}</div><div class="v">{_num(value)}</div>'
                f'<div class="ci">{"95% CI " + ci_text if ci else ""}</div></div>'
            )
        else:
            rest.append([escape(m.label), _num(value), ci_text])
    table = _table(["metric", "value", "95% CI"], rest, cls="") if rest else ""
    return f'<div class="cards">{"".join(cards)}</div>{table}'


_PER_CLASS = (
    ("total_labeled", "n"), ("total_predicted", "predicted"), ("tp", "TP"), ("fp", "FP"),
    ("fn", "FN"), ("precision", "precision"), ("recall", "recall"), ("f1", "F1"),
    ("roc_auc", "ROC AUC"), ("average_precision", "AP"), ("AP", "AP"), ("AP50", "AP50"),
    ("AP75", "AP75"), ("AR100", "AR100"),
)  # fmt: skip


def _per_class(report: dict[str, Any]) -> str:
    items = report["per_class"]["items"]
    columns = [(k, h) for k, h in _PER_CLASS if any(k in row for row in items)]
    rows = [[escape(str(r["label"]))] + [_num(r.get(k)) for k, _ in columns] for r in items]
    return _table(["class"] + [h for _, h in columns], rows)


def _shade(value: float, top: float, colour: tuple[int, int, int]) -> str:
    alpha = 0.0 if top <= 0 else min(abs(value) / top, 1.0) * 0.85
    return f"background:rgba({colour[0]},{colour[1]},{colour[2]},{alpha:.2f})"


def _matrix(
    rows: list[str], columns: list[str], counts: list[list[int]], *, diff: bool = False
) -> str:
    """A confusion matrix (rows actual, columns predicted) shaded by count; ``diff``: a
    difference B − A, green where it helps (more on the diagonal, fewer off it), red where not."""
    top = max((abs(v) for row in counts for v in row), default=0)
    head = "<th>actual \\ predicted</th>" + "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = []
    for i, (label, row) in enumerate(zip(rows, counts, strict=False)):
        cells = []
        for j, v in enumerate(row):
            if diff:
                good = (v > 0) == (j < len(columns) and i < len(rows) and rows[i] == columns[j])
                colour = (10, 125, 50) if good else (176, 0, 32)
                text = f"{v:+d}" if v else "0"
            else:
                colour, text = (31, 119, 180), str(v)
            cells.append(f'<td style="{_shade(v, top, colour)}">{text}</td>')
        body.append(f"<tr><th>{escape(str(label))}</th>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table class="cm"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _curves(curves: list[dict[str, Any]]) -> str:
    titles = {"roc": "ROC (one-vs-rest)", "pr": "Precision-recall", "calibration": "Reliability",
              "risk_coverage": "Risk-coverage"}  # fmt: skip
    charts = []
    for kind, title in titles.items():
        series = [c for c in curves if c["kind"] == kind]
        if series and series[0].get("iou") is not None:  # detection: COCO's curve at one IoU
            title = f"{title} (COCO, IoU {series[0]['iou']:.2f})"
        if series:
            charts.append(line_chart(title, series, diagonal=kind in ("roc", "calibration")))
    return f'<div class="charts">{"".join(charts)}</div>'


def _samples(samples: list[dict[str, Any]]) -> str:
    figures = []
    for s in samples:
        img = (
            f'<img src="{s["uri"]}" alt="sample {escape(s["id"])}">'
            if s.get("uri")
            else "<div>(no image)</div>"
        )
        figures.append(
            f"<figure>{img}<figcaption>{escape(s['id'])}: {escape(s['caption'])}</figcaption></figure>"
        )
    return f'<div class="samples">{"".join(figures)}</div>'


def _evaluation_sections(data: dict[str, Any]) -> str:
    report = data["report"]
    summary = report["summary"]
    shown = data["confusion_shown"]
    noun = "images" if summary["task"] == "detection" else "samples"
    parts = [
        f'<p class="meta">{escape(summary["task"])} · {summary["n_samples"]} {noun} · '
        f"{summary['n_classes']} classes · at {escape(point_text(report))}</p>",
        "<h2>Headline</h2>",
        _cards(report),
    ]
    if not report.get("intervals"):
        parts.append('<p class="note">No intervals: made without bootstrap intervals.</p>')
    parts += ["<h2>Per class</h2>", _per_class(report), "<h2>Confusion matrix</h2>"]
    if shown.get("top"):
        parts.append(
            f'<p class="note">The {shown["top"]} most confused of {shown["n_classes"]} classes; '
            "the full matrix is in the data inside this file.</p>"
        )
    parts.append(_matrix(shown["rows"], shown["columns"], shown["counts"]))
    if data.get("error_types"):
        parts += ["<h2>Error types (TIDE)</h2>", error_types_html(data["error_types"])]
    if data.get("curves"):
        parts += ["<h2>Curves</h2>", _curves(data["curves"])]
    if data.get("samples"):
        parts += ["<h2>Worst samples</h2>", _samples(data["samples"])]
    return "".join(parts)


def _comparison_sections(comparison: dict[str, Any]) -> str:
    a, b = comparison.get("a") or {}, comparison.get("b") or {}
    parts = [
        f'<p class="meta">A (baseline): {escape(str(a.get("name", "A")))} · B (candidate): '
        f"{escape(str(b.get('name', 'B')))} · {escape(comparison['task'])} · "
        f"{comparison.get('n_samples')} {escape(str(comparison.get('resampled', 'samples')))}</p>",
        "<h2>Verdicts</h2>",
    ]
    verdicts = comparison.get("verdicts") or []
    items = (
        "".join(f"<li>{escape(v)}</li>" for v in verdicts) or "<li>No significant difference.</li>"
    )
    parts.append(f'<ul class="verdicts">{items}</ul>')
    rows = []
    for m in comparison["metrics"]:
        cls = (
            ""
            if not m.get("significant")
            else (
                "better"
                if (m["delta"] or 0) * (1 if m["higher_is_better"] else -1) > 0
                else "worse"
            )
        )
        rows.append([escape(m["label"]), _num(m.get("a")), _num(m.get("b")),
                     f'<span class="{cls}">{_num(m.get("delta"))}</span>',
                     f"[{_num(m.get('low'))}, {_num(m.get('high'))}]", _num(m.get("p_value"), 4),
                     _num(m.get("p_holm"), 4), "yes" if m.get("significant") else "no"])  # fmt: skip
    parts += ["<h2>Metrics (B − A)</h2>",
              _table(["metric", "A", "B", "B − A", "95% CI", "p", "p (Holm)", "significant"], rows)]  # fmt: skip
    per_class = comparison.get("per_class") or []
    if per_class:
        keys = [k for k in per_class[0] if k not in ("label", "significant")]
        rows = [[escape(str(r["label"]))] + [_num(r.get(k)) for k in keys]
                + ["yes" if r.get("significant") else "no"] for r in per_class]  # fmt: skip
        parts += ["<h2>Per class (B − A)</h2>", _table(["class", *keys, "significant"], rows)]
    confusion = comparison.get("confusion")
    if confusion and confusion.get("difference"):
        parts += ["<h2>Confusion difference (B − A)</h2>",
                  _matrix(confusion["rows"], confusion["columns"], confusion["difference"], diff=True)]  # fmt: skip
    return "".join(parts)


def render_html(data: dict[str, Any]) -> str:
    """The report of :func:`assay.reports.evaluation_data` or :func:`comparison_data` as one
    self-contained HTML document (the data itself inline as JSON, for machines)."""
    if data["kind"] == "comparison":
        body = _comparison_sections(data["comparison"])
        if data.get("baseline"):
            body += f"<h2>A: {escape(data['baseline']['name'])}</h2>" + _evaluation_sections(
                data["baseline"]
            )
    else:
        body = _evaluation_sections(data)
    conventions = "".join(f"<li>{escape(c)}</li>" for c in data["conventions"])
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    title = escape(f"Assay report · {data['name']}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(data['name'])}</h1>{body}"
        f'<h2>Conventions</h2><ul class="conventions">{conventions}</ul>'
        f'<p class="note">Made by Assay {escape(data["assay_version"])}.</p>'
        f'<script type="application/json" id="assay-data">{payload}</script>'
        f"<script>{_JS}</script></body></html>\n"
    )
