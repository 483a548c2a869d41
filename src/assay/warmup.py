"""Compile Assay's numba kernels ahead of the first evaluation: ``python -m assay.warmup``.

numba compiles a kernel the first time it is called with new argument types and caches the
machine code next to the source (``cache=True``; where the package folder is read-only, numba's
user-wide cache folder, or ``NUMBA_CACHE_DIR``). A small first evaluation needs none of it (the
kernels on its path answer small inputs in Python until compiled, see ``assay.metrics.jit``),
but a large one would spend that time (tens of seconds on two cores) inside a user's first
``assay evaluate``; ``make setup`` runs this once instead, on tiny synthetic inputs of every task,
with the score types real inputs have (float64 from tables, float32 from model runners), through
the same paths: summary, per-class table, confusion, optimal point, curves, intervals, folds and
a comparison of two evaluations.
"""

from __future__ import annotations

import sys
import time

import numpy as np

__all__ = ["warm_up"]


def _classification(rng: np.random.Generator, dtype: type, multilabel: bool) -> None:
    from assay.evaluation.classification import ClassificationResults
    from assay.evaluation.compare import compare
    from assay.evaluation.results import OperatingPoint

    n, c = 60, 4
    if multilabel:
        y: np.ndarray = rng.random((n, c)) < 0.4
        scores: list[np.ndarray] = [rng.random((n, c)).astype(dtype) for _ in range(2)]
    else:
        y = rng.integers(0, c, n)
        scores = [rng.dirichlet(np.ones(c), n).astype(dtype) for _ in range(2)]
    a, b = (
        ClassificationResults(y, s, multilabel=multilabel, folds=np.arange(n) % 3) for s in scores
    )
    for t in (None, 0.3):
        at = OperatingPoint(threshold=t)
        a.summary(at), a.per_class(at), a.confusion(at, normalize="probability"), a.samples(at)
    a.optimal("f1"), a.intervals(n=20), a.folds(), a.report()
    for kind in ("roc", "pr", "threshold", "calibration", "density"):
        a.curve(kind, None if kind == "calibration" else a.classes[0])
    if not multilabel:
        a.curve("risk_coverage")
    compare(a, b, n=50), compare(a, b, intervals=False)


def _detection(rng: np.random.Generator) -> None:
    from assay.evaluation.compare import compare
    from assay.evaluation.detection import evaluate_detections
    from assay.evaluation.results import OperatingPoint

    images = [{"id": i + 1, "file_name": f"{i}.png", "width": 64, "height": 64} for i in range(8)]
    categories = [{"id": k + 1, "name": f"c{k}"} for k in range(2)]
    annotations: list[dict[str, object]] = []
    found: list[dict[str, object]] = []
    for i in range(8):
        for _j in range(3):
            x, y = (float(v) for v in rng.uniform(0, 40, 2))
            box = [x, y, 12.0, 12.0]
            k = int(rng.integers(1, 3))
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1,
                                "category_id": k, "bbox": box, "area": 144.0, "iscrowd": 0})  # fmt: skip
            found.append({"image_id": i + 1, "category_id": k, "score": float(rng.random()),
                          "bbox": [x + 1, y, 12.0, 12.0]})  # fmt: skip
    gt = {"images": images, "categories": categories, "annotations": annotations}
    a = evaluate_detections(gt, found)
    b = evaluate_detections(gt, found[::2])
    at = OperatingPoint(iou=0.5, score=0.3)
    a.summary(), a.per_class(at), a.confusion(at), a.samples(at), a.sample(0, at)
    a.curve("pr", "c0"), a.intervals(n=20), a.report()
    compare(a, b, n=20), compare(a, b, intervals=False)


def warm_up() -> float:
    """Run every task's queries once on tiny inputs, compiled (kernels that answer small inputs in
    Python are compiled here all the same); the seconds it took."""
    from assay.metrics import jit

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    jit.compile_always()
    try:
        for dtype in (np.float64, np.float32):
            _classification(rng, dtype, multilabel=False)
        _classification(rng, np.float64, multilabel=True)
        _detection(rng)
    finally:
        jit.compile_always(False)
    return time.perf_counter() - start


def main() -> int:
    seconds = warm_up()
    print(f"assay: kernels compiled and cached in {seconds:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
