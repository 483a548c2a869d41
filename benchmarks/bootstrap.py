"""Benchmark: bootstrap confidence intervals of the classification summary, all replicates at once.

Times ``ClassificationResults.intervals(n=200)`` (95 % intervals of every summary metric: accuracy,
macro / micro / weighted P / R / F1, ROC AUC and AP macro, log loss, Brier, ECE) on seeded float32
softmax scores, single-label and multi-label, after a warm-up that compiles the numba kernels. The
first call at a size is reported apart (it pays for fresh allocations); then the median wall and
CPU time (all threads) of ``--repeats`` calls, each with a new seed so no cached answer is reused. For comparison it also
times the one-replicate-at-a-time path of ``assay.metrics.stats.bootstrap_intervals`` with the
same statistic on the smallest case (``--no-loop`` skips it).

    .venv/bin/python benchmarks/bootstrap.py
    .venv/bin/python benchmarks/bootstrap.py --repeats 5 --no-loop
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from assay.evaluation.classification import ClassificationResults
from assay.metrics.bootstrap import classification_replicates
from assay.metrics.stats import bootstrap_intervals

CASES = (
    ("single-label", 719, 10),
    ("single-label", 100_000, 100),
    ("multi-label", 20_000, 50),
)


def make(kind: str, n: int, n_classes: int, seed: int = 0) -> ClassificationResults:
    rng = np.random.default_rng(seed)
    if kind == "multi-label":
        y = rng.random((n, n_classes)) < 0.1
        s = np.clip(rng.random((n, n_classes)) * 0.6 + 0.4 * y, 0, 1).astype(np.float32)
        return ClassificationResults(y, s, multilabel=True)
    y = rng.integers(0, n_classes, n)
    z = rng.standard_normal((n, n_classes), dtype=np.float32) * 1.5
    z[np.arange(n), y] += 3.0
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return ClassificationResults(y, z / z.sum(axis=1, keepdims=True))


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process: all its threads)."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-loop", action="store_true", help="skip the one-at-a-time comparison")
    args = ap.parse_args()
    B = args.replicates
    for kind in ("single-label", "multi-label"):  # compile the kernels outside the timings
        make(kind, 500, 5).intervals(n=5)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (others slow the wall)")
    head = (
        f"{'case':>14} {'N x C':>14} {'replicates':>10} {'first s':>8} {'median s':>9} {'CPU s':>6}"
    )
    print(head)
    print("-" * len(head))
    for kind, n, c in CASES:
        r = make(kind, n, c)
        first, _ = timed(lambda r=r: r.intervals(n=B, seed=1))
        rest = [timed(lambda r=r, k=k: r.intervals(n=B, seed=2 + k)) for k in range(args.repeats)]
        wall = statistics.median(w for w, _ in rest)
        cpu = statistics.median(c for _, c in rest)
        print(f"{kind:>14} {f'{n:,} x {c:,}':>14} {B:>10} {first:8.3f} {wall:9.3f} {cpu:6.3f}")
    if not args.no_loop:
        kind, n, c = CASES[0]
        r = make(kind, n, c)
        t = r.threshold
        summary = r.summary()

        def one(idx: np.ndarray) -> dict[str, float]:
            reps = classification_replicates(idx[None, :], r.y_true, r.y_score, t)
            return {k: float(v[0]) for k, v in reps.items()}

        keys = {k: summary[k] for k in one(np.arange(n))}
        loop, _ = timed(lambda: bootstrap_intervals(one, n, keys, n=B, seed=1))
        print(f"one replicate at a time, {kind} {n:,} x {c:,}: {loop:.3f} s")


if __name__ == "__main__":
    main()
