"""The retention policy's pure parts: what an audit event keeps, the cut-offs, and ``[retention]`` parsed."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assembly.settings import load_settings
from models.retention import PURGED, PurgeCounts, Retention, cutoffs, stripped_detail
from tests.unit.test_settings import FULL_ENV, ROOT, SAMPLE, problems_of, put

NOW = datetime(2027, 12, 3, 9, 0, tzinfo=UTC)

DETAILS: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
    # a desk member's reason may name the citizen: it goes, the key stays
    ("complaint", {"docket": "BLR-1", "from": "desk", "to": "rejected", "reason": "spam from +91 98450 12345"},
     {"docket": "BLR-1", "from": "desk", "to": "rejected", "reason": PURGED}),
    ("user", {"ip": "10.1.2.3", "role": "desk"}, {"ip": PURGED, "role": "desk"}),
    ("user", {"reason": "wrong_password", "ip": None}, {"reason": PURGED, "ip": None}),
    ("complaint", {"docket": "BLR-1", "reason": None, "replies": 1}, None),  # nothing personal: left as it is
    ("complaint", {"docket": "BLR-1", "reason": PURGED}, None),  # already stripped: a second purge changes nothing
    ("complaint", {"mention_id": 7, "place": "Silk Board", "station": "blr-traffic-mico-layout"}, None),
    ("alert", {"text": "Needs a person: x @blrcitytraffic has not been read for 20 min"}, None),  # the bot's words
    ("stage", {"error": "OperationalError", "reason": "database locked"}, None),
]


@pytest.mark.parametrize(("entity", "detail", "expected"), DETAILS)
def test_an_old_audit_event_loses_its_free_text_and_addresses_and_keeps_its_keys(
    entity: str, detail: dict[str, Any], expected: dict[str, Any] | None
) -> None:
    before = copy.deepcopy(detail)
    assert stripped_detail(entity, detail) == expected
    assert detail == before  # a new dict: the caller's stays as it was


def test_cut_offs_count_back_from_now_and_personal_data_outlives_the_reopen_window() -> None:
    policy = Retention(raw_payload_days=30, personal_data_days=10, audit_detail_days=400, session_days=90)
    cut = cutoffs(policy, NOW, reopen_window_days=14)
    assert cut.raw_payload_before == NOW - timedelta(days=30)
    assert cut.personal_data_before == NOW - timedelta(days=14)  # never inside the window a reopen may come in
    assert cut.audit_detail_before == NOW - timedelta(days=400)
    assert cut.session_ended_before == NOW - timedelta(days=90)
    assert cutoffs(policy, NOW, reopen_window_days=3).personal_data_before == NOW - timedelta(days=10)


def test_counts_add_up_per_table_and_say_nothing_when_nothing_changed() -> None:
    counts = PurgeCounts({})
    assert counts.format() == "nothing" and counts.total == 0
    counts.add("mention", 3)
    counts.add("reply", 0)
    counts.add("mention", 2)
    assert counts.by_table == {"mention": 5} and counts.format() == "mention 5"


def test_the_sample_deployment_s_retention_is_read_from_config_toml() -> None:
    assert "[retention]" in (ROOT / "config.toml").read_text(encoding="utf-8")
    policy = load_settings(ROOT / "config.toml", FULL_ENV).retention
    assert policy == Retention(**SAMPLE["retention"])
    assert (policy.raw_payload_days, policy.personal_data_days) == (30, 365)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("personal_data_days", 0, "retention.personal_data_days: input should be greater than or equal to 1, got 0"),
        ("raw_payload_days", "a month", "retention.raw_payload_days: input should be a valid integer, got 'a month'"),
        ("keep_forever", True, "retention.keep_forever: unknown key"),
    ],
)
def test_a_broken_retention_setting_is_named(key: str, value: object, expected: str) -> None:
    assert any(p.startswith(expected) for p in problems_of(put(f"retention.{key}", value))), expected
