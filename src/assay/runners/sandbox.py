"""Models run in sandboxed worker processes: a model is code until proven otherwise.

A :class:`SandboxedRunner` keeps one worker process per loaded model and speaks to it over a
socket: the model is loaded there once, then each ``predict`` / ``run`` is sent the batch and
waits at most ``SandboxLimits.call_seconds`` for the answer. The worker

- starts from a fresh interpreter (``python -P -c``) with a scrubbed environment (nothing of the
  server's: no ``ASSAY_TOKEN``, no ``ASSAY_HOME``; Hugging Face offline; one BLAS thread pool),
- dies with its parent (``PR_SET_PDEATHSIG``) and may never gain privileges (``no_new_privs``),
- is confined by Landlock (when the kernel has it) before anything else is imported: it may read
  the Python installation, the system's shared libraries, ``/proc/self``, ``/dev/null``,
  ``/dev/urandom`` and the model's own files, write only a private temporary folder, open no TCP
  connection and signal no process outside itself,
- has an address-space limit (``RLIMIT_AS``) and a CPU-time limit per call (``RLIMIT_CPU``).

A model asked to run on a GPU (``runner_options={"device": "cuda:0"}``, see
:mod:`assay.runners.devices`) gets a worker that may also open the GPU's device files
(``/dev/nvidia*``, ``/dev/dri``: read, write and ioctl) and read the driver's ``/proc`` and
``/sys`` entries; it keeps ``CUDA_VISIBLE_DEVICES`` / ``LD_LIBRARY_PATH`` (read-only) and has no
address-space limit, because a CUDA context maps tens of GiB of virtual memory it never touches
(its host memory is then bounded only by the call time limit).

What the worker sends back is never unpickled: answers are JSON with NumPy arrays in ``.npy``
form (``allow_pickle=False``), so a hostile model cannot run code in the server through them.

A worker past a limit (time, memory, CPU) or one that dies is killed and replaced at the next
call; that call raises :class:`ModelUnavailable` with one line (the server answers 503). An
exception raised by the model itself comes back as :class:`ModelFailed` (an ``InputError``: 422).

Where the kernel has no Landlock the files a model reads cannot be confined, so formats that carry
code (TorchScript; a Hugging Face folder holding pickled weights) are refused unless the operator
allows them (``assay serve --allow-code-models``): :func:`check_code_allowed`.

This module imports only the standard library at its top: the worker loads it by file path and
confines itself before NumPy (whose thread pools Landlock would not cover) is imported.

>>> runner = SandboxedRunner("model.onnx")  # doctest: +SKIP
>>> runner.predict(batch).shape  # doctest: +SKIP
(32, 2)
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import AssayError, InputError
from assay.runners import sandbox_worker
from assay.runners.sandbox_worker import (
    BOOT,
    landlock_available,
    system_read_paths,
    unpack_answer,
)

if TYPE_CHECKING:
    import numpy as np

    from assay.runners.base import ModelInfo
    from assay.runners.detection import Detections
    from assay.runners.preprocess import Geometry
    from assay.runners.spec import PreprocessSpec

ALLOW_FLAG = "--allow-code-models"
MAX_ANSWER_BYTES = 512 << 20  # a worker's answer larger than this is refused (worker replaced)
_STOP_GRACE = 1.0  # seconds between SIGTERM and SIGKILL when stopping a worker


class ModelUnavailable(AssayError):
    """The model's worker went past a limit or died; it was stopped (and is replaced at the next
    call). One line; the server answers 503."""


class ModelFailed(InputError):
    """The model raised an error while loading or predicting (one line; the server: 422)."""


# --------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class SandboxLimits:
    """The bounds of one model worker.

    ``memory_bytes``: its address space (``RLIMIT_AS``); ``call_seconds``: the wall-clock time of
    one predict; ``load_seconds``: of loading the model (and starting the worker);
    ``cpu_seconds``: CPU time of one call; ``threads``: the backends' thread pools;
    ``allow_code_models``: run code-carrying formats even without Landlock;
    ``require_landlock``: refuse every model where the kernel has no Landlock (tests).
    """

    memory_bytes: int = 4 << 30
    call_seconds: float = 60.0
    load_seconds: float = 120.0
    cpu_seconds: float = 120.0
    threads: int = 0  # 0: the worker's share of the machine (at most 4)
    allow_code_models: bool = False
    require_landlock: bool = False


# --------------------------------------------------------------------------- code formats

_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def carries_code(path: str | Path) -> str | None:
    """What makes a model's format able to run code when loaded (None: pure data): TorchScript
    runs its own program; a Hugging Face folder with pickled weights unpickles them."""
    path = Path(path)
    if path.is_dir():
        pickled = sorted(
            p.name for p in path.rglob("*") if p.suffix.lower() in _PICKLE_SUFFIXES and p.is_file()
        )
        return f"a Hugging Face folder with pickled weights ({pickled[0]})" if pickled else None
    if path.suffix.lower() in (".pt", ".pth", ".torchscript"):
        return "a TorchScript model (it carries code)"
    return None


def check_code_allowed(path: str | Path, limits: SandboxLimits) -> None:
    """An ``InputError`` naming the flag when ``path`` carries code and this kernel cannot confine
    it (no Landlock) and the operator has not allowed it."""
    if limits.allow_code_models:
        return
    available = landlock_available()
    if limits.require_landlock and not available:
        raise InputError(
            "this kernel has no Landlock: models cannot be confined here", file=str(path)
        )
    if available:
        return
    what = carries_code(path)
    if what is not None:
        raise InputError(
            f"{what}: refused, this kernel has no Landlock to confine it; the server's operator "
            f"may allow such models with assay serve {ALLOW_FLAG}",
            file=str(path),
        )


# --------------------------------------------------------------------------- the parent side

_LIVE: weakref.WeakSet[_Worker] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


GPU_ENV = ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "LD_LIBRARY_PATH")


def gpu_paths() -> tuple[list[str], list[str]]:
    """What a worker running a model on a GPU may read, and open for writing (device files):
    the driver's ``/proc`` and ``/sys`` entries and ``LD_LIBRARY_PATH``'s folders; the GPU
    device files that exist here."""
    import glob

    write = sorted({*glob.glob("/dev/nvidia*"), *glob.glob("/dev/dri"), *glob.glob("/dev/accel")})
    read = ["/proc/driver", "/sys/devices", "/sys/bus", "/sys/class", "/etc/OpenCL", "/usr/share"]
    read += [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if os.path.isabs(p)]
    return read, write


def uses_gpu(options: Mapping[str, Any]) -> bool:
    """Whether runner options ask for a device other than the CPU."""
    device = options.get("device")
    return device is not None and str(device) not in ("cpu", "CPU")


def clean_environment(threads: int, tmp: str, *, gpu: bool = False) -> dict[str, str]:
    """The environment a worker starts with: nothing of the server's (tokens, paths, proxies);
    with ``gpu``, the variables that say which GPUs it sees and where CUDA's libraries are."""
    n = str(max(1, threads))
    kept = {k: os.environ[k] for k in GPU_ENV if gpu and k in os.environ}
    return kept | {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": tmp,
        "TMPDIR": tmp,
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "NUMBA_DISABLE_JIT": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def _default_threads() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(4, n))


