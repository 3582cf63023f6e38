"""The deployment's settings: ``load_settings(path, environ)`` reads ``config.toml`` into frozen, typed objects.

Every section is parsed here and nowhere else; stages receive their own typed object (``PollingSettings``,
``Policy``, ``NotifySettings``), never raw TOML. The file's shape is checked by pydantic models that refuse
unknown keys, wrong types, numbers out of range and unknown choices; the checks pydantic cannot make
(timezone, folders and files, database URL, secrets, colliding accounts) follow. Every problem is collected
and reported at once in one :class:`SettingsError`; a problem caused by another one already reported (a
missing folder's missing files) is left out. Secrets come only from the environment, as masked values.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assembly.dashboard_settings import DashboardSection, _Dashboard, dashboard_section, secret_problems
from assembly.errors import StartupError
from assembly.followup_settings import FollowupSettings, Parser, _Followup, followup_checks, followup_settings
from assembly.retention_settings import _Retention, retention_settings
from classifiers.filing import IncidentPolicy
from models.deadlines import DeadlinePolicy
from models.retention import Retention
from models.secret import Secret
from monitor.followup.masking import MaskingPolicy
from monitor.settings import Account, FacebookPage, PollingSettings, XAccount
from monitor.watch import WatchSettings
from notify.settings import REDIRECT_PLACEHOLDERS, NotifySettings
from routing.rules import DEFAULT_AUTHORITIES, Deadlines, Policy

DEFAULT_DATABASE_FILE = "var/police-desk.db"
PEOPLE_FILES = ("officers.csv", "offices.csv", "supervisors.csv")  # rosters.csv and cameras.csv are optional
CITY_FILES = ("stations.csv", "places.csv")
DATABASE_KINDS = ("sqlite", "postgresql+psycopg", "postgresql")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
FOLLOWUP_PARSERS: dict[str, Parser] = {  # the [followup] sub-tables each stage reads with its own from_mapping
    "deadlines": DeadlinePolicy.from_mapping,
    "masking": MaskingPolicy.from_mapping,
    "incidents": IncidentPolicy.from_mapping,
}


class SettingsError(StartupError):
    """The configuration is unusable; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        super().__init__(source, problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        self.args = (f"{source}: {len(self.problems)} problem(s) in the configuration:\n{lines}",)


# ---- the file's shape ---------------------------------------------------------------------------------


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


PositiveS = Annotated[float, Field(gt=0)]


class _Deployment(_Table):
    name: Annotated[str, Field(min_length=1)]
    city: Annotated[str, Field(min_length=1, pattern=r"^[a-z0-9_-]+$")]
    timezone: str = "UTC"
    docket_prefix: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{0,9}$")] = "CASE"
    data_dir: Annotated[str, Field(min_length=1)] = "data"


class _Database(_Table):
    url: str = ""


class _Polling(_Table):
    interval_s: PositiveS = 60.0
    max_results: Annotated[int, Field(ge=5, le=100)] = 100
    request_timeout_s: PositiveS = 20.0
    backoff_initial_s: PositiveS = 5.0
    backoff_max_s: PositiveS = 900.0
    auth_retry_s: PositiveS = 900.0
    stage_interval_s: PositiveS = 5.0


class _Sandbox(_Table):
    host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8765
    scenario: str = "data/scenarios/bengaluru_demo.jsonl"


EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class _XAccount(_Table):
    platform: Literal["x"]
    handle: Annotated[str, Field(pattern=r"^@?[A-Za-z0-9_]{1,15}$")]
    user_id: Annotated[str, Field(pattern=r"^[0-9]{1,20}$")]
    bearer_token_env: EnvName
    consumer_key_env: EnvName | None = None
    consumer_secret_env: EnvName | None = None
    access_token_env: EnvName | None = None
    access_token_secret_env: EnvName | None = None
    api_base_url: str | None = None


class _FacebookPage(_Table):
    platform: Literal["facebook"]
    page_id: Annotated[str, Field(pattern=r"^[0-9]{1,20}$")]
    name: Annotated[str, Field(min_length=1)] | None = None
    page_token_env: EnvName
    app_secret_env: EnvName | None = None
    graph_version: Annotated[str, Field(pattern=r"^v[0-9]+\.[0-9]+$")] = "v21.0"
    lookback_days: Annotated[int, Field(ge=1, le=90)] = 7
    api_base_url: str | None = None


class _Vip(_Table):
    handles: list[Annotated[str, Field(min_length=1)]] = []
    page_ids: list[Annotated[str, Field(pattern=r"^[0-9]{1,20}$")]] = []


PositiveMin = Annotated[int, Field(gt=0)]


class _Deadlines(_Table):
    acknowledge_min: PositiveMin = Deadlines.acknowledge_min
    action_min: PositiveMin = Deadlines.action_min
    emergency_acknowledge_min: PositiveMin = Deadlines.emergency_acknowledge_min
    emergency_action_min: PositiveMin = Deadlines.emergency_action_min
    vip_acknowledge_min: PositiveMin = Deadlines.vip_acknowledge_min
    vip_action_min: PositiveMin = Deadlines.vip_action_min


class _Routing(_Table):
    people_dir: str | None = None  # under data_dir; default: the city's folder
    desk_office: Annotated[str, Field(min_length=1)] = "desk"
    other_outcome: Literal["desk", "closed"] = "desk"
    camera_radius_m: Annotated[float, Field(gt=0, le=5000)] = 300.0
    max_cameras: Annotated[int, Field(ge=0, le=50)] = 5
    batch_size: Annotated[int, Field(gt=0, le=10_000)] = 200
    referral_default: Annotated[str, Field(min_length=1)] = "BBMP"
    desk_below_confidence: Annotated[float, Field(ge=0, le=1)] = 0.5
    deadlines: _Deadlines = _Deadlines()
    referral_authorities: dict[str, Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]] | None = (
        None
    )


