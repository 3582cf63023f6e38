"""Writing replies into the reply outbox: which kind a case gets, in which language, to whom, masked.

Every reporter of a case (the first post of each author: the one who opened it, others who reported the
same incident, the reporters of a case merged into it) gets each reply in their own thread, from the
account their post was addressed to. A reply's text is rendered and masked here, once, and stored: what
the row holds is exactly what the citizen will read, and its ``marker`` (``BLR-2026-000123/A1``: docket,
kind, reporter) is what finds it again in the thread after a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlmodel import Session, col, select

from models.bulk import insert_new
from models.followup import Reply
from models.outbox import EMERGENCY_PRIORITY
from models.tables import Complaint, Mention
from models.taxonomy import Category, layer_for

REPORTER_JOINS = (None, "first", "incident", "merged")
CODES = {"acknowledgement": "A", "emergency": "E", "referral": "R", "thanks": "T", "action_taken": "X", "reopened": "O"}


class Renderer(Protocol):
    def render(self, kind: str, language: str, platform: str, values: Mapping[str, str]) -> str: ...


Masker = Callable[[str, str], str]
"""(reply kind, text) → the text with personal data masked as configured for that kind."""
LanguageOf = Callable[[str, str | None], str]
"""(post text, platform language tag) → the reply's language (en, kn, hi, vi)."""


@dataclass(frozen=True)
class ReplyOptions:
    force: str  # the force's name, as the replies sign it
    emergency_number: str = "112"
    referral_contacts: Mapping[str, str] = field(default_factory=dict)  # authority → how to reach it
    facebook_private_kinds: frozenset[str] = frozenset()  # kinds sent as a Facebook private reply


def initial_kind(complaint: Complaint) -> str | None:
    """The first reply a routed case's reporters get, None for none (chatter, a question for the desk,
    a closed ``other``, a rejected case): an emergency first, whatever its category."""
    status, category = complaint.status, complaint.category
    if status in ("new", "rejected", "merged"):
        return None
    if complaint.is_emergency:
        return "emergency"
    if status == "referral":
        return "referral"
    if category == Category.APPRECIATION:
        return "thanks"
    if status == "closed":
        return None
    is_police_matter = complaint.is_misconduct or layer_for(Category(category)) is not None
    return "acknowledgement" if is_police_matter else None


def reporters(session: Session, complaint_id: int) -> list[Mention]:
    """The first post of each author of the case, oldest first."""
    rows = session.exec(
        select(Mention)
        .where(Mention.complaint_id == complaint_id)
        .order_by(col(Mention.created_at), col(Mention.id))
    ).all()
    seen: set[str] = set()
    found = []
    for mention in rows:
        author = f"{mention.platform}:{mention.author_id or mention.author_handle or mention.id}"
        if mention.joined_as in REPORTER_JOINS and author not in seen:
            seen.add(author)
            found.append(mention)
    return found


class ReplyComposer:
    def __init__(self, renderer: Renderer, mask: Masker, language_of: LanguageOf, options: ReplyOptions) -> None:
        self._renderer = renderer
        self._mask = mask
        self._language_of = language_of
        self._options = options

    def preview(self, kind: str, text: str) -> str:
        """Free text (an officer's note) as the citizen would read it: masked."""
        return self._mask(kind, text)

    def plan(
        self,
        session: Session,
        complaint: Complaint,
        kind: str,
        mentions: Sequence[Mention],
        *,
        now: datetime,
        round_no: int = 1,
        office: str | None = None,
        authority: str | None = None,
        note: str | None = None,
    ) -> int:
        """Store the reply of this kind (and round) to each of these posts, once; the count stored."""
        assert complaint.id is not None and complaint.docket
        code = CODES[kind] + (str(round_no) if kind in ("action_taken", "reopened") else "")
        rows = []
        for mention in mentions:
            assert mention.id is not None
            marker = f"{complaint.docket}/{code}-{mention.id}"  # unique to this reply, wherever it is looked up
            values = {
                "docket": complaint.docket,
                "ref": f"Ref {marker}",
                "office": office or "",
                "authority": authority or "",
                "authority_contact": self._options.referral_contacts.get(authority or "", ""),
                "note": self._mask(kind, note or ""),
                "emergency_number": self._options.emergency_number,
                "force": self._options.force,
            }
            language = self._language_of(mention.text, mention.lang)
            text = self._mask(kind, self._renderer.render(kind, language, mention.platform, values))
            rows.append(
                {
                    "idempotency_key": f"{kind}:{mention.id}:{round_no}",
                    "complaint_id": complaint.id,
                    "mention_id": mention.id,
                    "account_id": mention.account_id,
                    "kind": kind,
                    "platform": mention.platform,
                    "in_reply_to": mention.external_id,
                    "language": language,
                    "text": text,
                    "marker": marker,
                    "is_private": mention.platform == "facebook" and kind in self._options.facebook_private_kinds,
                    "priority": EMERGENCY_PRIORITY if complaint.is_emergency else 1 if complaint.is_vip else 0,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
        if not rows:
            return 0
        table = Reply.__table__  # type: ignore[attr-defined]
        return len(insert_new(session, table, rows, unique=["idempotency_key"]))

