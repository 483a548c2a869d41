"""Benchmark: coverage of the 95 % intervals of one evaluation (``ClassificationResults.intervals``)
against the population values, by seeded simulation, and the time they take.

Data: single-label, classes equally likely, logits ``N(0, 1) + mu * onehot(y)``, softmax scores
in float32. The model is symmetric in the classes, so each macro metric's population value is one
class's, computed once from ``--population`` rows (P, R and F1 at threshold 0 all equal the
accuracy; ROC AUC and AP from as many positive and negative scores of one class, AP weighting the
negatives by the prevalence 1 / C). Each simulated dataset's intervals (the replicates of
:func:`assay.metrics.bootstrap.interval_replicates`, as ``intervals()`` draws them) are read both
as percentile, centred and basic intervals, beside what ``intervals()`` reports ("reported": the
logit interval of ROC AUC / AP, the debiased ECE interval, intervals widened to hold their
estimate); coverage is the share that holds the population value, with its Monte-Carlo standard
error; the last column names the construction ``intervals()`` uses. "est in":
the share of basic intervals holding their own estimate; "bias/width": the estimate's mean
error against the population value over the basic interval's mean width.

    .venv/bin/python benchmarks/interval_coverage.py --classes 5 --samples 1000 --datasets 400
    .venv/bin/python benchmarks/interval_coverage.py --classes 1000 --samples 50000 --datasets 100
    .venv/bin/python benchmarks/interval_coverage.py --classes 1000 --samples 50000 --time-only
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from assay.evaluation._classification_statistics import INTERVAL_METHODS
from assay.evaluation.classification import ClassificationResults
from assay.metrics.bootstrap import interval_replicates
from assay.metrics.stats import percentile_intervals

METRICS = (
    "accuracy",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "micro_f1",
    "weighted_f1",
    "roc_auc_macro",
    "average_precision_macro",
    "log_loss",
    "brier",
    "ece",
)


def scores(rng: np.random.Generator, n: int, n_classes: int, mu: float):
    y = rng.integers(0, n_classes, n)
    z = rng.standard_normal((n, n_classes), dtype=np.float32)
    z[np.arange(n), y] += np.float32(mu)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return y, z / z.sum(axis=1, keepdims=True)


def population(n_classes: int, mu: float, rows: int, seed: int = 12345) -> dict[str, float]:
    """Population values of the symmetric model from ``rows`` rows (a chunk at a time). ROC AUC
    and AP from histograms of every positive and every negative score (C - 1 a row) over
    400,000 bins of log(score): precision at the top depends on the far tail of the negatives,
    which one negative a row would leave to chance."""
    rng = np.random.default_rng(seed)
    step = max(1, 20_000_000 // n_classes)
    right = nll = brier = 0.0
    n_bins, lo = 400_000, -60.0
    pos_h = np.zeros(n_bins)
    neg_h = np.zeros(n_bins)
    bins = 15
    gap = np.zeros(bins)
    for a in range(0, rows, step):
        k = min(step, rows - a)
        y, s = scores(rng, k, n_classes, mu)
        s64 = s.astype(np.float64)
        top, pred = s64.max(axis=1), s.argmax(axis=1)
        ok = pred == y
        right += ok.sum()
        true = s64[np.arange(k), y]
        nll -= np.log(np.clip(true, 1e-7, 1)).sum()
        brier += ((s64**2).sum(axis=1) - 2 * true + 1).sum()
        b = np.clip(np.searchsorted(np.linspace(0, 1, bins + 1), top, side="left") - 1, 0, bins - 1)
        gap += np.bincount(b, weights=ok - top, minlength=bins)
        cell = np.clip(
            ((np.log(np.maximum(s64, 1e-300)) - lo) / -lo * n_bins).astype(np.int64), 0, n_bins - 1
        )
        is_pos = np.zeros(s.shape, dtype=bool)
        is_pos[np.arange(k), y] = True
        pos_h += np.bincount(cell[is_pos], minlength=n_bins)
        neg_h += np.bincount(cell[~is_pos], minlength=n_bins)
    n1, n0 = pos_h.sum(), neg_h.sum()
    neg_below = np.cumsum(neg_h) - neg_h  # negatives in lower bins
    auc = float(np.sum(pos_h * (neg_below + 0.5 * neg_h)) / (n1 * n0))
    s1 = np.cumsum(pos_h[::-1])[::-1] / n1  # P(pos >= bin)
    s0 = np.cumsum(neg_h[::-1])[::-1] / n0
    pi = n1 / (n1 + n0)
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = pi * s1 / (pi * s1 + (1 - pi) * s0)
    ap = float(np.nansum(pos_h * prec) / n1)
    acc = right / rows
    out = {k: acc for k in METRICS[:6]}
    out.update(
        roc_auc_macro=auc,
        average_precision_macro=ap,
        log_loss=nll / rows,
        brier=brier / rows,
        ece=float(np.abs(gap).sum() / rows),
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--datasets", type=int, default=200)
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--mu", type=float, default=None, help="signal (default: by classes)")
    ap.add_argument("--population", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-only", action="store_true", help="only time intervals()")
    ap.add_argument("--truth", help="read the population values from this JSON file")
    ap.add_argument("--save-truth", help="write the population values to this JSON file")
    ap.add_argument("--every", type=int, default=0, help="print the table every k datasets")
    args = ap.parse_args()
    C, n = args.classes, args.samples
    mu = args.mu if args.mu is not None else (1.5 if C <= 10 else 4.0)
    rng = np.random.default_rng(args.seed)
    if args.time_only:
        y, s = scores(rng, n, C, mu)
        ClassificationResults(y[:500], s[:500]).intervals(n=args.replicates)  # compile
        for seed in range(3):
            r = ClassificationResults(y, s)
            r.summary()
            t0, c0 = time.perf_counter(), time.process_time()
            r.intervals(n=args.replicates, seed=seed)
            print(
                f"{C} classes x {n} samples, {args.replicates} resamples: intervals() "
                f"{time.perf_counter() - t0:.2f} s wall, {time.process_time() - c0:.2f} s CPU "
                f"(all threads), load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
            )
        return
    t0 = time.perf_counter()
    if args.truth:
        truth = json.loads(Path(args.truth).read_text())
    else:
        truth = population(C, mu, args.population)
        if args.save_truth:
            Path(args.save_truth).write_text(json.dumps(truth))
    source = f"read from {args.truth}" if args.truth else f"{args.population} rows"
    print(
        f"population ({source}, {time.perf_counter() - t0:.0f} s): "
        + ", ".join(f"{k} {v:.4f}" for k, v in truth.items())
    )
    hits = {m: {"percentile": 0, "basic": 0, "centred": 0, "reported": 0} for m in METRICS}
    has_est = {m: 0 for m in METRICS}
    bias = {m: [] for m in METRICS}
    width = {m: [] for m in METRICS}
    t_all = 0.0

    def table(D: int) -> None:
        print(
            f"\n{C} classes x {n} samples, {D} datasets, {args.replicates} resamples, mu {mu}; "
            f"replicates {t_all / D:.2f} s per dataset"
        )
        print(
            f"{'metric':26} {'percentile':>12} {'centred':>12} {'basic':>12} {'reported':>12} "
            f"{'est in':>7} "
            f"{'bias/width':>11}"
            "  intervals() uses"
        )
        for m in METRICS:
            used = "debiased" if m == "ece" else INTERVAL_METHODS.get(m, "percentile")
            cov = {k: v / D for k, v in hits[m].items()}
            se = {k: np.sqrt(v * (1 - v) / D) for k, v in cov.items()}
            print(
                f"{m:26} {cov['percentile']:7.3f}±{se['percentile']:.3f} "
                f"{cov['centred']:7.3f}±{se['centred']:.3f} "
                f"{cov['basic']:7.3f}±{se['basic']:.3f} "
                f"{cov['reported']:7.3f}±{se['reported']:.3f} {has_est[m] / D:7.2f} "
                f"{np.mean(bias[m]) / np.mean(width[m]):11.3f}  {used}"
            )

    for d in range(args.datasets):
        y, s = scores(rng, n, C, mu)
        r = ClassificationResults(y, s)
        est = {k: v for k, v in r.summary().items() if k in METRICS}
        t0 = time.perf_counter()
        reps, scale = interval_replicates(y, s, 0.0, n=args.replicates, seed=d)
        t_all += time.perf_counter() - t0
        for method in ("percentile", "centred", "basic"):
            ci = percentile_intervals(reps, est, scale=scale, method=method)
            for m in METRICS:
                c = ci[m]
                if c is not None and c["low"] <= truth[m] <= c["high"]:
                    hits[m][method] += 1
                if method == "basic" and c is not None:
                    has_est[m] += c["low"] <= est[m] <= c["high"]
                    width[m].append(c["high"] - c["low"])
        reported = r.intervals(n=args.replicates, seed=d)
        for m in METRICS:
            c = reported[m]
            hits[m]["reported"] += c is not None and c["low"] <= truth[m] <= c["high"]
            bias[m].append(est[m] - truth[m])
        if args.every and (d + 1) % args.every == 0 and d + 1 < args.datasets:
            table(d + 1)

    table(args.datasets)


if __name__ == "__main__":
    main()
