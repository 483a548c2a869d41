"""Benchmark: Assay's classification evaluation against scikit-learn's set of metrics.

Builds seeded float32 softmax scores, then times

- Assay: ``ClassificationResults`` (summary, per-class table, confusion matrix, calibration, top-k,
  log loss, ROC AUC / AP per class and macro: everything but the bootstrap),
- scikit-learn: ``roc_auc_score`` (ovr, macro), ``average_precision_score`` (macro, one-hot),
  ``classification_report``, ``confusion_matrix``, ``top_k_accuracy_score`` (k=5), ``log_loss``,
- a threshold query (per_class + confusion_matrix + summary at a new threshold, median of 20),

and the peak extra resident memory of each (sampled RSS above the level before the step).

    .venv/bin/python benchmarks/classification.py            # 1M x 100 and 100k x 1000
    .venv/bin/python benchmarks/classification.py --quick --skip-sklearn
"""

from __future__ import annotations

import argparse
import gc
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from assay.evaluation.classification import ClassificationResults
from assay.evaluation.results import OperatingPoint


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


class PeakMemory:
    """Peak RSS above the starting level while the block runs (sampled every 2 ms)."""

    def __enter__(self) -> PeakMemory:
        gc.collect()
        self.base = _rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(0.002)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def extra(self) -> int:
        return self.peak - self.base


def make_scores(n: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded labels and float32 softmax scores, about 70 % top-1 accurate."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    s = np.empty((n, n_classes), dtype=np.float32)
    step = max(1, 10_000_000 // n_classes)
    for a in range(0, n, step):
        b = min(n, a + step)
        z = rng.standard_normal((b - a, n_classes), dtype=np.float32) * 1.5
        z[np.arange(b - a), y[a:b]] += 3.0
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        s[a:b] = z
    return y, s


def assay_build(y: np.ndarray, s: np.ndarray) -> ClassificationResults:
    r = ClassificationResults(y, s, threshold=0.5)
    r.summary()
    r.per_class()
    r.confusion()
    r.curve("calibration")
    return r


def sklearn_set(y: np.ndarray, s: np.ndarray) -> dict[str, float]:
    from sklearn import metrics as skm

    times: dict[str, float] = {}
    labels = np.arange(s.shape[1])

    def timed(name: str, fn: Callable[[], Any]) -> None:
        t0 = time.perf_counter()
        fn()
        times[name] = time.perf_counter() - t0

    pred = s.argmax(axis=1)
    timed("roc_auc_ovr", lambda: skm.roc_auc_score(y, s, multi_class="ovr", labels=labels))

    def ap() -> float:
        onehot = np.zeros(s.shape, dtype=np.int8)
        onehot[np.arange(len(y)), y] = 1
        return skm.average_precision_score(onehot, s, average="macro")

    timed("average_precision", ap)
    timed("report", lambda: skm.classification_report(y, pred, zero_division=0))
    timed("confusion", lambda: skm.confusion_matrix(y, pred, labels=labels))
    timed("top5", lambda: skm.top_k_accuracy_score(y, s, k=5, labels=labels))
    timed("log_loss", lambda: skm.log_loss(y, s, labels=labels))
    return times


def query_ms(r: ClassificationResults, repeats: int = 20) -> float:
    times = []
    for t in np.linspace(0.31, 0.89, repeats):
        t0 = time.perf_counter()
        at = OperatingPoint(threshold=float(t))
        r.per_class(at)
        r.confusion(at)
        r.summary(at)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    ap.add_argument("--skip-sklearn", action="store_true", help="time Assay only")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sizes = [(100_000, 100), (20_000, 1000)] if args.quick else [(1_000_000, 100), (100_000, 1000)]

    wy, ws = make_scores(2_000, 20, 1)  # compile / load the numba kernels outside the timings
    assay_build(wy, ws).optimal()

    rows = []
    for n, n_classes in sizes:
        y, s = make_scores(n, n_classes, args.seed)
        mb = s.nbytes / 2**20
        with PeakMemory() as mem_a:
            t0 = time.perf_counter()
            r = assay_build(y, s)
            t_assay = time.perf_counter() - t0
        q = query_ms(r)
        t0 = time.perf_counter()
        r.optimal()
        t_opt = time.perf_counter() - t0
        del r
        gc.collect()
        t_sk, mem_s, detail = None, None, {}
        if not args.skip_sklearn:
            with PeakMemory() as m:
                t0 = time.perf_counter()
                detail = sklearn_set(y, s)
                t_sk = time.perf_counter() - t0
            mem_s = m.extra / 2**20
        rows.append((n, n_classes, mb, t_assay, t_sk, q, t_opt, mem_a.extra / 2**20, mem_s, detail))
        del y, s
        gc.collect()

    head = (
        f"{'N x C':>16} {'scores MB':>9} {'assay s':>8} {'sklearn s':>9} {'speedup':>8} "
        f"{'query ms':>8} {'optimal s':>9} {'assay +MB':>9} {'x scores':>8} {'sklearn +MB':>11}"
    )
    print(head)
    print("-" * len(head))
    for n, c, mb, ta, ts, q, to, ma, ms, _ in rows:
        sk = f"{ts:9.2f}" if ts is not None else f"{'-':>9}"
        ratio = f"{ts / ta:7.1f}x" if ts is not None else f"{'-':>8}"
        skm = f"{ms:11.0f}" if ms is not None else f"{'-':>11}"
        print(
            f"{f'{n:,} x {c:,}':>16} {mb:9.0f} {ta:8.2f} {sk} {ratio} {q:8.2f} {to:9.2f} "
            f"{ma:9.0f} {ma / mb:7.2f}x {skm}"
        )
    for n, c, *_, detail in rows:
        if detail:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in detail.items())
            print(f"sklearn {n:,} x {c:,}: {parts}")


if __name__ == "__main__":
    main()
