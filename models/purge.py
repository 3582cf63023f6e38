"""The retention policy applied to the database, in batches: each batch is one transaction, so a purge killed
at any moment leaves every case either purged whole (with its ``case.purged`` audit event) or untouched, and
running it again finishes the work and then finds nothing. A dry run does each batch's work and rolls it
back: its counts are exactly what a real run would change. Only the tables named here are touched; tables
this module does not know are left alone. See :mod:`models.retention` for what goes and when.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from models.corrections import Correction
from models.followup import Reply
from models.retention import (
    FINISHED_STATUSES,
    IN_FLIGHT,
    PERSONAL_DETAIL_KEYS,
    PURGE_EVENT,
    PURGED,
    SYSTEM_ENTITIES,
    Cutoffs,
    PurgeCounts,
    stripped_detail,
)
from models.routing import OutboxMessage
from models.tables import AuditEvent, Complaint, Mention
from models.users import DashboardSession

logger = logging.getLogger(__name__)
Progress = Callable[[str, PurgeCounts], None]
"""Called after each committed (or, on a dry run, rolled back) batch: the step's name and its counts so far."""

_c: sa.Table = Complaint.__table__  # type: ignore[attr-defined]
_m: sa.Table = Mention.__table__  # type: ignore[attr-defined]
_r: sa.Table = Reply.__table__  # type: ignore[attr-defined]
_o: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]
_k: sa.Table = Correction.__table__  # type: ignore[attr-defined]
_a: sa.Table = AuditEvent.__table__  # type: ignore[attr-defined]
_s: sa.Table = DashboardSession.__table__  # type: ignore[attr-defined]


def purge(
    engine: Engine, cut: Cutoffs, *, now: datetime, batch_size: int, dry_run: bool = False,
    progress: Progress | None = None,
) -> dict[str, PurgeCounts]:
    """Every step in turn; the counts per step (``raw_payloads``, ``cases``, ``desk_messages``,
    ``audit_details``, ``sessions``)."""
    steps: Sequence[tuple[str, Callable[[Connection, int, int], tuple[int, dict[str, int]] | None]]] = (
        # raw payloads first: the cases step empties its posts' raw too, and a dry run must count as a run does
        ("raw_payloads", lambda conn, after, n: _raw_batch(conn, cut.raw_payload_before, after, n)),
        ("cases", lambda conn, after, n: _cases_batch(conn, cut.personal_data_before, now, after, n)),
        ("desk_messages", lambda conn, after, n: _desk_batch(conn, cut.personal_data_before, after, n)),
        ("audit_details", lambda conn, after, n: _audit_batch(conn, cut.audit_detail_before, after, n)),
        ("sessions", lambda conn, after, n: _sessions_batch(conn, cut.session_ended_before, after, n)),
    )
    done: dict[str, PurgeCounts] = {}
    for name, batch in steps:
        counts, after = PurgeCounts({}), 0
        while True:
            with engine.connect() as conn:
                with conn.begin() as transaction:
                    outcome = batch(conn, after, batch_size)
                    if outcome is None:
                        break
                    after, changed = outcome
                    if dry_run:
                        transaction.rollback()
            for table, count in changed.items():
                counts.add(table, count)
            logger.debug("purge %s: up to id %d, %s", name, after, counts.format())
            if progress is not None:
                progress(name, counts)
        done[name] = counts
    return done


def _ids(conn: Connection, statement: sa.Select[Any]) -> list[int]:
    return [int(row[0]) for row in conn.execute(statement)]


def _cases_batch(
    conn: Connection, before: datetime, now: datetime, after: int, size: int
) -> tuple[int, dict[str, int]] | None:
    """The next finished cases past retention, purged whole in this transaction. Cases purged already (their
    audit event) and cases with a reply or message in flight are looked up by the batch's ids, not per case in
    a correlated subquery: that made the planners scan the audit trail once per case."""
    scanned = conn.execute(
        sa.select(_c.c.id, _c.c.docket)
        .where(
            _c.c.id > after,
            _c.c.status.in_(FINISHED_STATUSES),
            sa.func.coalesce(_c.c.closed_at, _c.c.updated_at) < before,
        )
        .order_by(_c.c.id)
        .limit(size)
        .with_for_update(skip_locked=True)  # a case a person is acting on now waits for the next purge
    ).all()
    if not scanned:
        return None
    keys = [str(row[0]) for row in scanned]
    purged_already = set(
        conn.execute(
            sa.select(_a.c.entity_id).where(  # "kind || ''": SQLite would take the kind index and scan them all
                _a.c.entity_id.in_(keys), _a.c.kind.concat("") == PURGE_EVENT, _a.c.entity == "complaint"
            )
        ).scalars()
    )
    waiting = {
        int(found)
        for table in (_r, _o)
        for found in conn.execute(
            sa.select(table.c.complaint_id).where(
                table.c.complaint_id.in_([int(k) for k in keys]), table.c.status.in_(IN_FLIGHT)
            )
        ).scalars()
    }
    rows = [row for row in scanned if str(row[0]) not in purged_already and int(row[0]) not in waiting]
    if not rows:
        return int(scanned[-1][0]), {}
    ids = [int(row[0]) for row in rows]
    posts = conn.execute(
        sa.update(_m)
        .where(_m.c.complaint_id.in_(ids))
        .values(
            text=PURGED, author_handle=PURGED, author_name=PURGED, author_id=None, permalink=None, lat=None,
            lon=None, referenced_authors=[], raw={},
        )
    ).rowcount
    replies = conn.execute(
        sa.update(_r).where(_r.c.complaint_id.in_(ids), _r.c.text != PURGED).values(text=PURGED)
    ).rowcount
    messages = conn.execute(
        sa.update(_o).where(_o.c.complaint_id.in_(ids), _o.c.body != PURGED).values(body=PURGED)
    ).rowcount
    notes = conn.execute(
        sa.update(_c)
        .where(_c.c.id.in_(ids), sa.func.length(sa.func.coalesce(_c.c.action_note, "")) > 0)
        .values(action_note=PURGED)  # a note still there: the leaderboard's "resolved with a note" holds
    ).rowcount
    reasons = conn.execute(
        sa.update(_c).where(_c.c.id.in_(ids), _c.c.rejected_reason.is_not(None)).values(rejected_reason=PURGED)
    ).rowcount
    corrections = conn.execute(sa.delete(_k).where(_k.c.complaint_id.in_(ids))).rowcount
    _mark_purged(conn, [(row[0], row[1]) for row in rows], now)
    changed = {
        "cases": len(ids), "mention": posts, "reply": replies, "outbox_message": messages,
        "complaint.action_note": notes, "complaint.rejected_reason": reasons, "correction (deleted)": corrections,
    }
    return int(scanned[-1][0]), changed


