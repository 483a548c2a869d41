"""Right by default, in the browser: a single-label evaluation stored without a threshold opens at
the argmax with scikit-learn's numbers (accuracy, macro precision counting a class never predicted
as 0, and saying so); a threshold is an explicit choice that adds coverage and the accuracy on the
kept samples; the risk-coverage curve draws every threshold at once."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect
from sklearn.metrics import accuracy_score, precision_score

from .conftest import SCREENS, make_score_table, serve, settle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path, Path]]:
    from assay.evaluation.run import evaluate_files
    from assay.service.runs import save_run
    from assay.store import Workspace

    home = tmp_path_factory.mktemp("right-by-default")
    gt, pred = make_score_table(home / "data")
    ws = Workspace(home)
    record = save_run(ws, evaluate_files(gt, pred), name="vehicles")  # no threshold given
    ws.close()
    with serve(home) as (url, _log):
        yield url, record.id, gt, pred


@pytest.fixture()
def page(browser, stored: tuple[str, int, Path, Path]) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    """A page of the session's browser (one Playwright per session)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        yield page
    finally:
        page.close()


def _sklearn(gt: Path, pred: Path) -> tuple[float, float]:
    import csv

    with open(gt) as f:
        truth = {r["id"]: r["label"] for r in csv.DictReader(f)}
    with open(pred) as f:
        reader = csv.reader(f)
        classes = next(reader)[1:]
        rows = list(reader)
    y = [truth[r[0]] for r in rows]
    p = [classes[int(np.argmax([float(v) for v in r[1:]]))] for r in rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return accuracy_score(y, p), precision_score(y, p, average="macro")


def test_opens_at_the_argmax_with_scikit_learns_numbers(
    page: Page, stored: tuple[str, int, Path, Path]
) -> None:
    url, eid, gt, pred = stored
    accuracy, macro_precision = _sklearn(gt, pred)
    page.goto(f"{url}/#/evaluations/{eid}")
    expect(page.get_by_test_id("threshold-slider-value")).to_have_value("0")
    expect(page.get_by_test_id("threshold-mode")).to_contain_text("argmax")
    expect(page.get_by_test_id("reset-threshold")).to_contain_text("argmax")
    expect(page.get_by_test_id("metric-accuracy-value")).to_have_text(f"{accuracy:.3f}")
    expect(page.get_by_test_id("metric-macro_precision-value")).to_have_text(
        f"{macro_precision:.3f}"
    )
    # the last class is never predicted: counted as precision 0, and the card says so
    expect(page.get_by_test_id("metric-macro_precision-sub")).to_contain_text(
        "1 never predicted: precision 0"
    )
    expect(page.get_by_test_id("metric-coverage")).to_have_count(0)
    # no "Below threshold" column at the argmax
    expect(page.get_by_test_id("confusion-matrix")).to_be_visible()
    expect(page.get_by_test_id("confusion-matrix")).not_to_contain_text("Below threshold")
    SCREENS.mkdir(parents=True, exist_ok=True)
    settle(page)
    page.screenshot(path=str(SCREENS / "right_by_default_argmax.png"), full_page=True)


def test_a_threshold_adds_coverage_and_the_risk_coverage_curve(
    page: Page, stored: tuple[str, int, Path, Path]
) -> None:
    url, eid, _, _ = stored
    page.goto(f"{url}/#/evaluations/{eid}?t=0.6")
    expect(page.get_by_test_id("threshold-mode")).to_contain_text("no prediction")
    expect(page.get_by_test_id("metric-coverage")).to_be_visible()
    expect(page.get_by_test_id("metric-coverage-sub")).to_contain_text("accuracy on kept")
    page.get_by_test_id("curve-kind").get_by_text("Risk–coverage").click()
    expect(page.get_by_test_id("curve-chart")).to_be_visible()
    settle(page)
    page.screenshot(path=str(SCREENS / "right_by_default_coverage.png"), full_page=True)
    page.get_by_test_id("reset-threshold").click()
    expect(page.get_by_test_id("threshold-slider-value")).to_have_value("0")
    expect(page.get_by_test_id("metric-coverage")).to_have_count(0)
