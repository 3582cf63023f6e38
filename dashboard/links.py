"""Signed links in officers' messages: one case, for one officer, without a password, acted on once.

A link carries (docket, officer id, purpose, nonce), signed with the dashboard's secret and the time it
was made (itsdangerous ``URLSafeTimedSerializer``), and expires after ``max_age`` (72 hours unless the
assembly says otherwise). Opening it (``GET /l/{token}``) never acts: link previews in Telegram and mail
scanners open links before the officer does. It shows the case as that officer may see it, with one
button; the button (``POST /l/{token}``, a form with the CSRF token) acknowledges the case and uses the
link up. Its use is recorded under a hash of the payload, not of the link's text: a signature's last
base64 letter has spare bits, so one link can be spelt several ways that all verify.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from dashboard.actions import CaseActionsLike, buttons_for
from dashboard.case_pages import CasePages
from dashboard.sessions import Viewer
from dashboard.web import Web
from models.db import session_scope
from models.lifecycle import ActionKind, IllegalTransition
from models.links import claim_link_use, find_link_use, record_link_outcome, release_link_use
from models.secret import Secret
from models.tables import AuditEvent

logger = logging.getLogger(__name__)

DEFAULT_MAX_AGE = timedelta(hours=72)
ACKNOWLEDGE = "acknowledge"
PURPOSES = frozenset({ACKNOWLEDGE})
MAX_TOKEN_CHARS = 400
_SALT = "dashboard.signed-link"


@dataclass(frozen=True)
class LinkClaims:
    """What a valid link says."""

    docket: str
    officer_id: str
    purpose: str
    nonce: str
    issued_at: datetime

    @property
    def use_key(self) -> str:
        """The link's identity in ``signed_link_use``: the same however the token is spelt."""
        payload = json.dumps([self.docket, self.officer_id, self.purpose, self.nonce])
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class LinkInvalid(ValueError):
    """Not a link this dashboard signed (forged, altered, cut short, or signed with another secret)."""


class LinkExpired(ValueError):
    """A link this dashboard signed, older than it may be."""

    def __init__(self, issued_at: datetime | None) -> None:
        super().__init__("the link has expired")
        self.issued_at = issued_at


def sign_link(secret_key: Secret, docket: str, officer_id: str, *, now: datetime, purpose: str = ACKNOWLEDGE) -> str:
    """A fresh token (its own nonce) for the officer and the case."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown signed-link purpose {purpose!r}")
    nonce = secrets.token_urlsafe(9)
    return _serializer(secret_key, now).dumps([docket, officer_id, purpose, nonce])


def link_for(secret_key: Secret, base_url: str, docket: str, officer_id: str, *, now: datetime) -> str:
    """The address to put in an officer's message: opens ``docket`` for ``officer_id``, acknowledges once."""
    return f"{base_url.rstrip('/')}/l/{sign_link(secret_key, docket, officer_id, now=now)}"


