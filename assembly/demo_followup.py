"""The demo's follow-up days: officers act (some at once, some late, some never) while the clock runs on.

After the scenario has been read, routed and notified, ``run.py demo --once`` moves a simulated clock on
(72 hours by default, in 15-minute steps) through the same bot: at each step the officers whose turn has
come acknowledge, report the action taken or close their cases, some citizens answer the bot's action-taken
reply (a few say nothing was done, which reopens the case; a few say thank you), every account is polled
and every stage runs. Each officer's behaviour is drawn from a generator seeded with the docket, so a run
is the same every time; only cases routed in this run are acted on, so a second run on the same database
posts no new reply.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from models.db import session_scope
from models.followup import Escalation, Reply
from models.lifecycle import IllegalTransition
from models.routing import Assignment
from models.tables import Account, AuditEvent, Complaint, Mention
from monitor.followup.actions import CaseActions
from monitor.loop import Bot
from sandbox import SandboxServer
from sandbox.scenario import ScenarioPost

logger = logging.getLogger(__name__)
NOTES = (
    "A patrol team visited the spot and cleared it; we will keep watching the area.",
    "The vehicle was towed and a fine was issued to the owner.",
    "An FIR has been registered and the investigating officer has visited you.",
    "The traffic signal was repaired and a constable posted at the junction at peak hours.",
    "The persons involved were identified and counselled; regular beat patrol is on.",
)
NOT_DONE = "Nothing has changed, the problem is still there. Please look again."
THANKS = "Thank you for the quick action!"


@dataclass
class SimClock:
    """A clock the demo moves by hand; the bot, its platforms and the sandbox all read it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Plan:
    """One officer's behaviour on one case (one round: a reopened case gets a new plan)."""

    ack_at: datetime | None
    act_at: datetime | None
    close_at: datetime | None


@dataclass
class Officers:
    """Simulated officers acting on the cases routed since ``since``."""

    actions: CaseActions
    since: datetime
    seed: int = 0
    after_reply_id: int = 0  # replies of earlier runs are not this sandbox's: nobody answers them
    plans: dict[tuple[str, int], Plan] = field(default_factory=dict)
    answered: set[int] = field(default_factory=set)  # replies the citizen already answered

    def plan(self, docket: str, round_no: int, assigned_at: datetime, ack_by: datetime | None, act_by: datetime | None) -> Plan:
        key = (docket, round_no)
        if key not in self.plans:
            rng = random.Random(f"{self.seed}:{docket}:{round_no}")
            ack_window = (ack_by - assigned_at) if ack_by else timedelta(hours=2)
            act_window = (act_by - assigned_at) if act_by else timedelta(hours=24)
            roll = rng.random()
            if roll < 0.55:  # prompt: acknowledges within the window, acts within half of it
                ack = assigned_at + ack_window * rng.uniform(0.1, 0.8)
                act = assigned_at + act_window * rng.uniform(0.2, 0.6)
            elif roll < 0.8:  # late: both deadlines pass first
                ack = assigned_at + ack_window * rng.uniform(1.2, 2.5)
                act = assigned_at + act_window * rng.uniform(1.1, 2.0)
            else:  # never
                self.plans[key] = Plan(None, None, None)
                return self.plans[key]
            close = act + timedelta(hours=rng.uniform(1, 6)) if rng.random() < 0.6 else None
            self.plans[key] = Plan(ack, max(act, ack + timedelta(minutes=5)), close)
        return self.plans[key]

    def act(self, engine: Engine, now: datetime) -> Counter[str]:
        """Every action whose time has come, as the officer holding the case would take it."""
        done: Counter[str] = Counter()
        with session_scope(engine) as session:
            held = session.exec(
                select(Assignment, Complaint)
                .join(Complaint, col(Complaint.id) == col(Assignment.complaint_id))
                .where(
                    Assignment.role == "assignee",
                    col(Assignment.officer_id).is_not(None),
                    Complaint.created_at >= self.since,
                    col(Assignment.id).in_(
                        select(sa.func.max(Assignment.id)).where(Assignment.role == "assignee").group_by(col(Assignment.complaint_id))
                    ),
                )
            ).all()
            work = [(a.officer_id, c.docket, c.status, c.reopen_count, a.assigned_at, a.acknowledge_by, a.act_by) for a, c in held]
        for officer, docket, status, round_no, assigned_at, ack_by, act_by in work:
            if officer is None or docket is None:
                continue
            plan = self.plan(docket, round_no, assigned_at, ack_by, act_by)
            try:
                if status in ("assigned", "reopen_requested") and plan.ack_at and plan.ack_at <= now:
                    self.actions.acknowledge(docket, officer_id=officer, now=now)
                    done["acknowledged"] += 1
                    status = "acknowledged"
                if status in ("acknowledged", "assigned", "reopen_requested") and plan.act_at and plan.act_at <= now:
                    note = NOTES[random.Random(docket).randrange(len(NOTES))]
                    self.actions.act(docket, officer_id=officer, note=note, now=now)
                    done["action_taken"] += 1
                    status = "action_taken"
                if status == "action_taken" and plan.close_at and plan.close_at <= now:
                    self.actions.close(docket, officer_id=officer, now=now)
                    done["closed"] += 1
            except IllegalTransition as exc:  # the case moved meanwhile (reassigned, merged): not theirs now
                logger.info("demo officer %s: %s", officer, exc)
        return done

    def citizens_answer(self, engine: Engine, server: SandboxServer, now: datetime) -> int:
        """Some citizens answer the action-taken reply: nothing was done (reopens), or thank you."""
        injected = 0
        with session_scope(engine) as session:
            rows = session.exec(
                select(Reply, Mention, Account)
                .join(Mention, col(Mention.id) == col(Reply.mention_id))
                .join(Account, col(Account.id) == col(Reply.account_id))
                .where(Reply.kind == "action_taken", Reply.status == "posted", col(Reply.id) > self.after_reply_id)
            ).all()
            answers = [
                (r.id, r.external_id, r.platform, m.author_handle or m.author_name, a.key, r.marker) for r, m, a in rows
            ]
        for reply_id, external_id, platform, author, account_key, marker in answers:
            if reply_id is None or reply_id in self.answered or not external_id or not author:
                continue
            self.answered.add(reply_id)
            roll = random.Random(f"{self.seed}:answer:{marker}").random()
            if roll >= 0.25:
                continue
            text = NOT_DONE if roll < 0.15 else THANKS
            if platform == "x":
                text = f"@{account_key} {text}"
            server.state.inject(
                ScenarioPost(platform, text, author, now, in_reply_to=external_id)  # type: ignore[arg-type]
            )
            injected += 1
        return injected


