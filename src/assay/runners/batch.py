"""Batch inference over many images (or texts), with decoding overlapped with inference, a progress
callback, and predictions streamed to disk so an interrupted run resumes where it stopped.

Images are decoded and preprocessed a few batches ahead of the model; the main thread only runs
the model and writes. With ``processes=True`` (and ``PROCESS_MIN_BATCHES`` batches or more), one
forked process per core (up to 4) decodes, the first batches inline while they start: each has
its own interpreter, so the Python half of decoding small images runs in parallel too, at ~1.7x
the CPU (on 2 shared cores 0.6-1.4x a bare loop, 0.6x the quietest: not the default).
Otherwise a small thread pool decodes (Pillow releases the GIL while it decodes and resizes);
how many threads depends on the images
(``default_workers``): larger ones spend most of their decoding time in Pillow's C code, so every
core decodes; small ones spend about half of it in Python, holding the GIL, so a second decoding
thread costs more in GIL hand-offs than it gains, and whether even one beats decoding inline
depends on the model's share of the time and on the machine's load: each batch goes the way
measured faster so far in the run, and the other way is timed again now and then (``_Chooser``).

With ``out_dir``, predictions are written as each batch finishes, beside a ``manifest.json`` that
fingerprints the run (model file, spec, inputs, batch size): scores are appended to ``scores.f64``
(float64 rows, one write per batch; ``scores.json`` gives the width), detections go to one
``batch-000000.npz``, ``batch-000001.npz``... per batch (written to a temp name, then renamed).
Running again with the same ``out_dir`` reads the finished batches back and computes only the
missing ones; a torn tail (a run killed mid-write) is cut off; a folder holding another run is
refused.

A runner that predicts many batches at once elsewhere (:mod:`assay.runners.ray_run`: the actors
of a Ray cluster decode and predict) has a ``predict_many(items, todo, starts, batch_size, kind,
done, progress)`` method that gives ``(batch index, prediction)`` for the batches in ``todo``, in
that order; the run then writes them here as if it had computed them, and that method calls
``progress`` itself.

    >>> res = run_images(runner, paths, batch_size=32, out_dir="preds/",          # doctest: +SKIP
    ...                  progress=lambda done, total: print(done, total))
    >>> res.scores.shape, res.computed_batches, res.resumed_batches                 # doctest: +SKIP
    ((2000, 10), 63, 0)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import statistics
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InputError
from assay.runners.base import Runner
from assay.runners.detection import Detections
from assay.runners.preprocess import Geometry, load_batch

Progress = Callable[[int, int], None]
MANIFEST = "manifest.json"
FORMAT_VERSION = 1
GIL_SWITCH_INTERVAL = 0.0005
# Small images (``_Chooser``): the first WARMUP_BATCHES inline and untimed (a session's first runs
# are 2-3x slower), then EXPLOIT_BATCHES by the thread, then TRIAL_BATCHES inline; then blocks of
# the faster way (doubling, up to 4x, while it stays the faster), each followed by TRIAL_BATCHES
# the other. Inline counts as faster only when INLINE_MARGIN faster (per-batch times are noisy;
# the overlap is the better way more often: on 2 shared cores, 96 x 80 JPEGs into a 64 x 64
# model, one thread 1.08x / 1.31x a bare loop, inline 1.06x / 1.01x, over two sets of rounds).
WARMUP_BATCHES = 2
TRIAL_BATCHES = 3
EXPLOIT_BATCHES = 12
INLINE_MARGIN = 0.1
_KEEP = 6  # timings kept of each way (their median is compared)


@dataclass(frozen=True)
class BatchResult:
    """The predictions of a run, in input order: ``scores`` (N, C) for classification, or
    ``detections`` (one per input) for detection."""

    n: int
    batch_size: int
    scores: np.ndarray | None = None
    detections: list[Detections] | None = None
    computed_batches: int = 0
    resumed_batches: int = 0
    out_dir: Path | None = None
    classes: tuple[str, ...] | None = field(default=None)
    workers: int = 0  # decoding threads of this run (0: decoded in the calling thread)
    processes: bool = False  # the workers were processes
    pooled_batches: int = 0  # batches the workers decoded (the others: the calling thread)


def run_fingerprint(runner: Runner, items: Sequence[Any], batch_size: int, kind: str) -> str:
    """What makes a run's predictions (the model file, its spec, the inputs, the batch size), as
    a sha256: a folder of batches is resumed only by the run that names the same."""
    h = hashlib.sha256()
    path = Path(runner.path)
    try:
        st = path.stat()
        h.update(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    except OSError:
        h.update(str(path).encode())
    spec = {k: v for k, v in runner.spec.__dict__.items() if k != "source"}
    h.update(repr(sorted(spec.items(), key=lambda kv: kv[0])).encode())
    h.update(f"|{kind}|{batch_size}|{len(items)}|".encode())
    for item in items:
        h.update(str(item).encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def _open_out_dir(out_dir: Path, manifest: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / MANIFEST
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            old = None
        if not isinstance(old, dict) or old.get("fingerprint") != manifest["fingerprint"]:
            raise InputError(
                "this folder holds the predictions of another run (another model, "
                "spec, inputs or batch size); use a new folder",
                file=str(out_dir),
            )
        return
    tmp = out_dir / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _shard_path(out_dir: Path, index: int) -> Path:
    return out_dir / f"batch-{index:06d}.npz"


def _save_shard(out_dir: Path, index: int, pred: np.ndarray | list[Detections]) -> None:
    final = _shard_path(out_dir, index)
    tmp = final.with_name(f".{final.name}.tmp")
    with open(tmp, "wb") as fh:
        if isinstance(pred, np.ndarray):
            np.savez(fh, scores=pred)
        else:
            counts = np.array([len(d) for d in pred], np.int64)
            boxes = np.concatenate([d.boxes for d in pred]) if pred else np.zeros((0, 4))
            np.savez(
                fh,
                counts=counts,
                boxes=boxes.reshape(-1, 4),
                det_scores=np.concatenate([d.scores for d in pred]) if pred else np.zeros(0),
                labels=np.concatenate([d.labels for d in pred]) if pred else np.zeros(0, int),
            )
    os.replace(tmp, final)


def _load_shard(out_dir: Path, index: int, expected: int) -> np.ndarray | list[Detections] | None:
    """A finished shard, or None when it is missing or unreadable (then it is computed again)."""
    path = _shard_path(out_dir, index)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if "scores" in z:
                scores = z["scores"]
                return scores if len(scores) == expected else None
            counts = z["counts"]
            if len(counts) != expected:
                return None
            ends = np.cumsum(counts)
            starts = ends - counts
            boxes, scores, labels = z["boxes"], z["det_scores"], z["labels"]
            return [
                Detections(boxes[s:e], scores[s:e], labels[s:e])
                for s, e in zip(starts, ends, strict=True)
            ]
    except (OSError, ValueError, KeyError):
        return None


class _Shards:
    """Detections: one ``batch-NNNNNN.npz`` per batch (temp name, then renamed)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def load(self, results: list[Any], starts: list[int], batch_size: int, n: int) -> None:
        for b, s in enumerate(starts):
            results[b] = _load_shard(self.folder, b, min(batch_size, n - s))

    def write(self, b: int, pred: Any) -> None:
        _save_shard(self.folder, b, pred)

    def close(self) -> None:
        pass


