"""Classify claims on SQLite and PostgreSQL: a batch is classified with no transaction open, under a claim.

A process that dies after claiming leaves its posts to the others once the claim expires, not before; a process
that was too slow (its claim expired and another took and filed the posts) files none of them again.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from classifiers.stage import CLAIM_LEASE_S, ClassifyStage
from models.claims import claim_unclassified, place_keys
from models.db import session_scope
from models.tables import AuditEvent
from tests.integration.test_followup_filing import (
    NOW,
    POTHOLE,
    ROBBERY,
    SCRIPT,
    THANKS,
    FakeInput,
    FakeResult,
    ScriptedClassifier,
    comment,
    filed,
    make_input,
    stage,
)
from tests.invariants import FILING_KINDS, classified_once

LEASE = timedelta(seconds=CLAIM_LEASE_S)


def three_posts(engine: Engine) -> list[str]:
    return [comment(engine, 1, POTHOLE), comment(engine, 2, ROBBERY, author="asha"), comment(engine, 3, THANKS)]


def filing_events(engine: Engine) -> Counter[object]:
    with session_scope(engine) as session:
        found = session.exec(select(AuditEvent).where(AuditEvent.kind.in_(FILING_KINDS))).all()  # type: ignore[attr-defined]
        return Counter(e.detail.get("mention_id") for e in found)


def test_posts_claimed_by_a_process_that_died_wait_for_the_claim_to_expire(engine: Engine) -> None:
    posts = three_posts(engine)
    with session_scope(engine) as session:  # a process claims them all, then is killed before filing any
        assert len(claim_unclassified(session, holder="dead:1:x", now=NOW, lease_s=CLAIM_LEASE_S, limit=10)) == 3

    before = stage(SCRIPT).run(engine, NOW + LEASE - timedelta(seconds=1))
    after = stage(SCRIPT).run(engine, NOW + LEASE)

    assert before["classified"] == 0
    assert after["classified"] == 3
    assert all(filed(engine)[p].classified_at is not None for p in posts)
    assert classified_once(engine) == []


class TakenOverMidway(ScriptedClassifier):
    """While this process classifies, its claim expires and another process takes the posts and files them."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(SCRIPT)
        self.engine = engine
        self.other: dict[str, int] = {}

    def classify(self, posts: Sequence[FakeInput], /) -> list[FakeResult]:
        if not self.other:
            self.other = stage(SCRIPT).run(self.engine, NOW + 2 * LEASE)
        return super().classify(posts)


def test_a_process_whose_claim_was_taken_over_files_none_of_those_posts_again(engine: Engine) -> None:
    three_posts(engine)
    slow = TakenOverMidway(engine)

    mine = ClassifyStage(slow, make_input).run(engine, NOW)

    assert slow.other["classified"] == 3
    assert mine["classified"] == 0
    assert set(filing_events(engine).values()) == {1}
    assert classified_once(engine) == []


def test_two_points_within_the_incident_radius_always_share_a_lock_key() -> None:
    radius_m, metre_lat = 250.0, 1 / 111_000.0
    for lat, lon in [(12.9177, 77.6233), (12.9, 77.6), (-33.86, 151.2), (21.0278, 105.8342), (70.0, 25.0)]:
        for d_lat, d_lon in [(249, 0), (0, 249), (-176, 176), (176, -176), (0.5, -0.5)]:
            other = (lat + d_lat * metre_lat, lon + d_lon * metre_lat / math.cos(math.radians(lat)))
            a = place_keys("road_infrastructure", "", lat, lon, radius_m)
            b = place_keys("road_infrastructure", "", *other, radius_m)
            assert a & b, (lat, lon, d_lat, d_lon)
    assert not place_keys("road_infrastructure", "", 12.9, 77.6, radius_m) & place_keys(
        "traffic_congestion", "", 12.9, 77.6, radius_m
    )


def test_a_run_past_its_time_budget_takes_no_new_batch_and_the_next_run_goes_on(engine: Engine) -> None:
    """A stopping bot waits for the batch in hand, not for the whole backlog: the loop runs the stage again."""
    three_posts(engine)
    one_at_a_time = ClassifyStage(ScriptedClassifier(SCRIPT), make_input, batch_size=1, run_budget_s=0.0)

    runs = [one_at_a_time.run(engine, NOW)["classified"] for _ in range(4)]

    assert runs == [1, 1, 1, 0]
    assert classified_once(engine) == []
