"""Browser tests: the dashboard served by uvicorn in a thread on a free port, against a migrated SQLite file,
driven by Playwright in Debian's Chromium (``/usr/bin/chromium``; never a downloaded browser).

Without Chromium these tests skip and say why, except under CI (``CI=true``), where they fail: ``make``'s
install step puts Chromium there. The Chromium version is printed at the end of the run.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser
from sqlalchemy.engine import Engine

from dashboard.users import add_user
from models.db import make_engine, migrate
from tests.integration.test_dashboard_auth import FakeClock, make_app
from tests.integration.test_dashboard_pages import seed, units_under

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
LOCKABLE = ("lockable", "the right password")  # an officer account the lock-out test may lock
VERSION = pytest.StashKey[str]()


@dataclass(frozen=True)
class Served:
    url: str
    engine: Engine
    clock: FakeClock


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    version = config.stash.get(VERSION, None)
    if version is not None:
        terminalreporter.write_line(f"browser tests ran in Chromium {version} ({CHROMIUM})")


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        reason = f"the browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium; make does it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; under CI=true they must run")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any], chromium: Path) -> dict[str, Any]:
    """pytest-playwright launches this Chromium instead of downloading its own."""
    return {**browser_type_launch_args, "executable_path": str(chromium), "headless": True}


@pytest.fixture(scope="session", autouse=True)
def _chromium_version(request: pytest.FixtureRequest, browser: Browser) -> None:
    request.config.stash[VERSION] = browser.version


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated SQLite file with one account per role, four cases (see ``seed``) and a lockable officer."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('dashboard') / 'dashboard.db'}")
    migrate(engine)
    seed(engine)
    add_user(engine, username=LOCKABLE[0], role="officer", officer_id="L2-A", password=LOCKABLE[1], now=FakeClock().now)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def dashboard(database: Engine) -> Iterator[Served]:
    clock = FakeClock()
    with serve(make_app(database, clock, units_under=units_under)) as url:
        yield Served(url, database, clock)


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


class serve:
    """uvicorn serving ``app`` in a thread on a free port of 127.0.0.1, until the block ends."""

    def __init__(self, app: FastAPI) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the dashboard did not start")
            time.sleep(0.02)
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