class _Worker:
    """One sandboxed worker process and its end of the socket."""

    def __init__(self, read: Sequence[str], limits: SandboxLimits, *, gpu: bool = False) -> None:
        self.limits = limits
        extra_read, devices = gpu_paths() if gpu else ([], [])
        self.tmp = tempfile.mkdtemp(prefix="assay-model-")
        parent_sock, child_sock = socket.socketpair()
        threads = limits.threads or _default_threads()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-P", "-c", BOOT, str(Path(sandbox_worker.__file__).resolve()),
                 str(child_sock.fileno())],
                env=clean_environment(threads, self.tmp, gpu=gpu),
                pass_fds=(child_sock.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                cwd=self.tmp,
                start_new_session=True,  # the server's terminal signals are the server's
            )  # fmt: skip
        finally:
            child_sock.close()
        self.conn = Connection(parent_sock.detach())
        with _LIVE_LOCK:
            _LIVE.add(self)
        config = {
            "parent": os.getpid(),
            "memory_bytes": 0 if gpu else limits.memory_bytes,
            "cpu_seconds": limits.cpu_seconds,
            "landlock": landlock_available(),
            "read": [*system_read_paths(), *read, *extra_read],
            "write": [self.tmp, *devices],
        }
        self.conn.send_bytes(pickle.dumps(config))
        self.landlock = int(self.ask(None, limits.load_seconds).get("landlock", 0))

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, message: Any, seconds: float) -> dict[str, Any]:
        """Send ``message`` (None: only wait) and wait at most ``seconds`` for the answer; past a
        limit the worker is stopped and :class:`ModelUnavailable` raised."""
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            with contextlib.suppress(OSError):
                self.process.kill()

        timer = threading.Timer(seconds, expire)  # covers a send or a half answer that stalls
        timer.daemon = True
        timer.start()
        try:
            if message is not None:
                self.conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
            data = self.conn.recv_bytes(MAX_ANSWER_BYTES)
        except (EOFError, OSError) as exc:
            self.stop()
            if expired.is_set():
                raise ModelUnavailable(
                    f"the model ran past its time limit of {seconds:g} s; its worker was stopped"
                ) from None
            raise ModelUnavailable(self._death(exc)) from None
        finally:
            timer.cancel()
        if expired.is_set():
            self.stop()
            raise ModelUnavailable(
                f"the model ran past its time limit of {seconds:g} s; its worker was stopped"
            )
        try:
            answer = unpack_answer(data)
        except ValueError as exc:
            self.stop()
            raise ModelUnavailable(f"the model's worker sent {exc}; it was stopped") from None
        if "error" in answer:
            line = str(answer["error"]).splitlines()[0] if answer["error"] else "an error"
            kind = answer.get("kind")
            if kind == "memory":
                self.stop()
                raise ModelUnavailable(
                    f"the model went past its memory limit of {self.limits.memory_bytes >> 20} MiB;"
                    " its worker was stopped"
                )
            if kind == "fatal":
                self.stop()
                raise ModelUnavailable(line)
            if kind == "missing":
                from assay.runners.base import MissingExtraError

                raise MissingExtraError(line)
            if kind == "input":
                raise InputError(line)
            raise ModelFailed(line)
        return answer

    def _death(self, exc: BaseException) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=1.0)
        code = self.process.returncode
        if code is not None and code < 0:
            sig = -code
            if sig == signal.SIGXCPU:
                return (
                    f"the model went past its CPU limit of {self.limits.cpu_seconds:g} s; "
                    "its worker was stopped"
                )
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
            return f"the model's worker died ({name}); it is replaced at the next call"
        if isinstance(exc, OSError) and "message too long" in str(exc).lower():
            return "the model's answer was too large; its worker was stopped"
        return f"the model's worker ended (exit code {code}); it is replaced at the next call"

    def stop(self, grace: float = 0.0) -> None:
        """End the worker (SIGTERM, then SIGKILL after ``grace`` seconds) and remove its files."""
        with contextlib.suppress(OSError):
            if self.process.poll() is None:
                if grace > 0:
                    self.process.terminate()
                    try:
                        self.process.wait(timeout=grace)
                    except subprocess.TimeoutExpired:
                        self.process.kill()
                else:
                    self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        with contextlib.suppress(OSError):
            self.conn.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        with _LIVE_LOCK:
            _LIVE.discard(self)


