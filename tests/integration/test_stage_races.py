"""Two bot processes running one stage at the same moment on PostgreSQL do its work once.

Each test runs the stage in two threads (two connections, as two processes would) and stops the first one
just after a chosen statement, inside its transaction, while the second runs: without the row lock or the
exclusive section the stage takes, the second would do the same work again (found by
tests/e2e/test_multi_process.py's review of what two processes may both do).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from models.db import session_scope
from models.followup import Reply
from models.mentions import ensure_account
from models.routing import OutboxMessage
from models.tables import Account, AuditEvent, Complaint
from monitor.loop import make_platform, register_accounts
from monitor.watch import WatchSettings, WatchStage
from routing.stage import RouteStage, RoutingContext
from tests.builders import make_org, make_polling, make_x_account
from tests.integration.test_followup_filing import NOW as INCIDENT_NOW
from tests.integration.test_followup_filing import POTHOLE, ROBBERY, STILL, comment, filed, store
from tests.integration.test_followup_filing import SCRIPT as THREAD_SCRIPT
from tests.integration.test_followup_filing import stage as classify_stage
from tests.integration.test_incidents import POLICY, POTHOLE_FB, SCRIPT, first_reporter
from tests.integration.test_notify_delivery import add_complaint
from tests.integration.test_notify_delivery import context as routing_context
from tests.integration.test_reply_stage import (  # noqa: F401  (fixtures: make_world, world, clock)
    CITIZEN_POSTS,
    World,
    add_reply,
    clock,
    make_world,
    world,
)

pytestmark = pytest.mark.postgres
ON_POSTGRES = pytest.mark.parametrize("engine", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@contextmanager
def paused_after(engine: Engine, fragment: str) -> Iterator[tuple[threading.Event, threading.Event]]:
    """The first thread to run a statement containing ``fragment`` stops right after it (its transaction
    open) until ``go`` is set; ``reached`` says it got there."""
    reached, go, taken = threading.Event(), threading.Event(), threading.Lock()

    def pause(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if fragment in statement and taken.acquire(blocking=False):
            reached.set()
            go.wait(20)

    sa.event.listen(engine, "after_cursor_execute", pause)
    try:
        yield reached, go
    finally:
        go.set()
        sa.event.remove(engine, "after_cursor_execute", pause)


def race(engine: Engine, fragment: str, first: Callable[[], object], second: Callable[[], object]) -> bool:
    """``first`` stops after ``fragment``; ``second`` runs meanwhile (up to 3 s: it finishes, or it waits for
    ``first``'s lock); then both finish. Whether ``second`` waited for ``first``."""
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        try:
            job()
        except BaseException as exc:  # handed to the test thread, which fails with it
            errors.append(exc)

    with paused_after(engine, fragment) as (reached, go):
        one = threading.Thread(target=run, args=(first,))
        one.start()
        assert reached.wait(20), f"the first run never ran {fragment!r}"
        two = threading.Thread(target=run, args=(second,))
        two.start()
        two.join(3)
        waited = two.is_alive()
        go.set()
        one.join(30)
        two.join(30)
    assert not errors, errors
    return waited


@ON_POSTGRES
def test_two_watch_stages_at_once_raise_an_alert_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        ensure_account(session, platform="x", key="blrcitytraffic", external_user_id="1", label="x @blrcitytraffic")
    stage = WatchStage(make_org(), WatchSettings(no_poll_min=15))
    later = datetime.now(UTC) + timedelta(hours=1)  # the account has had no successful poll since it was added

    race(engine, "INSERT INTO audit_event", lambda: stage.run(engine, later), lambda: stage.run(engine, later))

    with session_scope(engine) as session:
        raised = session.exec(select(AuditEvent).where(AuditEvent.kind == "alert.raised")).all()
        told = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "operator_alert")).all()
    assert len(raised) == 1, [(e.entity_id, e.at) for e in raised]
    assert len({m.officer_id for m in told}) == len(told)  # each desk officer told once


@ON_POSTGRES
def test_two_reply_stages_at_once_keep_the_x_daily_cap(world: World) -> None:  # noqa: F811
    """Each process counted the replies posted today and then posted up to the rest of the cap on its own
    count: two processes posting at once overshot it. Now the account is locked from the count to the claim."""
    ids = [add_reply(world, "x", parent) for parent in CITIZEN_POSTS[:3]]

    def run() -> object:
        return world.run(x_daily_cap=1)

    # the first stops having counted today's replies, before it claims one: the second must wait for it
    assert race(world.engine, "SELECT count(*)", run, run), "the second process counted while the first had room"

    with session_scope(world.engine) as session:
        statuses = [session.get(Reply, i).status for i in ids]  # type: ignore[union-attr]
    assert statuses.count("posted") == 1, statuses
    assert len(world.received()) == 1


