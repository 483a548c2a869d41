"""The worker side of :mod:`assay.runners.sandbox`: what runs in a model's worker process.

The worker loads this module by its file path (:data:`BOOT`) from a fresh interpreter and
confines itself (Landlock, resource limits) before anything else is imported, so this module
imports only the standard library and :mod:`assay.errors` at its top: never NumPy (whose thread
pools Landlock would not cover) nor the ``assay.runners`` package (which imports NumPy). The
parent imports it too, for the answer format (:func:`pack_answer` / :func:`unpack_answer`: JSON
with NumPy arrays in ``.npy`` form, never pickle) and the Landlock probe.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import json
import os
import pickle
import resource
import signal
import struct
import sys
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from assay.errors import AssayError, InputError, one_line

# --------------------------------------------------------------------------- Landlock

_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1

_EXECUTE = 1 << 0
_WRITE_FILE = 1 << 1
_READ_FILE = 1 << 2
_READ_DIR = 1 << 3
_REFER = 1 << 13  # ABI 2
_TRUNCATE = 1 << 14  # ABI 3
_IOCTL_DEV = 1 << 15  # ABI 5
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The Landlock ABI version of this kernel (0: none, or not Linux x86-64)."""
    if not sys.platform.startswith("linux") or os.uname().machine != "x86_64":
        return 0
    try:
        libc = _libc()
        libc.syscall.restype = ctypes.c_long
        version = libc.syscall(
            _SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)
        )
    except (OSError, AttributeError):
        return 0
    return max(0, int(version))


def landlock_available() -> bool:
    """Whether this kernel can confine a worker's file access (Landlock)."""
    return landlock_abi() > 0


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    if abi >= 5:
        rights |= _IOCTL_DEV
    return rights


def apply_landlock(read: Sequence[str | Path], write: Sequence[str | Path] = ()) -> int:
    """Confine this thread (and what it starts later) to reading ``read`` (and executing there:
    shared libraries) and writing ``write``; TCP and signals outside are refused where the ABI
    can. Missing paths are skipped. The ABI applied (0: Landlock is missing, nothing done).
    Call it before any other thread exists: Landlock binds the calling thread only."""
    abi = landlock_abi()
    if abi <= 0:
        return 0
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    handled = _fs_rights(abi)
    attr = [handled]
    if abi >= 4:
        attr.append(_NET_BIND_TCP | _NET_CONNECT_TCP)
    if abi >= 6:
        attr.append(_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL)
    packed = struct.pack(f"{len(attr)}Q", *attr)
    buf = ctypes.create_string_buffer(packed, len(packed))
    ruleset = libc.syscall(
        _SYS_CREATE_RULESET, buf, ctypes.c_size_t(len(packed)), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for paths, rights in ((read, _READ_FILE | _READ_DIR | _EXECUTE), (write, handled)):
            for path in paths:
                _add_rule(libc, int(ruleset), Path(path), rights & handled)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(int(ruleset))
    return abi


def _add_rule(libc: Any, ruleset: int, path: Path, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path this machine lacks
    try:
        if not os.path.isdir(f"/proc/self/fd/{fd}") and not path.is_dir():
            rights &= _FILE_RIGHTS
        rule = _PathBeneath(rights, fd)
        if libc.syscall(
            _SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
            ctypes.byref(rule), ctypes.c_uint32(0),
        ) != 0:  # fmt: skip
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


def _pth_folders(site: str) -> list[str]:
    """The folders the ``.pth`` files of a site-packages folder add to ``sys.path`` (an editable
    install's ``src``), as a fresh interpreter will add them."""
    found = []
    with contextlib.suppress(OSError):
        for name in os.listdir(site):
            if not name.endswith(".pth"):
                continue
            with contextlib.suppress(OSError, UnicodeDecodeError):
                for line in Path(site, name).read_text(encoding="utf-8").splitlines():
                    line = line.strip()
                    if line and not line.startswith(("#", "import")) and os.path.isdir(line):
                        found.append(os.path.abspath(line))
    return found


def system_read_paths() -> list[str]:
    """What every worker may read: the Python installation (prefixes, site-packages, Assay's own
    source for an editable install), the system's libraries and a few harmless files."""
    import sysconfig

    here = Path(__file__).resolve().parents[2]  # src/ (editable) or site-packages
    paths = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        str(here),
        os.path.dirname(os.path.realpath(sys.executable)),
    }
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError):
            paths.add(sysconfig.get_paths()[key])
    for entry in sys.path:  # site-packages and .pth additions, never the working folder
        if (
            entry
            and os.path.isabs(entry)
            and ("-packages" in entry or entry.startswith(sys.prefix))
        ):
            paths.add(entry)
    for site in [p for p in paths if p.endswith("-packages") and os.path.isdir(p)]:
        paths.update(_pth_folders(site))  # an editable install's source folder
    system = [
        "/usr/lib",
        "/usr/lib64",
        "/usr/lib32",
        "/usr/libexec",
        "/usr/local/lib",
        "/usr/local/lib64",
        "/lib",
        "/lib64",
        "/lib32",
        "/etc/ld.so.cache",
        "/etc/localtime",
        "/proc/self",
        "/proc/cpuinfo",
        "/sys/devices/system/cpu",
        "/dev/null",
        "/dev/urandom",
    ]
    return sorted({os.path.realpath(p) for p in paths} | set(system))


