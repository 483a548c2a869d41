"""Benchmark: Assay's classification evaluation against scikit-learn's set of metrics.

Builds seeded float32 softmax scores, saves them, then times each tool in its own fresh process
(median over ``--rounds``, Assay and scikit-learn alternating so both see the same load):

- Assay: ``ClassificationResults`` (summary, per-class table, confusion matrix, calibration, top-k,
  log loss, ROC AUC / AP per class and macro: everything but the bootstrap), its numba kernels
  loaded from the on-disk cache in that process (compiled once by a warm-up process first),
- scikit-learn: ``roc_auc_score`` (ovr, macro), ``average_precision_score`` (macro, one-hot),
  ``classification_report``, ``confusion_matrix``, ``top_k_accuracy_score`` (k=5), ``log_loss``,
- a threshold query (per_class + confusion_matrix + summary at a new threshold, median of 20).

Timings start once the scores are loaded (imports excluded). Each round prints the wall seconds
and the CPU seconds (user + system, every thread) of that span: on a loaded machine the wall is
the CPU plus waiting, and Assay's CPU counts both of its threads. Peak memory is the
child's peak resident memory (VmHWM) above its resident memory after loading the scores: the
peak is reset there (``5`` into /proc/self/clear_refs), so loading does not count. The load
average is printed with every table; the machine is shared.

    .venv/bin/python benchmarks/classification.py            # 1M x 100 and 100k x 1000
    .venv/bin/python benchmarks/classification.py --sizes 1000000x100 --rounds 5
    .venv/bin/python benchmarks/classification.py --quick --skip-sklearn
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assay.evaluation.classification import ClassificationResults
from assay.evaluation.results import OperatingPoint


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


def sklearn_set(y: np.ndarray, s: np.ndarray) -> dict[str, Any]:
    """scikit-learn's set, each part timed (seconds); "numbers": macro AUC, macro AP, log loss,
    top-5 accuracy, to check Assay's against."""
    from sklearn import metrics as skm

    times: dict[str, Any] = {}
    values: dict[str, float] = {}
    labels = np.arange(s.shape[1])

    def timed(name: str, fn: Callable[[], Any]) -> None:
        t0 = time.perf_counter()
        value = fn()
        times[name] = time.perf_counter() - t0
        if isinstance(value, float | np.floating):
            values[name] = float(value)

    pred = s.argmax(axis=1)
    timed("roc_auc_ovr", lambda: skm.roc_auc_score(y, s, multi_class="ovr", labels=labels))

    def ap() -> float:
        onehot = np.zeros(s.shape, dtype=np.int8)
        onehot[np.arange(len(y)), y] = 1
        return float(skm.average_precision_score(onehot, s, average="macro"))

    timed("average_precision", ap)
    timed("report", lambda: skm.classification_report(y, pred, zero_division=0))
    timed("confusion", lambda: skm.confusion_matrix(y, pred, labels=labels))
    timed("top5", lambda: skm.top_k_accuracy_score(y, s, k=5, labels=labels))
    timed("log_loss", lambda: skm.log_loss(y, s, labels=labels))
    times["numbers"] = [values[k] for k in ("roc_auc_ovr", "average_precision", "log_loss", "top5")]
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


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    """Reset VmHWM to the current resident memory (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def child(tool: str, path: str) -> dict[str, Any]:
    """One tool on the saved scores, in this (fresh) process: seconds, peak extra MB, details."""
    out: dict[str, Any] = {}
    data = np.load(path)
    y, s = data["y"], data["s"]
    gc.collect()
    _reset_peak()
    base = _status_mb("VmRSS")
    c0 = time.process_time()
    t0 = time.perf_counter()
    if tool == "assay":
        r = assay_build(y, s)
        out["seconds"] = time.perf_counter() - t0
        out["cpu_s"] = time.process_time() - c0
        out["peak_mb"] = _status_mb("VmHWM") - base
        out["query_ms"] = query_ms(r)
        t0 = time.perf_counter()
        r.optimal()
        out["optimal_s"] = time.perf_counter() - t0
        out["numbers"] = [
            float(np.nanmean(r._auc)),
            float(np.nanmean(r._ap)),
            float(r._log_loss),
            float(r._within_k[min(5, s.shape[1])]),
        ]
    else:
        detail = sklearn_set(y, s)
        out["seconds"] = time.perf_counter() - t0
        out["cpu_s"] = time.process_time() - c0
        out["peak_mb"] = _status_mb("VmHWM") - base
        out["detail"] = {k: v for k, v in detail.items() if k != "numbers"}
        out["numbers"] = detail.get("numbers", [])
    return out


def run_child(tool: str, path: str, *extra: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, __file__, "--child", tool, path, *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise SystemExit(f"{tool} failed:\n{r.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    out["process_s"] = time.perf_counter() - t0
    return out


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    ap.add_argument("--skip-sklearn", action="store_true", help="time Assay only")
    ap.add_argument("--sizes", default=None, help="N x C list, e.g. 1000000x100,100000x1000")
    ap.add_argument("--rounds", type=int, default=5, help="fresh processes per tool (median)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", nargs=2, metavar=("TOOL", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    if args.sizes:
        sizes = [tuple(int(v) for v in x.split("x")) for x in args.sizes.split(",")]
    else:
        sizes = (
            [(100_000, 100), (20_000, 1000)] if args.quick else [(1_000_000, 100), (100_000, 1000)]
        )
    tools = ["assay"] + ([] if args.skip_sklearn else ["sklearn"])
    with tempfile.TemporaryDirectory() as d:
        # compile (or load) the kernels once, so each timed process loads them from the cache
        warm = Path(d) / "warm.npz"
        wy, ws = make_scores(70_000, 20, 1)
        np.savez(warm, y=wy, s=ws)
        run_child("assay", str(warm))
        for n, n_classes in sizes:
            path = Path(d) / f"{n}x{n_classes}.npz"
            y, s = make_scores(n, n_classes, args.seed)
            mb = s.nbytes / 2**20
            np.savez(path, y=y, s=s)
            del y, s
            print(f"\n== {n:,} x {n_classes:,} float32 scores ({mb:.0f} MB), {args.rounds} rounds")
            runs: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
            ratios = []
            for k in range(args.rounds):
                before = load()
                for tool in tools:
                    runs[tool].append(run_child(tool, str(path)))
                a = runs["assay"][-1]
                line = f"round {k + 1}: {before}; assay {a['seconds']:.3f} s (CPU {a['cpu_s']:.2f})"
                if "sklearn" in runs:
                    sk = runs["sklearn"][-1]
                    ratios.append(sk["seconds"] / a["seconds"])
                    line += (
                        f", sklearn {sk['seconds']:.2f} s (CPU {sk['cpu_s']:.2f}),"
                        f" {ratios[-1]:.1f}x"
                    )
                print(line, flush=True)
            med = {t: statistics.median(r["seconds"] for r in v) for t, v in runs.items()}
            a_runs = runs["assay"]
            peak = statistics.median(r["peak_mb"] for r in a_runs)
            print(f"{'':24} {'median':>9} {'min':>9} {'max':>9}")
            for t, v in runs.items():
                secs = [r["seconds"] for r in v]
                print(f"{t + ' s':24} {med[t]:9.3f} {min(secs):9.3f} {max(secs):9.3f}")
                cpus = [r["cpu_s"] for r in v]
                print(
                    f"{t + ' CPU s':24} {statistics.median(cpus):9.3f} {min(cpus):9.3f}"
                    f" {max(cpus):9.3f}"
                )
            if ratios:
                print(
                    f"{'sklearn / assay':24} {statistics.median(ratios):8.1f}x"
                    f" {min(ratios):8.1f}x {max(ratios):8.1f}x"
                )
                cpu_ratios = [
                    k["cpu_s"] / a["cpu_s"]
                    for k, a in zip(runs["sklearn"], runs["assay"], strict=True)
                ]
                print(
                    f"{'sklearn / assay CPU':24} {statistics.median(cpu_ratios):8.1f}x"
                    f" {min(cpu_ratios):8.1f}x {max(cpu_ratios):8.1f}x"
                )
            print(
                f"assay peak +{peak:.0f} MB = {peak / mb:.2f}x the scores"
                + (
                    f"; sklearn peak +{statistics.median(r['peak_mb'] for r in runs['sklearn']):.0f} MB"
                    if "sklearn" in runs
                    else ""
                )
            )
            print(
                f"assay query at a new threshold {statistics.median(r['query_ms'] for r in a_runs):.2f} ms"
                f", optimal {statistics.median(r['optimal_s'] for r in a_runs):.2f} s"
                f", whole child process {statistics.median(r['process_s'] for r in a_runs):.2f} s"
            )
            if "sklearn" in runs:
                d0 = runs["sklearn"][0]["detail"]
                print(
                    "sklearn parts (round 1): " + ", ".join(f"{k} {v:.2f}" for k, v in d0.items())
                )
                diff = np.max(
                    np.abs(np.subtract(a_runs[0]["numbers"], runs["sklearn"][0]["numbers"]))
                )
                print(
                    f"max |macro AUC, macro AP, log loss, top-5| difference vs sklearn: {diff:.1e}"
                )
            print(load())


if __name__ == "__main__":
    main()
