"""Which device a model runs on: ``--device auto|cpu|cuda[:N]|tensorrt[:N]`` (and OpenVINO's own
``GPU``, ``GPU.N``, ``AUTO``) resolved per backend against what this machine has.

- ONNX Runtime: ``cuda[:N]`` needs the ``CUDAExecutionProvider`` (the ``onnxruntime-gpu``
  package; see the ``gpu`` extra), ``tensorrt[:N]`` the ``TensorrtExecutionProvider``; the CPU
  provider always stays last in the list, for the nodes a GPU provider does not take.
- TorchScript and Hugging Face: a torch device, ``cuda[:N]`` when ``torch.cuda`` has device N.
- OpenVINO: one of ``Core().available_devices`` (``CPU``, ``GPU``, ``GPU.0``...), or ``AUTO``
  (OpenVINO's own choice at load time).
- scikit-learn (skops): the CPU only.

``auto`` (lower case) is Assay's choice: the first CUDA device where the backend can use one
(OpenVINO: its first GPU), else the CPU; the :class:`Device` answered says which. ``AUTO``
(upper case) is OpenVINO's automatic plugin and means nothing to the other backends. TensorRT is
never picked by ``auto``: it compiles an engine per input shape (minutes) and may lower
precision, so it is only used when asked for.

A device that is not there is one :class:`~assay.errors.InputError` line, e.g.
``cuda:1 asked but this machine has no CUDA device for onnxruntime (providers: CPU)``.

The probes (:func:`onnxruntime_providers`, :func:`cuda_device_count`, :func:`torch_cuda_count`,
:func:`openvino_devices`) are module functions, so tests fake a machine by replacing them.

    >>> resolve_device("onnxruntime", "cpu").name
    'cpu'
    >>> resolve_device("skops", "auto").name
    'cpu'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assay.errors import InputError

DEVICE_HELP = (
    "auto (the first CUDA GPU the model's backend can use, else the CPU), cpu, cuda, cuda:N, "
    "tensorrt[:N] (ONNX Runtime), or OpenVINO's GPU, GPU.N, AUTO"
)
_SYNTAX = re.compile(
    r"^(auto|cpu|cuda|tensorrt)(?::(\d{1,3}))?$|^(AUTO|CPU|GPU|NPU)(?:\.(\d{1,3}))?$"
)
CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
TENSORRT_PROVIDER = "TensorrtExecutionProvider"
TORCH_BACKENDS = ("torchscript", "transformers")


@dataclass(frozen=True)
class Device:
    """A resolved device.

    ``asked``: what the user gave (``auto``, ``cuda:1``...); ``name``: what the model runs on,
    in Assay's words (``cpu``, ``cuda:0``, ``tensorrt:0``, or OpenVINO's ``GPU.0`` / ``AUTO``);
    ``backend``: the runner's backend; ``setting``: what the backend takes (ONNX Runtime: the
    providers list; torch: the device string; OpenVINO: the device name); ``why``: for ``auto``,
    one line saying what was found.
    """

    backend: str
    asked: str
    name: str
    setting: Any = field(compare=False)
    why: str = ""

    @property
    def is_cpu(self) -> bool:
        return self.name in ("cpu", "CPU")

    def label(self) -> str:
        """The device as the progress line and the evaluation page show it, e.g.
        ``cuda:0 (onnxruntime, CUDAExecutionProvider)``."""
        detail = self.backend
        if self.backend == "onnxruntime" and isinstance(self.setting, list):
            first = self.setting[0]
            detail += ", " + (first[0] if isinstance(first, tuple) else str(first))
        return f"{self.name} ({detail})"


def parse_device(text: str | None) -> str:
    """``text`` checked for syntax (None: ``cpu``); an :class:`InputError` naming the choices
    otherwise. ``cuda:0`` stays ``cuda:0``; ``cuda`` means ``cuda:0``."""
    if text is None:
        return "cpu"
    value = text.strip()
    m = _SYNTAX.match(value)
    if m is None:
        raise InputError(f"unknown device {text!r} (choose {DEVICE_HELP})", where="--device")
    if m.group(1) in ("cuda", "tensorrt") and m.group(2) is None:
        return f"{m.group(1)}:0"
    if m.group(1) and m.group(2) is not None and m.group(1) in ("auto", "cpu"):
        raise InputError(f"unknown device {text!r} (choose {DEVICE_HELP})", where="--device")
    return value


# --------------------------------------------------------------------------- probes


def onnxruntime_providers() -> list[str]:
    """ONNX Runtime's execution providers in this install."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def cuda_device_count() -> int | None:
    """CUDA devices the driver sees (``cuDeviceGetCount``), 0 without a driver; None when the
    driver is there but does not answer. Used for ONNX Runtime, which does not count devices."""
    import ctypes

    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    try:
        if lib.cuInit(0) != 0:
            return 0
        count = ctypes.c_int(0)
        if lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return None
        return int(count.value)
    except (OSError, AttributeError):
        return None


def torch_cuda_count() -> int:
    """CUDA devices torch can use (0 for a CPU build of torch)."""
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def openvino_devices() -> list[str]:
    """OpenVINO's devices on this machine (``CPU``, ``GPU.0``...)."""
    import openvino as ov

    return list(ov.Core().available_devices)


# --------------------------------------------------------------------------- resolution


def _short(providers: list[str]) -> str:
    return ", ".join(p.removesuffix("ExecutionProvider") for p in providers) or "none"


def _index(asked: str) -> int:
    return int(asked.split(":")[1]) if ":" in asked else 0


def _refuse(asked: str, what: str, backend: str, found: str) -> InputError:
    return InputError(f"{asked} asked but this machine has {what} for {backend} ({found})")


