"""Without labels beyond single-label classifiers, and the detection page's table: the demo's
detector and its INT8 child run on the scenes registered without their boxes (prediction runs)
compared by box agreement with one image's boxes drawn for both; two multi-label taggers compared
per class; the detection evaluation's per-image table (sorted, filtered, paged, exported)."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENS, settle

pytestmark = pytest.mark.browser


def _shot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    settle(page)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def test_the_detectors_prediction_runs_by_box_agreement(page: Page, ids: dict[str, int]) -> None:
    a, b = ids["detection_unlabeled"], ids["detection_int8_unlabeled"]
    page.goto(f"/#/agreement?a={a}&b={b}")
    expect(page.get_by_test_id("agreement-page")).to_contain_text("shapes-unlabeled")
    expect(page.get_by_test_id("stat-matched")).to_contain_text("IoU ≥ 0.5")
    summary = page.request.get(f"/api/agreement?a={a}&b={b}").json()
    assert summary["task"] == "detection" and summary["boxes_a"] > 0
    expect(page.get_by_test_id("stat-only-a")).to_contain_text(str(summary["only_a"]))
    rows = page.get_by_test_id("agreement-image-row")
    expect(rows.first).to_contain_text(".png")  # images named by their sample id
    rows.first.click()
    modal = page.get_by_test_id("agreement-image")
    expect(modal.get_by_test_id("agreement-drawn")).to_have_count(2)
    boxes = modal.get_by_test_id("agreement-box")
    expect(boxes.first).to_be_attached()
    statuses = {boxes.nth(i).get_attribute("data-status") for i in range(boxes.count())}
    assert statuses - {"agreed"}, statuses  # the image that changed most shows a change
    _shot(page, "agreement_detection_unlabeled")


def test_two_multilabel_runs_per_class(page: Page, ids: dict[str, int]) -> None:
    a, b = ids["multilabel"], ids["multilabel_b"]
    page.goto(f"/#/agreement?a={a}&b={b}")
    expect(page.get_by_test_id("stat-exact")).to_contain_text("% CI")
    summary = page.request.get(f"/api/agreement?a={a}&b={b}").json()
    assert summary["task"] == "multilabel"
    rows = page.get_by_test_id("agreement-class-row")
    expect(rows).to_have_count(len(summary["classes"]))
    first = summary["per_class"][0]
    expect(rows.first).to_contain_text(first["label"])
    cells = rows.first.locator("td")
    expect(cells.nth(2)).to_have_text(str(first["only_a"]))
    expect(cells.nth(3)).to_have_text(str(first["only_b"]))
    expect(page.get_by_test_id("stat-gained")).to_contain_text(str(summary["gained"]))
    expect(page.get_by_test_id("stat-lost")).to_contain_text(str(summary["lost"]))
    # another threshold: another answer (the blurred tagger's scores sit nearer 0.5)
    page.get_by_test_id("agreement-threshold").fill("0.7")
    expect(page.get_by_test_id("agreement-page")).to_contain_text("from score 0.70")
    later = page.request.get(f"/api/agreement?a={a}&b={b}&threshold=0.7").json()
    assert later["lost"] > 0
    expect(page.get_by_test_id("stat-lost")).to_contain_text(str(later["lost"]))
    changed = page.get_by_test_id("agreement-multilabel-row")
    expect(changed).to_have_count(min(20, later["changed"]))
    expect(changed.first).to_contain_text(later["most_changed"][0]["id"])
    _shot(page, "agreement_multilabel")


def test_the_detection_table_sorts_filters_pages_and_exports(
    page: Page, ids: dict[str, int]
) -> None:
    e = ids["detection"]
    page.goto(f"/#/evaluations/{e}")
    page.get_by_test_id("samples-view-table").click()
    rows = page.get_by_test_id("sample-table-row")
    expect(rows).to_have_count(50)
    total = int(page.get_by_test_id("table-total").inner_text().split()[0])
    assert total == 60
    expect(page.get_by_test_id("table-range")).to_have_text("1–50 of 60")
    page.get_by_test_id("table-next").click()
    expect(page.get_by_test_id("table-range")).to_have_text("51–60 of 60")
    expect(rows).to_have_count(10)
    # most errors first (the feed's default), then by FP, highest first
    page.get_by_test_id("table-sort-fp").click()
    expect(page.get_by_test_id("table-sort-fp")).to_have_attribute("aria-sort", "descending")
    expect(page.get_by_test_id("table-range")).to_have_text("1–50 of 60")
    deadline = time.monotonic() + 15  # read again until the re-sorted page has rendered
    while True:
        fp = [int(rows.nth(i).locator("td").nth(5).inner_text()) for i in range(20)]
        if (fp == sorted(fp, reverse=True) and fp[0] > 0) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)
    assert fp == sorted(fp, reverse=True) and fp[0] > 0, fp
    # each row: #GT = TP + FN, #Pred = TP + FP, a worst error when it has one
    for i in range(5):
        cells = [rows.nth(i).locator("td").nth(k).inner_text() for k in range(9)]
        gt, pred, tp, fp_, fn, errors = (int(c) for c in cells[2:8])
        assert gt == tp + fn and pred == tp + fp_ and errors == fp_ + fn, cells
        assert (cells[8] == "—") == (errors == 0), cells
        if fp_:
            assert re.search(r"(false|detected as) .*\([01]\.\d\d\)", cells[8]), cells
    _shot(page, "detection_table")
    # a class picked: images holding a false positive of it (the outcome it starts from)
    label = page.get_by_test_id("table-label").locator("option").nth(1).get_attribute("value")
    assert label
    page.get_by_test_id("table-label").select_option(label)
    expect(page.get_by_test_id("table-outcome")).to_have_value("fp")
    # fewer than 60 images, each with a false positive (read again until the filter came back)
    deadline = time.monotonic() + 15
    while True:
        shown = int(page.get_by_test_id("table-total").inner_text().split()[0])
        # one snapshot of every row's FP cell: rows read one by one can vanish as the filter lands
        fps = rows.evaluate_all("rs => rs.map((r) => r.querySelectorAll('td')[5]?.innerText ?? '')")
        settled = 0 < shown < 60 and len(fps) == min(shown, 50) and "0" not in fps
        if settled or time.monotonic() > deadline:
            break
        page.wait_for_timeout(300)
    assert settled, (shown, fps)
    page.get_by_test_id("table-errors").check()  # every such image has an error: the same rows
    expect(page.get_by_test_id("table-total")).to_have_text(re.compile(rf"^{shown} images"))
    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    with open(download.value.path(), encoding="utf-8") as f:
        text = f.read()
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == shown and table[0]["worst_error"]
    assert all(int(r["fp"]) + int(r["fn"]) > 0 for r in table)
