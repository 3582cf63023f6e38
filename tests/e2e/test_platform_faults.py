"""The whole bot under platform trouble, on a simulated clock: an hour of 429s, 5xx bursts, a hung request, broken
payloads and a rejected token. The bot loses no post, asks no more often than the platform allows, tells the desk
once when an account goes silent or its token is refused and once when it recovers, and the rest goes on. Each test
ends with the invariants checked (stored once, filed, routed once, notified as the outbox says), on SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from models.db import session_scope
from models.tables import PollCursor
from monitor.poller import PollOutcome
from sandbox import FaultSpec
from sandbox.ids import graph_time
from tests.conftest import pg_url_for
from tests.e2e.sim_bot import (
    SimBot,
    SimClock,
    assert_all_well,
    desk_alerts,
    fb_comment,
    make_sim_bot,
    start_of_sim,
    stop_sim_bot,
    x_mention,
)

pytestmark = pytest.mark.slow
X_LABEL = "x @blrcitytraffic"


@pytest.fixture
def sim(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimBot]:
    bot = make_sim_bot(monkeypatch, tmp_path, pg_url_for(engine), SimClock(start_of_sim()))
    yield bot
    stop_sim_bot(bot)


def post_now(sim: SimBot, i: int) -> None:
    """One X mention and one Facebook comment, made now."""
    sim.sandbox.state.inject(x_mention(i, sim.clock()))
    sim.sandbox.state.inject(fb_comment(i, sim.clock()))


def requests(sim: SimBot, platform: str, status: int | None = None) -> int:
    path = "/mentions" if platform == "x" else "/feed"
    return sim.sandbox.state.request_count(path_contains=path, platform=platform, status=status)


def stored_ids(sim: SimBot, platform: str) -> set[str]:
    from sqlmodel import select

    from models.tables import Mention

    with session_scope(sim.bot.engine) as session:
        return set(session.exec(select(Mention.external_id).where(Mention.platform == platform)).all())


def on_sandbox(sim: SimBot, platform: str) -> set[str]:
    return {p.external_id for p in sim.sandbox.state.posts(platform) if p.source == "injected"}


def cursor(sim: SimBot, platform: str) -> PollCursor:
    account = sim.x if platform == "x" else sim.fb
    with session_scope(sim.bot.engine) as session:
        row = session.get(PollCursor, account.account_id)
        assert row is not None
        return row


def settle(sim: SimBot, minutes: int = 10) -> None:
    """Quiet time after the trouble: every lane catches up."""
    for _ in sim.run_for(minutes * 60):
        pass


def test_an_hour_of_429s_loses_nothing_asks_only_at_each_reset_and_tells_the_desk_once(sim: SimBot) -> None:
    post_now(sim, 0)
    sim.tick()
    sim.sandbox.state.add_fault(FaultSpec(kind="rate_limit", platform="x", path="/mentions", duration_s=3600,
                                          reset_in_s=900))
    asked_before = requests(sim, "x")
    for i, _ in enumerate(sim.run_for(3600), start=1):
        post_now(sim, i)
    asked = requests(sim, "x") - asked_before
    refused = requests(sim, "x", status=429)
    # 12 turns of the loop, but the platform is asked only at each reset: t = 0, 15, 30, 45 min (+ the hour's end)
    assert 3 <= refused <= asked <= 5, f"{asked} requests in the hour, {refused} refused"
    assert on_sandbox(sim, "facebook") <= stored_ids(sim, "facebook"), "Facebook went on polling all hour"
    silent = desk_alerts(sim.receiver, f"{X_LABEL}: no successful poll")
    assert silent and all(len(told) == 1 and told[0].startswith("Needs a person") for told in silent.values()), silent

    settle(sim)
    assert on_sandbox(sim, "x") <= stored_ids(sim, "x") and on_sandbox(sim, "facebook") <= stored_ids(sim, "facebook")
    told = desk_alerts(sim.receiver, f"{X_LABEL}: no successful poll")
    assert told.keys() == silent.keys()
    for officer, titles in told.items():
        assert [t.split(":")[0] for t in titles] == ["Needs a person", "Recovered, no longer"], (officer, titles)
    assert not desk_alerts(sim.receiver, "facebook"), "the page never went silent"
    assert_all_well(sim)


def test_5xx_bursts_and_broken_payloads_lose_nothing_but_the_unreadable_items(
    sim: SimBot, caplog: pytest.LogCaptureFixture
) -> None:
    post_now(sim, 0)
    sim.tick()
    sim.sandbox.state.add_fault(FaultSpec(kind="status", status=503, platform="x", path="/mentions", duration_s=1500))
    sim.sandbox.state.add_fault(FaultSpec(kind="status", status=502, platform="facebook", count=3))
    asked_before, failures = requests(sim, "x"), []
    for i in range(1, 6):  # 25 minutes of 503s from X, three 502s from Facebook
        post_now(sim, i)
        sim.tick()
        failures.append((cursor(sim, "x").failures, cursor(sim, "facebook").failures))
    assert failures == [(1, 1), (2, 2), (3, 3), (4, 0), (5, 0)], "each failure counted, Facebook back after its burst"
    assert requests(sim, "x") - asked_before == 5, "one request a turn, backing off, not a retry loop"
    assert on_sandbox(sim, "facebook") <= stored_ids(sim, "facebook")
    sim.tick()
    assert cursor(sim, "x").failures == 0 and on_sandbox(sim, "x") <= stored_ids(sim, "x"), "X caught up"

    # a page cut off mid-JSON: nothing of it stored, the cursor stays, the next turn reads it all
    x_cursor = cursor(sim, "x").cursor
    sim.sandbox.state.add_fault(FaultSpec(kind="malformed", platform="x", path="/mentions", count=1))
    post_now(sim, 6)
    sim.tick()
    assert cursor(sim, "x").cursor == x_cursor and cursor(sim, "x").last_error
    assert on_sandbox(sim, "x") - stored_ids(sim, "x"), "the unreadable page stored nothing"
    sim.tick()
    assert on_sandbox(sim, "x") <= stored_ids(sim, "x")

    # one unreadable item on each platform: skipped and logged, the rest of its page stored, the cursor past it
    bad_x = sim.sandbox.state.inject(x_mention(70, sim.clock()))
    bad_fb = sim.sandbox.state.inject(fb_comment(70, sim.clock()))
    post_now(sim, 71)
    for bad, corruption in ((bad_x, "bad_time"), (bad_fb, "from_string")):
        sim.sandbox.state.add_fault(FaultSpec(kind="corrupt_item", platform=bad.platform, corruption=corruption,
                                              target=bad.external_id, duration_s=24 * 3600))
    sim.tick()
    for bad in (bad_x, bad_fb):
        assert bad.external_id not in stored_ids(sim, bad.platform)
        assert on_sandbox(sim, bad.platform) - stored_ids(sim, bad.platform) == {bad.external_id}
        assert "skipped" in caplog.text and bad.external_id in caplog.text
        row = cursor(sim, bad.platform)
        assert row.failures == 0 and row.last_error is None
    assert int(cursor(sim, "x").cursor or 0) >= int(bad_x.external_id), "the X cursor moved past the bad item"
    assert (cursor(sim, "facebook").cursor or "") >= graph_time(bad_fb.created_at)[:19], "the page's too"
    settle(sim)
    assert_all_well(sim, skipped=frozenset({("x", bad_x.external_id), ("facebook", bad_fb.external_id)}))


def test_a_hung_request_times_out_while_the_other_account_keeps_polling(sim: SimBot) -> None:
    post_now(sim, 0)
    sim.tick()
    hang_s = 10 * sim.bot.polling.request_timeout_s
    sim.sandbox.state.add_fault(FaultSpec(kind="timeout", platform="x", path="/mentions", delay_s=hang_s, count=1))
    post_now(sim, 1)
    outcome: list[tuple[PollOutcome, float]] = []

    def x_lane() -> None:
        began = time.monotonic()
        polled = sim.bot.poll(sim.x)
        outcome.append((polled, time.monotonic() - began))

    started = time.monotonic()
    hung = threading.Thread(target=x_lane, name="x lane")
    hung.start()
    page_turns = polled_while_x_hung = 0
    while hung.is_alive() or page_turns == 0:  # the page's lane and the stages go on meanwhile
        sim.sandbox.state.inject(fb_comment(100 + page_turns, sim.clock()))
        sim.poll(sim.fb)
        polled_while_x_hung += hung.is_alive()
        sim.bot.run_stages()
        page_turns += 1
        assert on_sandbox(sim, "facebook") <= stored_ids(sim, "facebook")
        assert time.monotonic() - started < hang_s, "the X request was not cut off at its timeout"
    [(out, elapsed_s)] = outcome
    assert out.error and not out.complete and out.next_attempt_at is not None, out.summary()
    assert sim.bot.polling.request_timeout_s <= elapsed_s < hang_s / 2, elapsed_s
    assert polled_while_x_hung >= 1, "the page polled while X hung"
    assert cursor(sim, "x").failures == 1
    sim.clock.advance(sim.bot.polling.interval_s)
    settle(sim)
    assert on_sandbox(sim, "x") <= stored_ids(sim, "x")
    assert_all_well(sim)


def test_a_rejected_token_tells_the_desk_once_leaves_the_page_alone_and_polling_resumes(
    sim: SimBot, caplog: pytest.LogCaptureFixture
) -> None:
    post_now(sim, 0)
    sim.tick()
    sim.sandbox.state.add_fault(FaultSpec(kind="expired_token", platform="x", duration_s=1800))
    asked_before = requests(sim, "x")
    for i, _ in enumerate(sim.run_for(1800), start=1):
        post_now(sim, i)
        assert on_sandbox(sim, "facebook") - stored_ids(sim, "facebook") <= {
            p.external_id for p in sim.sandbox.state.posts("facebook") if p.created_at == sim.clock()
        }, "the page is polled every turn"
    assert cursor(sim, "x").is_auth_failed
    asked = requests(sim, "x") - asked_before
    assert 2 <= asked <= 3, f"{asked} requests in 30 minutes with the token refused: one per auth_retry_s (900 s)"
    refused = desk_alerts(sim.receiver, f"{X_LABEL}: the platform rejects its token")
    assert refused and all(titles == [titles[0]] and titles[0].startswith("Needs a person") for titles in refused.values())

    settle(sim, 20)  # the token works again: the next try succeeds
    assert not cursor(sim, "x").is_auth_failed and on_sandbox(sim, "x") <= stored_ids(sim, "x")
    told = desk_alerts(sim.receiver, f"{X_LABEL}: the platform rejects its token")
    assert told.keys() == refused.keys()
    assert all([t.split(":")[0] for t in titles] == ["Needs a person", "Recovered, no longer"] for titles in told.values())
    assert not desk_alerts(sim.receiver, "facebook")
    assert caplog.text.count("re-authorise this account") == 1 and "sandbox-token" not in caplog.text
    assert_all_well(sim)
