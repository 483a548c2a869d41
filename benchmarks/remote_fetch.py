"""Fetching a folder of images from object storage into Assay's cache: against bare boto3 GETs
(the floor), objects read one at a time against :data:`assay.formats.remote.FETCH_WORKERS` at
once, and the same folder fetched again unchanged (only listed: nothing read), as ratios.

The store is moto's S3 server, in this process (the ``dev`` extra), so the figures measure
Assay's and the client's overhead per object, not a network, and the server shares the
interpreter's lock with the client (it caps what parallel reads gain here): against a real
bucket, where each GET waits tens of milliseconds on the network, reading 8 at once gains more.

    python benchmarks/remote_fetch.py [--objects 400] [--size 4096] [--process]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.moto_s3 import ENV, client, free_port, s3_server  # noqa: E402


@contextmanager
def server(process: bool) -> Iterator[str]:
    """moto's S3 in this process (the tests' way), or in a process of its own (``--process``:
    the client does not share the interpreter's lock with the server)."""
    if not process:
        with s3_server() as endpoint:
            yield endpoint
        return
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        os.environ.update(ENV)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=400)
    parser.add_argument("--size", type=int, default=4096, help="bytes per object")
    parser.add_argument("--process", action="store_true", help="moto in a process of its own")
    args = parser.parse_args()

    from assay.formats import remote

    with server(args.process) as endpoint, tempfile.TemporaryDirectory() as tmp:
        s3 = client(endpoint)
        s3.create_bucket(Bucket="bench")
        rng = os.urandom
        for i in range(args.objects):
            s3.put_object(
                Bucket="bench", Key=f"images/c{i % 10}/im{i:06d}.png", Body=rng(args.size)
            )
        remote.stat_url("s3://bench/images/c0/im000000.png")  # imports and client made once
        start = time.perf_counter()  # the floor: the bare client, one GET after another
        for i in range(args.objects):
            key = f"images/c{i % 10}/im{i:06d}.png"
            s3.get_object(Bucket="bench", Key=key)["Body"].read()
        bare = time.perf_counter() - start
        timings = {}
        for workers in (1, remote.FETCH_WORKERS):
            remote.FETCH_WORKERS = workers
            home = Path(tmp) / f"home{workers}"
            start = time.perf_counter()
            folder = remote.fetch("s3://bench/images/", home=home)
            timings[workers] = time.perf_counter() - start
            assert sum(1 for p in folder.rglob("*.png")) == args.objects
        start = time.perf_counter()
        remote.fetch("s3://bench/images/", home=home)
        again = time.perf_counter() - start
    one, many = timings[1], timings[max(timings)]
    n = args.objects
    where = "in a process of its own" if args.process else "in this process"
    print(f"{n} objects of {args.size} bytes from moto's S3 on localhost, {where}")
    print(f"  boto3 GETs (floor)  {bare:7.2f} s  {n / bare:8.0f} objects/s")
    print(f"  one at a time       {one:7.2f} s  {n / one:8.0f} objects/s")
    print(f"  {max(timings)} at once          {many:7.2f} s  {n / many:8.0f} objects/s")
    print(f"  again, unchanged    {again:7.2f} s  {n / again:8.0f} objects/s")
    print(f"ratio Assay one-at-a-time / bare GETs: {one / bare:.2f}x")
    print(f"ratio one-at-a-time / {max(timings)}-at-once: {one / many:.2f}x")
    print(f"ratio first fetch / unchanged re-fetch: {many / again:.2f}x")


if __name__ == "__main__":
    main()