def stop_all_workers(grace: float = _STOP_GRACE) -> int:
    """Stop every model worker of this process: SIGTERM, then SIGKILL after ``grace`` seconds
    (the server's shutdown). How many were running."""
    with _LIVE_LOCK:
        workers = list(_LIVE)
    running = [w for w in workers if w.alive()]
    for worker in running:
        with contextlib.suppress(OSError):
            worker.process.terminate()
    deadline = time.monotonic() + grace
    for worker in running:
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for worker in workers:
        worker.stop()
    return len(running)


def terminate_all_workers(grace: float = _STOP_GRACE) -> None:
    """SIGTERM every model worker now and SIGKILL them ``grace`` seconds later, without waiting
    (for a signal handler: the server's SIGTERM)."""
    for worker in list(_LIVE):
        with contextlib.suppress(OSError):
            os.kill(worker.pid, signal.SIGTERM)
    timer = threading.Timer(grace, kill_all_workers)
    timer.daemon = True
    timer.start()


def kill_all_workers() -> None:
    """SIGKILL every model worker at once (safe in a signal handler: no waiting)."""
    for worker in list(_LIVE):
        with contextlib.suppress(OSError):
            os.kill(worker.pid, signal.SIGKILL)


def model_read_paths(path: str | Path, spec: PreprocessSpec | None = None) -> list[str]:
    """What loading a model may read: its folder (a model folder itself, else the folder holding
    the file: where everything it brings must lie) and a spec's labels file and tokenizer."""
    from assay.runners.files import model_folder

    paths = [str(model_folder(path))]
    if spec is not None:
        for extra in (spec.labels_file, spec.tokenizer):
            if extra:
                paths.append(os.path.realpath(extra))
    return paths