def _mark_purged(conn: Connection, cases: Sequence[tuple[int, str | None]], now: datetime) -> None:
    conn.execute(
        sa.insert(_a),
        [
            {"at": now, "kind": PURGE_EVENT, "entity": "complaint", "entity_id": str(case_id), "actor": "purge",
             "detail": {"docket": docket}}
            for case_id, docket in cases
        ],
    )


def _raw_batch(conn: Connection, before: datetime, after: int, size: int) -> tuple[int, dict[str, int]] | None:
    """Raw payloads of posts stored before the cut-off whose case is finished (or that made none) and
    that no reply in flight still needs (X's reply rule reads the raw post)."""
    finished_case = sa.exists().where(_c.c.id == _m.c.complaint_id, _c.c.status.in_(FINISHED_STATUSES))
    no_case = sa.and_(_m.c.complaint_id.is_(None), _m.c.classified_at.is_not(None))
    reply_pending = sa.exists().where(_r.c.mention_id == _m.c.id, _r.c.status.in_(IN_FLIGHT))
    scan = _ids(
        conn,
        sa.select(_m.c.id).where(_m.c.id > after, _m.c.stored_at < before).order_by(_m.c.id).limit(size),
    )
    if not scan:
        return None
    emptied = conn.execute(
        sa.update(_m)
        .where(
            _m.c.id.in_(scan),
            sa.cast(_m.c.raw, sa.Text).not_in(["{}", "null"]),
            sa.or_(finished_case, no_case),
            ~reply_pending,
        )
        .values(raw={})
    ).rowcount
    return scan[-1], {"mention.raw": emptied}


def _desk_batch(conn: Connection, before: datetime, after: int, size: int) -> tuple[int, dict[str, int]] | None:
    """Bodies of the desk's alerts (messages about no case) sent or failed before the cut-off."""
    scan = _ids(
        conn,
        sa.select(_o.c.id)
        .where(_o.c.id > after, _o.c.complaint_id.is_(None), _o.c.created_at < before)
        .order_by(_o.c.id)
        .limit(size),
    )
    if not scan:
        return None
    emptied = conn.execute(
        sa.update(_o).where(_o.c.id.in_(scan), _o.c.status.not_in(IN_FLIGHT), _o.c.body != PURGED).values(body=PURGED)
    ).rowcount
    return scan[-1], {"outbox_message": emptied}


def _audit_batch(conn: Connection, before: datetime, after: int, size: int) -> tuple[int, dict[str, int]] | None:
    """Old audit events keep their kind, time, actor and every key of their detail; free text and
    addresses in it become the marker."""
    rows = conn.execute(
        sa.select(_a.c.id, _a.c.entity, _a.c.detail)
        .where(
            _a.c.id > after,
            _a.c.at < before,
            _a.c.entity.not_in(sorted(SYSTEM_ENTITIES)),
            sa.or_(*(sa.cast(_a.c.detail, sa.Text).like(f'%"{key}"%') for key in sorted(PERSONAL_DETAIL_KEYS))),
        )
        .order_by(_a.c.id)
        .limit(size)
    ).all()
    if not rows:
        return None
    stripped = 0
    for event_id, entity, detail in rows:
        cleaned = stripped_detail(str(entity), detail if isinstance(detail, dict) else {})
        if cleaned is not None:
            conn.execute(sa.update(_a).where(_a.c.id == event_id).values(detail=cleaned))
            stripped += 1
    return int(rows[-1][0]), {"audit_event.detail": stripped}


def _sessions_batch(conn: Connection, before: datetime, after: int, size: int) -> tuple[int, dict[str, int]] | None:
    """Dashboard sign-ins that ended (signed out, revoked or expired) before the cut-off: deleted."""
    scan = _ids(conn, sa.select(_s.c.id).where(_s.c.id > after).order_by(_s.c.id).limit(size))
    if not scan:
        return None
    ended = sa.or_(_s.c.expires_at < before, _s.c.revoked_at < before)
    deleted = conn.execute(sa.delete(_s).where(_s.c.id.in_(scan), ended)).rowcount
    return scan[-1], {"dashboard_session (deleted)": deleted}
