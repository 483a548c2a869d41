"""The Models page's speed column and INT8 optimisation in the browser: each version's profile
(latency, throughput, size, memory), the INT8 child beside its parent ("INT8: 1.3× faster,
accuracy ±0.0 points, 95% CI [...]"), and "Optimize to INT8…" then "Profile" as jobs.

Its own workspace and server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.service.int8_models import make_classifier, write_folder

from .conftest import SCREENS, serve, settle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def optimize_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``conv`` v1 and its INT8 child (made, profiled and evaluated here) and ``fresh`` v1 (the
    same network under another name, not optimised yet), a calibration and a test set."""
    from assay.service.optimize import optimize_int8
    from assay.service.profile import profile_model
    from assay.service.runs import run_model, store_model_run
    from assay.store import Workspace
    from assay.store.datasets import register_dataset

    root = tmp_path_factory.mktemp("optimize-page")
    model = make_classifier(root / "train", root / "conv.onnx")
    write_folder(root / "test", 30, seed=5)
    ws = Workspace(root / "home")
    parent = ws.add_model(model, name="conv")
    ws.add_model(model, name="fresh")
    train, _, _ = register_dataset(ws, root / "train", name="calibration")
    test, _, _ = register_dataset(ws, root / "test", name="held-out")
    child = optimize_int8(ws, parent.id, calibration=train.id, samples=60)
    for version in (parent, child):
        profile_model(ws, version.id, batches=(1, 8, 32), runs=20)
        run = run_model(ws, version.id, root / "test")
        store_model_run(ws, run, version.id, dataset="held-out")
    assert test.id > 0
    ws.close()
    with serve(root / "home") as (url, _log):
        yield url


def test_profiles_and_the_int8_child_beside_its_parent(page: Page, optimize_url: str) -> None:
    page.goto(f"{optimize_url}/#/models")
    expect(page.get_by_test_id("models-page")).to_be_visible()
    conv = page.locator("[data-testid=model-card][data-model=conv]")
    for label in ("v1", "int8"):
        row = conv.locator(f"[data-testid=version-row][data-version={label}]")
        profile = row.get_by_test_id("profile")
        expect(profile).to_contain_text("p50")
        expect(profile).to_contain_text("samples/s (batch 32)")
        expect(profile).to_contain_text("on disk")
    child = conv.locator("[data-testid=version-row][data-version=int8]")
    side = child.get_by_test_id("against-parent")
    expect(side).to_contain_text("INT8:")
    expect(side).to_contain_text("×")
    expect(side).to_contain_text("accuracy")
    expect(side).to_contain_text("95% CI [")
    # the parent has no such line, and an INT8 version is not offered INT8 again
    expect(
        conv.locator("[data-testid=version-row][data-version=v1]").get_by_test_id("against-parent")
    ).to_have_count(0)
    expect(child.get_by_test_id("optimize-button")).to_have_count(0)
    settle(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "models-speed-int8.png"), full_page=True)


def test_optimize_then_profile_from_the_page(page: Page, optimize_url: str) -> None:
    page.goto(f"{optimize_url}/#/models")
    fresh = page.locator("[data-testid=model-card][data-model=fresh]")
    v1 = fresh.locator("[data-testid=version-row][data-version=v1]")
    expect(v1).to_contain_text("Not profiled")
    v1.get_by_test_id("optimize-button").click()
    form = v1.get_by_test_id("optimize-form")
    expect(form.get_by_test_id("calibration-picker")).to_contain_text("calibration v1")
    form.get_by_test_id("calibration-samples").fill("30")
    # a classifier's head is quantized unless asked (a detector's is kept in float by default)
    expect(form.get_by_test_id("optimize-exclude-head")).not_to_be_checked()
    settle(page)
    page.screenshot(path=str(SCREENS / "models-optimize-form.png"), full_page=True)
    form.get_by_test_id("optimize-start").click()
    child = fresh.locator("[data-testid=version-row][data-version=int8]")
    expect(child).to_be_visible(timeout=60_000)
    expect(child.get_by_test_id("parent")).to_have_text("parent: v1")
    child.get_by_test_id("profile-button").click()
    expect(child.get_by_test_id("profile")).to_contain_text("samples/s", timeout=60_000)
    settle(page)
