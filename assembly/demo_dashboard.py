"""The demo's dashboard: sample sign-ins for each role, and the app served in a thread beside the bot."""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from dashboard.users import AccountError, add_user
from routing.people import Organisation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleAccount:
    username: str
    password: str
    role: str
    officer_id: str | None
    unit_id: str | None
    who: str


def sample_accounts(engine: Engine, organisation: Organisation, now: datetime) -> list[SampleAccount]:
    """One account per role, for officers of the sample force (made up): created once per database."""
    top = organisation.chain(organisation.desk_unit)[-1]
    commissioner, desk = organisation.head(top), organisation.head(organisation.desk_unit)
    acp_unit = next((u for u, o in sorted(organisation.offices.items()) if o.kind == "acp" and organisation.head(u)), None)
    acp = organisation.head(acp_unit) if acp_unit else None
    station = next((s for s in sorted(organisation.stations) if organisation.roster.shifts(s)), None)
    duty = next((o for o in organisation.members(station) if o.role == "duty"), None) if station else None
    chosen = [
        ("commissioner", "commissioner", commissioner, None),
        ("supervisor", "acp", acp, acp_unit),
        ("officer", "officer", duty, None),
        ("desk", "desk", desk, None),
    ]
    made = []
    for role, username, officer, unit in chosen:
        if officer is None:
            continue
        account = SampleAccount(
            username, f"{role[:3]}-sample-{officer.id.lower()}-pass", role, officer.id, unit, f"{officer.rank} {officer.name}"
        )
        try:
            add_user(engine, username=username, role=role, password=account.password, now=now,
                     officer_id=officer.id, unit_id=unit)
        except AccountError as exc:
            if "already a user" not in str(exc):  # a second run on the same database keeps its accounts
                raise
        made.append(account)
    return made


class DashboardServer:
    """uvicorn serving the dashboard in a thread until :meth:`stop`."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, log_config=None)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> DashboardServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the dashboard did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


def demo_secret() -> str:
    return secrets.token_urlsafe(32)
