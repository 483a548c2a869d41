"""How often does the leaderboard call a model "significantly worse than the best" when it is
not, and how often does the winner's interval cover the winner's true value? Seeded boards of K
equal classifiers (and, with --power, one planted worse one), each ranked by
:func:`assay.evaluation.compare.leaderboard.leaderboard` exactly as the CLI and the server rank them.

    python benchmarks/leaderboard_simulation.py                      # K = 5 and 10, 500 boards
    python benchmarks/leaderboard_simulation.py -k 10 --boards 1000 --metric macro_f1
    python benchmarks/leaderboard_simulation.py --power 0.05         # one model 5 points worse
    python benchmarks/leaderboard_simulation.py --before 25421bf     # the leaderboard at a commit
    python benchmarks/leaderboard_simulation.py --kernel --boards 2000   # accuracy, fast: below
    python benchmarks/leaderboard_simulation.py --detection -k 5 --boards 200 -n 150

Classification boards: N samples of 3 classes; sample s has a difficulty p_s ~ Beta(8, 2) (mean
0.8), and each model is right on s with probability p_s, independently given p_s (so models err
on the same hard samples, as real ones do); a wrong model puts its top score on another class.
Every model's true accuracy is 0.8 (with --power the planted model's p_s is lowered by the
given amount); the true value of another metric is measured once on 400,000 samples.

Detection boards (--detection): N images (default 150) of 1-5 boxes of 3 classes; each box has
a detectability q ~ Beta(6, 2) shared by every detector; a detector finds it with probability q
(its box jittered by 8 % of the size, score ~ Beta(5, 2)) and adds Poisson(1) false boxes per
image (score ~ Beta(2, 4)). The "true" mAP is one detector's on 3,000 images (mAP at 150 images
is biased against it, so the winner's coverage there mixes that bias with the selection).

--kernel skips the results objects: the same boards as correctness vectors, accuracy's
replicates as means over the same resample rows, ranked by the leaderboard's kernels
(:mod:`assay.metrics.simultaneous`) and, side by side, by the leaderboard before them (each model
against the observed winner, McNemar's exact test, Holm across the K-1; the winner's own
percentile interval): ten times faster, for many boards.

Printed per K: the share of boards where some row is "significantly worse" (family-wise error;
with --power: the share where the planted model is marked, and where an equal one is), the
coverage of the winner's true value by the winner's own interval (low, high) and by its
simultaneous interval, each with its Monte-Carlo standard error.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

CLASSES = ["a", "b", "c"]


def classifier_board(
    rng: np.random.Generator, k: int, n: int, drop: float = 0.0
) -> tuple[list[Any], np.ndarray]:
    """K classifiers on one set of N samples, all equal but the last one when ``drop`` > 0;
    returns (entries, difficulties)."""
    from assay.evaluation.classification import ClassificationResults

    y = rng.integers(0, 3, n)
    p = rng.beta(8, 2, n)
    entries = []
    for i in range(k):
        right = rng.random(n) < (p - (drop if i == k - 1 and drop else 0.0))
        entries.append((i, f"m{i}", ClassificationResults(y, _scores(rng, y, right),
                                                          classes=CLASSES), None))  # fmt: skip
    return entries, p


def _scores(rng: np.random.Generator, y: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Dirichlet scores whose largest is on ``y`` where ``right``, on another class elsewhere,
    the other two in random order."""
    n = len(y)
    s = np.sort(rng.dirichlet(np.ones(3), n), axis=1)
    top = np.where(right, y, (y + rng.integers(1, 3, n)) % 3)
    flip = rng.integers(0, 2, n)
    rows = np.arange(n)
    out = np.empty_like(s)
    out[rows, top] = s[:, 2]
    out[rows, (top + 1 + flip) % 3] = s[:, 1]
    out[rows, (top + 2 - flip) % 3] = s[:, 0]
    return out


def true_classifier_value(metric: str, drop: float) -> float:
    """The metric of one model of the generating process, on 400,000 samples."""
    if metric == "accuracy":
        return 0.8 - drop
    from assay.evaluation.classification import ClassificationResults

    rng = np.random.default_rng(12345)
    y = rng.integers(0, 3, 400_000)
    right = rng.random(len(y)) < rng.beta(8, 2, len(y)) - drop
    res = ClassificationResults(y, _scores(rng, y, right), classes=CLASSES)
    return float(res.summary()[metric])


def load_leaderboard(rev: str | None) -> Callable[..., dict[str, Any]]:
    """``leaderboard`` of the working tree, or of the file at git revision ``rev``."""
    if rev is None:
        from assay.evaluation.compare.leaderboard import leaderboard

        return leaderboard
    root = Path(__file__).resolve().parents[1]
    text = subprocess.run(["git", "show", f"{rev}:src/assay/evaluation/compare/leaderboard.py"],
                          cwd=root, check=True, capture_output=True, text=True).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "leaderboard_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("leaderboard_before", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.leaderboard  # type: ignore[no-any-return]


