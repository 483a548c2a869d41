"""Each memory bomb of issue 17 fired at a real server (uvicorn in a subprocess, the app ``assay
serve`` runs) that lives under a memory limit: its address space is capped at ``LIMIT_BYTES``
(``RLIMIT_AS``, set in the child before it starts; an idle server reserves ~0.7 GiB of address
space and ~0.17 GiB resident, one compare of 2,000 resamples here ~2.3 GiB and ~0.45 GiB: numba,
onnxruntime, thread stacks and malloc arenas reserve far more than they touch). Past the cap an
allocation fails (MemoryError, a 500, or the process dies), so a bomb that is not bounded shows.

After each bomb the server answers ``/api/health``, no answer was a 5xx other than 503, and its
resident high-water mark (``VmHWM`` of /proc/PID/status) stayed under ``RSS_BUDGET`` (1.5 GiB,
well under the cap; the server holds glibc to 2 malloc arenas, assay.server.heap, so its
address space tracks its memory rather than per-thread arenas):

- one upload (registration) of a ~120-byte ONNX model declaring a 1x3x20000x20000 input: a 422;
- 12 concurrent ``compare?resamples=2000``, each of other resamples (nothing shared): at most
  ``compare_workers`` compute, ``compare_queue`` wait, the rest are 503s;
- 40 concurrent thumbnails of 40 distinct 64-megapixel PNGs: the gate and the decode budget
  (``Limits.thumbnail_decode_bytes``) bound what is decoded at once;
- 60 concurrent chunked predict bodies of 48 MiB (past the 40 MiB upload limit): at most
  ``predict_workers + predict_queue`` are read (streamed, counted, a 413 at the limit), the
  rest are 503s before a byte is read.

Scaled to stay under a minute on a 2-core machine: the compared evaluations are 4,000 samples
of 10 classes (the issue's were larger: the bound is the gate, not the size) and the server's
``compare_queue`` is 2, not 8 (what waits holds no memory: 4 compares run instead of 10); the
40 PNGs are one constant-colour 8000x8000 image copied (0.8 MB each on disk, 256 MB each
decoded).

Run with ``ASSAY_BOMBS_WIDE=1`` the server's gates and budgets are opened wide (Limits) and each
part fails: that is what the defaults prevent (the bodies are buffered before routing then, as
the server did before its middleware streamed them). Seen: the huge model registered (201); 12
compares all computed at once, resident 2.5 GiB; thumbnails and bodies past the cap, 500s.
``ASSAY_BOMBS_LIMITS`` (JSON of Limits fields) serves other limits, e.g. only the thumbnail gate
opened (``{"thumbnail_workers": 40}``: the decode budget alone must still hold).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from assay.evaluation.classification import evaluate_classification
from assay.store import Workspace
from tests.runners.models import linear_softmax
from tests.server.test_bounded_work import _big_input_model

ROOT = Path(__file__).resolve().parents[2]
LIMIT_BYTES = 4 << 30  # the server's address space (RLIMIT_AS): past it, allocations fail
# what the server may hold resident (VmHWM): idle ~0.17 GiB, two compares computing at once
# ~0.5 GiB more at this size, thumbnails' decoded pixels at most 0.5 GiB (the decode budget),
# predict bodies streamed (a few MiB); the wide-open gates pass it (compares) or hit the cap
RSS_BUDGET = 3 << 29  # 1.5 GiB
WIDE = os.environ.get("ASSAY_BOMBS_WIDE") == "1"
WIDE_LIMITS = {
    "compare_workers": 12,
    "compare_queue": 12,
    "thumbnail_workers": 40,
    "thumbnail_queue": 40,
    "thumbnail_decode_bytes": 1 << 40,
    "predict_workers": 60,
    "predict_queue": 60,
    "upload_request_bytes": 1 << 30,
    "max_input_values": 1 << 40,
}
N, CLASSES, IMAGES, BODIES, BODY_MIB = 4000, 10, 40, 60, 48
SCALED = {"compare_queue": 2}  # 2 compute, 2 wait, 8 are 503s: the same bound, sooner


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[bytes]
    ids: dict[str, Any]

    def status(self) -> dict[str, int]:
        """VmHWM, VmRSS and VmPeak of the server process, in bytes."""
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "VmPeak"):
                fields[key] = int(value.split()[0]) * 1024
        return fields

    def alive(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/health", timeout=30).status_code == 200
        except httpx.HTTPError:
            return False


def _build(home: Path, data: Path) -> dict[str, Any]:
    """Two classification evaluations on one dataset version, a dataset version of 40 distinct
    64-megapixel PNGs, a small ONNX image classifier and the hostile model file."""
    ws = Workspace(home)
    rng = np.random.default_rng(0)
    y = rng.integers(0, CLASSES, N)
    classes = [f"c{i}" for i in range(CLASSES)]
    dv = ws.add_dataset_version(
        "scores", task="classification", samples=pa.table({"id": [f"s{i}" for i in range(N)]})
    )
    evaluations = []
    for k in range(2):
        scores = rng.dirichlet(np.ones(CLASSES), N)
        scores[np.arange(N), y] += 0.4 + 0.2 * k
        scores /= scores.sum(axis=1, keepdims=True)
        res = evaluate_classification(y, scores, classes=classes)
        record = ws.save_evaluation(
            res, task="classification", name=f"e{k}", dataset_version_id=dv.id, params={}
        )
        evaluations.append(record.id)
    media = data / "media"
    media.mkdir(parents=True)
    Image.new("RGB", (8000, 8000), (40, 90, 160)).save(media / "big0.png", compress_level=1)
    for i in range(1, IMAGES):
        shutil.copyfile(media / "big0.png", media / f"big{i}.png")
    paths = [str(media / f"big{i}.png") for i in range(IMAGES)]
    images = ws.add_dataset_version(
        "big",
        task="classification",
        samples=pa.table({"id": [f"big{i}" for i in range(IMAGES)], "path": paths}),
        media_root=media,
    )
    (data / "tiny").mkdir()
    tiny, _, _ = linear_softmax(data / "tiny" / "tiny.onnx", shape=(3, 8, 8), n_classes=3)
    model = ws.add_model(tiny, name="tiny")
    huge = _big_input_model(data / "huge" / "model.onnx", [1, 3, 20000, 20000])
    ws.close()
    return {"evaluations": evaluations, "images": images.id, "model": model.id, "huge": huge}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cap_memory() -> None:  # in the child, before it execs
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, resource.RLIM_INFINITY))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("bombs")
    home, data = root / "home", root / "data"
    ids = _build(home, data)
    port = _free_port()
    env = {
        **os.environ,
        "ASSAY_TEST_HOME": str(home),
        "ASSAY_TEST_DATA": str(data),
        "ASSAY_TEST_LIMITS": os.environ.get("ASSAY_BOMBS_LIMITS")
        or json.dumps(WIDE_LIMITS if WIDE else SCALED),
        "ASSAY_TEST_BUFFER_BODIES": "1" if WIDE else "",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "tests.server.bomb_server:app"]
        + ["--port", str(port), "--log-level", "critical"],
        cwd=ROOT,
        env=env,
        preexec_fn=_cap_memory,
        start_new_session=True,  # killed with its model workers
    )
    server = Served(f"http://127.0.0.1:{port}", proc, ids)
    try:
        deadline = time.monotonic() + 60
        while not server.alive():
            assert proc.poll() is None and time.monotonic() < deadline, "the server never started"
            time.sleep(0.1)
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)


def _run(coro: Any) -> Any:
    """``asyncio.run`` on a thread of its own (a browser test's loop may hold the main one)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _all(server: Served, requests: list[tuple[str, str, Any]]) -> Counter[int | str]:
    """The requests (method, path, body factory or None) sent at once; their statuses counted
    (a connection error as its exception's name)."""
    limits = httpx.Limits(max_connections=len(requests))
    async with httpx.AsyncClient(base_url=server.url, timeout=300, limits=limits) as client:

        async def one(method: str, path: str, body: Any) -> int | str:
            try:
                if body is None:
                    answer = await client.request(method, path)
                else:
                    headers = {"content-type": "multipart/form-data; boundary=x"}
                    answer = await client.request(method, path, content=body(), headers=headers)
            except httpx.HTTPError as exc:
                return type(exc).__name__
            return answer.status_code

        return Counter(await asyncio.gather(*(one(*r) for r in requests)))


def _after(server: Served, answers: Counter[int | str], bomb: str) -> None:
    """The server is alive, answered no 5xx but 503, and stayed resident under the cap."""
    print(f"\n{bomb}: answers {dict(answers)}; server {server.status()}")
    assert server.alive(), f"{bomb}: the server died ({server.proc.poll()})"
    bad = {k: v for k, v in answers.items() if not isinstance(k, int) or (k >= 500 and k != 503)}
    assert not bad, f"{bomb}: {bad}"
    hwm = server.status()["VmHWM"]
    assert hwm < RSS_BUDGET < LIMIT_BYTES, f"{bomb}: resident {hwm / 2**30:.2f} GiB"


def test_a_model_declaring_a_20000x20000_input(served: Served) -> None:
    body = {"name": "huge", "path": str(served.ids["huge"])}
    answer = httpx.post(f"{served.url}/api/models", json=body, timeout=300)
    _after(served, Counter([answer.status_code]), "20000x20000 model")
    assert answer.status_code == 422 and "1x3x20000x20000" in answer.json()["detail"]


def test_twelve_concurrent_compares_of_2000_resamples(served: Served) -> None:
    a, b = served.ids["evaluations"]
    urls = [f"/api/compare?a={a}&b={b}&resamples={2000 - i}" for i in range(12)]
    answers = _run(_all(served, [("GET", url, None) for url in urls]))
    _after(served, answers, "12 compares")
    assert answers[200] >= 2 and answers[200] + answers[503] == 12


def test_forty_concurrent_thumbnails_of_64_megapixel_pngs(served: Served) -> None:
    dv = served.ids["images"]
    urls = [f"/api/samples/{dv}:{i % IMAGES}/thumbnail" for i in range(40)]
    answers = _run(_all(served, [("GET", url, None) for url in urls]))
    _after(served, answers, "40 thumbnails")
    assert answers[200] >= 2 and answers[200] + answers[503] == 40


def test_sixty_concurrent_chunked_predict_bodies(served: Served) -> None:
    chunk = b"\0" * (1 << 20)

    def body() -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
            yield b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n'
            for _ in range(BODY_MIB):
                yield chunk

        return chunks()

    url = f"/api/models/{served.ids['model']}/predict"
    answers = _run(_all(served, [("POST", url, body)] * BODIES))
    _after(served, answers, "60 predict bodies")
    assert answers[413] >= 1 and answers[413] + answers[503] == BODIES
