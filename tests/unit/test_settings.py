"""The settings module: every broken configuration is named in one error, the sample one loads."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assembly.settings import SettingsError, load_settings, parse_settings
from models.secret import Secret
from monitor.settings import FacebookPage, XAccount

ROOT = Path(__file__).resolve().parents[2]
FULL_ENV = {
    "X_BLRCITYTRAFFIC_BEARER_TOKEN": "b1",
    "X_BLRCITYPOLICE_BEARER_TOKEN": "b2",
    "FB_BCP_PAGE_TOKEN": "p1",
}
SAMPLE: dict[str, Any] = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
Edit = Callable[[dict[str, Any]], None]


def problems_of(edit: Edit, environ: dict[str, str] | None = None) -> list[str]:
    document = copy.deepcopy(SAMPLE)
    edit(document)
    with pytest.raises(SettingsError) as caught:
        parse_settings(document, FULL_ENV if environ is None else environ, base_dir=ROOT, source="config.toml")
    assert str(caught.value).startswith(f"config.toml: {len(caught.value.problems)} problem(s)")
    return caught.value.problems


def put(path: str, value: object) -> Edit:
    """An edit setting ``deployment.timezone`` (or ``accounts.2.lookback_days``) to ``value``."""

    def edit(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        table: Any = document
        for part in parents:
            table = table[int(part)] if part.isdigit() else table.setdefault(part, {})
        table[int(last) if last.isdigit() else last] = value

    return edit


BROKEN: list[tuple[str, Edit, str]] = [
    ("a typo in a key", put("polling.intervl_s", 60), "polling.intervl_s: unknown key; did you mean interval_s?"),
    ("an unknown section", put("notfy", {}), "notfy: unknown section; did you mean notify?"),
    ("a time zone that does not exist", put("deployment.timezone", "Mars/Olympus"), "deployment.timezone: unknown time zone 'Mars/Olympus'"),
    ("a negative count", put("notify.max_attempts", -1), "notify.max_attempts: input should be greater than or equal to 1, got -1"),
    ("an unknown choice", put("routing.other_outcome", "bin"), "routing.other_outcome: input should be 'desk' or 'closed', got 'bin'"),
    ("a folder that does not exist", put("routing.people_dir", "nowhere"), "routing.people_dir: no such folder"),
    ("a confidence line above one", put("routing.desk_below_confidence", 1.5), "routing.desk_below_confidence: input should be less than or equal to 1, got 1.5"),
    ("a word where minutes belong", put("routing.deadlines.acknowledge_min", "soon"), "routing.deadlines.acknowledge_min: input should be a valid integer, got 'soon'"),
    ("a look-back of minus three days", put("accounts.2.lookback_days", -3), "accounts[3].lookback_days: input should be greater than or equal to 1, got -3"),
    ("an empty docket prefix", put("deployment.docket_prefix", ""), "deployment.docket_prefix: string should match pattern"),
    ("a data folder that does not exist", put("deployment.data_dir", "no-such-data"), "deployment.data_dir: no such folder"),
    ("a city without data", put("deployment.city", "atlantis"), "deployment.city: no such folder"),
    ("an unsupported database", put("database.url", "mysql://root@db/police"), "database.url: unsupported database URL (mysql://...)"),
    ("a name that is a number", put("deployment.name", 3), "deployment.name: input should be a valid string, got 3"),
    ("an unknown platform", lambda d: d["accounts"].append({"platform": "mastodon"}), 'accounts[4].platform: must be "x" or "facebook", got \'mastodon\''),
    ("a handle twice in another case", put("accounts.1.handle", "BLRCITYTRAFFIC"), "accounts[2]: x @BLRCITYTRAFFIC is accounts[1] again"),
    ("one X user id twice", put("accounts.1.user_id", SAMPLE["accounts"][0]["user_id"]), "accounts[2].user_id: 1021737162349010945 is also accounts[1]"),
    ("a page size out of range", put("polling.max_results", 500), "polling.max_results: input should be less than or equal to 100, got 500"),
    ("backoff limits reversed", put("notify.backoff_max_s", 1), "notify.backoff_max_s must not be less than notify.backoff_initial_s"),
    ("an unknown redirect placeholder", put("notify.redirect_url", "json://h:1/{channel}"), "notify.redirect_url: unknown placeholder(s) {channel}"),
    ("a user id that is a handle", put("accounts.0.user_id", "@blrcitytraffic"), "accounts[1].user_id: string should match pattern"),
]


@pytest.mark.parametrize(("edit", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_each_broken_configuration_is_named(edit: Edit, expected: str) -> None:
    problems = problems_of(edit)
    assert any(expected in p for p in problems), problems
    assert len(problems) == 1, problems  # the cause alone: no knock-on problems beside it


def test_several_problems_are_all_named_at_once() -> None:
    def edit(document: dict[str, Any]) -> None:
        for _, each, _ in BROKEN[:8]:
            each(document)

    problems = problems_of(edit)
    for _, _, expected in BROKEN[:8]:
        assert any(expected in p for p in problems), (expected, problems)
    assert len(problems) == 8


def test_every_missing_secret_is_named_in_one_error() -> None:
    problems = problems_of(lambda d: None, environ={})
    assert len(problems) == 3
    for var in FULL_ENV:
        assert any(var in p for p in problems)


def test_commands_that_never_call_a_platform_load_without_its_secrets() -> None:
    settings = load_settings(ROOT / "config.toml", {}, need_platform_secrets=False)
    assert not settings.has_platform_secrets
    assert [a.label for a in settings.accounts][0] == "x @blrcitytraffic"


def test_sample_deployment_loads_with_its_secrets_from_the_environment() -> None:
    settings = load_settings(ROOT / "config.toml", FULL_ENV)
    assert [a.label for a in settings.accounts] == ["x @blrcitytraffic", "x @BlrCityPolice", "facebook Bengaluru City Police"]
    x = settings.accounts[0]
    assert isinstance(x, XAccount) and x.bearer_token.reveal() == "b1"
    assert x.access_token is None  # not set in the environment: read-only account
    assert isinstance(settings.accounts[2], FacebookPage) and settings.accounts[2].lookback_days == 7
    assert "cmofkarnataka" in settings.vip_handles
    assert str(settings.routing.policy.deadlines.emergency.acknowledge) == "10 min"
    assert settings.routing.policy.desk_below_confidence == 0.5
    assert settings.routing.people_dir == ROOT / "data" / "bengaluru"
    assert settings.notify.max_attempts == 6 and settings.database_url.startswith("sqlite:///")


def test_the_environment_wins_for_database_and_redirect() -> None:
    env = {**FULL_ENV, "DATABASE_URL": "postgresql+psycopg://bot@db:5432/police", "NOTIFY_REDIRECT_URL": "json://127.0.0.1:9/notify/{officer}"}
    settings = load_settings(ROOT / "config.toml", env)
    assert settings.database_url == "postgresql+psycopg://bot@db:5432/police"
    assert settings.notify.redirect_url == "json://127.0.0.1:9/notify/{officer}"
    with pytest.raises(SettingsError, match=r"\{offcer\}"):
        load_settings(ROOT / "config.toml", {**FULL_ENV, "NOTIFY_REDIRECT_URL": "json://h:1/{offcer}"})


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
