"""Inputs on the web: the Models page's dataset picker offers only the versions a model can take
(task and media) and pre-selects one it has not run on; "Add a dataset" registers a folder under
the data roots, "Without labels" an unlabeled version; "Evaluate on a new dataset" registers one and calculates on it; the data-quality
leakage picker offers only sets of the same task and media.

Its own workspace and server (the shared one's counts are checked by test_ui)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.runners.models import write_images
from tests.server.test_model_jobs import CLASSES, slow_model

from .conftest import SCREENS, serve, settle

pytestmark = pytest.mark.browser


def _shot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    settle(page)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An image classifier run on one image set; another image set not run yet; a text set and
    a detection set it cannot take; and folders under the workspace to add from the page."""
    import numpy as np
    import pyarrow as pa

    from assay.evaluation.classification import ClassificationResults
    from assay.store import Workspace

    root = tmp_path_factory.mktemp("datasets-web")
    home = root / "home"
    data = home / "data"  # the workspace is an allowed root
    for folder, seed in (("seen", 1), ("fresh", 2), ("added", 3), ("newest", 4)):
        for k, name in enumerate(CLASSES):
            write_images(data / folder / name, 6, size=(8, 8), seed=10 * seed + k)
    write_images(data / "photos", 5, size=(8, 8), seed=99)  # a flat folder: no labels
    ws = Workspace(home)
    model = ws.add_model(slow_model(root / "small.onnx", depth=2, width=16), name="insects")
    files = sorted((data / "seen").rglob("*.png"))
    seen_samples = pa.table(
        {
            "id": [f.stem + f.parent.name for f in files],
            "path": [str(f) for f in files],
            "label": [f.parent.name for f in files],
        }
    )
    seen = ws.add_dataset_version(
        "insects-seen", task="classification", source=data / "seen", samples=seen_samples
    )
    ws.add_dataset_version("insects-fresh", task="classification", source=data / "fresh")
    texts = pa.table({"id": ["a", "b"], "text": ["an ant", "a bee"], "label": CLASSES[:2]})
    ws.add_dataset_version("insect-facts", task="classification", samples=texts)
    ws.add_dataset_version(
        "insect-boxes", task="detection", samples=pa.table({"id": ["1"], "path": ["x.png"]})
    )
    y = np.array([CLASSES.index(f.parent.name) for f in files])
    scores = np.eye(3)[y] * 0.8 + 0.2 / 3
    ws.save_evaluation(
        ClassificationResults(y, scores, classes=list(CLASSES)),
        name="insects on seen",
        dataset_version_id=seen.id,
        model_version_id=model.id,
    )
    ws.close()
    with serve(home) as (url, _log):
        yield url, data


def _options(page: Page, testid: str) -> list[str]:
    return page.get_by_test_id(testid).locator("option").all_inner_texts()


def test_the_picker_offers_what_the_model_takes_and_adds_datasets(
    page: Page, site: tuple[str, Path]
) -> None:
    url, data = site
    page.goto(f"{url}/#/models")
    row = page.locator("[data-testid=model-card][data-model=insects] [data-testid=version-row]")
    picker = row.get_by_test_id("dataset-picker")
    expect(picker).to_be_visible()
    options = _options(page, "dataset-picker")
    assert [o.split(" · ")[0] for o in options] == ["insects-seen v1", "insects-fresh v1"], options
    assert "has results" in options[0]
    # the one not run yet is picked
    expect(picker.locator("option:checked")).to_contain_text("insects-fresh")

    page.get_by_test_id("add-dataset").click()
    form = page.get_by_test_id("add-dataset-form")
    expect(form.get_by_test_id("dataset-roots")).to_contain_text(str(data.parent.resolve()))
    form.get_by_test_id("dataset-path").fill(str(data / "added"))
    form.get_by_test_id("dataset-submit").click()
    result = form.get_by_test_id("dataset-result")
    expect(result).to_contain_text("Registered added v1 · 18 samples")
    expect(result).to_contain_text("images")
    _shot(page, "add_dataset")
    form.get_by_test_id("dataset-done").click()
    expect(picker.locator("option")).to_have_count(3)
    expect(picker).to_contain_text("added v1")

    # a path outside the roots is refused in words
    page.get_by_test_id("add-dataset").click()
    form = page.get_by_test_id("add-dataset-form")
    form.get_by_test_id("dataset-path").fill("/etc")
    form.get_by_test_id("dataset-submit").click()
    expect(form.get_by_test_id("dataset-error")).to_contain_text("not under an allowed folder")
    form.get_by_test_id("modal-close").click()


