"""The standalone report: opened from disk in Chromium with the network cut off, it shows its
headline, tables, matrix, curves and thumbnails with no console error and asks for nothing; and
the UI's "Download report" buttons hand over that file."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENS

pytestmark = pytest.mark.browser


def _open_offline(browser, path: Path, shot: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    page = context.new_page()
    errors: list[str] = []
    asked: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: asked.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
    )
    try:
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        expect(page.locator(".card").first).to_be_visible()
        expect(page.locator("svg").first).to_be_visible()
        # the one script works: a click on a per-class header sorts the table
        page.locator("table.sortable th").first.click()
        assert not errors, errors
        assert not asked, asked
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENS / shot), full_page=True)
        if page.locator("img").count():
            widths = page.locator("img").evaluate_all("els => els.map(e => e.naturalWidth)")
            assert all(w > 0 for w in widths), widths  # every thumbnail decoded
    finally:
        context.close()


def test_the_report_opens_offline_with_no_console_error(
    browser, seeded: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from assay.service.reports import render, stored_report_data
    from assay.store import Workspace

    home, ids = seeded
    ws = Workspace(home)
    try:
        one = stored_report_data(ws, ids["image"], samples=6, intervals=False)
        pair = stored_report_data(ws, ids["image"], compare_to=ids["image_int8"], intervals=False)
        det = stored_report_data(ws, ids["detection"], samples=3, intervals=False)
    finally:
        ws.close()
    assert sum(1 for s in one["samples"] if s["uri"]) == 6
    for data, name in (
        (one, "report_offline"),
        (pair, "report_compare_offline"),
        (det, "report_detection_offline"),
    ):
        path = tmp_path / f"{name}.html"
        path.write_text(render(data), encoding="utf-8")
        _open_offline(browser, path, f"{name}.png")


def test_download_report_buttons(page: Page, ids: dict[str, int], tmp_path: Path) -> None:
    page.goto(f"/#/evaluations/{ids['image']}")
    button = page.get_by_test_id("download-report-html")
    expect(button).to_be_visible()
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == f"assay-report-{ids['image']}.html"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    page.goto(f"/#/compare?a={ids['image']}&b={ids['image_int8']}")
    md = page.get_by_test_id("download-report-md")
    expect(md).to_be_visible()
    href = md.get_attribute("href")
    assert href == f"/api/evaluations/{ids['image']}/report?format=md&compare={ids['image_int8']}"
