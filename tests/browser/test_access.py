"""A server that requires a token (`assay serve --host 0.0.0.0`): the UI asks once, keeps the token,
loads thumbnails through the session cookie, asks again after a 401, and signs out."""

from __future__ import annotations

import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from assay.store.lock import SERVER_LOCK

from .conftest import SCREENS, serve, settle

pytestmark = pytest.mark.browser

TOKEN_LINE = re.compile(r"Access token \(generated, give it to the UI once\): (\S+)")


@pytest.fixture(scope="module")
def open_server(
    seeded: tuple[Path, dict[str, int]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """`assay serve --host 0.0.0.0` (all interfaces; the browser uses 127.0.0.1): (url, printed token).

    It serves a copy of the seeded workspace: the session's server (``server_url``), started by
    whichever browser test ran first in this process, holds the seeded one's lock
    (:mod:`assay.store.lock`), and a second server on it would be refused."""
    home = tmp_path_factory.mktemp("assay-home-open")
    skip = shutil.ignore_patterns(SERVER_LOCK, "*.log", "*-shm")  # the WAL index is rebuilt
    shutil.copytree(seeded[0], home, ignore=skip, dirs_exist_ok=True)
    with serve(home, host="0.0.0.0", log_name="server-open.log") as (url, log):
        deadline = time.monotonic() + 60
        while not (m := TOKEN_LINE.search(log.read_text())):
            assert time.monotonic() < deadline, f"no token printed:\n{log.read_text()}"
            time.sleep(0.1)
        yield url, m.group(1)


def shot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    settle(page)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def stored_token(page: Page) -> str | None:
    value: str | None = page.evaluate("localStorage.getItem('assay-token')")
    return value


def test_api_refuses_without_token(open_server: tuple[str, str]) -> None:
    url, token = open_server
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{url}/api/evaluations")
    assert err.value.code == 401
    assert err.value.headers["WWW-Authenticate"].startswith("Bearer")
    req = urllib.request.Request(
        f"{url}/api/evaluations", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req) as r:
        assert r.status == 200


def test_token_prompt_sign_in_and_out(
    browser: Browser, open_server: tuple[str, str], ids: dict[str, int]
) -> None:
    url, token = open_server
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=url)
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto("/")
        prompt = page.get_by_test_id("token-prompt")
        expect(prompt).to_be_visible()
        expect(prompt).to_contain_text("assay serve")
        expect(prompt).to_contain_text("ASSAY_TOKEN")
        assert page.get_by_test_id("token-input").get_attribute("type") == "password"
        expect(page.get_by_test_id("evaluations-table")).to_have_count(0)
        expect(page.get_by_test_id("sign-out")).to_have_count(0)
        shot(page, "access_prompt")

        # A wrong token: the server's detail, nothing kept.
        page.get_by_test_id("token-input").fill("not-the-token")
        page.get_by_test_id("token-submit").click()
        expect(page.get_by_test_id("token-error")).to_contain_text("invalid access token")
        assert stored_token(page) is None
        shot(page, "access_wrong_token")

        # The right one: the list, kept in localStorage.
        page.get_by_test_id("token-input").fill(token)
        page.get_by_test_id("token-submit").click()
        expect(page.get_by_test_id("evaluations-table")).to_contain_text("ROC AUC")
        expect(page.get_by_test_id("token-prompt")).to_have_count(0)
        assert stored_token(page) == token
        expect(page.get_by_test_id("sign-out")).to_be_visible()
        shot(page, "access_signed_in")

        # An evaluation page: its thumbnails (plain <img>, no header) load through the cookie.
        page.goto(f"/#/evaluations/{ids['image']}")
        expect(page.get_by_test_id("eval-title")).to_be_visible()
        expect(page.get_by_test_id("feed-item").first).to_be_visible()
        page.wait_for_function(
            "[...document.querySelectorAll('[data-testid=feed-item] img')]"
            ".some(i => i.complete && i.naturalWidth > 0)",
            timeout=30_000,
        )
        shot(page, "access_evaluation_thumbnails")

        # A reload: not asked again.
        page.reload()
        expect(page.get_by_test_id("eval-title")).to_be_visible()
        expect(page.get_by_test_id("token-prompt")).to_have_count(0)
        page.goto("/#/")
        expect(page.get_by_test_id("evaluations-table")).to_be_visible()

        # Sign out: the cookie and the token go, the prompt comes back (and after a reload too).
        page.get_by_test_id("sign-out").click()
        expect(page.get_by_test_id("token-prompt")).to_be_visible()
        expect(page.get_by_test_id("token-error")).to_have_count(0)
        assert stored_token(page) is None
        # A reload reads the storage Chromium committed: wait until another page of the origin sees
        # the token gone (the change went through the browser process), then reload.
        probe = context.new_page()
        probe.goto("/api/health")
        probe.wait_for_function("localStorage.getItem('assay-token') === null")
        probe.close()
        page.reload()
        expect(page.get_by_test_id("token-prompt")).to_be_visible()
        status = page.evaluate(
            f"fetch('/api/evaluations/{ids['image']}/samples').then(r => r.status)"
        )
        assert status == 401, "the session cookie outlived the sign-out"
        shot(page, "access_signed_out")
        assert not errors, f"JavaScript errors on the page: {errors}"
    finally:
        context.close()


def test_stale_token_asks_again(
    browser: Browser, open_server: tuple[str, str], ids: dict[str, int]
) -> None:
    """A token the server no longer takes (stored, or changed while the page is open): asked again."""
    url, token = open_server
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=url)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        # Stored but wrong: refused at sign-in, cleared, the prompt says why. (Stored before the
        # first document's scripts run: a setItem just before a reload may not be committed yet.)
        context.add_init_script(
            "if (!sessionStorage.getItem('seeded')) {"
            " sessionStorage.setItem('seeded', '1'); localStorage.setItem('assay-token', 'stale-token') }"
        )
        page.goto("/")
        expect(page.get_by_test_id("token-error")).to_contain_text("invalid access token")
        assert stored_token(page) is None

        page.get_by_test_id("token-input").fill(token)
        page.get_by_test_id("token-input").press("Enter")
        expect(page.get_by_test_id("evaluations-table")).to_be_visible()

        # The token goes bad while the page is open: the next API call's 401 brings the prompt back.
        page.evaluate("localStorage.setItem('assay-token', 'changed-meanwhile')")
        page.goto(f"/#/evaluations/{ids['detection']}")
        expect(page.get_by_test_id("token-prompt")).to_be_visible()
        expect(page.get_by_test_id("token-error")).to_contain_text("invalid access token")
        assert stored_token(page) is None
        shot(page, "access_token_revoked")

        page.get_by_test_id("token-input").fill(token)
        page.get_by_test_id("token-submit").click()
        expect(page.get_by_test_id("eval-title")).to_be_visible()
    finally:
        context.close()
