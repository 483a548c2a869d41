"""Soak run: 50 clients for 60 s against one server, every parameter varied, a share of hostile
requests mixed in; throughput, latency percentiles, answers by status, and the server's RSS.

    .venv/bin/python benchmarks/soak.py                     # 10k x 20 classification + 500 images
    .venv/bin/python benchmarks/soak.py --seconds 20        # shorter, on a loaded machine
    .venv/bin/python benchmarks/soak.py --full              # 100k x 100 and 5,000 images
    .venv/bin/python benchmarks/soak.py --home /tmp/soak    # keep (and reuse) the workspace
    .venv/bin/python benchmarks/soak.py --heavy             # and the heavy mix (below)

The workspace is benchmarks/api.py's (``build``); the server runs in a subprocess on 127.0.0.1
with a token, as ``assay serve --token`` starts it, and every request carries it. Each client
holds one keep-alive connection and sends back to back; every request draws a new endpoint and new
values for threshold, iou, score, labels, cells, outcome, sort, normalize, top, bins, offset and
limit. About 5% are hostile (out-of-range numbers, ids beyond 2^63, offsets beyond 2^53, odd
labels, no token): they must answer 4xx, never 5xx. RSS is read from /proc at start, after a
warm-up (a tenth of the run) and at the end: growth after the warm-up is the leak signal.

``--heavy`` adds what once killed the server, about 20 % of the requests: compare with up to 2,000
resamples (new thresholds each time, so nothing is a cache hit), leaderboards (new resamples and
metric), thumbnails of 60-megapixel PNGs (touched every few seconds: made anew), chunked
multipart predicts on a small ONNX classifier, and hostile ones: registering an ONNX model that
declares a 1x3x20000x20000 input (a 4xx), a chunked predict body past the upload limit (413) and
predicts on an ONNX model that never ends (a Loop of 10^15 steps: its sandboxed worker is stopped at
the server's model call limit, ``--model-call-seconds``, 10 s here: a 503).
All of it is generated beside the workspace (no downloads). 503 and 429 are the expected answers
of a busy gate and are counted apart; any other 5xx, a connection error or a dead server fails
the run. RSS is also sampled every half second (the maximum printed), the server's own and with
its child processes (model workers, jobs), and per ``--window`` seconds (30 by default) its
max and last value are printed, as each window ends and again at the end: windows that keep
climbing are a leak, a plateau is a bound.

    nice -n 10 .venv/bin/python benchmarks/soak.py --heavy --seconds 180   # windows of 30 s
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import COCO_IOUS, build, free_port, scenarios, wait_until_healthy  # type: ignore[import-not-found]  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

SERVER = """
import os, sys, uvicorn
from pathlib import Path
from assay.server.app import create_app
from assay.server.config import Limits
home, port, token = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
roots = [Path(p) for p in sys.argv[4:]]
call = os.environ.get("SOAK_MODEL_CALL_SECONDS")
limits = Limits(model_call_seconds=float(call)) if call else None
app = create_app(home, token=token, data_roots=roots, limits=limits)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


