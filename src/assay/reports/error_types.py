"""The detection error types (TIDE) as report tables: HTML and Markdown.

``answer`` is :meth:`assay.evaluation.detection.DetectionResults.error_types` (with
``per_class=True`` for the per-class table). The numbers follow TIDE's definitions (Bolya et al.,
ECCV 2020); dAP is the AP at the foreground IoU gained by fixing every error of a type, on
Assay's 0-1 AP scale (TIDE prints it x100).
"""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["error_types_html", "error_types_markdown"]


def _num(value: Any, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _note(answer: dict[str, Any]) -> str:
    return (
        f"TIDE's definitions (Bolya et al., ECCV 2020) at foreground IoU {answer['iou']:g} and "
        f"background IoU {answer['background_iou']:g}, up to {answer['max_dets']} detections per "
        f"image, every confidence; AP {_num(answer['ap'])} by TIDE's definition. dAP: the AP "
        "gained by fixing every error of the type (TIDE prints it x100)."
    )


def error_types_html(answer: dict[str, Any]) -> str:
    """The types (count, dAP, meaning), the FP / FN oracles and, when present, each class."""
    rows = [
        f"<tr><td>{escape(r['name'])}</td><td>{r['count']}</td><td>{_num(r['dap'])}</td>"
        f"<td>{escape(r['description'])}</td></tr>"
        for r in answer["types"]
    ] + [
        f"<tr><td>{escape(r['name'])} (oracle)</td><td>—</td><td>{_num(r['dap'])}</td>"
        f"<td>{escape(r['description'])}</td></tr>"
        for r in answer["special"]
    ]
    parts = [
        f'<p class="note">{escape(_note(answer))}</p>',
        '<div class="scroll"><table class="sortable" data-table="error-types"><thead><tr>'
        "<th>type</th><th>count</th><th>dAP</th><th>meaning</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>",
    ]
    classes = answer.get("classes")
    if classes:
        names = [(r["type"], r["name"]) for r in answer["types"]]
        head = "".join(f"<th>{escape(n)}</th>" for _, n in names)
        body = "".join(
            f"<tr><td>{escape(c['label'])}</td><td>{_num(c['ap'])}</td>"
            + "".join(f"<td>{c['counts'][t]} · {_num(c['dap'][t], 3)}</td>" for t, _ in names)
            + "</tr>"
            for c in classes
        )
        parts.append(
            '<p class="note">Per class: count · the class\'s own AP gained by the fix.</p>'
            '<div class="scroll"><table class="sortable" data-table="error-types-per-class">'
            f"<thead><tr><th>class</th><th>AP</th>{head}</tr></thead><tbody>{body}"
            "</tbody></table></div>"
        )
    return "".join(parts)


def error_types_markdown(answer: dict[str, Any]) -> list[str]:
    """The types as a Markdown table (count, dAP), the oracles after them, and the note."""
    lines = [_note(answer), "", "| Type | Count | dAP |", "| --- | ---: | ---: |"]
    lines += [f"| {r['name']} | {r['count']} | {_num(r['dap'])} |" for r in answer["types"]]
    lines += [f"| {r['name']} (oracle) | — | {_num(r['dap'])} |" for r in answer["special"]]
    return lines
