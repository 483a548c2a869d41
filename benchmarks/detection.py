"""Detection benchmark: Assay vs pycocotools vs faster-coco-eval on a COCO-val-scale synthetic set.

    .venv/bin/python benchmarks/detection.py            # 1x (5,000 images) and 4x (20,000 images)
    .venv/bin/python benchmarks/detection.py --quick    # small sizes, seconds
    .venv/bin/python benchmarks/detection.py --scales 1 --tools assay,faster
    .venv/bin/python benchmarks/detection.py --scales 1,4 --peers-at 1 --rounds 5

Each tool runs in its own fresh process on the same temp JSON files; "end to end" includes reading
the JSON, "eval" excludes it. Peak memory is the process's peak RSS (VmHWM) above its RSS after
imports (and, for Assay, after the warm-up).
Assay's numba kernels are warmed up first (compiled once, then loaded from the on-disk cache); the
warm-up time is printed separately. "query" is a new IoU (one matching pass) plus confusion matrix
and P/R/F1 at a new confidence, after the evaluation (median of 5 in the process; wall and CPU).
Each tool runs ``--rounds`` times (fresh processes, tools alternating, so they share the load);
the tables give medians, the ratios are medians of the per-round ratios, and the load average is
printed with each round. The last line compares the scales: Assay's end-to-end time at each scale
over its time at the first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson


def synthetic(n_images: int, seed: int = 0, n_classes: int = 80) -> tuple[dict, list]:
    """COCO-like gt (~7.3 boxes per image, ~1% crowd) and results (up to 100 per image)."""
    rng = np.random.default_rng(seed)
    n_gt = np.minimum(rng.poisson(7.3, n_images), 60)
    img = np.repeat(np.arange(n_images), n_gt)
    n = len(img)
    side = np.exp(rng.uniform(np.log(8), np.log(400), n))
    w = side * rng.uniform(0.6, 1.4, n)
    h = side * rng.uniform(0.6, 1.4, n)
    x = rng.uniform(0, 1, n) * np.maximum(640 - w, 1)
    y = rng.uniform(0, 1, n) * np.maximum(480 - h, 1)
    p = 1.0 / np.arange(1, n_classes + 1) ** 0.7
    cls = rng.choice(n_classes, n, p=p / p.sum())
    crowd = rng.random(n) < 0.01
    area = w * h * rng.uniform(0.5, 0.9, n)
    gt = {
        "images": [
            {"id": int(i) + 1, "file_name": f"{i:012d}.jpg", "width": 640, "height": 480}
            for i in range(n_images)
        ],
        "categories": [{"id": int(c) + 1, "name": f"class{c}"} for c in range(n_classes)],
        "annotations": [
            {
                "id": j + 1,
                "image_id": int(img[j]) + 1,
                "category_id": int(cls[j]) + 1,
                "bbox": [round(float(v), 2) for v in (x[j], y[j], w[j], h[j])],
                "area": round(float(area[j]), 2),
                "iscrowd": int(crowd[j]),
            }
            for j in range(n)
        ],
    }
    # detections: most objects found with jitter, some twice, class confusions, background noise
    hit = rng.random(n) < 0.85
    dup = hit & (rng.random(n) < 0.3)
    src = np.concatenate([np.flatnonzero(hit), np.flatnonzero(dup)])
    m = len(src)
    jit = rng.normal(0, 0.1, (m, 4)) * np.c_[w[src], h[src], w[src], h[src]]
    db = np.c_[
        x[src] + jit[:, 0],
        y[src] + jit[:, 1],
        np.maximum(w[src] + jit[:, 2], 1),
        np.maximum(h[src] + jit[:, 3], 1),
    ]
    dcls = np.where(rng.random(m) < 0.9, cls[src], rng.integers(0, n_classes, m))
    dsc = rng.beta(4, 2, m) * np.where(np.arange(m) >= hit.sum(), 0.6, 1.0)
    dimg = img[src]
    n_bg = rng.integers(5, 60, n_images)
    bimg = np.repeat(np.arange(n_images), n_bg)
    k = len(bimg)
    bs = np.exp(rng.uniform(np.log(4), np.log(300), k))
    bb = np.c_[
        rng.uniform(0, 600, k),
        rng.uniform(0, 440, k),
        bs * rng.uniform(0.5, 1.5, k),
        bs * rng.uniform(0.5, 1.5, k),
    ]
    allb = np.r_[db, bb]
    allc = np.r_[dcls, rng.integers(0, n_classes, k)]
    alls = np.r_[dsc, rng.beta(1, 5, k)]
    alli = np.r_[dimg, bimg]
    # keep the 100 best per image, as detectors do
    order = np.lexsort((-alls, alli))
    alli, allb, allc, alls = alli[order], allb[order], allc[order], alls[order]
    start = np.searchsorted(alli, alli)
    keep = (np.arange(len(alli)) - start) < 100
    res = [
        {
            "image_id": int(i) + 1,
            "category_id": int(c) + 1,
            "bbox": [round(float(v), 2) for v in b],
            "score": round(float(s), 4),
        }
        for i, c, b, s in zip(alli[keep], allc[keep], allb[keep], alls[keep], strict=True)
    ]
    perm = rng.permutation(len(res))
    return gt, [res[i] for i in perm]


CHILD = r"""
import contextlib, io, json, resource, sys, time
tool, gt_path, dt_path = sys.argv[1:4]
def rss():  # peak RSS of this process image (VmHWM; ru_maxrss would carry the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {}
if tool == "assay":
    import numpy as np
    from assay.evaluation.detection import DetectionResults, evaluate_detections
    from assay.evaluation.results import OperatingPoint as At
    from assay.formats.coco import load_detection_gt, load_detection_results
    from assay.metrics.detection import STAT_NAMES
    t = time.perf_counter()
    evaluate_detections(
        {"images": [{"id": 1}], "categories": [{"id": 1, "name": "a"}],
         "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5]}]},
        [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5}]).confusion()
    out["warmup"] = time.perf_counter() - t
    base = rss()
    t0 = time.perf_counter()
    gt = load_detection_gt(gt_path); dt = load_detection_results(dt_path, gt)
    t1 = time.perf_counter()
    res = DetectionResults(gt, dt)
    s = res.summary()
    stats = [-1.0 if s[k] is None else s[k] for k in STAT_NAMES]
    t2 = time.perf_counter()
    q_iou, q_score, c_iou, c_score = [], [], [], []
    for i, iou in enumerate((0.55, 0.6, 0.65, 0.7, 0.8)):  # median of 5: the machine is shared
        t, c = time.perf_counter(), time.process_time()
        res.confusion(At(iou=iou, score=0.3)); res.summary(At(iou=iou, score=0.3))
        q_iou.append(time.perf_counter() - t); c_iou.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        at = At(iou=iou, score=0.4 + i / 10); res.confusion(at); res.summary(at)
        q_score.append(time.perf_counter() - t); c_score.append(time.process_time() - c)
    out.update(load=t1 - t0, eval=t2 - t1, query_iou=float(np.median(q_iou)),
               query_score=float(np.median(q_score)), cpu_iou=float(np.median(c_iou)),
               cpu_score=float(np.median(c_score)), stats=stats)
