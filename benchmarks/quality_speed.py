"""How fast is the data-quality analysis of a whole image test set? ``assay analyze EVAL`` end to
end, in a fresh process, on N generated photo-like JPEGs (default 10,000; 256 to 640 px a side:
smooth colour gradients, a few shapes and sensor noise, quality 90), the median of ``--rounds``
rounds with the load average printed. Each round removes the dataset version's cached properties
first, so every round decodes every image (the files themselves stay in the OS page cache, as
they would after a first read).

The workspace holds one dataset version of the N images and one 10-class evaluation of them
(errors planted in the darkest images, 1% of the images a re-encoded copy of another, 1% of the
labels flipped), so importance, duplicates and label issues all have something to find.

    python benchmarks/quality_speed.py                  # 10,000 images, 5 rounds
    python benchmarks/quality_speed.py -n 2000 --rounds 3
    python benchmarks/quality_speed.py --images /tmp/q10k   # keep (or reuse) the images there
    python benchmarks/quality_speed.py --profile        # also: the phases in this process
    python benchmarks/quality_speed.py --against 0a81c39  # before / after, rounds interleaved

``--against REV`` also runs the ``src`` tree of git revision REV (extracted into the temporary
folder, put first on PYTHONPATH) in every round, the two alternating which goes first, so both
meet the same load on a shared machine; it prints each one's medians and the ratios. Its numba
kernels are compiled afresh in its first round (their cache lives beside the extracted source),
which the median of several rounds leaves out.

Target: 10,000 JPEGs in under 30 s on this 2-core machine. Without ``--images`` nothing is
written outside a temporary folder, which is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _make_one(args: tuple[Path, int, int]) -> None:
    """One photo-like JPEG (seeded by its index: any subset can be made in any order)."""
    from PIL import Image, ImageDraw, ImageFilter

    path, i, seed = args
    rng = np.random.default_rng([seed, i])
    w, h = (int(v) for v in rng.integers(256, 641, 2))
    yy, xx = np.mgrid[0:64, 0:64] / 63.0
    c0, c1, c2 = (rng.uniform(0, 255, 3) * rng.uniform(0.15, 1.0) for _ in range(3))
    a = rng.uniform(0, 1)
    base = c0 * (1 - xx[..., None]) * a + c1 * yy[..., None] + c2 * (1 - a) * xx[..., None]
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).resize((w, h))
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = int(rng.integers(0, w - 30)), int(rng.integers(0, h - 30))
        x1, y1 = x0 + int(rng.integers(20, w // 2)), y0 + int(rng.integers(20, h // 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), colour)
    im = im.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 2))))
    noise = rng.integers(-8, 9, (h, w, 3), dtype=np.int16)  # sensor noise
    px = np.clip(np.asarray(im, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    Image.fromarray(px).save(path, quality=90)


def make_images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` photo-like JPEGs, 1% of them a re-encoded copy of the image before (the files
    already in ``folder`` are kept: an interrupted run resumes)."""
    from concurrent.futures import ProcessPoolExecutor

    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{i:05d}.jpg" for i in range(n)]
    todo = [(p, i, seed) for i, p in enumerate(paths) if i % 100 != 0 or i == 0]
    todo = [t for t in todo if not t[0].is_file()]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(_make_one, todo, chunksize=64))
    for i in range(100, n, 100):
        if not paths[i].is_file():
            Image.open(paths[i - 1]).save(paths[i], quality=85)
    return paths


def make_workspace(home: Path, paths: list[Path], seed: int = 1) -> tuple[int, int]:
    """(evaluation id, dataset version id) of a 10-class evaluation of the images."""
    import pyarrow as pa
    from PIL import Image

    from assay.evaluation.classification import ClassificationResults
    from assay.store import Workspace

    rng = np.random.default_rng(seed)
    n, k = len(paths), 10
    # darkness from a 16 x 16 thumbnail: cheap, and errors then go with brightness
    level = np.empty(n)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            im.draft("L", (32, 32))
            level[i] = np.asarray(im.convert("L"), dtype=np.float64).mean() / 255
    y = rng.integers(0, k, n)
    wrong = rng.random(n) < np.where(level < np.quantile(level, 0.2), 0.6, 0.1)
    pred = np.where(wrong, (y + rng.integers(1, k, n)) % k, y)
    logits = rng.normal(0, 1, (n, k)) + 3.0 * np.eye(k)[pred]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    given = y.copy()
    flip = rng.random(n) < 0.01
    given[flip] = (y[flip] + 1) % k
    ws = Workspace(home)
    dv = ws.add_dataset_version(
        "photos",
        task="classification",
        samples=pa.table({"id": [p.stem for p in paths], "path": [str(p) for p in paths]}),
        media_root=paths[0].parent,
    )
    classes = [f"c{j}" for j in range(k)]
    res = ClassificationResults(given, scores, classes)
    rec = ws.save_evaluation(res, name="photos-model", dataset_version_id=dv.id)
    ws.close()
    return rec.id, dv.id


