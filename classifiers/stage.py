"""The classification stage of the loop: every stored mention becomes (part of) a tagged complaint.

Each post is classified and filed (``classifiers.filing`` decides where): the citizen's next post about
the same matter joins the case it continues (``followup``), another reporter of an open incident joins
that incident (``incident``), anything else opens a case of its own (``first``). Every post keeps its own
category; the follow-up tracker takes each one from there (``handled_at`` is left empty for it).

Several bot processes share the work (:mod:`models.claims`): a run claims a batch in a short transaction,
classifies it with no transaction open, and files it in small blocks, each its own short transaction that
first locks the posts it still holds and the keys of the cases they may join (their authors; their category
at their place), so two processes file related posts one after the other and unrelated ones side by side.
A claim expires (``CLAIM_LEASE_S``) when its process dies before filing; another process then takes it.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from classifiers.filing import (
    DEFAULT_RADIUS_M,
    Case,
    CasePost,
    Filing,
    IncidentPolicy,
    JoinedAs,
    NewPost,
    Place,
    file_post,
)
from models.claims import (
    author_key,
    claim_unclassified,
    hold_keys,
    make_claim_token,
    place_keys,
    still_claimed,
)
from models.db import session_scope
from models.followup import Reply
from models.lifecycle import OPEN, Status
from models.routing import Assignment
from models.tables import AuditEvent, Complaint, Mention
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


CLAIM_LEASE_S = 60.0  # a dead process's claimed posts are classified by another after this
FILE_BLOCK = 32  # posts filed per transaction
# a run takes no new batch after this long, so a stopping bot waits for one batch, not for the whole backlog
# (a run that classified anything is run again at once by the loop)
RUN_BUDGET_S = 15.0
DEADLOCK_RETRIES = 3


class ClassifyStage(Generic[PostT]):
    """``incidents``: how other reporters' posts join one incident; None joins none (each opens a case)."""

    name = "classify"

    def __init__(
        self,
        classifier: ClassifierLike[PostT],
        make_input: MakeInput[PostT],
        *,
        batch_size: int = 256,
        incidents: IncidentPolicy | None = None,
        file_block: int = FILE_BLOCK,
        claim_lease_s: float = CLAIM_LEASE_S,
        run_budget_s: float = RUN_BUDGET_S,
    ) -> None:
        self._classifier = classifier
        self._make_input = make_input
        self._batch_size = batch_size
        self._incidents = incidents
        self._file_block = file_block
        self._claim_lease_s = claim_lease_s
        self._run_budget_s = run_budget_s
        self._process = f"{socket.gethostname()[:64]}:{os.getpid()}"

    def run(self, engine: Engine, now: datetime) -> dict[str, int]:
        counts = {"classified": 0, "complaints": 0, "followups": 0, "incidents": 0}
        started = time.monotonic()
        while True:
            # a claim's lease runs from when it is taken: a long run's later batches are claimed later
            claimed_at = now + timedelta(seconds=time.monotonic() - started)
            holder = make_claim_token(self._process)
            with session_scope(engine) as session:
                batch = claim_unclassified(
                    session, holder=holder, now=claimed_at, lease_s=self._claim_lease_s, limit=self._batch_size
                )
            if not batch:
                return counts
            results = self._classify(batch)  # no transaction open meanwhile
            for start in range(0, len(batch), self._file_block):
                block = batch[start : start + self._file_block]
                for key, value in self._file_retrying(engine, block, results, holder, now).items():
                    counts[key] += value
            if time.monotonic() - started >= self._run_budget_s:
                return counts

    def _file_retrying(
        self,
        engine: Engine,
        block: Sequence[Mention],
        results: Mapping[str, ClassificationLike],
        holder: str,
        now: datetime,
    ) -> dict[str, int]:
        """:meth:`_file_block_of`, again when PostgreSQL chose it as a deadlock's victim (two blocks joining
        the same two cases in opposite orders: rare, and nothing was written)."""
        attempt = 1
        while True:
            try:
                return self._file_block_of(engine, block, results, holder, now)
            except sa.exc.OperationalError as exc:
                if attempt >= DEADLOCK_RETRIES or getattr(exc.orig, "sqlstate", None) != "40P01":
                    raise
                logger.warning("classify: filing %d posts met a deadlock; filing them again", len(block))
                attempt += 1

    def _file_block_of(
        self,
        engine: Engine,
        block: Sequence[Mention],
        results: Mapping[str, ClassificationLike],
        holder: str,
        now: datetime,
    ) -> dict[str, int]:
        """File the posts of ``block`` this run still holds, in one short transaction; the counts."""
        keys = filing_keys(block, results, self._incidents)
        counts = {"classified": 0, "complaints": 0, "followups": 0, "incidents": 0}
        with session_scope(engine) as session:
            # another reporter of an incident, or the citizen's next post, filed by another process this
            # moment, waits for this block (and finds the case it opens)
            hold_keys(session, keys)
            mentions = still_claimed(session, [m.id for m in block if m.id is not None], holder=holder)
            replies = _bot_replies(session, mentions)
            threads = _filed_threads(session, mentions)
            trail: list[AuditEvent] = []  # written once at the end, in one statement: nothing here reads it
            for mention in mentions:
                filing = self._file(session, mention, results.get(str(mention.id)), replies, now, trail, threads)
                counts["classified"] += 1
                counts[_COUNT_FOR[filing.joined_as]] += 1
            session.add_all(trail)
        if len(mentions) < len(block):
            logger.info("classify: %d of %d claimed posts were taken over by another process", len(block) - len(mentions), len(block))
        return counts

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

    def _file(
        self,
        session: Session,
        mention: Mention,
        result: ClassificationLike | None,
        replies: Mapping[tuple[str, str], int],
        now: datetime,
        trail: list[AuditEvent],
        threads: set[tuple[str, str]],
    ) -> Filing:
        """File the mention into its case (continued, an incident's, or a new one). ``threads``: (platform,
        id) of the filed posts and conversations this post's thread may meet (:func:`_filed_threads`)."""
        post = _new_post(mention, result)
        keys = {(mention.platform, k) for k in (mention.in_reply_to_id, mention.conversation_id) if k}
        may_continue = bool(keys & threads) or (mention.platform, mention.in_reply_to_id or "") in replies
        thread = _thread_cases(session, mention, replies) if may_continue else []
        threads.update((mention.platform, k) for k in (mention.external_id, mention.conversation_id) if k)
        policy = self._incidents
        nearby = _incident_candidates(session, post, policy) if policy is not None else []
        filing = file_post(
            post,
            thread=thread,
            nearby=nearby,
            cases=_merge_targets(session, thread),
            radius_m=policy.radius_m if policy is not None else DEFAULT_RADIUS_M,
            incidents=policy,
        )
        complaint = session.get(Complaint, filing.case_id) if filing.case_id is not None else None
        if complaint is None:
            _open_case(session, mention, result, filing, now, trail)  # the mention's row written once, with its case
            return filing if filing.joined_as is JoinedAs.FIRST else Filing(JoinedAs.FIRST)
        mention.post_category, mention.joined_as = post.category.value, filing.joined_as.value
        _join(session, mention, complaint, result, filing, now, trail)
        return filing


