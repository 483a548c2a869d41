"""Seeded simulations of `assay compare`'s statistics: per headline row, the share of equal pairs
called different (type I error = 1 - coverage of the true difference 0), whether each interval
excludes 0 exactly when its p < alpha, the family-wise rate of a false "B is better / worse"
verdict, and the power on a planted difference; with Monte-Carlo errors.

    .venv/bin/python benchmarks/compare_statistics.py classification --pairs 400
    .venv/bin/python benchmarks/compare_statistics.py near --pairs 400      # FP32 vs INT8-like
    .venv/bin/python benchmarks/compare_statistics.py detection --pairs 200 --images 150
    .venv/bin/python benchmarks/compare_statistics.py seeds                 # a borderline pair
    .venv/bin/python benchmarks/compare_statistics.py scale --classes 1000 --samples 50000

Equal pairs are exchangeable (A and B drawn the same way, independently given the data), so the
true difference of every metric is 0 and an interval covers it exactly when it holds 0.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from assay.evaluation.classification import ClassificationResults  # noqa: E402
from assay.evaluation.compare import compare  # noqa: E402
from assay.evaluation.detection import evaluate_detections  # noqa: E402
from assay.evaluation.results import OperatingPoint  # noqa: E402

ALPHA = 0.05


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def classification_pair(
    seed: int, n: int, classes: int, sa: float, sb: float, near: float | None
) -> tuple[ClassificationResults, ClassificationResults]:
    """Two models of the same labels. ``near``: both are one model's logits plus independent
    noise of that size (an FP32 / INT8 pair); else independent noise (strength ``sa`` / ``sb``
    added to the true class's logit)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    names = [f"c{i}" for i in range(classes)]
    if near is not None:
        base = rng.normal(size=(n, classes))
        base[np.arange(n), y] += sa
        la = base + near * rng.normal(size=(n, classes))
        lb = base + near * rng.normal(size=(n, classes))
        lb[np.arange(n), y] += sb - sa
    else:
        la = rng.normal(size=(n, classes))
        lb = rng.normal(size=(n, classes))
        la[np.arange(n), y] += sa
        lb[np.arange(n), y] += sb
    return (
        ClassificationResults(y, softmax(la), classes=names),
        ClassificationResults(y, softmax(lb), classes=names),
    )


def detection_pair(seed: int, images: int, classes: int, pa: float, pb: float) -> tuple[Any, Any]:
    """Two detectors of the same synthetic ground truth: each finds a box with probability
    ``pa`` / ``pb`` (jittered, a score that is higher when the box is better) and adds false
    positives; drawn independently."""
    rng = np.random.default_rng(seed)
    imgs, anns = [], []
    for i in range(images):
        imgs.append({"id": i + 1, "file_name": f"{i}.jpg", "width": 640, "height": 480})
        for _ in range(rng.integers(1, 5)):
            x, y = float(rng.uniform(0, 500)), float(rng.uniform(0, 350))
            w, h = float(rng.uniform(20, 140)), float(rng.uniform(20, 130))
            anns.append({"id": len(anns) + 1, "image_id": i + 1,
                         "category_id": int(rng.integers(1, classes + 1)),
                         "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})  # fmt: skip
    gt = {"images": imgs, "annotations": anns,
          "categories": [{"id": k + 1, "name": f"k{k}"} for k in range(classes)]}  # fmt: skip

    def detector(p: float) -> list[dict[str, Any]]:
        out = []
        for a in anns:
            if rng.random() < p:
                x, y, w, h = a["bbox"]
                j = rng.normal(0, 0.08, 4)
                out.append({"image_id": a["image_id"], "category_id": a["category_id"],
                            "bbox": [float(x + j[0] * w), float(y + j[1] * h),
                                     float(w * math.exp(j[2])), float(h * math.exp(j[3]))],
                            "score": float(np.clip(0.9 - 2 * np.abs(j).mean()
                                                   + rng.normal(0, 0.1), 0.01, 1))})  # fmt: skip
        for i in range(images):
            for _ in range(rng.poisson(0.7)):
                out.append({"image_id": i + 1, "category_id": int(rng.integers(1, classes + 1)),
                            "bbox": [float(v) for v in rng.uniform((0, 0, 20, 20),
                                                                    (500, 350, 140, 130))],
                            "score": float(rng.uniform(0.01, 0.7))})  # fmt: skip
        return out

    da, db = detector(pa), detector(pb)
    return evaluate_detections(gt, da), evaluate_detections(gt, db)


def rate(k: int, n: int) -> str:
    p = k / n if n else math.nan
    return f"{100 * p:5.1f} % ± {100 * math.sqrt(max(p * (1 - p), 1e-12) / max(n, 1)):.1f}"


def run(
    pairs: list[tuple[Any, Any]],
    resamples: int,
    verdict_keys: tuple[str, ...],
    at: OperatingPoint | None = None,
) -> None:
    rows: dict[str, list[int]] = {}
    disagree = checked = 0
    fw_verdict = fw_headline = fw_raw = 0
    t0 = time.perf_counter()
    for a, b in pairs:
        out = compare(a, b, n=resamples, at_a=at, at_b=at)
        for r in out["metrics"]:
            if r["p_value"] is None or r["low"] is None:
                continue
            hit = r["p_value"] < ALPHA
            rows.setdefault(r["metric"], [0, 0, 0])
            rows[r["metric"]][0] += hit
            rows[r["metric"]][1] += 1
            rows[r["metric"]][2] += bool(r["significant"])
        everything = out["metrics"] + out["per_class"] + out.get("per_iou", [])
        for r in everything:
            p, lo, hi = r.get("p_value"), r.get("low"), r.get("high")
            if p is None or lo is None or abs(p - ALPHA) < 1e-9:
                continue
            checked += 1
            disagree += (p < ALPHA) != (lo > 0 or hi < 0)
        vrows = [r for r in out["metrics"] if r["metric"] in verdict_keys]
        fw_verdict += any(r["significant"] for r in vrows)
        fw_headline += any(r["significant"] for r in out["metrics"])
        fw_raw += any(r["p_value"] is not None and r["p_value"] < ALPHA for r in vrows)
    n = len(pairs)
    took = time.perf_counter() - t0
    print(f"{n} pairs, {resamples} resamples, {took / n:.2f} s per comparison")
    print(f"{'row':26} {'rejects H0 (p < 0.05)':>22} {'coverage of 0':>16} {'sig. after Holm':>18}")
    for key, (k, m, s) in rows.items():
        print(f"{key:26} {rate(k, m):>22} {rate(m - k, m):>16} {rate(s, m):>18}")
    print(f"interval excludes 0 <=> p < alpha: {checked - disagree} of {checked} rows agree")
    print(f"family-wise: a false verdict ({', '.join(verdict_keys)}, Holm over the headline) "
          f"{rate(fw_verdict, n)}; any headline row significant (Holm) {rate(fw_headline, n)}; "
          f"the old rule (each verdict at 0.05, unadjusted) {rate(fw_raw, n)}")  # fmt: skip


def seeds(n: int, resamples: int, count: int) -> None:
    """A borderline pair (macro F1 near p = 0.05) compared under ``count`` seeds: the verdict
    changes only where |p - alpha| is within a few Monte-Carlo errors."""
    best = None
    for s in range(60):
        a, b = classification_pair(7000 + s, n, 5, 1.0, 1.12, None)
        out = compare(a, b, n=resamples, seed=0)
        row = next(r for r in out["metrics"] if r["metric"] == "macro_f1")
        if row["p_value"] is not None and (best is None or abs(row["p_value"] - ALPHA) < best[0]):
            best = (abs(row["p_value"] - ALPHA), a, b)
    assert best is not None
    _, a, b = best
    ps, mcs = [], []
    for seed in range(count):
        row = next(
            r for r in compare(a, b, n=resamples, seed=seed)["metrics"] if r["metric"] == "macro_f1"
        )
        ps.append(row["p_value"])
        mcs.append(row["p_mc"])
    p, mc = np.array(ps), np.array(mcs)
    minority = (p < ALPHA) != (np.median(p) < ALPHA)
    print(f"macro F1 of a borderline pair over {count} seeds, {resamples} resamples: p from "
          f"{p.min():.4f} to {p.max():.4f} (sd over seeds {p.std(ddof=1):.4f}); stated MC error "
          f"mean {mc.mean():.4f} (min {mc.min():.4f}, max {mc.max():.4f}); the minority verdict "
          f"in {int(minority.sum())} of {count} seeds, each with |p - 0.05| <= "
          f"{(np.abs(p[minority] - ALPHA) / mc.mean()).max(initial=0):.2f} x the mean stated "
          "error")  # fmt: skip


def scale(samples: int, classes: int) -> None:
    """compare()'s seconds on one pair of ``classes`` x ``samples`` (CPU and wall; the first
    call, then a second at the same thresholds, which reuses each evaluation's cached part)."""
    import os

    t0, w0 = time.process_time(), time.perf_counter()
    a, b = classification_pair(4242, samples, classes, 3.0, 3.1, None)
    print(f"two evaluations of {samples} x {classes}: CPU {time.process_time() - t0:.1f} s, "
          f"wall {time.perf_counter() - w0:.1f} s")  # fmt: skip
    for call in ("first", "second"):
        t0, w0 = time.process_time(), time.perf_counter()
        out = compare(a, b)
        print(f"compare(), {call} call: CPU {time.process_time() - t0:.1f} s, wall "
              f"{time.perf_counter() - w0:.1f} s, n_resamples {out['n_resamples']}")  # fmt: skip
    for r in out["metrics"]:
        print(f"  {r['metric']:<24} {r['test']:<24} delta {r['delta']:+.5f} "
              f"[{r['low']:+.5f}, {r['high']:+.5f}] p {r['p_value']:.4f}")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "what", choices=("classification", "near", "planted", "detection", "seeds", "scale")
    )
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--images", type=int, default=150)
    ap.add_argument("--resamples", type=int, default=None)
    ap.add_argument(
        "--score",
        type=float,
        default=None,
        help="detection: both at this confidence (default: each side's F1-optimal one, chosen on "
        "the same images, which the bootstrap does not re-choose)",
    )
    args = ap.parse_args()
    print(" ".join(sys.argv))
    if args.what == "scale":
        scale(args.samples, args.classes)
        return
    if args.what == "seeds":
        seeds(args.samples, args.resamples or 1000, args.pairs)
        return
    if args.what == "detection":
        pairs = [detection_pair(9000 + i, args.images, args.classes, 0.7, 0.7)
                 for i in range(args.pairs)]  # fmt: skip
        at = None if args.score is None else OperatingPoint(iou=0.5, score=args.score)
        run(pairs, args.resamples or 200, ("AP", "AP50", "f1"), at)
        return
    near = 0.05 if args.what == "near" else None
    sb = 1.25 if args.what == "planted" else 1.0
    pairs = [classification_pair(5000 + i, args.samples, args.classes, 1.0, sb, near)
             for i in range(args.pairs)]  # fmt: skip
    run(pairs, args.resamples or 1000, ("accuracy", "macro_f1", "roc_auc_macro"))


if __name__ == "__main__":
    main()
