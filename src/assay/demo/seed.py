"""Fill a workspace with the demo: real models, trained here, registered and run by Assay.

Everything is made from what the package ships (the TREC questions) or what scikit-learn bundles
(the handwritten digits) or what is drawn here (shape scenes). Models are trained on the spot
(:mod:`assay.demo.models`), registered in the workspace with their preprocessing spec (the INT8
digits model with its FP32 parent) and evaluated by running them over the held-out data through the
same runners, readers and store a user's models go through:

- ``image``: handwritten digits, an MLP exported to ONNX; ``image_int8``: its INT8 child;
- ``text``: TREC question types, TF-IDF + logistic regression saved with skops;
- ``detection``: shape scenes, a cell detector in ONNX that looks only at the pixels;
  ``detection_int8``: its INT8 child (dynamic quantization of the convolutions).

>>> ids = seed_workspace(Path("/tmp/ws"))          # doctest: +SKIP
>>> sorted(ids)                                     # doctest: +SKIP
['detection', 'detection_int8', 'image', 'image_int8', 'text']
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from assay.store import Workspace

SHAPE_CLASSES = ("circle", "square", "triangle")
SHAPES_SIZE = (120, 160)  # the scenes' (height, width)


def seed_workspace(
    home: Path, *, data_dir: Path | None = None, log: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Train the demo models, write the demo data under ``data_dir`` (default
    ``home/demo-data``), register the models, run them, evaluate and store.

    Returns the evaluation ids keyed "image", "image_int8", "text", "detection" and
    "detection_int8".
    """
    from assay.demo.models import make_digits, make_shape_detector, make_trec
    from assay.demo.shapes import make_shapes_dataset

    say = log or (lambda _msg: None)
    data = (data_dir or home / "demo-data").resolve()
    ws = Workspace(home)
    ids: dict[str, int] = {}
    quiet()
    try:
        start = time.perf_counter()
        digits = make_digits(data / "digits")
        say(f"Trained a digits MLP, exported it to ONNX and quantized it to INT8 "
            f"({time.perf_counter() - start:.1f} s)")  # fmt: skip
        fp32 = ws.add_model(digits.fp32, name="digits-mlp", version="fp32")
        int8 = ws.add_model(
            digits.int8, name="digits-mlp", version="int8", parent_version_id=fp32.id
        )
        for key, version, label in (("image", fp32, "FP32"), ("image_int8", int8, "INT8")):
            ids[key] = _run(ws, version.id, digits.test_folder, data / "work" / key,
                            dataset="digits", name=f"Handwritten digits (MLP, {label})",
                            say=say)  # fmt: skip

        start = time.perf_counter()
        trec_gt, trec_model = make_trec(data / "trec")
        say(f"Trained TF-IDF + logistic regression on TREC questions "
            f"({time.perf_counter() - start:.1f} s)")  # fmt: skip
        text = ws.add_model(trec_model, name="trec-tfidf-logreg")
        ids["text"] = _run(ws, text.id, trec_gt, data / "work" / "text",
                           dataset="trec-questions",
                           name="TREC question type (TF-IDF + logistic regression)",
                           say=say)  # fmt: skip

        start = time.perf_counter()
        train_gt, _ = make_shapes_dataset(data / "shapes-train", n_images=300, seed=1)
        test_gt, _ = make_shapes_dataset(data / "shapes-detection", n_images=60, seed=0)
        detector = make_shape_detector(
            train_gt, data / "models" / "shape-cell-detector.onnx", SHAPE_CLASSES,
            size=SHAPES_SIZE,
        )  # fmt: skip
        say(f"Drew shape scenes and trained a cell detector on 300 of them "
            f"({time.perf_counter() - start:.1f} s)")  # fmt: skip
        det = ws.add_model(detector, name="shape-cell-detector", version="fp32")
        det_int8 = ws.add_model(
            quantized(detector), name="shape-cell-detector", version="int8",
            parent_version_id=det.id,
        )  # fmt: skip
        for key, version, label in (("detection", det, ""), ("detection_int8", det_int8, ", INT8")):
            ids[key] = _run(ws, version.id, test_gt, data / "work" / key,
                            dataset="shapes-detection",
                            name=f"Shape detection (cell detector{label})", say=say)  # fmt: skip
    finally:
        ws.close()
    return ids


def _run(
    ws: Workspace,
    version_id: int,
    gt: Path,
    work: Path,
    *,
    dataset: str,
    name: str,
    say: Callable[[str], None],
) -> int:
    """Run a registered model over ``gt``, evaluate and store; the evaluation's id."""
    import shutil

    from assay.evaluation.model_run import evaluate_model
    from assay.store.runs import save_run

    start = time.perf_counter()
    run = evaluate_model(gt, ws.load_model_runner(version_id), batch_size=64, work_dir=work)
    point = asdict(run.results.point())  # the operating point the evaluation is shown at
    params = {key: value for key, value in point.items() if value is not None}
    record = save_run(
        ws,
        run,
        dataset=dataset,
        name=name,
        params=params,
        model_version_id=version_id,
        predictions_file=run.pred_source,
    )
    shutil.rmtree(work, ignore_errors=True)
    headline = run.results.headline()
    say(f"Ran it over {len(run.samples)} held-out samples: {headline['label']} "
        f"{headline['value']:.3f} ({time.perf_counter() - start:.1f} s)")  # fmt: skip
    return record.id


def quantized(model: Path) -> Path:
    """The INT8 child of an ONNX model (onnxruntime's dynamic quantization), with a copy of its
    preprocessing spec, next to it."""
    import shutil

    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = model.with_name(f"{model.stem}-int8.onnx")
    quantize_dynamic(str(model), str(out), weight_type=QuantType.QInt8)
    spec = model.with_name(f"{model.stem}.preprocess.json")
    if spec.is_file():
        shutil.copy(spec, out.with_name(f"{out.stem}.preprocess.json"))
    return out


def quiet() -> None:
    """Training and quantization chatter is not for the demo's user."""
    warnings.filterwarnings("ignore", module="sklearn")
    logging.getLogger().setLevel(logging.ERROR)
