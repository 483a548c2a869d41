"""Comparing two classification evaluations: assay.evaluation.compare.compare_classification.

    .venv/bin/python benchmarks/compare.py                   # 1M x 100, 200 paired resamples
    .venv/bin/python benchmarks/compare.py --n 100000 --classes 10 --resamples 1000

Two models' scores for the same labeled samples (B a little better than A), each already an
evaluation (ClassificationResults, as the workspace loads them); times

- the first comparison (intervals and p-values included; the threshold-free AUC / AP replicates
  are then kept on the evaluations),
- a comparison at a new threshold, full (the bootstrap of the counts) and quick
  (``intervals=False``: what the compare page shows at once when a slider moves),

and prints them with the machine's load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from assay.evaluation.classification import ClassificationResults  # noqa: E402
from assay.evaluation.compare import compare_classification  # noqa: E402
from assay.evaluation.results import OperatingPoint  # noqa: E402


def scores(y: np.ndarray, n_classes: int, strength: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), n_classes)).astype(np.float32)
    logits[np.arange(len(y)), y] += strength
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--resamples", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    y = np.random.default_rng(0).integers(0, args.classes, args.n)
    names = [f"c{i}" for i in range(args.classes)]
    ids = np.array([f"s{i}" for i in range(args.n)])
    t0 = time.perf_counter()
    a = ClassificationResults(y, scores(y, args.classes, 2.0, 1), classes=names, sample_ids=ids)
    b = ClassificationResults(y, scores(y, args.classes, 2.1, 2), classes=names, sample_ids=ids)
    print(
        f"{args.n} x {args.classes}, {args.resamples} resamples; two evaluations built in "
        f"{time.perf_counter() - t0:.1f} s; load {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    times = []
    for _ in range(args.repeats):
        # fresh evaluations each time: nothing kept from an earlier comparison
        a = ClassificationResults(a.y_true, a.y_score, classes=names, sample_ids=ids)
        b = ClassificationResults(b.y_true, b.y_score, classes=names, sample_ids=ids)
        t0 = time.perf_counter()
        out = compare_classification(a, b, n=args.resamples)
        times.append(time.perf_counter() - t0)
    print(f"first compare: best {min(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s")
    print(out["verdicts"][0])
    for quick in (False, True):
        times = []
        for t in (0.3, 0.4, 0.6, 0.7, 0.8):
            at = OperatingPoint(threshold=t)
            t0 = time.perf_counter()
            compare_classification(a, b, at_a=at, at_b=at, n=args.resamples, intervals=not quick)
            times.append(time.perf_counter() - t0)
        what = "quick (no bootstrap)" if quick else "with intervals"
        print(
            f"at a new threshold, {what}: median {sorted(times)[2] * 1000:.0f} ms "
            f"(best {min(times) * 1000:.0f} ms) over 5 thresholds"
        )
    print(f"load now {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