class _Notify(_Table):
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 6
    backoff_initial_s: PositiveS = 30.0
    backoff_max_s: PositiveS = 1800.0
    sending_timeout_s: PositiveS = 300.0
    batch_size: Annotated[int, Field(gt=0, le=10_000)] = 100
    concurrency: Annotated[int, Field(ge=1, le=32)] = 1
    dashboard_base_url: Annotated[str, Field(pattern=r"^https?://")] = "http://127.0.0.1:8000"
    redirect_url: str | None = None


class _Watch(_Table):
    no_poll_min: Annotated[float, Field(gt=0)] = 15.0
    stage_failures: Annotated[int, Field(ge=1)] = 3
    stage_window_min: Annotated[float, Field(gt=0)] = 10.0
    backlog_limit: Annotated[int, Field(ge=1)] = 500


class _Document(_Table):
    deployment: _Deployment
    database: _Database = _Database()
    polling: _Polling = _Polling()
    sandbox: _Sandbox = _Sandbox()
    accounts: Annotated[
        list[Annotated[_XAccount | _FacebookPage, Field(discriminator="platform")]], Field(min_length=1)
    ]
    vip: _Vip = _Vip()
    routing: _Routing = _Routing()
    notify: _Notify = _Notify()
    followup: _Followup = _Followup()
    dashboard: _Dashboard = _Dashboard()
    watch: _Watch = _Watch()
    retention: _Retention = _Retention()


# ---- what the stages get --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SandboxSettings:
    host: str = "127.0.0.1"
    port: int = 8765
    scenario: Path = Path("data/scenarios/bengaluru_demo.jsonl")


@dataclass(frozen=True)
class RoutingSettings:
    people_dir: Path
    desk_office: str
    policy: Policy
    camera_radius_m: float = 300.0
    max_cameras: int = 5
    batch_size: int = 200


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
    routing: RoutingSettings
    notify: NotifySettings
    followup: FollowupSettings
    dashboard: DashboardSection
    watch: WatchSettings
    retention: Retention = Retention()
    vip_handles: frozenset[str] = frozenset()
    vip_page_ids: frozenset[str] = frozenset()
    has_platform_secrets: bool = True  # False: loaded for a command that never calls a platform

    @property
    def city_dir(self) -> Path:
        return self.data_dir / self.city

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_accounts(self, accounts: Sequence[Account]) -> Settings:
        return replace(self, accounts=tuple(accounts))


