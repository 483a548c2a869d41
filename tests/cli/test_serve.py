"""`assay serve`: a token whenever it listens beyond loopback, printed once; --no-auth said."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:  # not listening yet
        return 0


def _serve(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    env = {**os.environ, "ASSAY_HOME": str(tmp_path / "home")}
    env.pop("ASSAY_TOKEN", None)
    cmd = [sys.executable, "-m", "assay.cli", "serve", "--port", str(port), *args]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _status(f"http://127.0.0.1:{port}/api/health") == 200:
            return proc, port
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"server did not start: {proc.communicate()[0]}")


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=60)
    return out


def test_non_loopback_host_requires_the_printed_token(tmp_path: Path) -> None:
    proc, port = _serve(tmp_path, "--host", "0.0.0.0")
    try:
        url = f"http://127.0.0.1:{port}/api/evaluations"
        assert _status(url) == 401
        assert _status(url, "not-the-token") == 401
    finally:
        out = _stop(proc)
    match = re.search(r"Access token \(generated[^:]*\): (\S+)", out)
    assert match, out
    proc, port = _serve(tmp_path, "--host", "0.0.0.0", "--token", match.group(1))
    try:
        url = f"http://127.0.0.1:{port}/api/evaluations"
        assert _status(url, match.group(1)) == 200
        assert _status(url) == 401
    finally:
        out = _stop(proc)
    assert match.group(1) not in out  # a token given by the user is not echoed


def test_loopback_serves_without_a_token(tmp_path: Path) -> None:
    proc, port = _serve(tmp_path)
    try:
        assert _status(f"http://127.0.0.1:{port}/api/evaluations") == 200
    finally:
        _stop(proc)


def test_no_auth_and_a_token_contradict(tmp_path: Path) -> None:
    env = {**os.environ, "ASSAY_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-m", "assay.cli", "serve", "--host", "0.0.0.0", "--no-auth"]
    done = subprocess.run([*cmd, "--token", "x"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert "contradict" in done.stdout + done.stderr
