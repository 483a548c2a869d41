"""The compare page in the browser: the demo's INT8 digits model against its FP32 parent, opened
from the Models page ("Compare with parent") and from two evaluations picked in the list."""

from __future__ import annotations

import re

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
    expect(accuracy).to_contain_text("Tango score (McNemar)")
    expect(accuracy.get_by_test_id("primary-metric")).to_be_visible()
    expect(page.get_by_test_id("family-note")).to_contain_text(
        "Holm-adjusted across the 8 headline"
    )
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


def test_moving_a_threshold_answers_at_once_then_with_intervals(
    page: Page, ids: dict[str, int]
) -> None:
    page.goto(f"/#/compare?a={ids['image']}&b={ids['image_int8']}")
    expect(page.get_by_test_id("compare-page")).to_be_visible()
    expect(page.get_by_test_id("intervals-pending")).to_have_count(0)
    slider = page.get_by_test_id("slider-b")
    slider.fill("0.9")
    expect(page.get_by_test_id("threshold-b")).to_have_text("0.90")
    expect(page.get_by_test_id("threshold-a")).not_to_have_text("0.90")
    # the quick answer lands first; the intervals follow and the page settles
    expect(page.get_by_test_id("intervals-pending")).to_have_count(0, timeout=30_000)
    accuracy = page.locator("[data-testid=compare-metric][data-metric=accuracy]")
    expect(accuracy).to_contain_text("[")
    page.get_by_test_id("compare-reset").click()
    expect(page.get_by_test_id("threshold-b")).not_to_have_text("0.90")
    # a row opens both models on that sample
    page.get_by_test_id("feed-changes").click()
    page.get_by_test_id("changed-sample").first.click()
    pair = page.get_by_test_id("pair-view")
    expect(pair).to_be_visible()
    expect(pair.get_by_test_id("pair-side-A").get_by_test_id("pair-prob").first).to_be_visible()
    expect(pair.get_by_test_id("pair-side-B").get_by_test_id("pair-prob").first).to_be_visible()
    expect(pair).to_contain_text("INT8")
    settle(page)
    page.screenshot(path=str(SCREENS / "compare_pair_view.png"), full_page=True)


def test_detection_compare_by_class_iou_and_image(page: Page, ids: dict[str, int]) -> None:
    page.goto(f"/#/compare?a={ids['detection_images']}&b={ids['detection_fewer']}")
    view = page.get_by_test_id("compare-page")
    expect(view).to_have_attribute("data-task", "detection")
    expect(page.get_by_test_id("verdict").first).to_contain_text("B is worse on mAP")
    iou_rows = page.get_by_test_id("compare-iou-row")
    expect(iou_rows).to_have_count(10)
    circle = page.get_by_test_id("compare-classes").locator(
        "[title='geometric-primitive/round/circle']"
    )
    expect(circle).to_have_text("…/round/circle")
    # the compare tables are the shared sortable table: a header click sorts its column
    header = page.get_by_test_id("compare-iou").locator("th", has_text="IoU")
    header.click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(iou_rows.first).to_have_attribute("data-label", "0.95")
    header.click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(iou_rows.first).to_have_attribute("data-label", "0.50")
    rows = page.get_by_test_id("changed-image")
    expect(rows.first).to_be_visible()
    settle(page)
    page.screenshot(path=str(SCREENS / "compare_detection.png"), full_page=True)
    rows.first.click()
    pair = page.get_by_test_id("pair-view")
    expect(pair.get_by_test_id("pair-image")).to_have_count(2)
    expect(pair.get_by_test_id("pair-side-A")).to_contain_text("TP")
    settle(page)
    page.screenshot(path=str(SCREENS / "compare_detection_pair.png"), full_page=True)