@ON_POSTGRES
def test_two_classify_stages_at_once_file_two_reporters_of_one_incident_into_one_case(engine: Engine) -> None:
    """Each process claims one reporter's post (``SKIP LOCKED``); the first opens the case and, before it
    commits, the second looked for an open incident, found none and opened a second case. Now filing waits."""
    first, second = first_reporter(engine), "1089_3001"
    store(engine, second, POTHOLE_FB, author="asha", in_reply_to_id="1089", conversation_id="1089", minutes=50)

    def run() -> object:
        return classify_stage(SCRIPT, POLICY, batch_size=1).run(engine, INCIDENT_NOW)

    race(engine, "INSERT INTO complaint", run, run)  # the first stops having opened its case

    posts = filed(engine)
    assert posts[first].complaint_id == posts[second].complaint_id
    assert [posts[first].joined_as, posts[second].joined_as] == ["first", "incident"]


@ON_POSTGRES
def test_two_classify_stages_at_once_file_the_citizens_next_post_into_their_case(engine: Engine) -> None:
    """Ravi's pothole and his "still not fixed" under it, claimed by two processes: the second files it only
    after the first's case is there (the same author's posts are filed one after the other)."""
    first = comment(engine, 1, POTHOLE)
    second = comment(engine, 3, STILL, parent=first)

    def run() -> object:
        return classify_stage(THREAD_SCRIPT, batch_size=1).run(engine, INCIDENT_NOW)

    race(engine, "INSERT INTO complaint", run, run)

    posts = filed(engine)
    assert posts[second].complaint_id == posts[first].complaint_id
    assert [posts[first].joined_as, posts[second].joined_as] == ["first", "followup"]


@ON_POSTGRES
def test_two_classify_stages_file_unrelated_posts_side_by_side(engine: Engine) -> None:
    """Another citizen's robbery elsewhere is filed while the first process is still filing the pothole:
    filing holds only what the posts may meet (their authors, their category at their place)."""
    pothole = comment(engine, 1, POTHOLE)
    robbery = comment(engine, 2, ROBBERY, author="asha", parent=f"{pothole}_other")
    done_while_paused: list[bool] = []

    with paused_after(engine, "INSERT INTO complaint") as (reached, go):
        one = threading.Thread(target=lambda: classify_stage(THREAD_SCRIPT, batch_size=1).run(engine, INCIDENT_NOW))
        one.start()
        assert reached.wait(20)
        classify_stage(THREAD_SCRIPT, batch_size=1).run(engine, INCIDENT_NOW)  # here, not in a thread: it must not wait
        done_while_paused.append(not go.is_set() and one.is_alive())
        go.set()
        one.join(30)

    posts = filed(engine)
    assert done_while_paused == [True]
    assert posts[robbery].joined_as == "first" and posts[pothole].joined_as == "first"
    assert posts[robbery].complaint_id != posts[pothole].complaint_id


@ON_POSTGRES
def test_two_route_stages_route_side_by_side_and_never_share_a_docket(engine: Engine) -> None:
    """The first process stops writing its batch; the second routes its own meanwhile: the docket counter is
    not held by a batch until it commits (it was: a second router waited for the first's whole batch)."""
    cases = [add_complaint(engine, category="theft") for _ in range(4)]
    ctx: RoutingContext = replace(routing_context(make_org()), batch_size=2)
    done_while_paused: list[bool] = []

    with paused_after(engine, "INSERT INTO assignment") as (reached, go):
        one = threading.Thread(target=lambda: RouteStage(ctx).run(engine, NOW))
        one.start()
        assert reached.wait(20)
        RouteStage(replace(ctx, batch_size=2)).run(engine, NOW)  # here, not in a thread: it must not wait
        done_while_paused.append(not go.is_set() and one.is_alive())
        go.set()
        one.join(30)

    with session_scope(engine) as session:
        dockets = [session.get(Complaint, c).docket for c in cases]  # type: ignore[union-attr]
    assert done_while_paused == [True]
    assert None not in dockets and len(set(dockets)) == 4, dockets


@ON_POSTGRES
def test_two_bots_starting_at_once_register_an_account_once(engine: Engine) -> None:
    """Each bot looks its accounts up at start and adds those missing: the second, not seeing the first's
    uncommitted row, added it again and died at start on the unique key. Now registering waits."""
    platform = make_platform(make_x_account(api_base_url="http://127.0.0.1:9"), make_polling())

    def start() -> object:
        return register_accounts(engine, [platform])

    race(engine, "INSERT INTO account ", start, start)  # the first stops having added the account

    with session_scope(engine) as session:
        assert len(session.exec(select(Account)).all()) == 1
