"""Small defects, each in the browser: the empty workspace names commands that exist; the
breadcrumb follows "Page not found"; confusion cells by keyboard; the compare page's points in the
URL; the leaderboard's scale; the detection page's AP per IoU and Default; the multi-label sample
view's label sets; texts on the compare page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENS, serve, settle

pytestmark = pytest.mark.browser


def _shot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    settle(page)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def _commands() -> set[str]:
    """The commands `assay --help` lists."""
    from typer.main import get_command

    from assay.cli.main import app

    return set(get_command(app).commands)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def empty_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("empty-home")
    with serve(home) as (url, _log):
        yield url


def test_the_empty_workspace_names_commands_that_exist(page: Page, empty_url: str) -> None:
    page.goto(f"{empty_url}/#/")
    empty = page.get_by_test_id("empty-state")
    expect(empty).to_contain_text("No evaluations yet")
    named = [c.strip() for c in empty.locator("code").all_inner_texts()]
    assert named, "the empty state names no command"
    commands = _commands()
    for text in named:
        if text.startswith("assay "):
            assert text.split()[1] in commands, f"{text!r}: no such command ({sorted(commands)})"
        else:
            assert text == "python -m assay.demo", text
    expect(empty.get_by_role("link", name="Models")).to_have_attribute("href", "#/models")


def test_the_breadcrumb_follows_page_not_found(page: Page, ids: dict[str, int]) -> None:
    page.goto(f"/#/evaluations/{ids['image']}")
    crumbs = page.get_by_test_id("breadcrumb")
    expect(crumbs.locator(".current")).not_to_have_text("")
    page.evaluate("window.location.hash = '#/no/such/page'")
    expect(page.get_by_test_id("empty-state")).to_contain_text("Page not found")
    expect(crumbs.locator(".current")).to_have_text("Page not found")
    assert crumbs.locator(".current").count() == 1


def test_confusion_cells_open_from_the_keyboard(page: Page, ids: dict[str, int]) -> None:
    page.goto(f"/#/evaluations/{ids['image']}")
    matrix = page.get_by_test_id("confusion-matrix")
    expect(matrix).to_be_visible()
    stops = matrix.locator("[data-testid=cm-cell][tabindex='0']")
    expect(stops).to_have_count(1)  # one tab stop for the whole matrix
    # Tab from the control just before the matrix lands on a cell
    panel = page.get_by_test_id("confusion")
    panel.locator("[data-testid=cm-mode] button").last.focus()
    toggle = panel.get_by_test_id("cm-toggle-all")
    if toggle.count():
        toggle.focus()
    page.keyboard.press("Tab")
    focused = page.locator("[data-testid=cm-cell]:focus")
    expect(focused).to_have_attribute("data-cell", "0-0")
    outline = focused.evaluate(
        "e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth"
    )
    assert not outline.startswith("none") and not outline.endswith(" 0px"), outline
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    focused = page.locator("[data-testid=cm-cell]:focus")
    expect(focused).to_have_attribute("data-cell", "1-1")
    page.keyboard.press("ArrowLeft")
    cell = page.locator("[data-testid=cm-cell]:focus")
    actual, predicted = cell.get_attribute("data-actual"), cell.get_attribute("data-predicted")
    assert actual and predicted and actual != predicted
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"actual=.*predicted="))
    assert f"actual={actual}" in page.url.replace("%20", " ")
    expect(page.locator(".cm-selected")).to_have_attribute("data-cell", "1-0")
    # Space opens too: the diagonal cell
    page.locator("[data-testid=cm-cell][data-cell='1-0']").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press(" ")
    expect(page.locator(".cm-selected")).to_have_attribute("data-cell", "1-1")
    _shot(page, "keyboard_confusion")


def test_compare_keeps_its_thresholds_in_the_url(page: Page, ids: dict[str, int]) -> None:
    a, b = ids["multilabel"], ids["multilabel_b"]
    page.goto(f"/#/compare?a={a}&b={b}")
    expect(page.get_by_test_id("compare-page")).to_be_visible()
    page.get_by_test_id("slider-a").fill("0.7")
    expect(page).to_have_url(re.compile(r"ta=0\.7"))
    page.get_by_test_id("slider-b").fill("0.3")
    expect(page).to_have_url(re.compile(r"ta=0\.7&tb=0\.3"))
    expect(page.get_by_test_id("threshold-a")).to_have_text("0.70")
    page.reload()
    expect(page.get_by_test_id("threshold-a")).to_have_text("0.70")
    expect(page.get_by_test_id("threshold-b")).to_have_text("0.30")
    page.get_by_test_id("compare-reset").click()
    expect(page).not_to_have_url(re.compile(r"ta="))
    page.go_back()
    expect(page.get_by_test_id("threshold-a")).to_have_text("0.70")
    # detection: the IoU and each side's confidence
    page.goto(
        f"/#/compare?a={ids['detection_images']}&b={ids['detection_fewer']}&iou=0.75&ca=0.2&cb=0.4"
    )
    expect(page.get_by_test_id("compare-page")).to_have_attribute("data-task", "detection")
    expect(page.get_by_test_id("score-a")).to_have_text("0.20")
    expect(page.get_by_test_id("score-b")).to_have_text("0.40")
    expect(page.get_by_test_id("slider-iou")).to_have_value("0.75")
    _shot(page, "compare_url_point")


def test_the_leaderboard_interval_column_has_a_scale(page: Page, ids: dict[str, int]) -> None:
    page.goto(f"/#/evaluations/{ids['image']}")
    expect(page.get_by_test_id("confusion-matrix")).to_be_visible()
    dv = page.evaluate(
        f"fetch('/api/evaluations/{ids['image']}').then(r => r.json())"
        ".then(e => e.dataset.version_id)"
    )
    page.goto(f"/#/leaderboard?dv={dv}")
    board = page.get_by_test_id("leaderboard")
    expect(board).to_be_visible()
    ticks = page.get_by_test_id("ci-tick")
    expect(ticks.first).to_be_visible()
    values = [float(t) for t in ticks.all_inner_texts()]
    assert len(values) >= 3 and values == sorted(values)
    numbers = page.get_by_test_id("ci-numbers").all_inner_texts()
    assert numbers and all(re.fullmatch(r"\d\.\d+ – \d\.\d+", n) for n in numbers), numbers
    # each bar's ends lie inside the scale
    lows = [float(n.split(" – ")[0]) for n in numbers]
    highs = [float(n.split(" – ")[1]) for n in numbers]
    assert values[0] <= min(lows) and max(highs) <= values[-1]
    _shot(page, "leaderboard_axis")


def test_detection_ap_per_iou_and_default(page: Page, ids: dict[str, int]) -> None:
    page.goto(f"/#/evaluations/{ids['detection']}")
    bars = page.get_by_test_id("ap-iou")
    expect(bars).to_have_count(10)
    labels = [float(x) for x in bars.evaluate_all("bs => bs.map(b => b.dataset.iou)")]
    assert labels == pytest.approx([0.5 + 0.05 * k for k in range(10)])
    aps = [float(x) for x in bars.evaluate_all("bs => bs.map(b => b.dataset.ap)")]
    mean = page.get_by_test_id("coco-AP").locator(".metric-value").inner_text()
    assert float(np.mean(aps)) == pytest.approx(float(mean), abs=0.0015)
    default = page.get_by_test_id("back-to-default")
    expect(default).to_be_disabled()
    bars.nth(5).click()
    expect(page).to_have_url(re.compile(r"iou=0\.75"))
    expect(bars.nth(5)).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("iou-slider-value")).to_have_value("0.75")
    page.get_by_test_id("score-slider-value").fill("0.9")
    expect(page).to_have_url(re.compile(r"conf=0\.9"))
    expect(default).to_be_enabled()
    default.click()
    expect(page).not_to_have_url(re.compile(r"iou=|conf="))
    expect(default).to_be_disabled()
    _shot(page, "detection_ap_per_iou")


def test_the_multilabel_sample_view_speaks_of_label_sets(page: Page, ids: dict[str, int]) -> None:
    page.goto(f"/#/evaluations/{ids['multilabel']}?sample=0")
    view = page.get_by_test_id("sample-view")
    expect(view.get_by_test_id("sample-predicted")).to_be_visible()
    expect(view).to_contain_text("Predicted label set")
    expect(view).to_contain_text("Annotated label set")
    expect(view.get_by_test_id("sample-set-match")).to_be_visible()
    expect(view).to_contain_text("Label scores")
    expect(view).not_to_contain_text("annotated class")
    expect(view).not_to_contain_text("Class probabilities")
    # a sample whose two sets differ says how
    page.goto(f"/#/evaluations/{ids['multilabel']}?errors=1")
    page.get_by_test_id("feed-item").first.click()
    match = page.get_by_test_id("sample-view").get_by_test_id("sample-set-match")
    expect(match).to_have_attribute("data-exact", "0")
    expect(match).to_contain_text(re.compile(r"misses|adds"))
    _shot(page, "multilabel_sample_view")


@pytest.fixture(scope="module")
def texts_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two models on one text dataset (questions with their text)."""
    import pyarrow as pa

    from assay.evaluation.classification import ClassificationResults
    from assay.store import Workspace

    home = tmp_path_factory.mktemp("compare-texts") / "home"
    ws = Workspace(home)
    classes = ["LOC", "NUM", "HUM"]
    y = np.random.default_rng(0).integers(0, 3, 200)
    ids = np.array([f"q{i}" for i in range(200)])
    words = {0: "Where is place", 1: "How many things", 2: "Who was the person"}
    texts = [f"{words[int(k)]} number {i}?" for i, k in enumerate(y)]
    dv = ws.add_dataset_version(
        "questions", task="classification", samples=pa.table({"id": ids, "text": texts})
    )
    for name, strength, seed in (("bag of words", 0.6, 1), ("bigger model", 2.2, 2)):
        rng = np.random.default_rng(seed)
        logits = rng.normal(size=(200, 3))
        logits[np.arange(200), y] += strength
        scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        results = ClassificationResults(y, scores, classes=classes, sample_ids=ids)
        ws.save_evaluation(results, name=name, dataset_version_id=dv.id)
    ws.close()
    with serve(home) as (url, _log):
        yield url


def test_compare_shows_the_texts_of_changed_samples(page: Page, texts_url: str) -> None:
    page.goto(f"{texts_url}/#/compare?a=1&b=2")
    rows = page.get_by_test_id("changed-sample")
    expect(rows.first).to_be_visible()
    first = rows.first.get_by_test_id("changed-sample-text")
    expect(first).to_contain_text(re.compile(r"number \d+\?"))
    sample_id = rows.first.locator(".strong").inner_text()
    assert first.inner_text().endswith(f"number {sample_id.removeprefix('q')}?")
    rows.first.click()
    pair = page.get_by_test_id("pair-view")
    expect(pair.locator(".sample-text")).to_contain_text(f"number {sample_id.removeprefix('q')}?")
    _shot(page, "compare_texts")
