"""The commissioner's leaderboard in real headless Chromium: sorting by a column header, the CSV download whose
rows are the page's rows in the page's order, a number opening the cases behind it, and a page that keeps
its own Content-Security-Policy (inline SVG, no inline style or script). Screenshots go to var/screenshots/."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.engine import Engine

from dashboard.leaderboard import CSV_HEADER
from models.db import make_engine, migrate
from tests.browser.conftest import Served, serve
from tests.browser.test_dashboard_signin import sign_in, watched  # noqa: F401  (watched is a fixture)
from tests.integration.test_dashboard_auth import NOW, PASSWORDS, FakeClock, make_app
from tests.integration.test_leaderboard_pages import DIRECTORY, MEASURE_COLUMNS, Held, seed, store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Three ranked stations and one too small to rank."""
    engine: Engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('leaderboard') / 'board.db'}")
    migrate(engine)
    seed(engine)  # s1: 8 cases, s9: 1
    for n in range(1, 7):  # s2: six cases, all acknowledged late
        store(engine, Held(f"BLR-2026-20000{n}", station="s2", holders=("L2-A",), ack_after_h=4.0, act_after_h=20.0,
                           start=NOW - timedelta(days=n)))
    for n in range(1, 6):  # s3: five, acknowledged in time, one still waiting
        store(engine, Held(f"BLR-2026-30000{n}", station="s3", holders=("L3-A",), ack_after_h=0.5 if n < 5 else None,
                           status="acknowledged" if n < 5 else "assigned", start=NOW - timedelta(days=2 * n)))
    clock = FakeClock()
    with serve(make_app(engine, clock, directory=DIRECTORY)) as url:
        yield Served(url, engine, clock)
    engine.dispose()


def shown_rows(page: Page) -> list[dict[str, str]]:
    rows = []
    for tr in page.locator("tr[data-key]").all():
        row = {"key": tr.get_attribute("data-key") or "", "rank": tr.locator("td.rank").inner_text().strip()}
        row["name"] = tr.locator("span.name").inner_text().strip()
        for td in tr.locator("[data-measure]").all():
            row[td.get_attribute("data-measure") or ""] = td.inner_text().strip()
        rows.append(row)
    return rows


def test_the_commissioner_sorts_by_a_column_and_downloads_the_csv_of_the_rows_shown(
    watched: Page, board: Served, screenshots: Path  # noqa: F811
) -> None:
    sign_in(watched, board.url, "commissioner", PASSWORDS["commissioner"])
    expect(watched).to_have_url(f"{board.url}/leaderboard")
    watched.screenshot(path=screenshots / "leaderboard.png", full_page=True)
    by_default = shown_rows(watched)
    assert [r["key"] for r in by_default] == ["s3", "s1", "s2", "s9"]  # acknowledged in time: best first

    watched.get_by_role("link", name="Assigned", exact=True).click()
    expect(watched).to_have_url(f"{board.url}/leaderboard?by=station&since=2026-11-04&until=2026-12-04&sort=assigned&order=desc")
    expect(watched.locator("a[aria-sort=descending]")).to_have_text("Assigned ▼")
    rows = shown_rows(watched)
    assert [(r["key"], r["assigned"], r["rank"]) for r in rows] == [("s1", "8", "1"), ("s2", "6", "2"), ("s3", "5", "3"), ("s9", "1", "—")]
    watched.get_by_role("link", name="Assigned ▼").click()
    expect(watched.locator("a[aria-sort=ascending]")).to_have_text("Assigned ▲")
    rows = shown_rows(watched)
    assert [r["key"] for r in rows] == ["s3", "s2", "s1", "s9"]  # the unranked station stays below the ranked

    with watched.expect_download() as download:
        watched.get_by_role("link", name="Download these rows as CSV").click()
    saved = Path(download.value.path())
    assert download.value.suggested_filename == "leaderboard-station-2026-11-04-2026-12-03.csv"
    table = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert tuple(table[0]) == CSV_HEADER
    written = [dict(zip(CSV_HEADER, line, strict=True)) for line in table[1:]]
    assert [w["Id"] for w in written] == [r["key"] for r in rows]
    for shown, line in zip(rows, written, strict=True):
        assert shown["rank"].replace("—", "") == line["Rank"] and shown["name"] == line["Name"]
        assert {m: shown[m].replace("—", "") for m in MEASURE_COLUMNS} == {m: line[c] for m, c in MEASURE_COLUMNS.items()}
    watched.screenshot(path=screenshots / "leaderboard-sorted.png", full_page=True)


def test_a_number_opens_the_cases_behind_it_and_a_case_opens_from_there(watched: Page, board: Served, screenshots: Path) -> None:  # noqa: F811
    sign_in(watched, board.url, "commissioner", PASSWORDS["commissioner"])
    watched.locator('tr[data-key="s2"] [data-measure="ack_in_time"] a').click()
    expect(watched.get_by_role("heading", level=1)).to_have_text("Second Station: acknowledged in time 0.0%")
    dockets = watched.locator("td.docket a")
    expect(dockets).to_have_count(6)
    expect(watched.get_by_role("cell", name="missed")).to_have_count(6)
    watched.screenshot(path=screenshots / "leaderboard-cases.png", full_page=True)
    dockets.first.click()
    expect(watched).to_have_url(f"{board.url}/cases/BLR-2026-200001")


def test_the_map_shades_the_stations_and_each_opens_its_cases(watched: Page, board: Served) -> None:  # noqa: F811
    sign_in(watched, board.url, "commissioner", PASSWORDS["commissioner"])
    first = watched.locator("section.maps a").first
    expect(first.locator("path")).to_have_attribute("fill", "#08519c")  # s1, the busiest
    first.click()
    expect(watched.get_by_role("heading", level=1)).to_contain_text("First <b>Station</b>: assigned 8")
