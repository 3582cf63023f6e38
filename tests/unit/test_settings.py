from __future__ import annotations

from pathlib import Path

import pytest

from monitor.settings import FacebookPage, Secret, SettingsError, XAccount, load_settings, parse_settings

ROOT = Path(__file__).resolve().parents[2]
FULL_ENV = {
    "X_BLRCITYTRAFFIC_BEARER_TOKEN": "b1",
    "X_BLRCITYPOLICE_BEARER_TOKEN": "b2",
    "FB_BCP_PAGE_TOKEN": "p1",
}


def test_sample_deployment_loads_with_its_secrets_from_the_environment() -> None:
    settings = load_settings(ROOT / "config.toml", FULL_ENV)
    assert [a.label for a in settings.accounts] == [
        "x @blrcitytraffic",
        "x @BlrCityPolice",
        "facebook Bengaluru City Police",
    ]
    x = settings.accounts[0]
    assert isinstance(x, XAccount) and x.bearer_token.reveal() == "b1"
    assert x.access_token is None  # not set in the environment: read-only account
    assert isinstance(settings.accounts[2], FacebookPage)
    assert "cmofkarnataka" in settings.vip_handles
    assert settings.database_url.startswith("sqlite:///")


def test_database_url_from_the_environment_wins() -> None:
    env = {**FULL_ENV, "DATABASE_URL": "postgresql+psycopg://bot@db:5432/police"}
    assert load_settings(ROOT / "config.toml", env).database_url == "postgresql+psycopg://bot@db:5432/police"


def test_every_missing_secret_is_named_in_one_error() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(ROOT / "config.toml", {})
    message = str(caught.value)
    for var in FULL_ENV:
        assert var in message
    assert len(caught.value.problems) == 3


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({}, "[deployment] section is missing"),
        ({"deployment": {"name": "x", "city": "y"}}, "at least one account"),
        (
            {"deployment": {"name": "x", "city": "y"}, "polling": {"interval_s": -1}, "accounts": []},
            "polling.interval_s must be greater than 0",
        ),
        (
            {"deployment": {"name": "x", "city": "y"}, "polling": {"max_results": 500}},
            "polling.max_results must be between 5 and 100",
        ),
        (
            {"deployment": {"name": 3, "city": "y"}},
            "deployment.name must be str",
        ),
        (
            {"deployment": {"name": "x", "city": "y"}, "accounts": [{"platform": "mastodon"}]},
            'accounts[1].platform must be "x" or "facebook"',
        ),
        (
            {
                "deployment": {"name": "x", "city": "y"},
                "accounts": [{"platform": "x", "handle": "a", "user_id": "@a", "bearer_token_env": "T"}],
            },
            "accounts[1].user_id must be the numeric X user id",
        ),
        (
            {"deployment": {"name": "x", "city": "y"}, "database": {"url": "mysql://root@db/x"}},
            "database url must start with sqlite://",
        ),
    ],
)
def test_bad_config_is_reported_clearly(document: dict[str, object], expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(document, {"T": "t"}, base_dir=ROOT)
    assert expected in str(caught.value)


def test_broken_toml_and_missing_file_are_reported(tmp_path: Path) -> None:
    broken = tmp_path / "config.toml"
    broken.write_text("[deployment\nname = 'x'\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(broken, {})
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", {})


def test_a_secret_never_shows_itself() -> None:
    secret = Secret("AAAA-very-secret-token")
    assert "very-secret" not in repr(secret)
    assert "very-secret" not in f"{secret} {[secret]} {secret!s}"
    settings = load_settings(ROOT / "config.toml", FULL_ENV)
    assert "b1" not in repr(settings.accounts[0]).replace("blrcitytraffic", "")
