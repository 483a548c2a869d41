"""Beyond one machine: what Assay costs at scale.

    .venv/bin/python benchmarks/scale.py                      # every part
    .venv/bin/python benchmarks/scale.py --only sharded       # sharded evaluation only
    .venv/bin/python benchmarks/scale.py --only sharded --quick
    .venv/bin/python benchmarks/scale.py --only ray            # Ray workers vs one process

Parts (each its own function; ``--only`` picks one):

- ``ray_part`` (:mod:`scale_ray`): images/s of the demo's image model on one and two Ray workers
  against the single-process run, as ratios (``--copies``, ``--batch``, ``--repeats``, ``--cpus``).

- ``sharded_part``: a sharded classification evaluation (:mod:`assay.evaluation.sharded`) of
  ``--rows`` samples x ``--classes`` classes (default 10M x 100) from Parquet shards of
  ``--shard-rows`` rows, against the in-memory path (:func:`assay.evaluation.run.evaluate_files`
  on one Parquet file) on ``--memory-rows`` samples (default 1M) scaled to ``--rows`` (time and
  the peak memory above the interpreter's, times rows / memory-rows: the in-memory path holds the
  whole matrix, so it grows linearly). Both produce the full report (summary, per-class table,
  confusion, F1-optimal threshold). The sharded path also runs on the ``--memory-rows`` set, so
  the two are compared on the same data too (their reports must agree to 1e-9: checked). Each
  evaluation runs in a fresh subprocess that reports its wall time and peak resident memory
  (``VmHWM`` of /proc/self/status: the high-water mark since the child's exec). The data
  (scores: float64 Dirichlet-like rows favouring the annotated class) are generated in a
  temporary folder (``--tmp``) and deleted after, or in ``--data`` (kept, and reused when a
  later run names the same folder and sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path


def high_water_kib():
    # VmHWM: this process's peak resident memory since its execve (ru_maxrss would carry the
    # parent's peak across fork + exec on Linux)
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


kind, gt, pred, out, batch = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
import tempfile
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from assay.evaluation.run import evaluate_files
from assay.evaluation.sharded import evaluate_sharded
# warm-up on 64 x 3 scores (imports, numba's cached kernels loaded): neither the clock nor the
# memory baseline counts it, so what is measured is what grows with the data
with tempfile.TemporaryDirectory() as warm:
    rng = np.random.default_rng(0)
    s = rng.dirichlet(np.ones(3), 64)
    ids = [f"w{i}" for i in range(64)]
    pq.write_table(pa.table({"id": ids, "label": [["a", "b", "c"][i % 3] for i in range(64)]}),
                   f"{warm}/gt.parquet")
    Path(f"{warm}/p").mkdir()
    pq.write_table(pa.table({"id": ids, "a": s[:, 0], "b": s[:, 1], "c": s[:, 2]}),
                   f"{warm}/p/0.parquet")
    evaluate_files(f"{warm}/gt.parquet", f"{warm}/p/0.parquet").results.report()
    evaluate_sharded(f"{warm}/gt.parquet", f"{warm}/p").results.report()
base = high_water_kib()
t0 = time.perf_counter()
if kind == "memory":
    report = evaluate_files(gt, pred).results.report()
else:
    run = evaluate_sharded(gt, pred, batch_rows=batch or None)
    report = run.results.report()
    run.results.close()
seconds = time.perf_counter() - t0
peak = high_water_kib()
Path(out).write_text(json.dumps({"seconds": seconds, "peak_kib": peak, "base_kib": base,
                                 "report": report}))
"""


