"""Classify claims: which process classifies a stored mention, until when; and the keyed locks of filing.

A classify run claims a batch in one short transaction (``claimed_by`` a token of its own, ``claim_expires_at``),
classifies it with no transaction open, and files it in short transactions that first lock the rows it still
holds (:func:`still_claimed`): a post whose claim expired and was taken by another process, or which another
process filed meanwhile, is skipped. So a post is classified and filed once, and the posts of a process that
dies return to the queue when their claim expires.

Filing reads the cases a post may join (its author's thread, an open incident at its place) and then writes:
two processes filing related posts at once would each miss the other's new case. :func:`hold_keys` serialises
only posts that may meet: the same author, or the same category at the same place (named, or within a grid
cell of the incident radius). On SQLite (one process) there is nothing to lock.
"""

from __future__ import annotations

import math
import secrets
import zlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.tables import Mention

_KEY_SPACE = 7336155  # the advisory lock class of filing's keys (models.leases uses 7336153)
_MAX_LAT = 75.0  # grid cells are wide enough in longitude up to this latitude; beyond it one cell per category


def make_claim_token(process: str) -> str:
    """A claim's holder: the process's name and a random part, new for every batch."""
    return f"{process[:110]}:{secrets.token_hex(6)}"


def claim_unclassified(
    session: Session, *, holder: str, now: datetime, lease_s: float, limit: int
) -> list[Mention]:
    """Up to ``limit`` unclassified mentions, oldest first, that nobody holds (or whose claim expired), now
    claimed by ``holder`` until ``now + lease_s``. Commit at once: the claim is what other processes see."""
    free = sa.or_(col(Mention.claim_expires_at).is_(None), col(Mention.claim_expires_at) <= now)
    statement = (
        select(Mention)
        .where(col(Mention.classified_at).is_(None), free)
        .order_by(col(Mention.created_at), col(Mention.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    batch = list(session.exec(statement).all())
    until = now + timedelta(seconds=lease_s)
    for mention in batch:
        mention.claimed_by, mention.claim_expires_at = holder, until
        session.add(mention)
    return batch


def still_claimed(session: Session, ids: Sequence[int], *, holder: str) -> list[Mention]:
    """The mentions of ``ids`` still claimed by ``holder`` and not filed, locked for this transaction, oldest
    first. A row another process is claiming or filing is waited for, then read as it is now."""
    if not ids:
        return []
    statement = (
        select(Mention)
        .where(col(Mention.id).in_(list(ids)), Mention.claimed_by == holder, col(Mention.classified_at).is_(None))
        .order_by(col(Mention.created_at), col(Mention.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.exec(statement).all())


def author_key(platform: str, author_id: str | None) -> str | None:
    return f"author:{platform}:{author_id}" if author_id else None


def place_keys(category: str, name_key: str, lat: float | None, lon: float | None, radius_m: float) -> set[str]:
    """The keys of a place for incidents of ``category``: its name, and the 3 × 3 grid cells around its point
    (cells at least ``radius_m`` wide, so two points within the radius always share a cell)."""
    keys = {f"place:{category}:{name_key}"} if name_key else set()
    if lat is None or lon is None:
        return keys
    if abs(lat) > _MAX_LAT:
        return keys | {f"cell:{category}:polar"}
    d_lat = radius_m / 111_000.0 * 1.01
    d_lon = d_lat / math.cos(math.radians(_MAX_LAT))
    row, column = math.floor(lat / d_lat), math.floor(lon / d_lon)
    return keys | {f"cell:{category}:{row + i}:{column + j}" for i in (-1, 0, 1) for j in (-1, 0, 1)}


def hold_keys(session: Session, keys: Iterable[str]) -> None:
    """Wait until no other transaction holds any of ``keys``, and hold them until this one ends.

    PostgreSQL: transaction-level advisory locks, taken in one statement in a fixed order (no two filings
    can wait for each other); a hash collision only makes two unrelated filings wait. SQLite: nothing.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    numbers = sorted({zlib.crc32(key.encode()) - 2**31 for key in keys})
    if numbers:
        session.execute(
            sa.text("SELECT count(pg_advisory_xact_lock(:space, k)) FROM unnest(CAST(:keys AS integer[])) AS k"),
            {"space": _KEY_SPACE, "keys": numbers},
        )
