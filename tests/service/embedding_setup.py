"""A small workspace for the embedding tests: an ImageFolder of seeded 8 x 8 grey images in three
classes and an ONNX model whose spec names an embedding output (its hidden layer), run over it
and stored; also an evaluation of a predictions file (no model: the scores serve)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from assay.service.runs import run_model, save_run, store_model_run
from assay.store import Workspace

CLASSES = ("a", "b", "c")
HIDDEN = 6


def embedding_model(path: Path, *, seed: int = 0, spec: bool = True) -> tuple[Path, np.ndarray]:
    """probs = softmax(relu(flatten(x) @ W1) @ W2); outputs ``probs`` and ``emb`` (the hidden
    layer, (N, HIDDEN)). Returns (path, W1)."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(size=(64, HIDDEN)).astype(np.float32)
    w2 = rng.normal(size=(HIDDEN, len(CLASSES))).astype(np.float32)
    nodes = [
        helper.make_node("Flatten", ["x"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W1"], ["h"]),
        helper.make_node("Relu", ["h"], ["emb"]),
        helper.make_node("MatMul", ["emb", "W2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "embedder",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", len(CLASSES)]),
            helper.make_tensor_value_info("emb", TensorProto.FLOAT, ["N", HIDDEN]),
        ],
        initializer=[numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(w2, "W2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    if spec:
        path.with_name(f"{path.stem}.preprocess.json").write_text(
            json.dumps(
                {
                    "size": [8, 8],
                    "channels": "L",
                    "classes": list(CLASSES),
                    "output_name": "probs",
                    "embedding": "emb",
                }
            )
        )
    return path, w1


def image_folder(root: Path, n_per_class: int = 10, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for k, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            pixels = rng.integers(0, 256, (8, 8)) // (k + 1)
            Image.fromarray(pixels.astype(np.uint8), "L").save(root / name / f"{name}_{i:02d}.png")
    return root


def build(root: Path) -> dict[str, object]:
    """The workspace with a model run (``model_eval``) and a predictions-file evaluation
    (``scores_eval``)."""
    ws = Workspace(root / "home")
    folder = image_folder(root / "images")
    (root / "model").mkdir()
    model, w1 = embedding_model(root / "model" / "embedder.onnx")
    version = ws.add_model(model, name="embedder")
    run = run_model(ws, version.id, folder)
    model_eval = store_model_run(ws, run, version.id, name="with embedding").id
    rng = np.random.default_rng(1)
    gt, pred = root / "gt.csv", root / "pred.csv"
    with open(gt, "w", newline="") as g, open(pred, "w", newline="") as p:
        gw, pw = csv.writer(g), csv.writer(p)
        gw.writerow(["id", "label"])
        pw.writerow(["id", *CLASSES])
        for i in range(40):
            s = rng.dirichlet(np.ones(len(CLASSES)))
            gw.writerow([f"s{i}", CLASSES[i % 3]])
            pw.writerow([f"s{i}", *[f"{v:.6f}" for v in s]])
    from assay.evaluation.run import evaluate_files

    scores_eval = save_run(ws, evaluate_files(gt, pred), name="scores only").id
    return {"ws": ws, "model_eval": model_eval, "scores_eval": scores_eval, "w1": w1,
            "folder": folder, "pred": pred}  # fmt: skip
