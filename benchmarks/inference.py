"""Inference throughput: Assay's runner against a bare onnxruntime loop, same model, images, batches.

    .venv/bin/python benchmarks/inference.py                 # 2,000 JPEGs, batch 32, 5 runs each
    .venv/bin/python benchmarks/inference.py --n 500 --repeats 1 --batch 16
    .venv/bin/python benchmarks/inference.py --image-size 640x480  # photo-sized sources
    .venv/bin/python benchmarks/inference.py --model-size 160 --channels 64  # a model-bound case
    .venv/bin/python benchmarks/inference.py --quick           # 400 images, 3 runs

Builds a small conv net with the onnx helper API (3x64x64 input: two stride-2 3x3 convolutions with
16 and 32 channels, global average pool, linear, softmax; 10 classes) and writes ``--n`` random
JPEGs of 96x80 pixels (``--image-size``; decoded and stretched to 64x64). Then it times each loop ``--repeats``
times, interleaved (the best and the median are printed):

- assay: ``run_images`` (Pillow decoding in a thread pool, overlapped with inference, every batch
  appended to the scores file of a temp folder, as a resumable run does);
- bare: decode then run, one batch after another, in one thread (the loop people write by hand);
- bare, pre-decoded: ``session.run`` over the already decoded arrays (the model alone, the ceiling).

Both loops use one ``InferenceSession`` with the same options, so only the loop around it differs.
The scores of assay and bare are checked to be equal. Prints images/s and the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from assay.runners import load_runner, run_images  # noqa: E402


def build_model(
    path: Path, *, size: int = 64, channels: int = 16, n_classes: int = 10, seed: int = 0
) -> Path:
    """Two stride-2 3x3 convolutions (``channels``, then twice that), global average pool,
    linear, softmax; input 3 x ``size`` x ``size``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    c1, c2 = channels, 2 * channels
    w1 = (rng.normal(size=(c1, 3, 3, 3)) * 0.2).astype(np.float32)
    w2 = (rng.normal(size=(c2, c1, 3, 3)) * (0.4 / np.sqrt(c1))).astype(np.float32)
    w3 = (rng.normal(size=(c2, n_classes)) * 0.3).astype(np.float32)
    b3 = np.zeros(n_classes, np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", n_classes])],
        initializer=[
            numpy_helper.from_array(a, n)
            for a, n in ((w1, "w1"), (w2, "w2"), (w3, "w3"), (b3, "b3"))
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = "classes", ",".join(f"class_{i}" for i in range(n_classes))
    onnx.save(model, str(path))
    return path


def write_images(folder: Path, n: int, *, size=(96, 80), seed: int = 0) -> list[Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        # smooth-ish content so JPEG sizes are realistic (pure noise decodes slower than photos)
        small = rng.integers(0, 256, size=(size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize(size, Image.Resampling.BILINEAR)
        p = folder / f"{i:05d}.jpg"
        img.save(p, quality=90)
        paths.append(p)
    return paths


def bare_decode(paths: list[Path], size: int = 64) -> np.ndarray:
    from PIL import Image

    out = np.empty((len(paths), 3, size, size), np.float32)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            arr = np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR))
        out[i] = arr.transpose(2, 0, 1) * np.float32(1 / 255)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workers", type=int, default=None, help="decoding threads (default: Assay's)")
    ap.add_argument("--image-size", default="96x80", help="WxH of the generated JPEGs")
    ap.add_argument(
        "--threads", type=int, default=0, help="onnxruntime intra-op threads (0: default)"
    )
    ap.add_argument("--model-size", type=int, default=64, help="the model's input side")
    ap.add_argument("--channels", type=int, default=16, help="the first convolution's width")
    ap.add_argument("--quick", action="store_true", help="400 images, 3 runs")
    args = ap.parse_args()
    if args.quick:
        args.n, args.repeats = 400, 3
    size = args.model_size

    with tempfile.TemporaryDirectory(prefix="assay-bench-") as tmp:
        tmp_path = Path(tmp)
        model = build_model(tmp_path / "bench.onnx", size=size, channels=args.channels)
        t0 = time.perf_counter()
        w, h = (int(v) for v in args.image_size.lower().split("x"))
        paths = write_images(tmp_path / "images", args.n, size=(w, h))
        print(
            f"{args.n} JPEGs ({w}x{h}) written in {time.perf_counter() - t0:.1f} s; "
            f"batch {args.batch}; {os.cpu_count()} CPUs; model 3x{size}x{size} conv net "
            f"({args.channels}/{2 * args.channels} channels); load average before: "
            f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
        )

        runner = load_runner(model, spec=None)
        if args.threads:
            from assay.runners.onnx import OnnxRunner

            runner = OnnxRunner(model, runner.spec, threads=args.threads)
        session = runner.session  # the same session for every loop
        opts = session.get_session_options()
        print(
            f"onnxruntime {ort_version()}: intra-op threads {opts.intra_op_num_threads or 'default'}"
            f", inter-op {opts.inter_op_num_threads or 'default'}"
        )
        batches = [paths[i : i + args.batch] for i in range(0, len(paths), args.batch)]

        def assay_run() -> np.ndarray:
            with tempfile.TemporaryDirectory(dir=tmp) as out:
                res = run_images(
                    runner, paths, batch_size=args.batch, out_dir=out, workers=args.workers
                )
            return res.scores

        def bare_run() -> np.ndarray:
            outs = []
            for chunk in batches:
                x = bare_decode(chunk, size)
                outs.append(session.run(None, {"x": x})[0])
            return np.concatenate(outs)

        decoded = [bare_decode(chunk, size) for chunk in batches]

        def bare_predecoded() -> np.ndarray:
            return np.concatenate([session.run(None, {"x": x})[0] for x in decoded])

        # warm-up (page cache, onnxruntime's first run)
        a, b = assay_run(), bare_run()
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        loops = (
            ("assay run_images (decode overlapped, scores streamed to disk)", assay_run),
            ("bare onnxruntime loop (decode, then run)", bare_run),
            ("bare onnxruntime, pre-decoded arrays (model only)", bare_predecoded),
        )
        times: dict[str, list[float]] = {name: [] for name, _ in loops}
        for _ in range(args.repeats):  # interleaved, so a busy moment hits every loop alike
            for name, fn in loops:
                times[name].append(_timed(fn))
        base = statistics.median(times["bare onnxruntime loop (decode, then run)"])
        print(
            f"\n| loop | images/s median | min - max | vs bare loop |  ({args.repeats} runs each)"
        )
        print("|---|---:|---:|---:|")
        for name, ts in times.items():
            med = statistics.median(ts)
            print(
                f"| {name} | {args.n / med:.0f} | {args.n / max(ts):.0f} - {args.n / min(ts):.0f}"
                f" | {base / med:.2f}x |"
            )
        print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def ort_version() -> str:
    import onnxruntime

    return str(onnxruntime.__version__)


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
