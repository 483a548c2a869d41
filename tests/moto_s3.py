"""A local S3-compatible server for the object-storage tests: moto in server mode on a free
localhost port, with dummy credentials in the environment and ``AWS_ENDPOINT_URL`` pointing at it.

"Access denied" is tested for real: :func:`deny_bucket` puts a bucket policy that denies every
principal, and moto's server enforces bucket policies (no IAM set-up needed).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ENV = {
    "AWS_ACCESS_KEY_ID": "testing-key",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-never-shown",
    "AWS_SESSION_TOKEN": "",
    "AWS_DEFAULT_REGION": "us-east-1",
    "ASSAY_REMOTE_TIMEOUT": "5",
}
SECRET = ENV["AWS_SECRET_ACCESS_KEY"]


def need(*modules: str) -> None:
    """Skip locally when an extra's module is absent; in CI (``$CI`` set) it must be there (the
    import error fails the test)."""
    if os.environ.get("CI"):
        return
    for module in modules:
        pytest.importorskip(module)


def need_moto() -> None:
    """moto's server and s3fs (the dev and cloud extras)."""
    need("moto.server", "s3fs")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def s3_server() -> Iterator[str]:
    """Start moto's S3 on localhost, set the AWS environment to it; yields the endpoint URL.
    The server is stopped and the environment put back afterwards."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in (*ENV, "AWS_ENDPOINT_URL")}
    os.environ.update(ENV)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        yield endpoint
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def upload(endpoint: str, bucket: str, folder: Path, prefix: str = "") -> list[str]:
    """Every file under ``folder`` put as ``prefix + relative path``; the bucket made first."""
    s3 = client(endpoint)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
    keys = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            key = prefix + path.relative_to(folder).as_posix()
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
            keys.append(key)
    return keys


def deny_bucket(endpoint: str, bucket: str) -> None:
    """A bucket policy that denies every principal every S3 action on ``bucket``."""
    s3 = client(endpoint)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="secret.csv", Body=b"id,label\n1,cat\n")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
