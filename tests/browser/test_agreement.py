"""The agreement page (two runs compared without labels) on the demo's FP32 digits model and its
INT8 child: the headline numbers, a flip-matrix cell opening its samples in the per-sample table,
sorting, a row opening both models' scores; and the demo's detector pair with one image's boxes
drawn for both."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENS, settle

pytestmark = pytest.mark.browser


def test_classification_agreement_flip_cell_table_and_sample(
    page: Page, ids: dict[str, int]
) -> None:
    page.goto(f"/#/agreement?a={ids['image']}&b={ids['image_int8']}")
    expect(page.get_by_test_id("agreement-page")).to_be_visible()
    expect(page.get_by_test_id("stat-agreement")).to_contain_text("% CI")
    expect(page.get_by_test_id("stat-kappa")).to_contain_text(re.compile(r"\d\.\d{3}"))
    cells = page.get_by_test_id("flip-cell")
    n = cells.count()
    k = int(n**0.5)
    assert k * k == n and k >= 2
    total = sum(int(cells.nth(i).inner_text()) for i in range(n))
    expect(page.get_by_test_id("agreement-samples")).to_contain_text(f"({total})")
    # the fullest cell off the diagonal (a flip), else the fullest on it
    counts = [(int(cells.nth(i).inner_text()), i) for i in range(n)]
    off = [c for c in counts if c[1] // k != c[1] % k and c[0] > 0]
    count, at = max(off) if off else max(counts)
    cells.nth(at).click()
    expect(page.get_by_test_id("agreement-samples")).to_contain_text(f"({count})")
    rows = page.get_by_test_id("agreement-row")
    expect(rows).to_have_count(min(count, 50))
    a_class = cells.nth(at).get_attribute("data-a")
    b_class = cells.nth(at).get_attribute("data-b")
    expect(rows.first.locator("td").nth(2)).to_have_text(a_class or "")
    expect(rows.first.locator("td").nth(4)).to_have_text(b_class or "")
    page.get_by_test_id("clear-cell").click()
    page.get_by_test_id("sort-rank").click()
    expect(page.get_by_test_id("sort-rank")).to_have_attribute("aria-sort", "descending")
    ranks = [int(rows.nth(i).locator("td").nth(6).inner_text()) for i in range(5)]
    assert ranks == sorted(ranks, reverse=True), ranks
    settle(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "agreement_classification.png"), full_page=True)
    rows.first.click()
    modal = page.get_by_test_id("agreement-sample")
    expect(modal).to_be_visible()
    expect(modal.get_by_test_id("agreement-score-row")).to_have_count(k)
    settle(page)
    page.screenshot(path=str(SCREENS / "agreement_sample.png"), full_page=True)


def test_detection_agreement_draws_both_models_boxes(page: Page, ids: dict[str, int]) -> None:
    page.goto(f"/#/agreement?a={ids['detection']}&b={ids['detection_int8']}")
    expect(page.get_by_test_id("agreement-page")).to_be_visible()
    expect(page.get_by_test_id("stat-matched")).to_contain_text("IoU ≥ 0.5")
    rows = page.get_by_test_id("agreement-image-row")
    if rows.count() == 0:  # the two agree on every image: say so
        expect(page.get_by_test_id("agreement-images")).to_be_visible()
        pytest.fail("the demo's detector pair agrees everywhere: nothing to draw")
    rows.first.click()
    modal = page.get_by_test_id("agreement-image")
    expect(modal.get_by_test_id("agreement-drawn")).to_have_count(2)
    boxes = modal.get_by_test_id("agreement-box")
    expect(boxes.first).to_be_attached()
    statuses = {boxes.nth(i).get_attribute("data-status") for i in range(boxes.count())}
    assert statuses <= {"agreed", "flip", "only_a", "only_b"} and statuses - {"agreed"}, statuses
    settle(page)
    page.screenshot(path=str(SCREENS / "agreement_detection.png"), full_page=True)


def test_runs_on_other_data_say_so_in_one_line(page: Page, ids: dict[str, int]) -> None:
    page.goto(f"/#/agreement?a={ids['image']}&b={ids['text']}")
    error = page.get_by_test_id("error-state")
    expect(error).to_contain_text("agreement needs two runs on the same data")


def test_models_page_compares_a_child_with_its_parent_on_a_dataset(
    page: Page, ids: dict[str, int]
) -> None:
    page.goto("/#/models")
    row = page.locator("[data-testid=version-row][data-version=int8]").filter(
        has=page.get_by_test_id("parent")
    )
    child = row.first
    child.get_by_test_id("compare-parent-on").click()
    form = child.get_by_test_id("compare-parent-form")
    expect(form).to_be_visible()
    expect(form.get_by_test_id("compare-parent-dataset")).to_contain_text("both ran")
    settle(page)
    page.screenshot(path=str(SCREENS / "models_compare_with_parent.png"), full_page=True)
    form.get_by_test_id("open-agreement").click()
    expect(page.get_by_test_id("agreement-page")).to_be_visible()
    expect(page.get_by_test_id("stat-agreement")).to_be_visible()


def test_compare_with_parent_runs_what_is_missing(page: Page, ids: dict[str, int]) -> None:
    """Runs two Calculate jobs in the shared workspace: the evaluations they store are deleted
    again at the end, so the tests after this one see the seeded workspace."""
    before = {e["id"] for e in page.request.get("/api/evaluations").json()["items"]}
    try:
        _compare_with_parent(page)
    finally:
        for e in page.request.get("/api/evaluations").json()["items"]:
            if e["id"] not in before:
                assert page.request.delete(f"/api/evaluations/{e['id']}").status == 204


def _compare_with_parent(page: Page) -> None:
    page.goto("/#/models")
    child = (
        page.locator("[data-testid=version-row][data-version=int8]")
        .filter(has=page.get_by_test_id("parent"))
        .first
    )
    child.get_by_test_id("compare-parent-on").click()
    form = child.get_by_test_id("compare-parent-form")
    picker = form.get_by_test_id("compare-parent-dataset")
    options = picker.locator("option")
    fresh = [
        options.nth(i).get_attribute("value")
        for i in range(options.count())
        if "both ran" not in options.nth(i).inner_text()
    ]
    assert fresh, "the demo has no dataset version neither ran on"
    picker.select_option(fresh[0])
    run = form.get_by_test_id("compare-parent-run")
    expect(run).to_contain_text("Run fp32 and int8, then compare")
    run.click()
    expect(form.get_by_test_id("open-agreement")).to_be_visible(timeout=120_000)
    form.get_by_test_id("open-agreement").click()
    expect(page.get_by_test_id("stat-agreement")).to_contain_text("% CI")