def share(hits: int, total: int) -> str:
    """``hits / total`` as a percentage with its Monte-Carlo standard error."""
    q = hits / max(total, 1)
    return f"{100 * q:5.1f} % ± {100 * math.sqrt(q * (1 - q) / max(total, 1)):.1f}"


def run(args: argparse.Namespace, k: int, rank: Callable[..., dict[str, Any]]) -> None:
    rng = np.random.default_rng([args.seed, k])
    metric = args.metric or "accuracy"
    fired = planted = equal_marked = covered = covered_sim = 0
    truth = true_classifier_value(metric, 0.0)
    start = time.perf_counter()
    for b in range(args.boards):
        entries, _ = classifier_board(rng, k, args.n, args.power)
        board = rank(entries, metric, n=args.resamples, seed=b)
        rows = board["rows"]
        if args.power:
            planted += any(r["significant"] for r in rows if r["key"] == k - 1)
            equal_marked += any(r["significant"] for r in rows if r["key"] != k - 1)
        else:
            fired += any(r["significant"] for r in rows)
        top = rows[0]
        if not args.power and top["low"] is not None:
            covered += top["low"] <= truth <= top["high"]
            if top.get("simultaneous_low") is not None:
                covered_sim += top["simultaneous_low"] <= truth <= top["simultaneous_high"]
    took = time.perf_counter() - start
    head = (f"K = {k:2d}  {args.boards} boards of {args.n} samples ({metric}), "
            f"{board['n_resamples']} resamples")  # fmt: skip
    print(
        f"{head}  [{took:.0f} s]  procedure: {board.get('procedure', 'vs the observed best, Holm')}"
    )
    if args.power:
        print(
            f"  planted model ({args.power:.3f} worse) marked:      {share(planted, args.boards)}"
        )
        print(f"  some equal model marked:                 {share(equal_marked, args.boards)}")
        return
    print(f"  some row 'significantly worse' (FWER):   {share(fired, args.boards)}")
    print(f"  winner's own interval covers truth {truth:.4f}: {share(covered, args.boards)}")
    if "procedure" in board:
        print(f"  winner's simultaneous interval covers:   {share(covered_sim, args.boards)}")


def run_kernel(args: argparse.Namespace, k: int) -> None:
    """Accuracy boards straight from correctness vectors: the simultaneous kernels and the
    old procedure on the same replicates."""
    from assay.metrics.paired import holm, mcnemar_exact
    from assay.metrics.simultaneous import pairwise_max_t, simultaneous_values, worse_than_best

    rng = np.random.default_rng([args.seed, k, 1])
    b_count = args.resamples or 1000
    fired = fired_old = covered = covered_old = planted = planted_old = 0
    truth = 0.8 - args.power if args.power else 0.8
    start = time.perf_counter()
    for _ in range(args.boards):
        p = rng.beta(8, 2, args.n)
        right = rng.random((k, args.n)) < p
        if args.power:
            right[-1] = rng.random(args.n) < p - args.power
        idx = rng.integers(0, args.n, (b_count, args.n))
        reps = np.stack([r[idx].mean(axis=1) for r in right])
        values = right.mean(axis=1)
        sig = worse_than_best(pairwise_max_t(values, reps))[2] < 0.05
        best = int(np.argmax(values))
        old_p = [mcnemar_exact(int((right[best] & ~right[i]).sum()),
                               int((~right[best] & right[i]).sum()))
                 for i in range(k) if i != best]  # fmt: skip
        old = np.insert(holm(old_p) < 0.05, best, False)
        if args.power:
            planted += bool(sig[-1])
            planted_old += bool(old[-1])
            continue
        fired += bool(sig.any())
        fired_old += bool(old.any())
        sim = simultaneous_values(values, reps)
        covered += bool(sim.low[best] <= truth <= sim.high[best])
        lo, hi = np.quantile(reps[best], [0.025, 0.975])
        covered_old += bool(lo <= truth <= hi)
    took = time.perf_counter() - start
    print(f"K = {k:2d}  {args.boards} accuracy boards of {args.n} samples (kernels), "
          f"{b_count} resamples  [{took:.0f} s]")  # fmt: skip
    if args.power:
        print(
            f"  planted model ({args.power:.3f} worse) marked, max-T:  {share(planted, args.boards)}"
        )
        print(f"  planted model marked, before (McNemar, Holm): {share(planted_old, args.boards)}")
        return
    print(f"  FWER, max-T over all pairs:                    {share(fired, args.boards)}")
    print(f"  FWER, before (vs observed best, McNemar, Holm): {share(fired_old, args.boards)}")
    print(f"  winner covered, simultaneous interval:         {share(covered, args.boards)}")
    print(f"  winner covered, its own percentile interval:   {share(covered_old, args.boards)}")