class _ScoreLog:
    """Scores: rows of float64 appended to ``scores.f64`` in input order, one write per batch;
    ``scores.json`` (written with the first batch) gives the row width. On resume, the whole
    batches at the head of the file are read back and a torn tail (a run killed mid-write) is cut
    off, so the run goes on from the first missing batch."""

    def __init__(self, folder: Path) -> None:
        self.data = folder / "scores.f64"
        self.meta = folder / "scores.json"
        self.width: int | None = None
        self.fh: Any = None

    def load(self, results: list[Any], starts: list[int], batch_size: int, n: int) -> None:
        rows = 0
        if self.meta.is_file() and self.data.is_file():
            try:
                self.width = int(json.loads(self.meta.read_text(encoding="utf-8"))["width"])
            except (ValueError, KeyError, TypeError):
                self.width = None
        if self.width:
            rows = min(n, self.data.stat().st_size // (8 * self.width))
            if rows < n:
                rows -= rows % batch_size  # whole batches only
            data = np.fromfile(self.data, dtype="<f8", count=rows * self.width)
            data = data.reshape(rows, self.width)
            for b, s in enumerate(starts):
                if s + min(batch_size, n - s) <= rows:
                    results[b] = data[s : s + batch_size]
        self.fh = open(self.data, "r+b" if self.data.exists() else "wb")  # noqa: SIM115
        self.fh.truncate(rows * 8 * (self.width or 0))
        self.fh.seek(0, os.SEEK_END)

    def write(self, b: int, pred: Any) -> None:
        arr = np.ascontiguousarray(pred, dtype="<f8")
        if self.width is None:
            self.width = int(arr.shape[1])
            tmp = self.meta.with_name(f".{self.meta.name}.tmp")
            tmp.write_text(json.dumps({"width": self.width, "dtype": "<f8"}), encoding="utf-8")
            os.replace(tmp, self.meta)
        self.fh.write(arr.tobytes())
        self.fh.flush()

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()


class _SwitchInterval:
    """The GIL switch interval, lowered while at least one run decodes in threads and put back
    when the last one ends: runs in several threads at once (server jobs) share the one setting,
    so the first saves it and the last restores it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.saved = 0.0

    def __enter__(self) -> None:
        with self.lock:
            if self.users == 0:
                self.saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self.saved, GIL_SWITCH_INTERVAL))
            self.users += 1

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                sys.setswitchinterval(self.saved)


_SWITCH = _SwitchInterval()


class _Chooser:
    """Whether each batch of small images is decoded inline or by the decoding thread(s), from
    the wall seconds per image each way measured in this run, measured again as it goes: which
    is faster depends on the model's share of the time and on what else the cores run (a thread
    overlaps decoding with the model and gets its own share of a busy machine, but on 2 cores it
    costs GIL hand-offs and competes with ONNX Runtime's threads), and a shared machine's load
    changes within a run.

    ``next()`` gives the way of the next batch submitted: ``WARMUP_BATCHES`` inline (untimed),
    ``EXPLOIT_BATCHES`` threaded, ``TRIAL_BATCHES`` inline; then blocks of the faster way (the
    median of each way's last ``_KEEP`` timings; inline only when ``INLINE_MARGIN`` faster),
    ``EXPLOIT_BATCHES`` long, twice that after each block whose trial did not change the answer
    (up to 4x), each followed by ``TRIAL_BATCHES`` the other way; a trial goes on until two of
    its timings are back. ``record`` takes a batch's seconds per image."""

    def __init__(self) -> None:
        self.plan: deque[bool] = deque(
            [False] * WARMUP_BATCHES + [True] * EXPLOIT_BATCHES + [False] * TRIAL_BATCHES
        )
        self.seen: dict[bool, deque[float]] = {
            False: deque(maxlen=_KEEP),
            True: deque(maxlen=_KEEP),
        }
        self.exploit = EXPLOIT_BATCHES
        self.last: bool = True
        self.trial: bool | None = False  # the way on trial (the way not chosen)
        self.fresh = 0  # its timings since its trial began

    def faster(self) -> bool:
        """Whether threads are the faster way so far (they are until inline is measured)."""
        inline, threaded = self.seen[False], self.seen[True]
        if not inline or not threaded:
            return not inline
        return statistics.median(inline) * (1 + INLINE_MARGIN) >= statistics.median(threaded)

    def next(self) -> bool:
        if not self.plan:
            if self.trial is not None and self.fresh < 2:
                return self.trial  # the trial's timings are not back yet (batches in flight)
            fast = self.faster()
            if fast == self.last:
                self.exploit = min(4 * EXPLOIT_BATCHES, 2 * self.exploit)
            else:
                self.exploit = EXPLOIT_BATCHES
            self.last, self.trial, self.fresh = fast, None, 0
            self.plan.extend([fast] * self.exploit + [not fast] * TRIAL_BATCHES)
        way = self.plan.popleft()
        if way != self.last and self.trial is None:  # the other way's trial begins
            self.trial, self.fresh = way, 0
        return way

    def record(self, threaded: bool, seconds_per_image: float) -> None:
        self.seen[threaded].append(seconds_per_image)
        self.fresh += threaded == self.trial


def _start_pool(
    stack: contextlib.ExitStack, workers: int, prefetch: int
) -> tuple[ThreadPoolExecutor, int]:
    # While a decoder runs Python code (Pillow's header parsing), the model thread waits for the
    # GIL up to the switch interval (5 ms) each time a batch comes back from the model: with 32
    # small images decoded in ~8 ms, that wait would be the bottleneck. For the length of the run
    # the interval is 0.5 ms, then it is put back.
    stack.enter_context(_SWITCH)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assay-decode")
    return pool, max(1, prefetch, workers)


class _Inline:
    """A stand-in for the pool when ``workers=0``: the task runs when its result is asked for."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return _Deferred(fn, args)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


class _Deferred:
    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args

    def result(self) -> Any:
        return self.fn(*self.args)


_INLINE = _Inline()
# Decoding processes: the batches decoded inline while they start
PROCESS_LEAD = 2
# below this many batches a run decodes in threads or inline (starting processes costs more)
PROCESS_MIN_BATCHES = 8


def _start_processes(workers: int, prefetch: int) -> tuple[Any, int]:
    """A pool of ``workers`` decoding processes, and how many batches to keep in flight. They
    are forked (a spawned or fork-server process would import the caller's main module again):
    a child only decodes with Pillow and numpy (every Pillow plugin imported first, so it
    imports nothing) and leaves with ``os._exit``, so the threads of a server or of ONNX
    Runtime, absent in it, are never waited on."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from PIL import Image

    Image.init()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    return pool, max(1, prefetch, 2 * workers)


def processes_available() -> bool:
    """Whether images can be decoded in processes here: ``fork`` (POSIX) and 2+ cores."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods() and _cores() >= 2


def load_images(chunk: Sequence[str], spec: Any) -> tuple[np.ndarray, list[Geometry]]:
    """One batch of image files decoded and preprocessed (:func:`load_batch`): the task a
    decoding thread or process runs (a module-level function, so a process can be sent it)."""
    return load_batch(list(chunk), spec)


def _run(
    runner: Runner,
    items: Sequence[Any],
    make_batch: Callable[[Sequence[Any]], Any],
    *,
    kind: str,
    batch_size: int,
    out_dir: str | Path | None,
    progress: Progress | None,
    workers: int,
    prefetch: int,
    probe: bool = False,
    processes: bool = False,
) -> BatchResult:
    """``probe``: each batch is decoded inline or by the ``workers`` threads as ``_Chooser``
    says from the seconds per image measured each way (the pool starts when it first asks for
    it). ``processes``:
    ``workers`` processes decode instead of threads (``make_batch`` must then be picklable), the
    first ``PROCESS_LEAD`` batches inline while they start."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if workers < 0:
        raise ValueError("workers must be 0 or more")
    n = len(items)
    starts = list(range(0, n, batch_size))
    results: list[Any] = [None] * len(starts)
    folder = Path(out_dir) if out_dir is not None else None
    if folder is not None:
        info = runner.describe()
        _open_out_dir(
            folder,
            {
                "format": FORMAT_VERSION,
                "fingerprint": run_fingerprint(runner, items, batch_size, kind),
                "model": str(runner.path),
                "task": runner.spec.task,
                "n": n,
                "batch_size": batch_size,
                "n_batches": len(starts),
                "classes": list(info.classes) if info.classes else None,
            },
        )
    sink: _ScoreLog | _Shards | None = None
    if folder is not None:
        sink = _Shards(folder) if runner.spec.task == "detection" else _ScoreLog(folder)
        sink.load(results, starts, batch_size, n)
    todo = [b for b, r in enumerate(results) if r is None]
    resumed = len(starts) - len(todo)
    done = sum(min(batch_size, n - starts[b]) for b, r in enumerate(results) if r is not None)

    def submit(where: Any, b: int) -> Any:
        s = starts[b]
        return where.submit(make_batch, items[s : s + batch_size])

    many = getattr(runner, "predict_many", None)
    if many is not None and todo:
        try:
            for b, pred in many(items, todo, starts, batch_size, kind, done, progress):
                if sink is not None:
                    sink.write(b, pred)
                results[b] = pred
        finally:
            if sink is not None:
                sink.close()
        todo_left: list[int] = []
    else:
        todo_left = todo
        if progress is not None:
            progress(done, n)

    threaded = workers > 0 and not probe and not processes
    chooser = _Chooser() if probe and workers > 0 and not processes else None
    pending: deque[tuple[int, Any, bool]] = deque()  # (batch, its future, decoded in the pool)
    queue = iter(todo_left)
    used_pool = 0  # batches given to the pool
    with contextlib.ExitStack() as stack:
        pool: Any = _Inline()
        window = 1
        if threaded:
            pool, window = _start_pool(stack, workers, prefetch)
        elif processes and workers > 0 and todo_left:
            pool, window = _start_processes(workers, prefetch)
            # the first batches inline while the processes start, the next ones in them
            for b in queue:
                first = len(pending) < PROCESS_LEAD
                pending.append((b, submit(_INLINE if first else pool, b), not first))
                used_pool += not first
                if len(pending) >= window + PROCESS_LEAD:
                    break
        threads: Any = None  # small images: the pool, once the chooser first asks for it

        def submit_next(b: int) -> None:
            nonlocal threads, window, used_pool
            if chooser is None:
                where, in_pool = pool, not isinstance(pool, _Inline)
            elif chooser.next():
                if threads is None:
                    threads, window = _start_pool(stack, workers, prefetch)
                where, in_pool = threads, True
            else:
                where, in_pool = _INLINE, False
            used_pool += in_pool
            pending.append((b, submit(where, b), in_pool))

        try:
            while len(pending) < window and (b := next(queue, None)) is not None:
                submit_next(b)
            consumed, last_in_pool = 0, False
            t_end = time.perf_counter()
            while pending:
                b, fut, in_pool = pending.popleft()
                x, geos = fut.result()
                # keep the decoders busy while the model runs
                while len(pending) < window and (nxt := next(queue, None)) is not None:
                    submit_next(nxt)
                pred = runner.predict(x, geos) if geos is not None else runner.predict(x)
                if sink is not None:
                    sink.write(b, pred)
                results[b] = pred
                k = len(geos) if geos is not None else len(x)
                done += k
                if progress is not None:
                    progress(done, n)
                t_start, t_end = t_end, time.perf_counter()
                consumed += 1
                # timed: past the warm-up; a pooled batch only once the pipeline is full (the
                # one before it pooled too), an inline one only with no pooled batch decoding
                # beside it
                steady = last_in_pool if in_pool else not any(p for _, _, p in pending)
                if chooser is not None and consumed > WARMUP_BATCHES and steady and k:
                    chooser.record(in_pool, (t_end - t_start) / k)
                last_in_pool = in_pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if threads is not None:
                threads.shutdown(wait=True, cancel_futures=True)
            if sink is not None:
                sink.close()

    classes = runner.describe().classes
    dets: list[Detections] | None = None
    scores: np.ndarray | None = None
    if runner.spec.task == "detection":
        dets = [d for r in results for d in r]
    else:
        scores = np.concatenate(results) if results else np.zeros((0, len(classes or ())))
    return BatchResult(
        n=n,
        batch_size=batch_size,
        scores=scores,
        detections=dets,
        computed_batches=len(todo),
        resumed_batches=resumed,
        out_dir=folder,
        classes=classes,
        workers=workers if threaded or used_pool or (processes and todo_left) else 0,
        processes=bool(processes and todo_left),
        pooled_batches=used_pool,
    )


# From about 15,000 source pixels (150 x 100), decoding spends enough of its time in Pillow's C
# code (GIL released) for one thread per core to pay. On 2 cores, against a bare loop, one thread /
# two threads: 96 x 80 JPEGs 1.05x / 0.9x (GIL hand-offs between the two decoders cost more than
# the second core gives), 120 x 100 1.04x / 1.04x, 144 x 112 0.93x / 1.03x, 160 x 120 1.05x /
# 1.3x, 320 x 240 0.93x / 1.55x, 640 x 480 1.07x / 1.95x.
LARGE_IMAGE_PIXELS = 15_000
_SAMPLE = 5


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 2


def typical_pixels(paths: Sequence[str | Path], sample: int = _SAMPLE) -> int | None:
    """The median width x height of up to ``sample`` images spread over ``paths``, from their
    headers only (no decoding); None when none can be read (the run itself reports bad files)."""
    from PIL import Image

    if not paths:
        return None
    step = max(1, len(paths) // sample)
    sizes = []
    for i in range(0, len(paths), step)[:sample]:
        p = paths[i]
        try:
            with Image.open(p) as im:
                sizes.append(im.size[0] * im.size[1])
        except Exception:  # an unreadable file is reported by the run itself
            continue
    return sorted(sizes)[len(sizes) // 2] if sizes else None


def default_workers(paths: Sequence[str | Path] = ()) -> int:
    """Decoding threads for these images, 1 to 4: one per core when they are larger than
    ``LARGE_IMAGE_PIXELS`` (a few headers are read to tell), else one per two cores, leaving
    the other cores to ONNX Runtime."""
    return _choose_workers(paths)[0]


def _choose_workers(paths: Sequence[str | Path]) -> tuple[int, bool]:
    """(decoding threads, whether the images are large)."""
    cores = _cores()
    pixels = typical_pixels(paths) if paths else None
    if pixels is not None and pixels >= LARGE_IMAGE_PIXELS:
        return max(1, min(4, cores)), True
    return max(1, min(4, cores // 2)), False


def run_images(
    runner: Runner,
    paths: Sequence[str | Path],
    *,
    batch_size: int = 32,
    out_dir: str | Path | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    prefetch: int = 2,
    processes: bool = False,
) -> BatchResult:
    """Run an image model over image files, in order, ``batch_size`` at a time.

    ``workers`` threads decode and preprocess up to ``max(workers, prefetch)`` batches ahead of
    the model; ``workers=0`` decodes in the calling thread, one batch after another. By default
    (``workers=None``) large images get ``default_workers(paths)`` threads from the start; small
    ones go batch by batch the way measured faster in this run, inline or by the threads
    (``_Chooser``: the first batches inline, then a block by the threads, a few inline, then the
    faster way, inline only when clearly faster, trying the other now and then);
    ``BatchResult.workers`` and ``pooled_batches`` say how many threads and how many batches
    they decoded. ``progress(done, total)`` is called once at the start (``done`` = images
    already on disk)
    and after each batch is written; an exception it raises stops the run, with every finished
    batch kept in ``out_dir`` for the next run.

    ``processes=True``: decode in ``workers`` processes (default one per core, up to 4) instead
    of threads (each with its own interpreter, so Pillow's Python-side work runs in parallel
    too), the first batches inline while they start; only where ``fork`` exists, with 2+ cores
    and at least ``PROCESS_MIN_BATCHES`` batches (else as without).
    """
    spec = runner.spec
    paths = [str(p) for p in paths]
    processes = (
        processes
        and -(-len(paths) // max(batch_size, 1)) >= PROCESS_MIN_BATCHES
        and processes_available()
    )
    probe = workers is None and not processes
    if workers is None:
        workers, large = _choose_workers(paths)
        probe = not large and not processes
        if processes:
            workers = max(1, min(4, _cores()))
    make = functools.partial(load_images, spec=spec)

    return _run(
        runner,
        paths,
        make,
        kind="images",
        batch_size=batch_size,
        out_dir=out_dir,
        progress=progress,
        workers=workers,
        prefetch=prefetch,
        probe=probe,
        processes=bool(processes) and workers > 0,
    )


def run_texts(
    runner: Runner,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    out_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> BatchResult:
    """Run a text model (Hugging Face, a skops text pipeline) over texts; as ``run_images``."""

    def make(chunk: Sequence[str]) -> tuple[list[str], None]:
        return list(chunk), None

    return _run(
        runner,
        list(texts),
        make,
        kind="texts",
        batch_size=batch_size,
        out_dir=out_dir,
        progress=progress,
        workers=1,
        prefetch=1,
    )


def run_arrays(
    runner: Runner,
    batches: Sequence[np.ndarray] | np.ndarray,
    *,
    batch_size: int = 32,
    progress: Progress | None = None,
) -> BatchResult:
    """Run a model over ready input tensors (no decoding), ``batch_size`` samples at a time."""
    arr = np.asarray(batches)

    def make(chunk: Sequence[np.ndarray]) -> tuple[np.ndarray, None]:
        return np.asarray(chunk), None

    return _run(
        runner,
        list(arr),
        make,
        kind="arrays",
        batch_size=batch_size,
        out_dir=None,
        progress=progress,
        workers=1,
        prefetch=1,
    )
