"""Screenshots of the running demo's dashboard for the README: the leaderboard, the officer's queue and a case
timeline, in Debian's headless Chromium (never a downloaded browser).

    .venv/bin/python run.py demo --once --database-url sqlite:///var/shots.db
    .venv/bin/python scripts/demo_screenshots.py --database-url sqlite:///var/shots.db --output docs/screenshots

It serves the dashboard on that database (with the demo's sample sign-ins), signs in as the commissioner and
as an officer who holds cases, and saves leaderboard.png, queue.png and case.png.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlmodel import col, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assembly.city import load_city  # noqa: E402
from assembly.dashboard_app import make_dashboard  # noqa: E402
from assembly.database import open_database  # noqa: E402
from assembly.demo_dashboard import DashboardServer, demo_secret  # noqa: E402
from assembly.followup import make_case_actions, make_composer  # noqa: E402
from assembly.settings import load_settings  # noqa: E402
from dashboard.users import AccountError, add_user  # noqa: E402
from models.db import session_scope  # noqa: E402
from models.routing import Assignment  # noqa: E402
from models.secret import Secret  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    settings = load_settings(ROOT / "config.toml", os.environ, need_platform_secrets=False)
    jurisdictions, organisation, _ = load_city(settings, os.environ)
    engine = open_database(args.database_url)
    now = datetime.now(UTC)
    with session_scope(engine) as session:  # an officer holding several open cases
        held = session.exec(
            select(Assignment.officer_id).where(
                Assignment.role == "assignee", Assignment.status == "open", col(Assignment.officer_id).is_not(None)
            )
        ).all()
    officer = max(set(held), key=held.count)
    assert officer is not None
    for username, role, officer_id in (("shots-cp", "commissioner", "BCP0001"), ("shots-officer", "officer", officer)):
        try:
            add_user(engine, username=username, role=role, password="screenshot-password-1", now=now, officer_id=officer_id)
        except AccountError:
            pass
    actions = make_case_actions(settings, engine, organisation, make_composer(settings))
    app = make_dashboard(
        settings, engine, organisation, secret_key=Secret(demo_secret()), actions=actions, jurisdictions=jurisdictions
    )
    web = DashboardServer(app, "127.0.0.1", 0).start()
    args.output.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            for username, shots in (("shots-cp", ["leaderboard"]), ("shots-officer", ["queue", "case"])):
                page = browser.new_page(viewport={"width": 1366, "height": 1500 if username == "shots-cp" else 900})
                page.goto(f"{web.url}/login")
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", "screenshot-password-1")
                page.click("button[type=submit]")
                page.wait_for_load_state()
                for shot in shots:
                    if shot == "case":
                        page.goto(f"{web.url}/queue")
                        page.click("table a[href^='/cases/']")
                    else:
                        page.goto(f"{web.url}/{shot}")
                    page.wait_for_load_state()
                    page.screenshot(path=str(args.output / f"{shot}.png"), full_page=shot == "case")
                    print(f"{args.output / f'{shot}.png'}")  # noqa: T201
                page.close()
            browser.close()
    finally:
        web.stop()
        engine.dispose()


if __name__ == "__main__":
    main()