_COUNT_FOR = {JoinedAs.FIRST: "complaints", JoinedAs.FOLLOWUP: "followups", JoinedAs.INCIDENT: "incidents"}


def filing_keys(
    mentions: Iterable[Mention], results: Mapping[str, ClassificationLike], policy: IncidentPolicy | None
) -> set[str]:
    """What filing these posts may read and change: their authors' threads, and the places of the incidents
    they may join or open (their category at their place; see :func:`models.claims.place_keys`)."""
    keys: set[str] = set()
    for mention in mentions:
        if (author := author_key(mention.platform, mention.author_id)) is not None:
            keys.add(author)
        post = _new_post(mention, results.get(str(mention.id)))
        if policy is None or policy.window(post.category) is None or post.is_misconduct or not post.place.is_known:
            continue
        keys |= place_keys(post.category.value, post.place.key, post.place.lat, post.place.lon, policy.radius_m)
    return keys


def _author(platform: str, author_id: str | None) -> str | None:
    return f"{platform}:{author_id}" if author_id else None


def _new_post(mention: Mention, result: ClassificationLike | None) -> NewPost:
    # only the place the text names: a post's own coordinates may be the centre of a whole city (X places)
    place = Place(result.place, result.place_lat, result.place_lon) if result is not None else Place()
    return NewPost(
        external_id=mention.external_id,
        author=_author(mention.platform, mention.author_id),
        created_at=mention.created_at,
        category=result.category if result is not None else Category.OTHER,
        place=place,
        in_reply_to_id=mention.in_reply_to_id,
        conversation_id=mention.conversation_id,
        is_misconduct=result.misconduct if result is not None else False,
    )


def _bot_replies(session: Session, batch: Sequence[Mention]) -> dict[tuple[str, str], int]:
    """(platform, reply id) → case, for the bot's replies that posts of the batch answer: one query."""
    answered = {m.in_reply_to_id for m in batch if m.in_reply_to_id}
    if not answered:
        return {}
    rows = session.exec(
        select(Reply.platform, Reply.external_id, Reply.complaint_id).where(col(Reply.external_id).in_(answered))
    ).all()
    return {(platform, external_id): case_id for platform, external_id, case_id in rows if external_id}


def _note(trail: list[AuditEvent], kind: str, case_id: object, *, at: datetime, **detail: object) -> None:
    trail.append(AuditEvent(kind=kind, entity="complaint", entity_id=str(case_id), at=at, detail=detail))


