"""The demo: the sandbox platforms, the bot and SQLite on the sample deployment, in one process.

The scenario's times are shifted so that its newest post is "now": the demo reads like a live day
whatever date it runs on. ``--once`` releases the scenario in waves no larger than the X mentions
timeline keeps (800), polls every account until it has read everything, runs every stage, and
returns one summary; without it, posts keep arriving a few at a time until SIGTERM or Ctrl-C.

Officer notifications never leave the machine: they go to a local JSON receiver, one path per officer,
and each one is written to a JSONL file (``var/demo-notifications.jsonl`` unless told otherwise) that
the log and the ``--once`` summary name.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assembly.build import Assembly, build
from assembly.dashboard_app import make_dashboard
from assembly.demo_dashboard import DashboardServer, demo_secret, sample_accounts
from assembly.demo_followup import SimClock, last_reply_id, run_followup_days
from assembly.errors import StartupError
from assembly.settings import Settings, load_settings
from models.db import safe_url, session_scope
from models.secret import Secret
from models.stage import Clock, utc_now
from models.tables import Complaint, Mention
from monitor.loop import Bot
from monitor.settings import Account, FacebookPage, XAccount
from sandbox import AutoRelease, SandboxServer
from sandbox import FacebookPage as SandboxPage
from sandbox import XAccount as SandboxXAccount
from sandbox.ids import snowflake_at
from sandbox.receiver import NotificationReceiver
from sandbox.scenario import ScenarioError, ScenarioPost, load_scenario

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
SANDBOX_TOKEN = "sandbox-demo-token"
WAVE = 500  # posts released between two polls in --once: below the 800 the X timeline keeps
MAX_POLLS_PER_WAVE = 50
MAX_STAGE_PASSES = 50
DEFAULT_NOTIFICATIONS_FILE = ROOT / "var" / "demo-notifications.jsonl"
DEFAULT_REPLIES_FILE = ROOT / "var" / "demo-replies.jsonl"
DEFAULT_FOLLOWUP_HOURS = 72.0


def on_sandbox(account: Account, sandbox_url: str) -> Account:
    """The account pointed at the sandbox, with the sandbox's token for every secret it uses."""
    token = Secret(SANDBOX_TOKEN)
    if isinstance(account, XAccount):
        return replace(
            account,
            bearer_token=token,
            consumer_key=token,
            consumer_secret=token,
            access_token=token,
            access_token_secret=token,
            api_base_url=sandbox_url,
        )
    return replace(account, page_token=token, app_secret=token, api_base_url=sandbox_url)


def shift_to_now(posts: Sequence[ScenarioPost], now: datetime) -> list[ScenarioPost]:
    """The scenario moved so its newest post is ``now``.

    X posts without an id get one from their original time first, so the same scenario always has
    the same ids and running the demo again on the same database stores nothing new.
    """
    if not posts:
        return []
    delta = now - max(p.created_at for p in posts)
    return [
        replace(
            p,
            id=p.id or (str(snowflake_at(p.created_at, seq)) if p.platform == "x" else None),
            created_at=p.created_at + delta,
        )
        for seq, p in enumerate(posts)
    ]


DEFAULT_DEMO_DB = ROOT / "var" / "demo.db"
DEFAULT_DEMO_URL = f"sqlite:///{DEFAULT_DEMO_DB}"


def demo_database_url(environ: Mapping[str, str]) -> str:
    """The demo's database: ``DATABASE_URL`` when set, else ``var/demo.db`` (never the deployment's)."""
    return environ.get("DATABASE_URL") or DEFAULT_DEMO_URL


