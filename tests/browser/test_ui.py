"""The web UI against a seeded workspace: list, classification (image, text) and detection pages."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENS, settle

pytestmark = pytest.mark.browser


def open_eval(page: Page, eval_id: int) -> None:
    page.goto(f"/#/evaluations/{eval_id}")
    expect(page.get_by_test_id("eval-title")).to_be_visible()


def shot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    settle(page)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def api_get(server_url: str, path: str) -> dict:
    with urllib.request.urlopen(f"{server_url}{path}") as r:
        answer: dict = json.load(r)
    return answer


def feed_total(page: Page) -> int:
    count = page.get_by_test_id("feed-count")
    expect(count).not_to_have_attribute("data-total", "")
    return int(count.get_attribute("data-total") or -1)


def test_list_shows_every_evaluation(page: Page, ids: dict[str, int]) -> None:
    page.goto("/")
    rows = page.get_by_test_id("evaluation-row")
    n = len(ids)
    expect(rows).to_have_count(n)
    expect(page.get_by_test_id("evaluations-table")).to_contain_text("ROC AUC")
    expect(page.get_by_test_id("evaluations-table")).to_contain_text("mAP")
    tasks = sorted(rows.nth(i).get_attribute("data-task") or "" for i in range(n))
    # the demo (digits FP32 and INT8, and both again on the digits without labels: prediction
    # runs; TREC: logistic regression, its pruned child, SGD, naive Bayes and its 5-fold CV;
    # shapes FP32 and INT8, and both again on the scenes without boxes: prediction runs; the
    # shape tagger) and the first user's (table and its 5-fold version, two taggers, boxes and
    # fewer boxes)
    assert tasks == ["classification"] * 11 + ["detection"] * 6 + ["multilabel"] * 3, tasks
    # The filter box narrows the list; delete asks for confirmation (cancelled here).
    page.get_by_test_id("eval-filter").fill("zzz-no-such-evaluation")
    expect(rows).to_have_count(0)
    page.get_by_test_id("eval-filter").fill("")
    expect(rows).to_have_count(n)
    rows.first.get_by_test_id("delete-evaluation").click()
    expect(page.get_by_test_id("confirm-delete")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(rows).to_have_count(n)


def test_threshold_changes_per_class_table(
    page: Page, ids: dict[str, int], server_url: str
) -> None:
    open_eval(page, ids["image"])
    expect(page.get_by_test_id("highlights")).to_contain_text("ROC AUC")
    first = page.get_by_test_id("class-row").first
    predicted = first.locator("td[data-col=total_predicted]")
    expect(predicted).not_to_have_text("")
    before = predicted.inner_text()
    f1_before = page.get_by_test_id("metric-macro_f1-value").inner_text()
    page.get_by_test_id("threshold-slider-value").fill("0.95")
    expect(predicted).not_to_have_text(before)
    expect(page.get_by_test_id("metric-macro_f1-value")).not_to_have_text(f1_before)
    assert int(predicted.inner_text()) < int(before)
    # The range input moves with the keyboard too; "Back to optimal" returns to the stored optimum.
    slider = page.get_by_test_id("threshold-slider")
    slider.focus()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_test_id("threshold-slider-value")).to_have_value("0.94")
    expect(predicted).not_to_have_text(before)
    at_094 = predicted.inner_text()
    page.get_by_test_id("back-to-optimal").click()
    expect(page.get_by_test_id("threshold-slider-value")).not_to_have_value("0.94")
    expect(predicted).not_to_have_text(at_094)
    expect(page.get_by_test_id("per-class")).to_have_attribute("data-busy", "false")
    # With another metric chosen, "Back to optimal" lands on the server's optimum for it, and the
    # highlights show the server's summary at that threshold.
    base = f"/api/evaluations/{ids['image']}"
    best = api_get(server_url, f"{base}/optimal?metric=precision")
    page.get_by_test_id("optimize-metric").select_option("precision")
    page.get_by_test_id("back-to-optimal").click()
    t = float(best["threshold"])
    as_js = str(int(t)) if t.is_integer() else repr(t)  # how the page writes the number
    expect(page.get_by_test_id("optimal-note")).to_have_attribute("data-threshold", as_js)
    shown = float(page.get_by_test_id("threshold-slider-value").input_value())
    assert abs(shown - best["threshold"]) < 6e-4, (shown, best)
    at_best = api_get(server_url, f"{base}/summary?threshold={best['threshold']}")
    card = page.get_by_test_id("metric-macro_precision-value")
    precision = at_best["macro_precision"]
    expect(card).to_have_text("—" if precision is None else f"{precision:.3f}")
    # Hovering a highlight explains it.
    page.get_by_test_id("metric-roc_auc_macro").hover()
    expect(page.get_by_test_id("metric-roc_auc_macro").get_by_role("tooltip")).to_be_visible()


def test_confusion_cell_filters_feed(page: Page, ids: dict[str, int]) -> None:
    open_eval(page, ids["image"])
    total_all = feed_total(page)
    cells = page.locator(
        "[data-testid=cm-cell].cm-nonzero:not([data-actual='Below threshold'])"
        ":not([data-predicted='Below threshold'])"
    )
    expect(cells.first).to_be_visible()
    off = [
        i
        for i in range(cells.count())
        if cells.nth(i).get_attribute("data-actual") != cells.nth(i).get_attribute("data-predicted")
    ]
    cell = cells.nth(off[0] if off else 0)
    actual = cell.get_attribute("data-actual") or ""
    predicted = cell.get_attribute("data-predicted") or ""
    count = int(cell.get_attribute("data-count") or "0")
    cell.click()
    expect(page.get_by_test_id("feed-filter-summary")).to_contain_text(f"actual: {actual}")
    shot(page, "confusion_cell_clicked")
    expect(page.get_by_test_id("feed-count")).to_have_attribute("data-total", str(count))
    assert count < total_all
    items = page.get_by_test_id("feed-item")
    expect(items.first).to_be_visible()
    first = items.first.inner_text()
    assert actual in first and predicted in first, first
    # A TP count in the per-class table filters the feed to that class's true positives.
    row = page.get_by_test_id("class-row").first
    tp = int(row.get_by_test_id("count-tp").inner_text())
    row.get_by_test_id("count-tp").click()
    expect(page.get_by_test_id("feed-count")).to_have_attribute("data-total", str(tp))


def test_sample_view_shows_probability_bars(page: Page, ids: dict[str, int]) -> None:
    open_eval(page, ids["image"])
    page.get_by_test_id("feed-errors-only").check()
    item = page.get_by_test_id("feed-item").first
    expect(item).to_be_visible()
    item.click()
    view = page.get_by_test_id("sample-view")
    expect(view).to_be_visible()
    # One bar per class (the demo has few classes, so the per-class table shows every row).
    n_classes = page.get_by_test_id("class-row").count()
    bars = view.get_by_test_id("prob-bar")
    expect(bars).to_have_count(n_classes)
    assert n_classes >= 2
    expect(view.get_by_test_id("sample-predicted")).to_contain_text("confidence")
    expect(view.get_by_test_id("sample-actual")).to_contain_text(re.compile(r"rank \d+"))
    expect(view.get_by_test_id("sample-image")).to_be_visible()


def test_text_evaluation_shows_text_rows(page: Page, ids: dict[str, int]) -> None:
    open_eval(page, ids["text"])
    items = page.get_by_test_id("feed-item")
    expect(items.first).to_be_visible()
    text = items.first.locator(".text-row-text").inner_text()
    assert len(text.split()) >= 2, text
    items.first.click()
    view = page.get_by_test_id("sample-view")
    expect(view.get_by_test_id("sample-text")).to_have_text(text)
    expect(view.get_by_test_id("prob-bar").first).to_be_visible()
    view.get_by_test_id("modal-close").click()
    page.get_by_test_id("curve-kind-calibration").click()
    expect(page.get_by_test_id("curve-chart")).to_be_visible()


def test_detection_counts_filter_feed_by_outcome(
    page: Page, ids: dict[str, int], server_url: str
) -> None:
    open_eval(page, ids["detection"])
    page.get_by_test_id("iou-slider-value").fill("0.5")
    page.get_by_test_id("score-slider-value").fill("0.3")
    table = page.get_by_test_id("ap-table")
    expect(table).to_have_attribute("data-busy", "false")
    base = f"/api/evaluations/{ids['detection']}"
    rows = api_get(server_url, f"{base}/labels?iou=0.5&score=0.3")["items"]
    # The overall P / R / F1 line is the server's summary at (IoU, confidence).
    overall = api_get(server_url, f"{base}/summary?iou=0.5&score=0.3")
    expect(page.get_by_test_id("det-prf")).to_contain_text(
        f"{overall['tp']} TP · {overall['fp']} FP · {overall['fn']} FN"
    )
    for outcome in ("fp", "fn", "tp"):
        row = next(r for r in rows if r[outcome] > 0)
        label = row["label"]
        feed = api_get(
            server_url, f"{base}/samples?label={label}&outcome={outcome}&iou=0.5&score=0.3&limit=1"
        )
        line = page.get_by_test_id("class-row").filter(
            has=page.locator("td[data-col=label]", has_text=re.compile(f"^{re.escape(label)}$"))
        )
        line.get_by_test_id(f"count-{outcome}").click()
        expect(page.get_by_test_id("feed-filter-summary")).to_contain_text(
            f"outcome: {outcome.upper()} of {label}"
        )
        expect(page.get_by_test_id("feed-count")).to_have_attribute(
            "data-total", str(feed["total"])
        )
        item = page.get_by_test_id("feed-item").first
        expect(item).to_be_visible()
        if outcome != "tp":
            assert int(item.get_by_test_id(f"chip-{outcome}").inner_text()) > 0
    shot(page, "detection_outcome_filtered")


def test_detection_iou_slider_and_boxes(page: Page, ids: dict[str, int]) -> None:
    open_eval(page, ids["detection"])
    expect(page.get_by_test_id("coco-summary")).to_contain_text("AP @[.50:.95]")
    cm = page.get_by_test_id("confusion-matrix")
    expect(cm).to_contain_text("Not detected")
    expect(cm).to_contain_text("Not an object")
    prf = page.get_by_test_id("det-prf")
    expect(prf).to_contain_text("TP")
    ap = page.get_by_test_id("pr-ap")
    expect(ap).to_be_visible()
    prf_before, ap_before = prf.inner_text(), ap.inner_text()
    page.get_by_test_id("iou-slider-value").fill("0.9")
    expect(prf).not_to_have_text(prf_before)
    expect(ap).not_to_have_text(ap_before)
    expect(ap).to_contain_text("0.90")
    # A "Not detected" cell filters the image feed to images with a missed object.
    missed = page.locator("[data-testid=cm-cell].cm-nonzero[data-predicted='Not detected']").first
    missed.click()
    expect(page.get_by_test_id("feed-filter-summary")).to_contain_text("predicted: Not detected")
    item = page.get_by_test_id("feed-item").first
    expect(item).to_be_visible()
    assert int(item.get_by_test_id("chip-fn").inner_text()) > 0
    shot(page, "detection_page_filtered")
    item.click()
    view = page.get_by_test_id("image-view")
    expect(view.get_by_test_id("det-image")).to_be_visible()
    boxes = view.get_by_test_id("box")
    expect(boxes.first).to_be_attached()
    assert view.locator("[data-testid=box][data-status=fn]").count() > 0
    pred = view.get_by_test_id("box-list-pred").get_by_test_id("box-item")
    if pred.count():
        pred.first.hover()
        expect(pred.first).to_have_class(re.compile("hover"))


def test_missing_evaluation_says_not_found(page: Page) -> None:
    page.goto("/#/evaluations/987654")
    expect(page.get_by_test_id("empty-state")).to_contain_text("Evaluation not found")
    expect(page.get_by_test_id("breadcrumb")).to_contain_text("Evaluations")


def test_delete_evaluation(page: Page, server_url: str) -> None:
    # A copy of the image evaluation, made through the API, is deleted from the list.
    with urllib.request.urlopen(f"{server_url}/api/evaluations") as r:
        items = json.load(r)["items"]
    params = next(e for e in items if e["task"] == "classification")["params"]
    body = json.dumps({"gt": params["gt"], "pred": params["pred"], "name": "Copy to delete"})
    req = urllib.request.Request(
        f"{server_url}/api/evaluations",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as r:
        job = json.load(r)["job_id"]
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(f"{server_url}/api/jobs/{job}") as r:
            status = json.load(r)
        if status["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert status["status"] == "done", status
    page.goto("/")
    rows = page.get_by_test_id("evaluation-row")
    expect(rows).to_have_count(len(items) + 1)
    page.get_by_test_id("eval-filter").fill("Copy to delete")
    expect(rows).to_have_count(1)
    rows.first.get_by_test_id("delete-evaluation").click()
    page.get_by_test_id("confirm-delete-btn").click()
    expect(page.get_by_test_id("confirm-delete")).to_have_count(0)
    page.get_by_test_id("eval-filter").fill("")
    expect(rows).to_have_count(len(items))


def test_api_down_shows_error_state(page: Page) -> None:
    page.route("**/api/**", lambda route: route.abort())
    page.goto("/")
    expect(page.get_by_test_id("error-state")).to_contain_text("not answering")
