"""The Models page in the browser: versions with their parent, a dataset picked, "Calculate" a
background job with live progress that survives a reload, then "View results" with the headline.

Its own workspace and server (the shared one's evaluation count is checked by test_ui)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.runners.models import write_images
from tests.server.test_model_jobs import CLASSES, slow_model

from .conftest import SCREENS, serve, settle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def models_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A workspace with a slow image classifier (v1) and its child (int8), a predictions-only
    version, and a 900-image dataset version to run them on."""
    from assay.store import Workspace

    root = tmp_path_factory.mktemp("models-page")
    for k, name in enumerate(CLASSES):
        write_images(root / "images" / name, 300, size=(8, 8), seed=20 + k)
    ws = Workspace(root / "home")
    parent = ws.add_model(slow_model(root / "slow.onnx", depth=600), name="insects")
    ws.add_model(
        slow_model(root / "slow-int8.onnx", depth=601),
        name="insects",
        version="int8",
        parent_version_id=parent.id,
    )
    (root / "pred.csv").write_text("id,ant\n1,0.5\n")
    ws.add_model_version("uploaded-scores", path=root / "pred.csv")
    ws.add_dataset_version("insect-photos", task="classification", source=root / "images")
    ws.close()
    with serve(root / "home") as (url, _log):
        yield url


def test_calculate_shows_progress_survives_a_reload_and_opens_the_results(
    page: Page, models_url: str
) -> None:
    page.goto(f"{models_url}/#/")
    page.get_by_test_id("nav-models").click()
    expect(page.get_by_test_id("models-page")).to_be_visible()
    insects = page.locator("[data-testid=model-card][data-model=insects]")
    child = insects.locator("[data-testid=version-row][data-version=int8]")
    expect(child.get_by_test_id("parent")).to_have_text("parent: v1")
    uploaded = page.locator("[data-testid=model-card][data-model=uploaded-scores]")
    expect(uploaded).to_contain_text("nothing to run")
    expect(uploaded.get_by_test_id("calculate")).to_have_count(0)

    v1 = insects.locator("[data-testid=version-row][data-version=v1]")
    expect(v1.get_by_test_id("dataset-picker")).to_contain_text("insect-photos v1")
    expect(v1).to_contain_text("No results yet")
    v1.get_by_test_id("calculate").click()
    status = v1.get_by_test_id("job-status")
    expect(status).to_have_attribute("data-status", "running", timeout=30_000)
    expect(status).to_contain_text("of 900 samples", timeout=30_000)
    expect(v1.get_by_test_id("calculate")).to_be_disabled()
    settle(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "models_running.png"), full_page=True)

    page.reload()  # the job's state comes from the server: the same after a reload
    v1 = page.locator("[data-testid=model-card][data-model=insects]").locator(
        "[data-testid=version-row][data-version=v1]"
    )
    expect(v1.get_by_test_id("job-status")).to_have_attribute("data-status", "running")
    expect(v1.get_by_test_id("job-status")).to_contain_text("samples/s", timeout=30_000)

    view = v1.get_by_test_id("view-results")
    expect(view).to_be_visible(timeout=120_000)
    expect(v1.get_by_test_id("job-status")).to_have_count(0)
    expect(v1).to_contain_text("ROC AUC")
    settle(page)
    page.screenshot(path=str(SCREENS / "models_done.png"), full_page=True)
    view.click()
    expect(page.get_by_test_id("eval-title")).to_contain_text("insects")
    expect(page.get_by_test_id("eval-device")).to_have_text(" · on cpu")  # where it ran
