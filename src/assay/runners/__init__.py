"""Model adapters behind one small protocol, preprocessing specs, and batch inference.

    >>> from assay.runners import load_runner, run_images
    >>> runner = load_runner("model.onnx")  # doctest: +SKIP
    >>> runner.describe().classes  # doctest: +SKIP
    ('cat', 'dog')
    >>> res = run_images(runner, paths, batch_size=32, out_dir="preds/")  # doctest: +SKIP
    >>> res.scores.shape  # (N, C), in input order  # doctest: +SKIP
    (2000, 2)

``load_runner`` reads ``model.preprocess.json`` / ``.yaml`` next to the model when there is one.

Backends: ONNX Runtime (``.onnx``) and scikit-learn via skops (``.skops``) in the default install;
OpenVINO IR (``.xml`` + ``.bin``, the ``openvino`` extra), TorchScript (``.pt``, the ``torch``
extra) and a local Hugging Face text classifier folder (the ``hf`` extra), imported on first use.
"""

from __future__ import annotations

from assay.runners.base import (
    DEFAULT_MAX_INPUT_VALUES,
    BaseRunner,
    MissingExtraError,
    ModelInfo,
    Runner,
    available_backends,
    input_values_cap,
    load_runner,
    max_input_values,
    register_runner,
    runner_entry,
)
from assay.runners.batch import BatchResult, run_arrays, run_images, run_texts
from assay.runners.detection import (
    Detections,
    batched_nms,
    box_iou,
    decode_detections,
    decode_yolo,
    nms,
    to_xyxy,
)
from assay.runners.labels import parse_names, read_labels_file, resolve_classes
from assay.runners.preprocess import (
    Geometry,
    decode_image,
    load_batch,
    normalize,
    preprocess_image,
    resize_image,
)
from assay.runners.spec import (
    DetectionSpec,
    PreprocessSpec,
    load_spec,
    read_spec_file,
    spec_from_mapping,
    spec_path_for,
)

__all__ = [
    "DEFAULT_MAX_INPUT_VALUES",
    "BaseRunner",
    "BatchResult",
    "DetectionSpec",
    "Detections",
    "Geometry",
    "MissingExtraError",
    "ModelInfo",
    "PreprocessSpec",
    "Runner",
    "available_backends",
    "batched_nms",
    "box_iou",
    "decode_detections",
    "decode_image",
    "decode_yolo",
    "input_values_cap",
    "load_batch",
    "load_runner",
    "load_spec",
    "max_input_values",
    "nms",
    "normalize",
    "parse_names",
    "preprocess_image",
    "read_labels_file",
    "read_spec_file",
    "register_runner",
    "resize_image",
    "resolve_classes",
    "run_arrays",
    "run_images",
    "run_texts",
    "runner_entry",
    "spec_from_mapping",
    "spec_path_for",
    "to_xyxy",
]
