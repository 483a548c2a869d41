"""The demo's real models, trained at demo time on what the package ships or draws, written as files
that Assay's runners load:

- ``make_digits``: scikit-learn's bundled handwritten digits as PNG images (an ImageFolder), a small
  neural network (MLP) trained on the training split, exported to ONNX with skl2onnx (with a Flatten
  in front, so it takes the image tensor the runner makes), and its INT8 child quantized with
  onnxruntime's dynamic quantization;
- ``make_trec``: a TF-IDF + logistic regression pipeline on the TREC questions, saved with skops;
- ``make_shape_detector``: a detector for the generated shape scenes that looks only at the pixels:
  the image is averaged into 8 x 8 cells, a small network over each cell's 5 x 5 neighbourhood (two
  MLPs trained with scikit-learn: one for the class, background included, one for the box) runs as
  convolutions, and every cell proposes one box; the runner decodes that YOLO-style output with NMS.

Every maker is deterministic (same seed, same files) and returns what the demo registers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

DIGIT_SIZE = 32  # the PNG side; the model reads them at 8 x 8, the digits' own resolution
CELL = 8  # detector: pixels per cell
REACH = 2  # detector: a cell sees its 5 x 5 neighbourhood


@dataclass(frozen=True)
class DigitsFiles:
    test_folder: Path  # ImageFolder of the held-out digits
    fp32: Path
    int8: Path


def _digit_png(values: np.ndarray, path: Path) -> None:
    img = Image.fromarray((values.reshape(8, 8) * (255.0 / 16.0)).astype(np.uint8), "L")
    img.resize((DIGIT_SIZE, DIGIT_SIZE), Image.Resampling.NEAREST).save(path)


def _write_spec(model: Path, spec: dict[str, object]) -> None:
    model.with_name(f"{model.stem}.preprocess.json").write_text(json.dumps(spec, indent=2))


def make_digits(folder: Path, *, seed: int = 0) -> DigitsFiles:
    """Digits as PNGs (train and test ImageFolders), an MLP in ONNX and its INT8 child."""
    import onnx
    from onnx import helper
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from skl2onnx import to_onnx
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    from assay.runners import load_runner

    folder.mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    n_test = len(order) // 3
    names = [str(d) for d in range(10)]
    for split, rows in (("test", order[:n_test]), ("train", order[n_test:])):
        for i in rows:
            label_dir = folder / split / names[digits.target[i]]
            label_dir.mkdir(parents=True, exist_ok=True)
            _digit_png(digits.data[i], label_dir / f"digit_{i:04d}.png")

    spec = {"size": [8, 8], "channels": "L", "scale": 1 / 255, "classes": names,
            "output_name": "probabilities"}  # fmt: skip
    # train on exactly what the runner will feed: the PNGs read through its preprocessing
    probe = folder / "probe.onnx"
    x_in = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 1, 8, 8])
    y_out = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 64])
    graph = helper.make_graph([helper.make_node("Flatten", ["x"], ["y"])], "probe", [x_in], [y_out])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), probe)
    reader = load_runner(probe, size=(8, 8), channels="L", scale=1 / 255, task="classification")
    from assay.runners import run_images

    train_paths = sorted((folder / "train").glob("*/*.png"))
    x_train = run_images(reader, [str(p) for p in train_paths], batch_size=256).scores
    y_train = [p.parent.name for p in train_paths]
    probe.unlink()

    model = MLPClassifier(hidden_layer_sizes=(48,), max_iter=400, random_state=seed)
    model.fit(np.asarray(x_train, np.float32), y_train)
    onx = to_onnx(
        model, np.zeros((1, 64), np.float32), options={id(model): {"zipmap": False}},
        target_opset=17,
    )  # fmt: skip
    # take the image tensor (N, 1, 8, 8): a Flatten in front of the converted network
    g = onx.graph
    first = g.input[0].name
    g.node.insert(0, helper.make_node("Flatten", ["image"], [first], axis=1, name="flatten"))
    del g.input[:]
    g.input.append(helper.make_tensor_value_info("image", onnx.TensorProto.FLOAT, ["N", 1, 8, 8]))
    entry = onx.metadata_props.add()
    entry.key, entry.value = "classes", ",".join(names)
    fp32 = folder / "digits-mlp.onnx"
    onnx.save(onx, fp32)
    _write_spec(fp32, spec)
    int8 = folder / "digits-mlp-int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    _write_spec(int8, spec)
    return DigitsFiles(folder / "test", fp32, int8)


def make_trec(folder: Path, *, seed: int = 0, test_fraction: float = 0.2) -> tuple[Path, Path]:
    """(the held-out questions as a CSV with a ``text`` column, the pipeline saved with skops)."""
    import csv

    import skops.io as sio
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from assay.demo.text import load_trec

    coarse, fine, texts = load_trec()
    order = np.random.default_rng(seed).permutation(len(texts))
    n_test = int(round(len(texts) * test_fraction))
    test, train = np.sort(order[:n_test]), order[n_test:]
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=300, C=4.0),
    )
    pipeline.fit([texts[i] for i in train], [coarse[i] for i in train])
    folder.mkdir(parents=True, exist_ok=True)
    gt = folder / "trec_test.csv"
    with gt.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "label", "text", "fine_label"])
        for i in test:
            w.writerow([f"q{i:05d}", coarse[i], texts[i], fine[i]])
    model = folder / "trec-tfidf-logreg.skops"
    sio.dump(pipeline, model)
    return gt, model


# ------------------------------------------------------------------ the shape detector


def cell_means(image: np.ndarray) -> np.ndarray:
    """(3, H / CELL, W / CELL): the mean of each cell of an (H, W, 3) image scaled to [0, 1]."""
    h, w, _ = image.shape
    x = image.astype(np.float32).reshape(h // CELL, CELL, w // CELL, CELL, 3) / 255.0
    return x.mean(axis=(1, 3)).transpose(2, 0, 1)


def neighbourhoods(cells: np.ndarray) -> np.ndarray:
    """(rows * cols, 3 * 5 * 5): each cell's 5 x 5 neighbourhood (zeros past the border), in the
    (channel, dy, dx) order of a convolution's weights."""
    c, rows, cols = cells.shape
    k = 2 * REACH + 1
    padded = np.pad(cells, ((0, 0), (REACH, REACH), (REACH, REACH)))
    out = np.empty((rows, cols, c, k, k), np.float32)
    for dy in range(k):
        for dx in range(k):
            out[:, :, :, dy, dx] = padded[:, dy : dy + rows, dx : dx + cols].transpose(1, 2, 0)
    return out.reshape(rows * cols, c * k * k)


