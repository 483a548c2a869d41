"""The Ray part of ``benchmarks/scale.py`` (``--only ray``): images/s of a model run on one and two
Ray workers against the single-process run, on the demo's image model.

    .venv/bin/python benchmarks/scale.py --only ray
    .venv/bin/python benchmarks/scale_ray.py --copies 10 --repeats 3     # the same, alone

The demo's image model (:func:`assay.demo.models.make_digits`: 32 x 32 PNG digits read at 8 x 8 by
a small MLP in ONNX) runs over its held-out ImageFolder repeated ``--copies`` times, ``--batch``
images a batch, through :func:`assay.evaluation.model_run.evaluate_model` (predictions written,
then evaluated): once in this process (``run_images``: decoding threads beside the model), then
through :mod:`assay.runners.ray_run` on a local Ray instance of ``--cpus`` CPUs (started once,
before the clock) with one and with two runner actors. Each Ray run's time includes starting its
actors (each loads the model) and reading its shards back, which a user pays on every run. Every
run uses a new work folder (nothing resumed), after one untimed run (numba's compilation); the best of ``--repeats`` is kept. "After the first
batch" is the rate between the first batch landing and the last (actor start-up and the final
read-back left out): what a long run approaches. The Ray runs' predictions are checked equal to
the single-process run's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def _dataset(folder: Path, copies: int) -> tuple[Path, Path, int]:
    """(ImageFolder of the digits' test set repeated ``copies`` times, the model, images)."""
    from assay.demo.models import make_digits

    files = make_digits(folder / "digits")
    root = folder / "images"
    n = 0
    for label_dir in sorted(p for p in files.test_folder.iterdir() if p.is_dir()):
        out = root / label_dir.name
        out.mkdir(parents=True, exist_ok=True)
        for image in sorted(label_dir.iterdir()):
            for c in range(copies):
                shutil.copyfile(image, out / f"{c}-{image.name}")
                n += 1
    return root, files.fp32, n


def _scores(run: object) -> np.ndarray:
    import pyarrow.parquet as pq

    table = pq.read_table(run.pred_source)  # type: ignore[attr-defined]
    return np.column_stack([table.column(c).to_numpy() for c in table.column_names[1:]])


def ray_part(args: argparse.Namespace) -> None:
    """Print images/s single-process, on one and two Ray workers, and the ratios."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from assay.evaluation.model_run import evaluate_model
    from assay.runners import load_runner
    from assay.runners.ray_run import RayOptions, ray_predictor

    tmp = Path(tempfile.mkdtemp(prefix="assay-scale-ray-", dir=args.tmp))
    try:
        gt, model, n = _dataset(tmp, args.copies)
        runs = 0

        def timed(make_runner: object) -> tuple[float, float, np.ndarray]:
            """(best wall seconds, best steady images/s: after the first batch landed, the
            predictions)."""
            nonlocal runs
            best, steady, scores = float("inf"), 0.0, np.zeros(0)
            for _ in range(args.repeats):
                runs += 1
                work = tmp / f"work-{runs}"
                first: list[tuple[float, int]] = []
                last: list[tuple[float, int]] = []

                def progress(
                    done: int,
                    total: int,
                    first: list[tuple[float, int]] = first,
                    last: list[tuple[float, int]] = last,
                ) -> None:
                    now = (time.perf_counter(), done)
                    if done > 0 and not first:
                        first.append(now)
                    last[:] = [now]

                t0 = time.perf_counter()
                run = evaluate_model(
                    gt, make_runner(work), batch_size=args.batch, work_dir=work, progress=progress
                )  # type: ignore[operator]
                best = min(best, time.perf_counter() - t0)
                if first and last and last[0][0] > first[0][0]:
                    rate = (last[0][1] - first[0][1]) / (last[0][0] - first[0][0])
                    steady = max(steady, rate)
                scores = _scores(run)
            return best, steady, scores

        # once untimed: the evaluation's first call compiles its numba kernels
        evaluate_model(gt, load_runner(model), batch_size=args.batch, work_dir=tmp / "warm")
        local_s, local_steady, expected = timed(lambda work: load_runner(model))
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        try:
            rows = [("single process", local_s, local_steady)]
            for workers in (1, 2):
                seconds, steady, scores = timed(
                    lambda work, w=workers: ray_predictor(
                        load_runner(model), RayOptions(workers=w), work
                    )
                )
                assert np.array_equal(scores, expected), "Ray's predictions differ"
                rows.append((f"Ray, {workers} worker{'s' if workers > 1 else ''}", seconds, steady))
        finally:
            ray.shutdown()
        print(
            f"demo image model (digits MLP, ONNX), {n:,} images (32 x 32 PNG, read at 8 x 8), "
            f"batch {args.batch}, best of {args.repeats}; Ray: local instance, {args.cpus} CPUs; "
            f"this machine: {os.cpu_count()} cores"
        )
        for name, seconds, steady in rows:
            print(
                f"  {name:<18} {seconds:7.2f} s  {n / seconds:9,.0f} images/s  "
                f"x{local_s / seconds:.2f} of single-process;  after the first batch: "
                f"{steady:9,.0f} images/s  x{steady / local_steady:.2f}"
            )
        print("  (predictions identical to the single-process run's: checked)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--copies", type=int, default=10, help="ray: test set repeated N times")
    parser.add_argument("--batch", type=int, default=32, help="ray: images a batch")
    parser.add_argument("--repeats", type=int, default=3, help="ray: best of N runs")
    parser.add_argument("--cpus", type=int, default=2, help="ray: CPUs of the Ray instance")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--tmp", default=None, help="where the data are generated")
    ray_part(parser.parse_args(argv))


if __name__ == "__main__":
    main()