def run_followup_days(
    bot: Bot, server: SandboxServer, engine: Engine, actions: CaseActions, clock: SimClock, *, since: datetime,
    hours: float = 72.0, step_min: float = 15.0, seed: int = 0, after_reply_id: int = 0,
) -> dict[str, Any]:
    officers = Officers(actions, since, seed, after_reply_id)
    totals: Counter[str] = Counter()
    steps = int(hours * 60 / step_min)
    for step in range(steps):
        clock.now += timedelta(minutes=step_min)
        totals += officers.act(engine, clock.now)
        totals["citizen_answers"] += officers.citizens_answer(engine, server, clock.now)
        for account in bot.accounts:
            bot.poll(account)
        bot.run_stages()
        if step % 48 == 47:
            logger.info("demo: %s simulated, %s", clock.now - since, dict(totals))
    return {"simulated_hours": hours, **followup_counts(engine, since), "citizen_answers": totals["citizen_answers"]}


def last_reply_id(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.execute(sa.select(sa.func.coalesce(sa.func.max(Reply.id), 0))).scalar_one())


def followup_counts(engine: Engine, since: datetime) -> dict[str, Any]:
    """What the follow-up days did, read back from the database (not from the simulation's own tally)."""
    with session_scope(engine) as session:
        posted = session.exec(
            select(Reply.kind, sa.func.count()).where(Reply.status == "posted").group_by(Reply.kind)
        ).all()
        def count(statement: Any) -> int:
            return int(session.execute(statement).scalar_one())

        return {
            "replies_posted": {kind: n for kind, n in posted},
            "replies_not_posted": count(
                sa.select(sa.func.count()).select_from(Reply).where(col(Reply.status).in_(["failed", "not_allowed"]))
            ),
            "acknowledged": count(
                sa.select(sa.func.count()).select_from(Complaint).where(col(Complaint.acknowledged_at).is_not(None))
            ),
            "action_taken": count(
                sa.select(sa.func.count()).select_from(Complaint).where(col(Complaint.action_taken_at).is_not(None))
            ),
            "reminders": count(
                sa.select(sa.func.count()).select_from(AuditEvent).where(col(AuditEvent.kind) == "reminder.sent")
            ),
            "escalations": count(sa.select(sa.func.count()).select_from(Escalation)),
            "reopened": count(sa.select(sa.func.count()).select_from(Complaint).where(col(Complaint.reopen_count) > 0)),
            "incidents": count(
                sa.select(sa.func.count(sa.distinct(col(Mention.complaint_id)))).where(col(Mention.joined_as) == "incident")
            ),
        }