def _foreign(asked: str, backend: str, choices: str) -> InputError:
    return InputError(f"{asked} is not a device of {backend}; it runs on {choices}")


def _resolve_onnxruntime(asked: str) -> Device:
    providers = onnxruntime_providers()
    has_cuda = CUDA_PROVIDER in providers
    if asked == "cpu":
        return Device("onnxruntime", asked, "cpu", [CPU_PROVIDER])
    if asked == "auto":
        count = cuda_device_count() if has_cuda else 0
        if has_cuda and count != 0:
            return Device(
                "onnxruntime", asked, "cuda:0", [(CUDA_PROVIDER, {"device_id": 0}), CPU_PROVIDER],
                why=f"onnxruntime has CUDA and {count if count else 'some'} device(s)",
            )  # fmt: skip
        why = (
            "onnxruntime has no CUDA provider (providers: " + _short(providers) + ")"
            if not has_cuda
            else "no CUDA device"
        )
        return Device("onnxruntime", asked, "cpu", [CPU_PROVIDER], why=why)
    kind = asked.split(":")[0]
    if kind not in ("cuda", "tensorrt"):
        raise _foreign(asked, "onnxruntime", "cpu, cuda[:N] or tensorrt[:N]")
    wanted = TENSORRT_PROVIDER if kind == "tensorrt" else CUDA_PROVIDER
    if wanted not in providers:
        what = "no TensorRT provider" if kind == "tensorrt" else "no CUDA device"
        raise _refuse(asked, what, "onnxruntime", f"providers: {_short(providers)}")
    n = _index(asked)
    count = cuda_device_count()
    if count is not None and n >= count:
        what = f"{count} CUDA device{'s' if count != 1 else ''}" if count else "no CUDA device"
        raise _refuse(asked, what, "onnxruntime", f"providers: {_short(providers)}")
    chain: list[Any] = [(wanted, {"device_id": n})]
    if wanted == TENSORRT_PROVIDER and has_cuda:
        chain.append((CUDA_PROVIDER, {"device_id": n}))
    chain.append(CPU_PROVIDER)
    return Device("onnxruntime", asked, f"{kind}:{n}", chain)


def _resolve_torch(backend: str, asked: str) -> Device:
    if asked == "cpu":
        return Device(backend, asked, "cpu", "cpu")
    if asked == "auto":
        count = torch_cuda_count()
        if count:
            return Device(
                backend, asked, "cuda:0", "cuda:0", why=f"torch sees {count} CUDA device(s)"
            )
        return Device(backend, asked, "cpu", "cpu", why="torch sees no CUDA device")
    if not asked.startswith("cuda"):
        raise _foreign(asked, backend, "cpu or cuda[:N]")
    n = _index(asked)
    count = torch_cuda_count()
    if n >= count:
        what = f"{count} CUDA device{'s' if count != 1 else ''}" if count else "no CUDA device"
        raise _refuse(asked, what, backend, f"torch.cuda.device_count() = {count}")
    return Device(backend, asked, f"cuda:{n}", f"cuda:{n}")


def _resolve_openvino(asked: str) -> Device:
    if asked in ("cpu", "CPU"):  # no probe: OpenVINO always has its CPU
        return Device("openvino", asked, "CPU", "CPU")
    devices = openvino_devices()
    found = f"devices: {', '.join(devices) or 'none'}"
    gpus = [d for d in devices if d == "GPU" or d.startswith("GPU.")]
    if asked == "auto":
        if gpus:
            return Device("openvino", asked, gpus[0], gpus[0], why=f"OpenVINO {found}")
        return Device("openvino", asked, "CPU", "CPU", why=f"OpenVINO has no GPU ({found})")
    if asked == "AUTO":
        return Device("openvino", asked, "AUTO", "AUTO")
    if asked.startswith(("cuda", "tensorrt")):
        raise _foreign(asked, "openvino", f"CPU, GPU[.N] or AUTO ({found})")
    if asked == "GPU":
        if not gpus:
            raise _refuse(asked, "no GPU", "openvino", found)
        return Device("openvino", asked, gpus[0], gpus[0])
    if (
        asked == "GPU.0"
        and devices.count("GPU") == 1
        and not any(d.startswith("GPU.") for d in devices)
    ):
        return Device("openvino", asked, "GPU", "GPU")
    if asked not in devices:
        raise _refuse(asked, f"no {asked.split('.')[0]} device {asked}", "openvino", found)
    return Device("openvino", asked, asked, asked)


def resolve_device(backend: str, device: str | None = "cpu") -> Device:
    """The :class:`Device` that ``backend`` (a runner's ``backend``: onnxruntime, torchscript,
    transformers, openvino, skops) runs on when ``device`` is asked (None: cpu), or an
    :class:`InputError` of one line when this machine does not have it."""
    asked = parse_device(device)
    if backend == "onnxruntime":
        return _resolve_onnxruntime(asked)
    if backend in TORCH_BACKENDS:
        return _resolve_torch(backend, asked)
    if backend == "openvino":
        return _resolve_openvino(asked)
    if asked in ("cpu", "auto", "CPU"):
        why = f"{backend} runs on the CPU only" if asked == "auto" else ""
        return Device(backend, asked, "cpu", "cpu", why=why)
    raise InputError(f"{asked} asked but {backend} models run on the CPU only")


def device_key(name: str | None) -> str | None:
    """What a run's work folder key takes from the device a model ran on (a resolved
    :attr:`Device.name`): None for the CPU (so a CPU run names the folder it always named), else
    the name (``cuda:0``, ``GPU.0``...). A GPU's floating-point results can differ from the CPU's
    in the last bits, so predictions made on one device are never resumed by a run on another."""
    if name is None or name in ("cpu", "CPU"):
        return None
    return name
