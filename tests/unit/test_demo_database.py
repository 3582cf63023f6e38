"""Which database the demo writes and ``run.py cases --demo`` reads."""

from __future__ import annotations

from assembly.demo import ROOT, demo_database_url


def test_the_demo_uses_its_own_sqlite_file_by_default() -> None:
    assert demo_database_url({}) == f"sqlite:///{ROOT / 'var' / 'demo.db'}"


def test_database_url_in_the_environment_wins() -> None:
    url = "postgresql+psycopg://u@127.0.0.1:5432/test"
    assert demo_database_url({"DATABASE_URL": url}) == url
