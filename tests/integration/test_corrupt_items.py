"""One unreadable item is skipped or stored cleaned, never a stalled account.

Every corruption of ``sandbox.corrupt``, on X (tweepy) and Facebook (pyfacebook) against the sandbox on a
real port, on SQLite and on the real PostgreSQL, polled the way the bot polls (``Bot.poll`` inside the
guarded job): the rest of the page is stored, the cursor moves past the bad item, later posts arrive,
and no log line carries the bad item's text or its author's name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import cast

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from models.db import session_scope
from models.tables import Mention, PollCursor
from monitor.loop import Bot, PolledAccount, guarded, make_platform, register_accounts
from monitor.poller import PollOutcome
from sandbox import FacebookPage as SandboxPage
from sandbox import FaultSpec, SandboxServer, ScenarioPost
from sandbox import XAccount as SandboxX
from sandbox.corrupt import CORRUPTIONS
from sandbox.scenario import Platform
from tests.builders import make_facebook_page, make_polling, make_x_account

X_USER = "1021737162349010945"
PAGE = "104735829586723"
GOOD = 8  # good items around the bad one, on each platform
SECRET_WORD = "QXMARKER"  # in the bad item's text: must never reach the log
BAD_TEXT = f"Pothole near the {SECRET_WORD} junction, two bikes fell"
BAD_AUTHOR_X = "leela_vishwanath"  # the sandbox shows X user "leela_vishwanath" as "Leela Vishwanath"
BAD_AUTHOR_FB = "Leela Vishwanath"
NAME_PARTS = ("leela", "vishwanath")
BAD_LAT, BAD_LON = 12.9352, 77.6245
LOCATION_KINDS = ("place_list", "geo_list", "bad_coordinates")  # on Graph only a post (not a comment) has a place
# run.py logs at DEBUG with --verbose but keeps the platform clients at WARNING (tweepy's DEBUG prints bodies)
PLATFORM_CLIENTS = ("tweepy", "pyfacebook", "urllib3", "requests_oauthlib", "oauthlib")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Expect:
    """What becomes of the bad item: skipped (None), or stored with these values."""

    skipped: bool = False
    text: str | Callable[[str], bool] | None = None
    author_name: object = "unchanged"
    has_coordinates: bool = True
    place_name: object = "unchanged"


SKIPPED = Expect(skipped=True)
NO_LOCATION = Expect(has_coordinates=False, place_name=None)
EXPECTED: dict[str, dict[str, Expect]] = {
    # X: the tweet carries author_id itself, so a broken user object costs only the handle and name;
    # on Graph ``from`` is all there is to tell a citizen's comment from the page's own: skipped.
    "from_string": {"x": Expect(author_name=None), "facebook": SKIPPED},
    "from_list": {"x": Expect(author_name=None), "facebook": SKIPPED},
    "place_list": {"x": Expect(place_name=None), "facebook": NO_LOCATION},
    "geo_list": {"x": NO_LOCATION, "facebook": Expect(has_coordinates=False)},
    "bad_time": {"x": SKIPPED, "facebook": SKIPPED},
    "null_text": {"x": Expect(text=""), "facebook": Expect(text="")},
    "text_not_string": {"x": Expect(text=""), "facebook": Expect(text="")},
    "broken_unicode": {
        "x": Expect(text=lambda t: t.endswith("fell\ufffd")),
        "facebook": Expect(text=lambda t: t == f"{BAD_TEXT}\ufffd"),
    },
    "nul_name": {"x": Expect(author_name="Leela Vishwanath"), "facebook": Expect(author_name="Leela Vishwanath")},
    "long_name": {"x": Expect(author_name=lambda n: len(n) == 200), "facebook": Expect(author_name=lambda n: len(n) == 200)},
    "bad_coordinates": {"x": Expect(has_coordinates=False), "facebook": Expect(has_coordinates=False)},
}
assert set(EXPECTED) == set(CORRUPTIONS), "every corruption the sandbox can make is tested"


def post(platform: Platform, text: str, author: str, at: datetime, *, kind: str | None = None,
         located: bool = False) -> ScenarioPost:
    is_x = platform == "x"
    return ScenarioPost(
        platform=platform, text=text, author=author, id=None, created_at=at,
        lat=BAD_LAT if located else None, lon=BAD_LON if located else None,
        place="Koramangala" if located else None, in_reply_to=None,
        account="blrcitytraffic" if is_x else PAGE, kind=kind or ("mention" if is_x else "comment"),
    )


def bad_item(platform: Platform, corruption: str, at: datetime) -> ScenarioPost:
    """The item to corrupt, the newest of its page and geotagged; on Graph a tagged post when the corruption
    is about its place (a comment has none), else a comment."""
    if platform == "x":
        return post("x", BAD_TEXT, BAD_AUTHOR_X, at, located=True)
    return post("facebook", BAD_TEXT, BAD_AUTHOR_FB, at, located=True,
                kind="tagged" if corruption in LOCATION_KINDS else "comment")


def carries_place(platform: str, corruption: str) -> bool:
    return platform == "x" or corruption in LOCATION_KINDS


def good_items(platform: Platform, start: datetime, n: int, *, first: int = 0) -> list[ScenarioPost]:
    items = []
    for i in range(first, first + n):
        at = start + timedelta(minutes=i)
        kind = "tagged" if platform == "facebook" and i % 3 == 0 else None  # both Graph streams
        items.append(post(platform, f"Signal not working at Silk Board, report {i}", f"citizen{i}", at,
                          kind=kind, located=i % 2 == 0))
    return items


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture(params=["x", "facebook"])
def platform(request: pytest.FixtureRequest) -> Platform:
    return cast(Platform, request.param)


def start_sandbox(posts: list[ScenarioPost], clock: Clock) -> SandboxServer:
    return SandboxServer(
        posts,
        x_accounts=[SandboxX(user_id=X_USER, username="blrcitytraffic")],
        facebook_pages=[SandboxPage(page_id=PAGE, name="Bengaluru City Police")],
        clock=clock,
    ).start()


def account_for(engine: Engine, server: SandboxServer, platform: str, clock: Clock) -> PolledAccount:
    config = (make_x_account if platform == "x" else make_facebook_page)(api_base_url=server.url)
    [account] = register_accounts(engine, [make_platform(config, make_polling(), clock)])
    return account


def poll_as_the_bot_does(bot: Bot, account: PolledAccount) -> PollOutcome:
    outcome = guarded(f"poll {account.platform.label}", partial(bot.poll, account))()
    assert outcome is not None, "the poll raised out of the adapter or the store (see the log)"
    return outcome


def rows(engine: Engine, platform: str) -> dict[str, Mention]:
    with session_scope(engine) as session:
        found = session.execute(sa.select(Mention).where(col(Mention.platform) == platform)).scalars().all()
        return {m.external_id: m for m in found}


def check_bad_item(row: Mention | None, expect: Expect, *, has_place: bool) -> None:
    if expect.skipped:
        assert row is None, "an item that cannot be read is skipped"
        return
    assert row is not None, "the item is readable enough to be kept"
    if callable(expect.text):
        assert expect.text(row.text), repr(row.text[-20:])
    elif expect.text is not None:
        assert row.text == expect.text
    else:
        assert SECRET_WORD in row.text
    if callable(expect.author_name):
        assert row.author_name is not None and expect.author_name(row.author_name)
    elif expect.author_name != "unchanged":
        assert row.author_name == expect.author_name
    else:
        assert row.author_name == "Leela Vishwanath"
    if expect.has_coordinates and has_place:
        assert (row.lat, row.lon) == pytest.approx((BAD_LAT, BAD_LON), abs=0.02)
    else:
        assert (row.lat, row.lon) == (None, None)
    if expect.place_name != "unchanged" or not has_place:
        assert row.place_name == (None if not has_place else expect.place_name)
    else:
        assert row.place_name is not None and "Koramangala" in row.place_name


def _run(engine: Engine, platform: Platform, corruption: str, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for client in PLATFORM_CLIENTS:
        caplog.set_level(logging.WARNING, logger=client)
    start = clock.now - timedelta(hours=2)
    bad = bad_item(platform, corruption, start + timedelta(minutes=GOOD + 1))
    server = start_sandbox([*good_items(platform, start, GOOD), bad], clock)
    try:
        [target] = [p for p in server.state.posts(platform) if p.text.endswith(BAD_TEXT)]
        server.state.add_fault(FaultSpec(kind="corrupt_item", platform=platform, corruption=corruption,
                                         target=target.external_id, duration_s=24 * 3600))
        account = account_for(engine, server, platform, clock)
        bot = Bot(engine, [account], [], make_polling(), clock)

        first = poll_as_the_bot_does(bot, account)
        assert first.complete and first.error is None, first.summary()
        stored = rows(engine, platform)
        good_ids = {p.external_id for p in server.state.posts(platform)
                    if p.author_name.startswith("citizen")}
        assert good_ids <= set(stored), "the rest of the page is stored"
        assert len(good_ids) == GOOD
        check_bad_item(stored.get(target.external_id), EXPECTED[corruption][platform],
                       has_place=carries_place(platform, corruption))

        with session_scope(engine) as session:
            cursor = session.get(PollCursor, account.account_id)
            assert cursor is not None and cursor.failures == 0 and cursor.last_error is None
            assert cursor.cursor is not None
            if platform == "x":
                assert int(cursor.cursor) >= int(target.external_id), "the cursor moves past the bad item"
            elif corruption != "bad_time":
                assert cursor.cursor >= target.created_at.strftime("%Y-%m-%dT%H:%M:%S"), "past the bad item"

        later = good_items(platform, clock.now - timedelta(minutes=5), 2, first=100)
        for item in later:
            server.state.inject(item)
        clock.now += timedelta(seconds=make_polling().interval_s)
        second = poll_as_the_bot_does(bot, account)
        assert second.complete and second.error is None, second.summary()
        now_stored = rows(engine, platform)
        assert second.stored == 2 and len(now_stored) == len(stored) + 2, "later posts arrive"
    finally:
        server.stop()

    logged = caplog.text.lower()
    assert SECRET_WORD.lower() not in logged, "the bad item's text reached the log"
    for part in NAME_PARTS:
        assert part not in logged, "the bad item's author reached the log"


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_corrupt_item_is_skipped_or_cleaned_and_the_account_keeps_polling(
    engine: Engine, platform: Platform, corruption: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    _run(engine, platform, corruption, clock, caplog)
