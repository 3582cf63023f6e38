"""The classification stage of the loop: every stored mention becomes (part of) a tagged complaint.

A citizen's follow-up in the same thread joins the case it continues instead of opening a new one.
Mentions are claimed with ``FOR UPDATE SKIP LOCKED`` so several bot processes never classify one twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.db import session_scope
from models.mentions import audit
from models.tables import Complaint, Mention
from models.taxonomy import Category

logger = logging.getLogger(__name__)


class PostLike(Protocol):
    @property
    def id(self) -> str: ...


class ClassificationLike(Protocol):
    """What the stage reads of a result (read-only, so a frozen dataclass matches)."""

    @property
    def id(self) -> str: ...
    @property
    def category(self) -> Category: ...
    @property
    def confidence(self) -> float: ...
    @property
    def emergency(self) -> bool: ...
    @property
    def vip(self) -> bool: ...
    @property
    def misconduct(self) -> bool: ...
    @property
    def place(self) -> str | None: ...
    @property
    def station(self) -> str | None: ...
    @property
    def place_lat(self) -> float | None: ...
    @property
    def place_lon(self) -> float | None: ...


PostT = TypeVar("PostT", bound=PostLike)
PostT_contra = TypeVar("PostT_contra", bound=PostLike, contravariant=True)
PostT_co = TypeVar("PostT_co", bound=PostLike, covariant=True)


class ClassifierLike(Protocol[PostT_contra]):
    def classify(self, posts: Sequence[PostT_contra], /) -> Sequence[ClassificationLike]: ...


class MakeInput(Protocol[PostT_co]):
    """Builds the classifier's input from a stored mention's fields (``PostInput`` is one)."""

    def __call__(
        self,
        *,
        id: str,
        text: str,
        platform: str | None,
        author: str | None,
        lat: float | None,
        lon: float | None,
        referenced_authors: tuple[str, ...],
    ) -> PostT_co: ...


class ClassifyStage(Generic[PostT]):
    name = "classify"

    def __init__(
        self, classifier: ClassifierLike[PostT], make_input: MakeInput[PostT], *, batch_size: int = 256
    ) -> None:
        self._classifier = classifier
        self._make_input = make_input
        self._batch_size = batch_size

    def run(self, engine: Engine, now: datetime) -> dict[str, int]:
        counts = {"classified": 0, "complaints": 0, "followups": 0}
        while True:
            with session_scope(engine) as session:
                batch = _claim(session, self._batch_size)
                if not batch:
                    return counts
                results = self._classify(batch)
                for mention in batch:
                    is_new = _file(session, mention, results.get(str(mention.id)), now)
                    counts["classified"] += 1
                    counts["complaints" if is_new else "followups"] += 1

    def _classify(self, batch: Sequence[Mention]) -> dict[str, ClassificationLike]:
        inputs = [self._input(m) for m in batch]
        try:
            return {r.id: r for r in self._classifier.classify(inputs)}
        except Exception:  # one bad post must not block the batch: retry one by one
            logger.exception("classifying a batch of %d failed; retrying one at a time", len(inputs))
        results: dict[str, ClassificationLike] = {}
        for post in inputs:
            try:
                results.update({r.id: r for r in self._classifier.classify([post])})
            except Exception:
                logger.exception("mention %s could not be classified; filed as other", post.id)
        return results

    def _input(self, mention: Mention) -> PostT:
        return self._make_input(
            id=str(mention.id),
            text=mention.text,
            platform=mention.platform,
            author=mention.author_handle or mention.author_id,
            lat=mention.lat,
            lon=mention.lon,
            referenced_authors=tuple(mention.referenced_authors or ()),
        )


def _claim(session: Session, limit: int) -> list[Mention]:
    statement = (
        select(Mention)
        .where(col(Mention.classified_at).is_(None))
        .order_by(col(Mention.created_at), col(Mention.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.exec(statement).all())


def _thread_case(session: Session, mention: Mention) -> int | None:
    """The case this post continues: the same author earlier in the same thread, if any."""
    if not mention.author_id or not (mention.in_reply_to_id or mention.conversation_id):
        return None
    keys = [k for k in (mention.in_reply_to_id, mention.conversation_id) if k]
    statement = (
        select(Mention.complaint_id)
        .where(
            Mention.platform == mention.platform,
            Mention.author_id == mention.author_id,
            col(Mention.complaint_id).is_not(None),
            Mention.id != mention.id,
            sa.or_(col(Mention.external_id).in_(keys), col(Mention.conversation_id).in_(keys)),
        )
        .order_by(col(Mention.created_at))
        .limit(1)
    )
    return session.exec(statement).first()


def _file(session: Session, mention: Mention, result: ClassificationLike | None, now: datetime) -> bool:
    """Attach the mention to its case (new or continued); True when a new case was opened."""
    mention.classified_at = now
    case_id = _thread_case(session, mention)
    if case_id is not None:
        mention.complaint_id = case_id
        session.add(mention)
        complaint = session.get(Complaint, case_id)
        if complaint is not None:
            complaint.updated_at = now
            if result is not None and result.emergency and not complaint.is_emergency:
                complaint.is_emergency = True
                audit(session, "complaint.escalated_emergency", "complaint", case_id, at=now, mention_id=mention.id)
            if result is not None and result.misconduct and not complaint.is_misconduct and complaint.status == "new":
                # only before routing: a case already with a station is not moved by a follow-up (yet)
                complaint.is_misconduct = True
                audit(session, "complaint.misconduct_alleged", "complaint", case_id, at=now, mention_id=mention.id)
        audit(session, "complaint.followup", "complaint", case_id, at=now, mention_id=mention.id)
        return False
    if result is None:
        complaint = Complaint(category=Category.OTHER.value, confidence=0.0, created_at=now, updated_at=now)
    else:
        complaint = Complaint(
            category=result.category.value,
            confidence=round(float(result.confidence), 4),
            is_emergency=result.emergency,
            is_vip=result.vip,
            is_misconduct=result.misconduct,
            place_name=result.place,
            place_lat=result.place_lat,
            place_lon=result.place_lon,
            station_id=result.station,
            created_at=now,
            updated_at=now,
        )
    session.add(complaint)
    session.flush()
    mention.complaint_id = complaint.id
    session.add(mention)
    audit(
        session,
        "complaint.classified",
        "complaint",
        complaint.id,
        at=now,
        mention_id=mention.id,
        category=complaint.category,
        confidence=complaint.confidence,
        emergency=complaint.is_emergency,
        vip=complaint.is_vip,
        misconduct=complaint.is_misconduct,
        place=complaint.place_name,
        station=complaint.station_id,
        failed=result is None,
    )
    return True
