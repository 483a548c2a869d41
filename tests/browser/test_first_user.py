"""What a first user trips over (issue D): plain score tables, multi-label, long class names,
detection with images, conventions under the numbers, and the view kept in the URL."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from .conftest import DETECTION_CLASSES, TABLE_CLASSES
from .test_ui import feed_total, open_eval, shot

pytestmark = pytest.mark.browser


def api_get(server_url: str, path: str) -> dict:
    with urllib.request.urlopen(f"{server_url}{path}") as r:
        answer: dict = json.load(r)
    return answer


def no_broken_images(page: Page) -> None:
    """Every <img> on the page has a source and loaded (no broken-image icon anywhere)."""
    broken = page.evaluate(
        "[...document.images].filter(i => !i.getAttribute('src') || (i.complete && i.naturalWidth === 0)).length"
    )
    assert broken == 0


def test_plain_table_shows_ids_and_metadata(page: Page, ids: dict[str, int]) -> None:
    open_eval(page, ids["table"])
    items = page.get_by_test_id("feed-item")
    expect(items.first).to_be_visible()
    # Feed rows carry the sample's id and its metadata, never "#0" nor an image.
    first_id = items.first.get_by_test_id("feed-item-id")
    expect(first_id).to_have_text(re.compile(r"^rec-\d{4}$"))
    expect(items.first).to_contain_text("site=")
    assert "#0" not in items.first.inner_text()
    assert page.locator("img").count() == 0
    items.first.click()
    view = page.get_by_test_id("sample-view")
    expect(view.get_by_test_id("sample-id")).to_contain_text("rec-")
    meta = view.get_by_test_id("sample-metadata")
    expect(meta).to_contain_text("site")
    expect(meta).to_contain_text("camera_height_m")
    expect(view.get_by_test_id("prob-bar")).to_have_count(len(TABLE_CLASSES))
    assert view.locator("img").count() == 0
    no_broken_images(page)
    shot(page, "plain_table_sample")


def test_plain_table_conventions_and_long_names(
    page: Page, ids: dict[str, int], server_url: str
) -> None:
    open_eval(page, ids["table"])
    # Accuracy at the threshold next to top-1 (argmax); macro averages say over how many classes
    # (the last class is never predicted: its precision is undefined).
    expect(page.get_by_test_id("metric-accuracy-sub")).to_contain_text("top-1 (argmax)")
    over = api_get(server_url, f"/api/evaluations/{ids['table']}")["summary"]["macro_over"]
    for key, of in (("macro_precision", "precision"), ("macro_recall", "recall")):
        expect(page.get_by_test_id(f"metric-{key}-sub")).to_contain_text(
            f"macro over {over[of]} of 5 classes"
        )
    # scikit-learn's default average counts the class never predicted as precision 0, and says so
    expect(page.get_by_test_id("metric-macro_precision-sub")).to_contain_text(
        "1 never predicted: precision 0 for them"
    )
    expect(page.get_by_test_id("metric-top_k")).to_contain_text("top-3")
    # Long names sharing a prefix stay apart in the matrix (full name on hover).
    cm = page.get_by_test_id("confusion-matrix")
    heads = cm.locator("th.cm-col")
    expect(heads.first).to_be_visible()
    shown = [heads.nth(i).inner_text().strip() for i in range(heads.count())]
    titles = [heads.nth(i).get_attribute("title") for i in range(heads.count())]
    assert len(set(shown)) == len(shown), shown
    assert set(TABLE_CLASSES) <= set(titles), titles
    assert "Below threshold" in titles
    # The matrix fills its panel.
    table = cm.locator("table.cm").bounding_box()
    body = page.get_by_test_id("confusion").locator(".panel-body").bounding_box()
    assert table and body and table["width"] >= 0.85 * body["width"], (table, body)
    # A row-% cell with a real count never reads 0: one sample of 250 is "<1%".
    page.get_by_test_id("cm-mode-true").click()
    small = cm.locator(
        f"[data-testid=cm-cell][data-actual='{TABLE_CLASSES[0]}'][data-predicted='{TABLE_CLASSES[2]}']"
    )
    expect(small).to_have_attribute("data-count", "1")
    expect(small).to_have_text("<1%")
    # TP / FP / FN in that order in the per-class table.
    headers = page.get_by_test_id("per-class-table").locator("thead th")
    texts = [headers.nth(i).inner_text().strip().rstrip("▲▼") for i in range(headers.count())]
    assert texts.index("TP") < texts.index("FP") < texts.index("FN"), texts
    # The feed says "Below threshold" as the matrix does.
    page.get_by_test_id("feed-predicted").select_option("Below threshold")
    expect(page.get_by_test_id("feed-count")).to_have_attribute("data-total", "2")
    expect(page.get_by_test_id("feed-item").first).to_contain_text("Below threshold")
    shot(page, "plain_table_page")


def test_per_class_table_fits_a_narrow_window(page: Page, ids: dict[str, int]) -> None:
    page.set_viewport_size({"width": 820, "height": 900})
    open_eval(page, ids["table"])
    table = page.get_by_test_id("per-class-table")
    expect(table.get_by_test_id("class-row").first).to_be_visible()
    panel = page.get_by_test_id("per-class").bounding_box()
    assert panel and panel["x"] + panel["width"] <= 820
    # The last column is reachable: the table scrolls inside its panel rather than being cut off.
    last = table.locator("thead th").last
    last.scroll_into_view_if_needed()
    box = last.bounding_box()
    assert box and box["x"] + box["width"] <= 820 + 1, box
    shot(page, "per_class_820px")


def test_multilabel_page_has_matrix_and_cards(page: Page, ids: dict[str, int]) -> None:
    open_eval(page, ids["multilabel"])
    expect(page.get_by_test_id("metric-accuracy")).to_contain_text("Subset accuracy")
    expect(page.get_by_test_id("metric-hamming_loss-value")).to_have_text(re.compile(r"^0\.\d{3}$"))
    cm = page.get_by_test_id("confusion-matrix")
    expect(cm).to_be_visible()
    expect(cm.locator("[data-testid=cm-cell]").first).to_be_visible()
    cell = cm.locator("[data-testid=cm-cell].cm-nonzero").first
    cell.click()
    expect(page.get_by_test_id("feed-filter-summary")).to_be_visible()
    assert feed_total(page) > 0
    expect(page.get_by_test_id("feed-item").first).to_be_visible()
    shot(page, "multilabel_page")


def test_intervals_arrive_with_the_page(page: Page, ids: dict[str, int], server_url: str) -> None:
    detail = api_get(server_url, f"/api/evaluations/{ids['image']}")
    intervals = detail.get("intervals") or {}
    open_eval(page, ids["image"])
    shown = 0
    for key in ("accuracy", "macro_precision", "macro_recall", "macro_f1", "roc_auc_macro"):
        if intervals.get(key):
            expect(page.get_by_test_id(f"metric-{key}-ci")).to_contain_text("95% CI")
            shown += 1
    assert shown >= 4, intervals
    expect(page.get_by_test_id("highlights")).not_to_contain_text("computing interval")


def test_curves_draw_recall_once_and_the_operating_point(page: Page, ids: dict[str, int]) -> None:
    open_eval(page, ids["image"])
    chart = page.get_by_test_id("curve-chart")
    # at the argmax no score threshold applies to a one-vs-rest curve: no operating point
    expect(chart).to_have_attribute("data-series", "ROC|Chance")
    page.get_by_test_id("threshold-slider-value").fill("0.5")
    expect(chart).to_have_attribute("data-series", re.compile("Operating point"))
    page.get_by_test_id("curve-kind-pr").click()
    expect(chart).to_have_attribute("data-series", re.compile("Precision–recall.*Operating point"))
    page.get_by_test_id("curve-kind-threshold").click()
    expect(chart).to_have_attribute("data-series", "Precision|Recall (= TPR)|FPR")
    shot(page, "threshold_curves")


def test_view_lives_in_the_url(page: Page, ids: dict[str, int]) -> None:
    open_eval(page, ids["image"])
    page.get_by_test_id("threshold-slider-value").fill("0.8")
    expect(page).to_have_url(re.compile(r"t=0\.8"))
    cell = page.locator("[data-testid=cm-cell].cm-nonzero").first
    actual = cell.get_attribute("data-actual") or ""
    cell.click()
    expect(page).to_have_url(re.compile(r"actual="))
    page.get_by_test_id("feed-item").first.click()
    expect(page.get_by_test_id("sample-view")).to_be_visible()
    expect(page).to_have_url(re.compile(r"sample=\d+"))
    # A link reopens the same view.
    other = page.context.new_page()
    try:
        other.goto(page.url)
        expect(other.get_by_test_id("sample-view")).to_be_visible()
        expect(other.get_by_test_id("feed-filter-summary")).to_contain_text(f"actual: {actual}")
        expect(other.get_by_test_id("threshold-slider-value")).to_have_value("0.8")
    finally:
        other.close()
    # Back closes the sample, then drops the cell filter; the threshold stays.
    page.go_back()
    expect(page.get_by_test_id("sample-view")).to_have_count(0)
    expect(page.get_by_test_id("feed-filter-summary")).to_contain_text(f"actual: {actual}")
    page.go_back()
    expect(page.get_by_test_id("feed-filter-summary")).to_have_count(0)
    expect(page.get_by_test_id("threshold-slider-value")).to_have_value("0.8")
    page.go_back()
    expect(page.get_by_test_id("threshold-slider-value")).to_have_value("0")  # the argmax


def test_detection_with_images(page: Page, ids: dict[str, int], server_url: str) -> None:
    eid = ids["detection_images"]
    open_eval(page, eid)
    items = page.get_by_test_id("feed-item")
    expect(items.first).to_be_visible()
    # Thumbnails draw the boxes; the count badges say what they count.
    expect(items.first.get_by_test_id("thumb-boxes")).to_be_attached()
    chips = items.first.locator(".chip")
    assert [chips.nth(i).inner_text().split()[0] for i in range(3)] == ["TP", "FP", "FN"]
    # A matrix cell counts boxes; its feed says how many boxes in how many images.
    cells = page.locator(
        "[data-testid=cm-cell].cm-nonzero:not([data-actual='Not an object'])"
        ":not([data-predicted='Not detected'])"
    )
    expect(cells.first).to_be_visible()
    best = max(
        range(cells.count()), key=lambda i: int(cells.nth(i).get_attribute("data-count") or 0)
    )
    cell = cells.nth(best)
    boxes = int(cell.get_attribute("data-count") or "0")
    cell.click()
    count = page.get_by_test_id("feed-count")
    expect(count).to_have_attribute("data-boxes", str(boxes))
    images = feed_total(page)
    expect(count).to_have_text(
        f"{boxes} box{'es' if boxes != 1 else ''} in {images} image{'s' if images != 1 else ''}"
    )
    # Long class names keep their distinguishing end in the matrix.
    heads = page.get_by_test_id("confusion-matrix").locator("th.cm-col")
    shown = {
        heads.nth(i).get_attribute("title"): heads.nth(i).inner_text() for i in range(heads.count())
    }
    for name in DETECTION_CLASSES:
        assert name.rsplit("/", 1)[-1] in shown[name], shown
    # Box labels stay inside the image.
    items.first.click()
    view = page.get_by_test_id("image-view")
    img = view.get_by_test_id("det-image")
    expect(img).to_be_visible()
    page.wait_for_function("[...document.images].every(i => i.complete)")
    frame = img.bounding_box()
    labels = view.get_by_test_id("box-label")
    assert frame and labels.count() > 0
    for i in range(labels.count()):
        b = labels.nth(i).bounding_box()
        assert b is not None
        assert (
            b["x"] >= frame["x"] - 1 and b["x"] + b["width"] <= frame["x"] + frame["width"] + 1
        ), (b, frame)
        assert (
            b["y"] >= frame["y"] - 1 and b["y"] + b["height"] <= frame["y"] + frame["height"] + 1
        ), (b, frame)
    no_broken_images(page)
    shot(page, "detection_images_view")


def test_slider_drag_is_one_history_step(page: Page, ids: dict[str, int]) -> None:
    open_eval(page, ids["text"])
    expect(page.get_by_test_id("class-row").first).to_be_visible()
    before = page.evaluate("history.length")
    slider = page.get_by_test_id("threshold-slider")
    box = slider.bounding_box()
    assert box
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(box["x"] + box["width"] * (0.5 + step * 0.02), y)
        page.wait_for_timeout(15)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"t=0\.[6-9]"))
    assert page.evaluate("history.length") == before + 1
    page.go_back()
    expect(page.get_by_test_id("threshold-slider-value")).to_have_value("0")  # the argmax
    expect(page).not_to_have_url(re.compile(r"t="))


def test_missing_image_files_fall_back_to_the_id(page: Page, ids: dict[str, int]) -> None:
    # Media that fails to load (a file moved after evaluation) shows the sample's name, never a
    # broken-image icon.
    page.route("**/api/samples/*/thumbnail", lambda route: route.fulfill(status=404, body="gone"))
    page.route("**/api/samples/*/media", lambda route: route.fulfill(status=404, body="gone"))
    open_eval(page, ids["image"])
    item = page.get_by_test_id("feed-item").first
    expect(item.get_by_test_id("media-fallback")).to_be_visible()
    assert item.locator("img").count() == 0
    item.click()
    view = page.get_by_test_id("sample-view")
    expect(view.get_by_test_id("sample-image-fallback")).to_be_visible()
    no_broken_images(page)
