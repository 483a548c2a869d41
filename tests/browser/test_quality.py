"""The data-quality page in the browser, on the demo's image evaluation: opened from the
evaluation page's "Data quality" link, a progress bar or the report, the importance chart and
table, the performance chart following the property picker, and an explorer sample opening the
evaluation's sample view."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENS, settle

pytestmark = pytest.mark.browser


def test_quality_page_of_the_image_evaluation(page: Page, ids: dict[str, int]) -> None:
    evaluation = ids["image"]
    page.goto(f"/#/evaluations/{evaluation}")
    page.get_by_test_id("quality-link").click()
    assert page.url.endswith(f"#/evaluations/{evaluation}/quality")
    report = page.locator("[data-testid=quality-page][data-status=ready]")
    expect(report).to_be_visible(timeout=180_000)  # computing the properties the first time
    expect(page.get_by_test_id("quality-title")).to_have_text("Data quality")
    expect(page.get_by_test_id("quality-back")).to_contain_text("Handwritten digits")

    # importance: a chart and a ranked table of the image properties
    expect(page.get_by_test_id("importance-chart")).to_be_visible()
    rows = page.get_by_test_id("importance-row")
    expect(rows.first).to_be_visible()
    names = rows.evaluate_all("rs => rs.map(r => r.dataset.property)")
    assert {"brightness", "contrast", "sharpness", "uniqueness"} <= set(names)

    # performance by property: the chart follows the picker
    wrap = page.get_by_test_id("bins-chart-wrap")
    expect(wrap).to_have_attribute("data-property", names[0])
    other = next(n for n in ("contrast", "brightness") if n != names[0])
    page.get_by_test_id("bins-property").select_option(other)
    expect(wrap).to_have_attribute("data-property", other)
    expect(page.get_by_test_id("bins-chart")).to_have_attribute(
        "data-series", "samples|band-low|95% interval|Accuracy"
    )
    page.get_by_test_id("bins-class").select_option("3")
    expect(wrap).to_have_attribute("data-label", "3")
    expect(page.get_by_test_id("bins-chart")).to_have_attribute(
        "data-series", "samples|band-low|95% interval|TPR (recall)"
    )

    # the explorer: the model's errors by the property, each opening the sample view
    items = page.get_by_test_id("explore-item")
    expect(items.first).to_be_visible()
    outcomes = set(items.evaluate_all("xs => xs.map(x => x.dataset.outcome)"))
    assert outcomes <= {"incorrect", "below_threshold"}, outcomes
    expect(page.get_by_test_id("quality-duplicates")).to_be_visible()
    expect(page.get_by_test_id("quality-label-issues")).to_be_visible()
    settle(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "quality_image.png"), full_page=True)

    index = items.first.get_attribute("data-index")
    items.first.click()
    expect(page.get_by_test_id("sample-view")).to_be_visible()
    assert page.url.endswith(f"#/evaluations/{evaluation}?sample={index}")


def test_quality_page_of_a_text_evaluation_and_a_missing_one(
    page: Page, ids: dict[str, int]
) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.goto(f"/#/evaluations/{ids['text']}/quality")
    expect(page.locator("[data-testid=quality-page][data-status=ready]")).to_be_visible(
        timeout=180_000
    )
    expect(page.get_by_test_id("quality-page")).to_contain_text(
        "text sets have no image properties"
    )
    names = page.get_by_test_id("importance-row").evaluate_all(
        "rs => rs.map(r => r.dataset.property)"
    )
    assert "oov_share" in names and "brightness" not in names
    expect(page.get_by_test_id("explore-item").first).to_be_visible()
    settle(page)
    page.screenshot(path=str(SCREENS / "quality_text.png"), full_page=True)
    page.goto("/#/evaluations/99999/quality")
    expect(page.get_by_test_id("empty-state")).to_contain_text("Evaluation not found")


def test_the_feed_marks_possible_label_errors_once_the_analysis_is_ready(
    page: Page, ids: dict[str, int]
) -> None:
    evaluation = ids["image"]
    page.goto(f"/#/evaluations/{evaluation}")
    page.get_by_test_id("feed-errors-only").check()
    expect(page.get_by_test_id("feed-item").first).to_be_visible()
    # the data-quality page computes (or finds) the analysis; the feed then shows its marks,
    # also when its samples were loaded before the analysis was ready
    page.get_by_test_id("quality-link").click()
    expect(page.locator("[data-testid=quality-page][data-status=ready]")).to_be_visible(
        timeout=180_000
    )
    page.go_back()
    pills = page.get_by_test_id("feed-label-error")
    expect(pills.first).to_be_visible()
    expect(pills.first).to_have_attribute("title", re.compile("confident in another class"))
    flagged: set[int] = set()
    while True:  # every likely label error of the evaluation, page by page
        url = f"/api/evaluations/{evaluation}/quality/label-issues?limit=200&offset={len(flagged)}"
        answer = page.request.get(url)
        assert answer.ok
        flagged |= {r["index"] for r in answer.json()["items"]}
        if len(flagged) >= answer.json()["total"]:
            break
    assert flagged
    cards = page.locator("[data-testid=feed-item]:has([data-testid=feed-label-error])")
    marked = {int(i) for i in cards.evaluate_all("cs => cs.map(c => c.dataset.index)")}
    assert marked and marked <= flagged
    unmarked = page.locator("[data-testid=feed-item]:not(:has([data-testid=feed-label-error]))")
    shown = {int(i) for i in unmarked.evaluate_all("cs => cs.map(c => c.dataset.index)")}
    assert not shown & flagged
    settle(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "feed_label_errors.png"), full_page=True)
    # the sample view says it too, with a way to the data-quality page
    cards.first.click()
    view = page.get_by_test_id("sample-view")
    expect(view.get_by_test_id("sample-label-error")).to_be_visible()
    expect(view.get_by_test_id("sample-label-check").get_by_role("link")).to_have_attribute(
        "href", f"#/evaluations/{evaluation}/quality"
    )
    settle(page)
    page.screenshot(path=str(SCREENS / "sample_label_error.png"))


def test_a_training_set_can_be_checked_for_leakage(page: Page, ids: dict[str, int]) -> None:
    page.goto(f"/#/evaluations/{ids['text']}/quality")
    expect(page.get_by_test_id("quality-page")).to_have_attribute(
        "data-status", "ready", timeout=120_000
    )
    picker = page.get_by_test_id("quality-train")
    # the sets this one can take (text classification) are offered: the demo's TREC training split
    options = picker.locator("option")
    expect(picker).to_be_visible()
    expect(options.nth(1)).to_be_attached()
    texts = options.all_inner_texts()
    train = next(i for i, t in enumerate(texts) if "trec-questions-train" in t)
    picker.select_option(index=train)
    expect(page.get_by_test_id("quality-page")).to_have_attribute(
        "data-status", "ready", timeout=120_000
    )
    # questions that appear word for word in both splits are listed as leakage
    leakage = page.get_by_test_id("quality-leakage")
    expect(leakage).to_contain_text("Leakage from training set")
    expect(leakage.locator("tbody tr").first).to_be_visible()
    settle(page)
    page.screenshot(path=str(SCREENS / "quality_leakage.png"), full_page=True)


def test_quality_view_is_in_the_url_reload_keeps_it_back_undoes_it(
    page: Page, ids: dict[str, int]
) -> None:
    """The property, the bins, the class and the explorer's filters live in the URL: a reload
    reopens the same view, and each Back undoes one change."""
    evaluation = ids["image"]
    page.goto(f"/#/evaluations/{evaluation}/quality")
    ready = page.locator("[data-testid=quality-page][data-status=ready]")
    expect(ready).to_be_visible(timeout=180_000)
    wrap = page.get_by_test_id("bins-chart-wrap")
    first = page.get_by_test_id("importance-row").first.get_attribute("data-property")
    expect(wrap).to_have_attribute("data-property", first or "")
    other = next(n for n in ("contrast", "brightness") if n != first)
    page.get_by_test_id("bins-property").select_option(other)
    expect(page).to_have_url(re.compile(f"property={other}"))
    page.get_by_test_id("bins-count").select_option("5")
    expect(page).to_have_url(re.compile(r"bins=5"))
    page.get_by_test_id("bins-class").select_option("3")
    expect(page).to_have_url(re.compile(r"class=3"))
    outcome = page.get_by_test_id("explore-outcome")
    outcome.get_by_role("tab", name="All").click()
    expect(page).to_have_url(re.compile(r"outcome=all"))
    page.get_by_test_id("explore-order-asc").click()
    expect(page).to_have_url(re.compile(r"order=asc"))

    page.reload()
    expect(ready).to_be_visible(timeout=60_000)
    expect(wrap).to_have_attribute("data-property", other)
    expect(wrap).to_have_attribute("data-label", "3")
    expect(page.get_by_test_id("bins-count")).to_have_value("5")
    expect(page.get_by_test_id("explore-property")).to_have_value(other)
    expect(outcome.get_by_role("tab", name="All")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("explore-order-asc")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("explore-count")).to_contain_text("lowest first")
    settle(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "quality_url_state.png"), full_page=True)

    page.go_back()  # the order
    expect(page.get_by_test_id("explore-order-desc")).to_have_attribute("aria-selected", "true")
    page.go_back()  # the outcome filter: back to the errors
    expect(outcome.get_by_role("tab", name="Incorrect")).to_have_attribute("aria-selected", "true")
    page.go_back()  # the class
    expect(wrap).to_have_attribute("data-label", "")
    page.go_back()  # the bins
    expect(page.get_by_test_id("bins-count")).to_have_value("10")
    page.go_back()  # the property
    expect(wrap).to_have_attribute("data-property", first or "")
    assert page.url.endswith(f"#/evaluations/{evaluation}/quality")
