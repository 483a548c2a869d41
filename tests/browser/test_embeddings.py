"""The embedding map in the browser, on the demo's image evaluation (its MLP exposes its hidden
layer as an embedding output): opened from the evaluation page, every sample a point coloured by
outcome, a lasso opening the selected samples in the feed (errors first), a click showing a sample
and its nearest neighbours, and a selected sample opening on the evaluation page. The map's cached
artifacts are deleted afterwards, so later tests see the seeded workspace."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENS

pytestmark = pytest.mark.browser


@pytest.fixture()
def clean_map(seeded: tuple[Path, dict[str, int]]) -> Iterator[None]:
    yield
    home, ids = seeded
    folder = home / "evaluations" / str(ids["image"])
    for p in folder.iterdir():
        if p.is_dir() and (p.name == "embedding" or p.name.startswith("map-")):
            shutil.rmtree(p)


def test_embedding_map_of_the_image_evaluation(
    page: Page, ids: dict[str, int], clean_map: None
) -> None:
    evaluation = ids["image"]
    page.goto(f"/#/evaluations/{evaluation}")
    page.get_by_test_id("embeddings-link").click()
    assert page.url.endswith(f"#/evaluations/{evaluation}/embeddings")
    ready = page.locator("[data-testid=embeddings-page][data-status=ready]")
    expect(ready).to_be_visible(timeout=120_000)  # the model runs once for its embedding output
    canvas = page.get_by_test_id("map-canvas")
    n = int(canvas.get_attribute("data-points") or 0)
    assert n == 599  # every held-out digit
    expect(page.get_by_test_id("map-source")).to_contain_text("output 'embedding'")
    expect(page.get_by_test_id("map-legend")).to_contain_text("correct")
    expect(page.get_by_test_id("map-legend")).to_contain_text("wrong")

    # a lasso around the middle of the map opens its samples in the feed
    box = page.get_by_test_id("map-overlay").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 90, cy - 70)
    page.mouse.down()
    for dx, dy in [(0, -110), (150, -60), (160, 60), (60, 130), (-100, 110), (-170, 20)]:
        page.mouse.move(cx + dx, cy + dy, steps=4)
    page.mouse.up()
    feed = page.get_by_test_id("selection-feed")
    expect(feed).to_be_visible()
    title = feed.locator("h2").inner_text()
    selected = int(title.split()[0].replace(",", ""))
    assert 0 < selected < n
    items = page.get_by_test_id("selection-item")
    expect(items.first).to_be_visible()
    assert items.count() == min(24, selected)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "embedding_map_lasso.png"), full_page=True)

    # a click on a point: the sample and its eight nearest neighbours
    page.get_by_test_id("selection-clear").click()
    found = False
    for fx, fy in [(0.5, 0.5), (0.45, 0.5), (0.55, 0.5), (0.5, 0.45), (0.5, 0.55), (0.4, 0.4)]:
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        try:
            expect(page.get_by_test_id("focus-panel")).to_be_visible(timeout=1500)
        except AssertionError:
            continue  # no point within reach of that spot
        found = True
        break
    assert found
    expect(page.get_by_test_id("neighbour")).to_have_count(8)

    # colour by the actual class: one legend entry per digit
    page.get_by_test_id("map-colour").select_option("actual")
    expect(page.get_by_test_id("map-legend")).to_contain_text("9")

    # a neighbour opens on the evaluation page
    link = page.get_by_test_id("neighbour").first.locator("a")
    index = link.inner_text().lstrip("#")
    link.click()
    expect(page.get_by_test_id("eval-title")).to_be_visible()
    assert f"sample={index}" in page.url
