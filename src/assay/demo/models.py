"""The demo's real models, trained at demo time on what the package ships or draws, written as files
that Assay's runners load:

- ``make_digits``: scikit-learn's bundled handwritten digits as PNG images (an ImageFolder), a small
  neural network (MLP) trained on the training split, written as an ONNX graph (Flatten, Gemm, Relu,
  Gemm, Softmax: it takes the image tensor the runner makes); its INT8 child is made by the demo
  with ``assay models optimize``'s code (:func:`assay.service.optimize.optimize_int8`, calibrated
  on the training images); also the held-out digits moved by one pixel (a shifted set to run the
  model on later);
- ``make_trec``: text pipelines on a seeded split of the TREC questions, saved with skops: TF-IDF +
  logistic regression, its pruned child (90 % of its weights, the smallest, removed), word counts +
  naive Bayes and character n-grams + a linear model (SGD, log loss); the training split with a
  ``fold`` column and naive Bayes' out-of-fold scores over it (5-fold cross-validation);
- ``make_shape_detector``: a detector for the generated shape scenes that looks only at the pixels:
  the image is averaged into 8 x 8 cells, a small network over each cell's 5 x 5 neighbourhood (two
  MLPs trained with scikit-learn: one for the class, background included, one for the box) runs as
  convolutions, and every cell proposes one box; the runner decodes that YOLO-style output with NMS;
- ``make_shape_tagger``: a multi-label tagger (which shapes a scene holds) on the detector's first
  layer: its features max-pooled over the image, then one logistic regression per shape trained on
  the training scenes' tags.

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
    train_folder: Path  # ImageFolder of the training digits (the INT8 child's calibration)
    shifted_folder: Path  # the held-out digits moved one pixel right and down


def _digit_png(values: np.ndarray, path: Path) -> None:
    img = Image.fromarray((values.reshape(8, 8) * (255.0 / 16.0)).astype(np.uint8), "L")
    img.resize((DIGIT_SIZE, DIGIT_SIZE), Image.Resampling.NEAREST).save(path)


def _write_spec(model: Path, spec: dict[str, object]) -> None:
    model.with_name(f"{model.stem}.preprocess.json").write_text(json.dumps(spec, indent=2))


def make_digits(folder: Path, *, seed: int = 0) -> DigitsFiles:
    """Digits as PNGs (train and test ImageFolders) and an MLP in ONNX."""
    import onnx
    from onnx import helper, numpy_helper
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
    for i in order[:n_test]:  # the same held-out digits, one pixel (of 8) right and down
        label_dir = folder / "shifted" / names[digits.target[i]]
        label_dir.mkdir(parents=True, exist_ok=True)
        moved = np.zeros((8, 8))
        moved[1:, 1:] = digits.data[i].reshape(8, 8)[:-1, :-1]
        _digit_png(moved, label_dir / f"digit_{i:04d}.png")

    spec = {"size": [8, 8], "channels": "L", "scale": 1 / 255, "classes": names,
            "output_name": "probabilities", "embedding": "embedding"}  # fmt: skip
    # train on exactly what the runner will feed: the PNGs read through its preprocessing
    probe = folder / "probe.onnx"
    x_in = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 1, 8, 8])
    y_out = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 64])
    graph = helper.make_graph([helper.make_node("Flatten", ["x"], ["y"])], "probe", [x_in], [y_out])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), probe)
    reader = load_runner(probe, size=(8, 8), channels="L", scale=1 / 255, task="classification")
    from assay.runners import run_images

    train_paths = sorted((folder / "train").glob("*/*.png"))
    x_train = np.asarray(
        run_images(reader, [str(p) for p in train_paths], batch_size=256).scores, np.float32
    )
    y_train = [p.parent.name for p in train_paths]
    probe.unlink()

    model = MLPClassifier(hidden_layer_sizes=(48,), max_iter=400, random_state=seed)
    model.fit(x_train, y_train)
    if list(model.classes_) != names:
        raise ValueError("every digit must appear in the training split")
    # the network as ONNX: it takes the image tensor (N, 1, 8, 8) the runner makes
    inits = [numpy_helper.from_array(np.asarray(a, np.float32), n) for a, n in (
        (model.coefs_[0], "w1"), (model.intercepts_[0], "b1"),
        (model.coefs_[1], "w2"), (model.intercepts_[1], "b2"))]  # fmt: skip
    nodes = [
        helper.make_node("Flatten", ["image"], ["x"], axis=1),
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"]),
        helper.make_node("Relu", ["h"], ["hr"]),
        helper.make_node("Gemm", ["hr", "w2", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        helper.make_node("Identity", ["hr"], ["embedding"]),  # the hidden layer: the map's input
    ]
    graph = helper.make_graph(
        nodes, "digits-mlp",
        [helper.make_tensor_value_info("image", onnx.TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT, ["N", 10]),
         helper.make_tensor_value_info("embedding", onnx.TensorProto.FLOAT, ["N", 48])],
        initializer=inits,
    )  # fmt: skip
    onx = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onx.ir_version = 8
    entry = onx.metadata_props.add()
    entry.key, entry.value = "classes", ",".join(names)
    fp32 = folder / "digits-mlp.onnx"
    onnx.save(onx, fp32)
    _write_spec(fp32, spec)
    return DigitsFiles(folder / "test", fp32, folder / "train", folder / "shifted")


TREC_MODELS = ("logreg", "pruned", "naive-bayes", "char-sgd")


@dataclass(frozen=True)
class TrecFiles:
    test: Path  # the held-out questions: id, label, text, fine_label
    train: Path  # the training split, with a ``fold`` column (fold-1 .. fold-5)
    models: dict[str, Path]  # TREC_MODELS -> a skops file
    cv_predictions: Path  # naive Bayes' out-of-fold scores over ``train``


def _questions_csv(path: Path, rows: Any, coarse: list[str], fine: list[str], texts: list[str],
                   folds: dict[int, str] | None = None) -> Path:  # fmt: skip
    import csv

    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "label", "text", "fine_label", *(["fold"] if folds else [])])
        for i in rows:
            extra = [folds[int(i)]] if folds else []
            w.writerow([f"q{i:05d}", coarse[i], texts[i], fine[i], *extra])
    return path


def prune_linear(pipeline: Any, keep: float) -> Any:
    """A copy of a fitted pipeline whose final linear model keeps only the ``keep`` share of its
    weights with the largest magnitude (the rest set to zero, stored sparse)."""
    import copy

    pruned = copy.deepcopy(pipeline)
    model = pruned.steps[-1][1]
    coef = np.asarray(model.coef_)
    cut = np.quantile(np.abs(coef), 1.0 - keep)
    model.coef_ = np.where(np.abs(coef) >= cut, coef, 0.0)
    model.sparsify()
    return pruned


def make_trec(folder: Path, *, seed: int = 0, test_fraction: float = 0.2) -> TrecFiles:
    """Split the TREC questions (seeded), train the text models on the training split, save them
    with skops and write the CSVs (see :class:`TrecFiles`)."""
    import csv

    import skops.io as sio
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    from assay.demo.text import load_trec

    coarse, fine, texts = load_trec()
    order = np.random.default_rng(seed).permutation(len(texts))
    n_test = int(round(len(texts) * test_fraction))
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    x, y = [texts[i] for i in train], [coarse[i] for i in train]

    def naive_bayes() -> Any:
        return make_pipeline(
            CountVectorizer(ngram_range=(1, 2), min_df=2), MultinomialNB(alpha=0.1)
        )

    logreg = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=300, C=4.0),
    ).fit(x, y)
    pipelines = {
        "logreg": logreg,
        "pruned": prune_linear(logreg, keep=0.1),
        "naive-bayes": naive_bayes().fit(x, y),
        "char-sgd": make_pipeline(
            TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=(2, 4),
                min_df=3,
                max_features=3000,
                sublinear_tf=True,
            ),
            SGDClassifier(loss="log_loss", alpha=1e-4, random_state=seed),
        ).fit(x, y),
    }
    folder.mkdir(parents=True, exist_ok=True)
    models = {}
    for key, pipeline in pipelines.items():
        models[key] = folder / f"trec-{key}.skops"
        sio.dump(pipeline, models[key])

    # 5-fold cross-validation of naive Bayes on the training split: a fold column, out-of-fold scores
    splits = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    folds = {}
    for k, (_, held) in enumerate(splits.split(x, y), start=1):
        folds.update({int(train[j]): f"fold-{k}" for j in held})
    scores = cross_val_predict(naive_bayes(), x, y, cv=splits, method="predict_proba")
    cv = folder / "trec_train_cv_scores.csv"
    with cv.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", *sorted(set(y))])  # cross_val_predict's column order
        for row, i in enumerate(train):
            w.writerow([f"q{i:05d}", *(f"{p:.6f}" for p in scores[row])])
    return TrecFiles(
        test=_questions_csv(folder / "trec_test.csv", test, coarse, fine, texts),
        train=_questions_csv(folder / "trec_train.csv", train, coarse, fine, texts, folds),
        models=models,
        cv_predictions=cv,
    )


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


# ------------------------------------------------------------------ the shape tagger (multi-label)


def scene_tags(gt_path: Path, out: Path) -> Path:
    """A multi-label table of COCO scenes: ``id, path, labels`` (the shapes each scene holds,
    ``|``-separated; a crowd of small shapes counts), next to the images (``out`` in the COCO
    file's folder, so the paths are relative to it)."""
    import csv

    data = json.loads(gt_path.read_text())
    names = {int(c["id"]): str(c["name"]) for c in data["categories"]}
    order = [names[k] for k in sorted(names)]
    held: dict[int, set[str]] = {int(im["id"]): set() for im in data["images"]}
    for a in data["annotations"]:
        held[int(a["image_id"])].add(names[int(a["category_id"])])
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "path", "labels"])
        for im in data["images"]:
            tags = [n for n in order if n in held[int(im["id"])]]
            w.writerow([Path(im["file_name"]).stem, im["file_name"], "|".join(tags)])
    return out


