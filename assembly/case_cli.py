"""``run.py case ...``: the officer actions for the desk and for scripts, on the deployment's database.

Each command names the case by its docket and the officer acting (``--officer``: the holder for ``ack``
and ``act``; the desk, a supervisor or the commissioner for the others), prints what changed, and exits
0; a refused action prints why and exits 1; a start-up problem (config, people data, database) exits 2.
``act`` prints the note as the citizen will read it (masked) before anything is stored; ``--dry-run``
stops there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from assembly.errors import StartupError
from models.lifecycle import IllegalTransition
from monitor.followup.actions import CaseActions, CaseNotFound, Outcome

ROOT = Path(__file__).resolve().parent.parent
case_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Act on one case: ack, act, close, reopen, ...")

Docket = Annotated[str, typer.Argument(help="the case's docket, e.g. BLR-2026-000123")]
Officer = Annotated[str, typer.Option("--officer", help="the id of the officer acting (officers.csv)")]
Reason = Annotated[str | None, typer.Option("--reason", help="why, for the audit trail")]
Config = Annotated[Path, typer.Option("--config", "-c", help="the deployment's TOML file")]
Demo = Annotated[bool, typer.Option("--demo", help="act on the demo's database (var/demo.db)")]


@contextmanager
def _actions(config: Path, demo: bool) -> Iterator[CaseActions]:
    from assembly.demo import demo_database_url
    from assembly.followup import open_case_actions

    try:
        with open_case_actions(config, os.environ, database_url=demo_database_url(os.environ) if demo else None) as actions:
            yield actions
    except StartupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _run(config: Path, demo: bool, call: Callable[[CaseActions, datetime], Outcome]) -> None:
    with _actions(config, demo) as actions:
        try:
            outcome = call(actions, datetime.now(UTC))
        except (IllegalTransition, CaseNotFound) as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(1) from None
    moved = outcome.transition
    line = f"{moved.docket}: {moved.from_status} → {moved.to_status} ({moved.action.value} by {moved.actor})"
    if outcome.replies:
        line += f"; {outcome.replies} reply(ies) to the citizen(s) queued"
    if outcome.told:
        line += f"; told {', '.join(outcome.told)}"
    typer.echo(line)


@case_app.command("ack")
def ack(docket: Docket, officer: Officer, config: Config = ROOT / "config.toml", demo: Demo = False) -> None:
    """Acknowledge a case you hold."""
    _run(config, demo, lambda a, now: a.acknowledge(docket, officer_id=officer, now=now))


@case_app.command("act")
def act(
    docket: Docket,
    officer: Officer,
    note: Annotated[str, typer.Option("--note", help="the action taken, as the citizen will read it")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the masked note, store nothing")] = False,
    config: Config = ROOT / "config.toml",
    demo: Demo = False,
) -> None:
    """Report the action taken on a case you hold; the citizen gets the note, masked, in their thread."""
    with _actions(config, demo) as actions:
        typer.echo(f"the citizen will read: {actions.preview_note(note)}")
    if not dry_run:
        _run(config, demo, lambda a, now: a.act(docket, officer_id=officer, note=note, now=now))


@case_app.command("close")
def close(docket: Docket, officer: Officer, reason: Reason = None, config: Config = ROOT / "config.toml", demo: Demo = False) -> None:
    """Close a case (after the action taken; the desk or a supervisor may close one with a reason)."""
    _run(config, demo, lambda a, now: a.close(docket, officer_id=officer, reason=reason, now=now))


@case_app.command("reopen")
def reopen(docket: Docket, officer: Officer, reason: Reason = None, config: Config = ROOT / "config.toml", demo: Demo = False) -> None:
    """Reopen a closed case; it goes back to its last officer (the desk when they cannot take it)."""
    _run(config, demo, lambda a, now: a.reopen(docket, officer_id=officer, reason=reason, now=now))


@case_app.command("reassign")
def reassign(
    docket: Docket,
    officer: Officer,
    to: Annotated[str, typer.Option("--to", help="the officer who takes the case")],
    reason: Reason = None,
    config: Config = ROOT / "config.toml",
    demo: Demo = False,
) -> None:
    """Give a case to another officer (its deadlines do not restart)."""
    _run(config, demo, lambda a, now: a.reassign(docket, officer_id=officer, to_officer=to, reason=reason, now=now))


@case_app.command("request-reassignment")
def request_reassignment(
    docket: Docket,
    officer: Officer,
    reason: Annotated[str, typer.Option("--reason", help="why someone else should take it")],
    config: Config = ROOT / "config.toml",
    demo: Demo = False,
) -> None:
    """Ask the desk and your supervisor to give a case you hold to someone else."""
    _run(config, demo, lambda a, now: a.request_reassignment(docket, officer_id=officer, reason=reason, now=now))


@case_app.command("merge")
def merge(
    docket: Docket,
    officer: Officer,
    into: Annotated[str, typer.Option("--into", help="the docket of the case this one joins")],
    config: Config = ROOT / "config.toml",
    demo: Demo = False,
) -> None:
    """Merge a duplicate into another case: its reporters get that case's replies."""
    _run(config, demo, lambda a, now: a.merge(docket, officer_id=officer, into=into, now=now))


@case_app.command("reject")
def reject(
    docket: Docket,
    officer: Officer,
    reason: Annotated[str, typer.Option("--reason", help="why, e.g. spam")],
    config: Config = ROOT / "config.toml",
    demo: Demo = False,
) -> None:
    """Reject a case (spam, abuse), with a reason; nothing is posted to the author."""
    _run(config, demo, lambda a, now: a.reject(docket, officer_id=officer, reason=reason, now=now))


@case_app.command("correct")
def correct(
    docket: Docket,
    officer: Officer,
    category: Annotated[str | None, typer.Option("--category", help="the right category (models/taxonomy.py)")] = None,
    place: Annotated[str | None, typer.Option("--place", help="the right place, as the gazetteer knows it")] = None,
    config: Config = ROOT / "config.toml",
    demo: Demo = False,
) -> None:
    """Correct a case's category or place (the desk): it is routed again and the correction kept for training."""
    _run(config, demo, lambda a, now: a.correct(docket, officer_id=officer, category=category, place=place, now=now))
