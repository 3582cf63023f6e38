"""The poller and the real adapters against the sandbox on a real port, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from models.db import session_scope
from models.tables import AuditEvent, Mention, PollCursor
from monitor.loop import PolledAccount, make_platform, register_accounts
from monitor.poller import PollOutcome, poll_account
from monitor.settings import Account
from sandbox import FacebookPage as SandboxPage
from sandbox import FaultSpec, RateBudget, SandboxServer, ScenarioPost
from sandbox import XAccount as SandboxX
from tests.builders import make_facebook_page, make_polling, make_x_account

X_USER = "1021737162349010945"
PAGE = "104735829586723"


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def scenario(n_x: int, n_fb: int, *, start: datetime, offset: int = 0) -> list[ScenarioPost]:
    posts = []
    for i in range(offset, offset + n_x):
        posts.append(
            ScenarioPost(
                platform="x",
                text=f"@blrcitytraffic bike on footpath #{i} at Koramangala",
                author=f"citizen{i % 13}",
                id=None,
                created_at=start + timedelta(seconds=30 * i),
                lat=None,
                lon=None,
                in_reply_to=None,
                account="blrcitytraffic",
                kind="mention",
            )
        )
    for i in range(offset, offset + n_fb):
        posts.append(
            ScenarioPost(
                platform="facebook",
                text=f"Loud music after midnight, complaint {i}",
                author=f"Resident {i % 11}",
                id=None,
                created_at=start + timedelta(seconds=30 * i + 7),
                lat=None,
                lon=None,
                in_reply_to=None,
                account=PAGE,
                kind="comment",
            )
        )
    return posts


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


def start_sandbox(posts: list[ScenarioPost], clock: Clock, **kwargs: Any) -> SandboxServer:
    server = SandboxServer(
        posts,
        x_accounts=[SandboxX(user_id=X_USER, username="blrcitytraffic")],
        facebook_pages=[SandboxPage(page_id=PAGE, name="Bengaluru City Police")],
        clock=clock,
        **kwargs,
    )
    return server.start()


@pytest.fixture
def world(clock: Clock) -> Iterator[SandboxServer]:
    server = start_sandbox(scenario(250, 130, start=clock.now - timedelta(hours=4)), clock)
    yield server
    server.stop()


def accounts_for(engine: Engine, server: SandboxServer, clock: Clock) -> tuple[PolledAccount, PolledAccount]:
    polling = make_polling()
    accounts: list[Account] = [make_x_account(api_base_url=server.url), make_facebook_page(api_base_url=server.url)]
    x, fb = register_accounts(engine, [make_platform(account, polling, clock) for account in accounts])
    return x, fb


def poll(engine: Engine, account: PolledAccount, clock: Clock) -> PollOutcome:
    return poll_account(engine, account.platform, account.account_id, now=clock(), settings=make_polling())


def stored(engine: Engine, platform: str | None = None) -> list[str]:
    with session_scope(engine) as s:
        q = sa.select(col(Mention.external_id))
        if platform:
            q = q.where(col(Mention.platform) == platform)
        return list(s.execute(q).scalars())


def cursor_row(engine: Engine, account: PolledAccount) -> PollCursor:
    with session_scope(engine) as s:
        row = s.get(PollCursor, account.account_id)
        assert row is not None
        return row


def test_pagination_stores_every_post_once_and_a_second_poll_nothing(
    engine: Engine, world: SandboxServer, clock: Clock
) -> None:
    x, fb = accounts_for(engine, world, clock)
    first_x, first_fb = poll(engine, x, clock), poll(engine, fb, clock)
    assert (first_x.stored, first_fb.stored) == (250, 130)
    assert first_x.complete and first_fb.complete
    assert world.state.request_count(path_contains="/mentions") == 3  # 100 + 100 + 50
    ids = stored(engine)
    assert len(ids) == len(set(ids)) == 380
    again_x, again_fb = poll(engine, x, clock), poll(engine, fb, clock)
    assert (again_x.stored, again_fb.stored) == (0, 0)
    assert len(stored(engine)) == 380


def test_resume_after_restart_reads_only_what_is_new(engine: Engine, clock: Clock) -> None:
    start = clock.now - timedelta(hours=4)
    server = start_sandbox(scenario(120, 40, start=start), clock, release="manual")
    try:
        server.state.release(100)
        x, fb = accounts_for(engine, server, clock)
        first = poll(engine, x, clock).stored + poll(engine, fb, clock).stored
        server.state.release_all()
        # a restart: new adapters, same database
        x2, fb2 = accounts_for(engine, server, clock)
        assert (x2.account_id, fb2.account_id) == (x.account_id, fb.account_id)
        out_x = poll(engine, x2, clock)
        out_fb = poll(engine, fb2, clock)
        assert first + out_x.stored + out_fb.stored == 160
        assert out_x.fetched == out_x.stored  # since_id: nothing re-read on X
        assert len(stored(engine)) == 160
    finally:
        server.stop()


def test_429_waits_for_the_reset_without_asking_again(engine: Engine, world: SandboxServer, clock: Clock) -> None:
    x, fb = accounts_for(engine, world, clock)
    world.state.add_fault(FaultSpec(kind="rate_limit", platform="x", path="/mentions", reset_in_s=600))
    out = poll(engine, x, clock)
    assert out.error and "429" in out.error and not out.complete
    assert out.next_attempt_at is not None
    assert timedelta(seconds=590) <= out.next_attempt_at - clock.now <= timedelta(seconds=610)
    asked = world.state.request_count(path_contains="/mentions")
    clock.advance(60)
    assert poll(engine, x, clock).skipped  # still waiting: no request
    assert world.state.request_count(path_contains="/mentions") == asked
    assert poll(engine, fb, clock).stored == 130  # the other platform goes on
    clock.advance(600)
    assert poll(engine, x, clock).stored == 250


def test_budget_spent_mid_range_keeps_what_was_read_and_resumes_without_rereading(engine: Engine, clock: Clock) -> None:
    server = start_sandbox(
        scenario(450, 0, start=clock.now - timedelta(hours=5)),
        clock,
        rate_limits={"x.mentions": RateBudget(limit=2, window_s=900.0)},
    )
    try:
        x, _ = accounts_for(engine, server, clock)
        out = poll(engine, x, clock)
        assert out.stored == 200 and not out.complete and out.error
        assert cursor_row(engine, x).cursor is None  # not past what is not stored
        assert server.state.request_count(path_contains="/mentions") == 2  # stopped before a 429
        clock.advance(901)
        out = poll(engine, x, clock)
        assert out.stored == 200 and out.fetched == 200
        clock.advance(901)
        out = poll(engine, x, clock)
        assert out.complete and out.stored == 50
        assert len(set(stored(engine))) == 450
        newest = max(int(i) for i in stored(engine))
        assert cursor_row(engine, x).cursor == str(newest)
    finally:
        server.stop()


def test_a_503_burst_backs_off_and_then_catches_up(engine: Engine, world: SandboxServer, clock: Clock) -> None:
    x, _ = accounts_for(engine, world, clock)
    world.state.add_fault(FaultSpec(kind="status", status=503, platform="x", count=3))
    waits = []
    for _ in range(3):
        out = poll(engine, x, clock)
        assert out.error and "503" in out.error and out.next_attempt_at
        waits.append((out.next_attempt_at - clock.now).total_seconds())
        clock.now = out.next_attempt_at
    assert waits[0] <= 5.0 and waits[2] > waits[0]  # grows
    assert cursor_row(engine, x).failures == 3
    out = poll(engine, x, clock)
    assert out.complete and out.stored == 250
    assert cursor_row(engine, x).failures == 0


def test_malformed_json_loses_nothing(engine: Engine, world: SandboxServer, clock: Clock) -> None:
    _, fb = accounts_for(engine, world, clock)
    world.state.add_fault(FaultSpec(kind="malformed", platform="facebook", count=1))
    out = poll(engine, fb, clock)
    assert out.error and "unreadable" in out.error and out.stored == 0
    clock.now = out.next_attempt_at or clock.now
    assert poll(engine, fb, clock).stored == 130


def test_expired_token_is_reported_and_the_other_platform_keeps_going(
    engine: Engine, world: SandboxServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    x, fb = accounts_for(engine, world, clock)
    world.state.add_fault(FaultSpec(kind="expired_token", platform="x", duration_s=3600))
    out = poll(engine, x, clock)
    assert out.error and "401" in out.error and "token" in out.error
    assert cursor_row(engine, x).is_auth_failed
    assert "re-authorise" in caplog.text and "sandbox-token" not in caplog.text
    assert poll(engine, fb, clock).stored == 130
    with session_scope(engine) as s:
        kinds = s.execute(sa.select(col(AuditEvent.kind)).where(col(AuditEvent.entity) == "account")).scalars().all()
    assert "poll.failed" in kinds
    world.state.clear_faults()
    clock.advance(901)
    assert poll(engine, x, clock).stored == 250
    assert not cursor_row(engine, x).is_auth_failed


def test_facebook_expired_token_maps_to_auth_failed(engine: Engine, world: SandboxServer, clock: Clock) -> None:
    _, fb = accounts_for(engine, world, clock)
    world.state.add_fault(FaultSpec(kind="expired_token", platform="facebook", count=1))
    out = poll(engine, fb, clock)
    assert out.error and "code 190" in out.error
    assert cursor_row(engine, fb).is_auth_failed


def test_the_pages_own_comments_and_a_post_seen_by_two_accounts_are_stored_once(
    engine: Engine, world: SandboxServer, clock: Clock
) -> None:
    x, fb = accounts_for(engine, world, clock)
    poll(engine, fb, clock)
    first = sorted(stored(engine, "facebook"))[0]
    fb.platform.post_reply(first, "We have asked Koramangala PS to look into this. Docket BLR-2026-000001")
    out = poll(engine, fb, clock)
    assert out.own == 1 and out.stored == 0
    with session_scope(engine) as s:
        before = s.execute(sa.select(sa.func.count()).select_from(Mention)).scalar_one()
    poll(engine, x, clock)
    poll(engine, x, clock)
    with session_scope(engine) as s:
        after = s.execute(sa.select(sa.func.count()).select_from(Mention)).scalar_one()
    assert after - before == 250


def test_a_comment_graph_shows_late_is_still_stored_once(engine: Engine, world: SandboxServer, clock: Clock) -> None:
    """Graph can show a comment minutes after its created_time, and the page's own reply moves the cursor to
    now: the next poll reads back before the cursor, stores the late comment, and stores nothing twice."""
    _, fb = accounts_for(engine, world, clock)
    poll(engine, fb, clock)
    before = set(stored(engine, "facebook"))
    fb.platform.post_reply(sorted(before)[0], "We have asked Koramangala PS to look into this.")
    assert poll(engine, fb, clock).own == 1  # the cursor is now the reply's time
    late = ScenarioPost(
        platform="facebook", text="Chain snatching near Forum mall, just now", author="Late Commenter", id=None,
        created_at=clock.now - timedelta(minutes=10), lat=None, lon=None, in_reply_to=None, account=PAGE,
        kind="comment",
    )
    world.state.inject(late)
    out = poll(engine, fb, clock)
    after = stored(engine, "facebook")
    assert out.stored == 1 and len(after) == len(set(after)) == len(before) + 1
    assert poll(engine, fb, clock).stored == 0
