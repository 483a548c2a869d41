"""Detection error types (TIDE): Assay's kernel against tidecv on a COCO-val-scale synthetic set.

    .venv/bin/python benchmarks/detection_errors.py              # 5,000 images (~36k boxes, ~100k+ detections)
    .venv/bin/python benchmarks/detection_errors.py --images 500 --rounds 3

Both compute the same thing: the six error types with their counts, the dAP of each (the mAP at
IoU 0.5 after TIDE's oracle fix) and the FP / FN oracles, overall (tidecv: ``evaluate`` +
``fix_main_errors`` + ``fix_special_errors``). Assay also computes every class's dAP. Reading the
files is not timed for either; Assay's numba kernels are compiled (or loaded from the on-disk cache)
on a small set first, and that warm-up is printed apart. Assay's time is the median of ``--rounds``
fresh computations (the evaluation's cache cleared each time); tidecv runs once (it is slow). The
load average is printed with the figures, and the script checks that both give the same numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detection import synthetic  # noqa: E402  (the COCO-like set of benchmarks/detection.py)

from assay.evaluation.detection import evaluate_detections  # noqa: E402
from assay.metrics.detection.errors import ERROR_TYPES, tide_errors  # noqa: E402


def assay_once(res) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    g, d = res.gt, res.dt
    t = time.perf_counter()
    r = tide_errors(
        g.boxes,
        g.labels,
        g.image,
        g.iscrowd,
        d.boxes,
        d.labels,
        d.scores,
        d.image,
        n_images=g.n_images,
        n_classes=len(res.classes),
    )
    return time.perf_counter() - t, r


def tidecv_once(gt: dict, dt: list) -> tuple[float, dict]:
    from tidecv import TIDE, Data

    gdata = Data("gt")
    for im in gt["images"]:
        gdata.add_image(im["id"], im["file_name"])
    for c in gt["categories"]:
        gdata.add_class(c["id"], c["name"])
    for a in gt["annotations"]:
        if a["iscrowd"]:
            gdata.add_ignore_region(a["image_id"], a["category_id"], a["bbox"])
        else:
            gdata.add_ground_truth(a["image_id"], a["category_id"], a["bbox"])
    ddata = Data("dt")
    for x in dt:
        ddata.add_detection(x["image_id"], x["category_id"], x["score"], x["bbox"])
    t = time.perf_counter()
    run = TIDE().evaluate(gdata, ddata, mode=TIDE.BOX)
    main = run.fix_main_errors()
    special = run.fix_special_errors()
    counts = run.count_errors()
    took = time.perf_counter() - t
    types = TIDE._error_types
    return took, {
        "counts": [counts[e] for e in types],
        "dap": [main[e] for e in types],
        "special": [special[e] for e in TIDE._special_error_types],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-tidecv", action="store_true", help="time Assay only")
    a = ap.parse_args()

    small_gt, small_dt = synthetic(20, seed=1)
    t = time.perf_counter()
    assay_once(evaluate_detections(small_gt, small_dt))
    warm = time.perf_counter() - t

    gt, dt = synthetic(a.images)
    res = evaluate_detections(gt, dt)
    print(
        f"set: {res.gt.n_images} images, {len(res.gt.labels)} boxes, {len(res.dt.labels)} "
        f"detections, {len(res.classes)} classes; load {os.getloadavg()}"
    )
    print(f"assay warm-up (numba compile or cache load): {warm:.2f} s")
    times = []
    for _ in range(a.rounds):
        took, ours = assay_once(res)
        times.append(took)
    med = statistics.median(times)
    print(
        f"assay tide_errors: median {med:.3f} s over {a.rounds} (all {[round(x, 3) for x in times]})"
    )
    t = time.perf_counter()
    res.error_types(per_class=True)
    print(
        f"assay error_types(per_class=True), first call on the evaluation: {time.perf_counter() - t:.3f} s"
    )
    t = time.perf_counter()
    res.error_types(per_class=True)
    print(f"assay error_types(per_class=True), cached: {(time.perf_counter() - t) * 1e3:.2f} ms")
    print("assay counts:", dict(zip(ERROR_TYPES, ours.counts.tolist(), strict=True)))  # type: ignore[attr-defined]
    if a.no_tidecv:
        return
    took, ref = tidecv_once(gt, dt)
    print(f"tidecv: {took:.2f} s (one run); load {os.getloadavg()}")
    print(f"ratio tidecv / assay: {took / med:.1f}x")
    same_counts = ours.counts.tolist() == ref["counts"]  # type: ignore[attr-defined]
    dap_diff = float(np.max(np.abs(ours.dap - np.array(ref["dap"]))))  # type: ignore[attr-defined]
    sp_diff = float(np.max(np.abs(ours.special - np.array(ref["special"]))))  # type: ignore[attr-defined]
    print(
        f"same counts as tidecv: {same_counts}; max |dAP diff| {dap_diff:.2e}; special {sp_diff:.2e}"
    )


if __name__ == "__main__":
    main()