def extract_src(rev: str, into: Path) -> Path:
    """The ``src`` folder of git revision ``rev`` of this repository, extracted under ``into``."""
    repo = Path(__file__).resolve().parents[1]
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", rev, "src"], cwd=repo, capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(f"--against {rev}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def load() -> str:
    return f"load {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs"


def profile(paths: list[Path]) -> None:
    """The phases in this process: decoding alone, one image's whole work, and the whole table."""
    from PIL import Image

    from assay.evaluation.quality import _images

    sample = paths[: min(300, len(paths))]
    t = time.perf_counter()
    for p in sample:
        _images._open_rgb(p)
    decode = (time.perf_counter() - t) / len(sample)
    t = time.perf_counter()
    for p in sample:
        _images._one(p)
    one = (time.perf_counter() - t) / len(sample)
    t = time.perf_counter()
    for p in sample:
        with Image.open(p) as im:
            im.load()
    full = (time.perf_counter() - t) / len(sample)
    print(f"  per image, one thread: full-size decode {full * 1e3:.2f} ms, draft decode + shrink "
          f"{decode * 1e3:.2f} ms, all properties {one * 1e3:.2f} ms")  # fmt: skip
    t = time.perf_counter()
    _images.image_properties(paths)
    print(f"  image_properties on {len(paths)}: {time.perf_counter() - t:.1f} s ({load()})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=10_000, help="images (default 10,000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=Path, default=None, help="keep / reuse images here")
    parser.add_argument("--profile", action="store_true", help="time the phases in-process too")
    parser.add_argument(
        "--against", metavar="REV", help="also run git revision REV's src, interleaved"
    )
    args = parser.parse_args(argv)
    if args.n < 10 or args.rounds < 1:
        parser.error("-n: at least 10; --rounds: at least 1")

    tmp = Path(tempfile.mkdtemp(prefix="assay-quality-"))
    try:
        t = time.perf_counter()
        paths = make_images(args.images or tmp / "images", args.n)
        print(f"{args.n} JPEGs ready in {time.perf_counter() - t:.0f} s")
        home = tmp / "home"
        eid, dv = make_workspace(home, paths)
        trees: dict[str, dict[str, str]] = {"this tree": os.environ | {"ASSAY_HOME": str(home)}}
        if args.against:
            src = extract_src(args.against, tmp / "against")
            trees[args.against] = trees["this tree"] | {"PYTHONPATH": str(src)}
        cmd = [sys.executable, "-m", "assay", "analyze", str(eid), "--json", str(tmp / "out.json")]
        cached = home / "datasets" / str(dv) / "properties.parquet"
        times: dict[str, list[float]] = {name: [] for name in trees}
        cpus: dict[str, list[float]] = {name: [] for name in trees}
        for r in range(args.rounds):
            names = list(trees) if r % 2 == 0 else list(trees)[::-1]
            for name in names:
                cached.unlink(missing_ok=True)
                before, used = load(), resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                done = subprocess.run(cmd, env=trees[name], capture_output=True, text=True)
                times[name].append(time.perf_counter() - t)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)  # with its worker processes
                cpus[name].append(after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime)
                if done.returncode != 0:
                    raise SystemExit(
                        f"assay analyze ({name}) failed ({done.returncode}): {done.stderr}"
                    )
                stages = json.loads((tmp / "out.json").read_text()).get("stages_s", {})
                split = ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
                label = f" [{name}]" if args.against else ""
                print(f"  round {r + 1}{label}: {times[name][-1]:.1f} s, CPU {cpus[name][-1]:.1f} s "
                      f"({before}); in the process: {split} s")  # fmt: skip
        cores = os.cpu_count() or 1
        for name in trees:
            med, cpu = statistics.median(times[name]), statistics.median(cpus[name])
            verdict = "met" if med < 30 else "NOT met"
            label = f" [{name}]" if args.against else ""
            print(f"assay analyze{label}, {args.n} JPEGs: median {med:.1f} s over {args.rounds} rounds, "
                  f"{args.n / med:.0f} images/s; CPU {cpu:.1f} s (all processes; / {cores} "
                  f"cores = {cpu / cores:.1f} s, the wall on an idle machine at best)"
                  f"{'' if args.n != 10_000 else f' (target < 30 s: {verdict})'}; {load()}")  # fmt: skip
        if args.against:
            old, new = args.against, "this tree"
            print(f"{old} / this tree: wall {statistics.median(times[old]) / statistics.median(times[new]):.2f}x, "
                  f"CPU {statistics.median(cpus[old]) / statistics.median(cpus[new]):.2f}x (medians)")  # fmt: skip
        if args.profile:
            profile(paths)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
