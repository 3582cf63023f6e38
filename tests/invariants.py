"""What must hold after any crash, read from the database and from what the outside world got.

Each check takes an Engine (and, where it needs them, what the sandbox received and what the notification
receiver got) and returns a list of violations, each naming the post, case or row: an empty list means fine.
:func:`assert_invariants` runs them all and fails listing every violation.

- ``received``: the sandbox's received list (``[r.to_json() for r in server.state.received()]``, or the
  JSON of ``GET /_sandbox/received``): dicts with ``text`` and ``id``.
- ``delivered``: the notification receiver's entries (``NotificationReceiver.received``, or the lines of its
  JSONL file): dicts with ``officer`` and ``body`` (``{"title", "message"}`` as Apprise's ``json://`` sends);
  the bot's ``NOTIFY_REDIRECT_URL`` must be the receiver's ``officer_url`` (``.../notify/{officer}``), so that
  each message is matched to its row by officer and text (a digest by each message inside it).
- ``posts``: (platform, external id) of every post the scenario put on the platforms.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.followup import Escalation, Reply
from models.routing import Assignment, OutboxMessage
from models.tables import AuditEvent, Complaint, Mention

FILING_KINDS = ("complaint.classified", "complaint.followup", "complaint.incident_report")
OPENING_KINDS = ("complaint.classified", "complaint.split_off")
REROUTE_KINDS = ("case.correct", "complaint.placed_by_followup")  # a case back to routing: routed again
DIGEST_SEPARATOR = "\n\n---\n\n"
_DIGEST_PART = re.compile(r"\A\d+\. [^\n]*\n(?P<body>.*)\Z", re.DOTALL)


def _events(session: Session, kinds: Sequence[str]) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(col(AuditEvent.kind).in_(list(kinds)))).all())


def stored_once(engine: Engine, posts: Iterable[tuple[str, str]]) -> list[str]:
    """Every scenario post stored exactly once, each with its ``mention.stored`` event."""
    with Session(engine) as session:
        stored = Counter(session.exec(select(Mention.platform, Mention.external_id)).all())
        ids = {m_id: (p, x) for m_id, p, x in session.exec(select(Mention.id, Mention.platform, Mention.external_id))}
        events = Counter(e.entity_id for e in _events(session, ["mention.stored"]))
    problems = [f"post {p} {x} is stored {stored[(p, x)]} times, not once" for p, x in posts if stored[(p, x)] != 1]
    problems += [
        f"post {p} {x} (mention {m_id}) has {events[str(m_id)]} mention.stored events, not one"
        for m_id, (p, x) in ids.items()
        if events[str(m_id)] != 1
    ]
    return problems


def classified_once(engine: Engine) -> list[str]:
    """Every stored post classified and filed into one case, with one filing event; every case opened once."""
    with Session(engine) as session:
        mentions = list(session.exec(select(Mention)).all())
        cases = {c.id: c for c in session.exec(select(Complaint)).all()}
        filings = Counter(e.detail.get("mention_id") for e in _events(session, FILING_KINDS))
        openings = Counter(e.entity_id for e in _events(session, OPENING_KINDS))
    problems: list[str] = []
    for m in mentions:
        where = f"mention {m.id} ({m.platform} {m.external_id})"
        if m.classified_at is None or m.joined_as is None:
            problems.append(f"{where} was never classified")
        elif m.complaint_id not in cases:
            problems.append(f"{where} is filed into no case (complaint_id {m.complaint_id})")
        if m.classified_at is not None and filings[m.id] != 1:
            problems.append(f"{where} has {filings[m.id]} filing events on the audit trail, not one")
    filed = Counter(m.complaint_id for m in mentions)
    for case_id, case in cases.items():
        if openings[str(case_id)] != 1:
            problems.append(f"case {case_id} ({case.docket}) was opened {openings[str(case_id)]} times on the audit trail")
        if filed[case_id] == 0 and case.merged_into_id is None:
            problems.append(f"case {case_id} ({case.docket}) holds no post: a post was classified twice?")
    return problems


def routed_once(engine: Engine) -> list[str]:
    """Every case routed (none left new), once per time it went to routing, with at most one open assignee."""
    with Session(engine) as session:
        cases = list(session.exec(select(Complaint)).all())
        routed = Counter(e.entity_id for e in _events(session, ["complaint.routed"]))
        rerouted = Counter(e.entity_id for e in _events(session, REROUTE_KINDS))
        open_assignees = Counter(
            session.exec(
                select(Assignment.complaint_id).where(Assignment.role == "assignee", Assignment.status == "open")
            ).all()
        )
    problems: list[str] = []
    for case in cases:
        key, where = str(case.id), f"case {case.id} ({case.docket})"
        if case.status == "new":
            problems.append(f"{where} was never routed (status new)")
        elif case.status != "merged" and routed[key] == 0:
            problems.append(f"{where} is {case.status} with no complaint.routed event")
        if routed[key] > 1 + rerouted[key]:
            problems.append(f"{where} was routed {routed[key]} times ({rerouted[key]} re-routings asked for)")
        if (holders := open_assignees[case.id or 0]) > 1:
            problems.append(f"{where} has {holders} open assignees")
    return problems


def delivered_bodies(delivered: Sequence[Mapping[str, Any]]) -> Counter[tuple[str | None, str]]:
    """(officer, message body) of every message the receiver got, a digest counted as each message in it."""
    found: Counter[tuple[str | None, str]] = Counter()
    for entry in delivered:
        body = entry.get("body")
        message = str(body.get("message", "")) if isinstance(body, Mapping) else ""
        parts = message.split(DIGEST_SEPARATOR)
        digest = [_DIGEST_PART.match(part) for part in parts[1:]] if len(parts) > 1 else []
        if digest and all(digest):
            found.update((entry.get("officer"), m.group("body")) for m in digest if m)
        else:
            found[(entry.get("officer"), message)] += 1
    return found


def notified_once(engine: Engine, delivered: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each outbox row delivered at most once and, unless failed with a person told, at least once; each
    outcome on the audit trail. Rows of identical text to one officer are counted together."""
    with Session(engine) as session:
        rows = list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())
        events = {(e.kind, e.entity_id) for e in _events(session, ["notify.sent", "notify.failed"])}
    got = delivered_bodies(delivered)
    keys = {r.idempotency_key for r in rows}
    groups: dict[tuple[str | None, str], list[OutboxMessage]] = defaultdict(list)
    problems: list[str] = []
    for row in rows:
        groups[(row.officer_id, row.body)].append(row)
        where = f"outbox {row.id} ({row.purpose} to {row.officer_id}, {row.idempotency_key})"
        if row.status in ("pending", "sending"):
            problems.append(f"{where} is still {row.status}: never delivered nor failed")
        elif row.status == "sent" and ("notify.sent", str(row.id)) not in events:
            problems.append(f"{where} is sent with no notify.sent event")
        elif row.status == "failed":
            told = row.purpose == "desk_alert" or any(k.startswith(f"desk_alert:{row.id}:") for k in keys)
            if ("notify.failed", str(row.id)) not in events:
                problems.append(f"{where} failed with no notify.failed event")
            if not told:
                problems.append(f"{where} failed and no desk alert tells a person")
    for (officer, body), group in groups.items():
        count, sent = got[(officer, body)], sum(r.status == "sent" for r in group)
        tried = sum(r.status in ("sent", "sending") or (r.status == "failed" and r.attempts > 0) for r in group)
        ids = ", ".join(str(r.id) for r in group)
        if count > tried:
            problems.append(f"outbox {ids} to {officer} delivered {count} times for {tried} send(s) made")
        if count < sent:
            problems.append(f"outbox {ids} to {officer}: {sent} marked sent, {count} delivered")
    known = set(groups)
    problems += [
        f"{count} message(s) to {officer} delivered that no outbox row holds: {body[:80]!r}"
        for (officer, body), count in got.items()
        if (officer, body) not in known
    ]
    return problems


