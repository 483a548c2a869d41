"""The preprocessing spec of a model: how a decoded image (or a text) becomes the model's input tensor,
and how the model's outputs are read (task, activation, detection layout).

A spec is a frozen, validated dataclass. It is read from a small JSON or YAML file next to the model
(``model.onnx`` -> ``model.preprocess.json`` / ``model.preprocess.yaml``; a model folder ->
``preprocess.json`` / ``preprocess.yaml`` inside it) and/or from keyword arguments, which win over the
file. A bad spec raises ``InputError`` naming the file and the field.

    >>> spec = PreprocessSpec(size=(224, 224), resize=256, resize_mode="shorter",
    ...                       mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    >>> spec.input_hw
    (224, 224)
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.errors import InputError, one_line
from assay.runners.files import check_tree, confine, model_folder

TASKS = ("classification", "multilabel", "detection")
ACTIVATIONS = ("none", "softmax", "sigmoid")
RESIZE_MODES = ("stretch", "shorter", "letterbox")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos")
CHANNELS = ("RGB", "BGR", "L")
LAYOUTS = ("NCHW", "NHWC")
DTYPES = ("float32", "float16", "float64", "uint8", "int8")
DETECTION_FORMATS = ("boxes", "yolo")
BOX_FORMATS = ("xyxy", "xywh", "cxcywh")
SPEC_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True)
class DetectionSpec:
    """How a detector's outputs are laid out.

    ``format="boxes"``: three outputs (boxes (N, 4) or (B, N, 4), scores, labels), named by ``boxes`` /
    ``scores`` / ``labels`` or taken in that order. ``format="yolo"``: one output (B, N, 4 + C) or
    (B, N, 5 + C) when ``objectness`` (also (B, 4 + C, N), transposed), decoded with NMS.
    ``box_format`` and ``normalized`` say how boxes read (normalised = fractions of the input size).
    """

    format: str = "boxes"
    box_format: str = "xyxy"
    normalized: bool = False
    objectness: bool = False
    score_threshold: float = 0.001
    iou_threshold: float = 0.5
    max_detections: int = 100
    class_agnostic: bool = False
    label_offset: int = 0
    boxes: str | None = None
    scores: str | None = None
    labels: str | None = None


@dataclass(frozen=True)
class PreprocessSpec:
    """Preprocessing and output reading for one model (every field optional; see ``resolve``).

    - ``size``: the model's input (height, width); taken from the model when it is static.
    - ``resize`` / ``resize_mode``: "stretch" to ``resize`` (h, w) (default: ``size``); "shorter"
      scales the shorter side to ``resize`` (an int) keeping the aspect ratio; "letterbox" fits the
      image inside ``size`` and pads with ``pad_value``. ``crop``: a centre crop (h, w) after resizing
      (default for "shorter": ``size``).
    - ``scale`` (e.g. 1/255), then ``(x - mean) / std`` per channel, in the order of ``channels``.
    - ``channels`` "RGB" / "BGR" / "L", ``layout`` "NCHW" / "NHWC", ``dtype`` of the input tensor.
    - ``task``, ``activation`` applied to the scores ("none", "softmax", "sigmoid"), ``classes``
      (or ``labels_file``), ``detection`` (a ``DetectionSpec``).
    - text: ``tokenizer`` (a local folder) and ``max_length``.
    - ``embedding``: the output that holds each sample's embedding (an ONNX intermediate or extra
      output, a TorchScript dict key or ``output_1`` of a tuple; Hugging Face: ``cls`` or ``mean``
      of the last hidden state), read by :mod:`assay.runners.embedding`; None: no embedding.
    """

    size: tuple[int, int] | None = None
    resize: int | tuple[int, int] | None = None
    resize_mode: str = "stretch"
    crop: tuple[int, int] | None = None
    interpolation: str = "bilinear"
    pad_value: int = 114
    scale: float = 1.0 / 255.0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    channels: str = "RGB"
    layout: str | None = None
    dtype: str | None = None
    task: str = "classification"
    activation: str = "none"
    classes: tuple[str, ...] | None = None
    labels_file: str | None = None
    input_name: str | None = None
    output_name: str | None = None
    tokenizer: str | None = None
    max_length: int = 128
    detection: DetectionSpec | None = None
    embedding: str | None = None
    source: str = field(default="keyword arguments", compare=False)

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def input_hw(self) -> tuple[int, int] | None:
        """The (height, width) of the model's input, when known."""
        return self.size

    @property
    def n_channels(self) -> int:
        return 1 if self.channels == "L" else 3

    def replace(self, **changes: Any) -> PreprocessSpec:
        """A copy with ``changes`` (validated again)."""
        return dataclasses.replace(self, **changes)


def _fail(spec_or_source: Any, name: str, message: str) -> InputError:
    source = spec_or_source if isinstance(spec_or_source, str) else spec_or_source.source
    return InputError(message, file=source, where=f"field '{name}'")