def _filed_threads(session: Session, batch: Sequence[Mention]) -> set[tuple[str, str]]:
    """(platform, id) of the filed posts, and of their conversations, that posts of the batch answer or
    write in: one query, so a post that meets none of them skips looking for the cases of its thread."""
    keys = {k for m in batch for k in (m.in_reply_to_id, m.conversation_id) if k}
    if not keys:
        return set()
    rows = session.exec(
        select(Mention.platform, Mention.external_id, Mention.conversation_id).where(
            col(Mention.complaint_id).is_not(None),
            sa.or_(col(Mention.external_id).in_(keys), col(Mention.conversation_id).in_(keys)),
        )
    ).all()
    return {(platform, k) for platform, external_id, conversation in rows for k in (external_id, conversation) if k}


def _thread_cases(session: Session, mention: Mention, replies: Mapping[tuple[str, str], int]) -> list[Case]:
    """The cases this post may continue: those its author wrote in within this thread, and those of the
    post or the bot's reply it answers."""
    if not mention.author_id:
        return []
    keys = [k for k in (mention.in_reply_to_id, mention.conversation_id) if k]
    if not keys:
        return []
    same_thread = sa.and_(
        col(Mention.author_id) == mention.author_id,
        sa.or_(col(Mention.external_id).in_(keys), col(Mention.conversation_id).in_(keys)),
    )
    answered = col(Mention.external_id) == mention.in_reply_to_id if mention.in_reply_to_id else sa.false()
    written_in = select(Mention.complaint_id).where(
        Mention.platform == mention.platform,
        col(Mention.complaint_id).is_not(None),
        Mention.id != mention.id,
        sa.or_(same_thread, answered),
    )
    reply_case = replies.get((mention.platform, mention.in_reply_to_id or ""))
    of_reply = col(Complaint.id) == reply_case if reply_case is not None else sa.false()
    complaints = session.exec(select(Complaint).where(sa.or_(col(Complaint.id).in_(written_in), of_reply))).all()
    by_case: dict[int, set[str]] = {}
    for (platform, external_id), case_id in replies.items():
        if platform == mention.platform:
            by_case.setdefault(case_id, set()).add(external_id)
    return _cases(session, complaints, by_case)


def _incident_candidates(session: Session, post: NewPost, policy: IncidentPolicy) -> list[Case]:
    """Open cases of the post's category about its place with a post inside the window (by category and
    status, then a box around the point or the place's name)."""
    window = policy.window(post.category)
    if window is None or post.is_misconduct or not post.place.is_known:
        return []
    places = []
    if post.place.lat is not None and post.place.lon is not None:
        # a box a little larger than the radius; the exact distance is filing's
        d_lat = policy.radius_m / 111_000.0 * 1.01
        d_lon = d_lat / max(0.01, math.cos(math.radians(post.place.lat)))
        places.append(
            sa.and_(
                col(Complaint.place_lat).between(post.place.lat - d_lat, post.place.lat + d_lat),
                col(Complaint.place_lon).between(post.place.lon - d_lon, post.place.lon + d_lon),
            )
        )
    if post.place.key:
        places.append(sa.func.lower(sa.func.trim(Complaint.place_name)) == (post.place.name or "").strip().lower())
    in_window = sa.exists().where(
        col(Mention.complaint_id) == col(Complaint.id),
        col(Mention.created_at).between(post.created_at - window, post.created_at + window),
    )
    statement = select(Complaint).where(
        Complaint.category == post.category.value,
        col(Complaint.status).in_(sorted(OPEN)),
        sa.not_(col(Complaint.is_misconduct)),
        sa.or_(*places),
        in_window,
    )
    return _cases(session, session.exec(statement).all(), {})


def _merge_targets(session: Session, thread: Sequence[Case]) -> dict[int, Case]:
    """The cases that merged cases of the thread were merged into, as far down as merges go."""
    found = {c.id: c for c in thread}
    wanted = {c.merged_into_id for c in thread if c.status == Status.MERGED and c.merged_into_id is not None}
    for _ in range(8):  # a merge chain longer than this is a loop or a mistake: the post opens a case
        wanted -= found.keys()
        if not wanted:
            break
        loaded = _cases(session, session.exec(select(Complaint).where(col(Complaint.id).in_(wanted))).all(), {})
        found.update((c.id, c) for c in loaded)
        wanted = {c.merged_into_id for c in loaded if c.status == Status.MERGED and c.merged_into_id is not None}
    return found