# ---- reading ------------------------------------------------------------------------------------------------


def load_settings(path: Path, environ: Mapping[str, str], *, need_platform_secrets: bool = True) -> Settings:
    """Read ``path`` (TOML) and the secrets it names from ``environ``; raise SettingsError listing every
    problem. ``need_platform_secrets=False``: for commands that never call a platform (``cases``, the
    dashboard): unset platform secrets are not problems, and the accounts hold empty ones."""
    source = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SettingsError(source, [f"the file does not exist ({path.resolve()})"]) from exc
    except IsADirectoryError as exc:
        raise SettingsError(source, [f"is a folder, not a TOML file ({path.resolve()})"]) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(source, [f"not valid TOML: {exc}"]) from exc
    return parse_settings(
        document, environ, base_dir=path.resolve().parent, source=source, need_platform_secrets=need_platform_secrets
    )


def parse_settings(
    document: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    base_dir: Path,
    source: str = "config",
    need_platform_secrets: bool = True,
) -> Settings:
    try:
        doc: _Document | None = _Document.model_validate(document)
        problems: list[str] = []
    except ValidationError as exc:
        doc, problems = None, _describe(exc, document)
    problems += _checks(document, environ, base_dir, need_secrets=need_platform_secrets)
    if problems or doc is None:
        raise SettingsError(source, problems)
    d, r = doc.deployment, doc.routing
    data_dir = base_dir / d.data_dir
    authorities = DEFAULT_AUTHORITIES
    if r.referral_authorities is not None:
        authorities = tuple((n, tuple(k.lower() for k in ks)) for n, ks in r.referral_authorities.items())
    policy = Policy(
        r.other_outcome,
        _deadlines(doc, r),
        authorities,
        r.referral_default,
        desk_below_confidence=r.desk_below_confidence,
    )
    return Settings(
        deployment_name=d.name,
        city=d.city,
        timezone=d.timezone,
        docket_prefix=d.docket_prefix,
        data_dir=data_dir,
        database_url=environ.get("DATABASE_URL") or doc.database.url or f"sqlite:///{base_dir / DEFAULT_DATABASE_FILE}",
        polling=PollingSettings(**doc.polling.model_dump()),
        sandbox=SandboxSettings(doc.sandbox.host, doc.sandbox.port, base_dir / doc.sandbox.scenario),
        accounts=tuple(_account(t, environ) for t in doc.accounts),
        routing=RoutingSettings(
            data_dir / (r.people_dir or d.city), r.desk_office, policy, r.camera_radius_m, r.max_cameras, r.batch_size
        ),
        notify=NotifySettings(**{**doc.notify.model_dump(), "redirect_url": _redirect(doc.notify.redirect_url, environ)}),
        followup=followup_settings(doc.followup, data_dir=data_dir, deployment_name=d.name),
        dashboard=dashboard_section(doc.dashboard, environ),
        watch=WatchSettings(**doc.watch.model_dump()),
        retention=retention_settings(doc.retention),
        vip_handles=frozenset(h.lstrip("@").lower() for h in doc.vip.handles),
        vip_page_ids=frozenset(doc.vip.page_ids),
        has_platform_secrets=need_platform_secrets,
    )


def _deadlines(doc: _Document, r: _Routing) -> DeadlinePolicy:
    """``[followup.deadlines]`` (minutes or working days, per category) when given, else ``[routing.deadlines]``."""
    if doc.followup.deadlines:
        return DeadlinePolicy.from_mapping(doc.followup.deadlines, tz=ZoneInfo(doc.deployment.timezone))
    return replace(Deadlines(**r.deadlines.model_dump()).policy(), tz=ZoneInfo(doc.deployment.timezone))


