"""``run.py user ...``: dashboard accounts from the command line.

``run.py`` mounts :data:`user_app` and hands it, as the context's ``obj``, a function that opens the
deployment's database: ``(config path or None) -> Engine``. Bad input (an unknown role, a user that
exists or does not, a weak password) is one line on stderr and exit 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy.engine import Engine

from dashboard import users
from dashboard.users import AccountError
from models.users import ROLES

EngineFactory = Callable[[Path | None], Engine]

user_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Dashboard accounts: add, list, disable, enable, set-role, reset-password.",
)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="the deployment's TOML file")]
RoleOption = Annotated[str, typer.Option("--role", help=f"one of: {', '.join(ROLES)}")]
OfficerOption = Annotated[str | None, typer.Option("--officer", help="the officer id in the roster")]
UnitOption = Annotated[str | None, typer.Option("--unit", help="the station or office id")]
StdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from the first line of stdin, not a prompt")
]


@user_app.command("add")
def add(
    ctx: typer.Context,
    username: str,
    role: RoleOption,
    officer: OfficerOption = None,
    unit: UnitOption = None,
    password_stdin: StdinOption = False,
    config: ConfigOption = None,
) -> None:
    """Add an account; the password comes from a prompt (asked twice) or --password-stdin."""
    with _told():
        name = users.check_username(username)
        users.check_role(role, officer_id=officer, unit_id=unit)
    password = _read_password(password_stdin)
    with _database(ctx, config) as engine, _told():
        users.add_user(
            engine, username=name, role=role, password=password, officer_id=officer, unit_id=unit, now=_now()
        )
    typer.echo(f"added {name} ({role})")


@user_app.command("list")
def list_(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Every account, its role, officer, unit, state and last sign-in."""
    with _database(ctx, config) as engine:
        rows = users.list_users(engine, now=_now())
    if not rows:
        typer.echo("no dashboard users yet: add one with `run.py user add USERNAME --role ROLE`")
        return
    table = [("USERNAME", "ROLE", "OFFICER", "UNIT", "STATE", "LAST SIGN-IN")] + [
        (
            r.username,
            r.role,
            r.officer_id or "-",
            r.unit_id or "-",
            r.state,
            f"{r.last_signin_at:%Y-%m-%d %H:%M} UTC" if r.last_signin_at else "never",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@user_app.command("disable")
def disable(ctx: typer.Context, username: str, config: ConfigOption = None) -> None:
    """Disable an account: its sessions end at once."""
    with _database(ctx, config) as engine, _told():
        users.set_disabled(engine, username=username, is_disabled=True, now=_now())
    typer.echo(f"disabled {username}; their sessions have ended")


@user_app.command("enable")
def enable(ctx: typer.Context, username: str, config: ConfigOption = None) -> None:
    """Enable a disabled account again."""
    with _database(ctx, config) as engine, _told():
        users.set_disabled(engine, username=username, is_disabled=False, now=_now())
    typer.echo(f"enabled {username}")


@user_app.command("set-role")
def set_role(
    ctx: typer.Context,
    username: str,
    role: RoleOption,
    officer: OfficerOption = None,
    unit: UnitOption = None,
    config: ConfigOption = None,
) -> None:
    """Change an account's role, officer and unit: its sessions end, and it signs in again."""
    with _database(ctx, config) as engine, _told():
        users.set_role(engine, username=username, role=role, officer_id=officer, unit_id=unit, now=_now())
    typer.echo(f"{username} is now {role}; their sessions have ended")


@user_app.command("reset-password")
def reset_password(
    ctx: typer.Context, username: str, password_stdin: StdinOption = False, config: ConfigOption = None
) -> None:
    """Set a new password: the account's sessions end and a lock-out is lifted."""
    password = _read_password(password_stdin)
    with _database(ctx, config) as engine, _told():
        users.reset_password(engine, username=username, password=password, now=_now())
    typer.echo(f"password of {username} reset; their sessions have ended")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            _fail("--password-stdin: nothing on stdin")
        return line.removesuffix("\n").removesuffix("\r")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@contextmanager
def _database(ctx: typer.Context, config: Path | None) -> Iterator[Engine]:
    factory = ctx.obj
    if not callable(factory):
        raise RuntimeError("user_app needs an engine factory as its context obj (see dashboard/cli.py)")
    engine: Engine = factory(config)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _told() -> Iterator[None]:
    try:
        yield
    except AccountError as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _now() -> datetime:
    return datetime.now(UTC)
