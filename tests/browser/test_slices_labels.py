"""The weakest slices on the data-quality page and the per-label page in the browser, on the demo:
a slice row opening its samples; a class of the per-class table opening its label page, whose
TP / FN / FP equal the per-class table's (and follow the slider), with its galleries; the
per-class precision / recall chart sorting and opening another label; a detection label page."""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENS, settle

pytestmark = pytest.mark.browser


def _get(server_url: str, path: str) -> dict:  # type: ignore[type-arg]
    with urllib.request.urlopen(server_url + path, timeout=60) as r:
        return json.loads(r.read())


def _shot(page: Page, name: str) -> None:
    settle(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def test_weakest_slices_section(page: Page, ids: dict[str, int], server_url: str) -> None:
    evaluation = ids["image"]
    page.goto(f"/#/evaluations/{evaluation}/quality")
    expect(page.locator("[data-testid=quality-page][data-status=ready]")).to_be_visible(
        timeout=180_000
    )
    lead = page.get_by_test_id("slices-lead")
    expect(lead).to_be_visible(timeout=60_000)
    answer = _get(server_url, f"/api/evaluations/{evaluation}/quality/slices?max_conditions=3")
    expect(lead).to_have_attribute("data-tried", str(answer["n_tried"]))
    expect(lead).to_have_attribute("data-family", str(answer["n_family"]))
    rows = page.get_by_test_id("slice-row")
    expect(rows).to_have_count(len(answer["slices"]))
    assert answer["slices"], "the demo's digits have slices worse than the rest"
    rows.first.click()
    samples = page.get_by_test_id("slice-samples")
    expect(samples).to_have_attribute("data-total", str(answer["slices"][0]["n"]))
    items = page.get_by_test_id("slice-item")
    expect(items.first).to_be_visible()
    if answer["slices"][0]["n_wrong"]:
        expect(items.first).to_have_attribute("data-outcome", "incorrect")
    _shot(page, "quality_slices")
    # one condition at most: the table follows
    page.get_by_test_id("slices-conditions-1").click()
    expect(samples).to_have_count(0)
    one = _get(server_url, f"/api/evaluations/{evaluation}/quality/slices?max_conditions=1")
    expect(lead).to_have_attribute("data-tried", str(one["n_tried"]))
    # the sample opens in the evaluation's sample view
    rows.first.click()
    href = page.get_by_test_id("slice-item").first.get_attribute("href")
    assert href is not None and href.startswith(f"#/evaluations/{evaluation}?sample=")


def _metric(page: Page, key: str) -> str:
    return page.get_by_test_id(f"label-metric-{key}").locator(".value").inner_text()


def test_label_page_from_the_per_class_table(
    page: Page, ids: dict[str, int], server_url: str
) -> None:
    evaluation = ids["image"]
    page.goto(f"/#/evaluations/{evaluation}?t=0.6")
    link = page.get_by_test_id("class-link").filter(has_text=re.compile(r"^3$"))
    row = page.get_by_test_id("class-row").filter(has=link)
    expect(row).to_be_visible()
    counts = {o: row.locator(f"td[data-col={o}]").inner_text() for o in ("tp", "fp", "fn")}
    row.get_by_test_id("class-link").click()
    expect(page.get_by_test_id("label-page")).to_have_attribute("data-label", "3")
    assert page.url.endswith(f"#/evaluations/{evaluation}/labels/3?t=0.6")
    for o, n in counts.items():
        expect(page.get_by_test_id(f"label-metric-{o}").locator(".value")).to_have_text(n)
    table = _get(server_url, f"/api/evaluations/{evaluation}/labels?threshold=0.6")
    three = next(r for r in table["items"] if r["label"] == "3")
    assert _metric(page, "precision") == f"{three['precision']:.3f}"
    # the galleries: one sample per TP / FN / FP (classification), the TP ones predicted "3"
    for o in ("tp", "fn", "fp"):
        expect(page.get_by_test_id(f"gallery-{o}")).to_have_attribute("data-total", str(three[o]))
    expect(page.get_by_test_id("gallery-tp").get_by_test_id("feed-item").first).to_be_visible()
    _shot(page, "label_page_image")

    # the slider moves every number and gallery
    page.get_by_test_id("label-threshold-value").fill("0.95")
    at = _get(server_url, f"/api/evaluations/{evaluation}/labels?threshold=0.95")
    high = next(r for r in at["items"] if r["label"] == "3")
    expect(page.get_by_test_id("label-metric-fn").locator(".value")).to_have_text(str(high["fn"]))
    expect(page.get_by_test_id("gallery-fn")).to_have_attribute("data-total", str(high["fn"]))
    expect(page.get_by_test_id("label-metric-tp").locator(".value")).to_have_text(str(high["tp"]))

    # a gallery sample opens the sample view; the per-class chart opens another label
    page.get_by_test_id("gallery-tp").get_by_test_id("feed-item").first.click()
    expect(page.get_by_test_id("sample-view")).to_be_visible()
    page.keyboard.press("Escape")
    chart = page.get_by_test_id("per-class-chart")
    page.get_by_test_id("per-class-sort-name").click()
    expect(chart).to_have_attribute("data-sort", "name")
    names = chart.get_by_test_id("per-class-chart-row").evaluate_all(
        "rs => rs.map(r => r.dataset.label)"
    )
    assert names == sorted(names)
    chart.locator("[data-label='8']").click()
    expect(page.get_by_test_id("label-page")).to_have_attribute("data-label", "8")
    assert "t=0.95" in page.url


def test_per_class_chart_on_the_evaluation_page(page: Page, ids: dict[str, int]) -> None:
    evaluation = ids["image"]
    page.goto(f"/#/evaluations/{evaluation}")
    chart = page.get_by_test_id("per-class-chart")
    expect(chart.get_by_test_id("per-class-chart-row")).to_have_count(10)
    # sorted by F1, the weakest class first
    page.get_by_test_id("per-class-sort-recall").click()
    expect(chart).to_have_attribute("data-sort", "recall")
    first = chart.get_by_test_id("per-class-chart-row").first
    label = first.get_attribute("data-label")
    first.click()
    expect(page.get_by_test_id("label-page")).to_have_attribute("data-label", label or "")
    # the confusion matrix's row headers open their label's page too
    page.go_back()
    link = page.get_by_test_id("cm-label-link").first
    name = link.get_attribute("title") or ""
    link.click()
    expect(page.get_by_test_id("label-page")).to_have_attribute("data-label", name.split(":")[0])


def test_detection_label_page(page: Page, ids: dict[str, int], server_url: str) -> None:
    evaluation = ids["detection"]
    detail = _get(server_url, f"/api/evaluations/{evaluation}")
    label = detail["classes"][0]
    page.goto(f"/#/evaluations/{evaluation}/labels/{quote(label, safe='')}")
    expect(page.get_by_test_id("label-page")).to_have_attribute("data-label", label)
    table = _get(server_url, f"/api/evaluations/{evaluation}/labels")
    row = next(r for r in table["items"] if r["label"] == label)
    for o in ("tp", "fn", "fp"):
        expect(page.get_by_test_id(f"label-metric-{o}").locator(".value")).to_have_text(
            f"{row[o]:,}"
        )
    expect(page.get_by_test_id("gallery-tp").get_by_test_id("feed-item").first).to_be_visible()
    _shot(page, "label_page_detection")


def test_unknown_label_says_so(page: Page, ids: dict[str, int]) -> None:
    page.goto(f"/#/evaluations/{ids['image']}/labels/no-such-class")
    expect(page.get_by_text("Label not found")).to_be_visible()
