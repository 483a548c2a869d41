"""How fast and how big a registered model is on one device (``assay models profile``, the Models
page's Profile job, the demo), stored with the version
(:meth:`~assay.store.Workspace.save_model_profile`).

What is measured, in a fresh interpreter (``python -m assay.service.profile``: nothing of this
process's memory or threads counts):

- latency: the wall time of one call of the runner's ``run`` (the model's forward pass on one
  input batch: no image decoding or preprocessing, no softmax or box decoding) on a seeded random
  batch of the model's input shape, ``warmup`` calls first (not counted), then ``runs`` calls per
  batch size; ``p50_ms`` / ``p95_ms`` are the median and 95th percentile of those, in
  milliseconds (numpy's linear interpolation);
- ``throughput``: samples per second at that batch size, batch size x runs / their total time;
- ``size_bytes``: the bytes of the model's stored files (an IR's .xml and .bin, ONNX external
  data), on disk in the workspace;
- ``peak_memory_bytes``: how much the process's peak resident memory grew while the model was
  loaded and run at every batch size (its weights, the runtime's buffers, the input batches), the
  backend's modules imported before: on Linux the peak (``VmHWM``) is reset to the current RSS
  first (``/proc/self/clear_refs``), so what the imports touched does not hide it, and the
  answer is ``VmHWM`` at the end minus ``VmRSS`` then; elsewhere ``ru_maxrss`` after minus
  before (0 when the imports had peaked higher). ``memory_method`` says which.

The CPU's threads are ONNX Runtime's / OpenVINO's default (every core); ``cores`` records how
many the machine had. A profile is taken for image models with a known input size.

>>> profile = profile_model(ws, 3, batches=(1, 8, 32))  # doctest: +SKIP
>>> profile["batches"][0]["p50_ms"]  # doctest: +SKIP
0.21
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InputError, ParameterError
from assay.store.workspace import Workspace

Progress = Callable[[int, int], None]  # (timed calls done, of total)

DEFAULT_BATCHES = (1, 8, 32)
DEFAULT_RUNS = 30
WARMUP = 3
MAX_BATCH = 1024
MAX_RUNS = 10_000
BACKEND_MODULES = {"onnxruntime": "onnxruntime", "openvino": "openvino", "torchscript": "torch"}
TIMEOUT_S = 3600.0


def parse_batches(text: str) -> tuple[int, ...]:
    """``"1,8,32"`` -> (1, 8, 32): distinct batch sizes, ascending; a bad list is a
    :class:`ParameterError`."""
    try:
        values = sorted({int(p) for p in text.split(",") if p.strip()})
    except ValueError:
        values = []
    if not values or values[0] < 1 or values[-1] > MAX_BATCH:
        raise ParameterError(
            f"--batch {text!r}: expected batch sizes between 1 and {MAX_BATCH}, e.g. 1,8,32"
        )
    return tuple(values)


def profile_model(
    ws: Workspace,
    model_version_id: int,
    *,
    batches: Sequence[int] = DEFAULT_BATCHES,
    device: str = "cpu",
    runs: int = DEFAULT_RUNS,
    warmup: int = WARMUP,
    progress: Progress | None = None,
    store: bool = True,
) -> dict[str, Any]:
    """Profile model version ``model_version_id`` on ``device`` (see the module docstring) and,
    with ``store``, keep it with the version. The profile as a plain dict: ``model_version_id``,
    ``device``, ``backend``, ``runs``, ``warmup``, ``cores``, ``size_bytes``,
    ``peak_memory_bytes``, ``memory_method`` and ``batches`` (one dict per batch size:
    ``batch``, ``p50_ms``, ``p95_ms``, ``mean_ms``, ``throughput``)."""
    batches = tuple(sorted(set(int(b) for b in batches)))
    if not batches or batches[0] < 1 or batches[-1] > MAX_BATCH:
        raise ParameterError(f"batch sizes must be between 1 and {MAX_BATCH}")
    if not 1 <= runs <= MAX_RUNS:
        raise ParameterError(f"--runs must be between 1 and {MAX_RUNS} (got {runs})")
    version = ws.get_model_version(model_version_id)
    if not version.runnable or version.artifact is None:
        raise InputError(
            f"model version {version.id} was registered from a predictions file; "
            "there is no model to profile"
        )
    backend = version.backend or "?"
    info = version.info or {}
    if info.get("media") != "image" or backend not in BACKEND_MODULES:
        raise InputError(
            f"model version {version.id} is a {backend} model taking {info.get('media')}; "
            "profiling takes image models (ONNX, OpenVINO IR, TorchScript)"
        )
    spec = info.get("spec") or {}
    if not spec.get("size"):
        raise InputError(
            f"model version {version.id} has a dynamic input height and width and no 'size' in "
            "its spec; there is no one input shape to time"
        )
    ws.load_model_runner(version.id, device=device)  # a bad device fails here, in one line
    model_dir = ws.home / version.artifact / "model"
    size = sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file())
    measured = _measure_in_child(
        ws.home, version.id, device, batches, runs, warmup, backend, progress
    )
    profile = {
        "model_version_id": version.id,
        "device": measured["device"],
        "backend": backend,
        "runs": runs,
        "warmup": warmup,
        "cores": os.cpu_count() or 1,
        "size_bytes": int(size),
        "peak_memory_bytes": int(measured["peak_memory_bytes"]),
        "memory_method": f"{measured['method']}, over loading and running it in a fresh process",
        "batches": measured["batches"],
    }
    if store:
        ws.save_model_profile(version.id, profile["device"], profile)
    return profile


def _measure_in_child(
    home: Path,
    version_id: int,
    device: str,
    batches: tuple[int, ...],
    runs: int,
    warmup: int,
    backend: str,
    progress: Progress | None,
) -> dict[str, Any]:
    """Run :func:`_measure` in a fresh interpreter (``python -m assay.service.profile``),
    relaying its progress; its answer. The child speaks JSON lines on stdout."""
    import json
    import subprocess

    request = {
        "home": str(home),
        "version_id": version_id,
        "device": device,
        "batches": list(batches),
        "runs": runs,
        "warmup": warmup,
        "backend": backend,
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "assay.service.profile", json.dumps(request)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    answer: dict[str, Any] | None = None
    error: str | None = None
    try:
        assert child.stdout is not None
        for line in child.stdout:
            try:
                kind, payload = json.loads(line)
            except ValueError:
                continue  # a backend's own chatter
            if kind == "progress" and progress is not None:
                progress(*payload)
            elif kind == "error":
                error = str(payload)
            elif kind == "done":
                answer = dict(payload)
        child.wait(TIMEOUT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if error is not None:
        raise InputError(error)
    if answer is None:
        raise InputError(
            f"the profiling process of model version {version_id} ended without an answer "
            f"(exit code {child.returncode})"
        )
    return answer


def _max_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux: KiB


def _status_bytes(field: str) -> int | None:
    """``VmRSS`` / ``VmHWM`` of this process from /proc/self/status (None where there is none)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class _PeakMemory:
    """The growth of the peak resident memory from now on. Linux: the peak (``VmHWM``) is reset
    to the current RSS (``echo 5 > /proc/self/clear_refs``), so what the imports touched before
    does not hide the model's own peak; elsewhere ``ru_maxrss`` after minus before."""

    def __init__(self) -> None:
        self.method = "ru_maxrss growth"
        self.before = _max_rss_bytes()
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")
            rss = _status_bytes("VmRSS")
            if rss is not None and _status_bytes("VmHWM") is not None:
                self.before, self.method = rss, "VmHWM after a peak reset, minus VmRSS before"
        except OSError:
            pass

    def growth(self) -> int:
        peak = _status_bytes("VmHWM") if self.method.startswith("VmHWM") else None
        return max(0, (peak if peak is not None else _max_rss_bytes()) - self.before)


