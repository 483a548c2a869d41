"""Inference throughput: Assay's ``run_images`` against the onnxruntime loop people write by hand,
same model, images, batches and session.

    .venv/bin/python benchmarks/inference.py                         # 2,000 JPEGs of 96x80, 64x64 model
    .venv/bin/python benchmarks/inference.py --image-size 1600x1200 --n 256 --core-only  # photos
    .venv/bin/python benchmarks/inference.py --model-size 224        # a model-bound case
    .venv/bin/python benchmarks/inference.py --compare-workers       # + one row per decoding-thread count
    .venv/bin/python benchmarks/inference.py --quick                 # 400 images, 3 rounds, no waiting

Builds a small conv net with the onnx helper API (3 x ``--model-size`` squared input: two stride-2
3x3 convolutions of ``--channels`` and twice that, global average pool, linear, softmax; 10 classes)
and writes ``--n`` random JPEGs of ``--image-size`` (decoded and stretched to the model's input).
The variants, all on one ``InferenceSession`` (Assay's, so the same session options) but one:

- bare loop: for each batch, open + convert + resize + scale every image (Pillow, numpy), then
  ``session.run`` -- one thread, the loop people write by hand; the baseline; once more on a
  session of its own with onnxruntime's default options (what a hand-written script gets);
- assay: ``run_images`` with its defaults (large images: one decoding thread per core, overlapped
  with the model; small ones: each batch inline or by a thread, the way the run measured faster;
  every batch appended to the scores file of a fresh folder, as a resumable run does); once more
  with ``processes=True`` (one
  decoding process per core, the first batches inline while they start);
- pre-decoded: ``session.run`` over tensors decoded beforehand (the model alone: the ceiling).

Before timing, the input tensors of both loops are checked to be bitwise equal and so are their
scores. Then ``--warmup`` untimed rounds and ``--repeats`` timed rounds. In each round the bare loop
and Assay's default run alternate, ``--alternations`` runs each (A B B A A B B A ..., B A A B ...
the next round), so both see the machine's load alike, and each one's figure is the mean of its
runs; then every other variant runs once, the order rotating from round to round (``--core-only``:
none). A line per round gives both times, their ratio, the 1-minute load and the cores other
processes used. The table gives images/s (median, min - max) and the ratio to the bare loop of the
same round (median, min - max), with this process's CPU seconds per 1,000 images. Before it
starts, the benchmark waits (up to
``--wait`` s) for the 1-minute load average to fall to ``--max-load``; it prints the load average
before and after, and the CPU that other processes used during the timed runs (from /proc/stat).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from assay.runners import load_batch, load_runner, run_images  # noqa: E402
from assay.runners.batch import (  # noqa: E402
    EXPLOIT_BATCHES,
    GIL_SWITCH_INTERVAL,
    INLINE_MARGIN,
    PROCESS_LEAD,
    PROCESS_MIN_BATCHES,
    TRIAL_BATCHES,
    WARMUP_BATCHES,
    default_workers,
    processes_available,
    typical_pixels,
)
from assay.runners.batch import LARGE_IMAGE_PIXELS as LARGE  # noqa: E402
from assay.runners.onnx import SESSION_CONFIG, OnnxRunner  # noqa: E402


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
    """The hand-written preprocessing: RGB, bilinear stretch to size x size, / 255, NCHW."""
    from PIL import Image

    out = np.empty((len(paths), 3, size, size), np.float32)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            arr = np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR))
        out[i] = arr.transpose(2, 0, 1) * np.float32(1 / 255)
    return out


def load_text(values: tuple[float, ...]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def wait_for_quiet(max_load: float, wait_s: float) -> None:
    """Sleep (60 s at a time, up to wait_s in all) while the 1-minute load is above max_load."""
    waited = 0.0
    while (load := os.getloadavg()[0]) > max_load and waited < wait_s:
        step = min(60.0, wait_s - waited)
        print(f"1-minute load {load:.2f} > {max_load}: waiting {step:.0f} s", flush=True)
        time.sleep(step)
        waited += step
    if load > max_load:
        print(f"WARNING: still busy after {waited:.0f} s (1-minute load {load:.2f})")


def machine_jiffies() -> tuple[int, int] | None:
    """(busy, steal) clock ticks of the whole machine since boot, from /proc/stat (Linux)."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return user + nice + system + irq + softirq, steal