def read_link(secret_key: Secret, token: str, *, now: datetime, max_age: timedelta = DEFAULT_MAX_AGE) -> LinkClaims:
    """What the token says; LinkInvalid or LinkExpired when it may not be used."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise LinkInvalid("no link of this dashboard is that long")
    serializer = _serializer(secret_key, now)
    try:
        value, signed_at = serializer.loads(token, max_age=int(max_age.total_seconds()), return_timestamp=True)
    except SignatureExpired as exc:
        raise LinkExpired(exc.date_signed) from exc
    except BadSignature as exc:
        raise LinkInvalid("the link's signature does not match") from exc
    if not (isinstance(value, list) and len(value) == 4 and all(isinstance(v, str) and v for v in value)):
        raise LinkInvalid("the link does not say which case, officer and purpose")
    docket, officer_id, purpose, nonce = value
    if purpose not in PURPOSES:
        raise LinkInvalid(f"unknown purpose {purpose!r}")
    return LinkClaims(docket, officer_id, purpose, nonce, signed_at)


class _SignerAt(TimestampSigner):
    """Signs and checks against the time handed in, not the machine's clock (tests and the demo run their own)."""

    def __init__(self, *args: Any, at: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._at = at

    def get_timestamp(self) -> int:
        return int(self._at.timestamp())


def _serializer(secret_key: Secret, now: datetime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key.reveal(), salt=_SALT, signer=_SignerAt, signer_kwargs={"at": now})


def link_routes(
    web: Web, pages: CasePages, *, secret_key: Secret, actions: CaseActionsLike | None, max_age: timedelta
) -> APIRouter:
    router = APIRouter()

    def problem(request: Request, status: int, title: str, message: str) -> Response:
        return web.render(request, "link.html", {"problem": {"title": title, "message": message}}, status=status)

    def opened(request: Request, token: str) -> LinkClaims | Response:
        """The link's claims, or the page saying why it cannot be used."""
        try:
            return read_link(secret_key, token, now=web.clock(), max_age=max_age)
        except LinkExpired as exc:
            made = f" It was made {pages.local(exc.issued_at)}." if exc.issued_at else ""
            hours = max_age.total_seconds() / 3600
            return problem(
                request,
                410,
                "This link has expired",
                f"Links in messages work for {hours:g} hours.{made} Sign in to the dashboard to open the case.",
            )
        except LinkInvalid as exc:
            logger.info("refused a signed link: %s", exc)
            return problem(
                request,
                404,
                "This link is not valid",
                "It was not made by this dashboard, or it was changed or cut short on the way. "
                "Open the case from the dashboard instead.",
            )

    def used_page(request: Request, claims: LinkClaims) -> Response | None:
        with session_scope(web.engine) as session:
            use = find_link_use(session, token_hash=claims.use_key)
            if use is None:
                return None
            used_at, outcome = use.used_at, use.outcome
        said = f" ({outcome})" if outcome else ""
        return problem(
            request,
            410,
            "This link was used already",
            f"Its button was pressed {pages.local(used_at)}{said}. A link acts only once: "
            f"open {claims.docket} from the dashboard to do more.",
        )

    def case_of(claims: LinkClaims) -> dict[str, Any] | None:
        viewer = Viewer(
            user_id=0, username=claims.officer_id, role="officer", officer_id=claims.officer_id, unit_id=None
        )
        return pages.find(viewer, claims.docket)

    def not_yours(request: Request, claims: LinkClaims) -> Response:
        return problem(
            request,
            410,
            "This link no longer opens the case",
            f"{claims.docket} is no longer assigned to {claims.officer_id}. Sign in to the dashboard to see your cases.",
        )

    def show(
        request: Request, token: str, claims: LinkClaims, case: dict[str, Any], status: int = 200, **extra: Any
    ) -> Response:
        with session_scope(web.engine) as session:
            may_acknowledge = ActionKind.ACKNOWLEDGE in buttons_for(session, actions, claims.docket, claims.officer_id)
        context = pages.context(case, officer_id=claims.officer_id, buttons=frozenset())
        context.update(
            {"token": token, "claims": claims, "can_act": actions is not None, "may_acknowledge": may_acknowledge}
        )
        context.update(extra)
        return web.render(request, "link.html", context, status=status)

    @router.api_route("/l/{token}", methods=["GET", "HEAD"])
    def open_link(request: Request, token: str) -> Response:
        claims = opened(request, token)
        if isinstance(claims, Response):
            return claims
        if (used := used_page(request, claims)) is not None:
            return used
        case = case_of(claims)
        if case is None:
            return not_yours(request, claims)
        return show(request, token, claims, case)

    @router.post("/l/{token}")
    def press(request: Request, token: str) -> Response:  # asgi-csrf checked the form's token already
        claims = opened(request, token)
        if isinstance(claims, Response):
            return claims
        if actions is None:
            return problem(request, 503, "Not available", "This dashboard cannot act on cases right now.")
        case = case_of(claims)
        if case is None:
            return not_yours(request, claims)
        now = web.clock()
        with session_scope(web.engine) as session:
            claimed = claim_link_use(
                session,
                token_hash=claims.use_key,
                docket=claims.docket,
                officer_id=claims.officer_id,
                purpose=claims.purpose,
                now=now,
            )
        if not claimed:
            used = used_page(request, claims)
            assert used is not None
            return used
        error: str | None = None
        try:
            actions.acknowledge(claims.docket, officer_id=claims.officer_id, now=now)
        except (IllegalTransition, LookupError) as exc:
            outcome, error = f"refused: {exc}", str(exc)
        except Exception:
            with session_scope(web.engine) as session:  # nothing happened: the link may be pressed again
                release_link_use(session, token_hash=claims.use_key)
            raise
        else:
            outcome = "acknowledged"
        with session_scope(web.engine) as session:
            record_link_outcome(session, token_hash=claims.use_key, outcome=outcome)
            session.add(
                AuditEvent(
                    kind="case.signed_link",
                    entity="complaint",
                    entity_id=str(case["id"]),
                    actor=claims.officer_id,
                    at=now,
                    detail={"docket": claims.docket, "purpose": claims.purpose, "outcome": outcome},
                )
            )
        logger.info("signed link for %s by %s: %s", claims.docket, claims.officer_id, outcome)
        fresh = case_of(claims) or case
        if error is not None:
            return show(request, token, claims, fresh, 409, error=error, done=True)
        return show(request, token, claims, fresh, notice=f"{claims.docket} acknowledged. Thank you.", done=True)

    return router
