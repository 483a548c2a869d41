"""API latency benchmark: p50 / p95 of every threshold- or IoU-dependent endpoint under load.

    .venv/bin/python benchmarks/api.py                    # 100k x 100 classification + 5,000 images
    .venv/bin/python benchmarks/api.py --quick            # 10k x 20 and 500 images, seconds
    .venv/bin/python benchmarks/api.py --home /tmp/bench  # keep (and reuse) the workspace

Builds a workspace with a 100,000-sample x 100-class classification evaluation and a COCO-val-scale
detection evaluation (5,000 images, ~36k boxes, ~300k detections; benchmarks/detection.py's
generator), starts ``uvicorn`` on 127.0.0.1 in a subprocess and sends a bounded number of requests
per endpoint from 20 concurrent clients (one keep-alive connection each), with a new threshold / IoU
/ confidence / label in every request. Latency is measured at the client: queueing behind the other
19 clients included. ``--think-ms 150`` makes each client pause between its requests as a person
dragging a debounced slider does; the default sends back to back (saturation). Only loopback
traffic; bounded request counts. Target: p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def make_scores(n: int, n_classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The classification benchmark's seeded float32 softmax scores."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from classification import make_scores as scores  # type: ignore[import-not-found]

    return scores(n, n_classes, seed)


def detection_data(n_images: int) -> tuple[dict, list]:
    """benchmarks/detection.py's COCO-like generator."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from detection import synthetic  # type: ignore[import-not-found]

    return synthetic(n_images, seed=0)


