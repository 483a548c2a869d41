"""Fill a workspace with the demo: real models, trained here, registered and run by Assay.

Everything is made from what the package ships (the TREC questions) or what scikit-learn bundles
(the handwritten digits) or what is drawn here (shape scenes). Models are trained on the spot
(:mod:`assay.demo.models`), registered in the workspace with their preprocessing spec (optimised
children with their parent) and evaluated by running them over the held-out data through the same
runners, readers and store a user's models go through. Evaluations, by key:

- ``image``: handwritten digits, an MLP exported to ONNX; ``image_int8``: its INT8 child, made
  by ``assay models optimize --int8``'s code (static quantization calibrated on the training
  digits, registered as ``digits-train``); both profiled (``assay models profile``'s code);
- ``text``, ``text_nb``, ``text_char``: TREC question types, three models on one dataset version
  (a leaderboard): TF-IDF + logistic regression, word counts + naive Bayes, character n-grams +
  SGD; ``text_pruned``: the logistic regression pruned to a tenth of its weights (its child:
  compare shows the questions it fixed and broke);
- ``text_cv``: naive Bayes' 5-fold cross-validation on the TREC training split (a ``fold``
  column: the folds panel);
- ``detection``: shape scenes, a cell detector in ONNX that looks only at the pixels;
  ``detection_int8``: its INT8 child, made by ``assay models optimize --int8 --exclude-head``'s
  code (static quantization calibrated on the training scenes, ``shapes-train``, the output
  head kept in float);
- ``tags``: which shapes a scene holds (multi-label), a tagger on the detector's first layer;
- ``image_unlabeled``, ``image_int8_unlabeled``: the FP32 model and its INT8 child run on the
  held-out digits registered without their labels (``digits-unlabeled``): prediction runs, no
  metrics, compared with each other by agreement (:data:`PREDICTION_KEYS`);
- ``detection_unlabeled``, ``detection_int8_unlabeled``: the detector and its INT8 child run on
  the held-out scenes' images registered without their boxes (``shapes-unlabeled``): prediction
  runs, compared by box agreement.

Dataset versions registered without an evaluation by these models: the TREC training split
(``trec-questions-train``: its questions that also sit in the test split show as leakage on the
data-quality page), the tagger's training scenes (``shapes-tags-train``), the training digits
(``digits-train``: the INT8 child's calibration set) and the held-out digits moved by one pixel
(``digits-shifted``: not run yet, for the Models page's Calculate).

>>> ids = seed_workspace(Path("/tmp/ws"))          # doctest: +SKIP
>>> sorted(ids)                                     # doctest: +SKIP
['detection', 'detection_int8', 'image', 'image_int8', 'tags', 'text', 'text_char', 'text_cv', ...]
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from assay.evaluation.results import Results
from assay.store import Workspace
from assay.store.records import DatasetVersion, ModelVersion

# the evaluations the demo builds, by key (see the module docstring)
DEMO_KEYS = ("image", "image_int8", "text", "text_pruned", "text_nb", "text_char", "text_cv",
             "detection", "detection_int8", "tags", "image_unlabeled",
             "image_int8_unlabeled", "detection_unlabeled",
             "detection_int8_unlabeled")  # fmt: skip
# the prediction runs among them: no labels, no metrics (agreement only)
PREDICTION_KEYS = ("image_unlabeled", "image_int8_unlabeled", "detection_unlabeled",
                   "detection_int8_unlabeled")  # fmt: skip
SHAPE_CLASSES = ("circle", "square", "triangle")
SHAPES_SIZE = (120, 160)  # the scenes' (height, width)
TREC_DATASET = "trec-questions"
TREC_TRAIN_DATASET = "trec-questions-train"
SHIFTED_DIGITS_DATASET = "digits-shifted"
UNLABELED_DIGITS_DATASET = "digits-unlabeled"
UNLABELED_SHAPES_DATASET = "shapes-unlabeled"
DIGITS_TRAIN_DATASET = "digits-train"
TAGS_TRAIN_DATASET = "shapes-tags-train"
SHAPES_TRAIN_DATASET = "shapes-train"

Say = Callable[[str], None]


def seed_workspace(
    home: Path, *, data_dir: Path | None = None, log: Say | None = None
) -> dict[str, int]:
    """Train the demo models, write the demo data under ``data_dir`` (default
    ``home/demo-data``), register the models and datasets, run the models, evaluate and store.

    Returns the evaluation ids by key (see the module docstring).
    """
    from threadpoolctl import threadpool_limits

    say = log or (lambda _msg: None)
    data = (data_dir or home / "demo-data").resolve()
    ws = Workspace(home)
    ids: dict[str, int] = {}
    quiet()
    # small models on a small, often busy machine: one BLAS thread each is the fastest
    with threadpool_limits(limits=1):
        try:
            _digits(ws, data, ids, say)
            _trec(ws, data, ids, say)
            _shapes(ws, data, ids, say)
        finally:
            ws.close()
    return ids


def _digits(ws: Workspace, data: Path, ids: dict[str, int], say: Say) -> None:
    from assay.demo.models import make_digits
    from assay.service.optimize import optimize_int8
    from assay.service.profile import profile_model

    start = time.perf_counter()
    digits = make_digits(data / "digits")
    say(f"Trained a digits MLP and exported it to ONNX ({time.perf_counter() - start:.1f} s)")
    fp32 = ws.add_model(digits.fp32, name="digits-mlp", version="fp32")
    start = time.perf_counter()
    train = register_dataset(ws, DIGITS_TRAIN_DATASET, digits.train_folder)
    int8 = optimize_int8(ws, fp32.id, calibration=train.id, samples=300, version="int8")
    say(f"Quantized it to INT8 as assay models optimize does, calibrated on 300 training digits "
        f"({DIGITS_TRAIN_DATASET} {train.version}) ({time.perf_counter() - start:.1f} s)")  # fmt: skip
    start = time.perf_counter()
    for version in (fp32, int8):
        profile_model(ws, version.id, batches=(1, 8, 32), runs=30)
    say(f"Profiled both on the CPU ({time.perf_counter() - start:.1f} s)")
    for key, version, label in (("image", fp32, "FP32"), ("image_int8", int8, "INT8")):
        ids[key] = _run(ws, version.id, digits.test_folder,
                        dataset="digits", name=f"Handwritten digits (MLP, {label})",
                        say=say)  # fmt: skip
    from assay.service.unlabeled import register_unlabeled, run_predictions

    bare, _ = register_unlabeled(ws, digits.test_folder, name=UNLABELED_DIGITS_DATASET)
    for key, version in (("image_unlabeled", fp32), ("image_int8_unlabeled", int8)):
        label = version.version.upper()
        ids[key] = run_predictions(
            ws, version.id, bare.id, name=f"Handwritten digits without labels (MLP, {label})"
        ).id
    say(f"Ran both on the held-out digits without their labels ({UNLABELED_DIGITS_DATASET} "
        f"{bare.version}: prediction runs, compared by agreement)")  # fmt: skip
    shifted = register_dataset(ws, SHIFTED_DIGITS_DATASET, digits.shifted_folder)
    say(f"Registered the held-out digits moved by one pixel ({SHIFTED_DIGITS_DATASET} "
        f"{shifted.version}, not run yet)")  # fmt: skip


def _trec(ws: Workspace, data: Path, ids: dict[str, int], say: Say) -> None:
    from assay.demo.models import make_trec
    from assay.evaluation.run import evaluate_files
    from assay.service.runs import save_run

    start = time.perf_counter()
    trec = make_trec(data / "trec")
    say(f"Trained three text models on TREC questions and pruned one "
        f"({time.perf_counter() - start:.1f} s)")  # fmt: skip
    logreg = ws.add_model(trec.models["logreg"], name="trec-tfidf-logreg")
    pruned = ws.add_model(trec.models["pruned"], name="trec-tfidf-logreg", version="pruned",
                          parent_version_id=logreg.id)  # fmt: skip
    nb = ws.add_model(trec.models["naive-bayes"], name="trec-naive-bayes")
    char = ws.add_model(trec.models["char-sgd"], name="trec-char-sgd")
    runs = (
        ("text", logreg.id, "TF-IDF + logistic regression"),
        ("text_pruned", pruned.id, "logistic regression, pruned"),
        ("text_nb", nb.id, "naive Bayes"),
        ("text_char", char.id, "character n-grams + SGD"),
    )
    for key, version_id, label in runs:
        ids[key] = _run(ws, version_id, trec.test, dataset=TREC_DATASET,
                        name=f"TREC question type ({label})", say=say)  # fmt: skip

    start = time.perf_counter()
    train = register_dataset(ws, TREC_TRAIN_DATASET, trec.train)
    run = evaluate_files(trec.train, trec.cv_predictions)
    ids["text_cv"] = save_run(
        ws, run, dataset=TREC_TRAIN_DATASET, model="trec-naive-bayes-cv",
        name="TREC training split (naive Bayes, 5-fold CV)",
        params=_point(run.results),
    ).id  # fmt: skip
    say(f"Registered the TREC training split ({TREC_TRAIN_DATASET} {train.version}) and "
        f"evaluated naive Bayes' 5-fold cross-validation on it "
        f"({time.perf_counter() - start:.1f} s)")  # fmt: skip


def _shapes(ws: Workspace, data: Path, ids: dict[str, int], say: Say) -> None:
    from assay.demo.models import make_shape_detector, make_shape_tagger, scene_tags
    from assay.demo.shapes import make_shapes_dataset

    start = time.perf_counter()
    train_gt, _ = make_shapes_dataset(data / "shapes-train", n_images=300, seed=1)
    test_gt, _ = make_shapes_dataset(data / "shapes-detection", n_images=60, seed=0)
    detector = make_shape_detector(
        train_gt, data / "models" / "shape-cell-detector.onnx", SHAPE_CLASSES, size=SHAPES_SIZE,
    )  # fmt: skip
    say(f"Drew shape scenes and trained a cell detector on 300 of them "
        f"({time.perf_counter() - start:.1f} s)")  # fmt: skip
    det = ws.add_model(detector, name="shape-cell-detector", version="fp32")
    det_int8 = _detector_int8(ws, det.id, train_gt, say)
    for key, version, label in (("detection", det, ""), ("detection_int8", det_int8, ", INT8")):
        ids[key] = _run(ws, version.id, test_gt,
                        dataset="shapes-detection",
                        name=f"Shape detection (cell detector{label})", say=say)  # fmt: skip
    from assay.service.unlabeled import register_unlabeled, run_predictions

    start = time.perf_counter()
    bare, _ = register_unlabeled(ws, test_gt.parent / "images", name=UNLABELED_SHAPES_DATASET)
    for key, version in (("detection_unlabeled", det), ("detection_int8_unlabeled", det_int8)):
        label = version.version.upper()
        ids[key] = run_predictions(
            ws, version.id, bare.id, batch=64,
            name=f"Shape scenes without labels (cell detector, {label})",
        ).id  # fmt: skip
    say(f"Ran both detectors on the held-out scenes without their boxes "
        f"({UNLABELED_SHAPES_DATASET} {bare.version}: prediction runs, compared by box "
        f"agreement) ({time.perf_counter() - start:.1f} s)")  # fmt: skip

    start = time.perf_counter()
    train_tags = scene_tags(train_gt, train_gt.with_name("tags.csv"))
    tags_gt, _ = make_shapes_dataset(data / "shapes-tags", n_images=200, seed=2)
    test_tags = scene_tags(tags_gt, tags_gt.with_name("tags.csv"))
    tagger = make_shape_tagger(detector, train_tags, data / "models" / "shape-tagger.onnx",
                               SHAPE_CLASSES, size=SHAPES_SIZE)  # fmt: skip
    tags_train = register_dataset(ws, TAGS_TRAIN_DATASET, train_tags)
    say(f"Trained a multi-label shape tagger on the training scenes' tags ({TAGS_TRAIN_DATASET} "
        f"{tags_train.version}) ({time.perf_counter() - start:.1f} s)")  # fmt: skip
    version = ws.add_model(tagger, name="shape-tagger")
    ids["tags"] = _run(ws, version.id, test_tags, dataset="shapes-tags",
                       name="Shape tags (multi-label tagger)", say=say)  # fmt: skip


def _detector_int8(ws: Workspace, parent_id: int, train_gt: Path, say: Say) -> ModelVersion:
    """The detector's INT8 child as ``assay models optimize --int8 --exclude-head`` makes it:
    calibrated on 300 training scenes (registered as ``shapes-train``), its output head (the
    Softmax, the box arithmetic and the Concat joining boxes in pixels with probabilities) kept
    in float. The whole graph quantized drops AP50 from 0.744 to 0.424; without its head, 0.740."""
    from assay.service.optimize import optimize_int8
    from assay.store.datasets import register_dataset as register_source

    start = time.perf_counter()
    train, _, _ = register_source(ws, train_gt, name=SHAPES_TRAIN_DATASET, task="detection")
    child = optimize_int8(ws, parent_id, calibration=train.id, samples=300, version="int8",
                          exclude_head=True)  # fmt: skip
    say(f"Quantized it to INT8 as assay models optimize --exclude-head does, calibrated on 300 "
        f"training scenes ({SHAPES_TRAIN_DATASET} {train.version}) "
        f"({time.perf_counter() - start:.1f} s)")  # fmt: skip
    return child


def register_dataset(ws: Workspace, name: str, gt: Path) -> DatasetVersion:
    """Register a ground truth (a table or an ImageFolder) as a dataset version on purpose, with its
    samples (texts, media paths, metadata), as a run over it would record them."""
    from assay.formats.tables import read_ground_truth

    table = read_ground_truth(gt)
    return ws.add_dataset_version(
        name,
        task="multilabel" if table.multilabel else "classification",
        source=gt,
        samples=table.samples_table(),
        media_root=table.media_root if table.paths is not None else None,
    )


def _point(results: Results) -> dict[str, object]:
    """The operating point an evaluation is shown at, as stored params (its defaults)."""
    point = asdict(results.point())
    return {key: value for key, value in point.items() if value is not None}


def _run(
    ws: Workspace,
    version_id: int,
    gt: Path,
    *,
    dataset: str,
    name: str,
    say: Say,
) -> int:
    """Run a registered model over ``gt``, evaluate and store; the evaluation's id."""
    from assay.service.runs import run_model, store_model_run

    start = time.perf_counter()
    run = run_model(ws, version_id, gt, batch=64)
    record = store_model_run(ws, run, version_id, batch=64, dataset=dataset, name=name,
                             params=_point(run.results))  # fmt: skip
    headline = run.results.headline()
    say(f"Ran it over {len(run.samples)} held-out samples: {headline['label']} "
        f"{headline['value']:.3f} ({time.perf_counter() - start:.1f} s)")  # fmt: skip
    return record.id


def quiet() -> None:
    """Training and quantization chatter is not for the demo's user."""
    warnings.filterwarnings("ignore", module="sklearn")
    logging.getLogger().setLevel(logging.ERROR)