# --------------------------------------------------------------------------- answers (no pickle)


def _encode(obj: Any, blobs: list[bytes]) -> Any:
    import numpy as np

    from assay.runners.detection import Detections

    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.ascontiguousarray(obj), allow_pickle=False)
        blobs.append(buf.getvalue())
        return {"a": len(blobs) - 1}
    if isinstance(obj, bytes | bytearray):
        blobs.append(bytes(obj))
        return {"b": len(blobs) - 1}
    if isinstance(obj, Detections):
        return {"det": [_encode(v, blobs) for v in (obj.boxes, obj.scores, obj.labels)]}
    if isinstance(obj, list | tuple):
        return {"l": [_encode(v, blobs) for v in obj]}
    if isinstance(obj, Mapping):
        return {"d": {str(k): _encode(v, blobs) for k, v in obj.items()}}
    raise TypeError(f"cannot send a {type(obj).__name__} back from a model worker")


def _decode(obj: Any, blobs: list[bytes]) -> Any:
    import numpy as np

    from assay.runners.detection import Detections

    if not isinstance(obj, dict):
        return obj
    if "a" in obj:
        return np.lib.format.read_array(io.BytesIO(blobs[int(obj["a"])]), allow_pickle=False)
    if "b" in obj:
        return blobs[int(obj["b"])]
    if "det" in obj:
        boxes, scores, labels = (_decode(v, blobs) for v in obj["det"])
        return Detections(boxes, scores, labels)
    if "l" in obj:
        return [_decode(v, blobs) for v in obj["l"]]
    return {str(k): _decode(v, blobs) for k, v in obj["d"].items()}


def pack_answer(answer: Mapping[str, Any]) -> bytes:
    """A worker's answer as bytes: a JSON header, then each array or bytes blob."""
    blobs: list[bytes] = []
    header = json.dumps(_encode(answer, blobs)).encode()
    parts = [struct.pack("<QQ", len(header), len(blobs)), header]
    for blob in blobs:
        parts += [struct.pack("<Q", len(blob)), blob]
    return b"".join(parts)


def unpack_answer(data: bytes) -> dict[str, Any]:
    """The answer :func:`pack_answer` wrote (``ValueError`` when malformed)."""
    try:
        size, count = struct.unpack_from("<QQ", data, 0)
        pos = 16
        header = json.loads(data[pos : pos + size])
        pos += size
        blobs = []
        for _ in range(count):
            (n,) = struct.unpack_from("<Q", data, pos)
            pos += 8
            if pos + n > len(data):
                raise ValueError("truncated")
            blobs.append(data[pos : pos + n])
            pos += n
        answer = _decode(header, blobs)
    except (struct.error, ValueError, KeyError, TypeError, IndexError, OSError) as exc:
        raise ValueError(f"a malformed answer ({exc})") from None
    if not isinstance(answer, dict):
        raise ValueError("a malformed answer")
    return answer


