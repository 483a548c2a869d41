"""The one protocol every model adapter follows, what it describes, and the registry that picks an
adapter by file type.

    >>> runner = load_runner("model.onnx")            # doctest: +SKIP
    >>> runner.describe().classes                      # doctest: +SKIP
    ('cat', 'dog')
    >>> runner.predict(batch).shape                    # doctest: +SKIP
    (32, 2)
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from assay.errors import AssayError, InputError
from assay.runners.detection import Detections, decode_detections
from assay.runners.files import model_files
from assay.runners.preprocess import Geometry
from assay.runners.spec import PreprocessSpec, load_spec


class MissingExtraError(AssayError):
    """A model type whose backend is an optional extra that is not installed."""


# The most values one input tensor of a model may hold (batch x channels x height x width, the
# batch counted when the model fixes it): 2^25, e.g. 3 x 3344 x 3344, 128 MiB in float32. A model
# declaring more (one 268-byte upload to a 20000 x 20000 model would take gigabytes) is refused
# when it loads, so at registration. A server narrows or widens it with ``input_values_cap``.
DEFAULT_MAX_INPUT_VALUES = 1 << 25
_input_cap: ContextVar[int] = ContextVar("assay_max_input_values", default=DEFAULT_MAX_INPUT_VALUES)


@contextmanager
def input_values_cap(values: int) -> Iterator[None]:
    """Models loaded inside this block (this thread or task) take at most ``values`` input
    values (see :data:`DEFAULT_MAX_INPUT_VALUES`)."""
    token = _input_cap.set(max(1, int(values)))
    try:
        yield
    finally:
        _input_cap.reset(token)


def max_input_values() -> int:
    """The input cap in force here."""
    return _input_cap.get()


def check_input_values(
    path: Path, spec: PreprocessSpec, shape: Sequence[Any] | None = None
) -> None:
    """``InputError`` (one line naming the shape and the cap) when the model's input tensor, or
    an image the spec resizes to on the way, holds more than :func:`max_input_values` values. The
    shape is the model's (its static batch counted), else the spec's size."""
    cap = max_input_values()
    c = spec.n_channels
    tensors: list[tuple[str, tuple[int, ...]]] = []
    dims = static_dims(shape) if shape is not None else ()
    if len(dims) == 4:
        layout = spec.layout or guess_layout(dims) or "NCHW"
        h, w = (dims[2], dims[3]) if layout == "NCHW" else (dims[1], dims[2])
        if h is None or w is None:
            h, w = spec.size if spec.size is not None else (h or 1, w or 1)
        batch = dims[0] or 1
        full = (batch, c, h, w) if layout == "NCHW" else (batch, h, w, c)
        tensors.append((f"the model's input is {'x'.join(map(str, full))}", full))
    elif spec.size is not None:
        h, w = spec.size
        tensors.append((f"the input size is {h}x{w} ({c} channels)", (c, h, w)))
    resize = spec.resize
    if isinstance(resize, int):
        resize = (resize, resize)
    for name, pair in (("resize", resize), ("crop", spec.crop)):
        if pair is not None:
            tensors.append((f"the spec's {name} is {pair[0]}x{pair[1]} ({c} channels)", (c, *pair)))
    for said, tensor in tensors:
        values = int(np.prod(tensor, dtype=object))
        if values > cap:
            raise InputError(
                f"{said}: {values:,} values, more than the cap of {cap:,} per input",
                file=str(path),
            )


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded model takes and gives.

    ``media``: "image", "text" or "table"; ``input_shape``: the sample shape without the batch axis
    (None where dynamic); ``layout``: "NCHW" / "NHWC" for images; ``device``: what it runs on
    (:attr:`assay.runners.devices.Device.name`: ``cpu``, ``cuda:0``, OpenVINO's ``GPU.0``...).
    """

    path: str
    backend: str
    task: str
    classes: tuple[str, ...] | None
    media: str
    input_name: str | None
    input_shape: tuple[int | None, ...] | None
    layout: str | None
    dtype: str | None
    outputs: tuple[str, ...]
    device: str = "cpu"

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@runtime_checkable
class Runner(Protocol):
    """A loaded model. ``run`` gives the raw named outputs of one input batch; ``predict`` gives
    scores (N, C) for classification or one ``Detections`` per image for detection."""

    path: Path
    spec: PreprocessSpec

    def describe(self) -> ModelInfo: ...

    def run(self, batch: Any) -> dict[str, np.ndarray]: ...

    def predict(
        self,
        batch: Any,
        geometries: Sequence[Geometry] | None = None,
    ) -> np.ndarray | list[Detections]: ...


