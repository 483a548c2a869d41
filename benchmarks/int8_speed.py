"""INT8 against FP32 on the CPU, through Assay's own code: a small convolutional network (random
seeded weights, 3 x 112 x 112 input, five 3 x 3 convolutions of 32-128 channels with ReLU and
stride-2 downsampling, global average pool, a 10-class Gemm) is registered, quantized by
``assay models optimize --int8``'s code (calibrated on 64 generated images) and both versions
are profiled by ``assay models profile``'s code. Prints each profile, the throughput ratio per
batch size (INT8 / FP32) and how often the two agree on the top class of 64 other images.

    python benchmarks/int8_speed.py [--runs 30] [--batch 1,8,32]

Run by hand; timings depend on the machine and its load (say which when quoting them).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

SIZE = 112
CHANNELS = (32, 64, 64, 128, 128)


def make_cnn(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    prev, x = 3, "image"
    for i, ch in enumerate(CHANNELS):
        w = (rng.normal(size=(ch, prev, 3, 3)) * np.sqrt(2.0 / (prev * 9))).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(
            (rng.normal(size=ch) * 0.01).astype(np.float32), f"b{i}")]  # fmt: skip
        stride = 2 if i > 0 else 1
        nodes += [
            helper.make_node(
                "Conv",
                [x, f"w{i}", f"b{i}"],
                [f"c{i}"],
                pads=[1, 1, 1, 1],
                strides=[stride, stride],
            ),  # fmt: skip
            helper.make_node("Relu", [f"c{i}"], [f"r{i}"]),
        ]
        prev, x = ch, f"r{i}"
    wf = (rng.normal(size=(prev, 10)) * 0.1).astype(np.float32)
    inits += [
        numpy_helper.from_array(wf, "wf"),
        numpy_helper.from_array(np.zeros(10, np.float32), "bf"),
    ]
    nodes += [
        helper.make_node("GlobalAveragePool", [x], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        initializer=inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    classes = [f"c{i}" for i in range(10)]
    spec = {"size": [SIZE, SIZE], "classes": classes}
    path.with_name(f"{path.stem}.preprocess.json").write_text(json.dumps(spec))
    return path


def write_images(root: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for i in range(n):
        folder = root / f"c{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 255, (14, 14, 3)).astype(np.uint8)
        Image.fromarray(base).resize((SIZE, SIZE), Image.Resampling.BILINEAR).save(
            folder / f"{i:04d}.png"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--batch", default="1,8,32")
    args = parser.parse_args()

    from assay.runners import load_batch
    from assay.service.optimize import optimize_int8
    from assay.service.profile import parse_batches, profile_model
    from assay.store import Workspace
    from assay.store.datasets import register_dataset

    batches = parse_batches(args.batch)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_images(root / "calib", 64, seed=1)
        write_images(root / "check", 64, seed=2)
        ws = Workspace(root / "ws")
        parent = ws.add_model(make_cnn(root / "cnn.onnx"), name="cnn", version="fp32")
        calib, _, _ = register_dataset(ws, root / "calib", name="calib")
        child = optimize_int8(ws, parent.id, calibration=calib.id, samples=64)
        profiles = {}
        for version in (parent, child):
            profiles[version.version] = profile_model(
                ws, version.id, batches=batches, runs=args.runs
            )
        paths = sorted((root / "check").glob("*/*.png"))
        tops = []
        for version in (parent, child):
            runner = ws.load_model_runner(version.id)
            x, _ = load_batch(list(paths), runner.spec)
            tops.append(np.asarray(runner.predict(x)).argmax(axis=1))
        ws.close()
    for label, p in profiles.items():
        print(f"{label}: {p['size_bytes'] / 1024:.0f} KiB on disk, peak memory "
              f"+{p['peak_memory_bytes'] / 2**20:.1f} MiB, {p['cores']} cores")  # fmt: skip
        for row in p["batches"]:
            print(f"  batch {row['batch']:>3}: p50 {row['p50_ms']:8.3f} ms  p95 "
                  f"{row['p95_ms']:8.3f} ms  {row['throughput']:10.1f} samples/s")  # fmt: skip
    for a, b in zip(profiles["fp32"]["batches"], profiles["int8"]["batches"], strict=True):
        print(
            f"batch {a['batch']:>3}: INT8 / FP32 throughput = {b['throughput'] / a['throughput']:.2f}x"
        )
    print(f"top-class agreement on 64 other images: {np.mean(tops[0] == tops[1]):.3f}")


if __name__ == "__main__":
    main()