def _marker_pattern(marker: str) -> re.Pattern[str]:
    return re.compile(re.escape(marker) + r"(?![0-9A-Za-z])")  # BLR-…/A-5 is not BLR-…/A-55


def replied_once(engine: Engine, received: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each reply posted at most once (by its marker in what the sandbox received) and, unless failed or not
    allowed with the desk told, exactly once with the id recorded; each outcome on the audit trail."""
    with Session(engine) as session:
        rows = list(session.exec(select(Reply).order_by(col(Reply.id))).all())
        told = {
            k
            for k in session.exec(select(OutboxMessage.idempotency_key)).all()
            if k.startswith("reply_") and not k.startswith("reply_daily_cap:")
        }
        events = {
            (e.kind, e.entity_id)
            for e in _events(session, ["reply.posted", "reply.reconciled", "reply.failed", "reply.not_allowed"])
        }
    problems: list[str] = []
    matched: set[int] = set()
    for row in rows:
        pattern = _marker_pattern(row.marker)
        hits = [i for i, r in enumerate(received) if pattern.search(str(r.get("text", "")))]
        matched.update(hits)
        where = f"reply {row.id} ({row.kind}, {row.marker})"
        if len(hits) > 1:
            problems.append(f"{where} was posted {len(hits)} times: {[received[i].get('id') for i in hits]}")
        if row.status == "posted":
            if not hits:
                problems.append(f"{where} is marked posted ({row.external_id}) but the platform never got it")
            elif row.external_id not in {received[i].get("id") for i in hits}:
                problems.append(f"{where} is recorded as {row.external_id}, posted as {received[hits[0]].get('id')}")
            if not {("reply.posted", str(row.id)), ("reply.reconciled", str(row.id))} & events:
                problems.append(f"{where} is posted with no reply.posted or reply.reconciled event")
        elif row.status in ("failed", "not_allowed"):
            if not any(k.split(":")[1:2] == [str(row.id)] for k in told):
                problems.append(f"{where} is {row.status} and nobody was told")
            if (f"reply.{row.status}", str(row.id)) not in events:
                problems.append(f"{where} is {row.status} with no reply.{row.status} event")
        else:
            problems.append(f"{where} is still {row.status}: never posted nor failed")
    problems += [
        f"the platform got a post no reply row holds: {r.get('id')} {str(r.get('text', ''))[:80]!r}"
        for i, r in enumerate(received)
        if i not in matched
    ]
    return problems


def escalated_once(engine: Engine) -> list[str]:
    """No reminder twice for one deadline of one assignment, no escalation step twice; each step audited."""
    with Session(engine) as session:
        steps = Counter(session.exec(select(Escalation.assignment_id, Escalation.deadline, Escalation.step)).all())
        reminders = Counter(
            (str(e.detail.get("assignment")), str(e.detail.get("deadline"))) for e in _events(session, ["reminder.sent"])
        )
        audited = Counter(
            (e.detail.get("assignment"), e.detail.get("deadline"), e.detail.get("step"))
            for e in _events(session, ["escalation.step"])
        )
        outbox = Counter(
            k.rsplit(":", 2)[0]
            for k in session.exec(select(OutboxMessage.idempotency_key)).all()
            if k.startswith("reminder:")
        )
    problems = [f"reminder for assignment {a}, {d} deadline, sent {n} times" for (a, d), n in reminders.items() if n > 1]
    problems += [f"escalation of assignment {a}, {d} step {s}, written {n} times" for (a, d, s), n in steps.items() if n > 1]
    problems += [
        f"escalation of assignment {a}, {d} step {s} has {audited[(a, d, s)]} escalation.step events, not one"
        for (a, d, s) in steps
        if audited[(a, d, s)] != 1
    ]
    problems += [
        f"escalation.step event for assignment {a}, {d} step {s} without its escalation row"
        for (a, d, s) in audited
        if (a, d, s) not in steps
    ]
    problems += [
        f"reminder outbox rows {key} with no reminder.sent event"
        for key in outbox
        if reminders[(key.split(":")[1], key.split(":")[2])] == 0
    ]
    return problems


def violations(
    engine: Engine,
    *,
    posts: Iterable[tuple[str, str]],
    received: Sequence[Mapping[str, Any]],
    delivered: Sequence[Mapping[str, Any]],
) -> list[str]:
    """Every check's violations, each prefixed with the check's name."""
    found: list[str] = []
    for name, problems in (
        ("stored_once", stored_once(engine, posts)),
        ("classified_once", classified_once(engine)),
        ("routed_once", routed_once(engine)),
        ("notified_once", notified_once(engine, delivered)),
        ("replied_once", replied_once(engine, received)),
        ("escalated_once", escalated_once(engine)),
    ):
        found += [f"{name}: {p}" for p in problems]
    return found


def assert_invariants(
    engine: Engine,
    *,
    posts: Iterable[tuple[str, str]],
    received: Sequence[Mapping[str, Any]],
    delivered: Sequence[Mapping[str, Any]],
) -> None:
    """Fail listing every violation."""
    found = violations(engine, posts=posts, received=received, delivered=delivered)
    assert not found, f"{len(found)} invariant violation(s):\n" + "\n".join(found)