def _measure(
    home: str,
    version_id: int,
    device: str,
    batches: tuple[int, ...],
    runs: int,
    warmup: int,
    backend: str,
    say: Callable[[str, Any], None],
) -> None:
    """The child: import the backend, note the peak memory, load and time the model."""
    try:
        import importlib

        from assay.runners.preprocess import sample_shape

        importlib.import_module(BACKEND_MODULES[backend])
        from assay.store.workspace import Workspace

        ws = Workspace(Path(home))
        memory = _PeakMemory()
        runner = ws.load_model_runner(version_id, device=device)
        spec = runner.spec
        assert spec.size is not None
        shape = sample_shape(spec.size, spec)
        dtype = np.dtype(spec.dtype or "float32")
        rng = np.random.default_rng(0)
        total = len(batches) * runs
        done = 0
        rows = []
        say("progress", (0, total))
        for b in batches:
            x = rng.random((b, *shape), dtype=np.float32).astype(dtype, copy=False)
            if dtype.kind in "iu":
                x = (x * 255).astype(dtype)
            for _ in range(warmup):
                runner.run(x)
            times = np.empty(runs)
            for i in range(runs):
                start = time.perf_counter()
                runner.run(x)
                times[i] = time.perf_counter() - start
                done += 1
                if done % max(1, runs // 10) == 0 or done == total:
                    say("progress", (done, total))
            ms = times * 1000.0
            rows.append(
                {
                    "batch": b,
                    "p50_ms": float(np.percentile(ms, 50)),
                    "p95_ms": float(np.percentile(ms, 95)),
                    "mean_ms": float(ms.mean()),
                    "throughput": float(b * runs / times.sum()),
                }
            )
        peak = memory.growth()
        name = runner.describe().device
        say(
            "done",
            {"device": name, "batches": rows, "peak_memory_bytes": peak, "method": memory.method},
        )
    except Exception as exc:  # one line back to the parent
        from assay.errors import one_line

        say("error", one_line(exc, 300))


def _main(argv: list[str]) -> None:
    import json

    request = json.loads(argv[0])

    def say(kind: str, payload: Any) -> None:
        sys.stdout.write(json.dumps([kind, payload]) + "\n")
        sys.stdout.flush()

    _measure(
        request["home"],
        int(request["version_id"]),
        str(request["device"]),
        tuple(int(b) for b in request["batches"]),
        int(request["runs"]),
        int(request["warmup"]),
        str(request["backend"]),
        say,
    )


if __name__ == "__main__":
    _main(sys.argv[1:])


def against_parent(ws: Workspace, child_id: int, *, device: str = "cpu") -> dict[str, Any]:
    """A child version beside its parent ("INT8: 2.7x faster, accuracy -0.2 points, 95 % CI
    [-0.5, +0.1]"): ``speedup`` is the child's throughput over the parent's at ``batch``, the
    largest batch size both were profiled at on ``device`` (None when one has no profile there);
    the accuracy difference (child minus parent, in percentage points) and its 95 % interval
    come from the paired comparison (:func:`assay.service.comparisons.compare_stored`) of their
    newest evaluations on one dataset version (None when they share none)."""
    from assay.service.comparisons import compare_stored
    from assay.service.public import model_evaluations

    child = ws.get_model_version(child_id)
    if child.parent_version_id is None:
        raise InputError(f"model version {child_id} has no parent")
    parent = ws.get_model_version(child.parent_version_id)
    answer: dict[str, Any] = {
        "parent_version_id": parent.id,
        "child_version_id": child.id,
        "parent_version": parent.version,
        "child_version": child.version,
        "device": device,
        "batch": None,
        "speedup": None,
        "latency_ratio": None,
        "dataset_version_id": None,
        "dataset": None,
        "evaluations": None,
        "accuracy_delta": None,
        "accuracy_low": None,
        "accuracy_high": None,
        "level": 0.95,
    }
    profiles = ws.model_profiles()
    mine = {p["device"]: p for p in profiles.get(child.id, [])}.get(device)
    theirs = {p["device"]: p for p in profiles.get(parent.id, [])}.get(device)
    if mine is not None and theirs is not None:
        rows_c = {r["batch"]: r for r in mine["batches"]}
        rows_p = {r["batch"]: r for r in theirs["batches"]}
        common = sorted(set(rows_c) & set(rows_p))
        if common:
            b = common[-1]
            answer["batch"] = b
            answer["speedup"] = rows_c[b]["throughput"] / rows_p[b]["throughput"]
            answer["latency_ratio"] = rows_p[b]["p50_ms"] / rows_c[b]["p50_ms"]
    evaluations = model_evaluations(ws)
    newest_c = {e["dataset_version_id"]: e for e in reversed(evaluations.get(child.id, []))}
    for e in evaluations.get(parent.id, []):  # newest first
        other = newest_c.get(e["dataset_version_id"])
        if other is None:
            continue
        pair = compare_stored(ws, e["id"], other["id"], intervals=True)
        row = next((m for m in pair["metrics"] if m["metric"] == "accuracy"), None)
        answer["dataset_version_id"] = e["dataset_version_id"]
        answer["dataset"] = f"{e['dataset_name']} {e['dataset_version']}"
        answer["evaluations"] = [e["id"], other["id"]]
        if row is not None and row.get("delta") is not None:
            answer["accuracy_delta"] = 100.0 * row["delta"]
            for key in ("low", "high"):
                if row.get(key) is not None:
                    answer[f"accuracy_{key}"] = 100.0 * row[key]
        answer["level"] = float(pair.get("level") or 0.95)
        break
    return answer
