"""The reply stage with the real adapters against the sandbox on a real port, on SQLite and PostgreSQL:
each reply lands in its thread exactly once (counted on what the sandbox received), also across a
``kill -9`` between posting and recording; refusals are never retried and a person is told."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.db import session_scope
from models.followup import Reply
from models.mentions import ensure_account
from models.tables import Complaint, Mention
from monitor.followup.replies import ReplyProblem, ReplySettings, ReplyStage, TellEvent, next_utc_midnight
from monitor.loop import make_platform
from monitor.platform import Platform
from sandbox import FacebookPage as SandboxPage
from sandbox import FaultSpec, RateBudget, ReceivedReply, SandboxServer, ScenarioPost
from sandbox import XAccount as SandboxX
from tests.builders import SANDBOX_TOKEN, make_facebook_page, make_polling, make_x_account
from tests.conftest import ROOT, pg_url_for

X_USER, POLICE_USER, PAGE = "1021737162349010945", "1011905472466219008", "104735829586723"
CITIZEN_POSTS = [f"18600000000000000{n:02d}" for n in range(1, 9)]  # mentions of @blrcitytraffic
POLICE_POST = "1860000000000000900"  # a mention of @BlrCityPolice only
PAGE_POST = f"{PAGE}_122100000000000001"
COMMENTS = [f"122100000000000001_50{n}" for n in range(1, 6)]
OLD_COMMENT = "122100000000000001_599"  # eight days old: past Graph's private-reply window
CRASH_SCRIPT = ROOT / "tests" / "integration" / "crash_after_post.py"
dockets = itertools.count(1)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def scenario(start: datetime) -> list[ScenarioPost]:
    posts = [
        ScenarioPost("x", f"@blrcitytraffic wrong side driving at Silk Board, report {i}", f"rider{i}",
                     start + timedelta(minutes=i), id=post_id, account="blrcitytraffic")
        for i, post_id in enumerate(CITIZEN_POSTS)
    ]
    posts.append(ScenarioPost("x", "@BlrCityPolice chain snatching near Jayanagar 4th block", "asha_k",
                              start + timedelta(minutes=30), id=POLICE_POST, account="BlrCityPolice"))
    posts.append(ScenarioPost("facebook", "Share your complaints in the comments", "Bengaluru City Police",
                              start - timedelta(days=9), id=PAGE_POST, account=PAGE, kind="page_post"))
    posts += [
        ScenarioPost("facebook", f"Loud music after midnight in Koramangala, complaint {i}", f"Resident {i}",
                     start + timedelta(minutes=i), id=comment_id, account=PAGE, in_reply_to=PAGE_POST)
        for i, comment_id in enumerate(COMMENTS)
    ]
    posts.append(ScenarioPost("facebook", "Still no action on the pothole", "Resident 9", start - timedelta(days=8),
                              id=OLD_COMMENT, account=PAGE, in_reply_to=PAGE_POST))
    return posts


@dataclass
class World:
    engine: Engine
    server: SandboxServer
    clock: Clock
    x: int  # account row ids
    facebook: int
    platforms: dict[int, Platform]
    told: list[TellEvent] = field(default_factory=list)

    def stage(self, **settings: Any) -> ReplyStage:
        return ReplyStage(self.platforms, ReplySettings(**settings), tell=self.tell)

    def tell(self, session: Session, event: TellEvent) -> None:
        self.told.append(event)

    def run(self, **settings: Any) -> dict[str, int]:
        return self.stage(**settings).run(self.engine, self.clock())

    def account(self, platform: str) -> int:
        return self.x if platform == "x" else self.facebook

    def received(self) -> list[ReceivedReply]:
        return self.server.state.received()

    def posts_sent(self, platform: str) -> int:
        """Every reply request the sandbox answered, refused ones included."""
        if platform == "x":
            return self.server.state.request_count(path_contains="/2/tweets", method="POST", platform="x")
        return self.server.state.request_count(method="POST", platform="facebook")


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def make_world(engine: Engine, clock: Clock) -> Iterator[Callable[..., World]]:
    servers: list[SandboxServer] = []

    def make(**server_options: Any) -> World:
        server = SandboxServer(
            scenario(clock.now - timedelta(hours=2)),
            x_accounts=[SandboxX(X_USER, "blrcitytraffic", access_token=SANDBOX_TOKEN),
                        SandboxX(POLICE_USER, "BlrCityPolice")],
            facebook_pages=[SandboxPage(PAGE, "Bengaluru City Police", access_token=SANDBOX_TOKEN)],
            clock=clock,
            **server_options,
        ).start()
        servers.append(server)
        x = make_platform(make_x_account(api_base_url=server.url), make_polling(), clock)
        fb = make_platform(make_facebook_page(api_base_url=server.url), make_polling(), clock)
        with session_scope(engine) as session:
            ids = [ensure_account(session, platform=p.platform, key=p.key, external_user_id=p.own_user_id,
                                  label=p.label) for p in (x, fb)]
        return World(engine, server, clock, ids[0], ids[1], {ids[0]: x, ids[1]: fb})

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world()


def add_reply(
    world: World,
    platform: str,
    parent: str,
    *,
    text: str | None = None,
    in_reply_to: str | None = None,
    is_private: bool = False,
    priority: int = 0,
    kind: str = "acknowledgement",
) -> int:
    """A citizen's post as stored (``text`` defaults to the sandbox's), its case and the reply planned to it."""
    docket = f"BLR-2026-{next(dockets):06d}"
    stored = world.server.state.find(platform, parent)
    parent_text = text if text is not None else (stored.text if stored else "")
    with session_scope(world.engine) as session:
        complaint = Complaint(docket=docket, category="traffic_violation", confidence=0.9, status="assigned")
        session.add(complaint)
        session.flush()
        # a second reply to the same post (the action taken, say) answers the post already stored
        stored_post = select(Mention).where(Mention.platform == platform, Mention.external_id == parent)
        mention = session.exec(stored_post).first()
        if mention is None:
            mention = Mention(platform=platform, external_id=parent, account_id=world.account(platform),
                              text=parent_text, created_at=world.clock.now - timedelta(hours=1),
                              complaint_id=complaint.id)
            session.add(mention)
            session.flush()
        assert complaint.id is not None and mention.id is not None
        reply = Reply(
            idempotency_key=f"{kind}:{mention.id}", complaint_id=complaint.id, mention_id=mention.id,
            account_id=world.account(platform), kind=kind, platform=platform, in_reply_to=in_reply_to or parent,
            language="en", text=f"Registered as {docket} and sent to HSR Layout Traffic PS. We will update you here.",
            marker=docket, is_private=is_private, priority=priority, next_attempt_at=world.clock.now,
        )
        session.add(reply)
        session.flush()
        assert reply.id is not None
        return reply.id


def reply_row(world: World, reply_id: int) -> Reply:
    with session_scope(world.engine) as session:
        row = session.get(Reply, reply_id)
        assert row is not None
        return row


def database_url(engine: Engine) -> str:
    return pg_url_for(engine)


@pytest.mark.parametrize("platform", ["x", "facebook"])
def test_acknowledgements_land_in_their_own_threads_exactly_once(world: World, platform: str) -> None:
    parents = CITIZEN_POSTS[:3] if platform == "x" else COMMENTS[:3]
    ids = [add_reply(world, platform, parent) for parent in parents]
    counts = world.run()
    assert counts["replies_posted"] == 3
    received = world.received()
    assert sorted(r.in_reply_to or "" for r in received) == sorted(parents)
    by_parent = {r.in_reply_to: r for r in received}
    for reply_id, parent in zip(ids, parents, strict=True):
        row = reply_row(world, reply_id)
        assert (row.status, row.external_id, row.posted_at) == ("posted", by_parent[parent].id, world.clock.now)
        assert row.marker in by_parent[parent].text
    world.clock.advance(3600)
    assert world.run()["replies_posted"] == 0
    assert len(world.received()) == 3 and world.told == []


def test_the_most_urgent_reply_goes_first(world: World) -> None:
    later = add_reply(world, "x", CITIZEN_POSTS[0])
    emergency = add_reply(world, "x", CITIZEN_POSTS[1], priority=2, kind="emergency")
    world.run(batch_size=1)
    assert reply_row(world, emergency).status == "posted" and reply_row(world, later).status == "pending"


@pytest.mark.parametrize("platform", ["x", "facebook"])
def test_kill_9_between_posting_and_recording_is_reconciled_and_never_posted_twice(
    world: World, platform: str
) -> None:
    reply_id = add_reply(world, platform, CITIZEN_POSTS[0] if platform == "x" else COMMENTS[0])
    args = [database_url(world.engine), world.server.url, platform, str(world.account(platform)),
            world.clock.now.isoformat()]
    crashed = subprocess.run([sys.executable, str(CRASH_SCRIPT), *args], capture_output=True, text=True, cwd=ROOT,
                             timeout=120, env={**os.environ, "CRASH_AFTER_POST": "1"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    (posted,) = world.received()  # the platform has it ...
    row = reply_row(world, reply_id)
    assert (row.status, row.external_id) == ("sending", None)  # ... the database does not know
    assert world.run()["replies_posted"] == 0  # not yet timed out: another process may still be posting it
    world.clock.advance(ReplySettings().sending_timeout_s + 1)
    counts = world.run()
    assert [(r.in_reply_to, r.id) for r in world.received()] == [(posted.in_reply_to, posted.id)]  # once
    row = reply_row(world, reply_id)
    assert (row.status, row.external_id) == ("posted", posted.id)
    assert (counts["replies_reconciled"], counts["replies_posted"]) == (1, 0)


def test_a_reply_interrupted_before_the_platform_got_it_is_posted_once(world: World) -> None:
    reply_id = add_reply(world, "facebook", COMMENTS[1])
    with session_scope(world.engine) as session:  # as a crash right after the sending commit leaves it
        row = session.get(Reply, reply_id)
        assert row is not None
        row.status, row.claimed_at = "sending", world.clock.now
    world.clock.advance(ReplySettings().sending_timeout_s + 1)
    counts = world.run()
    assert (counts["replies_reconciled"], counts["replies_posted"]) == (0, 1)
    (posted,) = world.received()
    assert reply_row(world, reply_id).external_id == posted.id


def test_a_post_that_does_not_mention_the_account_is_not_allowed_and_never_tried(world: World) -> None:
    reply_id = add_reply(world, "x", POLICE_POST)  # "@BlrCityPolice chain snatching ...", answered by traffic
    counts = world.run()
    assert counts["replies_not_allowed"] == 1
    row = reply_row(world, reply_id)
    assert row.status == "not_allowed" and "does not mention or quote @blrcitytraffic" in (row.last_error or "")
    assert world.posts_sent("x") == 0
    assert [(e.reply_id, e.kind) for e in world.told] == [(reply_id, ReplyProblem.NOT_ALLOWED)]
    world.clock.advance(86_400)
    world.run()
    assert world.posts_sent("x") == 0 and len(world.told) == 1


def test_x_refusing_a_reply_as_not_allowed_is_never_retried(world: World) -> None:
    # the stored text mentions us (say, a reply prefix X added itself), the post X holds does not
    reply_id = add_reply(world, "x", POLICE_POST, text="@blrcitytraffic @BlrCityPolice chain snatching")
    assert world.run()["replies_not_allowed"] == 1
    row = reply_row(world, reply_id)
    assert row.status == "not_allowed" and "not been mentioned or otherwise engaged" in (row.last_error or "")
    assert world.posts_sent("x") == 1 and world.received() == []
    assert [e.kind for e in world.told] == [ReplyProblem.NOT_ALLOWED]
    world.clock.advance(86_400)
    world.run()
    assert world.posts_sent("x") == 1 and len(world.told) == 1


@pytest.mark.parametrize("platform", ["x", "facebook"])
def test_a_deleted_parent_is_never_retried_and_told(world: World, platform: str) -> None:
    parent = CITIZEN_POSTS[2] if platform == "x" else COMMENTS[2]
    reply_id = add_reply(world, platform, parent)
    deleted = requests.delete(f"{world.server.url}/_sandbox/posts/{platform}/{parent}", timeout=5)
    assert deleted.status_code == 200
    assert world.run()["replies_failed"] == 1
    row = reply_row(world, reply_id)
    assert row.status == "failed" and (row.last_error or "").startswith("parent deleted")
    assert [(e.reply_id, e.kind) for e in world.told] == [(reply_id, ReplyProblem.PARENT_DELETED)]
    assert world.posts_sent(platform) == 1 and world.received() == []
    world.clock.advance(86_400)
    world.run()
    assert world.posts_sent(platform) == 1 and len(world.told) == 1


def test_a_429_from_post_tweets_holds_the_account_until_the_reset(make_world: Callable[..., World]) -> None:
    world = make_world(rate_limits={"x.create_tweet": RateBudget(limit=2, window_s=900.0)})
    ids = [add_reply(world, "x", parent) for parent in CITIZEN_POSTS[:4]]
    counts = world.run()
    assert (counts["replies_posted"], counts["replies_waiting"]) == (2, 2)
    assert world.posts_sent("x") == 3  # the fourth was never tried: the whole account waits
    waiting = [reply_row(world, i) for i in ids[2:]]
    reset = waiting[0].next_attempt_at
    assert world.clock.now + timedelta(seconds=899) <= reset <= world.clock.now + timedelta(seconds=901)
    assert all(r.status == "pending" and r.attempts == 0 and r.next_attempt_at == reset for r in waiting)
    world.clock.advance(600)
    assert world.run()["replies_posted"] == 0 and world.posts_sent("x") == 3  # nothing asked before the reset
    world.clock.now = reset
    assert world.run()["replies_posted"] == 2
    assert sorted(r.in_reply_to or "" for r in world.received()) == sorted(CITIZEN_POSTS[:4])


def test_a_burst_of_server_errors_is_ridden_out_with_backoff(world: World) -> None:
    world.server.state.add_fault(FaultSpec("status", platform="x", path="/2/tweets", method="POST", status=503,
                                           count=2))
    reply_id, other = add_reply(world, "x", CITIZEN_POSTS[0]), add_reply(world, "x", CITIZEN_POSTS[1])
    first = world.run()
    assert (first["replies_posted"], world.posts_sent("x")) == (0, 1)  # an outage stops the account's run
    row = reply_row(world, reply_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, world.clock.now + timedelta(seconds=30))
    world.clock.advance(30)
    world.run()  # the second 503 (for the other reply, due longer): the account stops again
    world.clock.advance(60)
    world.run()
    assert {reply_row(world, i).status for i in (reply_id, other)} == {"posted"}
    assert len(world.received()) == 2 and world.told == []


def test_server_errors_past_max_attempts_end_failed_and_told(world: World) -> None:
    world.server.state.add_fault(FaultSpec("status", platform="x", path="/2/tweets", method="POST", status=500,
                                           duration_s=10 * 86_400))
    reply_id = add_reply(world, "x", CITIZEN_POSTS[0])
    waits = []
    for _ in range(3):
        world.run(max_attempts=3)
        row = reply_row(world, reply_id)
        if row.status != "pending":
            break
        waits.append((row.next_attempt_at - world.clock.now).total_seconds())
        world.clock.now = row.next_attempt_at
    assert waits == [30.0, 60.0]
    row = reply_row(world, reply_id)
    assert (row.status, row.attempts) == ("failed", 3) and "gave up after 3 attempts" in (row.last_error or "")
    assert [(e.reply_id, e.kind) for e in world.told] == [(reply_id, ReplyProblem.FAILED)]
    world.clock.advance(86_400)
    world.run(max_attempts=3)
    assert world.posts_sent("x") == 3 and world.received() == []


def test_the_daily_cap_queues_the_rest_until_midnight_and_tells_once(world: World) -> None:
    ids = [add_reply(world, "x", parent) for parent in CITIZEN_POSTS[:3]]
    counts = world.run(x_daily_cap=2)
    assert (counts["replies_posted"], counts["replies_waiting"]) == (2, 1)
    midnight = next_utc_midnight(world.clock.now)
    assert reply_row(world, ids[2]).next_attempt_at == midnight
    assert [(e.reply_id, e.kind) for e in world.told] == [(ids[2], ReplyProblem.DAILY_CAP)]
    later = add_reply(world, "x", CITIZEN_POSTS[3])
    world.clock.advance(60)
    assert world.run(x_daily_cap=2)["replies_posted"] == 0
    assert len(world.told) == 1 and reply_row(world, later).next_attempt_at == midnight
    world.clock.now = midnight
    assert world.run(x_daily_cap=2)["replies_posted"] == 2
    assert len(world.received()) == 4 and len(world.told) == 1


def test_a_rejected_token_waits_without_counting_attempts_and_says_so(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.server.state.add_fault(FaultSpec("expired_token", platform="x", path="/2/tweets", method="POST", count=1))
    reply_id = add_reply(world, "x", CITIZEN_POSTS[0])
    with caplog.at_level(logging.INFO, logger="monitor"):
        assert world.run()["replies_waiting"] == 1
    row = reply_row(world, reply_id)
    retry_at = world.clock.now + timedelta(seconds=ReplySettings().auth_retry_s)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, retry_at)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("token was rejected" in m and "no attempt counted" in m for m in warnings), warnings
    assert SANDBOX_TOKEN not in caplog.text
    world.clock.now = retry_at
    assert world.run()["replies_posted"] == 1


def test_duplicate_content_that_is_ours_is_recorded_not_posted_again(world: World) -> None:
    reply_id = add_reply(world, "x", CITIZEN_POSTS[0])
    row = reply_row(world, reply_id)
    traffic = world.server.state.directory.x_account("blrcitytraffic")
    assert traffic is not None
    earlier = world.server.state.post_tweet(traffic, row.text, CITIZEN_POSTS[0], "/2/tweets")  # before a crash
    counts = world.run()
    assert (counts["replies_reconciled"], counts["replies_posted"]) == (1, 0)
    assert reply_row(world, reply_id).external_id == earlier.external_id and len(world.received()) == 1


def test_duplicate_content_in_another_thread_fails_and_tells(world: World) -> None:
    reply_id = add_reply(world, "x", CITIZEN_POSTS[0])
    traffic = world.server.state.directory.x_account("blrcitytraffic")
    assert traffic is not None
    world.server.state.post_tweet(traffic, reply_row(world, reply_id).text, CITIZEN_POSTS[5], "/2/tweets")
    assert world.run()["replies_failed"] == 1
    assert "duplicate content" in (reply_row(world, reply_id).last_error or "")
    assert [e.kind for e in world.told] == [ReplyProblem.FAILED]


def test_facebook_private_replies_only_where_configured_once_per_comment_within_7_days(world: World) -> None:
    public = add_reply(world, "facebook", COMMENTS[0], is_private=True)
    world.run()  # private replies not configured: the row's wish is not enough
    assert [r.path.endswith("/comments") for r in world.received()] == [True]
    assert reply_row(world, public).status == "posted"
    private = add_reply(world, "facebook", COMMENTS[1], is_private=True)
    second = add_reply(world, "facebook", COMMENTS[1], is_private=True, kind="action_taken")
    too_old = add_reply(world, "facebook", OLD_COMMENT, is_private=True)
    counts = world.run(private_replies=True)
    assert (counts["replies_posted"], counts["replies_not_allowed"]) == (1, 2)
    (message,) = [r for r in world.received() if r.path.endswith("/messages")]
    assert message.in_reply_to == COMMENTS[1] and reply_row(world, private).external_id == message.id
    assert {reply_row(world, i).status for i in (second, too_old)} == {"not_allowed"}
    assert "10900" in (reply_row(world, second).last_error or "")
    assert sorted(e.reply_id for e in world.told) == sorted([second, too_old])


def test_accounts_post_side_by_side_and_each_reply_lands_once(world: World) -> None:
    """``concurrency`` 4: the X account's and the page's replies go out at once on PostgreSQL (one account
    at a time on SQLite); either way every reply lands in its own thread once."""
    ids = [add_reply(world, "x", parent) for parent in CITIZEN_POSTS[:4]]
    ids += [add_reply(world, "facebook", parent) for parent in COMMENTS[:4]]
    counts = world.run(concurrency=4)
    assert counts["replies_posted"] == 8
    received = world.received()
    assert sorted(r.in_reply_to or "" for r in received) == sorted(CITIZEN_POSTS[:4] + COMMENTS[:4])
    assert all(reply_row(world, reply_id).status == "posted" for reply_id in ids)
    assert world.run(concurrency=4)["replies_posted"] == 0 and len(world.received()) == 8
