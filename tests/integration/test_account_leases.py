"""Account leases on SQLite and PostgreSQL: one poller per account, and a stale holder's write refused.

A process that lost its lease while it read the platform (paused, cut off, slower than the lease) must
neither move the cursor back nor store what it read: its write is fenced by the epoch it took. Several
live processes (heartbeats) each hold about their fair share of the accounts, and a dead one's are taken
over once its leases expire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from models.db import session_scope
from models.leases import AccountLease, LeaseState, acquire, beat, decide, is_over_share, release
from models.mentions import ensure_account
from models.posts import FetchedMention
from models.tables import Mention, PollCursor
from monitor.platform import Page, RateBudget
from monitor.poller import lease_s, poll_account
from tests.builders import make_mention, make_polling

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SETTINGS = make_polling(interval_s=10.0)
LEASE_S = lease_s(SETTINGS)


@dataclass
class ScriptedPlatform:
    """An account whose one page is ``posts`` up to ``cursor``; ``while_reading`` runs mid-fetch (the pause)."""

    posts: list[FetchedMention]
    cursor: str
    while_reading: Callable[[], None] | None = None
    platform: str = "x"
    key: str = "blrcitytraffic"
    label: str = "x @blrcitytraffic"
    own_user_id: str = "1021737162349010945"
    reads: list[str | None] = field(default_factory=list)

    def fetch(self, cursor: str | None, resume: str | None = None) -> Iterator[Page]:
        self.reads.append(cursor)
        if self.while_reading is not None:
            self.while_reading()
        yield Page(self.posts, cursor=self.cursor, is_last=True)

    def post_reply(self, in_reply_to: str, text: str) -> str:
        raise NotImplementedError

    def find_reply(self, in_reply_to: str, marker: str) -> str | None:
        return None

    def rate_budget(self) -> RateBudget:
        return RateBudget(None, None)


def posts(*ids: int) -> list[FetchedMention]:
    return [make_mention(f"@blrcitytraffic signal broken #{i}", external_id=str(1900 + i)) for i in ids]


def account(engine: Engine) -> int:
    with session_scope(engine) as session:
        return ensure_account(session, platform="x", key="blrcitytraffic", external_user_id="1", label="x")


def state(engine: Engine, account_id: int) -> tuple[str | None, str | None, int, list[str]]:
    """(cursor, lease holder, epoch, stored post ids)."""
    with session_scope(engine) as session:
        cursor = session.get(PollCursor, account_id)
        lease = session.get(AccountLease, account_id)
        stored = session.execute(sa.select(col(Mention.external_id)).order_by(col(Mention.external_id))).scalars()
        assert cursor is not None and lease is not None
        return cursor.cursor, lease.holder, lease.epoch, list(stored)


@pytest.mark.parametrize(
    ("lease", "who", "granted", "epoch"),
    [
        (None, "a", True, 1),  # never held
        (LeaseState("a", 4, T0 + timedelta(seconds=1)), "a", True, 4),  # renewing one's own: same epoch
        (LeaseState("a", 4, T0 + timedelta(seconds=1)), "b", False, 4),  # another's live lease
        (LeaseState("a", 4, T0), "b", True, 5),  # expired this instant: taken, a new epoch
        (LeaseState("a", 4, T0 - timedelta(seconds=1)), "a", True, 5),  # one's own, expired: taken again
        (LeaseState(None, 4, T0 + timedelta(hours=1)), "b", True, 5),  # released
    ],
)
def test_decide(lease: LeaseState | None, who: str, granted: bool, epoch: int) -> None:
    decision = decide(lease, holder=who, now=T0, lease_s=30)
    assert (decision.is_granted, decision.epoch) == (granted, epoch)
    if granted:
        assert decision.expires_at == T0 + timedelta(seconds=30)


def test_one_process_polls_an_account_until_its_lease_expires_or_is_released(engine: Engine) -> None:
    account_id = account(engine)
    first = poll_account(engine, ScriptedPlatform(posts(1), "101"), account_id, now=T0, settings=SETTINGS, holder="a")
    assert first.stored == 1
    other = ScriptedPlatform(posts(2), "102")
    inside = T0 + timedelta(seconds=LEASE_S - 1)
    assert poll_account(engine, other, account_id, now=inside, settings=SETTINGS, holder="b").skipped
    assert other.reads == []  # the platform was not even asked
    after = T0 + timedelta(seconds=LEASE_S)
    assert poll_account(engine, other, account_id, now=after, settings=SETTINGS, holder="b").stored == 1
    assert state(engine, account_id)[:3] == ("102", "b", 2)
    with session_scope(engine) as session:
        assert release(session, holder="b", now=after) == 1
    with session_scope(engine) as session:  # released: "a" takes it at once, under a new epoch
        lease = acquire(session, account_id, holder="a", now=after, lease_s=LEASE_S)
    assert lease is not None and lease.epoch == 3


@pytest.mark.parametrize("same_holder", [False, True], ids=["another-process", "same-holder-new-epoch"])
def test_a_stale_holder_neither_moves_the_cursor_back_nor_stores(engine: Engine, same_holder: bool) -> None:
    """``a`` takes the lease and pauses mid-read past its expiry; meanwhile the lease is taken again (by
    ``b``, or by ``a``'s own holder name under a new epoch) and that poll moves the cursor to 200. When the
    stale read resumes, its write (cursor 150, post 3 that nobody else read) is refused."""
    account_id = account(engine)
    poll_account(engine, ScriptedPlatform(posts(1), "100"), account_id, now=T0, settings=SETTINGS, holder="a")
    read_at = T0 + timedelta(seconds=LEASE_S - 1)  # inside the lease: "a" renews it and reads
    late = read_at + timedelta(seconds=LEASE_S + 5)  # past the renewed lease
    newer = "a" if same_holder else "b"

    def paused_past_the_lease() -> None:
        fresh = ScriptedPlatform(posts(2), "200")
        assert poll_account(engine, fresh, account_id, now=late, settings=SETTINGS, holder=newer).stored == 1

    stale = ScriptedPlatform(posts(3), "150", while_reading=paused_past_the_lease)
    outcome = poll_account(engine, stale, account_id, now=read_at, settings=SETTINGS, holder="a", clock=lambda: late)

    assert outcome.skipped is not None and "lost" in outcome.skipped
    cursor, holder, epoch, stored = state(engine, account_id)
    assert (cursor, holder, epoch) == ("200", newer, 2)
    assert stored == ["1901", "1902"]  # post 3 was read under a lost lease: not stored


def test_losing_the_lease_between_pages_stops_the_read(engine: Engine) -> None:
    account_id = account(engine)

    class TwoPages(ScriptedPlatform):
        def fetch(self, cursor: str | None, resume: str | None = None) -> Iterator[Page]:
            with session_scope(engine) as session:  # "a" is paused past its lease; "b" takes the account
                assert acquire(session, account_id, holder="b", now=T0 + timedelta(hours=1), lease_s=LEASE_S)
            yield Page(posts(5), resume="page-2")
            raise AssertionError("read on after the lease was lost")

    outcome = poll_account(engine, TwoPages([], ""), account_id, now=T0, settings=SETTINGS, holder="a")
    assert outcome.skipped is not None and "lost" in outcome.skipped
    assert state(engine, account_id) == (None, "b", 2, [])


@pytest.mark.parametrize(
    ("held", "share", "taking", "free_for_s", "over"),
    [
        (6, 7, True, 0, False),  # below its share: takes a free lease
        (7, 7, True, 0, True),  # at its share: leaves it for another process
        (7, 7, True, LEASE_S, False),  # free for a whole lease period: taken whatever the share
        (6, 7, False, None, False),  # its own: kept while that keeps it within the share
        (7, 7, False, None, True),  # its own, one too many: handed over
    ],
)
def test_over_share(held: int, share: int, taking: bool, free_for_s: float | None, over: bool) -> None:
    free_since = None if free_for_s is None else T0 - timedelta(seconds=free_for_s)
    assert is_over_share(held_elsewhere=held, share=share, is_taking=taking, free_since=free_since, now=T0,
                         lease_s=LEASE_S) is over


def accounts(engine: Engine, n: int) -> list[int]:
    with session_scope(engine) as session:
        return [ensure_account(session, platform="x", key=f"acct{i:02d}", external_user_id=str(i), label=f"x {i}")
                for i in range(n)]


def turn(engine: Engine, ids: list[int], holders: list[str], at: datetime) -> None:
    """Each process's turn at every account (as its poll lanes would), after its heartbeat."""
    for holder in holders:
        with session_scope(engine) as session:
            beat(session, holder=holder, now=at, forget_after_s=3600)
        for account_id in ids:
            with session_scope(engine) as session:
                acquire(session, account_id, holder=holder, now=at, lease_s=LEASE_S)


def shares(engine: Engine, at: datetime) -> dict[str, int]:
    held: dict[str, int] = {}
    for lease in leases_now(engine):
        if lease.holder is not None and lease.expires_at is not None and lease.expires_at > at:
            held[lease.holder] = held.get(lease.holder, 0) + 1
    return held


def leases_now(engine: Engine) -> list[AccountLease]:
    with session_scope(engine) as session:
        rows = list(session.exec(sa.select(AccountLease)).scalars())  # type: ignore[call-overload]
        session.expunge_all()
        return rows


def test_live_processes_spread_the_accounts_and_take_over_a_dead_ones(engine: Engine) -> None:
    ids = accounts(engine, 20)
    turn(engine, ids, ["a"], T0)  # alone: "a" polls every account
    assert shares(engine, T0) == {"a": 20}
    at = T0
    for _ in range(3):  # "b" and "c" start; "a" hands over what is past its share as it renews
        at += timedelta(seconds=SETTINGS.interval_s)
        turn(engine, ids, ["a", "b", "c"], at)
    held = shares(engine, at)
    assert sum(held.values()) == 20 and set(held) == {"a", "b", "c"}
    assert max(held.values()) <= 7 and min(held.values()) >= 6  # ceil(20 / 3) = 7
    dead = at
    while at <= dead + timedelta(seconds=LEASE_S):  # "c" is killed: no heartbeat, no renewal
        at += timedelta(seconds=SETTINGS.interval_s)
        turn(engine, ids, ["a", "b"], at)
    held = shares(engine, at)
    assert held == {"a": 10, "b": 10}


def test_a_lease_nobody_below_share_takes_is_taken_after_a_lease_period(engine: Engine) -> None:
    """A process that beats but never polls ("stuck") must not strand the accounts it would share."""
    ids = accounts(engine, 4)
    with session_scope(engine) as session:
        beat(session, holder="stuck", now=T0, forget_after_s=3600)
    turn(engine, ids, ["a"], T0)  # two live processes: "a"'s share is 2 of the 4
    assert shares(engine, T0) == {"a": 2}
    at = T0
    while at <= T0 + timedelta(seconds=LEASE_S):
        at += timedelta(seconds=SETTINGS.interval_s)
        with session_scope(engine) as session:
            beat(session, holder="stuck", now=at, forget_after_s=3600)
        turn(engine, ids, ["a"], at)
    assert shares(engine, at) == {"a": 4}
