"""``python -m assay.demo``: build the demo workspace once, print a report, serve the UI.

Used by ``make demo``. The workspace defaults to ``.demo/workspace`` under the current folder; a
second run reuses the stored evaluations instead of adding them again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assay.demo", description=__doc__)
    parser.add_argument(
        "--home", type=Path, default=Path(".demo/workspace"), help="workspace folder"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-serve", action="store_true", help="print the report and stop")
    args = parser.parse_args(argv)

    home = args.home.resolve()
    os.environ["ASSAY_HOME"] = str(home)
    from assay.cli.report import make_console, print_report
    from assay.demo.seed import seed_workspace
    from assay.errors import AssayError
    from assay.store import Workspace

    console = make_console()

    marker = home / "demo-complete.json"  # written last: a half-built demo is built again
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
    else:
        start = time.perf_counter()
        console.print(f"Building the demo workspace at {home} (models are trained here, once)")
        ids = seed_workspace(home, log=lambda m: console.print(f"  · {m}"))
        marker.write_text(json.dumps(ids))
        console.print(f"Built in {time.perf_counter() - start:.0f} s")
    console.print()
    for key in ids:
        record = ws.get_evaluation(ids[key])
        headline = ws.load_results(record.id).headline()
        value = "—" if headline["value"] is None else f"{headline['value']:.3f}"
        console.print(
            f"  {record.id:>3}  {record.name:<52} {headline['label']:>8} [bold]{value}[/]"
        )
    print_report(ws.load_results(ids["image"]).report(), console=console)
    console.print(f"\nEvaluation {ids['image']}  (ASSAY_HOME={home} assay show {ids['image']})")
    if "image_int8" in ids:
        from assay.store.comparisons import compare_stored

        a, b = ids["image"], ids["image_int8"]
        pair = compare_stored(ws, a, b, n=500)
        console.print(f"\n[bold]INT8 against its FP32 parent[/] (assay compare {a} {b})")
        for line in pair["verdicts"]:
            console.print(f"  {line}")
        d = pair["disagreements"]
        console.print(
            f"  {d['fixed']} samples fixed, {d['broken']} broken, {d['prediction_changed']} with "
            "another prediction"
        )
    pages = {"compare": f"#/compare?a={ids.get('image')}&b={ids.get('image_int8')}",
             "data quality": f"#/evaluations/{ids.get('image')}/quality"}  # fmt: skip
    if args.no_serve:
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


if __name__ == "__main__":
    sys.exit(main())