class Meter:
    """Times one call: wall seconds, this process's CPU seconds, other processes' CPU seconds."""

    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self) -> None:
        self.wall = self.own = self.others = self.steal = 0.0

    def __call__(self, fn: Callable[[], object]) -> tuple[float, float]:
        j0, c0, t0 = machine_jiffies(), _cpu(), time.perf_counter()
        fn()
        wall, own, j1 = time.perf_counter() - t0, _cpu() - c0, machine_jiffies()
        self.wall += wall
        self.own += own
        if j0 is not None and j1 is not None:
            self.others += max(0.0, (j1[0] - j0[0]) / self.tick - own)
            self.steal += (j1[1] - j0[1]) / self.tick
        return wall, own


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (decoding processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="images")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=7, help="timed rounds")
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    ap.add_argument("--workers", type=int, default=None, help="Assay's decoding threads")
    ap.add_argument("--compare-workers", action="store_true", help="a row per thread count")
    ap.add_argument("--image-size", default="96x80", help="WxH of the generated JPEGs")
    ap.add_argument("--threads", type=int, default=0, help="ORT intra-op threads (0: default)")
    ap.add_argument("--model-size", type=int, default=64, help="the model's input side")
    ap.add_argument("--channels", type=int, default=16, help="the first convolution's width")
    ap.add_argument("--max-load", type=float, default=1.0, help="wait for this 1-minute load")
    ap.add_argument("--wait", type=float, default=600, help="seconds to wait for it at most")
    ap.add_argument("--quick", action="store_true", help="400 images, 3 rounds, no waiting")
    ap.add_argument(
        "--core-only", action="store_true", help="only the bare loop and Assay's default run"
    )
    ap.add_argument(
        "--alternations", type=int, default=2, help="runs of bare and of assay in each round"
    )
    args = ap.parse_args()
    if args.quick:
        args.n, args.repeats, args.wait = 400, 3, 0
    size = args.model_size
    w, h = (int(v) for v in args.image_size.lower().split("x"))
    print("command:", " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]))
    wait_for_quiet(args.max_load, args.wait)

    with tempfile.TemporaryDirectory(prefix="assay-bench-") as tmp:
        tmp_path = Path(tmp)
        model = build_model(tmp_path / "bench.onnx", size=size, channels=args.channels)
        paths = write_images(tmp_path / "images", args.n, size=(w, h))
        spec = load_runner(model).spec
        runner = OnnxRunner(model, spec, threads=args.threads)
        session = runner.session  # every variant runs this session
        batches = [paths[i : i + args.batch] for i in range(0, len(paths), args.batch)]
        workers = default_workers(paths) if args.workers is None else args.workers
        _print_setup(args, w, h, size, workers, session, paths)
        used: list[str] = []  # decoding workers of each default assay run, batches they decoded

        def assay(
            n_workers: int | None, record: bool = False, processes: bool = False
        ) -> Callable[[], np.ndarray]:
            def run() -> np.ndarray:
                with tempfile.TemporaryDirectory(dir=tmp) as out:
                    res = run_images(
                        runner, paths, batch_size=args.batch, out_dir=out, workers=n_workers,
                        processes=processes,
                    )  # fmt: skip
                assert res.scores is not None
                if record:
                    kind = "p" if res.processes else "t"
                    used.append(f"{res.workers}{kind}:{res.pooled_batches}/{len(batches)}")
                return res.scores

            return run

        def bare_on(sess) -> Callable[[], np.ndarray]:
            def run() -> np.ndarray:
                outs = []
                for chunk in batches:
                    x = bare_decode(chunk, size)
                    outs.append(sess.run(None, {"x": x})[0])
                return np.concatenate(outs)

            return run

        bare = bare_on(session)
        # what a hand-written script gets: onnxruntime's own defaults (spinning threads included)
        plain_options = ort.SessionOptions()
        plain_options.intra_op_num_threads = args.threads
        plain = ort.InferenceSession(str(model), plain_options, providers=["CPUExecutionProvider"])

        # the ceiling's input (--core-only: the first batch, for the check below)
        decoded = [bare_decode(chunk, size) for chunk in batches[: 1 if args.core_only else None]]

        def predecoded() -> np.ndarray:
            return np.concatenate([session.run(None, {"x": x})[0] for x in decoded])

        # like with like: the same input tensors, the same scores
        x_assay, _ = load_batch(list(batches[0]), runner.spec)
        assert x_assay.dtype == decoded[0].dtype and np.array_equal(x_assay, decoded[0])
        np.testing.assert_array_equal(assay(args.workers, True)(), bare().astype(np.float64))
        if not args.core_only:
            np.testing.assert_array_equal(bare_on(plain)(), bare())

        bare_name = "bare loop (decode + preprocess + session.run, one thread)"
        variants: list[tuple[str, Callable[[], object]]] = [
            (bare_name, bare),
            (
                "assay run_images ("
                + ("defaults" if args.workers is None else f"workers={args.workers}")
                + ", scores to disk)",
                assay(args.workers, True),
            ),
            ("assay run_images, decoding processes (processes=True)", assay(None, processes=True)),
            ("bare loop, session with onnxruntime's default options", bare_on(plain)),
            ("pre-decoded tensors, session.run only (ceiling)", predecoded),
        ]
        if args.compare_workers:
            for k in range(0, max(2, os.cpu_count() or 2) + 1):
                variants.append((f"assay run_images, workers={k}", assay(k)))
        if args.core_only:
            variants = variants[:2]
        times: dict[str, list[float]] = {name: [] for name, _ in variants}
        cpu: dict[str, float] = dict.fromkeys(times, 0.0)
        runs: dict[str, int] = dict.fromkeys(times, 0)
        meter = Meter()
        load_before = os.getloadavg()
        (bare_fn, assay_name, assay_fn), rest = (bare, *variants[1]), variants[2:]
        print(
            "\n| round | bare s | assay s | x bare | 1-min load | other processes' cores |"
            "\n|---:|---:|---:|---:|---:|---:|"
        )
        for r in range(args.warmup + args.repeats):
            # bare and assay alternate A B B A ... (B A A B ... the next round), --alternations
            # runs each: both see the same load; each figure is the mean of its runs. The other
            # variants run once, rotating.
            pair = [(bare_name, bare_fn), (assay_name, assay_fn)]
            if r % 2:
                pair.reverse()
            order = [pair[(i + 1) // 2 % 2 != 0] for i in range(2 * args.alternations)]
            k = r % len(rest) if rest else 0
            order += rest[k:] + rest[:k]
            if r < args.warmup:
                for _, fn in order:
                    fn()
                continue
            load = os.getloadavg()[0]
            others0, wall0 = meter.others, meter.wall
            walls: dict[str, list[float]] = {}
            for name, fn in order:
                wall, own = meter(fn)
                walls.setdefault(name, []).append(wall)
                cpu[name] += own
                runs[name] += 1
            for name, ws in walls.items():
                times[name].append(statistics.fmean(ws))
            print(
                f"| {r - args.warmup + 1} | {times[bare_name][-1]:.3f} "
                f"| {times[assay_name][-1]:.3f} "
                f"| {times[bare_name][-1] / times[assay_name][-1]:.2f} | {load:.2f} "
                f"| {(meter.others - others0) / max(meter.wall - wall0, 1e-9):.2f} |",
                flush=True,
            )
        load_after = os.getloadavg()

    print(
        "\n| variant | images/s median | min - max | x bare, median (min - max) "
        "| CPU s / 1k images |\n|---|---:|---:|---:|---:|"
    )
    for name, ts in times.items():
        ratios = [b / t for b, t in zip(times[bare_name], ts, strict=True)]
        print(
            f"| {name} | {args.n / statistics.median(ts):.0f} "
            f"| {args.n / max(ts):.0f} - {args.n / min(ts):.0f} "
            f"| {statistics.median(ratios):.2f} ({min(ratios):.2f} - {max(ratios):.2f}) "
            f"| {cpu[name] / runs[name] / args.n * 1000:.2f} |"
        )
    print(
        f"\n{args.repeats} timed rounds after {args.warmup} warm-up; ratios are per round "
        f"(bare time / variant time). Load average (1, 5, 15 min) before the rounds "
        f"{load_text(load_before)}, after {load_text(load_after)} (this benchmark included). "
        f"Other processes used {meter.others / meter.wall:.2f} cores on average during the timed "
        f"runs; steal {meter.steal / meter.wall:.2f} cores. Decoding workers of each default "
        f"assay run and the batches they decoded (p: processes, t: threads; check and warm-up "
        f"included): {' '.join(used)}. "
        "CPU s include the decoding processes'."
    )


def _print_setup(args, w: int, h: int, size: int, workers: int, session, paths) -> None:
    import PIL

    opts = session.get_session_options()
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 0
    config = ", ".join(f"{k}={v}" for k, v in SESSION_CONFIG.items())
    print(
        f"{args.n} JPEGs of {w}x{h}, batch {args.batch}; model 3x{size}x{size} conv net "
        f"({args.channels}/{2 * args.channels} channels)\n"
        f"{cores} CPUs usable ({os.cpu_count()} in the machine), {_cpu_model()}; "
        f"Python {platform.python_version()}, numpy {np.__version__}, Pillow {PIL.__version__}, "
        f"onnxruntime {ort.__version__}\n"
        f"onnxruntime: intra-op threads {opts.intra_op_num_threads or 'default (one per core)'}, "
        f"inter-op {opts.inter_op_num_threads or 'default'}, {opts.execution_mode.name}, "
        f"{config}\n"
        f"processes=True: {min(4, cores)} decoding processes (the first {PROCESS_LEAD} batches "
        f"inline while they start){'' if processes_available() else ' unavailable here'}; "
        f"below {PROCESS_MIN_BATCHES} batches as without\n"
        + (
            f"assay: workers={args.workers}"
            if args.workers is not None
            else f"assay: {workers} decoding thread(s) from the start"
            if (typical_pixels(paths) or 0) >= LARGE
            else f"assay: small images: {WARMUP_BATCHES} batches inline, {EXPLOIT_BATCHES} by "
            f"{workers} decoding thread(s), {TRIAL_BATCHES} inline, then the faster way (inline "
            f"if {INLINE_MARGIN:.0%} faster) for {EXPLOIT_BATCHES}+ and {TRIAL_BATCHES} the "
            "other, and so on"
        )
        + ", "
        f"GIL switch interval {GIL_SWITCH_INTERVAL * 1000:g} ms while they run "
        f"(else {sys.getswitchinterval() * 1000:g} ms)"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
