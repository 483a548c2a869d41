"""Model runs on a Ray cluster: ``assay evaluate --model M --gt D --ray auto|ADDRESS|local``.

The driver (the CLI, or a server's job) loads the model once to describe it and check the inputs,
exactly as a local run does; the batches are then predicted by a pool of runner actors on the
cluster, each loading the model (on its ``--device``, with ``--gpus-per-worker`` GPUs reserved by
Ray), reading and decoding its batch's images itself and writing the batch's predictions as one
Parquet file, ``<work folder>/ray/batch-NNNNNN.parquet`` (written to a temp name, then renamed).
The driver hands the finished batches, in input order, to the ordinary run
(:func:`~assay.runners.batch.run_images` through the ``predict_many`` hook), which writes them to
the work folder's ``shards`` and evaluates them as it would its own: the numbers are those of a
single-process run, row for row (same model, same preprocessing, same batches).

Failures:

- an actor process that dies (killed, out of memory, its node lost) is restarted by Ray
  (``max_restarts=-1``) and the batches it held are sent again (``max_task_retries=-1``);
- a driver that dies leaves the Parquet files of every finished batch: the same command again
  names the same work folder and sends only the missing batches;
- the model's own errors (a bad image, a model that does not load) come back as one
  :class:`~assay.errors.InputError` line, as in a local run.

This uses Ray core (actors and ``ray.wait``), not Ray Data: the batches must be exactly the local
run's (same boundaries, so a resumed run, the shards and the fingerprint agree), each batch's file
must be written by the actor that predicted it so a killed driver loses nothing, and progress must
reach the caller batch by batch; Ray Data's ``map_batches`` re-blocks its input and owns its
output files, and its streaming executor starts several more processes, too many for two cores.

The model file and the images are read by path on the workers: on a multi-node cluster they must
lie on storage every node mounts. Models from a server's job (:class:`RayOptions` ``sandbox``)
are run in each actor's sandboxed worker (:mod:`assay.runners.sandbox`), as on the server.

    >>> opts = RayOptions("local", workers=2)  # doctest: +SKIP
    >>> run = run_model(ws, 3, Path("gt.csv"), ray=opts, progress=bar)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InputError, one_line
from assay.runners.detection import Detections

RAY_FOLDER = "ray"
MANIFEST = "manifest.json"
IN_FLIGHT = 2  # batches sent ahead to each actor: one predicting, one waiting
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RayOptions:
    """Where and how a run goes to Ray.

    ``address``: ``auto`` (the cluster ``ray start`` runs on this machine, or ``RAY_ADDRESS``),
    ``local`` (start a Ray instance in this process for the run), or a cluster address
    (``10.0.0.5:6379``, ``ray://head:10001``); ``workers``: runner actors; ``gpus_per_worker``:
    GPUs Ray reserves for each (0: none); ``cpus_per_worker``: CPUs it reserves for each;
    ``device``: the device each actor's model runs on (None: ``auto`` when GPUs are reserved,
    else ``cpu``); ``sandbox``: :class:`~assay.runners.sandbox.SandboxLimits` to run the model in
    a sandboxed worker inside each actor (a server's jobs)."""

    address: str = "auto"
    workers: int = 2
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    device: str | None = None
    sandbox: Any = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise InputError(f"--workers {self.workers}: at least 1 worker")
        if self.gpus_per_worker < 0 or self.cpus_per_worker < 0:
            raise InputError("--gpus-per-worker and the CPUs per worker are 0 or more")
        name = self.device_name  # checks the device against the GPUs reserved
        del name

    @property
    def asked(self) -> str:
        from assay.runners.devices import parse_device

        if self.device is None:
            return "auto" if self.gpus_per_worker > 0 else "cpu"
        return parse_device(self.device)

    @property
    def device_name(self) -> str:
        """The device each actor's model runs on, as :func:`resolve_device` will name it there:
        an actor sees the GPUs Ray gave it as ``cuda:0``, ``cuda:1``..."""
        asked = self.asked
        gpus = self.gpus_per_worker
        if asked == "auto":
            return "cuda:0" if gpus > 0 else "cpu"
        if asked.startswith(("cuda", "tensorrt")):
            n = int(asked.split(":")[1])
            if gpus <= 0:
                raise InputError(
                    f"--device {asked} on Ray needs GPUs for its workers (--gpus-per-worker 1)"
                )
            if n >= max(1, int(gpus)):
                raise InputError(
                    f"--device {asked}: each Ray worker sees its {gpus:g} GPU(s) as cuda:0.."
                    f"cuda:{max(1, int(gpus)) - 1}"
                )
        return asked


# --------------------------------------------------------------------------- connecting


def connect(address: str) -> Any:
    """``ray``, initialised against ``address`` (see :class:`RayOptions`) unless it already is
    in this process; ``MissingExtraError`` without the ``cluster`` extra, one ``InputError``
    line when no cluster answers there."""
    try:
        import ray
    except ImportError:
        from assay.runners.base import MissingExtraError

        raise MissingExtraError(
            "--ray needs the 'cluster' extra: pip install 'assay[cluster]'"
        ) from None
    probe_address(address)
    if ray.is_initialized():  # this process is a driver already (a test, a notebook)
        return ray
    kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        if address == "local":
            ray.init(include_dashboard=False, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise InputError(
            f"no Ray cluster answers at {address!r} ({one_line(exc, 200)}); start one with "
            "'ray start --head' or give its address",
            where="--ray",
        ) from None
    return ray


def probe_address(address: str, seconds: float = 5.0) -> None:
    """A ``host:port`` (or ``ray://host:port``) address must accept a TCP connection within
    ``seconds``: Ray itself waits minutes for a cluster that is not there."""
    import socket

    if address in ("auto", "local"):
        return
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise InputError(
            f"{address!r} is not a Ray address (auto, local, HOST:PORT or ray://HOST:PORT)",
            where="--ray",
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=seconds):
            pass
    except OSError as exc:
        raise InputError(
            f"no Ray cluster answers at {address!r} ({one_line(exc, 120)}); start one with "
            "'ray start --head' or give its address",
            where="--ray",
        ) from None


def _check_capacity(ray: Any, options: RayOptions) -> None:
    """Actors that could never be placed would wait for ever: refuse them at once."""
    total = ray.cluster_resources()
    cpus, gpus = float(total.get("CPU", 0)), float(total.get("GPU", 0))
    if options.gpus_per_worker > 0 and gpus < options.gpus_per_worker:
        raise InputError(
            f"the Ray cluster has {gpus:g} GPUs; --gpus-per-worker {options.gpus_per_worker:g} "
            "cannot be placed",
            where="--ray",
        )
    if options.cpus_per_worker > cpus:
        raise InputError(
            f"the Ray cluster has {cpus:g} CPUs; a worker asks {options.cpus_per_worker:g}",
            where="--ray",
        )


# --------------------------------------------------------------------------- shards


def shard_path(folder: Path, index: int) -> Path:
    return folder / f"batch-{index:06d}.parquet"


def write_shard(folder: Path, index: int, pred: np.ndarray | list[Detections]) -> None:
    """One batch's predictions as a Parquet file: ``scores`` (a fixed-size list of float64 per
    sample) for classification; ``boxes`` (x1, y1, x2, y2 float64, flattened), ``scores`` and
    ``labels`` (lists per image) for detection. Written to a temp name, then renamed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(pred, np.ndarray):
        arr = np.ascontiguousarray(pred, dtype=np.float64)
        width = arr.shape[1] if arr.ndim == 2 else 1
        values = pa.array(arr.reshape(-1), pa.float64())
        table = pa.table({"scores": pa.FixedSizeListArray.from_arrays(values, width)})
    else:
        table = pa.table(
            {
                "boxes": pa.array(
                    [np.asarray(d.boxes, np.float64).reshape(-1).tolist() for d in pred],
                    pa.list_(pa.float64()),
                ),
                "scores": pa.array(
                    [np.asarray(d.scores, np.float64).tolist() for d in pred],
                    pa.list_(pa.float64()),
                ),
                "labels": pa.array(
                    [np.asarray(d.labels, np.int64).tolist() for d in pred], pa.list_(pa.int64())
                ),
            }
        )
    final = shard_path(folder, index)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, final)


def read_shard(
    folder: Path, index: int, expected: int, detection: bool
) -> np.ndarray | list[Detections] | None:
    """A finished batch, or None when missing, unreadable or of another length (sent again)."""
    import pyarrow.parquet as pq

    path = shard_path(folder, index)
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
    except (OSError, ValueError):
        return None
    if table.num_rows != expected:
        return None
    try:
        if not detection:
            column = table.column("scores").combine_chunks()
            width = column.type.list_size
            flat = column.flatten().to_numpy(zero_copy_only=False)
            return np.asarray(flat, np.float64).reshape(expected, width)
        boxes = table.column("boxes").to_pylist()
        scores = table.column("scores").to_pylist()
        labels = table.column("labels").to_pylist()
    except (KeyError, AttributeError, ValueError):
        return None
    return [
        Detections(
            np.asarray(b, np.float64).reshape(-1, 4),
            np.asarray(s, np.float64),
            np.asarray(lab, np.int64),
        )
        for b, s, lab in zip(boxes, scores, labels, strict=True)
    ]


def _open_folder(folder: Path, fingerprint: str) -> None:
    """The ``ray`` folder of one run: a manifest names it; another run's folder is refused."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MANIFEST
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            old = None
        if isinstance(old, dict) and old.get("fingerprint") == fingerprint:
            return
        raise InputError(
            "this folder holds the Ray shards of another run; use a new folder", file=str(folder)
        )
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps({"fingerprint": fingerprint}), encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- the actor


class RunnerActor:
    """One worker of the pool (a Ray actor): the model loaded once, then batches predicted and
    written. Errors are answered as ``("error", line, kind)``, never raised, so Ray retries only
    what died, not what failed."""

    def __init__(
        self,
        path: str,
        spec: Any,
        device: str,
        sandbox: Any,
        read: Sequence[str],
        folder: str,
    ) -> None:
        self.folder = Path(folder)
        self.error: tuple[str, str] | None = None
        self.runner: Any = None
        try:
            if sandbox is not None:
                from assay.runners.sandbox import SandboxedRunner

                self.runner = SandboxedRunner(
                    path, spec, limits=sandbox, read=list(read), runner_options={"device": device}
                )
            else:
                from assay.runners.base import load_runner

                self.runner = load_runner(path, spec, device=device)
        except Exception as exc:  # noqa: BLE001 - sent back as one line
            self.error = (one_line(exc), "input" if isinstance(exc, InputError) else "error")

    def ready(self) -> tuple[int, str | None, str | None, str]:
        """(pid, error line, its kind, the device the model runs on)."""
        device = self.runner.describe().device if self.runner is not None else ""
        line, kind = self.error if self.error else (None, None)
        return os.getpid(), line, kind, str(device)

    def predict(self, index: int, items: list[Any], kind: str) -> tuple[Any, ...]:
        """Decode (images) and predict batch ``index``, write its shard; ``("ok", index, n)``."""
        try:
            if self.runner is None:
                raise InputError(self.error[0] if self.error else "the model did not load")
            if kind == "images":
                from assay.runners.preprocess import load_batch

                x, geos = load_batch(list(items), self.runner.spec)
                pred = self.runner.predict(x, geos)
            elif kind == "texts":
                pred = self.runner.predict(list(items))
            else:
                pred = self.runner.predict(np.asarray(items))
            write_shard(self.folder, index, pred)
        except Exception as exc:  # noqa: BLE001 - the model's or the input's failure, one line
            return ("error", one_line(exc), "input" if isinstance(exc, InputError) else "error")
        return ("ok", index, len(items))


# --------------------------------------------------------------------------- the driver


class RayPredictor:
    """A runner whose batches are predicted on a Ray cluster: it describes the model as the
    driver's ``runner`` does (so the run's fingerprint, checks and files are a local run's) and
    gives :mod:`assay.runners.batch` a ``predict_many``. ``pids`` lists the actors' process ids
    while they run (tests kill one); ``computed`` / ``resumed`` count the batches predicted on the
    cluster / read back from their shards."""

    def __init__(
        self,
        runner: Any,
        options: RayOptions,
        work: Path,
        *,
        model_path: Path | None = None,
        read: Sequence[str] = (),
    ) -> None:
        self._runner = runner
        self.options = options
        self.folder = Path(work) / RAY_FOLDER
        self.path = runner.path
        self.spec = runner.spec
        self._model_path = Path(model_path or runner.path)
        self._read = list(read)
        self.pids: list[int] = []
        self.computed = 0
        self.resumed = 0
        self.device = options.device_name

    def describe(self) -> Any:
        info = self._runner.describe()
        from dataclasses import replace

        return replace(info, device=self.device)

    def run(self, batch: Any) -> dict[str, np.ndarray]:
        return dict(self._runner.run(batch))

    def predict(self, batch: Any, geometries: Any = None) -> Any:
        return self._runner.predict(batch, geometries)

    def predict_many(
        self,
        items: Sequence[Any],
        todo: Sequence[int],
        starts: Sequence[int],
        batch_size: int,
        kind: str,
        done: int,
        progress: Progress | None,
    ) -> Iterator[tuple[int, Any]]:
        """Predict the batches ``todo`` on the cluster (those whose Parquet file is there
        already are read back, not sent), calling ``progress(done, n)`` as each one lands; then
        give ``(index, prediction)`` for each, in ``todo`` 's order."""
        from assay.runners.batch import run_fingerprint

        n = len(items)
        detection = self.spec.task == "detection"
        _open_folder(self.folder, run_fingerprint(self._runner, items, batch_size, kind))

        def size(b: int) -> int:
            return min(batch_size, n - starts[b])

        found = {b: read_shard(self.folder, b, size(b), detection) for b in todo}
        missing = [b for b in todo if found[b] is None]
        self.resumed = len(todo) - len(missing)
        done += sum(size(b) for b in todo if found[b] is not None)
        if progress is not None:
            progress(done, n)
        if missing:
            self._predict_on_cluster(items, missing, starts, batch_size, kind, done, progress)
        for b in todo:
            pred = found[b]
            if pred is None:
                pred = read_shard(self.folder, b, size(b), detection)
            if pred is None:
                raise InputError(
                    f"batch {b}: its Ray shard is missing or torn", file=str(self.folder)
                )
            yield b, pred

    def _predict_on_cluster(
        self,
        items: Sequence[Any],
        missing: Sequence[int],
        starts: Sequence[int],
        batch_size: int,
        kind: str,
        done: int,
        progress: Progress | None,
    ) -> None:
        opts = self.options
        ray = connect(opts.address)
        _check_capacity(ray, opts)
        actor_class = ray.remote(max_restarts=-1, max_task_retries=-1)(RunnerActor)
        workers = min(opts.workers, len(missing))
        # the device by name (auto with GPUs reserved: cuda:0), so an actor that cannot use it
        # fails in one line instead of running elsewhere than the work folder's key says
        device = opts.device_name
        actors = [
            actor_class.options(
                num_cpus=opts.cpus_per_worker, num_gpus=opts.gpus_per_worker
            ).remote(
                str(self._model_path),
                self.spec,
                device,
                opts.sandbox,
                self._read,
                str(self.folder.resolve()),
            )
            for _ in range(workers)
        ]
        try:
            self.pids = []
            for pid, line, _kind, _name in ray.get([a.ready.remote() for a in actors]):
                if line is not None:
                    raise InputError(line)
                self.pids.append(int(pid))
            n = len(items)
            queue = list(missing)
            pending: dict[Any, int] = {}
            load = dict.fromkeys(range(workers), 0)
            owner: dict[Any, int] = {}

            def send() -> None:
                while queue:
                    k = min(load, key=lambda a: load[a])
                    if load[k] >= IN_FLIGHT:
                        return
                    b = queue.pop(0)
                    chunk = list(items[starts[b] : starts[b] + batch_size])
                    ref = actors[k].predict.remote(b, chunk, kind)
                    pending[ref] = b
                    owner[ref] = k
                    load[k] += 1

            send()
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                ref = ready[0]
                pending.pop(ref)
                load[owner.pop(ref)] -= 1
                answer = ray.get(ref)
                if answer[0] == "error":
                    raise InputError(str(answer[1]))
                self.computed += 1
                done += int(answer[2])
                if progress is not None:
                    progress(done, n)
                send()
        finally:
            for actor in actors:
                with contextlib.suppress(Exception):
                    ray.kill(actor, no_restart=True)


def ray_predictor(
    runner: Any,
    options: RayOptions,
    work: Path,
    *,
    progress: Progress | None = None,
) -> RayPredictor:
    """A :class:`RayPredictor` over the driver's ``runner`` (its model file and spec), writing
    its Parquet shards in ``work/ray``. ``progress`` is given by the run itself."""
    del progress
    model_path = Path(runner.path)
    read: list[str] = []
    if options.sandbox is not None:
        from assay.runners.files import model_folder

        read = [str(model_folder(model_path))]
    return RayPredictor(runner, options, work, model_path=model_path, read=read)
