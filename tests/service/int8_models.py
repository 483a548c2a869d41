"""A small image classifier in ONNX (Conv, Relu, Flatten, Gemm, Softmax) fitted to a small
ImageFolder of 8 x 8 grey images, for the INT8 and profile tests. Seeded: the same files each
time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

CLASSES = ("left", "right", "top")
SPEC = {"size": [8, 8], "channels": "L", "scale": 1 / 255, "classes": list(CLASSES)}


def _pattern(k: int) -> np.ndarray:
    img = np.zeros((8, 8))
    if k == 0:
        img[:, :4] = 1
    elif k == 1:
        img[:, 4:] = 1
    else:
        img[:4, :] = 1
    return img


def write_folder(root: Path, per_class: int, seed: int) -> np.ndarray:
    """An ImageFolder of noisy patterns (``per_class`` PNGs per class); their pixels / 255 as
    (N, 1, 8, 8), in the order of ``sorted(root.glob('*/*.png'))``."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = 60 + 120 * _pattern(k) + rng.normal(0, 45, (8, 8))
            arr = np.clip(pixels, 0, 255).astype(np.uint8)
            Image.fromarray(arr, "L").save(root / name / f"{name}_{i:03d}.png")
    paths = sorted(root.glob("*/*.png"))
    return np.stack([np.asarray(Image.open(p), np.float32)[None] / 255 for p in paths])


def _graph(nodes: list, inits: list, out: str, width: int) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "int8-test",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", width])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def make_classifier(train: Path, out: Path, *, seed: int = 0, dynamic_hw: bool = False) -> Path:
    """Fit the classifier on ``train`` (random 3 x 3 filters, a least-squares read-out of their
    rectified maps) and write it to ``out`` with its spec; ``dynamic_hw``: the input's height and
    width left dynamic and no size in the spec."""
    import onnxruntime as ort

    x = write_folder(train, 40, seed)
    y = np.repeat(np.arange(len(CLASSES)), 40)
    rng = np.random.default_rng(seed)
    w_conv = rng.normal(0, 0.5, (8, 1, 3, 3)).astype(np.float32)
    b_conv = rng.normal(0, 0.1, 8).astype(np.float32)
    conv = [
        helper.make_node("Conv", ["image", "wc", "bc"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"], axis=1),
    ]
    inits = [numpy_helper.from_array(w_conv, "wc"), numpy_helper.from_array(b_conv, "bc")]
    probe = _graph(conv, inits, "f", 512)
    features = ort.InferenceSession(probe.SerializeToString()).run(None, {"image": x})[0]
    design = np.hstack([features, np.ones((len(x), 1), np.float32)])
    target = np.eye(len(CLASSES))[y] * 4.0
    coef = np.linalg.lstsq(design.T @ design + 1.0 * np.eye(513), design.T @ target, rcond=None)[0]
    head = [
        helper.make_node("Gemm", ["f", "wg", "bg"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    inits += [
        numpy_helper.from_array(coef[:-1].astype(np.float32), "wg"),
        numpy_helper.from_array(coef[-1].astype(np.float32), "bg"),
    ]
    model = _graph(conv + head, inits, "probabilities", len(CLASSES))
    spec = dict(SPEC)
    if dynamic_hw:
        shape = model.graph.input[0].type.tensor_type.shape
        shape.dim[2].dim_param, shape.dim[3].dim_param = "H", "W"
        spec.pop("size")
    onnx.save(model, out)
    out.with_name(f"{out.stem}.preprocess.json").write_text(json.dumps(spec))
    return out
