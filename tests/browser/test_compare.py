"""The compare page in the browser: the demo's INT8 digits model against its FP32 parent, opened
from the Models page ("Compare with parent") and from two evaluations picked in the list."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENS, settle

pytestmark = pytest.mark.browser


def test_compare_with_parent_opens_the_int8_against_fp32(page: Page, ids: dict[str, int]) -> None:
    page.goto("/#/models")
    digits = page.locator("[data-testid=model-card][data-model=digits-mlp]")
    int8 = digits.locator("[data-testid=version-row][data-version=int8]")
    expect(int8.get_by_test_id("parent")).to_have_text("parent: fp32")
    int8.get_by_test_id("compare-with-parent").click()
    expect(page.get_by_test_id("compare-page")).to_be_visible()
    assert f"a={ids['image']}&b={ids['image_int8']}" in page.url
    expect(page.get_by_test_id("compare-page")).to_contain_text("Handwritten digits (MLP, INT8)")
    verdicts = page.get_by_test_id("verdict")
    expect(verdicts).to_have_count(3)
    expect(verdicts.first).to_contain_text("accuracy")
    accuracy = page.locator("[data-testid=compare-metric][data-metric=accuracy]")
    expect(accuracy).to_contain_text("McNemar exact")
    expect(page.get_by_test_id("confusion-difference")).to_be_visible()
    page.get_by_test_id("feed-changes").click()
    rows = page.get_by_test_id("changed-sample")
    expect(rows.first).to_be_visible()
    settle(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "compare_int8_fp32.png"), full_page=True)
    rows.first.get_by_role("link", name="B").click()
    expect(page.get_by_test_id("sample-view")).to_be_visible()
    expect(page.get_by_test_id("eval-title")).to_contain_text("INT8")


def test_two_evaluations_picked_in_the_list_open_the_compare_page(
    page: Page, ids: dict[str, int]
) -> None:
    page.goto("/")
    rows = page.get_by_test_id("evaluation-row")
    expect(rows.first).to_be_visible()
    for key in ("image", "image_int8"):
        page.locator(
            f"[data-testid=evaluation-row]:has(a[href='#/evaluations/{ids[key]}'])"
        ).get_by_test_id("pick-evaluation").check()
    expect(page.get_by_test_id("evaluations-page")).to_be_visible()  # picking opens no row
    page.get_by_test_id("compare-picked").click()
    expect(page.get_by_test_id("compare-page")).to_be_visible()
    assert f"a={ids['image']}&b={ids['image_int8']}" in page.url
    # A pair of evaluations of different data is refused with the server's one line
    page.goto(f"/#/compare?a={ids['image']}&b={ids['text']}")
    expect(page.locator("body")).to_contain_text("compare evaluations of the same data")
