"""Fill a workspace with the three demo evaluations: image, text and detection.

Everything is made here from what the package ships (the TREC questions) or draws (shape images);
models are trained on the spot. The files go through the same readers and store a user's files do.

>>> ids = seed_workspace(Path("/tmp/ws"))          # doctest: +SKIP
>>> sorted(ids)                                     # doctest: +SKIP
['detection', 'image', 'text']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assay.evaluation.run import evaluate_files
from assay.store import Workspace
from assay.store.runs import save_run


def _demos() -> list[tuple[str, str, Callable[[Path], tuple[Path, Path]], dict[str, Any]]]:
    """(key, what is being made, a maker writing (ground truth, predictions) into a folder, how to
    evaluate and store them)."""
    from assay.demo.images import make_shape_images
    from assay.demo.shapes import make_shapes_dataset
    from assay.demo.text import make_trec_files

    return [
        ("text", "Training a TF-IDF + logistic regression model on TREC questions",
         lambda d: make_trec_files(d / "trec"),
         {"threshold": 0.5, "dataset": "trec-questions", "model": "tfidf-logreg",
          "name": "TREC question type (TF-IDF + logistic regression)"}),
        ("image", "Drawing shape images and training an image classifier",
         lambda d: make_shape_images(d / "shapes-classification"),
         {"threshold": 0.5, "dataset": "shapes", "model": "pixels-logreg",
          "name": "Shape images (pixel logistic regression)"}),
        ("detection", "Drawing a detection set and a noisy detector's results",
         lambda d: make_shapes_dataset(d / "shapes-detection"),
         {"task": "detection", "dataset": "shapes-detection", "model": "noisy-detector",
          "name": "Shape detection (noisy detector)"}),
    ]  # fmt: skip


def seed_workspace(
    home: Path, *, data_dir: Path | None = None, log: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Generate the demo data under ``data_dir`` (default ``home/demo-data``), evaluate and store.

    Returns the evaluation ids keyed "image", "text" and "detection".
    """
    say = log or (lambda _msg: None)
    data = (data_dir or home / "demo-data").resolve()
    ws = Workspace(home)
    ids: dict[str, int] = {}
    for key, message, make, how in _demos():
        say(message)
        gt, pred = make(data)
        run = evaluate_files(gt, pred, task=how.get("task"), threshold=how.get("threshold", 0.5))
        point = asdict(run.results.point())  # the operating point the evaluation is shown at
        params = {key: value for key, value in point.items() if value is not None}
        record = save_run(
            ws, run, dataset=how["dataset"], model=how["model"], name=how["name"], params=params
        )
        ids[key] = record.id
    return ids