def start(
    home: Path, port: int, token: str, data_roots: tuple[Path, ...] = (), call_s: float = 0
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    if call_s:
        env["SOAK_MODEL_CALL_SECONDS"] = str(call_s)
    command = [sys.executable, "-c", SERVER, str(home), str(port), token, *map(str, data_roots)]
    return wait_until_healthy(subprocess.Popen(command, env=env), port)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tree_rss_mib(pid: int) -> float:
    """RSS of ``pid`` and every process below it (model workers, job processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError):  # gone meanwhile
            mib = rss_mib(p)
            total += 0.0 if mib != mib else mib  # a zombie has no RSS (nan)
        todo.extend(children.get(p, ()))
    return total


def more_scenarios(
    ids: dict[str, int], classes: list[str], det_classes: list[str], n: int
) -> dict[str, Callable[[], str]]:
    """What benchmarks/api.py does not vary: bins, top, offsets and limits, optimal per IoU,
    per-label curves with bins, evaluation details."""
    c, d = ids["classification"], ids["detection"]
    return {
        "clf calibration bins": lambda: (
            f"/api/evaluations/{c}/curves/calibration?label={random.choice(classes)}"
            f"&bins={random.randint(1, 1000)}"
        ),
        "clf confusion top": lambda: (
            f"/api/evaluations/{c}/confusion?threshold={random.random():.4f}"
            f"&top={random.randint(1, 1000)}"
        ),
        "clf samples paged": lambda: (
            f"/api/evaluations/{c}/samples?threshold={random.random():.4f}"
            f"&offset={random.randint(0, n + 100)}&limit={random.randint(1, 500)}"
            f"&descending={random.choice(['true', 'false'])}"
        ),
        "clf label limit": lambda: (
            f"/api/evaluations/{c}/labels/{quote(random.choice(classes))}"
            f"?threshold={random.random():.4f}&limit={random.randint(1, 500)}"
        ),
        "det optimal per iou": lambda: (
            f"/api/evaluations/{d}/optimal?iou={random.random():.5f}"
            f"&metric={random.choice(['f1', 'precision', 'recall'])}"
        ),
        "det samples any iou": lambda: (
            f"/api/evaluations/{d}/samples?iou={random.random():.5f}&score={random.random():.5f}"
            f"&offset={random.randint(0, 600)}&limit={random.randint(1, 200)}"
        ),
        "det curve pr iou": lambda: (
            f"/api/evaluations/{d}/curves/pr?label={random.choice(det_classes)}"
            f"&iou={random.choice(COCO_IOUS)}"
        ),
        "evaluation detail": lambda: f"/api/evaluations/{random.choice([c, d])}",
        "lists": lambda: random.choice(
            ["/api/evaluations", "/api/datasets", "/api/models", "/api/session"]
        ),
    }


def hostile(ids: dict[str, int]) -> Callable[[], str]:
    c, d = ids["classification"], ids["detection"]
    choices = [
        lambda: (
            f"/api/evaluations/{c}/labels?threshold={random.choice(['1.5', '-0.1', 'nan', 'inf', '1e400'])}"
        ),
        lambda: f"/api/evaluations/{d}/summary?iou={random.choice(['nan', '2', '-1'])}",
        lambda: f"/api/evaluations/{2**63 + random.randint(0, 10**6)}",
        lambda: f"/api/evaluations/{random.randint(10**6, 2**62)}/samples",
        lambda: f"/api/evaluations/{c}/samples?offset={2**53 + random.randint(0, 10**9)}",
        lambda: f"/api/evaluations/{c}/samples?actual={quote(secrets.token_hex(8) + chr(0))}",
        lambda: f"/api/evaluations/{c}/labels/{quote('../../etc/passwd' + secrets.token_hex(2))}",
        lambda: f"/api/samples/{random.randint(0, 10**9)}:{random.randint(0, 10**9)}/media",
        lambda: f"/api/jobs/{2**64}",
    ]
    return lambda: random.choice(choices)()


# ------------------------------------------------------------------------------------ heavy mix

MEGAPIXEL_SIDE = (8000, 7500)  # 60 MP, under the server's 64 MP thumbnail cap
HEAVY_SHARE = 0.20  # of all requests
UPLOAD_LIMIT = 40 << 20  # Limits.upload_request_bytes: a hostile body passes it


def _png_60mp(path: Path, seed: int) -> None:
    """A 60-megapixel PNG that is cheap to write (a pattern, ~1 MB) and costs a full decode."""
    import numpy as np
    from PIL import Image

    w, h = MEGAPIXEL_SIDE
    x, y = np.arange(w, dtype=np.uint16), np.arange(h, dtype=np.uint16)
    a = np.empty((h, w, 3), np.uint8)
    a[..., 0] = ((x[None, :] >> 5) + (y[:, None] >> 6) + seed * 37).astype(np.uint8)
    a[..., 1] = ((y[:, None] >> 5) * 3 + seed).astype(np.uint8)
    a[..., 2] = ((x[None, :] ^ y[:, None]) + seed).astype(np.uint8)
    Image.fromarray(a).save(path, compress_level=1)


def _onnx(path: Path, shape: list[int], n_classes: int | None) -> Path:
    """ReduceMean over H and W, then (with ``n_classes``) MatMul to classes and Softmax."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    nodes = [helper.make_node("ReduceMean", ["x"], ["m"], axes=[2, 3], keepdims=0)]
    inits = []
    if n_classes is None:
        out = helper.make_tensor_value_info("m", TensorProto.FLOAT, shape[:2])
    else:
        w = np.random.default_rng(0).normal(size=(shape[1], n_classes)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, "W"))
        nodes += [
            helper.make_node("MatMul", ["m", "W"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
        ]
        out = helper.make_tensor_value_info("probs", TensorProto.FLOAT, [shape[0], n_classes])
    graph = helper.make_graph(nodes, "soak", [x], [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _endless_onnx(path: Path) -> Path:
    """The tiny classifier's graph beside a Loop of 10^15 additions: a model that never ends."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    scalar = lambda name, kind: helper.make_tensor_value_info(name, kind, [])  # noqa: E731
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["v_in", "one"], ["v_out"]),
        ],
        "spin",
        [scalar("i", TensorProto.INT64), scalar("cond_in", TensorProto.BOOL),
         scalar("v_in", TensorProto.FLOAT)],
        [scalar("cond_out", TensorProto.BOOL), scalar("v_out", TensorProto.FLOAT)],
        initializer=[numpy_helper.from_array(np.array(1.0, np.float32), "one")],
    )  # fmt: skip
    w = np.random.default_rng(0).normal(size=(3, 3)).astype(np.float32)
    nodes = [
        helper.make_node("Loop", ["trips", "cond", "v0"], ["v"], body=body),
        helper.make_node("Mul", ["v", "zero"], ["z"]),
        helper.make_node("ReduceMean", ["x"], ["m"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["m", "W"], ["l0"]),
        helper.make_node("Add", ["l0", "z"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    inits = [
        numpy_helper.from_array(np.array(10**15, np.int64), "trips"),
        numpy_helper.from_array(np.array(True), "cond"),
        numpy_helper.from_array(np.array(0.0, np.float32), "v0"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(w, "W"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])
    out = helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 3])
    graph = helper.make_graph(nodes, "endless", [x], [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def build_heavy(
    home: Path, data: Path, clf_id: int, n: int, n_classes: int, n_images: int = 6
) -> dict[str, Any]:
    """What the heavy mix needs, beside ``build``'s workspace: two more classification
    evaluations on the same dataset version as ``clf_id`` (compare, leaderboard), a dataset
    version of ``n_images`` 60 MP PNGs (thumbnails), a small ONNX image classifier registered in
    the workspace (predicts), and a hostile model file under ``data`` (registered by the run)."""
    import numpy as np
    import pyarrow as pa
    from api import make_scores  # type: ignore[import-not-found]

    from assay.evaluation.classification import evaluate_classification
    from assay.store import Workspace

    t = time.perf_counter()
    ws = Workspace(home)
    records = ws.list_evaluations()
    dv = next(r.dataset_version.id for r in records if r.id == clf_id)
    existing = {r.name: r.id for r in records}
    evaluations = [clf_id]
    y, s = make_scores(n, n_classes)
    classes = [f"class{c:03d}" for c in range(n_classes)]
    for k, mix in ((1, 0.15), (2, 0.3)):
        name = f"clf-{n}x{n_classes}-variant{k}"
        if name not in existing:
            noise = np.random.default_rng(k).dirichlet(np.ones(n_classes), size=n)
            scores = ((1 - mix) * s + mix * noise).astype(np.float32)
            res = evaluate_classification(y, scores, classes=classes)
            existing[name] = ws.save_evaluation(
                res, task="classification", name=name, dataset_version_id=dv, params={}
            ).id
        evaluations.append(existing[name])
    media = data / "media"
    media.mkdir(parents=True, exist_ok=True)
    paths = [media / f"big{i}.png" for i in range(n_images)]
    for i, path in enumerate(paths):
        if not path.exists():
            _png_60mp(path, i)
    table = pa.table({"id": [p.stem for p in paths], "path": [str(p) for p in paths]})
    images = ws.add_dataset_version(
        "soak-60mp", task="classification", samples=table, media_root=media
    )
    registered = {m.name: ws.list_model_versions(m.id)[0] for m in ws.list_models()}
    for name, make in (
        ("soak-tiny", lambda: _onnx(data / "models" / "tiny" / "tiny.onnx", [1, 3, 32, 32], 3)),
        ("soak-endless", lambda: _endless_onnx(data / "models" / "endless" / "endless.onnx")),
    ):
        if name not in registered:  # loaded, never run: registering it is quick
            registered[name] = ws.add_model(make(), name=name)
    version, endless = registered["soak-tiny"], registered["soak-endless"]
    huge = _onnx(data / "hostile" / "huge" / "model.onnx", [1, 3, 20000, 20000], None)
    ws.close()
    print(
        f"built the heavy mix in {time.perf_counter() - t:.1f} s: evaluations {evaluations} on "
        f"dataset version {dv}, {n_images} PNGs of {MEGAPIXEL_SIDE[0]}x{MEGAPIXEL_SIDE[1]}, "
        f"model version {version.id}",
        flush=True,
    )
    return {
        "evaluations": evaluations,
        "dataset_version": dv,
        "images": (images.id, n_images),
        "model_version": version.id,
        "endless_version": endless.id,
        "huge": huge,
        "paths": paths,
    }


def _png_bytes(rng: random.Random, side: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class Heavy:
    """The heavy requests: kind -> (expected statuses, a coroutine making one request)."""

    kinds: dict[str, tuple[frozenset[int], Callable[[httpx.AsyncClient, random.Random], Awaitable[int]]]]  # fmt: skip
    images: list[Path]
    answers: Counter[tuple[str, int | str]] = field(default_factory=Counter)
    seconds: dict[str, list[float]] = field(default_factory=dict)


def heavy_mix(built: dict[str, Any], classes: list[str]) -> Heavy:
    a, b, c = built["evaluations"]
    images_dv, n_images = built["images"]
    version = built["model_version"]
    images = [_png_bytes(random.Random(k), side) for k, side in enumerate((32, 96, 256, 700))]
    busy = frozenset({503, 429})

    async def compare(client: httpx.AsyncClient, rng: random.Random) -> int:
        x, y = rng.sample([a, b, c], 2)
        params = {"a": x, "b": y, "resamples": rng.choice([1000, 2000, 2000])}
        if rng.random() < 0.8:  # a new operating point: computed, never a cache hit
            params |= {"threshold_a": round(rng.random(), 4), "threshold_b": round(rng.random(), 4)}
        return (await client.get("/api/compare", params=params)).status_code

    async def leaderboard(client: httpx.AsyncClient, rng: random.Random) -> int:
        params: dict[str, Any] = {
            "dataset_version": built["dataset_version"],
            "resamples": rng.choice([500, 1000, 1500, 2000]),
            "metric": rng.choice(["accuracy", "f1", "precision", "recall"]),
        }
        return (await client.get("/api/leaderboard", params=params)).status_code

    async def thumbnail(client: httpx.AsyncClient, rng: random.Random) -> int:
        url = f"/api/samples/{images_dv}:{rng.randrange(n_images)}/thumbnail"
        return (await client.get(url)).status_code

    async def predict(client: httpx.AsyncClient, rng: random.Random) -> int:
        boundary = secrets.token_hex(8)
        files = [rng.choice(images) for _ in range(rng.randint(1, 8))]
        size = rng.choice([512, 4096, 65536])

        async def body() -> AsyncIterator[bytes]:  # no Content-Length: chunked
            for i, png in enumerate(files):
                yield (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                    f'filename="img{i}.png"\r\nContent-Type: image/png\r\n\r\n'
                ).encode()
                for k in range(0, len(png), size):
                    yield png[k : k + size]
                yield b"\r\n"
            yield f"--{boundary}--\r\n".encode()

        headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
        url = f"/api/models/{version}/predict"
        return (await client.post(url, content=body(), headers=headers)).status_code

    async def oversized(client: httpx.AsyncClient, rng: random.Random) -> int:
        chunk = b"\0" * (1 << 20)

        async def body() -> AsyncIterator[bytes]:  # one endless file, past the upload limit
            yield b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n'
            for _ in range(UPLOAD_LIMIT // len(chunk) + 2):
                yield chunk

        headers = {"content-type": "multipart/form-data; boundary=x"}
        url = f"/api/models/{version}/predict"
        return (await client.post(url, content=body(), headers=headers)).status_code

    async def endless(client: httpx.AsyncClient, rng: random.Random) -> int:
        boundary = "soak"
        part = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()

        async def body() -> AsyncIterator[bytes]:
            yield part + images[0] + f"\r\n--{boundary}--\r\n".encode()

        headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
        url = f"/api/models/{built['endless_version']}/predict"
        return (await client.post(url, content=body(), headers=headers)).status_code

    async def huge_model(client: httpx.AsyncClient, rng: random.Random) -> int:
        body = {"name": f"hostile-{secrets.token_hex(4)}", "path": str(built["huge"])}
        return (await client.post("/api/models", json=body)).status_code

    ok = frozenset({200}) | busy
    return Heavy(
        kinds={
            "compare 2000": (ok, compare),
            "leaderboard": (ok, leaderboard),
            "thumbnail 60 MP": (ok | {304}, thumbnail),
            "predict chunked": (ok, predict),
            "hostile: 20000x20000 model": (frozenset({413, 422}) | busy, huge_model),
            "hostile: body > limit": (frozenset({413}) | busy, oversized),
            "hostile: endless model": (frozenset({422}) | busy, endless),
        },
        images=built["paths"],
    )


HEAVY_WEIGHTS = {
    "compare 2000": 5,
    "leaderboard": 3,
    "thumbnail 60 MP": 5,
    "predict chunked": 5,
    "hostile: 20000x20000 model": 1.5,
    "hostile: body > limit": 0.5,
    "hostile: endless model": 0.5,
}


COLD_EVERY_S = 3.0  # about how often the 60 MP images are touched (thumbnails made anew)


async def heavy_request(
    heavy: Heavy, client: httpx.AsyncClient, rng: random.Random, outcomes: Counter[str]
) -> None:
    """One request of the heavy mix, its answer counted per kind and in ``outcomes``."""
    names = list(HEAVY_WEIGHTS)
    kind = rng.choices(names, weights=[HEAVY_WEIGHTS[k] for k in names])[0]
    expected, make = heavy.kinds[kind]
    started = time.perf_counter()
    try:
        status = await make(client, rng)
    except httpx.HTTPError as exc:
        heavy.answers[(kind, "connection error")] += 1
        outcomes["connection error"] += 1
        print(f"connection error ({type(exc).__name__}: {exc}): {kind}", flush=True)
        return
    heavy.seconds.setdefault(kind, []).append(time.perf_counter() - started)
    heavy.answers[(kind, status)] += 1
    if status in (429, 503):
        outcomes[f"{status} busy"] += 1
    elif status >= 500:
        outcomes["5xx"] += 1
        print(f"5xx: {status} {kind}", flush=True)
    elif status not in expected:
        outcomes["4xx unexpected" if status >= 400 else "hostile accepted"] += 1
        print(f"unexpected {status}: {kind}", flush=True)
    elif status >= 400:
        outcomes["4xx expected"] += 1
    else:
        outcomes["2xx/3xx"] += 1


class Connection:
    """A keep-alive HTTP/1.1 GET client on one loopback socket, with headers (the token)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.head = f"Host: 127.0.0.1:{port}\r\n{extra}"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def get(self, path: str) -> int:
        if self.writer is not None and time.monotonic() - self.used > 4.0:
            self.close()  # uvicorn closes keep-alive connections idle for 5 s
        self.used = time.monotonic()
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\n{self.head}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            key, _, value = line.partition(":")
            if key.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(lines[0].split()[1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


@dataclass
class Window:
    """The RSS samples (MiB, every 0.5 s) of one window of the run: the largest and the last of
    the server's own and of the server with its children."""

    index: int
    own_max: float
    own_last: float
    tree_max: float
    tree_last: float

    def add(self, own: float, tree: float) -> None:
        self.own_max, self.own_last = max(self.own_max, own), own
        self.tree_max, self.tree_last = max(self.tree_max, tree), tree

    def line(self, width: float) -> str:
        start = self.index * width
        return (
            f"{start:5.0f}-{start + width:<5.0f} s  server {self.own_max:6.0f} / "
            f"{self.own_last:6.0f}   with children {self.tree_max:6.0f} / {self.tree_last:6.0f}"
        )


async def soak(
    port: int, token: str, urls: dict[str, Callable[[], str]], bad: Callable[[], str],
    clients: int, seconds: float, on_warm: Callable[[], None], on_sample: Callable[[], None],
    heavy: Heavy | None = None, on_tick: Callable[[], None] = lambda: None,
) -> tuple[list[float], Counter[str], int]:  # fmt: skip
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    names = list(urls)
    deadline = time.monotonic() + seconds
    warm_at = time.monotonic() + seconds / 10
    warmed = False

    async def client(k: int) -> None:
        nonlocal warmed
        rng = random.Random(k)
        authed = Connection(port, {"Authorization": f"Bearer {token}"})
        anonymous = Connection(port, {})
        rich = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(300.0),
            limits=httpx.Limits(max_connections=1, keepalive_expiry=4.0),  # uvicorn's is 5 s
        )
        try:
            while time.monotonic() < deadline:
                if not warmed and time.monotonic() > warm_at:
                    warmed = True
                    on_warm()
                roll = rng.random()
                if heavy is not None and roll >= 1 - HEAVY_SHARE:
                    await heavy_request(heavy, rich, rng, outcomes)
                    continue
                conn = anonymous if roll < 0.01 else authed
                path = bad() if roll < 0.05 else urls[rng.choice(names)]()
                expected_error = roll < 0.05
                started = time.perf_counter()
                try:
                    status = await conn.get(path)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    outcomes["connection error"] += 1
                    print(f"connection error ({type(exc).__name__}): {path}", flush=True)
                    conn.close()
                    continue
                latencies.append(time.perf_counter() - started)
                if status in (429, 503):
                    outcomes[f"{status} busy"] += 1
                elif status >= 500:
                    outcomes["5xx"] += 1
                    print(f"5xx: {status} {path}", flush=True)
                elif status >= 400:
                    outcomes["4xx expected" if expected_error else "4xx unexpected"] += 1
                    if not expected_error:
                        print(f"unexpected {status}: {path}", flush=True)
                else:
                    outcomes["2xx/3xx"] += 1
        finally:
            authed.close()
            anonymous.close()
            await rich.aclose()

    async def sample() -> None:
        while time.monotonic() < deadline:
            await asyncio.sleep(seconds / 6)
            on_sample()

    async def tick() -> None:
        while time.monotonic() < deadline:
            on_tick()
            await asyncio.sleep(0.5)
            if heavy is not None and rng_tick.random() < 0.5 / COLD_EVERY_S:
                for image in heavy.images:  # "edited": a new ETag, the thumbnail made anew
                    os.utime(image)

    rng_tick = random.Random(-1)
    await asyncio.gather(sample(), tick(), *(client(k) for k in range(clients)))
    return latencies, outcomes, len(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--full", action="store_true", help="100k x 100 and 5,000 images")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--heavy", action="store_true", help="and the heavy mix (see above)")
    parser.add_argument(
        "--window", type=float, default=30.0,
        help="seconds of one RSS window: the server's RSS max and last (and with its children) "
        "are printed per window, as each ends and at the end, so a plateau or a growth shows",
    )  # fmt: skip
    parser.add_argument(
        "--model-call-seconds", type=float, default=10.0,
        help="--heavy: the server's wall-clock limit of one model call (Limits.model_call_seconds, "
        "60 by default) that stops the endless model",
    )  # fmt: skip
    args = parser.parse_args()
    n, n_classes, n_images = (100_000, 100, 5000) if args.full else (10_000, 20, 500)
    random.seed(0)
    with tempfile.TemporaryDirectory(prefix="assay-soak-") as tmp:
        home = args.home or Path(tmp) / "home"
        ids = build(home, n, n_classes, n_images)
        data = home.with_name(home.name + "-data")  # outside the workspace: registrable
        built = build_heavy(home, data, ids["classification"], n, n_classes) if args.heavy else None
        token = secrets.token_urlsafe(32)
        port = free_port()
        call_s = args.model_call_seconds if built else 0
        proc = start(home, port, token, (data,) if built else (), call_s)
        try:
            auth = {"Authorization": f"Bearer {token}"}
            base = f"http://127.0.0.1:{port}/api/evaluations"
            classes = httpx.get(
                f"{base}/{ids['classification']}", headers=auth, timeout=300
            ).json()["classes"]
            det_classes = httpx.get(f"{base}/{ids['detection']}", headers=auth, timeout=300).json()[
                "classes"
            ]
            urls = {
                **scenarios(ids, classes, det_classes, n, n_images),
                **more_scenarios(ids, classes, det_classes, n),
            }
            heavy = heavy_mix(built, classes) if built else None
            rss: dict[str, float] = {"start": rss_mib(proc.pid)}
            tree: dict[str, float] = {"start": tree_rss_mib(proc.pid)}
            series: list[float] = []
            peak = {"server": rss["start"], "with children": tree["start"]}
            windows: list[Window] = []

            def warm() -> None:
                rss["after warm-up"] = rss_mib(proc.pid)
                tree["after warm-up"] = tree_rss_mib(proc.pid)

            def tick() -> None:
                own, with_children = rss_mib(proc.pid), tree_rss_mib(proc.pid)
                peak["server"] = max(peak["server"], own)
                peak["with children"] = max(peak["with children"], with_children)
                index = int((time.perf_counter() - began) // args.window)
                if windows and windows[-1].index == index:
                    windows[-1].add(own, with_children)
                    return
                if windows:
                    print(windows[-1].line(args.window), flush=True)  # the window that ended
                windows.append(Window(index, own, own, with_children, with_children))

            began = time.perf_counter()
            latencies, outcomes, count = asyncio.run(
                soak(
                    port, token, urls, hostile(ids), args.clients, args.seconds,
                    warm, lambda: series.append(rss_mib(proc.pid)), heavy, tick,
                )
            )  # fmt: skip
            elapsed = time.perf_counter() - began
            rss["end"] = rss_mib(proc.pid)
            tree["end"] = tree_rss_mib(proc.pid)
            alive = httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    ms = sorted(x * 1000 for x in latencies)
    import numpy as np  # not ``statistics``: benchmarks/statistics.py shadows it here

    q = list(np.percentile(ms, np.arange(1, 100))) if len(ms) > 1 else [float("nan")] * 99
    print(f"\nsoak: {args.clients} clients, {args.seconds:g} s, {len(urls)} endpoints varied, "
          f"{'full' if args.full else 'quick'} workspace ({n} x {n_classes}, {n_images} images)")  # fmt: skip
    heavy_count = sum(heavy.answers.values()) if heavy is not None else 0
    total = count + heavy_count
    print(f"requests   {total}  ({total / elapsed:.0f} /s)")
    print(
        f"latency    p50 {q[49]:.1f} ms  p95 {q[94]:.1f} ms  p99 {q[98]:.1f} ms  max {ms[-1]:.1f} ms"
        + (f"  ({count} light requests; the heavy mix's below)" if heavy is not None else "")
    )
    print("answers    " + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
    print("server RSS " + ", ".join(f"{k} {v:.0f} MiB" for k, v in rss.items()))
    print(
        "RSS every " + f"{args.seconds / 6:g} s: " + ", ".join(f"{v:.0f}" for v in series) + " MiB"
    )
    if heavy is not None:
        print(f"RSS max    server {peak['server']:.0f} MiB, with children "
              f"{peak['with children']:.0f} MiB (sampled every 0.5 s)")  # fmt: skip
        print("RSS tree   " + ", ".join(f"{k} {v:.0f} MiB" for k, v in tree.items()))
        print(f"heavy mix  {heavy_count} requests (latency p50 / max; the server's model call "
              f"limit {args.model_call_seconds:g} s):")  # fmt: skip
        for kind in HEAVY_WEIGHTS:
            got = sorted((str(k[1]), v) for k, v in heavy.answers.items() if k[0] == kind)
            took = sorted(heavy.seconds.get(kind, [])) or [float("nan")]
            print(f"  {kind:<28}" + ", ".join(f"{st}: {v}" for st, v in got)
                  + f"  ({float(np.median(took)):.2f} s / {took[-1]:.2f} s)")  # fmt: skip
    print(f"RSS per {args.window:g} s window (MiB: server max / last, with children max / last):")
    for window in windows:
        print("  " + window.line(args.window))
    print(f"health after the run: {'ok' if alive else 'FAILED'}")
    failed = outcomes["5xx"] or outcomes["connection error"] or outcomes["hostile accepted"]
    if failed or not alive:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
