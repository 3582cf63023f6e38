"""Deployment settings: ``load_settings(path, environ)`` returns a frozen, typed object.

Secrets come only from the environment, as :class:`Secret` values that mask themselves when printed.
Every missing or invalid value is collected and reported at once in one :class:`SettingsError`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Platform = Literal["x", "facebook"]
DEFAULT_DATABASE_FILE = "var/police-desk.db"


class SettingsError(ValueError):
    """The configuration is unusable; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the configuration:\n{lines}")


class Secret:
    """A secret value that never shows itself in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class XAccount:
    key: str  # the handle, e.g. "blrcitytraffic"
    user_id: str
    bearer_token: Secret
    # OAuth 1.0a user context, needed to post replies; absent → read-only account
    consumer_key: Secret | None = None
    consumer_secret: Secret | None = None
    access_token: Secret | None = None
    access_token_secret: Secret | None = None
    api_base_url: str | None = None  # None → the live API

    platform: Platform = "x"

    @property
    def label(self) -> str:
        return f"x @{self.key}"


@dataclass(frozen=True)
class FacebookPage:
    key: str  # the page id
    name: str
    page_token: Secret
    app_secret: Secret | None = None
    graph_version: str = "v21.0"
    lookback_days: int = 7
    api_base_url: str | None = None

    platform: Platform = "facebook"

    @property
    def label(self) -> str:
        return f"facebook {self.name}"


Account = XAccount | FacebookPage


@dataclass(frozen=True)
class PollingSettings:
    interval_s: float = 60.0
    max_results: int = 100
    request_timeout_s: float = 20.0
    backoff_initial_s: float = 5.0
    backoff_max_s: float = 900.0
    auth_retry_s: float = 900.0


@dataclass(frozen=True)
class SandboxSettings:
    host: str = "127.0.0.1"
    port: int = 8765
    scenario: Path = Path("data/scenarios/bengaluru_demo.jsonl")


@dataclass(frozen=True)
class Settings:
    deployment_name: str
    city: str
    timezone: str
    docket_prefix: str
    data_dir: Path
    database_url: str
    polling: PollingSettings
    sandbox: SandboxSettings
    accounts: tuple[Account, ...]
    vip_handles: frozenset[str] = frozenset()
    vip_page_ids: frozenset[str] = frozenset()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)  # sections other stages parse


class _Collector:
    """Reads typed values out of a TOML table and remembers every problem instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def get(self, table: Mapping[str, Any], where: str, key: str, kind: type, default: Any = ...) -> Any:
        if key not in table:
            if default is ...:
                self.problems.append(f"{where}.{key} is missing")
                return None
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problems.append(f"{where}.{key} must be {kind.__name__}, got {value!r}")
            return None
        return value

    def positive(self, value: float | None, where: str) -> None:
        if value is not None and value <= 0:
            self.problems.append(f"{where} must be greater than 0, got {value!r}")

    def secret(self, environ: Mapping[str, str], var: str | None, where: str, *, required: bool) -> Secret | None:
        if not var:
            if required:
                self.problems.append(f"{where} is missing (the name of an environment variable)")
            return None
        value = environ.get(var, "").strip()
        if not value:
            if required:
                self.problems.append(f"environment variable {var} is not set ({where})")
            return None
        return Secret(value)


def load_settings(path: Path, environ: Mapping[str, str]) -> Settings:
    """Read ``path`` (TOML) and the secrets it names from ``environ``; raise SettingsError listing every problem."""
    source = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SettingsError(source, [f"the file does not exist ({path.resolve()})"]) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(source, [f"not valid TOML: {exc}"]) from exc
    return parse_settings(document, environ, base_dir=path.resolve().parent, source=source)


def parse_settings(
    document: Mapping[str, Any], environ: Mapping[str, str], *, base_dir: Path, source: str = "config"
) -> Settings:
    c = _Collector()
    deployment = _table(document, "deployment", c)
    name = c.get(deployment, "deployment", "name", str)
    city = c.get(deployment, "deployment", "city", str)
    timezone = c.get(deployment, "deployment", "timezone", str, "UTC")
    docket_prefix = c.get(deployment, "deployment", "docket_prefix", str, "CASE")
    data_dir = base_dir / c.get(deployment, "deployment", "data_dir", str, "data")

    database = _table(document, "database", c, required=False)
    db_url = environ.get("DATABASE_URL") or c.get(database, "database", "url", str, "")
    if not db_url:
        db_url = f"sqlite:///{base_dir / DEFAULT_DATABASE_FILE}"
    elif not db_url.startswith(("sqlite://", "postgresql")):
        c.problems.append(
            f"database url must start with sqlite:// or postgresql+psycopg://, got {db_url.split(':')[0]}:..."
        )

    polling = _polling(_table(document, "polling", c, required=False), c)
    sandbox = _sandbox(_table(document, "sandbox", c, required=False), c, base_dir)
    accounts = _accounts(document.get("accounts", []), environ, c)

    vip = _table(document, "vip", c, required=False)
    handles = c.get(vip, "vip", "handles", list, [])
    page_ids = c.get(vip, "vip", "page_ids", list, [])

    if c.problems:
        raise SettingsError(source, c.problems)
    return Settings(
        deployment_name=name,
        city=city,
        timezone=timezone,
        docket_prefix=docket_prefix,
        data_dir=data_dir,
        database_url=db_url,
        polling=polling,
        sandbox=sandbox,
        accounts=tuple(accounts),
        vip_handles=frozenset(str(h).lstrip("@").lower() for h in handles or []),
        vip_page_ids=frozenset(str(p) for p in page_ids or []),
        raw=document,
    )


