"""The live demo replays its scenario from the start, so it starts from an empty database file."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from assembly import demo
from tests.conftest import ROOT


def test_the_live_demo_starts_from_an_empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "demo.db"
    with sqlite3.connect(stale) as db:
        db.execute("CREATE TABLE leftover (x INTEGER)")
    (tmp_path / "demo.db-wal").write_bytes(b"")
    monkeypatch.setattr(demo, "DEFAULT_DEMO_DB", stale)
    monkeypatch.setattr(demo, "DEFAULT_DEMO_URL", f"sqlite:///{stale}")
    stop = threading.Event()
    stop.set()  # start, then stop at the first chance
    config = ROOT / "config.toml.test-fresh-demo"  # beside the real one: its relative paths still resolve
    config.write_text(
        (ROOT / "config.toml").read_text(encoding="utf-8").replace("port = 8765", "port = 0"), encoding="utf-8"
    )
    request_cleanup = config.unlink
    try:
        demo.run_demo(
            config,
            environ={},
            once=False,
            scenario=None,
            database_url=None,
            stop=stop,
            notifications=tmp_path / "n.jsonl",
        )
    finally:
        request_cleanup()
    with sqlite3.connect(stale) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "leftover" not in tables and "mention" in tables