def run_demo(
    config: Path,
    *,
    environ: Mapping[str, str],
    once: bool,
    scenario: Path | None,
    database_url: str | None,
    stop: threading.Event | None,
    notifications: Path | None = None,
    replies: Path | None = None,
    followup_hours: float = DEFAULT_FOLLOWUP_HOURS,
) -> dict[str, Any]:
    settings = load_settings(config, environ, need_platform_secrets=False)
    scenario_path = scenario or settings.sandbox.scenario
    clock = SimClock(datetime.now(UTC))  # --once moves it on; the live demo keeps it at the real time
    live: Clock = utc_now
    try:
        posts = shift_to_now(load_scenario(scenario_path), clock.now)
    except ScenarioError as exc:
        raise StartupError(f"scenario {scenario_path}", exc.problems) from exc
    except OSError as exc:
        raise StartupError("scenario", [f"cannot read {scenario_path}: {exc.strerror}"]) from exc
    url = database_url or demo_database_url(environ)
    if not once and url == DEFAULT_DEMO_URL:
        # the live demo replays the scenario from its start: posts already stored would never show up again
        for stale in DEFAULT_DEMO_DB.parent.glob(DEFAULT_DEMO_DB.name + "*"):
            stale.unlink()
        logger.info("demo: starting from an empty %s", DEFAULT_DEMO_DB)
    server = SandboxServer(
        posts,
        host=settings.sandbox.host,
        port=0 if once else settings.sandbox.port,
        x_accounts=[
            SandboxXAccount(user_id=a.user_id, username=a.key) for a in settings.accounts if isinstance(a, XAccount)
        ],
        facebook_pages=[
            SandboxPage(page_id=a.key, name=a.name) for a in settings.accounts if isinstance(a, FacebookPage)
        ],
        release="manual" if once else AutoRelease(every_s=4.0, batch=2, initial=min(30, len(posts))),
        clock=clock if once else live,
    )
    try:
        server.start()
    except OSError as exc:
        raise StartupError(
            "sandbox",
            [
                f"cannot listen on {settings.sandbox.host}:{settings.sandbox.port}: {exc.strerror}"
                " (is another demo running? set [sandbox] port in config.toml)"
            ],
        ) from exc
    notifications_file = notifications or DEFAULT_NOTIFICATIONS_FILE
    try:
        receiver = NotificationReceiver(settings.sandbox.host, record_path=notifications_file).start()
    except OSError as exc:
        server.stop()
        raise StartupError("demo", [f"cannot write the notifications file {notifications_file}: {exc.strerror}"]) from exc
    built: Assembly | None = None
    try:
        demo_settings = replace(
            settings,
            accounts=tuple(on_sandbox(a, server.url) for a in settings.accounts),
            database_url=url,
            notify=replace(settings.notify, redirect_url=receiver.officer_url),
            # a fresh secret for the demo's dashboard: its forms and the officers' signed links
            dashboard=replace(settings.dashboard, secret_key=settings.dashboard.secret_key or Secret(demo_secret())),
            has_platform_secrets=True,
        )
        assembly = built = build(demo_settings, environ, clock=clock if once else live)
        engine = assembly.engine
        assert engine is not None and assembly.followup is not None and assembly.followup.actions is not None
        bot = Bot(engine, assembly.accounts, assembly.stages, settings.polling, clock=clock if once else live)
        logger.info("officer notifications go to %s and are written to %s", receiver.officer_url, notifications_file)
        if once:
            started, earlier_replies = clock.now, last_reply_id(engine)
            summary = _run_once(bot, server, engine, len(posts))
            if followup_hours > 0:
                summary |= run_followup_days(
                    bot, server, engine, assembly.followup.actions, clock,
                    since=started, hours=followup_hours, after_reply_id=earlier_replies,
                )
            replies_file = replies or DEFAULT_REPLIES_FILE
            return {
                **summary,
                "notifications_received": receiver.count(),
                "notifications_file": str(notifications_file),
                "replies_received": _write_received(server, replies_file),
                "replies_file": str(replies_file),
            }
        web = _serve_dashboard(demo_settings, engine, assembly)
        logger.info(
            "demo running: sandbox at %s, database %s, %d scenario posts arriving over time; Ctrl-C stops",
            server.url,
            safe_url(url),
            len(posts),
        )
        try:
            bot.run_forever(stop or threading.Event())
        finally:
            if web is not None:
                web.stop()
        return {}
    finally:
        receiver.stop()
        server.stop()
        if built is not None:
            built.close()  # the engine, and the SQLite lock for the next bot


def _serve_dashboard(settings: Settings, engine: Engine, assembly: Assembly) -> DashboardServer | None:
    """The dashboard beside the bot, with a fresh signing secret and one sample sign-in per role; None (and
    a warning) when its port is taken: the bot runs on."""
    accounts = sample_accounts(engine, assembly.organisation, datetime.now(UTC))
    app = make_dashboard(
        settings,
        engine,
        assembly.organisation,
        actions=assembly.followup.actions if assembly.followup else None,
        jurisdictions=assembly.jurisdictions,
    )
    try:
        web = DashboardServer(app, settings.dashboard.host, settings.dashboard.port).start()
    except (OSError, RuntimeError) as exc:
        logger.warning("dashboard not started on port %d (%s); set [dashboard] port", settings.dashboard.port, exc)
        return None
    logger.info("dashboard at %s — sign in as:", web.url)
    for a in accounts:
        logger.info("  %-12s password %-30s (%s: %s)", a.username, a.password, a.role, a.who)
    return web


def _write_received(server: SandboxServer, path: Path) -> int:
    """Everything the sandbox was sent (replies and private replies), one JSON line each; the count."""
    received = server.state.received()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            for item in received:
                out.write(json.dumps(item.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
    except OSError as exc:
        raise StartupError("demo", [f"cannot write the replies file {path}: {exc.strerror}"]) from exc
    return len(received)


def _run_once(bot: Bot, server: SandboxServer, engine: Engine, scenario_size: int) -> dict[str, Any]:
    new = 0
    while True:
        released = server.state.release(WAVE)
        for account in bot.accounts:
            for _ in range(MAX_POLLS_PER_WAVE):
                outcome = bot.poll(account)
                new += outcome.stored
                if outcome.complete or outcome.skipped:
                    break
            else:
                logger.warning("%s did not catch up within %d polls", account.platform.label, MAX_POLLS_PER_WAVE)
        if released == 0 and server.state.pending_count == 0:
            break
    stage_counts: dict[str, int] = {}
    for _ in range(MAX_STAGE_PASSES):  # until a pass finds nothing to do (a stage may bound its run)
        done = bot.run_stages()
        for key, value in done.items():
            stage_counts[key] = stage_counts.get(key, 0) + value
        if not any(done.values()):
            break
    with session_scope(engine) as session:
        mentions = session.execute(sa.select(sa.func.count()).select_from(Mention)).scalar_one()
        cases = session.execute(sa.select(sa.func.count()).select_from(Complaint)).scalar_one()
    return {"scenario_posts": scenario_size, "mentions": mentions, "new_mentions": new, "cases": cases, **stage_counts}
