"""How fast is the data-quality analysis? Makes N JPEG images (noise plus shapes, 320x240 to
640x480) in a temporary folder, times ``image_properties`` on them, then times ``importance``
(the ranking) on those properties plus 8 metadata-like columns (20 in all), with errors planted
in the dark images.

    python benchmarks/analysis.py                 # 10,000 images, one thread per core
    python benchmarks/analysis.py -n 2000 --workers 1
    python benchmarks/analysis.py --threads       # threads instead of forked processes
    python benchmarks/analysis.py --ranking-only  # random properties, no images

The targets: 10,000 images in under 60 s on 2 cores; their ranking in under 10 s. Nothing is
written outside the temporary folder, which is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def make_images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` JPEGs of varied sizes: smooth noise, a few rectangles and ellipses."""
    rng = np.random.default_rng(seed)
    sizes = [(320, 240), (400, 300), (480, 360), (512, 384), (640, 480), (480, 640)]
    base = rng.integers(0, 256, size=(60, 80, 3), dtype=np.uint8)
    paths = []
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        tile = np.roll(base, shift=(i * 7) % 60, axis=0) // rng.integers(1, 4)
        im = Image.fromarray(tile.astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR)
        draw = ImageDraw.Draw(im)
        for _ in range(3):
            x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
            x1, y1 = x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2))
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            (draw.rectangle if rng.random() < 0.5 else draw.ellipse)([x0, y0, x1, y1], fill=colour)
        path = folder / f"{i:05d}.jpg"
        im.save(path, quality=int(rng.integers(70, 95)))
        paths.append(path)
    return paths


def time_ranking(values: dict[str, np.ndarray], seed: int = 0) -> tuple[float, str]:
    """Seconds ``importance`` takes on ``values`` plus 8 more columns (3 categorical), with
    errors planted where brightness is lowest; the top property's name."""
    from assay.evaluation.quality import importance

    rng = np.random.default_rng(seed)
    n = len(next(iter(values.values())))
    cols = dict(values)
    for k in range(5):
        cols[f"meta_{k}"] = rng.normal(size=n)
    for k in range(3):
        cols[f"group_{k}"] = rng.integers(0, 6, n).astype(np.float64)
    dark = cols["brightness"] <= np.nanquantile(cols["brightness"], 0.2)
    correct = rng.random(n) >= np.where(dark, 0.5, 0.05)
    importance(cols, correct, seed=seed)  # imports, not timed
    t0 = time.perf_counter()
    rows = importance(cols, correct, seed=seed, categorical=[f"group_{k}" for k in range(3)])
    return time.perf_counter() - t0, rows[0]["property"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="images (default 10,000)")
    parser.add_argument("--workers", type=int, default=None, help="workers (default: per core)")
    parser.add_argument("--threads", action="store_true", help="threads, never processes")
    parser.add_argument("--ranking-only", action="store_true",
                        help="time the ranking alone, on 12 random properties (no images)")  # fmt: skip
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if args.ranking_only:
        rng = np.random.default_rng(1)
        names = ["brightness", *(f"p{k}" for k in range(11))]
        took, top = time_ranking({name: rng.random(args.n) for name in names})
        print(f"importance: {args.n} samples x 20 properties in {took:.1f} s ({cores} cores; "
              f"top {top})")  # fmt: skip
        return

    from assay.evaluation.quality import image_properties
    from assay.evaluation.quality._images import PROCESSES_FROM, default_workers

    with tempfile.TemporaryDirectory(prefix="assay-bench-") as tmp:
        t0 = time.perf_counter()
        paths = make_images(Path(tmp), args.n)
        made = time.perf_counter() - t0
        print(f"made {len(paths)} JPEGs in {made:.1f} s (not timed below)")
        workers = args.workers or default_workers()
        t0 = time.perf_counter()
        processes = False if args.threads else None
        table = image_properties(paths, workers=workers, processes=processes)
        took = time.perf_counter() - t0
    print(
        f"image_properties: {args.n} images in {took:.1f} s = {args.n / took:.0f} images/s "
        f"({workers} {'threads' if args.threads or args.n < PROCESSES_FROM else 'processes'}, "
        f"{cores} cores; unreadable {table.unreadable})"
    )
    target = 60.0 * args.n / 10_000
    print(f"target < {target:.0f} s: {'met' if took < target else 'NOT met'}")
    ranked, top = time_ranking(table.values)
    print(f"importance: {args.n} samples x {len(table.values) + 8} properties in {ranked:.1f} s "
          f"(top {top}); target < 10 s: {'met' if ranked < 10 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
