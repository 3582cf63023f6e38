"""Queries on accounts, poll cursors and mentions."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.bulk import insert_new
from models.cleaning import clean_mention
from models.posts import FetchedMention
from models.tables import Account, AuditEvent, Mention, PollCursor

logger = logging.getLogger(__name__)
LOOKUP_CHUNK = 1000


def ensure_account(session: Session, *, platform: str, key: str, external_user_id: str, label: str) -> int:
    """The id of the account row for (platform, key), created with its cursor row if new."""
    account = session.exec(select(Account).where(Account.platform == platform, Account.key == key)).first()
    if account is None:
        account = Account(platform=platform, key=key, external_user_id=external_user_id, label=label)
        session.add(account)
        session.flush()
        assert account.id is not None  # the flush assigned it
        session.add(PollCursor(account_id=account.id))
        session.add(
            AuditEvent(kind="account.added", entity="account", entity_id=str(account.id), detail={"label": label})
        )
    else:
        account.label = label
        account.external_user_id = external_user_id
    assert account.id is not None
    return account.id


def claim_cursor(session: Session, account_id: int) -> PollCursor | None:
    """The account's cursor row, locked for this transaction; None when another process holds it."""
    statement = select(PollCursor).where(PollCursor.account_id == account_id).with_for_update(skip_locked=True)
    return session.exec(statement).first()


def store_mentions(
    session: Session, account_id: int, mentions: Sequence[FetchedMention], *, stored_at: datetime
) -> list[int]:
    """Insert the mentions not stored yet (unique platform + external id), in the given order.

    Returns the ids of the rows actually inserted; a post already stored (a re-read page, the same
    tweet mentioning two of our accounts, another process that got there first) is left alone. Every
    value is first cleaned to what its column takes (:func:`models.cleaning.clean_mention`), so one
    odd post never fails the insert of the others; what was changed is logged, never the value.
    """
    rows = []
    known = _stored_already(session, [m for m in mentions if not m.is_own])
    for mention in mentions:
        if mention.is_own or (mention.platform, mention.external_id) in known:
            continue
        cleaned = clean_mention(_row(mention, account_id, stored_at))
        if cleaned.problems:
            problems = "; ".join(cleaned.problems)
            logger.warning("%s post %s, at storage: %s", mention.platform, mention.external_id[:64], problems)
        if cleaned.values is not None:
            rows.append(cleaned.values)
    table = Mention.__table__  # type: ignore[attr-defined]
    inserted = insert_new(session, table, rows, unique=["platform", "external_id"])
    if inserted:
        session.execute(
            sa.insert(AuditEvent),
            [
                {
                    "at": stored_at,
                    "kind": "mention.stored",
                    "entity": "mention",
                    "entity_id": str(i),
                    "actor": "bot",
                    "detail": {},
                }
                for i in inserted
            ],
        )
    return inserted


def _stored_already(session: Session, mentions: Sequence[FetchedMention]) -> set[tuple[str, str]]:
    """(platform, external id) of those of ``mentions`` already stored, in one indexed query per platform and
    chunk. A poll reads back a window it has stored before (Facebook: 15 minutes of comments at every poll);
    building and compiling an insert of every row of it again, to have the database skip them, cost a busy
    page's poller most of its time. What this misses (another process storing a post this moment) the
    insert's ON CONFLICT still skips."""
    by_platform: dict[str, list[str]] = {}
    for mention in mentions:
        by_platform.setdefault(mention.platform, []).append(mention.external_id)
    known: set[tuple[str, str]] = set()
    for platform, ids in by_platform.items():
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            found = session.exec(
                select(Mention.external_id).where(Mention.platform == platform, col(Mention.external_id).in_(chunk))
            ).all()
            known.update((platform, external_id) for external_id in found)
    return known


def _row(m: FetchedMention, account_id: int, stored_at: datetime) -> dict[str, Any]:
    values = asdict(m)
    values.pop("is_own")
    values["referenced_authors"] = list(m.referenced_authors)
    values.update(account_id=account_id, stored_at=stored_at)
    return values


def audit(session: Session, kind: str, entity: str, entity_id: object, *, at: datetime, **detail: Any) -> None:
    session.add(AuditEvent(kind=kind, entity=entity, entity_id=str(entity_id), at=at, detail=detail))
