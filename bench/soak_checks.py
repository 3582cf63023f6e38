"""The invariants at the end of a soak: every post stored once, classified, routed, notified once, no reply twice.

The checks are the shared ones of ``tests/invariants.py``, except the reply check: its marker search scans
everything the platform received once per reply row (quadratic: hours at 100,000 posts), so the same rules
are applied here through an index of the markers found in the received texts. Without the shared module
(an older tree) only the reply check and a bare stored-once count run.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from models.followup import Reply
from models.tables import Mention

logger = logging.getLogger(__name__)
MARKER = re.compile(r"[A-Z]{2,8}-\d{4}-\d{4,}/[A-Za-z0-9]+-\d+(?![0-9A-Za-z])")
SHARED_CHECKS = ("stored_once", "classified_once", "routed_once", "notified_once", "escalated_once")
Check = Callable[..., list[str]]
BACKLOG_SIGNS = ("still pending", "still sending", "never classified", "never routed")


def split_backlog(found: Mapping[str, list[str]]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(violations, backlog): work a run that did not drain left undone is backlog, not a broken invariant."""
    broken = {name: [p for p in problems if not any(sign in p for sign in BACKLOG_SIGNS)]
              for name, problems in found.items()}
    backlog = {name: [p for p in problems if any(sign in p for sign in BACKLOG_SIGNS)] for name, problems in found.items()}
    return broken, backlog


def replied_once(engine: Engine, received: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each reply row posted at most once (its marker in at most one received text), a posted row found
    with its recorded id, none left pending or sending, and nothing received that no row holds."""
    hits: dict[str, list[str]] = defaultdict(list)
    for entry in received:
        for marker in set(MARKER.findall(str(entry.get("text", "")))):
            hits[marker].append(str(entry.get("id")))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(col(Reply.id), col(Reply.kind), col(Reply.marker), col(Reply.status),
                                      col(Reply.external_id))).all()
    problems: list[str] = []
    for row in rows:
        where, ids = f"reply {row.id} ({row.kind}, {row.marker})", hits.get(row.marker, [])
        if len(ids) > 1:
            problems.append(f"{where} was posted {len(ids)} times: {ids}")
        if row.status == "posted" and row.external_id not in ids:
            problems.append(f"{where} is marked posted ({row.external_id}) but the platform got {ids}")
        if row.status in ("pending", "sending"):
            problems.append(f"{where} is still {row.status}: never posted nor failed")
    known = {row.marker for row in rows}
    problems += [f"the platform got {marker} ({ids}) that no reply row holds" for marker, ids in hits.items()
                 if marker not in known]
    unmarked = sum(1 for entry in received if not MARKER.search(str(entry.get("text", ""))))
    if unmarked:
        problems.append(f"the platform got {unmarked} post(s) carrying no reply marker")
    return problems


def _stored_count(engine: Engine, posts: Iterable[tuple[str, str]]) -> list[str]:
    with engine.connect() as conn:
        stored = {(p, x) for p, x in conn.execute(sa.select(col(Mention.platform), col(Mention.external_id)))}
    return [f"post {p} {x} was never stored" for p, x in posts if (p, x) not in stored]


def shared_checks() -> dict[str, Check]:
    """The shared checks of ``tests/invariants.py`` that are linear in the data, by name."""
    try:
        module = importlib.import_module("tests.invariants")
    except ImportError:
        logger.warning("tests/invariants.py is missing: only the reply and stored checks run")
        return {}
    return {name: getattr(module, name) for name in SHARED_CHECKS if callable(getattr(module, name, None))}


def violations(engine: Engine, *, posts: Sequence[tuple[str, str]], received: Sequence[Mapping[str, Any]],
               delivered: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Each check's violations by the check's name (an empty list: it holds)."""
    found: dict[str, list[str]] = {}
    checks = shared_checks()
    for name, check in checks.items():
        if name == "stored_once":
            found[name] = check(engine, posts)
        elif name == "notified_once":
            found[name] = check(engine, delivered)
        else:
            found[name] = check(engine)
    if "stored_once" not in checks:
        found["stored_once"] = _stored_count(engine, posts)
    found["replied_once"] = replied_once(engine, received)
    return found
