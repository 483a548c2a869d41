"""``python -m assay.demo``: build the demo workspace once, print a report, serve the UI.

Used by ``make demo``. The workspace defaults to ``.demo/workspace`` under the current folder; a
second run reuses the stored evaluations instead of adding them again (``--rebuild`` builds it
anew).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assay.store import Workspace

MARKER = "demo-complete.json"  # written last: a half-built demo is built again


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assay.demo", description=__doc__)
    parser.add_argument(
        "--home", type=Path, default=Path(".demo/workspace"), help="workspace folder"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
    parser.add_argument("--port", type=int, default=8000, help="port to serve on")
    parser.add_argument("--no-serve", action="store_true", help="print the report and stop")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help=f"delete the demo workspace (a folder holding {MARKER}) and build it again",
    )
    args = parser.parse_args(argv)

    home = args.home.resolve()
    os.environ["ASSAY_HOME"] = str(home)
    from assay.cli.report import make_console, print_report
    from assay.demo.seed import DEMO_KEYS, PREDICTION_KEYS, seed_workspace
    from assay.errors import AssayError
    from assay.store import Workspace

    console = make_console()

    marker = home / MARKER
    if args.rebuild and home.exists():
        if not marker.is_file():
            console.print(f"{home} holds no {MARKER}: not a demo workspace, left as it is")
            return 2
        shutil.rmtree(home)
    ws = Workspace(home)
    ids: dict[str, int] = {}
    if marker.is_file():
        try:
            ids = {str(k): int(v) for k, v in json.loads(marker.read_text()).items()}
            for evaluation_id in ids.values():
                ws.get_evaluation(evaluation_id)
        except (ValueError, TypeError, AttributeError, AssayError):
            ids = {}
    if ids:
        console.print(f"Reusing the demo workspace at {home}")
        missing = [key for key in DEMO_KEYS if key not in ids]
        if missing:
            console.print(
                f"  built by an older demo (without {', '.join(missing)}): "
                "python -m assay.demo --rebuild builds it again"
            )
    else:
        start = time.perf_counter()
        console.print(f"Building the demo workspace at {home} (models are trained here, once)")
        ids = seed_workspace(home, log=lambda m: console.print(f"  · {m}"))
        marker.write_text(json.dumps(ids))
        console.print(f"Built in {time.perf_counter() - start:.0f} s")
    console.print()
    for key in ids:
        record = ws.get_evaluation(ids[key])
        if key in PREDICTION_KEYS:  # no labels: no metric
            console.print(f"  {record.id:>3}  {record.name:<52} predictions only")
            continue
        headline = ws.load_results(record.id).headline()
        value = "—" if headline["value"] is None else f"{headline['value']:.3f}"
        console.print(
            f"  {record.id:>3}  {record.name:<52} {headline['label']:>8} [bold]{value}[/]"
        )
    print_report(ws.load_results(ids["image"]).report(), console=console)
    console.print(f"\nEvaluation {ids['image']}  (ASSAY_HOME={home} assay show {ids['image']})")
    from assay.service.comparisons import compare_stored

    pairs = (("INT8 against its FP32 parent", "image", "image_int8"),
             ("Pruned against its parent (TREC)", "text", "text_pruned"))  # fmt: skip
    for title, key_a, key_b in pairs:
        if key_a not in ids or key_b not in ids:
            continue
        a, b = ids[key_a], ids[key_b]
        pair = compare_stored(ws, a, b, n=500)
        console.print(f"\n[bold]{title}[/] (assay compare {a} {b})")
        for line in pair["verdicts"]:
            console.print(f"  {line}")
        d = pair["disagreements"]
        console.print(
            f"  {d['fixed']} samples fixed, {d['broken']} broken, {d['prediction_changed']} with "
            "another prediction"
        )
    if "image_unlabeled" in ids and "image_int8_unlabeled" in ids:
        from assay.service.agreement import agreement_stored

        a, b = ids["image_unlabeled"], ids["image_int8_unlabeled"]
        agree = agreement_stored(ws, a, b)
        console.print(
            f"\n[bold]INT8 against its FP32 parent without labels[/] (assay compare {a} {b} "
            f"--no-labels)\n  top-1 agreement {agree['agreement'] * 100:.1f}% "
            f"(95% CI {agree['low'] * 100:.1f}–{agree['high'] * 100:.1f}), Cohen's kappa "
            f"{agree['cohen_kappa']:.3f} on {agree['n_samples']} unlabeled digits"
        )
    if "detection_unlabeled" in ids and "detection_int8_unlabeled" in ids:
        from assay.service.agreement import agreement_stored

        a, b = ids["detection_unlabeled"], ids["detection_int8_unlabeled"]
        boxes = agreement_stored(ws, a, b, iou=0.5)
        console.print(
            f"\n[bold]Detector INT8 against its FP32 parent without labels[/] (assay compare "
            f"{a} {b} --no-labels)\n  box agreement {boxes['agreement'] * 100:.1f}% at IoU 0.5: "
            f"{boxes['agreed']} matched of one class, {boxes['class_flips']} class flips, "
            f"{boxes['only_a']} only FP32, {boxes['only_b']} only INT8 on "
            f"{boxes['n_images']} unlabeled scenes"
        )
    pages = demo_pages(ws, ids)
    if args.no_serve:
        ws.close()
        return 0
    import uvicorn

    from assay.server.app import create_app
    from assay.server.config import access_for

    plan = access_for(args.host, token=None, no_auth=False)  # a token beyond loopback
    app = create_app(home, host=args.host, token=plan.token, require_token=plan.require_token)
    url = f"http://{args.host}:{args.port}"
    console.print(f"\n[bold]Assay is serving the demo on {url}[/]  (Ctrl+C stops)")
    for name, path in pages.items():
        console.print(f"  {name}: {url}/{path}")
    banner = plan.banner(url)
    if banner:
        console.print(banner, markup=False)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def demo_pages(ws: Workspace, ids: dict[str, int]) -> dict[str, str]:
    """The UI pages that show each part of the demo: name -> URL fragment."""
    pages = {"evaluations": "#/", "models (Calculate: digits-shifted is not run yet)": "#/models"}
    if "text" in ids and "text_pruned" in ids:
        pages["compare (pruned vs parent)"] = f"#/compare?a={ids['text']}&b={ids['text_pruned']}"
    if "image" in ids and "image_int8" in ids:
        pages["compare (INT8 vs FP32)"] = f"#/compare?a={ids['image']}&b={ids['image_int8']}"
    if "image_unlabeled" in ids and "image_int8_unlabeled" in ids:
        a, b = ids["image_unlabeled"], ids["image_int8_unlabeled"]
        pages["agreement without labels (INT8 vs FP32)"] = f"#/agreement?a={a}&b={b}"
    if "detection_unlabeled" in ids and "detection_int8_unlabeled" in ids:
        a, b = ids["detection_unlabeled"], ids["detection_int8_unlabeled"]
        pages["box agreement without labels (detector INT8 vs FP32)"] = f"#/agreement?a={a}&b={b}"
    if "text" in ids:
        dv = ws.get_evaluation(ids["text"]).dataset_version.id
        pages["leaderboard (TREC)"] = f"#/leaderboard?dv={dv}"
        pages["data quality (pick trec-questions-train for leakage)"] = (
            f"#/evaluations/{ids['text']}/quality"
        )
    if "text_cv" in ids:
        pages["folds (5-fold CV)"] = f"#/evaluations/{ids['text_cv']}"
    if "tags" in ids:
        pages["multi-label"] = f"#/evaluations/{ids['tags']}"
    return pages


if __name__ == "__main__":
    sys.exit(main())
