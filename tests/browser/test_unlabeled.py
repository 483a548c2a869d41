"""The demo's digits without labels in the browser: the Evaluations list marks the prediction
runs "predictions only" (the digits' two and the detectors' two), picking both offers their agreement, the agreement page
shows them (the FP32 model and its INT8 child on the unlabeled version), and a prediction run's
own page and the compare page explain that there are no labels instead of breaking."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENS, settle

pytestmark = pytest.mark.browser


def test_agreement_on_the_unlabeled_digits(page: Page, ids: dict[str, int]) -> None:
    a, b = ids["image_unlabeled"], ids["image_int8_unlabeled"]
    page.goto("/#/")
    rows = page.get_by_test_id("evaluation-row")
    expect(rows.first).to_be_visible()
    marked = page.get_by_test_id("evaluations-table").get_by_test_id("predictions-only")
    expect(marked).to_have_count(4)
    digits = re.compile(r"without labels \(MLP, (FP32|INT8)\)")
    both = rows.filter(has_text=digits)
    expect(both).to_have_count(2)
    pick = page.get_by_test_id("pick-evaluation")
    names = [rows.nth(i).inner_text() for i in range(rows.count())]
    for i, text in enumerate(names):
        if digits.search(text):
            pick.nth(i).click()
    expect(page.get_by_test_id("compare-picked")).to_have_text("Agreement of the two")
    expect(page.get_by_test_id("compare-picked")).to_have_attribute(
        "href", f"#/agreement?a={min(a, b)}&b={max(a, b)}"
    )
    page.goto(f"/#/agreement?a={a}&b={b}")
    expect(page.get_by_test_id("agreement-page")).to_be_visible()
    expect(page.get_by_test_id("stat-agreement")).to_contain_text("% CI")
    expect(page.get_by_test_id("stat-kappa")).to_contain_text(re.compile(r"\d\.\d{3}"))
    expect(page.get_by_test_id("agreement-page")).to_contain_text("digits-unlabeled")
    cells = page.get_by_test_id("flip-cell")
    total = sum(int(cells.nth(i).inner_text()) for i in range(cells.count()))
    expect(page.get_by_test_id("agreement-samples")).to_contain_text(f"({total})")
    settle(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "agreement_unlabeled.png"), full_page=True)
    page.goto(f"/#/evaluations/{a}")
    panel = page.get_by_test_id("predictions-only")
    expect(panel).to_contain_text("this dataset version has no labels")
    link = panel.get_by_test_id("agreement-link")
    expect(link).to_have_attribute("href", f"#/agreement?a={a}&b={b}")
    settle(page)
    page.screenshot(path=str(SCREENS / "predictions_only.png"), full_page=True)
    page.goto(f"/#/compare?a={a}&b={b}")
    panel = page.get_by_test_id("compare-no-labels")
    expect(panel).to_contain_text("no labels, so no metrics")
    expect(panel.get_by_test_id("agreement-link")).to_have_attribute(
        "href", f"#/agreement?a={a}&b={b}"
    )
    settle(page)
    page.screenshot(path=str(SCREENS / "compare_no_labels.png"), full_page=True)