def _checks(document: Mapping[str, Any], environ: Mapping[str, str], base_dir: Path, *, need_secrets: bool) -> list[str]:
    """What the file's shape cannot say: the time zone, folders and files, the database URL, secrets, accounts
    that collide, limits that contradict each other. Reads the raw document defensively, so these problems are
    reported beside the shape's own."""
    problems: list[str] = []
    deployment = _sub(document, "deployment")
    timezone = deployment.get("timezone", "UTC")
    if isinstance(timezone, str):
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"deployment.timezone: unknown time zone {timezone!r} (an IANA name such as Asia/Kolkata)")
    data_dir_name, city = deployment.get("data_dir", "data"), deployment.get("city")
    routing = _sub(document, "routing")
    people_name = routing.get("people_dir", city)
    if isinstance(data_dir_name, str) and data_dir_name:
        data_dir = base_dir / data_dir_name
        if not data_dir.is_dir():
            problems.append(f"deployment.data_dir: no such folder {data_dir}")
        else:
            if isinstance(city, str) and city:
                problems += _folder("deployment.city", data_dir / city, CITY_FILES)
            if isinstance(people_name, str) and people_name and (people_name != city or (data_dir / city).is_dir()):
                problems += _folder("routing.people_dir", data_dir / people_name, PEOPLE_FILES)
    url = environ.get("DATABASE_URL") or _sub(document, "database").get("url") or "sqlite://"
    if isinstance(url, str):
        problems += _database_url(url, "DATABASE_URL" if environ.get("DATABASE_URL") else "database.url")
    for section in ("polling", "notify"):
        table = _sub(document, section)
        low, high = table.get("backoff_initial_s"), table.get("backoff_max_s")
        if isinstance(low, int | float) and isinstance(high, int | float) and high < low:
            problems.append(f"{section}.backoff_max_s must not be less than {section}.backoff_initial_s")
    redirect = _redirect(_sub(document, "notify").get("redirect_url"), environ)
    unknown = sorted(set(_PLACEHOLDER.findall(redirect or "")) - REDIRECT_PLACEHOLDERS)
    if unknown:
        problems.append(f"notify.redirect_url: unknown placeholder(s) {', '.join(unknown)} (only {{officer}} is filled in)")
    data_dir_path = base_dir / data_dir_name if isinstance(data_dir_name, str) and data_dir_name else None
    problems += followup_checks(document, FOLLOWUP_PARSERS, data_dir_path)
    problems += secret_problems(document, environ)
    return problems + _account_checks(document.get("accounts"), environ, need_secrets=need_secrets)


def _account_checks(items: Any, environ: Mapping[str, str], *, need_secrets: bool) -> list[str]:
    problems: list[str] = []
    handles: dict[str, int] = {}
    ids: dict[tuple[str, str], int] = {}
    for number, t in enumerate(items if isinstance(items, list) else [], start=1):
        if not isinstance(t, dict):
            continue
        where, platform = f"accounts[{number}]", t.get("platform")
        required = {"x": "bearer_token_env", "facebook": "page_token_env"}.get(str(platform))
        var = t.get(required) if required else None
        if need_secrets and isinstance(var, str) and var and not environ.get(var, "").strip():
            problems.append(f"{where}.{required}: environment variable {var} is not set")
        handle = t.get("handle")
        if platform == "x" and isinstance(handle, str):
            folded = handle.lstrip("@").lower()
            if folded in handles:
                problems.append(f"{where}: x @{handle.lstrip('@')} is accounts[{handles[folded]}] again (X handles ignore case)")
            handles.setdefault(folded, number)
        key_name = {"x": "user_id", "facebook": "page_id"}.get(str(platform))
        value = t.get(key_name) if key_name else None
        if isinstance(value, str):
            key = (str(platform), value)
            if key in ids:
                problems.append(f"{where}.{key_name}: {value} is also accounts[{ids[key]}] (one timeline polled twice)")
            ids.setdefault(key, number)
    return problems