def build(home: Path, n: int, n_classes: int, n_images: int) -> dict[str, int]:
    """Evaluate and store both evaluations (skipped when ``home`` already has them)."""
    from assay.evaluation.classification import evaluate_classification
    from assay.evaluation.detection import evaluate_detections
    from assay.store import Workspace

    ws = Workspace(home)
    existing = {e.name: e.id for e in ws.list_evaluations()}
    clf_name, det_name = f"clf-{n}x{n_classes}", f"det-{n_images}"
    if clf_name not in existing:
        t = time.perf_counter()
        y, s = make_scores(n, n_classes)
        classes = [f"class{c:03d}" for c in range(n_classes)]
        res = evaluate_classification(y, s, classes=classes)
        ids = [f"s{i}" for i in range(n)]
        dv = ws.add_dataset_version(clf_name, task="classification", samples=pa.table({"id": ids}))
        existing[clf_name] = ws.save_evaluation(
            res, task="classification", name=clf_name, dataset_version_id=dv.id, params={}
        ).id
        print(f"built {clf_name} in {time.perf_counter() - t:.1f} s", flush=True)
    if det_name not in existing:
        t = time.perf_counter()
        gt, dt = detection_data(n_images)
        res = evaluate_detections(gt, dt)
        ids = [str(im["id"]) for im in gt["images"]]
        dv = ws.add_dataset_version(det_name, task="detection", samples=pa.table({"id": ids}))
        existing[det_name] = ws.save_evaluation(
            res, task="detection", name=det_name, dataset_version_id=dv.id, params={}
        ).id
        print(
            f"built {det_name} ({len(gt['annotations'])} boxes, {len(dt)} detections) "
            f"in {time.perf_counter() - t:.1f} s",
            flush=True,
        )
    ws.close()
    return {"classification": existing[clf_name], "detection": existing[det_name]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(home: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ASSAY_HOME": str(home), "PYTHONPATH": str(ROOT / "src")}
    command = [
        sys.executable, "-m", "uvicorn", "assay.server.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--workers", str(workers),
    ]  # fmt: skip
    return wait_until_healthy(subprocess.Popen(command, env=env), port)


def wait_until_healthy(
    proc: subprocess.Popen[bytes], port: int, seconds: float = 60
) -> subprocess.Popen[bytes]:
    """``proc`` once ``/api/health`` answers 200 on ``port``; killed, and exit, after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the server did not start within {seconds:.0f} s")


def scenarios(
    ids: dict[str, int], classes: list[str], det_classes: list[str], n: int, n_img: int
) -> dict[str, Callable[[], str]]:
    """endpoint name -> a function making a random URL (varied parameters every request)."""
    c, d = ids["classification"], ids["detection"]
    t = lambda: round(random.random(), 3)  # noqa: E731
    lab = lambda: random.choice(classes)  # noqa: E731
    dlab = lambda: random.choice(det_classes)  # noqa: E731
    iou = lambda: random.choice(COCO_IOUS)  # noqa: E731
    sc = lambda: round(random.random() * 0.9, 3)  # noqa: E731
    sort = lambda: random.choice(["confidence", "confusion", "index"])  # noqa: E731
    norm = lambda: random.choice(["", "&normalize=true", "&normalize=probability"])  # noqa: E731
    cell = lambda: random.choice(  # noqa: E731
        ["", f"&actual={lab()}", f"&predicted={lab()}", "&errors_only=true",
         f"&label={lab()}&outcome={random.choice(['tp', 'fp', 'fn'])}"]
    )  # fmt: skip
    dsort = lambda: random.choice(["errors", "tp", "fp", "fn", "index"])  # noqa: E731
    return {
        "health (baseline)": lambda: "/api/health",
        "clf labels": lambda: f"/api/evaluations/{c}/labels?threshold={t()}",
        "clf label detail": lambda: f"/api/evaluations/{c}/labels/{lab()}?threshold={t()}",
        "clf confusion": lambda: f"/api/evaluations/{c}/confusion?threshold={t()}{norm()}",
        "clf confusion top=10": lambda: f"/api/evaluations/{c}/confusion?threshold={t()}&top=10",
        "clf samples": lambda: (
            f"/api/evaluations/{c}/samples?threshold={t()}&sort={sort()}{cell()}"
            f"&offset={random.choice([0, 50, 500])}&limit=50"
        ),
        "clf sample": lambda: f"/api/evaluations/{c}/samples/{random.randrange(n)}?threshold={t()}",
        "clf curve roc": lambda: f"/api/evaluations/{c}/curves/roc?label={lab()}",
        "clf curve pr": lambda: f"/api/evaluations/{c}/curves/pr?label={lab()}",
        "clf curve threshold": lambda: f"/api/evaluations/{c}/curves/threshold?label={lab()}",
        "clf curve density": lambda: f"/api/evaluations/{c}/curves/density?label={lab()}",
        "clf curve calibration": lambda: f"/api/evaluations/{c}/curves/calibration",
        "clf summary": lambda: f"/api/evaluations/{c}/summary?threshold={t()}",
        "clf optimal": lambda: (
            f"/api/evaluations/{c}/optimal?metric={random.choice(['f1', 'accuracy', 'precision'])}"
        ),
        "det labels": lambda: f"/api/evaluations/{d}/labels?iou={iou()}&score={sc()}",
        "det label detail": lambda: f"/api/evaluations/{d}/labels/{dlab()}?iou={iou()}&score={sc()}",
        "det confusion": lambda: f"/api/evaluations/{d}/confusion?iou={iou()}&score={sc()}",
        "det samples": lambda: (
            f"/api/evaluations/{d}/samples?iou={iou()}&score={sc()}&sort={dsort()}"
            f"{random.choice(['', f'&actual={dlab()}', f'&predicted={dlab()}', '&errors_only=true'])}"
        ),
        "det samples by outcome": lambda: (
            f"/api/evaluations/{d}/samples?iou={iou()}&score={sc()}&label={dlab()}"
            f"&outcome={random.choice(['tp', 'fp', 'fn'])}"
        ),
        "det summary": lambda: f"/api/evaluations/{d}/summary?iou={iou()}&score={sc()}",
        "det sample": lambda: f"/api/evaluations/{d}/samples/{random.randrange(n_img)}?iou={iou()}&score={sc()}",
        "det curve pr": lambda: f"/api/evaluations/{d}/curves/pr?label={dlab()}&iou={iou()}",
    }  # fmt: skip


class Connection:
    """A minimal keep-alive HTTP/1.1 client on one loopback socket.

    httpx costs about a millisecond of CPU per request, which on a 2-core machine is taken from the
    server under test; this costs a few tens of microseconds.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {
            k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)
        }
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def measure(
    base: str, make_url: Callable[[], str], requests: int, concurrency: int, think_ms: float = 0.0
) -> tuple[list[float], list[float], int]:
    """Client latencies and server times (ms) of ``requests`` requests sent by ``concurrency``
    clients, each pausing ``think_ms`` (randomised +-50 %) between its requests; and the number of
    errors. With ``think_ms=0`` the clients send back to back: the server is saturated and latency
    is mostly queueing behind the other clients."""
    latencies: list[float] = []
    server: list[float] = []
    errors = 0
    remaining = iter(range(requests))
    host, port = base.removeprefix("http://").split(":")

    async def worker() -> None:
        nonlocal errors
        conn = Connection(host, int(port))
        try:
            if think_ms:
                await asyncio.sleep(random.random() * think_ms / 1000)
            for _ in remaining:
                url = make_url()
                t = time.perf_counter()
                status, headers, body = await conn.get(url)
                latencies.append((time.perf_counter() - t) * 1000)
                timing = headers.get("server-timing", "")
                if "dur=" in timing:
                    server.append(float(timing.split("dur=")[1].split(",")[0]))
                if status != 200:
                    errors += 1
                    if errors <= 3:
                        print(f"  {status} {url}: {body[:200]!r}", file=sys.stderr)
                if think_ms:
                    await asyncio.sleep(think_ms * random.uniform(0.5, 1.5) / 1000)
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, server, errors


COCO_IOUS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def warm_urls(ids: dict[str, int], classes: list[str], det_classes: list[str]) -> list[str]:
    """One request per (curve, label) and per (IoU, detection label): the steady state of a
    server that people have used for a while."""
    c, d = ids["classification"], ids["detection"]
    urls = [
        f"/api/evaluations/{c}/curves/{kind}?label={lab}"
        for kind in ("roc", "pr", "threshold", "density")
        for lab in classes
    ]
    urls += [f"/api/evaluations/{d}/labels?iou={iou}" for iou in COCO_IOUS]
    urls += [
        f"/api/evaluations/{d}/curves/pr?label={lab}&iou={iou}"
        for iou in COCO_IOUS
        for lab in det_classes
    ]
    return urls


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="workspace folder (default: a temp folder)")
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--warm",
        action="store_true",
        help="before measuring, ask every label's curves and every COCO IoU once (steady state)",
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="pause of each client between its requests (0: back to back, the server saturated; "
        "150: a person dragging a slider whose requests are debounced by 150 ms)",
    )
    args = parser.parse_args()
    n, n_classes, n_images = (10_000, 20, 500) if args.quick else (100_000, 100, 5_000)
    random.seed(0)
    with tempfile.TemporaryDirectory(prefix="assay-api-bench-") as tmp:
        home = args.home or Path(tmp)
        ids = build(home, n, n_classes, n_images)
        port = free_port()
        server = start_server(home, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            detail = httpx.get(f"{base}/api/evaluations/{ids['classification']}", timeout=300)
            classes = detail.json()["classes"]
            det = httpx.get(f"{base}/api/evaluations/{ids['detection']}", timeout=300).json()
            table = scenarios(ids, classes, det["classes"], n, n_images)
            print(f"warming up (first load, one request per endpoint, {args.workers} worker(s))")
            for _ in range(max(1, args.workers)):
                for make_url in table.values():
                    httpx.get(base + make_url(), timeout=300)
            if args.warm:
                t = time.perf_counter()
                urls = warm_urls(ids, classes, det["classes"])
                with httpx.Client(base_url=base, timeout=300) as client:
                    for url in urls:
                        client.get(url)
                print(
                    f"warmed every label's curves and every COCO IoU: {len(urls)} requests "
                    f"in {time.perf_counter() - t:.1f} s (the first ROC of a label and the first "
                    "answer at a new IoU are computed once, then kept)"
                )
            print(
                f"\n{n:,} samples x {n_classes} classes; {n_images:,} images; "
                f"{args.requests} requests per endpoint, {args.concurrency} concurrent clients, "
                f"think time {args.think_ms:g} ms\n"
            )
            header = (
                f"{'endpoint':<24}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'req/s':>8}"
                f"{'server p50':>12}{'server p95':>12}  errors"
            )
            print(header)
            print("-" * len(header))
            worst = worst_server = 0.0
            for name, make_url in table.items():
                t = time.perf_counter()
                latencies, server_ms, errors = asyncio.run(
                    measure(base, make_url, args.requests, args.concurrency, args.think_ms)
                )
                rate = len(latencies) / (time.perf_counter() - t)
                p95 = percentile(latencies, 95)
                worst = max(worst, p95)
                worst_server = max(worst_server, percentile(server_ms, 95))
                print(
                    f"{name:<24}{statistics.median(latencies):>9.1f}{p95:>9.1f}"
                    f"{max(latencies):>9.1f}{rate:>8.0f}{percentile(server_ms, 50):>12.1f}"
                    f"{percentile(server_ms, 95):>12.1f}  {errors}",
                    flush=True,
                )
            verdict = "meets" if worst < 50 else "misses"
            print(f"\nworst client p95: {worst:.1f} ms ({verdict} the 50 ms target)")
            print(
                f"worst server p95: {worst_server:.1f} ms (Server-Timing: routing, handler, JSON)"
            )
            print(
                f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
