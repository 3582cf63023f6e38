"""Digest mode, pure parts: the windows, which messages wait and how they group, the digest's text,
and the ``digest_every_min`` column of ``officers.csv``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from models.outbox import Claimed, window_end
from notify.digest import MAX_DIGEST_MESSAGES, plan_sends
from notify.messages import digest_message
from routing.people import read_officers

IST = ZoneInfo("Asia/Kolkata")


def ist(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=IST).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "every_min", "end"),
    [
        (ist(23, 12, 0), 60, ist(23, 13, 0)),
        (ist(23, 12, 59, 59), 60, ist(23, 13, 0)),
        (ist(23, 13, 0), 60, ist(23, 14, 0)),  # a message at the boundary opens the next window
        (ist(23, 12, 10), 30, ist(23, 12, 30)),
        (ist(23, 12, 10), 1, ist(23, 12, 11)),
        (ist(23, 23, 50), 90, ist(24, 0, 0)),  # across midnight, in the local day
        (ist(23, 23, 30), 100, ist(24, 0, 0)),  # a window that does not divide the day ends at midnight
        (ist(24, 0, 5), 100, ist(24, 1, 40)),  # and the next day's windows start again at 00:00
        (ist(23, 0, 5), 1440, ist(24, 0, 0)),
    ],
)
def test_a_window_is_a_slice_of_the_local_day(now: datetime, every_min: int, end: datetime) -> None:
    assert window_end(now, every_min, IST) == end
    assert window_end(now, every_min, IST).tzinfo == UTC


def claimed(mid: int, officer: str, *, purpose: str = "assign", priority: int = 0, channel: int = 0) -> Claimed:
    return Claimed(mid, f"k{mid}", purpose, mid, officer, channel, f"[D{mid}] s", "b", 1, None, priority)


DIGEST = {"ACP": 60, "PSI": 30}


@pytest.mark.parametrize(
    ("batch", "sends"),
    [
        ([claimed(1, "ACP"), claimed(2, "ACP"), claimed(3, "ACP")], [[1, 2, 3]]),
        ([claimed(1, "ASI"), claimed(2, "ASI")], [[1], [2]]),  # no digest: each alone
        ([claimed(1, "ACP"), claimed(2, "PSI"), claimed(3, "ACP"), claimed(4, "PSI")], [[1, 3], [2, 4]]),
        ([claimed(1, "ACP", priority=2), claimed(2, "ACP"), claimed(3, "ACP")], [[1], [2, 3]]),  # emergency alone
        ([claimed(1, "ACP", priority=1), claimed(2, "ACP")], [[1, 2]]),  # a VIP post waits like any other
        ([claimed(1, "ACP", purpose="desk_alert"), claimed(2, "ACP")], [[1], [2]]),  # a failure alert never waits
        ([claimed(1, "ACP", purpose="copy"), claimed(2, "ACP", purpose="reassign")], [[1, 2]]),
        ([claimed(1, "ACP", channel=0), claimed(2, "ACP", channel=1), claimed(3, "ACP", channel=0)], [[1, 3], [2]]),
        ([claimed(1, "GONE"), claimed(2, "GONE")], [[1], [2]]),  # an officer no longer configured
        ([], []),
    ],
)
def test_an_officers_digest_messages_go_together_per_channel(batch: list[Claimed], sends: list[list[int]]) -> None:
    assert [[m.id for m in send] for send in plan_sends(batch, lambda o: DIGEST.get(o, 0))] == sends


def test_a_digest_holds_at_most_max_digest_messages() -> None:
    batch = [claimed(i, "ACP") for i in range(MAX_DIGEST_MESSAGES + 1)]
    assert [len(send) for send in plan_sends(batch, lambda o: 60)] == [MAX_DIGEST_MESSAGES, 1]


def test_the_digest_names_every_case_and_keeps_each_message_whole() -> None:
    messages = [
        (f"[BLR-2026-00000{i}] Theft at Koramangala — Koramangala PS", f"ACP Zubair Achar: ...\nDocket: BLR-2026-00000{i}")
        for i in range(1, 4)
    ]
    subject, body = digest_message("ACP Zubair Achar", messages)
    assert subject.startswith("3 cases for you: [BLR-2026-000001] Theft at Koramangala")
    assert body.startswith("ACP Zubair Achar: 3 case messages in this digest.")
    for i, (one_subject, one_body) in enumerate(messages, start=1):
        assert f"{i}. {one_subject}\n{one_body}" in body
    long_subject, _ = digest_message("X", [("[D] " + "ಕ" * 400, "b")] * 2)
    assert len(long_subject) == 300 and long_subject.endswith("…")


HEADER = "id,name,rank,unit_id,role,status,channels"


@pytest.mark.parametrize(
    ("cell", "every_min", "problem"),
    [
        ("", 0, None),
        ("0", 0, None),
        ("60", 60, None),
        ("1440", 1440, None),
        ("1441", 0, "digest_every_min '1441' is not a whole number of minutes 0–1440"),
        ("-5", 0, "digest_every_min '-5'"),
        ("half an hour", 0, "digest_every_min 'half an hour'"),
        ("²", 0, "digest_every_min '²'"),
        ("30.5", 0, "digest_every_min '30.5'"),
    ],
)
def test_the_digest_column_is_read_and_checked(tmp_path: Path, cell: str, every_min: int, problem: str | None) -> None:
    path = tmp_path / "officers.csv"
    path.write_text(f"{HEADER},digest_every_min\nB1,Asha Rao,ACP,a1,head,active,json://127.0.0.1:9/x,{cell}\n", encoding="utf-8")
    officers, problems = read_officers(path, {})
    assert officers["B1"].digest_every_min == every_min
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0]


def test_without_the_digest_column_every_officer_gets_each_message_at_once(tmp_path: Path) -> None:
    path = tmp_path / "officers.csv"
    path.write_text(f"{HEADER}\nB1,Asha Rao,ACP,a1,head,active,json://127.0.0.1:9/x\n", encoding="utf-8")
    officers, problems = read_officers(path, {})
    assert problems == [] and officers["B1"].digest_every_min == 0
