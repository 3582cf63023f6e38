"""Secrets never leak (DESIGN.md invariant 4): ``run.py bot`` and ``run.py dashboard`` at DEBUG (``--verbose``,
and ``LOG_HTTP_DEBUG=1`` for the HTTP clients' own DEBUG lines, which print URLs and headers) with known fake
secrets, doing real work against the sandbox, a local notification receiver and a local SMTP server: polls,
an expired token (401), a 503, replies, notifications, signing in, a wrong password, a missing CSRF token,
a 404, a 500 (a table renamed under it), a signed link opened. No secret, nor its base64 or URL-encoded form, is in any log line, page,
response header, or any column of any table; the session cookie is in no log and no table (only its hash),
the signed link's token in no log (the officer's message in the outbox holds it: it is how it is sent)."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, Session

from dashboard.passwords import hash_password
from models import users as store
from models.db import make_engine, migrate, session_scope
from sandbox import FacebookPage, FaultSpec, SandboxServer, XAccount, load_scenario
from sandbox.receiver import NotificationReceiver
from tests.builders import write_scenario
from tests.conftest import ROOT
from tests.e2e.test_ingest import sample_sections_from

RUN = [sys.executable, str(ROOT / "run.py")]
SECRETS = {  # distinctive fakes: any of them (or its encodings) found anywhere but the wire is a leak
    "X bearer token": "AAAAxbearer7Hq2Lm9Pz4Rt6Vw",
    "X consumer key": "xck4Nf8Jd2Ks6Lq",
    "X consumer secret": "xcs9Bv3Cx7Zn1Mq5Wl8Pr",
    "X access token": "1021737162349010945-xat5Gh2Jk8Lm",
    "X access token secret": "xats3Rt6Yu9Io2Pa4Sd",
    "Facebook page token": "EAAGfbpage8Uy3Tr6Ew9Qz",
    "Facebook app secret": "fbapp2Hg5Jk8Lz1Xc",
    "Apprise (webhook) password": "hookpw7Nm4Bv1Cx",
    "SMTP password": "smtppw3Kj6Hg9Fd",
    "dashboard secret key": "dashkey-5Tg8Yh2Uj6Ik9Ol3Pm7Nb4Vc1Xz0Aq",
    "dashboard user's password": "monsoon lantern ferry 4471",
}
USERNAME = "desk-anita"


def forms(secret: str, user: str | None = None) -> set[str]:
    """The secret as a log, a page or a database could hold it: plain, URL-encoded, base64 (alone and as
    HTTP Basic's ``user:secret``)."""
    found = {secret, quote(secret, safe=""), quote_plus(secret)}
    for raw in [secret] + ([f"{user}:{secret}"] if user else []):
        encoded = base64.b64encode(raw.encode()).decode()
        found |= {encoded, encoded.rstrip("="), base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")}
    return found


def leaks(text: str, extra: dict[str, str] | None = None) -> list[str]:
    names = {**SECRETS, **(extra or {})}
    users = {"Apprise (webhook) password": "hook", "SMTP password": "mailer"}
    return [name for name, secret in names.items() if any(f in text for f in forms(secret, users.get(name)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.content or b""
        self.messages.append(content.encode() if isinstance(content, str) else bytes(content))
        return "250 OK"


def accept_any_login(server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    return AuthResult(success=True)


@pytest.fixture
def smtp_port() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, auth_require_tls=False,
                            authenticator=accept_any_login)
    controller.start()
    yield mailbox, port
    controller.stop()


def config_for(tmp_path: Path, sandbox_url: str, database_url: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[deployment]
name = "secrets test"
city = "bengaluru"
data_dir = "{ROOT / "data"}"
[database]
url = "{database_url}"
[polling]
interval_s = 1
request_timeout_s = 10
backoff_initial_s = 0.2
backoff_max_s = 1
auth_retry_s = 1
[[accounts]]
platform = "x"
handle = "blrcitytraffic"
user_id = "1021737162349010945"
bearer_token_env = "S_X_BEARER"
consumer_key_env = "S_X_CK"
consumer_secret_env = "S_X_CS"
access_token_env = "S_X_AT"
access_token_secret_env = "S_X_ATS"
api_base_url = "{sandbox_url}"
[[accounts]]
platform = "facebook"
page_id = "104735829586723"
name = "Bengaluru City Police"
page_token_env = "S_FB_PAGE"
app_secret_env = "S_FB_APP"
api_base_url = "{sandbox_url}"
lookback_days = 30
"""
        + sample_sections_from("[routing]"),
        encoding="utf-8",
    )
    return config


def secret_env(receiver: NotificationReceiver, smtp_port: int, database_url: str) -> dict[str, str]:
    s = SECRETS
    hook = receiver.officer_url.replace("json://", f"json://hook:{s['Apprise (webhook) password']}@")
    mail = (f"mailto://mailer:{s['SMTP password']}@127.0.0.1:{smtp_port}?from=bot@example.org&to=desk@example.org"
            "&secure=no")
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NOTIFY_REDIRECT_URL")}
    return {
        **base,
        "S_X_BEARER": s["X bearer token"], "S_X_CK": s["X consumer key"], "S_X_CS": s["X consumer secret"],
        "S_X_AT": s["X access token"], "S_X_ATS": s["X access token secret"],
        "S_FB_PAGE": s["Facebook page token"], "S_FB_APP": s["Facebook app secret"],
        "DASHBOARD_SECRET_KEY": s["dashboard secret key"],
        "NOTIFY_REDIRECT_URL": f"{hook}, {mail}",
        "DATABASE_URL": database_url,
        "LOG_HTTP_DEBUG": "1",
    }


def wait_until(what: str, done: Callable[[], bool], process: subprocess.Popen[bytes], log: Path,
               timeout_s: float = 150) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert process.poll() is None, f"exited before {what}: {log.read_text(errors='replace')[-3000:]}"
        assert time.monotonic() < deadline, f"no {what} in {timeout_s} s: {log.read_text(errors='replace')[-3000:]}"
        time.sleep(0.2)


def every_column(database_url: str) -> str:
    """Every row of every table, as text."""
    engine = make_engine(database_url)
    meta = sa.MetaData()
    meta.reflect(engine)
    rows = []
    with engine.connect() as conn:
        for name, table in meta.tables.items():
            rows += [f"{name}: {json.dumps(dict(r), default=str)}" for r in conn.execute(sa.select(table)).mappings()]
    engine.dispose()
    assert len(rows) > 50, "the database is nearly empty: the bot did not do its work"
    return "\n".join(rows)


@pytest.mark.slow
def test_no_secret_reaches_a_log_a_page_a_header_or_the_database(
    tmp_path: Path, smtp_port: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_port
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    scenario = load_scenario(write_scenario(tmp_path / "s.jsonl", 3, 3, start=start))
    server = SandboxServer(
        scenario,
        x_accounts=[XAccount(user_id="1021737162349010945", username="blrcitytraffic",
                             access_token=SECRETS["X access token"])],
        facebook_pages=[FacebookPage(page_id="104735829586723", name="Bengaluru City Police")],
    ).start()
    server.state.add_fault(FaultSpec(kind="expired_token", platform="x", path="/mentions", count=1))
    server.state.add_fault(FaultSpec(kind="status", status=503, platform="facebook", count=1))
    receiver = NotificationReceiver().start()
    database_url = f"sqlite:///{tmp_path / 'desk.db'}"
    env = secret_env(receiver, port, database_url)
    config = config_for(tmp_path, server.url, database_url)
    bot_log, web_log = tmp_path / "bot.log", tmp_path / "dashboard.log"
    engine = make_engine(database_url)
    migrate(engine)  # before both processes start, so they do not race to migrate one SQLite file
    with session_scope(engine) as session:
        store.add_user(session, username=USERNAME, role="desk", password_hash=hash_password(SECRETS["dashboard user's password"]),
                       actor="test", now=datetime.now(UTC))
    engine.dispose()
    web_port = free_port()
    pages: list[str] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with bot_log.open("wb") as out:  # the bot and the dashboard start side by side: their start-ups overlap
            bot = subprocess.Popen([*RUN, "bot", "-c", str(config), "--verbose"], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
        processes.append(bot)
        with web_log.open("wb") as out:
            web = subprocess.Popen([*RUN, "dashboard", "-c", str(config), "--port", str(web_port), "--verbose"],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        processes.append(web)
        wait_until("an officer notified by webhook and e-mail and a reply posted", lambda: receiver.count() > 0
                   and bool(mailbox.messages) and len(server.state.received()) > 0, bot, bot_log)
        wait_until("the rejected token tried again", lambda: server.state.request_count(path_contains="/mentions") >= 2,
                   bot, bot_log)
        base = f"http://127.0.0.1:{web_port}"
        client = requests.Session()

        def seen(answer: requests.Response) -> requests.Response:
            pages.append(f"{answer.status_code} {answer.url}\n{dict(answer.headers)}\n{answer.text}")
            return answer

        def login_page() -> bool:
            try:
                seen(client.get(f"{base}/login", timeout=5))
                return True
            except requests.ConnectionError:
                return False

        def form_token() -> str:
            return seen(client.get(f"{base}/login", timeout=10)).text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]

        wait_until("the dashboard", login_page, web, web_log, timeout_s=90)
        password = SECRETS["dashboard user's password"]
        wrong = seen(client.post(f"{base}/login", data={"username": USERNAME, "password": password[::-1],
                                                       "csrftoken": form_token()}, allow_redirects=False))
        assert wrong.status_code != 303, "a wrong password signed in"
        no_csrf = seen(client.post(f"{base}/login", data={"username": USERNAME, "password": password}, allow_redirects=False))
        assert no_csrf.status_code == 403
        signed = seen(client.post(f"{base}/login", data={"username": USERNAME, "password": password, "csrftoken": form_token()},
                                  allow_redirects=False))
        assert signed.status_code == 303, signed.text[:500]
        cookie = {f"cookie {name}": value for name, value in client.cookies.items() if value and len(value) >= 20}
        with session_scope(make_engine(database_url)) as session:
            docket = session.execute(sa.text("SELECT docket FROM complaint WHERE docket IS NOT NULL")).scalars().first()
        for path in ("/triage", "/queue", "/leaderboard", "/leaderboard.csv", "/health", "/health.json",
                     f"/cases/{docket}", "/cases/BLR-2099-999999", "/no-such-page"):
            seen(client.get(f"{base}{path}", timeout=10))
        assert any(p.startswith("404 ") for p in pages) and any(f"200 {base}/cases/{docket}" in p for p in pages)
        seen(client.post(f"{base}/logout", data={}, allow_redirects=False))  # without its CSRF token: refused
        links = re.findall(r"/l/([A-Za-z0-9._~-]{16,})", json.dumps([m["body"] for m in receiver.received]))
        assert links, "no signed link in the officers' messages"
        link = {"signed link": links[0]}  # a password-free way into a case: never in a log
        opened = requests.get(f"{base}/l/{links[0]}", timeout=10)
        assert opened.status_code == 200 and links[0] not in json.dumps(dict(opened.headers))
        broken_engine = make_engine(database_url)
        with broken_engine.begin() as conn:  # a table gone: the case page fails (a 500, its traceback logged)
            conn.execute(sa.text("ALTER TABLE assignment RENAME TO assignment_gone"))
        broken_engine.dispose()
        assert seen(client.get(f"{base}/cases/{docket}", timeout=10)).status_code == 500
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        server.stop()
        receiver.stop()

    logs = bot_log.read_text(errors="replace") + web_log.read_text(errors="replace")
    assert "DEBUG" in logs and "urllib3" in logs, "the HTTP clients' DEBUG lines were not logged: nothing was tested"
    assert "401" in logs or "expired" in logs.lower() or "rejected" in logs.lower()
    assert not leaks(logs, {**cookie, **link}), [line for line in logs.splitlines() if leaks(line, {**cookie, **link})][:5]
    assert not leaks("\n".join(pages)), "a page or a header shows a secret"
    stored = every_column(database_url)
    assert not leaks(stored, cookie), [line[:300] for line in stored.splitlines() if leaks(line, cookie)][:5]