def test_evaluate_on_a_new_dataset_registers_it_and_calculates(
    page: Page, site: tuple[str, Path]
) -> None:
    url, data = site
    page.goto(f"{url}/#/models")
    row = page.locator("[data-testid=model-card][data-model=insects] [data-testid=version-row]")
    row.get_by_test_id("evaluate-new").click()
    form = page.get_by_test_id("evaluate-new-form")
    expect(form).to_contain_text("single-label classification, the model's task")
    form.get_by_test_id("dataset-path").fill(str(data / "newest"))
    form.get_by_test_id("dataset-name").fill("insects-newest")
    form.get_by_test_id("dataset-submit").click()
    expect(form.get_by_test_id("dataset-result")).to_contain_text("Registered insects-newest v1")
    expect(form.get_by_test_id("dataset-result-message")).to_contain_text("Calculating")
    _shot(page, "evaluate_new_dataset")
    form.get_by_test_id("dataset-done").click()
    expect(row.get_by_test_id("job-status")).to_be_visible()
    views = row.get_by_test_id("view-results")
    expect(views).to_have_count(2, timeout=60_000)
    expect(row).to_contain_text("insects-newest v1")
    _shot(page, "evaluate_new_dataset_done")


def test_the_leakage_picker_offers_sets_of_the_same_task_and_media(
    page: Page, site: tuple[str, Path]
) -> None:
    url, _ = site
    page.goto(f"{url}/#/evaluations/1/quality")
    picker = page.get_by_test_id("quality-train")
    expect(picker).to_be_visible()
    # once the evaluation is known: no text set, no detection set, not itself
    expect(picker).not_to_contain_text("insect-facts")
    expect(picker).not_to_contain_text("insect-boxes")
    names = [o.split(" (")[0] for o in _options(page, "quality-train")]
    assert names[0] == "no training set"
    offered = set(names[1:])
    assert "insects-fresh v1" in offered
    assert not {n for n in offered if n.startswith(("insect-facts", "insect-boxes"))}, offered
    assert not {n for n in offered if n.startswith("insects-seen")}, offered  # itself
    _shot(page, "leakage_picker")


def test_the_form_registers_a_version_without_labels(page: Page, site: tuple[str, Path]) -> None:
    url, data = site
    page.goto(f"{url}/#/models")
    page.get_by_test_id("add-dataset").click()
    form = page.get_by_test_id("add-dataset-form")
    form.get_by_test_id("dataset-path").fill(str(data / "photos"))
    form.get_by_test_id("dataset-name").fill("street-photos")
    expect(form.get_by_test_id("dataset-task")).to_be_visible()
    form.get_by_test_id("dataset-unlabeled").check()
    expect(form.get_by_test_id("dataset-task")).to_have_count(0)  # no labels: no task to read
    _shot(page, "add_dataset_unlabeled_form")
    form.get_by_test_id("dataset-submit").click()
    result = form.get_by_test_id("dataset-result")
    expect(result).to_contain_text("Registered street-photos v1 · 5 samples · no labels")
    _shot(page, "add_dataset_unlabeled")
    version = int(result.get_attribute("data-version") or 0)
    datasets = page.request.get(f"{url}/api/datasets").json()["items"]
    (mine,) = [d for d in datasets if d["name"] == "street-photos"]
    versions = page.request.get(f"{url}/api/datasets/{mine['id']}/versions").json()["items"]
    assert [(v["id"], v["unlabeled"]) for v in versions] == [(version, True)]
    form.get_by_test_id("dataset-done").click()