# --------------------------------------------------------------------------- the worker side

BOOT = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('_assay_sandbox_boot', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "sys.modules[spec.name] = module\n"
    "spec.loader.exec_module(module)\n"
    "module._worker_main(int(sys.argv[2]))\n"
)


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """A model's error as one line, with its type when it is not one of Assay's own."""
    line = (
        one_line(exc)
        if isinstance(exc, AssayError) or not str(exc).strip()
        else (f"{type(exc).__name__}: {one_line(exc)}")
    )
    return one_line(line, limit)


def _set_limits(memory_bytes: int) -> None:
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (1024, 1024))


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _call_cpu_limit(seconds: float) -> None:
    """Let this process use ``seconds`` more CPU time (SIGXCPU, which kills it, beyond)."""
    if seconds <= 0:
        return
    soft = int(_cpu_used() + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _worker_main(fd: int) -> None:
    """The worker process: confine itself, then load and run as the parent asks."""
    conn = Connection(fd)
    config = pickle.loads(conn.recv_bytes())  # from the parent, which is trusted
    libc = _libc()
    libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != config["parent"]:
        os._exit(1)
    os.umask(0o077)
    _set_limits(int(config["memory_bytes"]))
    abi = 0
    if config["landlock"]:
        try:
            abi = apply_landlock(config["read"], config["write"])
        except OSError as exc:
            conn.send_bytes(pack_answer({"error": f"the sandbox failed ({exc})", "kind": "fatal"}))
            return
    sys.path[:] = [p for p in sys.path if p and os.path.isabs(p)]
    conn.send_bytes(pack_answer({"ready": True, "landlock": abi}))
    runner: Any = None
    while True:
        try:
            message = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        op = message[0]
        try:
            _call_cpu_limit(float(config["cpu_seconds"]))
            if op == "load":
                runner, answer = _load(*message[1:])
            elif op == "predict":
                answer = {"value": runner.predict(message[1], message[2])}
            elif op == "run":
                answer = {"value": dict(runner.run(message[1]))}
            elif op == "call":
                answer = {"value": message[1](*message[2], **message[3])}
            else:
                answer = {"error": f"unknown request {op!r}", "kind": "fatal"}
            data = pack_answer(answer)
        except MemoryError:
            data = pack_answer({"error": "MemoryError", "kind": "memory"})
        except BaseException as exc:  # noqa: BLE001 - the model's failure, sent as one line
            kind = "input" if isinstance(exc, InputError) else "error"
            if type(exc).__name__ == "MissingExtraError":
                kind = "missing"
            data = pack_answer({"error": _one_line(exc), "kind": kind})
        finally:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(
                    resource.RLIMIT_CPU, resource.getrlimit(resource.RLIMIT_CPU)[1:] * 2
                )
        conn.send_bytes(data)


def _load(
    path: str,
    spec: dict[str, Any] | None,
    source: str,
    overrides: dict[str, Any],
    options: dict[str, Any],
    cap: int | None = None,
) -> tuple[Any, dict[str, Any]]:
    from assay.runners.base import load_runner
    from assay.runners.spec import spec_from_mapping, spec_to_mapping

    if path.lower().endswith(".onnx"):  # no warnings about the devices it may not list
        with contextlib.suppress(ImportError, AttributeError):
            import onnxruntime

            onnxruntime.set_default_logger_severity(3)

    from assay.runners import base

    given = None if spec is None else spec_from_mapping(spec, source=source)
    cap_of = getattr(base, "input_values_cap", None)  # the parent's cap on input tensors
    with cap_of(cap) if cap_of is not None and cap else contextlib.nullcontext():
        runner = load_runner(path, given, runner_options=options, **overrides)
    info = runner.describe().as_dict()
    return runner, {
        "value": {"info": info, "spec": spec_to_mapping(runner.spec), "source": runner.spec.source}
    }