def _first_layer(detector: Path) -> tuple[np.ndarray, np.ndarray]:
    """The detector's first convolution (weights (H, 3, 5, 5), bias (H,))."""
    import onnx
    from onnx import numpy_helper

    found = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(detector)).graph.initializer}
    return found["c1_w"], found["c1_b"]


def pooled_features(image: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(H,): the first layer's ReLU features of every cell of an (H, W, 3) image, max-pooled."""
    hidden = neighbourhoods(cell_means(image)) @ weight.reshape(len(weight), -1).T + bias
    return np.asarray(np.maximum(hidden, 0.0).max(axis=0), np.float32)


def make_shape_tagger(
    detector: Path, train_tags: Path, out: Path, classes: tuple[str, ...], *, size: tuple[int, int]
) -> Path:
    """Train the tagger on the scenes of ``train_tags`` (``id, path, labels``) and write it as ONNX
    (logits; its spec says multi-label, sigmoid), with its preprocessing spec next to it."""
    import csv

    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from sklearn.linear_model import LogisticRegression

    weight, bias = _first_layer(detector)
    with train_tags.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    x = np.stack(
        [
            pooled_features(
                np.asarray(Image.open(train_tags.parent / r["path"]).convert("RGB")), weight, bias
            )
            for r in rows
        ]
    )
    heads = []
    for name in classes:
        y = [name in r["labels"].split("|") for r in rows]
        heads.append(LogisticRegression(C=10.0, max_iter=1000).fit(x, y))
    coef = np.concatenate([h.coef_ for h in heads]).astype(np.float32)  # (classes, H)
    intercept = np.concatenate([h.intercept_ for h in heads]).astype(np.float32)

    h, w = size
    inits = [
        numpy_helper.from_array(weight.astype(np.float32), "c1_w"),
        numpy_helper.from_array(bias.astype(np.float32), "c1_b"),
        numpy_helper.from_array(coef, "head_w"),
        numpy_helper.from_array(intercept, "head_b"),
    ]
    nodes = [
        helper.make_node("AveragePool", ["image"], ["cells"], kernel_shape=[CELL, CELL],
                         strides=[CELL, CELL]),
        helper.make_node("Conv", ["cells", "c1_w", "c1_b"], ["c1"], pads=[REACH] * 4),
        helper.make_node("Relu", ["c1"], ["c1r"]),
        helper.make_node("GlobalMaxPool", ["c1r"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["features"], axis=1),
        helper.make_node("Gemm", ["features", "head_w", "head_b"], ["logits"], transB=1),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "shape-tagger",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, h, w])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", len(classes)])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, out)
    _write_spec(out, {"size": [h, w], "scale": 1 / 255, "task": "multilabel",
                      "activation": "sigmoid", "classes": list(classes)})  # fmt: skip
    return out
