"""The detection page's error types (TIDE): bars with the API's counts, a class, the per-class
table, and a bar opening the feed's nearest filter at IoU 0.5 and confidence 0."""

from __future__ import annotations

import urllib.parse

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENS, settle
from .test_ui import api_get, open_eval

pytestmark = pytest.mark.browser


def test_error_types_section(page: Page, ids: dict[str, int], server_url: str) -> None:
    eid = ids["detection"]
    base = f"/api/evaluations/{eid}"
    open_eval(page, eid)
    panel = page.get_by_test_id("error-types")
    panel.scroll_into_view_if_needed()
    answer = api_get(server_url, f"{base}/error-types")
    bars = panel.get_by_test_id("error-type")
    expect(bars).to_have_count(6)
    for i, row in enumerate(answer["types"]):
        expect(bars.nth(i)).to_have_attribute("data-count", str(row["count"]))
        expect(bars.nth(i)).to_contain_text(row["name"])
    expect(panel.get_by_test_id("error-special")).to_have_count(2)
    expect(panel.get_by_test_id("error-types-note")).to_contain_text("TIDE's definitions")
    SCREENS.mkdir(parents=True, exist_ok=True)
    settle(page)
    panel.screenshot(path=str(SCREENS / "detection_error_types.png"))

    # one class: the bars show that class's counts
    per_class = api_get(server_url, f"{base}/error-types?per_class=true")["classes"]
    label = per_class[0]["label"]
    panel.get_by_test_id("error-types-class").select_option(label)
    one = api_get(server_url, f"{base}/error-types?label={urllib.parse.quote(label)}")["classes"][0]
    miss = panel.locator("[data-testid=error-type][data-type=miss]")
    expect(miss).to_have_attribute("data-count", str(one["counts"]["miss"]))

    # a type's images: the ones with the most such errors of the class; a name opens the image
    want = api_get(server_url, f"{base}/error-types/miss/images?label={urllib.parse.quote(label)}")
    panel.locator("[data-testid=error-type-examples][data-type=miss]").click()
    listed = panel.get_by_test_id("error-examples")
    expect(listed).to_have_attribute("data-total", str(want["total"]))
    if want["items"]:
        first = listed.get_by_test_id("error-example").first
        expect(first).to_have_attribute("data-index", str(want["items"][0]["index"]))
        first.click()
        expect(page.get_by_test_id("image-view")).to_be_visible()
        page.keyboard.press("Escape")

    # the per-class table on demand
    panel.get_by_test_id("error-types-table-toggle").click()
    expect(panel.get_by_test_id("error-class-row")).to_have_count(len(per_class))

    # a bar opens the feed: this class's undetected boxes at IoU 0.5, confidence 0
    miss.click()
    expect(page.get_by_test_id("feed-filter-summary")).to_contain_text("predicted: Not detected")
    expect(page.get_by_test_id("feed-filter-summary")).to_contain_text(f"actual: {label}")
    q = urllib.parse.urlencode(
        {"actual": label, "predicted": "Not detected", "iou": 0.5, "score": 0}
    )
    feed = api_get(server_url, f"{base}/samples?{q}&limit=1")
    expect(page.get_by_test_id("feed-count")).to_have_attribute("data-total", str(feed["total"]))
    expect(page.get_by_test_id("score-slider-value")).to_have_value("0")
