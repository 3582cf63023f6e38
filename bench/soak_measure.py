"""What a soak run measured: per post, when it was released, stored, classified, routed, its officer
notified and its acknowledgement received by the platform; throughput and latency percentiles from those.

:func:`read_trace` reads the database and what the receivers got; :func:`summarise` is pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from models.followup import Reply
from models.routing import OutboxMessage
from models.tables import Complaint, Mention

DOCKET = re.compile(r"\b[A-Z]{2,8}-\d{4}-\d{4,}\b")
Key = tuple[str, str]  # platform, external id


@dataclass(frozen=True)
class PostTrace:
    released_at: datetime
    stored_at: datetime | None = None
    classified_at: datetime | None = None
    routed_at: datetime | None = None
    notified_at: datetime | None = None  # the first message naming its case at or after its release
    replied_at: datetime | None = None  # the first reply to it the platform got
    is_first: bool = False  # opened its case (the others joined a case)
    is_notice_due: bool = True  # its case has a message to someone (unknown, so True, until classified)
    is_reply_due: bool = True  # a reply to it was written (unknown, so True, until classified)


@dataclass(frozen=True)
class Summary:
    posts: int
    span_s: float  # first release to the last event of any stage
    release_span_s: float
    counts: dict[str, int]  # per stage: posts that reached it
    rates: dict[str, float]  # per stage: posts per second over the run (first release to that stage's last event)
    p50_s: dict[str, float | None]  # per stage: latency from release (NOT_REACHED: past the end of the run)
    p95_s: dict[str, float | None]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _first_at(pairs: Iterable[tuple[str, datetime]]) -> dict[str, list[datetime]]:
    found: dict[str, list[datetime]] = {}
    for key, at in pairs:
        found.setdefault(key, []).append(at)
    for times in found.values():
        times.sort()
    return found


def dockets_notified(delivered: Sequence[Mapping[str, Any]]) -> dict[str, list[datetime]]:
    """Docket -> the times (sorted) of the receiver's messages naming it."""
    pairs = []
    for entry in delivered:
        body = entry.get("body")
        text = f"{body.get('title', '')}\n{body.get('message', '')}" if isinstance(body, Mapping) else str(body)
        at = datetime.fromisoformat(str(entry["received_at"]))
        pairs += [(docket, at) for docket in set(DOCKET.findall(text))]
    return _first_at(pairs)


def read_trace(engine: Engine, released: Mapping[Key, datetime], delivered: Sequence[Mapping[str, Any]],
               received: Sequence[Mapping[str, Any]], seen: Mapping[str, Mapping[int, datetime]]) -> dict[Key, PostTrace]:
    """Every released post's trace through the stages. ``seen``: when each mention (``classified``) and
    each case (``routed``) was first seen done (:class:`soak_observe.Observer`); the stages' own columns hold
    the start of the run that did the work, not when it became visible."""
    with engine.connect() as conn:
        mentions = conn.execute(sa.select(
            col(Mention.id), col(Mention.platform), col(Mention.external_id), col(Mention.stored_at),
            col(Mention.complaint_id), col(Mention.joined_as))).all()
        dockets = dict(conn.execute(sa.select(col(Complaint.id), col(Complaint.docket))).all())
        noticed = set(conn.execute(sa.select(col(OutboxMessage.complaint_id)).distinct()).scalars())
        answered = set(conn.execute(sa.select(col(Reply.mention_id)).distinct()).scalars())
    classified, routed = seen.get("classified", {}), seen.get("routed", {})
    notified = dockets_notified(delivered)
    replied = _first_at((str(r["in_reply_to"]), datetime.fromisoformat(str(r["received_at"])))
                        for r in received if r.get("in_reply_to"))
    by_key = {(m.platform, m.external_id): m for m in mentions}
    traces: dict[Key, PostTrace] = {}
    for key, released_at in released.items():
        m = by_key.get(key)
        if m is None:
            traces[key] = PostTrace(released_at)
            continue
        classified_at = classified.get(m.id)
        routed_at = routed.get(m.complaint_id) if m.complaint_id is not None else None
        if routed_at is not None and classified_at is not None:
            routed_at = max(routed_at, classified_at)  # a post joining a routed case is routed once filed
        times = notified.get(dockets.get(m.complaint_id) or "", [])
        replies = replied.get(key[1], [])
        traces[key] = PostTrace(
            released_at, m.stored_at, classified_at, routed_at,
            next((t for t in times if t >= released_at), None), replies[0] if replies else None,
            is_first=m.joined_as == "first",
            is_notice_due=classified_at is None or m.complaint_id in noticed,
            is_reply_due=classified_at is None or m.id in answered,
        )
    return traces


STAGES = ("stored", "classified", "routed", "notified", "replied")
NOT_REACHED = float("inf")


def delays_s(traces: Iterable[PostTrace], stage: str) -> list[float]:
    """Seconds from release to ``stage`` per post, NOT_REACHED for a post that never got there, so a
    backlog left at the end raises the percentiles instead of leaving them out. ``notified`` counts the
    posts that opened a case someone got a message about (a civic referral or an appreciation has none),
    ``replied`` the posts a reply was written to; both count the posts never classified (they might)."""
    found = []
    for trace in traces:
        at = getattr(trace, f"{stage}_at")
        if stage == "notified" and not (trace.is_notice_due and (trace.is_first or trace.classified_at is None)):
            continue
        if stage == "replied" and not trace.is_reply_due:
            continue
        found.append(NOT_REACHED if at is None else (at - trace.released_at).total_seconds())
    return found


def summarise(traces: Mapping[Key, PostTrace]) -> Summary:
    """Counts, rates and latency percentiles per stage (see :func:`delays_s`)."""
    if not traces:
        return Summary(0, 0.0, 0.0, {}, {}, {}, {})
    start = min(t.released_at for t in traces.values())
    release_end = max(t.released_at for t in traces.values())
    counts: dict[str, int] = {}
    rates: dict[str, float] = {}
    p50: dict[str, float | None] = {}
    p95: dict[str, float | None] = {}
    end = release_end
    for stage in STAGES:
        reached = [(t, getattr(t, f"{stage}_at")) for t in traces.values() if getattr(t, f"{stage}_at") is not None]
        counts[stage] = len(reached)
        last = max((at for _, at in reached), default=start)
        end = max(end, last)
        rates[stage] = len(reached) / max((last - start).total_seconds(), 1e-9)
        p50[stage], p95[stage] = percentile(delays_s(traces.values(), stage), 50), \
            percentile(delays_s(traces.values(), stage), 95)
    return Summary(len(traces), (end - start).total_seconds(), (release_end - start).total_seconds(),
                   counts, rates, p50, p95)


def on_clock(traces: Mapping[Key, PostTrace], clock: Callable[[datetime], datetime]) -> dict[Key, PostTrace]:
    """Every time of every trace moved by ``clock`` (e.g. :meth:`soak_observe.Freezes.machine_time`)."""
    moved = {}
    for key, trace in traces.items():
        changes: dict[str, Any] = {f.name: clock(getattr(trace, f.name)) for f in fields(trace)
                                   if isinstance(getattr(trace, f.name), datetime)}
        moved[key] = replace(trace, **changes)
    return moved