def _choice(
    spec: PreprocessSpec | DetectionSpec, name: str, allowed: tuple[str, ...], source: str
) -> None:
    value = getattr(spec, name)
    if value is not None and value not in allowed:
        raise _fail(source, name, f"{value!r} is not one of {', '.join(allowed)}")


def _positive_pair(value: Any, name: str, source: str, *, allow_int: bool) -> None:
    if value is None:
        return
    if isinstance(value, int) and not isinstance(value, bool):
        if not allow_int or value <= 0:
            raise _fail(source, name, f"expected a (height, width) pair, got {value!r}")
        return
    if not (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise _fail(source, name, f"expected two positive integers (height, width), got {value!r}")


def _validate(spec: PreprocessSpec) -> None:
    src = spec.source
    _positive_pair(spec.size, "size", src, allow_int=False)
    _positive_pair(spec.resize, "resize", src, allow_int=True)
    _positive_pair(spec.crop, "crop", src, allow_int=False)
    for name, allowed in (
        ("resize_mode", RESIZE_MODES),
        ("interpolation", INTERPOLATIONS),
        ("channels", CHANNELS),
        ("layout", LAYOUTS),
        ("dtype", DTYPES),
        ("task", TASKS),
        ("activation", ACTIVATIONS),
    ):
        _choice(spec, name, allowed, src)
    if spec.resize_mode == "shorter" and isinstance(spec.resize, tuple):
        raise _fail(src, "resize", "resize_mode 'shorter' takes one integer (the shorter side)")
    if spec.resize_mode != "shorter" and isinstance(spec.resize, int):
        raise _fail(src, "resize", f"resize_mode '{spec.resize_mode}' takes (height, width)")
    if not (isinstance(spec.scale, int | float) and spec.scale > 0):
        raise _fail(src, "scale", f"expected a positive number, got {spec.scale!r}")
    for name in ("mean", "std"):
        values = getattr(spec, name)
        if not (
            isinstance(values, tuple)
            and len(values) in (1, spec.n_channels)
            and all(isinstance(v, int | float) for v in values)
        ):
            raise _fail(src, name, f"expected 1 or {spec.n_channels} numbers, got {values!r}")
    if any(v == 0 for v in spec.std):
        raise _fail(src, "std", "a standard deviation of 0")
    if spec.dtype in ("uint8", "int8") and (
        spec.scale != 1.0 or any(spec.mean) or any(v != 1 for v in spec.std)
    ):
        raise _fail(
            src, "dtype", f"{spec.dtype} input takes raw pixels: set scale 1, mean 0, std 1"
        )
    if not (isinstance(spec.pad_value, int) and 0 <= spec.pad_value <= 255):
        raise _fail(src, "pad_value", f"expected an integer in 0..255, got {spec.pad_value!r}")
    if not (isinstance(spec.max_length, int) and spec.max_length > 0):
        raise _fail(src, "max_length", f"expected a positive integer, got {spec.max_length!r}")
    if spec.classes is not None and (
        not all(isinstance(c, str) and c for c in spec.classes)
        or len(set(spec.classes)) != len(spec.classes)
    ):
        raise _fail(src, "classes", "expected distinct non-empty names")
    if spec.embedding is not None and not (isinstance(spec.embedding, str) and spec.embedding):
        raise _fail(src, "embedding", f"expected an output name, got {spec.embedding!r}")
    if spec.task == "detection" and spec.detection is None:
        object.__setattr__(spec, "detection", DetectionSpec())
    det = spec.detection
    if det is not None:
        _choice(det, "format", DETECTION_FORMATS, src)
        _choice(det, "box_format", BOX_FORMATS, src)
        for name in ("score_threshold", "iou_threshold"):
            v = getattr(det, name)
            if not (isinstance(v, int | float) and 0 <= v <= 1):
                raise _fail(src, f"detection.{name}", f"expected a number in [0, 1], got {v!r}")
        if not (isinstance(det.max_detections, int) and det.max_detections > 0):
            raise _fail(src, "detection.max_detections", "expected a positive integer")


# --------------------------------------------------------------------------- reading


def _as_pair(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    return value


def spec_from_mapping(
    data: Mapping[str, Any],
    *,
    source: str = "keyword arguments",
    base: PreprocessSpec | None = None,
) -> PreprocessSpec:
    """A spec from a mapping (a parsed file or keyword arguments), over ``base`` when given.

    >>> spec_from_mapping({"size": [32, 32], "channels": "BGR"}).channels
    'BGR'
    """
    if not isinstance(data, Mapping):
        raise InputError("expected a mapping of field names to values", file=source)
    names = {f.name for f in dataclasses.fields(PreprocessSpec)} - {"source"}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise _fail(
                source, str(key), f"unknown field; expected one of {', '.join(sorted(names))}"
            )
        if key in ("size", "crop", "resize"):
            value = _as_pair(value)
        elif key in ("mean", "std"):
            value = tuple(value) if isinstance(value, list | tuple) else (value,)
        elif key == "classes" and value is not None:
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",")]
            if not isinstance(value, list | tuple):
                raise _fail(source, key, f"expected a list of names, got {value!r}")
            value = tuple(value)
        elif key == "detection" and value is not None and not isinstance(value, DetectionSpec):
            value = _detection_from_mapping(value, source)
        values[key] = value
    start = base if base is not None else PreprocessSpec()
    try:
        return dataclasses.replace(start, source=source, **values)
    except TypeError as exc:  # pragma: no cover - guarded by the names check
        raise InputError(str(exc), file=source) from None


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def spec_to_mapping(spec: PreprocessSpec) -> dict[str, Any]:
    """Every field of a spec as plain JSON values (tuples as lists, ``detection`` as a mapping;
    ``source`` left out); :func:`spec_from_mapping` reads it back to an equal spec.

    >>> spec_from_mapping(spec_to_mapping(PreprocessSpec(size=(8, 8)))) == PreprocessSpec(size=(8, 8))
    True
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(spec):
        if f.name == "source":
            continue
        value = getattr(spec, f.name)
        if isinstance(value, DetectionSpec):
            value = {d.name: _plain(getattr(value, d.name)) for d in dataclasses.fields(value)}
        out[f.name] = _plain(value)
    return out


def _detection_from_mapping(data: Any, source: str) -> DetectionSpec:
    if not isinstance(data, Mapping):
        raise _fail(source, "detection", "expected a mapping")
    names = {f.name for f in dataclasses.fields(DetectionSpec)}
    for key in data:
        if key not in names:
            raise _fail(
                source,
                f"detection.{key}",
                f"unknown field; expected one of {', '.join(sorted(names))}",
            )
    return DetectionSpec(**data)


def read_spec_file(path: str | Path, *, base: PreprocessSpec | None = None) -> PreprocessSpec:
    """Read a JSON or YAML spec file (paths inside it are relative to the file, and must lie in its
    folder, links followed: a spec next to a model names only the model's own files)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the spec ({exc.strerror})", file=str(path)) from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            try:
                import yaml
            except ImportError:  # pragma: no cover - pyyaml comes with uvicorn[standard]
                raise InputError(
                    "reading a YAML spec needs PyYAML: pip install pyyaml", file=str(path)
                ) from None
            data = yaml.safe_load(text)
    except (ValueError, ImportError) as exc:
        raise InputError(
            f"not valid {path.suffix[1:].upper()}: {one_line(exc)}", file=str(path)
        ) from None
    except Exception as exc:  # yaml.YAMLError
        raise InputError(f"not valid YAML: {one_line(exc)}", file=str(path)) from None
    if data is None:
        data = {}
    spec = spec_from_mapping(data, source=str(path), base=base)
    changes: dict[str, Any] = {}
    folder = path.parent.resolve()
    for name in ("labels_file", "tokenizer"):
        value = getattr(spec, name)
        if value is None:
            continue
        full = Path(value) if Path(value).is_absolute() else path.parent / value
        if name in data:  # what the file names lies in its folder (the model's), links followed
            where = f"field '{name}'"
            confine(full, folder, file=str(path), where=where, what="the spec's folder")
            if name == "tokenizer" and full.is_dir():
                check_tree(full, folder, file=str(path), where=f"{where}, file")
        if not Path(value).is_absolute():
            changes[name] = str(full)
    return dataclasses.replace(spec, **changes) if changes else spec


def spec_path_for(model_path: str | Path) -> Path | None:
    """The spec file next to a model, if there is one."""
    model_path = Path(model_path)
    if model_path.is_dir():
        candidates = [model_path / f"preprocess{s}" for s in SPEC_SUFFIXES]
    else:
        candidates = [
            model_path.with_name(f"{model_path.stem}.preprocess{s}") for s in SPEC_SUFFIXES
        ]
    folder = model_folder(model_path)
    for candidate in candidates:
        if os.path.lexists(candidate):  # a link leading out of the model's folder is refused
            confine(candidate, folder, file=str(model_path), where=f"spec '{candidate.name}'")
            if candidate.is_file():
                return candidate
    return None


def load_spec(
    model_path: str | Path, spec: PreprocessSpec | None = None, **overrides: Any
) -> PreprocessSpec:
    """The spec of a model: ``spec`` if given, else the file next to it (or the defaults), then
    ``overrides`` on top.

    >>> load_spec("nowhere/model.onnx", size=(8, 8)).size
    (8, 8)
    """
    if spec is None:
        found = spec_path_for(model_path)
        spec = read_spec_file(found) if found is not None else PreprocessSpec()
    if overrides:
        spec = spec_from_mapping(overrides, source="keyword arguments", base=spec)
    return spec