else:
    if tool == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    else:
        from faster_coco_eval import COCO
        from faster_coco_eval import COCOeval_faster as COCOeval
    base = rss()
    with contextlib.redirect_stdout(io.StringIO()):
        t0 = time.perf_counter()
        cg = COCO(gt_path); cd = cg.loadRes(dt_path)
        t1 = time.perf_counter()
        ev = COCOeval(cg, cd, "bbox"); ev.evaluate(); ev.accumulate(); ev.summarize()
        t2 = time.perf_counter()
    out.update(load=t1 - t0, eval=t2 - t1, stats=[float(v) for v in ev.stats])
out["peak_mb"] = rss() - base
print(json.dumps(out))
"""


def run_tool(tool: str, gt_path: Path, dt_path: Path) -> dict:
    r = subprocess.run(
        [sys.executable, "-c", CHILD, tool, str(gt_path), str(dt_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise SystemExit(f"{tool} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (500 and 2,000 images)")
    ap.add_argument("--scales", default="1,4", help="multiples of 5,000 images, e.g. 1,4")
    ap.add_argument("--tools", default="assay,pycocotools,faster")
    ap.add_argument("--peers-at", default=None, help="scales the peers run at (default: all)")
    ap.add_argument("--rounds", type=int, default=5, help="fresh processes per tool (median)")
    a = ap.parse_args()
    base = 500 if a.quick else 5000
    tools = a.tools.split(",")
    scales = [int(s) for s in a.scales.split(",")]
    peers_at = scales if a.peers_at is None else [int(s) for s in a.peers_at.split(",")]
    names = {"assay": "Assay", "pycocotools": "pycocotools", "faster": "faster-coco-eval"}
    e2e_by_scale: dict[int, float] = {}
    for scale in scales:
        n_img = base * scale
        t = time.perf_counter()
        gt, res = synthetic(n_img, seed=scale)
        here = [x for x in tools if x == "assay" or scale in peers_at]
        with tempfile.TemporaryDirectory() as d:
            gp, dp = Path(d) / "gt.json", Path(d) / "dt.json"
            gp.write_bytes(orjson.dumps(gt))
            dp.write_bytes(orjson.dumps(res))
            n_crowd = sum(x["iscrowd"] for x in gt["annotations"])
            n_gt, n_cat, n_dt = len(gt["annotations"]), len(gt["categories"]), len(res)
            del gt, res  # keep the parent small while the tools run
            print(
                f"\n== {n_img:,} images, {n_cat} classes, "
                f"{n_gt:,} gt boxes ({n_crowd} crowd), "
                f"{n_dt:,} detections (generated in {time.perf_counter() - t:.1f} s), "
                f"{a.rounds} rounds",
                flush=True,
            )
            runs: dict[str, list[dict]] = {tool: [] for tool in here}
            for k in range(a.rounds):
                line = f"round {k + 1}: {_load()};"
                for tool in here:
                    o = run_tool(tool, gp, dp)
                    runs[tool].append(o)
                    line += f" {tool} {o['load'] + o['eval']:.2f} s"
                print(line, flush=True)
        for v in runs.values():
            for o in v:
                o["e2e"] = o["load"] + o["eval"]
        ref = runs.get("pycocotools")
        print(
            f"{'tool (median)':18} {'end to end s':>12} {'load s':>8} {'eval s':>8} {'peak MB':>8}"
            f" {'x pycoco e2e':>12} {'x pycoco eval':>13}"
        )
        for tool, v in runs.items():
            r1 = r2 = "-"
            if ref:
                pairs = list(zip(ref, v, strict=True))
                r1 = f"{statistics.median(p['e2e'] / o['e2e'] for p, o in pairs):.1f}x"
                r2 = f"{statistics.median(p['eval'] / o['eval'] for p, o in pairs):.1f}x"
            print(
                f"{names[tool]:18} {_median(v, 'e2e'):12.3f} {_median(v, 'load'):8.3f}"
                f" {_median(v, 'eval'):8.3f} {_median(v, 'peak_mb'):8.0f} {r1:>12} {r2:>13}"
            )
        if "assay" in runs and "faster" in runs:
            pairs = list(zip(runs["faster"], runs["assay"], strict=True))
            e2e = [f["e2e"] / s["e2e"] for f, s in pairs]
            ev = [f["eval"] / s["eval"] for f, s in pairs]
            print(
                f"Assay vs faster-coco-eval (median of rounds): {statistics.median(e2e):.1f}x end to"
                f" end (min {min(e2e):.1f}x), {statistics.median(ev):.1f}x eval"
            )
        if "assay" in runs:
            v = runs["assay"]
            e2e_by_scale[scale] = _median(v, "e2e")
            print(
                "Assay query after eval (median of rounds of the median of 5): new IoU + confusion"
                f" + P/R/F1 {_median(v, 'query_iou') * 1e3:.1f} ms"
                f" ({_median(v, 'cpu_iou') * 1e3:.1f} ms CPU), new confidence"
                f" {_median(v, 'query_score') * 1e3:.2f} ms ({_median(v, 'cpu_score') * 1e3:.2f} ms"
                f" CPU); numba warm-up {_median(v, 'warmup'):.2f} s (once per process, excluded)"
            )
            for tool, o in runs.items():
                if tool != "assay":
                    diff = np.max(np.abs(np.array(o[0]["stats"]) - np.array(v[0]["stats"])))
                    print(f"max |stats difference| vs {names[tool]}: {diff:.2e}")
        print(_load())
    if len(e2e_by_scale) > 1:
        first = scales[0]
        parts = ", ".join(
            f"{s}x data: {e2e_by_scale[s] / e2e_by_scale[first]:.2f}x the time"
            for s in scales[1:]
            if s in e2e_by_scale
        )
        print(f"Assay scaling (median end to end vs {first}x): {parts}")


if __name__ == "__main__":
    main()