def test_leaderboard_from_the_list(page: Page, ids: dict[str, int]) -> None:
    page.goto("/")
    row = page.locator(
        f"[data-testid=evaluation-row]:has(a[href='#/evaluations/{ids['image_int8']}'])"
    )
    row.get_by_test_id("leaderboard-link").click()
    board = page.get_by_test_id("leaderboard-page")
    expect(board).to_be_visible()
    rows = page.get_by_test_id("leaderboard-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("best")
    page.get_by_test_id("leaderboard-metric").select_option("log_loss")
    expect(board.get_by_test_id("leaderboard")).to_contain_text("log loss")
    assert "metric=log_loss" in page.url
    settle(page)
    page.screenshot(path=str(SCREENS / "leaderboard.png"), full_page=True)
    rows.nth(1).get_by_role("link", name="compare").click()
    expect(page.get_by_test_id("compare-page")).to_be_visible()


def test_folds_show_as_k_splits(page: Page, ids: dict[str, int]) -> None:
    page.goto(f"/#/evaluations/{ids['folds']}")
    folds = page.get_by_test_id("folds")
    expect(folds).to_contain_text("5 folds")
    expect(folds.get_by_test_id("fold-row")).to_have_count(5)
    expect(folds.get_by_test_id("folds-mean")).to_contain_text("±")
    settle(page)
    folds.screenshot(path=str(SCREENS / "folds.png"))


def test_multilabel_compare(page: Page, ids: dict[str, int]) -> None:
    page.goto(f"/#/compare?a={ids['multilabel']}&b={ids['multilabel_b']}")
    view = page.get_by_test_id("compare-page")
    expect(view).to_have_attribute("data-task", "multilabel")
    expect(page.locator("[data-testid=compare-metric][data-metric=accuracy]")).to_contain_text(
        "subset accuracy"
    )
    expect(page.get_by_test_id("compare-classes")).to_contain_text("person")
    page.get_by_test_id("feed-changes").click()
    page.get_by_test_id("changed-sample").first.click()
    expect(page.get_by_test_id("pair-side-B").get_by_test_id("pair-prob")).to_have_count(4)
    settle(page)
    page.screenshot(path=str(SCREENS / "compare_multilabel.png"), full_page=True)


def test_f1_optimal_is_one_click_away(page: Page, ids: dict[str, int]) -> None:
    """Both sides open at their stored point (the argmax) and move to their F1-optimal threshold
    with one click; the URL keeps it."""
    page.goto(f"/#/compare?a={ids['text']}&b={ids['text_pruned']}")
    expect(page.get_by_test_id("threshold-a")).to_have_text("argmax")
    page.get_by_test_id("compare-optimal").click()
    expect(page).to_have_url(re.compile(r"ta=0\.\d+.*tb=0\.\d+|tb=0\.\d+.*ta=0\.\d+"))
    expect(page.get_by_test_id("threshold-a")).not_to_have_text("argmax")
    page.get_by_test_id("compare-reset").click()
    expect(page.get_by_test_id("threshold-b")).to_have_text("argmax")


def test_a_margin_gives_noninferiority_and_equivalence_verdicts(
    page: Page, ids: dict[str, int]
) -> None:
    """INT8 against FP32 with a margin of 2 points on accuracy: the page asks for it and shows
    the equivalence (TOST) and non-inferiority verdicts and the smallest detectable difference."""
    page.goto(f"/#/compare?a={ids['image']}&b={ids['image_int8']}")
    expect(page.get_by_test_id("compare-page")).to_be_visible()
    expect(page.get_by_test_id("intervals-pending")).to_have_count(0)
    page.get_by_test_id("margin-input").fill("2")
    verdicts = page.get_by_test_id("margin-verdict")
    expect(verdicts).to_have_count(3)
    expect(verdicts.nth(0)).to_contain_text(
        re.compile(r"equivalent to A within ±2 points on accuracy")
    )
    expect(verdicts.nth(1)).to_contain_text("at a margin of 2 points: worst plausible drop")
    expect(verdicts.nth(2)).to_contain_text("Smallest difference detectable on accuracy")
    settle(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "compare_margin.png"), full_page=True)


def test_compare_state_is_in_the_url_reload_keeps_it_back_undoes_it(
    page: Page, ids: dict[str, int]
) -> None:
    """B's threshold, the margin and the feed shown live in the URL: a reload reopens the same
    view, and each Back undoes one change (the slider drag and the margin's typing one step each)."""
    page.goto(f"/#/compare?a={ids['image']}&b={ids['image_int8']}")
    expect(page.get_by_test_id("compare-page")).to_be_visible()
    stored = page.get_by_test_id("threshold-b").inner_text()
    page.get_by_test_id("slider-b").fill("0.9")
    expect(page.get_by_test_id("threshold-b")).to_have_text("0.90")
    expect(page).to_have_url(re.compile(r"tb=0\.9(&|$)"))
    page.get_by_test_id("margin-input").fill("2")
    expect(page).to_have_url(re.compile(r"margin=2(&|$)"))
    expect(page.get_by_test_id("margin-verdict")).to_have_count(3)
    page.get_by_test_id("feed-changes").click()
    expect(page).to_have_url(re.compile(r"feed=changes"))
    expect(page.get_by_test_id("feed-changes")).to_have_class(re.compile(r"\bactive\b"))

    page.reload()
    expect(page.get_by_test_id("threshold-b")).to_have_text("0.90")
    expect(page.get_by_test_id("margin-input")).to_have_value("2")
    expect(page.get_by_test_id("margin-verdict")).to_have_count(3)
    expect(page.get_by_test_id("feed-changes")).to_have_class(re.compile(r"\bactive\b"))
    settle(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "compare_url_state.png"), full_page=True)

    page.go_back()  # the feed
    expect(page).not_to_have_url(re.compile(r"feed="))
    expect(page.get_by_test_id("feed-changes")).not_to_have_class(re.compile(r"\bactive\b"))
    expect(page.get_by_test_id("margin-input")).to_have_value("2")
    page.go_back()  # the margin
    expect(page).not_to_have_url(re.compile(r"margin="))
    expect(page.get_by_test_id("margin-input")).to_have_value("")
    expect(page.get_by_test_id("margin-verdict")).to_have_count(0)
    expect(page.get_by_test_id("threshold-b")).to_have_text("0.90")
    page.go_back()  # the slider
    expect(page).not_to_have_url(re.compile(r"tb="))
    expect(page.get_by_test_id("threshold-b")).to_have_text(stored)