def _cases(session: Session, complaints: Sequence[Complaint], replies: Mapping[int, Collection[str]]) -> list[Case]:
    """What filing reads of these cases, their posts in one query."""
    ids = [c.id for c in complaints if c.id is not None]
    if not ids:
        return []
    posts: dict[int, list[CasePost]] = {}
    # the columns filing reads, not whole rows: a big incident's hundreds of posts (and their raw payloads) are
    # read again for every post that may join it
    columns = (
        col(Mention.complaint_id),
        col(Mention.external_id),
        col(Mention.platform),
        col(Mention.author_id),
        col(Mention.created_at),
        col(Mention.conversation_id),
        col(Mention.post_category),
    )
    rows = session.execute(sa.select(*columns).where(col(Mention.complaint_id).in_(ids))).all()
    for complaint_id, external_id, platform, author_id, created_at, conversation_id, post_category in rows:
        if complaint_id is not None:
            post = CasePost(external_id, _author(platform, author_id), created_at, conversation_id, post_category)
            posts.setdefault(complaint_id, []).append(post)
    return [
        Case(
            id=c.id,
            category=c.category,
            status=c.status,
            posts=tuple(posts.get(c.id, ())),
            place=Place(c.place_name, c.place_lat, c.place_lon),
            is_misconduct=c.is_misconduct,
            merged_into_id=c.merged_into_id,
            reply_ids=frozenset(replies.get(c.id, ())),
        )
        for c in complaints
        if c.id is not None
    ]


def _join(
    session: Session,
    mention: Mention,
    complaint: Complaint,
    result: ClassificationLike | None,
    filing: Filing,
    now: datetime,
    trail: list[AuditEvent],
) -> None:
    """Add the post to its case; it may raise the case's priority (and, before routing, the accusation)."""
    case_id = complaint.id
    mention.classified_at = now
    mention.complaint_id = case_id
    session.add(mention)
    complaint.updated_at = now
    if result is not None and result.emergency and not complaint.is_emergency:
        complaint.is_emergency = True
        _note(trail, "complaint.escalated_emergency", case_id, at=now, mention_id=mention.id)
    if result is not None and result.vip and not complaint.is_vip:
        complaint.is_vip = True
        _note(trail, "complaint.escalated_vip", case_id, at=now, mention_id=mention.id)
    if (
        filing.joined_as is JoinedAs.FOLLOWUP
        and result is not None
        and result.misconduct
        and not complaint.is_misconduct
        and complaint.status == Status.NEW
    ):
        # only before routing: a case already with a station is not moved by a follow-up (yet)
        complaint.is_misconduct = True
        _note(trail, "complaint.misconduct_alleged", case_id, at=now, mention_id=mention.id)
    if filing.joined_as is JoinedAs.FOLLOWUP:
        _place_from_followup(session, mention, complaint, result, now, trail)
    session.add(complaint)
    detail: dict[str, object] = {"mention_id": mention.id, "post_category": mention.post_category}
    if filing.joined_as is JoinedAs.INCIDENT:
        _note(
            trail,
            "complaint.incident_report",
            case_id,
            at=now,
            **detail,
            distance_m=filing.distance_m,
            reporters=filing.reporters,
        )
    else:
        _note(trail, "complaint.followup", case_id, at=now, **detail, match=filing.reason)


def _place_from_followup(
    session: Session,
    mention: Mention,
    complaint: Complaint,
    result: ClassificationLike | None,
    now: datetime,
    trail: list[AuditEvent],
) -> None:
    """The citizen's next post names the place their case lacked: the case takes it and, if it waits at the
    desk for want of a station, goes back to routing, which moves it to that station."""
    if result is None or result.station is None or complaint.place_name is not None:
        return
    if result.category.value != complaint.category or complaint.status not in (Status.NEW, Status.DESK):
        return
    if complaint.status == Status.DESK and complaint.station_id is not None:
        return  # at the desk for another reason (unsure, a question): a person decides
    complaint.place_name, complaint.place_lat, complaint.place_lon = result.place, result.place_lat, result.place_lon
    complaint.station_id = result.station
    if complaint.status == Status.DESK:
        session.execute(
            sa.update(Assignment)
            .where(col(Assignment.complaint_id) == complaint.id, col(Assignment.status) == "open")
            .values(status="moved", ended_at=now)
        )
        complaint.status = Status.NEW.value
    _note(
        trail, "complaint.placed_by_followup", complaint.id, at=now,
        mention_id=mention.id, place=result.place, station=result.station,
    )


def _open_case(
    session: Session,
    mention: Mention,
    result: ClassificationLike | None,
    filing: Filing,
    now: datetime,
    trail: list[AuditEvent],
) -> None:
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
    mention.classified_at, mention.post_category = now, complaint.category  # the post's own category
    mention.joined_as = JoinedAs.FIRST.value
    mention.complaint_id = complaint.id
    session.add(mention)
    _note(
        trail,
        "complaint.classified",
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
        beside_case=filing.beside_case_id,  # a new matter in the thread of this case
    )