class SandboxedRunner:
    """A model loaded and run in a sandboxed worker (see the module docstring); it follows the
    :class:`~assay.runners.base.Runner` protocol. ``read``: what the worker may read besides
    the system (default: :func:`model_read_paths`). A worker that went past a limit is replaced
    (and the model loaded again) at the next call."""

    def __init__(
        self,
        path: str | Path,
        spec: PreprocessSpec | None = None,
        *,
        limits: SandboxLimits | None = None,
        read: Sequence[str | Path] | None = None,
        runner_options: Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> None:
        from assay.runners.spec import spec_to_mapping

        self.path = Path(path)
        self.limits = limits or SandboxLimits()
        check_code_allowed(self.path, self.limits)
        self._spec_given = None if spec is None else spec_to_mapping(spec)
        self._spec_source = "keyword arguments" if spec is None else spec.source
        self._overrides = dict(overrides)
        self._options = dict(runner_options or {})
        self._read = [str(p) for p in (read if read is not None else model_read_paths(path, spec))]
        from assay.runners import base

        cap = getattr(base, "max_input_values", None)  # the caller's cap, kept in the worker
        self._cap: int | None = int(cap()) if cap is not None else None
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        self._finalizer: Any = None
        self._info: dict[str, Any] = {}
        self.spec: PreprocessSpec
        with self._lock:
            self._start()

    # ------------------------------------------------------------ worker

    def _start(self) -> _Worker:
        from assay.runners.spec import spec_from_mapping

        worker = _Worker(self._read, self.limits, gpu=uses_gpu(self._options))
        if self._finalizer is not None:
            self._finalizer.detach()
        self._worker = worker
        self._finalizer = weakref.finalize(self, worker.stop)
        message = ("load", str(self.path), self._spec_given, self._spec_source, self._overrides,
                   self._options, self._cap)  # fmt: skip
        value = worker.ask(message, self.limits.load_seconds)["value"]
        self._info = dict(value["info"])
        self.spec = spec_from_mapping(value["spec"], source=str(value.get("source") or ""))
        return worker

    def _ask(self, message: Any) -> Any:
        with self._lock:
            worker = self._worker
            if worker is None or not worker.alive():
                if worker is not None:
                    worker.stop()
                worker = self._start()
            return worker.ask(message, self.limits.call_seconds)["value"]

    @property
    def pid(self) -> int | None:
        """The worker's process id (None when none runs)."""
        worker = self._worker
        return worker.pid if worker is not None and worker.alive() else None

    @property
    def landlock(self) -> int:
        """The Landlock ABI the worker is confined with (0: none)."""
        return self._worker.landlock if self._worker is not None else 0

    def rss_bytes(self) -> int:
        """The worker's resident memory now (0 when unknown)."""
        pid = self.pid
        if pid is None:
            return 0
        try:
            pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            return 0
        return pages * os.sysconf("SC_PAGE_SIZE")

    def close(self) -> None:
        """Stop the worker (a later call starts a new one)."""
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None

    def __enter__(self) -> SandboxedRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ Runner protocol

    def describe(self) -> ModelInfo:
        from assay.runners.base import ModelInfo

        data = dict(self._info)
        for key in ("classes", "input_shape", "outputs"):
            if isinstance(data.get(key), list):
                data[key] = tuple(data[key])
        return ModelInfo(**data)

    def run(self, batch: Any) -> dict[str, np.ndarray]:
        value = self._ask(("run", batch))
        return dict(value)

    def predict(
        self, batch: Any, geometries: Sequence[Geometry] | None = None
    ) -> np.ndarray | list[Detections]:
        return self._ask(("predict", batch, None if geometries is None else list(geometries)))

    def call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``func(*args, **kwargs)`` in the worker (a picklable function), its result sent
        back as answers are (None, numbers, text, bytes, arrays, lists, dicts)."""
        return self._ask(("call", func, args, kwargs))


class Sandbox:
    """A worker with no model: runs functions under the same confinement (for checks and tests).
    ``read``: what it may read besides the system."""

    def __init__(
        self, read: Sequence[str | Path] = (), *, limits: SandboxLimits | None = None
    ) -> None:
        self.limits = limits or SandboxLimits()
        self._read = [str(p) for p in read]
        self._lock = threading.Lock()
        self._worker: _Worker | None = None

    def call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """As :meth:`SandboxedRunner.call`; the worker is replaced after it was stopped."""
        with self._lock:
            if self._worker is None or not self._worker.alive():
                if self._worker is not None:
                    self._worker.stop()
                self._worker = _Worker(self._read, self.limits)
            return self._worker.ask(("call", func, args, kwargs), self.limits.call_seconds)["value"]

    @property
    def pid(self) -> int | None:
        worker = self._worker
        return worker.pid if worker is not None and worker.alive() else None

    @property
    def tmp(self) -> str | None:
        return self._worker.tmp if self._worker is not None else None

    def close(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
