"""Fill a workspace with the three demo evaluations: image, text and detection.

Everything is made here from what the package ships (the TREC questions) or draws (shape images);
models are trained on the spot. The files go through the same readers and store a user's files do.

>>> ids = seed_workspace(Path("/tmp/ws"))          # doctest: +SKIP
>>> sorted(ids)                                     # doctest: +SKIP
['detection', 'image', 'text']
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from assay.evaluation.run import FileEvaluation, evaluate_files
from assay.store import Workspace


def _store(
    ws: Workspace,
    run: FileEvaluation,
    *,
    dataset: str,
    model: str,
    name: str,
    params: dict[str, Any],
) -> int:
    dv = ws.add_dataset_version(dataset, task=run.task, source=run.gt_source, samples=run.samples)
    mv = ws.add_model_version(model, path=run.pred_source)
    record = ws.save_evaluation(
        run.results,
        task=run.task,
        name=name,
        dataset_version_id=dv.id,
        model_version_id=mv.id,
        params={"gt": str(run.gt_source), "pred": str(run.pred_source), **params},
    )
    return record.id


def seed_workspace(
    home: Path, *, data_dir: Path | None = None, log: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Generate the demo data under ``data_dir`` (default ``home/demo-data``), evaluate and store.

    Returns the evaluation ids keyed "image", "text" and "detection".
    """
    from assay.demo.images import make_shape_images
    from assay.demo.shapes import make_shapes_dataset
    from assay.demo.text import make_trec_files

    say = log or (lambda _msg: None)
    data = (data_dir or home / "demo-data").resolve()
    ws = Workspace(home)
    ids: dict[str, int] = {}

    say("Training a TF-IDF + logistic regression model on TREC questions")
    gt, pred = make_trec_files(data / "trec")
    run = evaluate_files(gt, pred, threshold=0.5)
    ids["text"] = _store(
        ws,
        run,
        dataset="trec-questions",
        model="tfidf-logreg",
        name="TREC question type (TF-IDF + logistic regression)",
        params={"threshold": 0.5},
    )

    say("Drawing shape images and training an image classifier")
    root, pred = make_shape_images(data / "shapes-classification")
    run = evaluate_files(root, pred, threshold=0.5)
    ids["image"] = _store(
        ws,
        run,
        dataset="shapes",
        model="pixels-logreg",
        name="Shape images (pixel logistic regression)",
        params={"threshold": 0.5},
    )

    say("Drawing a detection set and a noisy detector's results")
    gt, pred = make_shapes_dataset(data / "shapes-detection")
    run = evaluate_files(gt, pred, task="detection")
    ids["detection"] = _store(
        ws,
        run,
        dataset="shapes-detection",
        model="noisy-detector",
        name="Shape detection (noisy detector)",
        params={"iou": 0.5, "score": 0.0},
    )
    return ids