def _detection_truth(rng: np.random.Generator, n: int) -> dict[str, Any]:
    """COCO ground truth of ``n`` images, each box with its detectability ``_d``."""
    images, anns = [], []
    for i in range(n):
        images.append({"id": i + 1, "file_name": f"{i}.jpg", "width": 200, "height": 200})
        for _ in range(rng.integers(1, 6)):
            w, h = rng.uniform(15, 60, 2)
            x, y = rng.uniform(0, 200 - w), rng.uniform(0, 200 - h)
            anns.append({"id": len(anns) + 1, "image_id": i + 1,
                         "category_id": int(rng.integers(1, 4)),
                         "bbox": [float(x), float(y), float(w), float(h)], "area": float(w * h),
                         "iscrowd": 0, "_d": float(rng.beta(6, 2))})  # fmt: skip
    cats = [{"id": c, "name": f"c{c}"} for c in (1, 2, 3)]
    return {"images": images, "categories": cats, "annotations": anns}


def _detector(rng: np.random.Generator, gt: dict[str, Any]) -> list[dict[str, Any]]:
    """One detector's boxes on ``gt``, drawn from the shared process."""
    dets = []
    for a in gt["annotations"]:
        if rng.random() < a["_d"]:
            x, y, w, h = a["bbox"]
            j = rng.normal(0, 0.08, 4)
            dets.append({"image_id": a["image_id"], "category_id": a["category_id"],
                         "bbox": [float(x + j[0] * w), float(y + j[1] * h),
                                  float(w * (1 + j[2])), float(h * (1 + j[3]))],
                         "score": float(rng.beta(5, 2))})  # fmt: skip
    for im in gt["images"]:
        for _ in range(rng.poisson(1.0)):
            w, h = rng.uniform(15, 60, 2)
            dets.append({"image_id": im["id"], "category_id": int(rng.integers(1, 4)),
                         "bbox": [float(rng.uniform(0, 140)), float(rng.uniform(0, 140)),
                                  float(w), float(h)],
                         "score": float(rng.beta(2, 4))})  # fmt: skip
    return dets


def _coco(gt: dict[str, Any]) -> dict[str, Any]:
    return {**gt, "annotations": [{k: v for k, v in a.items() if k != "_d"}
                                  for a in gt["annotations"]]}  # fmt: skip


def run_detection(args: argparse.Namespace, k: int, rank: Callable[..., dict[str, Any]]) -> None:
    """Boards of K equal detectors ranked by mAP through the leaderboard ``rank``."""
    from assay.evaluation.detection import evaluate_detections

    rng = np.random.default_rng([k, 5])
    big = _detection_truth(rng, 3000)
    truth = evaluate_detections(_coco(big), _detector(rng, big)).summary()["AP"]
    n_images, resamples = args.n or 150, args.resamples or 200
    fired = covered = covered_sim = 0
    start = time.perf_counter()
    for b in range(args.boards):
        gt = _detection_truth(rng, n_images)
        coco = _coco(gt)
        entries = [(i, f"m{i}", evaluate_detections(coco, _detector(rng, gt)), None)
                   for i in range(k)]  # fmt: skip
        board = rank(entries, n=resamples, seed=b)
        fired += any(r["significant"] for r in board["rows"])
        top = board["rows"][0]
        covered += top["low"] <= truth <= top["high"]
        if top.get("simultaneous_low") is not None:
            covered_sim += top["simultaneous_low"] <= truth <= top["simultaneous_high"]
    took = time.perf_counter() - start
    print(f"K = {k:2d}  {args.boards} detection boards of {n_images} images (mAP), "
          f"{resamples} resamples  [{took:.0f} s]")  # fmt: skip
    print(f"  some row 'significantly worse' (FWER):   {share(fired, args.boards)}")
    print(f"  winner's own interval covers {truth:.4f}:  {share(covered, args.boards)}")
    if "procedure" in board:
        print(f"  winner's simultaneous interval covers:   {share(covered_sim, args.boards)}")
    else:
        print("  (the leaderboard before: each model against the observed winner, Holm)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", type=int, nargs="*", default=[5, 10], help="models per board")
    parser.add_argument("--boards", type=int, default=500)
    parser.add_argument("-n", type=int, default=None, help="samples (1000) or images (150)")
    parser.add_argument("--resamples", type=int, default=None, help="default: the leaderboard's")
    parser.add_argument("--metric", default=None)
    parser.add_argument("--power", type=float, default=0.0, help="plant one model this much worse")
    parser.add_argument("--before", default=None, help="rank with leaderboard.py at this commit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kernel", action="store_true", help="accuracy from correctness vectors")
    parser.add_argument("--detection", action="store_true", help="boards of equal detectors")
    args = parser.parse_args()
    print(" ".join(sys.argv))
    if args.detection:
        rank = load_leaderboard(args.before)
        for k in args.k:
            run_detection(args, k, rank)
        return
    args.n = args.n or 1000
    if args.kernel:
        for k in args.k:
            run_kernel(args, k)
        return
    rank = load_leaderboard(args.before)
    for k in args.k:
        run(args, k, rank)


if __name__ == "__main__":
    main()
