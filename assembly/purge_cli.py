"""``run.py purge [--dry-run]``: apply ``[retention]`` to the deployment's database and say what went.

Progress goes to stderr (a step's counts so far per table, every few seconds); the summary to stdout, one line
per step and a last line with the total. A dry run prints the same counts and changes nothing. Exit 0.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

import typer
from sqlalchemy.engine import Engine

from assembly.settings import Settings
from models.purge import purge
from models.retention import PurgeCounts, cutoffs

logger = logging.getLogger(__name__)
PROGRESS_EVERY_S = 2.0
STEP_TITLES = {
    "raw_payloads": "raw platform payloads",
    "cases": "personal data of finished cases",
    "desk_messages": "bodies of the desk's alerts",
    "audit_details": "personal data inside audit events",
    "sessions": "ended dashboard sign-ins",
}


def run_purge(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    dry_run: bool = False,
    echo: Callable[[str], None] = typer.echo,
    show: Callable[[str], None] = lambda line: typer.echo(line, err=True),
) -> dict[str, PurgeCounts]:
    """Purge (or count, with ``dry_run``) what is past retention at ``now``; the counts per step."""
    policy = settings.retention
    cut = cutoffs(policy, now, reopen_window_days=settings.followup.reopen_window_days)
    verb = "would change" if dry_run else "changed"

    shown: dict[str, float] = {}

    def progress(step: str, counts: PurgeCounts) -> None:
        """A step's first batch, then at most one line every PROGRESS_EVERY_S: a long purge says how far it is."""
        if step not in shown or time.monotonic() - shown[step] >= PROGRESS_EVERY_S:
            shown[step] = time.monotonic()
            show(f"purge {step}: {counts.format()} so far")

    echo(
        f"{'dry run: ' if dry_run else ''}purging what is past retention: raw payloads stored before "
        f"{cut.raw_payload_before:%Y-%m-%d}, cases finished before {cut.personal_data_before:%Y-%m-%d}, "
        f"audit details before {cut.audit_detail_before:%Y-%m-%d}, sign-ins ended before "
        f"{cut.session_ended_before:%Y-%m-%d}"
    )
    done = purge(engine, cut, now=now, batch_size=policy.batch_size, dry_run=dry_run, progress=progress)
    for step, counts in done.items():
        echo(f"  {STEP_TITLES[step]}: {verb} {counts.format()}")
    total = sum(counts.total for counts in done.values())
    echo(f"{total} row(s) {verb}{' (dry run: nothing written)' if dry_run else ''}")
    logger.info("purge %s %d row(s)", verb, total)
    return done