def _table(document: Mapping[str, Any], key: str, c: _Collector, *, required: bool = True) -> Mapping[str, Any]:
    value = document.get(key)
    if value is None:
        if required:
            c.problems.append(f"[{key}] section is missing")
        return {}
    if not isinstance(value, dict):
        c.problems.append(f"[{key}] must be a table")
        return {}
    return value


def _polling(t: Mapping[str, Any], c: _Collector) -> PollingSettings:
    d = PollingSettings()
    values = {
        k: c.get(t, "polling", k, float, getattr(d, k))
        for k in ("interval_s", "request_timeout_s", "backoff_initial_s", "backoff_max_s", "auth_retry_s")
    }
    for k, v in values.items():
        c.positive(v, f"polling.{k}")
    max_results = c.get(t, "polling", "max_results", int, d.max_results)
    if max_results is not None and not 5 <= max_results <= 100:
        c.problems.append(f"polling.max_results must be between 5 and 100, got {max_results}")
    return PollingSettings(max_results=max_results or d.max_results, **{k: v or 1.0 for k, v in values.items()})


def _sandbox(t: Mapping[str, Any], c: _Collector, base_dir: Path) -> SandboxSettings:
    d = SandboxSettings()
    port = c.get(t, "sandbox", "port", int, d.port)
    if port is not None and not 0 <= port <= 65535:
        c.problems.append(f"sandbox.port must be 0–65535, got {port}")
    return SandboxSettings(
        host=c.get(t, "sandbox", "host", str, d.host) or d.host,
        port=port if port is not None else d.port,
        scenario=base_dir / (c.get(t, "sandbox", "scenario", str, str(d.scenario)) or str(d.scenario)),
    )


def _accounts(items: Any, environ: Mapping[str, str], c: _Collector) -> list[Account]:
    if not isinstance(items, list) or not items:
        c.problems.append("[[accounts]]: at least one account to poll is needed")
        return []
    accounts: list[Account] = []
    seen: set[tuple[str, str]] = set()
    for i, t in enumerate(items, start=1):
        where = f"accounts[{i}]"
        if not isinstance(t, dict):
            c.problems.append(f"{where} must be a table")
            continue
        platform = c.get(t, where, "platform", str)
        base_url = c.get(t, where, "api_base_url", str, "") or None
        account: Account | None = None
        if platform == "x":
            key = (c.get(t, where, "handle", str) or "").lstrip("@")
            user_id = c.get(t, where, "user_id", str)
            bearer = c.secret(environ, t.get("bearer_token_env"), f"{where}.bearer_token_env", required=True)
            ck, cs, at, ats = (
                c.secret(environ, t.get(f"{k}_env"), f"{where}.{k}_env", required=False)
                for k in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
            )
            if user_id is not None and not user_id.isdigit():
                c.problems.append(f"{where}.user_id must be the numeric X user id, got {user_id!r}")
            if bearer is not None and key and user_id:
                account = XAccount(
                    key,
                    user_id,
                    bearer,
                    consumer_key=ck,
                    consumer_secret=cs,
                    access_token=at,
                    access_token_secret=ats,
                    api_base_url=base_url,
                )
        elif platform == "facebook":
            page_id = c.get(t, where, "page_id", str)
            name = c.get(t, where, "name", str, page_id or "")
            token = c.secret(environ, t.get("page_token_env"), f"{where}.page_token_env", required=True)
            app_secret = c.secret(environ, t.get("app_secret_env"), f"{where}.app_secret_env", required=False)
            version = c.get(t, where, "graph_version", str, "v21.0")
            lookback = c.get(t, where, "lookback_days", int, 7)
            if page_id is not None and not page_id.isdigit():
                c.problems.append(f"{where}.page_id must be the numeric page id, got {page_id!r}")
            if version and not version.startswith("v"):
                c.problems.append(f"{where}.graph_version must look like v21.0, got {version!r}")
            if token is not None and page_id:
                account = FacebookPage(
                    page_id, name, token, app_secret, version or "v21.0", lookback or 7, api_base_url=base_url
                )
        elif platform is not None:
            c.problems.append(f'{where}.platform must be "x" or "facebook", got {platform!r}')
        if account is not None:
            if (account.platform, account.key) in seen:
                c.problems.append(f"{where}: {account.label} is configured twice")
            seen.add((account.platform, account.key))
            accounts.append(account)
    return accounts
