"""``assay evaluate --gt GT --pred SHARDS``: predictions given as Parquet shards (a folder of
``*.parquet`` or a glob such as ``'preds/*.parquet'``) take the sharded path of
:mod:`assay.evaluation.sharded`: streamed batch by batch, merged exactly, printed (and written with
``--json``), but not stored: a sharded evaluation keeps no per-sample scores, so it has no sample
feed, curves or intervals to show later. A single predictions file, whatever its size, takes the
in-memory path as before. With a detection ground truth (COCO, YOLO, VOC) the shards hold
detections (``image_id``, ``category_id``, ``score``, ``bbox`` or ``x, y, w, h``), each image's in
one shard, and the report has COCO's numbers (:func:`assay.evaluation.sharded.
evaluate_detection_shards`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

NOT_STORED = (
    "Not stored: a sharded evaluation keeps no per-sample scores (no sample feed, curves or "
    "intervals); its report is above"
)


def names_shards(pred: Path | str) -> bool:
    """Whether ``--pred`` names Parquet shards (a folder holding ``*.parquet``, or a glob)."""
    from assay.evaluation.sharded import is_sharded

    return is_sharded(pred)


def evaluate_shards(
    gt: Path,
    pred: Path | str,
    *,
    task: str | None,
    threshold: float | None,
    ks: tuple[int, ...] | None,
    json_out: Path | None,
    given: dict[str, bool],
) -> None:
    """Evaluate ``gt`` against the shards of ``pred``, print the report (or write it with
    ``--json``). ``given``: the options of ``assay evaluate`` that a sharded evaluation cannot
    honour (flag: whether it was given); any given one is a usage error (exit 2)."""
    from rich.text import Text

    from assay.cli.report import make_console, print_report, progress
    from assay.cli.shared import to_stdout, write_json
    from assay.evaluation.run import infer_task
    from assay.evaluation.sharded import evaluate_detection_shards, evaluate_sharded

    detection = task == "detection" or (task is None and infer_task(gt) == "detection")
    if detection:
        given = {**given, "--threshold": threshold is not None, "--top-k": ks is not None}
    for flag, on in given.items():
        if on:
            raise typer.BadParameter(
                "does not apply to sharded predictions (streamed and merged, not stored)",
                param_hint=flag,
            )
    with progress() as step:
        step("Streaming the shards and merging")
        notes: list[str] = []
        results: Any
        if detection:
            results, shards = evaluate_detection_shards(gt, pred)
        else:
            run = evaluate_sharded(gt, pred, task=task, threshold=threshold, top_k=ks)
            results, shards, notes = run.results, run.shards, run.notes
        report: dict[str, Any] = results.report()
    warn = make_console(stderr=True)
    for note in notes:
        warn.print(Text(note), soft_wrap=True)
    try:
        if json_out is not None:
            write_json({"id": None, "shards": [str(s) for s in shards], **report}, json_out)
    finally:
        results.close()
    if not to_stdout(json_out):
        out = make_console()
        print_report(report, console=out)
        if detection:
            out.print("COCO numbers only: P / R / F1 at a confidence need the whole matching")
        out.print(f"\n{len(shards)} shards. {NOT_STORED}")