def _sub(document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def _redirect(configured: object, environ: Mapping[str, str]) -> str | None:
    """``NOTIFY_REDIRECT_URL`` in the environment wins over ``notify.redirect_url``."""
    value = environ.get("NOTIFY_REDIRECT_URL") or configured
    return value if isinstance(value, str) and value else None


def _account(t: _XAccount | _FacebookPage, environ: Mapping[str, str]) -> Account:
    """An account with its secrets read from the environment (an unset required one reads as empty: only
    possible when the settings were loaded without platform secrets)."""

    def secret(var: str | None) -> Secret | None:
        value = environ.get(var, "").strip() if var else ""
        return Secret(value) if value else None

    if isinstance(t, _XAccount):
        return XAccount(
            t.handle.lstrip("@"),
            t.user_id,
            secret(t.bearer_token_env) or Secret(""),
            consumer_key=secret(t.consumer_key_env),
            consumer_secret=secret(t.consumer_secret_env),
            access_token=secret(t.access_token_env),
            access_token_secret=secret(t.access_token_secret_env),
            api_base_url=t.api_base_url,
        )
    return FacebookPage(
        t.page_id,
        t.name or t.page_id,
        secret(t.page_token_env) or Secret(""),
        secret(t.app_secret_env),
        t.graph_version,
        t.lookback_days,
        api_base_url=t.api_base_url,
    )


def _folder(where: str, folder: Path, files: Sequence[str]) -> list[str]:
    if not folder.is_dir():
        return [f"{where}: no such folder {folder}"]
    missing = [name for name in files if not (folder / name).is_file()]
    return [f"{where}: {folder} has no {', '.join(missing)}"] if missing else []


def _database_url(url: str, where: str) -> list[str]:
    kind = url.split("://", 1)[0] if "://" in url else ""
    if kind not in DATABASE_KINDS:
        shown = f"{kind}://..." if kind else "no scheme"
        return [f"{where}: unsupported database URL ({shown}); use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"]
    return []


def _describe(exc: ValidationError, document: Mapping[str, Any]) -> list[str]:
    """pydantic's errors as one line each, in the file's own terms: ``polling.intervl_s: unknown key; did
    you mean interval_s?``, ``accounts[2].platform: must be one of 'x', 'facebook'``."""
    problems: list[str] = []
    for error in exc.errors():
        loc = [part for part in error["loc"] if part not in ("x", "facebook") or not _after_list(error["loc"], part)]
        where = _where(loc)
        kind = error["type"]
        if kind == "extra_forbidden":
            noun = "section" if len(loc) == 1 else "key"
            problems.append(f"{where}: unknown {noun}{_suggestion(loc, document)}")
        elif kind == "missing":
            problems.append(f"{where}: missing" + (" section" if len(loc) == 1 else ""))
        elif kind == "union_tag_not_found":
            problems.append(f'{where}.platform: missing (x or facebook)')
        elif kind == "union_tag_invalid":
            tag = error.get("ctx", {}).get("tag")
            problems.append(f'{where}.platform: must be "x" or "facebook", got {tag!r}')
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message[0].lower() + message[1:]}, got {_got(error)}")
    return problems


def _after_list(loc: tuple[int | str, ...], part: int | str) -> bool:
    """Whether ``part`` is pydantic's union tag (it follows a list index), not a key of the file."""
    index = loc.index(part)
    return index > 0 and isinstance(loc[index - 1], int)


def _where(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "config"


def _got(error: Any) -> str:
    value = error.get("input")
    if isinstance(value, dict):
        return "a table"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggestion(loc: Sequence[int | str], document: Mapping[str, Any]) -> str:
    """`` (did you mean interval_s?)``: the nearest known key of the same table, if one is close."""
    model: Any = _Document
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return ""
        model = _model_of(field.annotation, loc, document)
        if model is None:
            return ""
    known = list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _model_of(annotation: Any, loc: Sequence[int | str], document: Mapping[str, Any]) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if loc and loc[0] == "accounts":  # the list of accounts: pick the platform's model
        index = next((p for p in loc if isinstance(p, int)), None)
        items = document.get("accounts")
        if isinstance(items, list) and index is not None and index < len(items) and isinstance(items[index], dict):
            return {"x": _XAccount, "facebook": _FacebookPage}.get(items[index].get("platform"))
    return None