def softmax(x: np.ndarray) -> np.ndarray:
    z = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class BaseRunner:
    """Shared ``predict`` on top of a backend's ``run``: activation for classification, decoding
    for detection. Subclasses set ``backend`` and implement ``run`` and ``describe``."""

    backend = "base"
    path: Path
    spec: PreprocessSpec

    def run(self, batch: Any) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> ModelInfo:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict(
        self,
        batch: Any,
        geometries: Sequence[Geometry] | None = None,
    ) -> np.ndarray | list[Detections]:
        outputs = self.run(batch)
        if self.spec.task == "detection":
            assert self.spec.detection is not None
            n = len(batch)
            if geometries is None:
                h, w = self._input_hw()
                geometries = [Geometry(w, h)] * n
            h, w = self._input_hw()
            info = self.describe()
            return decode_detections(
                outputs,
                self.spec.detection,
                geometries,
                (w, h),
                n_classes=len(info.classes) if info.classes else None,
                source=str(self.path),
            )
        name = self.spec.output_name
        if name is not None and name not in outputs:
            raise InputError(
                f"no output named {name!r} (outputs: {', '.join(outputs)})",
                file=str(self.path),
                where="spec field 'output_name'",
            )
        scores = np.asarray(outputs[name] if name else next(iter(outputs.values())))
        if scores.ndim == 1:
            scores = scores[:, None]
        if scores.ndim != 2:
            scores = scores.reshape(scores.shape[0], -1)
        scores = scores.astype(np.float64)
        if self.spec.activation == "softmax":
            scores = softmax(scores)
        elif self.spec.activation == "sigmoid":
            scores = sigmoid(scores)
        return scores

    def _input_hw(self) -> tuple[int, int]:
        if self.spec.size is None:
            raise InputError(
                "the input size is unknown: set 'size' in the spec", file=str(self.path)
            )
        return self.spec.size


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class RunnerEntry:
    """How to load one kind of model: ``module:Class`` imported on first use, and its extra."""

    name: str
    target: str
    extra: str | None
    requires: str | None


_BY_SUFFIX: dict[str, RunnerEntry] = {}
_FOLDER_ENTRY: list[RunnerEntry] = []


def register_runner(
    suffixes: Sequence[str],
    name: str,
    target: str,
    *,
    extra: str | None = None,
    requires: str | None = None,
    folder: bool = False,
) -> None:
    """Make ``load_runner`` pick ``target`` ("module:Class") for files with these suffixes (or for
    a model folder when ``folder``). ``requires`` is the import that ``extra`` provides."""
    entry = RunnerEntry(name, target, extra, requires)
    for s in suffixes:
        _BY_SUFFIX[s.lower()] = entry
    if folder:
        _FOLDER_ENTRY[:] = [entry]


register_runner([".onnx"], "ONNX Runtime", "assay.runners.onnx:OnnxRunner")
register_runner([".skops"], "scikit-learn (skops)", "assay.runners.sklearn:SkopsRunner")
register_runner(
    [".xml"],
    "OpenVINO",
    "assay.runners.openvino:OpenVinoRunner",
    extra="openvino",
    requires="openvino",
)
register_runner(
    [".pt", ".pth", ".torchscript"],
    "TorchScript",
    "assay.runners.torchscript:TorchScriptRunner",
    extra="torch",
    requires="torch",
)
register_runner(
    [],
    "Hugging Face",
    "assay.runners.hf:HfTextRunner",
    extra="hf",
    requires="transformers",
    folder=True,
)


def runner_entry(path: str | Path) -> RunnerEntry:
    """The registry entry for a model path (``InputError`` for an unknown type)."""
    path = Path(path)
    if path.is_dir():
        if _FOLDER_ENTRY and (path / "config.json").is_file():
            return _FOLDER_ENTRY[0]
        raise InputError("a model folder needs a Hugging Face config.json", file=str(path))
    suffix = path.suffix.lower()
    if suffix == ".bin" and path.with_suffix(".xml").is_file():
        suffix = ".xml"
    entry = _BY_SUFFIX.get(suffix)
    if entry is None:
        known = ", ".join(sorted(_BY_SUFFIX))
        raise InputError(
            f"unknown model type {suffix or '(no suffix)'!r}; expected one of {known} "
            "or a Hugging Face folder",
            file=str(path),
        )
    return entry


def _import_target(entry: RunnerEntry, path: Path) -> Callable[..., Runner]:
    if entry.requires is not None:
        try:
            importlib.import_module(entry.requires)
        except ImportError:
            raise MissingExtraError(
                f"{path}: {entry.name} models need the '{entry.extra}' extra: "
                f"pip install 'assay[{entry.extra}]'"
            ) from None
    module, _, cls = entry.target.partition(":")
    return getattr(importlib.import_module(module), cls)


def available_backends() -> dict[str, bool]:
    """Each registered backend and whether its extra is importable."""
    out = {}
    for entry in {*_BY_SUFFIX.values(), *_FOLDER_ENTRY}:
        ok = True
        if entry.requires is not None:
            ok = importlib.util.find_spec(entry.requires) is not None
        out[entry.name] = ok
    return dict(sorted(out.items()))


