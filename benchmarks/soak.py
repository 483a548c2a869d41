"""Soak run: 50 clients for 60 s against one server, every parameter varied, a share of hostile
requests mixed in; throughput, latency percentiles, answers by status, and the server's RSS.

    .venv/bin/python benchmarks/soak.py                     # 10k x 20 classification + 500 images
    .venv/bin/python benchmarks/soak.py --seconds 20        # shorter, on a loaded machine
    .venv/bin/python benchmarks/soak.py --full              # 100k x 100 and 5,000 images
    .venv/bin/python benchmarks/soak.py --home /tmp/soak    # keep (and reuse) the workspace

The workspace is benchmarks/api.py's (``build``); the server runs in a subprocess on 127.0.0.1
with a token, as ``assay serve --token`` starts it, and every request carries it. Each client
holds one keep-alive connection and sends back to back; every request draws a new endpoint and new
values for threshold, iou, score, labels, cells, outcome, sort, normalize, top, bins, offset and
limit. About 5% are hostile (out-of-range numbers, ids beyond 2^63, offsets beyond 2^53, odd
labels, no token): they must answer 4xx, never 5xx. RSS is read from /proc at start, after a
warm-up (a tenth of the run) and at the end: growth after the warm-up is the leak signal.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import COCO_IOUS, build, free_port, scenarios, wait_until_healthy  # type: ignore[import-not-found]  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

SERVER = """
import sys, uvicorn
from pathlib import Path
from assay.server.app import create_app
home, port, token = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
uvicorn.run(create_app(home, token=token), host="127.0.0.1", port=port, log_level="warning")
"""


def start(home: Path, port: int, token: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-c", SERVER, str(home), str(port), token]
    return wait_until_healthy(subprocess.Popen(command, env=env), port)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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


async def soak(
    port: int, token: str, urls: dict[str, Callable[[], str]], bad: Callable[[], str],
    clients: int, seconds: float, on_warm: Callable[[], None], on_sample: Callable[[], None],
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
        try:
            while time.monotonic() < deadline:
                if not warmed and time.monotonic() > warm_at:
                    warmed = True
                    on_warm()
                roll = rng.random()
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
                if status >= 500:
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

    async def sample() -> None:
        while time.monotonic() < deadline:
            await asyncio.sleep(seconds / 6)
            on_sample()

    await asyncio.gather(sample(), *(client(k) for k in range(clients)))
    return latencies, outcomes, len(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--full", action="store_true", help="100k x 100 and 5,000 images")
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    n, n_classes, n_images = (100_000, 100, 5000) if args.full else (10_000, 20, 500)
    random.seed(0)
    with tempfile.TemporaryDirectory(prefix="assay-soak-") as tmp:
        home = args.home or Path(tmp) / "home"
        ids = build(home, n, n_classes, n_images)
        token = secrets.token_urlsafe(32)
        port = free_port()
        proc = start(home, port, token)
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
            rss: dict[str, float] = {"start": rss_mib(proc.pid)}
            series: list[float] = []
            began = time.perf_counter()
            latencies, outcomes, count = asyncio.run(
                soak(
                    port, token, urls, hostile(ids), args.clients, args.seconds,
                    lambda: rss.__setitem__("after warm-up", rss_mib(proc.pid)),
                    lambda: series.append(rss_mib(proc.pid)),
                )
            )  # fmt: skip
            elapsed = time.perf_counter() - began
            rss["end"] = rss_mib(proc.pid)
            alive = httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else [float("nan")] * 99
    print(f"\nsoak: {args.clients} clients, {args.seconds:g} s, {len(urls)} endpoints varied, "
          f"{'full' if args.full else 'quick'} workspace ({n} x {n_classes}, {n_images} images)")  # fmt: skip
    print(f"requests   {count}  ({count / elapsed:.0f} /s)")
    print(
        f"latency    p50 {q[49]:.1f} ms  p95 {q[94]:.1f} ms  p99 {q[98]:.1f} ms  max {ms[-1]:.1f} ms"
    )
    print("answers    " + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
    print("server RSS " + ", ".join(f"{k} {v:.0f} MiB" for k, v in rss.items()))
    print(
        "RSS every " + f"{args.seconds / 6:g} s: " + ", ".join(f"{v:.0f}" for v in series) + " MiB"
    )
    print(f"health after the run: {'ok' if alive else 'FAILED'}")
    if outcomes["5xx"] or outcomes["connection error"] or not alive:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