def _write_data(folder: Path, rows: int, classes: int, shard_rows: int, seed: int = 0) -> None:
    """``gt.parquet`` (id, label) and ``shards/part-*.parquet`` (id + one float64 column a class),
    written shard by shard (never the whole matrix in memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    names = [f"class_{c:03d}" for c in range(classes)]
    shards = folder / "shards"
    shards.mkdir(parents=True)
    labels = rng.integers(0, classes, rows)
    ids = np.char.add("s", np.arange(rows).astype(str)).astype(object)
    pq.write_table(
        pa.table({"id": pa.array(ids, pa.string()), "label": pa.array(np.array(names)[labels])}),
        folder / "gt.parquet",
    )
    for k, a in enumerate(range(0, rows, shard_rows)):
        b = min(rows, a + shard_rows)
        s = rng.gamma(0.3, size=(b - a, classes))
        right = rng.random(b - a) < 0.7  # about 70% top-1
        s[np.flatnonzero(right), labels[a:b][right]] += 2.0
        s /= s.sum(axis=1, keepdims=True)
        table = pa.table({"id": pa.array(ids[a:b], pa.string()),
                          **{n: s[:, j] for j, n in enumerate(names)}})  # fmt: skip
        pq.write_table(table, shards / f"part-{k:04d}.parquet", row_group_size=100_000)


def _subset_gt(src: Path, dst: Path, rows: int) -> None:
    import pyarrow.parquet as pq

    pq.write_table(pq.read_table(src).slice(0, rows), dst)


def _baseline_files(tmp: Path, small: Path, mem_rows: int, shard_rows: int) -> None:
    """The in-memory baseline's input: the first ``mem_rows`` samples as one Parquet file (and
    the same rows as shards, hard links), in ``small``."""
    import pyarrow.parquet as pq

    small.mkdir()
    _subset_gt(tmp / "gt.parquet", small / "gt.parquet", mem_rows)
    first = sorted((tmp / "shards").iterdir())[: mem_rows // shard_rows]
    writer = None
    for f in first:
        t = pq.read_table(f)
        writer = writer or pq.ParquetWriter(small / "pred.parquet", t.schema)
        writer.write_table(t)
    assert writer is not None
    writer.close()
    (small / "shards").mkdir()
    for f in first:
        os.link(f, small / "shards" / f.name)


def _measure(kind: str, gt: Path, pred: Path, batch_rows: int, tmp: Path) -> dict:
    out = tmp / f"result-{kind}-{time.monotonic_ns()}.json"
    cmd = [sys.executable, "-c", _CHILD, kind, str(gt), str(pred), str(out), str(batch_rows)]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    subprocess.run(cmd, check=True, env=env)
    result: dict = json.loads(out.read_text())
    out.unlink()
    return result


def _same(a: object, b: object, path: str = "") -> str | None:
    """The first place where two reports differ by more than 1e-9, else None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k not in b:
                return f"{path}/{k} missing"
            d = _same(a[k], b[k], f"{path}/{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: lengths {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = _same(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, float) and isinstance(b, float):
        return None if abs(a - b) <= 1e-9 else f"{path}: {a} != {b}"
    return None if a == b else f"{path}: {a!r} != {b!r}"


def sharded_part(args: argparse.Namespace) -> None:
    """A ``--rows`` x ``--classes`` sharded evaluation against the in-memory path on
    ``--memory-rows`` scaled (see the module)."""
    rows, classes, mem_rows = args.rows, args.classes, args.memory_rows
    shard_rows = min(args.shard_rows, mem_rows)
    keep = args.data is not None
    if keep:
        tmp = Path(args.data).resolve() / f"{rows}x{classes}-{shard_rows}-{mem_rows}"
    else:
        tmp = Path(tempfile.mkdtemp(prefix="assay-scale-", dir=args.tmp))
    small = tmp / "small"
    try:
        t0 = time.perf_counter()
        if not (tmp / "ready").exists():
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            _write_data(tmp, rows, classes, shard_rows)
            _baseline_files(tmp, small, mem_rows, shard_rows)
            (tmp / "ready").touch()
        size = sum(f.stat().st_size for f in (tmp / "shards").iterdir())
        print(
            f"data: {rows:,} x {classes} scores in {len(list((tmp / 'shards').iterdir()))} "
            f"shards ({size / 2**30:.1f} GiB Parquet), ready in {time.perf_counter() - t0:.0f} s"
        )
        batch = args.batch_rows
        memory = _measure("memory", small / "gt.parquet", small / "pred.parquet", batch, tmp)
        same = _measure("sharded", small / "gt.parquet", small / "shards", batch, tmp)
        big = _measure("sharded", tmp / "gt.parquet", tmp / "shards", batch, tmp)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    diff = _same(memory["report"], same["report"])
    print(f"reports at {mem_rows:,} rows, in-memory vs sharded: {diff or 'equal to 1e-9'}")
    scale = rows / mem_rows

    def mib(r: dict) -> float:
        return max(r["peak_kib"] - r["base_kib"], 1) / 1024  # KiB; at least 1 (no 0 division)

    lines = [
        ("in-memory", mem_rows, memory["seconds"], mib(memory), memory["peak_kib"] / 1024),
        ("sharded", mem_rows, same["seconds"], mib(same), same["peak_kib"] / 1024),
        (f"in-memory x{scale:g} (scaled)", rows, memory["seconds"] * scale, mib(memory) * scale,
         None),
        ("sharded", rows, big["seconds"], mib(big), big["peak_kib"] / 1024),
    ]  # fmt: skip
    print(f"{'path':<26}{'rows':>13}{'seconds':>10}{'peak MiB':>11}{'process MiB':>13}")
    for name, n, sec, peak, proc in lines:
        shown = f"{proc:>13.0f}" if proc is not None else f"{'-':>13}"
        print(f"{name:<26}{n:>13,}{sec:>10.1f}{peak:>11.0f}{shown}")
    print(
        f"sharded {rows:,} vs in-memory scaled: time x{big['seconds'] / (memory['seconds'] * scale):.2f}, "
        f"peak memory x{mib(big) / (mib(memory) * scale):.3f}; "
        f"same {mem_rows:,} rows: time x{same['seconds'] / memory['seconds']:.2f}, "
        f"peak memory x{mib(same) / mib(memory):.2f}"
    )
    print("(peak MiB: the evaluation's peak resident memory above the process after a warm-up "
          "on 64 x 3 scores (imports, kernels); process MiB: the whole process's peak)")  # fmt: skip


def ray_part(args: argparse.Namespace) -> None:
    """Images/s on one and two Ray workers against the single-process run (benchmarks/scale_ray.py)."""
    sys.path.insert(0, str(HERE))
    from scale_ray import ray_part as run

    run(args)


PARTS = {"sharded": sharded_part, "ray": ray_part}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(PARTS), help="run one part")
    parser.add_argument("--quick", action="store_true", help="1M x 100 against 100k x 100")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--memory-rows", type=int, default=1_000_000)
    parser.add_argument("--shard-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--batch-rows", type=int, default=0, help="rows reduced at a time (0: the default)"
    )
    parser.add_argument("--tmp", default=None, help="where the data are generated")
    parser.add_argument("--data", default=None, help="keep (and reuse) the data in this folder")
    sys.path.insert(0, str(HERE))
    from scale_ray import add_arguments

    add_arguments(parser)  # the ray part's: --copies, --batch, --repeats, --cpus
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.memory_rows, args.shard_rows = 1_000_000, 100_000, 100_000
    for name, part in PARTS.items():
        if args.only in (None, name):
            print(f"== {name}")
            part(args)


if __name__ == "__main__":
    main()