def load_runner(
    path: str | Path,
    spec: PreprocessSpec | None = None,
    *,
    runner_options: Mapping[str, Any] | None = None,
    device: str | None = None,
    **overrides: Any,
) -> Runner:
    """Load a model with the runner its file type asks for.

    ``spec``: the preprocessing spec (default: the file next to the model, else defaults);
    ``overrides``: spec fields given as keyword arguments, over the spec; ``runner_options``: keyword
    arguments of the backend's runner (``threads`` for ONNX Runtime and TorchScript,
    ``extra_trusted`` for skops); ``device``: ``auto``, ``cpu``, ``cuda[:N]``... as
    :func:`~assay.runners.devices.resolve_device` takes it (None: the CPU), every backend; a
    device this machine does not have for the backend is an ``InputError`` of one line. What the model brings (an OpenVINO ``.bin``, ONNX
    external data, a folder's files, its spec and the files the spec names, sibling labels) must
    lie inside its folder, links followed (:mod:`assay.runners.files`). A missing file, a file that
    is not a model, or a spec that does not fit the model raises ``InputError`` naming the file; a
    backend whose extra is not installed raises ``MissingExtraError`` naming the extra.

    >>> load_runner("model.onnx", size=(64, 64), classes=["cat", "dog"])  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such model file", file=str(path))
    entry = runner_entry(path)
    model_files(path)  # its weights, external data, folder's files: inside its folder, or refused
    resolved = load_spec(path, spec, **overrides)
    if path.suffix.lower() == ".bin" and entry.extra == "openvino":
        path = path.with_suffix(".xml")
    check_input_values(path, resolved)  # a spec's own size, before the backend loads anything
    factory = _import_target(entry, path)
    options = dict(runner_options or {})
    if device is not None:
        options["device"] = device
    runner = factory(path, resolved, **options)
    check_input_values(path, runner.spec)  # the size the model gave the spec
    return runner


def check_output_classes(
    path: Path,
    n_outputs: int | None,
    classes: tuple[str, ...] | None,
) -> None:
    """Class names must match the width of the score output when both are known."""
    if n_outputs is not None and classes is not None and n_outputs != len(classes):
        raise InputError(
            f"the model gives {n_outputs} scores but {len(classes)} class names are given",
            file=str(path),
        )


def guess_layout(shape: Sequence[Any]) -> str | None:
    """ "NCHW" or "NHWC" from a 4-D input shape whose channel axis is 1 or 3."""
    if len(shape) != 4:
        return None
    c1, c3 = shape[1], shape[3]
    if c1 in (1, 3) and c3 not in (1, 3):
        return "NCHW"
    if c3 in (1, 3) and c1 not in (1, 3):
        return "NHWC"
    if c1 in (1, 3):
        return "NCHW"
    return None


def static_dims(shape: Sequence[Any]) -> tuple[int | None, ...]:
    return tuple(d if isinstance(d, int) and d > 0 else None for d in shape)


def fit_spec_to_input(
    path: Path, spec: PreprocessSpec, shape: Sequence[Any], dtype: str | None
) -> PreprocessSpec:
    """Fill the spec's size / layout / dtype from a 4-D image input, and check they agree."""
    dims = static_dims(shape)
    changes: dict[str, Any] = {}
    if len(dims) != 4:
        return spec
    layout = spec.layout or guess_layout(dims) or "NCHW"
    c, h, w = (dims[1], dims[2], dims[3]) if layout == "NCHW" else (dims[3], dims[1], dims[2])
    if spec.layout is None:
        changes["layout"] = layout
    if spec.dtype is None and dtype is not None:
        changes["dtype"] = dtype
        if dtype in ("uint8", "int8") and not any(spec.mean) and all(v == 1 for v in spec.std):
            changes["scale"] = 1.0  # a model that takes raw pixels
    if c is not None and c != spec.n_channels:
        if c == 1 and spec.channels == "RGB" and len(spec.mean) == 1 and len(spec.std) == 1:
            changes["channels"] = "L"  # a grey model with the default channels
        else:
            raise InputError(
                f"the model's input has {c} channels ({layout}), the spec gives "
                f"{spec.n_channels} ({spec.channels})",
                file=str(path),
                where="spec field 'channels'",
            )
    if h is not None and w is not None:
        if spec.size is None:
            changes["size"] = (h, w)
        elif spec.size != (h, w):
            raise InputError(
                f"the model's input is {h}x{w} ({layout} {list(shape)}), the spec "
                f"gives size {spec.size[0]}x{spec.size[1]}",
                file=str(path),
                where=f"spec {spec.source}, field 'size'",
            )
    if dtype is not None and spec.dtype is not None and spec.dtype != dtype:
        raise InputError(
            f"the model's input is {dtype}, the spec gives dtype {spec.dtype}",
            file=str(path),
            where="spec field 'dtype'",
        )
    fitted = spec.replace(**changes) if changes else spec
    check_input_values(path, fitted, shape)
    return fitted
