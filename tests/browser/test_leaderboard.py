"""The leaderboard page of the demo's TREC models: every row shows the ranks it may hold, the
procedure behind "significantly worse" is named at the top, a row marked worse cannot hold
rank 1, and the winner's interval that accounts for its selection is drawn and stated."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENS, settle

pytestmark = pytest.mark.browser


def test_the_leaderboard_shows_rank_intervals_and_the_procedure(
    page: Page, ids: dict[str, int]
) -> None:
    page.goto("/")
    row = page.locator(f"[data-testid=evaluation-row]:has(a[href='#/evaluations/{ids['text']}'])")
    row.get_by_test_id("leaderboard-link").click()
    board = page.get_by_test_id("leaderboard-page")
    expect(board).to_be_visible()
    rows = page.get_by_test_id("leaderboard-row")
    expect(rows.first).to_contain_text("best")
    n = rows.count()
    assert n >= 3, n
    procedure = page.get_by_test_id("leaderboard-procedure")
    expect(procedure).to_contain_text("max-T bootstrap over all pairs (simultaneous, 95 %)")
    expect(procedure).to_contain_text("significantly worse")
    ranks = page.get_by_test_id("rank-interval")
    expect(ranks).to_have_count(n)
    for i in range(n):
        text = ranks.nth(i).inner_text().strip()
        m = re.fullmatch(r"(\d+)(?:–(\d+))?", text)
        assert m, text
        low, high = int(m[1]), int(m[2] or m[1])
        assert 1 <= low <= high <= n
        worse = rows.nth(i).get_attribute("data-significant") == "1"
        assert worse == (low > 1), (i, text, worse)  # worse than the best: cannot rank first
    expect(rows.first.get_by_test_id("ci-winner-simultaneous")).to_be_visible()
    expect(rows.first.get_by_test_id("winner-simultaneous")).to_contain_text("selection-adjusted")
    expect(page.get_by_test_id("leaderboard-winner-note")).to_contain_text(
        "accounting for that selection"
    )
    expect(rows.nth(1).get_by_test_id("delta-interval")).to_contain_text("[")
    settle(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "leaderboard_simultaneous.png"), full_page=True)
