"""Browser tests: a seeded workspace, `assay serve` on a free port, and Debian's chromium.

The workspace is seeded once per session with ``assay.demo.seed.seed_workspace`` (an image
classification, a text classification and a detection evaluation). Each test saves a full-page
screenshot under ``test-artifacts/screens/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STATIC_INDEX = REPO / "src" / "assay" / "server" / "static" / "index.html"
SCREENS = REPO / "test-artifacts" / "screens"
CHROMIUM = Path(os.environ.get("ASSAY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"chromium not found at {CHROMIUM} (install Debian's chromium package, or set ASSAY_CHROMIUM)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A temporary ASSAY_HOME filled by the demo seed: {"image", "text", "detection"} -> id."""
    _require_chromium()
    if not STATIC_INDEX.exists():
        pytest.fail(
            f"{STATIC_INDEX.relative_to(REPO)} is missing: build the web UI first "
            "(`make web`, or `cd frontend && npm ci && npm run build`)."
        )
    from assay.demo.seed import seed_workspace

    home = tmp_path_factory.mktemp("assay-home")
    ids = seed_workspace(home)
    assert {"image", "text", "detection"} <= set(ids), ids
    return home, ids


@pytest.fixture(scope="session")
def ids(seeded: tuple[Path, dict[str, int]]) -> dict[str, int]:
    return seeded[1]


@pytest.fixture(scope="session")
def server_url(seeded: tuple[Path, dict[str, int]]) -> Iterator[str]:
    """`assay serve` on a free 127.0.0.1 port, with ASSAY_HOME pointing at the seeded workspace."""
    home, _ = seeded
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ASSAY_HOME": str(home)}
    log = home / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assay.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"assay serve exited with {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/api/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"assay serve did not answer /api/health in 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser(seeded: tuple[Path, dict[str, int]]) -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    # The first answer of an evaluation loads its results from disk (and compiles kernels).
    expect.set_options(timeout=20_000)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def settle(page) -> None:  # type: ignore[no-untyped-def]
    """Before a screenshot: answers in flight landed, thumbnails loaded, page scrolled to the top."""
    try:
        page.wait_for_load_state("networkidle", timeout=5_000)
        page.wait_for_function(
            "!document.querySelector('[data-busy=true]') && "
            "[...document.images].every(i => i.complete)",
            timeout=5_000,
        )
    except Exception:  # noqa: BLE001 - a screenshot of a busy page is still worth having
        pass
    page.evaluate("document.documentElement.style.scrollBehavior = 'auto'; window.scrollTo(0, 0)")
    page.wait_for_timeout(150)


@pytest.fixture()
def page(browser, server_url: str, request: pytest.FixtureRequest) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh page at 1440x900; a full-page screenshot named after the test is saved at the end."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=server_url)
    context.set_default_timeout(15_000)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield p
        assert not errors, f"JavaScript errors on the page: {errors}"
    finally:
        SCREENS.mkdir(parents=True, exist_ok=True)
        name = request.node.name.removeprefix("test_")
        try:
            settle(p)
            p.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - a failed screenshot must not hide the test's own error
            pass
        context.close()
