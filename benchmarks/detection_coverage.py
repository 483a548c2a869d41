"""Benchmark: coverage of the detection mAP / AP50 intervals over images against the population
value, by seeded simulation: the corrected half-sample interval ``DetectionResults.intervals()``
reads (``bootstrap_ap(method="corrected")``: n half-samples without replacement, bias
extrapolated at rate 1/sqrt(n), the correction's noise counted from nested quarters), beside
the plain half-sample one ("half") and the percentile, centred, basic and BCa readings of the
ordinary resamples.

Data: the generator of ``tests/_simulate.py`` (3 classes, 1 + Poisson(2.5) boxes an image, a
detector that finds 70-90 % of them with jittered boxes, 3 % wrong classes and Poisson(1.5)
false boxes an image). The population AP is the mean AP of ``--draws`` samples of
``--population`` images of the same generator (one 40,000-image draw was 0.0024 below it). Each simulated dataset's replicates (:func:`bootstrap_ap_replicates`, as
``DetectionResults.intervals()`` draws them) are read as a percentile, a basic and a BCa interval
(acceleration from a grouped jackknife of ``--blocks`` blocks of images); it also prints the
estimate's actual bias against the bootstrap's and the jackknife's estimates of it.

    .venv/bin/python benchmarks/detection_coverage.py --images 150 --datasets 200
    .venv/bin/python benchmarks/detection_coverage.py --images 500 --datasets 200
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # our statistics.py
sys.path.insert(0, str(HERE.parent))

from statistics import NormalDist  # noqa: E402

import numpy as np  # noqa: E402

from assay.evaluation.detection import evaluate_detections  # noqa: E402
from assay.metrics.detection.protocols import (  # noqa: E402
    bootstrap_ap_replicates,
    corrected_halves,
    half_sample_interval,
    half_sample_weights,
    nested_quarter_weights,
)
from assay.metrics.stats import percentile_intervals  # noqa: E402
from tests import _simulate as sim  # noqa: E402

KEYS = ("AP", "AP50")


def bca(reps: np.ndarray, est: float, jack: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    nd = NormalDist()
    v = reps[np.isfinite(reps)]
    z0 = nd.inv_cdf(min(max((np.sum(v < est) + 0.5 * np.sum(v == est)) / len(v), 1e-6), 1 - 1e-6))
    d = jack.mean() - jack
    a = float(np.sum(d**3) / (6 * np.sum(d**2) ** 1.5)) if np.any(d) else 0.0
    za = nd.inv_cdf((1 - level) / 2)
    q = [nd.cdf(z0 + (z0 + z) / (1 - a * (z0 + z))) for z in (za, -za)]
    lo, hi = np.quantile(v, q)
    return float(lo), float(hi)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=150)
    ap.add_argument("--datasets", type=int, default=100)
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--population", type=int, default=80_000)
    ap.add_argument("--draws", type=int, default=4, help="population samples averaged")
    ap.add_argument("--blocks", type=int, default=50, help="jackknife blocks (BCa)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    found = []
    for seed in range(4242, 4242 + args.draws):
        rng = np.random.default_rng(seed)
        big = sim.detection_truth(args.population, rng)
        found.append(
            evaluate_detections(
                sim.coco_truth(big), sim.coco_detections(sim.detections(big, rng))
            ).summary()
        )
    pop = {k: float(np.mean([f[k] for f in found])) for k in KEYS}
    print(
        f"population ({args.draws} x {args.population} images, {time.perf_counter() - t0:.0f} s): "
        + ", ".join(
            f"{k} {pop[k]:.4f} (draws {', '.join(f'{f[k]:.4f}' for f in found)})" for k in KEYS
        )
    )
    methods = ("corrected", "half", "percentile", "centred", "basic", "bca")
    hits = {(k, m): 0 for k in KEYS for m in methods}
    has_est = {(k, m): 0 for k in KEYS for m in methods}
    bias = {k: [] for k in KEYS}
    boot_bias = {k: [] for k in KEYS}
    jack_bias = {k: [] for k in KEYS}
    boot_sd = {k: [] for k in KEYS}
    jack_se = {k: [] for k in KEYS}
    t_rep = 0.0
    for d in range(args.datasets):
        rng = np.random.default_rng([7, d])
        truth = sim.detection_truth(args.images, rng)
        r = evaluate_detections(
            sim.coco_truth(truth), sim.coco_detections(sim.detections(truth, rng))
        )
        g = r.gt
        t1 = time.perf_counter()
        names, est, stats = bootstrap_ap_replicates(
            r._m,
            g.labels,
            g.image,
            r.dt.image,
            g.n_images,
            len(r.classes),
            n=args.replicates,
            seed=d,
        )
        t_rep += time.perf_counter() - t1
        G = min(g.n_images, args.blocks)
        blocks = np.random.default_rng(d).permutation(g.n_images) % G
        w = np.stack([(blocks != k).astype(float) for k in range(G)])
        _, _, jack = bootstrap_ap_replicates(
            r._m, g.labels, g.image, r.dt.image, g.n_images, len(r.classes), weights=w
        )
        reps = {k: stats[:, j] for j, k in enumerate(names)}
        e = {k: float(est[j]) for j, k in enumerate(names)}
        cis = {
            m: percentile_intervals(reps, e, method=m) for m in ("percentile", "centred", "basic")
        }
        hw = half_sample_weights(g.n_images, args.replicates, d)
        margs = (r._m, g.labels, g.image, r.dt.image, g.n_images, len(r.classes))
        _, _, halves = bootstrap_ap_replicates(*margs, weights=hw)
        q1, q2 = nested_quarter_weights(hw, d + 1)
        _, _, r1 = bootstrap_ap_replicates(*margs, weights=q1)
        _, _, r2 = bootstrap_ap_replicates(*margs, weights=q2)
        cis["half"] = {
            k: half_sample_interval(halves[:, j], e[k], g.n_images) for j, k in enumerate(KEYS)
        }
        cis["corrected"] = {
            k: half_sample_interval(
                halves[:, j], e[k], g.n_images,
                corrected=corrected_halves(halves[:, j], r1[:, j], r2[:, j]),
            )
            for j, k in enumerate(KEYS)
        }  # fmt: skip
        cis["bca"] = {
            k: dict(zip(("low", "high"), bca(reps[k], e[k], jack[:, j]), strict=True))
            for j, k in enumerate(names)
        }
        for j, k in enumerate(names):
            jb = (G - 1) * (np.mean(jack[:, j]) - e[k])  # the jackknife's bias estimate
            jack_bias[k].append(jb)
            boot_sd[k].append(np.nanstd(reps[k]))
            jack_se[k].append(np.sqrt((G - 1) / G * np.sum((jack[:, j] - jack[:, j].mean()) ** 2)))
        for k in KEYS:
            bias[k].append(e[k] - pop[k])
            boot_bias[k].append(np.nanmean(reps[k]) - e[k])
            for m in methods:
                c = cis[m][k]
                if c is None:
                    continue
                hits[(k, m)] += c["low"] <= pop[k] <= c["high"]
                has_est[(k, m)] += c["low"] <= e[k] <= c["high"]
    D = args.datasets
    print(
        f"\n{args.images} images, {D} datasets, {args.replicates} resamples; "
        f"replicates {t_rep / D:.2f} s per dataset"
    )
    for k in KEYS:
        print(
            f"{k}: bias of the estimate {np.mean(bias[k]):+.4f} (sd of the estimate "
            f"{np.std(bias[k]):.4f}), bootstrap bias {np.mean(boot_bias[k]):+.4f} "
            f"(sd {np.mean(boot_sd[k]):.4f}), jackknife bias {np.mean(jack_bias[k]):+.4f} "
            f"(se {np.mean(jack_se[k]):.4f})"
        )
        for m in methods:
            c = hits[(k, m)] / D
            print(
                f"  {m:10} coverage {c:.3f} ± {np.sqrt(c * (1 - c) / D):.3f}, "
                f"estimate inside {has_est[(k, m)] / D:.2f}"
            )


if __name__ == "__main__":
    main()
