"""The evaluation page's per-sample table (DL Workbench's report) on the demo's digits model:
predicted class, annotated class, its rank, both confidences and the outcome; sorted and
filtered with the feed's controls, paged, a row opening the sample, and the CSV export."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENS, settle

pytestmark = pytest.mark.browser


def test_the_sample_table_sorts_filters_pages_and_exports(page: Page, ids: dict[str, int]) -> None:
    page.goto(f"/#/evaluations/{ids['image']}")
    page.get_by_test_id("samples-view-table").click()
    table = page.get_by_test_id("sample-table")
    expect(table).to_be_visible()
    rows = page.get_by_test_id("sample-table-row")
    expect(rows).to_have_count(50)
    total = int(page.get_by_test_id("table-total").inner_text().split()[0])
    assert total > 50
    expect(page.get_by_test_id("table-range")).to_have_text(f"1–50 of {total}")
    page.get_by_test_id("table-next").click()
    expect(page.get_by_test_id("table-range")).to_have_text(f"51–{min(100, total)} of {total}")
    # confidence, highest first (the feed's default), then lowest first
    page.get_by_test_id("table-sort-confidence").click()
    expect(page.get_by_test_id("table-sort-confidence")).to_have_attribute("aria-sort", "ascending")
    expect(page.get_by_test_id("table-range")).to_have_text(f"1–50 of {total}")
    cells = rows.evaluate_all("rs => rs.map(r => r.querySelectorAll('td')[3].innerText)")
    conf = [float(c) for c in cells]
    assert conf == sorted(conf), conf
    page.get_by_test_id("table-errors").check()
    # the total changes once the filtered page has come back (the first row, lowest confidence
    # first, may be an error before it does)
    expect(page.get_by_test_id("table-total")).not_to_have_text(re.compile(rf"^{total}\b"))
    expect(rows.first).to_have_attribute("data-outcome", "incorrect")
    errors = int(page.get_by_test_id("table-total").inner_text().split()[0])
    assert 0 < errors < total
    expect(page.get_by_test_id("table-range")).to_have_text(f"1–{min(50, errors)} of {errors}")

    # lowest first, not all equal: each read is one snapshot of the rendered rows (read row by
    # row, a page landing mid-read mixes two pages), again until the filtered page has settled
    def confidences() -> list[float]:
        cells = rows.evaluate_all("rs => rs.map(r => r.querySelectorAll('td')[3].innerText)")
        return [float(c) for c in cells]

    deadline = time.monotonic() + 30
    while True:
        wrong = confidences()
        settled = len(wrong) == min(errors, 50) and wrong == sorted(wrong) and wrong[0] < wrong[-1]
        if settled or time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)
    assert settled, (wrong, page.url)
    ranks = [int(rows.nth(i).locator("td").nth(5).inner_text()) for i in range(min(errors, 10))]
    assert all(r > 1 for r in ranks), ranks  # a wrong top-1 class: the annotated one is not first
    settle(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "sample_table.png"), full_page=True)
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert len(exported) == errors and {r["outcome"] for r in exported} == {"incorrect"}
    assert list(exported[0])[:5] == ["index", "id", "predicted", "confidence", "actual"]
    rows.first.click()
    expect(page.get_by_test_id("sample-view")).to_be_visible()