def _training_cells(
    gt_path: Path, rng: np.random.Generator, background_share: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Features, class targets (0: background) and box targets of the training scenes' cells: a
    cell holding an object's centre learns that object; crowd regions are left out."""
    data = json.loads(gt_path.read_text())
    by_image: dict[int, list[dict[str, Any]]] = {}
    for a in data["annotations"]:
        by_image.setdefault(int(a["image_id"]), []).append(a)
    feats, classes, boxes, box_feats = [], [], [], []
    for im in data["images"]:
        pixels = np.asarray(Image.open(gt_path.parent / im["file_name"]).convert("RGB"))
        cells = cell_means(pixels)
        rows, cols = cells.shape[1:]
        f = neighbourhoods(cells)
        target = np.zeros(rows * cols, np.int64)
        ignore = np.zeros(rows * cols, bool)
        box_t = np.zeros((rows * cols, 4), np.float32)
        for a in by_image.get(int(im["id"]), []):
            x, y, w, h = (float(v) for v in a["bbox"])
            r = min(rows - 1, int((y + h / 2) // CELL))
            c = min(cols - 1, int((x + w / 2) // CELL))
            if a["iscrowd"]:
                r0, r1 = int(y // CELL), int((y + h) // CELL) + 1
                c0, c1 = int(x // CELL), int((x + w) // CELL) + 1
                for rr in range(max(r0, 0), min(r1, rows)):
                    ignore[rr * cols + max(c0, 0) : rr * cols + min(c1, cols)] = True
                continue
            i = r * cols + c
            target[i] = int(a["category_id"])
            box_t[i] = [
                (x + w / 2) / CELL - (c + 0.5),
                (y + h / 2) / CELL - (r + 0.5),
                w / CELL,
                h / CELL,
            ]
        keep = ~ignore & ((target > 0) | (rng.random(rows * cols) < background_share))
        feats.append(f[keep])
        classes.append(target[keep])
        pos = target > 0
        boxes.append(box_t[pos])
        box_feats.append(f[pos])
    return (np.concatenate(feats), np.concatenate(classes), np.concatenate(box_feats),
            np.concatenate(boxes))  # fmt: skip


def make_shape_detector(
    train_gt: Path, out: Path, classes: tuple[str, ...], *, size: tuple[int, int], seed: int = 0
) -> Path:
    """Train the cell detector on the scenes of ``train_gt`` (COCO) and write it as ONNX, with its
    preprocessing spec next to it. ``size``: the scenes' (height, width), multiples of CELL."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    rng = np.random.default_rng(seed)
    x, y, xb, yb = _training_cells(train_gt, rng, background_share=0.08)
    clf = MLPClassifier(hidden_layer_sizes=(48,), max_iter=300, random_state=seed).fit(x, y)
    reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=500, random_state=seed).fit(xb, yb)
    if list(clf.classes_) != list(range(len(classes) + 1)):
        raise ValueError("every class (and the background) must appear in the training scenes")

    h, w = size
    rows, cols = h // CELL, w // CELL
    k = 2 * REACH + 1

    def conv(name: str, coefs: np.ndarray, bias: np.ndarray, kernel: int) -> list[Any]:
        weight = coefs.T.reshape(coefs.shape[1], -1, kernel, kernel).astype(np.float32)
        return [numpy_helper.from_array(weight, f"{name}_w"),
                numpy_helper.from_array(bias.astype(np.float32), f"{name}_b")]  # fmt: skip

    inits = [
        *conv("c1", clf.coefs_[0], clf.intercepts_[0], k),
        *conv("c2", clf.coefs_[1], clf.intercepts_[1], 1),
        *conv("r1", reg.coefs_[0], reg.intercepts_[0], k),
        *conv("r2", reg.coefs_[1], reg.intercepts_[1], 1),
    ]
    gy, gx = np.mgrid[0:rows, 0:cols].astype(np.float32) + 0.5
    offset = np.stack([gx, gy, np.zeros_like(gx), np.zeros_like(gy)])[None] * CELL
    inits += [
        numpy_helper.from_array(offset.astype(np.float32), "grid"),
        numpy_helper.from_array(np.array([float(CELL)], np.float32), "cell"),
        numpy_helper.from_array(np.array([0, 4 + len(classes), rows * cols], np.int64), "shape"),
        numpy_helper.from_array(np.array([1], np.int64), "one"),
        numpy_helper.from_array(np.array([len(classes) + 1], np.int64), "end"),
        numpy_helper.from_array(np.array([1], np.int64), "axis"),
    ]
    pad = [REACH] * 4
    nodes = [
        helper.make_node("AveragePool", ["image"], ["cells"], kernel_shape=[CELL, CELL],
                         strides=[CELL, CELL]),
        helper.make_node("Conv", ["cells", "c1_w", "c1_b"], ["c1"], pads=pad),
        helper.make_node("Relu", ["c1"], ["c1r"]),
        helper.make_node("Conv", ["c1r", "c2_w", "c2_b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
        helper.make_node("Slice", ["probs", "one", "end", "axis"], ["objects"]),
        helper.make_node("Conv", ["cells", "r1_w", "r1_b"], ["r1"], pads=pad),
        helper.make_node("Relu", ["r1"], ["r1r"]),
        helper.make_node("Conv", ["r1r", "r2_w", "r2_b"], ["raw_box"]),
        helper.make_node("Mul", ["raw_box", "cell"], ["scaled"]),
        helper.make_node("Add", ["scaled", "grid"], ["box"]),
        helper.make_node("Concat", ["box", "objects"], ["joined"], axis=1),
        helper.make_node("Reshape", ["joined", "shape"], ["output"]),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "shape-cell-detector",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, h, w])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 4 + len(classes),
                                                                      rows * cols])],
        initializer=inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, out)
    _write_spec(
        out,
        {"size": [h, w], "scale": 1 / 255, "task": "detection", "classes": list(classes),
         "detection": {"format": "yolo", "box_format": "cxcywh", "score_threshold": 0.05,
                       "iou_threshold": 0.4, "max_detections": 50, "class_agnostic": True}},
    )  # fmt: skip
    return out
