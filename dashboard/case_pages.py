"""The officer's queue and the case page, with the buttons for what the viewer may do now.

``/queue`` lists the open cases the viewer may see (an officer: the ones they hold), overdue first, then
by the nearest deadline, each with a one-tap Acknowledge. ``/cases/{docket}`` shows the case's tags, its
posts, the replies to the citizens, the notifications, the assignments and its audit trail, and the
forms for the actions :func:`models.lifecycle.allowed_actions` allows this viewer now. The action-taken
note is shown masked, as the citizen will read it, before it is posted: ``/act/preview`` renders it
with a Confirm button whose form carries the note and a signature of what was shown, and ``/act`` posts
only a note that was previewed (anything else is previewed first). After an action, a 303 back to the
case (or the queue); a refused action is the case page again, saying why.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import Signer
from sqlmodel import col, select

from dashboard.access import is_held_by, may_see, stations_of
from dashboard.actions import CaseActionsLike, buttons_for
from dashboard.sessions import Viewer
from dashboard.web import Web
from models.cases import list_cases
from models.db import session_scope
from models.lifecycle import MAX_NOTE_CHARS, OPEN, ActionKind, IllegalTransition
from models.routing import Assignment, OutboxMessage, assignments_for
from models.secret import Secret
from models.stage import Clock

MAX_REASON_CHARS = 500
DONE_NOTICES = {
    "acknowledge": "Acknowledged.",
    "act": "Action taken reported: the reply goes to the citizen in their thread.",
    "request_reassignment": "Reassignment asked for: the desk and your supervisor are told.",
}
_FAR = datetime.max.replace(tzinfo=UTC)


class LocalTime:
    """Times as the deployment reads them: ``03 Dec 2026 14:30 IST``, or in tables ``03 Dec 14:30`` (the
    year only when it is not this one; the page says the zone once)."""

    def __init__(self, tz: ZoneInfo, clock: Clock) -> None:
        self.tz = tz
        self._clock = clock

    @property
    def zone(self) -> str:
        return self._clock().astimezone(self.tz).strftime("%Z")

    def __call__(self, value: datetime | str | None) -> str:
        at = _parsed(value)
        return "—" if at is None else at.astimezone(self.tz).strftime("%d %b %Y %H:%M %Z")

    def short(self, value: datetime | str | None) -> str:
        at = _parsed(value)
        if at is None:
            return "—"
        local = at.astimezone(self.tz)
        this_year = local.year == self._clock().astimezone(self.tz).year
        return local.strftime("%d %b %H:%M" if this_year else "%d %b %Y %H:%M")


def _parsed(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def span(delta: timedelta) -> str:
    """A duration as people say it: ``40 min``, ``5 h``, ``3 days``."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def deadline(due: datetime | None, done_at: datetime | None, now: datetime, local: LocalTime) -> dict[str, Any]:
    """One deadline as the queue shows it: met, overdue by how much, or due in how long."""
    if due is None:
        return {"state": "none", "at": "—", "due": None, "text": ""}
    if done_at is not None:
        return {"state": "done", "at": local.short(due), "due": None, "text": "done " + local.short(done_at)}
    if due <= now:
        return {"state": "overdue", "at": local.short(due), "due": due, "text": f"overdue by {span(now - due)}"}
    return {"state": "due", "at": local.short(due), "due": due, "text": f"in {span(due - now)}"}


def holding(rows: Iterable[Assignment], officer_id: str | None) -> Assignment | None:
    """The open row whose deadlines the case runs on: the officer's own, else the holder's or the desk's."""
    open_rows = [r for r in rows if r.status == "open" and r.role in ("assignee", "desk")]
    if officer_id is not None:
        mine = [r for r in open_rows if r.officer_id == officer_id and r.role == "assignee"]
        open_rows = mine or open_rows
    return open_rows[-1] if open_rows else None


@dataclass(frozen=True)
class QueueRow:
    case: dict[str, Any]
    ack: dict[str, Any]  # see deadline()
    act: dict[str, Any]
    is_overdue: bool
    next_due: datetime  # the nearest deadline still to meet; far in the future when none
    may_acknowledge: bool


def queue_rows(
    cases: list[dict[str, Any]], rows: dict[int, list[Assignment]], viewer: Viewer, now: datetime, local: LocalTime
) -> list[QueueRow]:
    """The queue's rows, overdue first, then by the nearest deadline still to meet, then the oldest case."""
    found = []
    for case in cases:
        row = holding(rows.get(case["id"], []), viewer.officer_id)
        ack = deadline(row.acknowledge_by if row else None, row.acknowledged_at if row else None, now, local)
        act = deadline(row.act_by if row else None, row.acted_at if row else None, now, local)
        pending = [d["due"] for d in (ack, act) if d["due"] is not None]
        found.append(
            QueueRow(
                case=case,
                ack=ack,
                act=act,
                is_overdue="overdue" in (ack["state"], act["state"]),
                next_due=min(pending) if pending else _FAR,
                may_acknowledge=is_held_by(viewer, case) and case["status"] in ("assigned", "reopen_requested"),
            )
        )
    found.sort(key=lambda r: (not r.is_overdue, r.next_due, r.case["created_at"]))
    return found


class CasePages:
    """Reading cases for the pages; the routes are :func:`case_routes`, the signed links' in ``links.py``."""

    def __init__(self, web: Web, actions: CaseActionsLike | None, tz: ZoneInfo) -> None:
        self.web = web
        self.actions = actions
        self.local = LocalTime(tz, web.clock)

    def visible(self, viewer: Viewer, **narrowed: Any) -> list[dict[str, Any]]:
        """The cases the viewer may see, among those ``narrowed`` (``list_cases``' filters) selects."""
        stations = stations_of(viewer, self.web.units_under)
        with session_scope(self.web.engine) as session:
            return [case for case in list_cases(session, **narrowed) if may_see(viewer, case, stations)]

    def find(self, viewer: Viewer, docket: str) -> dict[str, Any] | None:
        return next(iter(self.visible(viewer, dockets=[docket])), None)

    def buttons(self, docket: str, officer_id: str | None) -> frozenset[ActionKind]:
        with session_scope(self.web.engine) as session:
            return buttons_for(session, self.actions, docket, officer_id)

    def context(
        self, case: dict[str, Any], *, officer_id: str | None, buttons: frozenset[ActionKind]
    ) -> dict[str, Any]:
        """What case.html needs besides the request: the case and its rows, and the forms to show."""
        with session_scope(self.web.engine) as session:
            rows = assignments_for(session, [case["id"]]).get(case["id"], [])
            messages = session.exec(
                select(OutboxMessage).where(OutboxMessage.complaint_id == case["id"]).order_by(col(OutboxMessage.id))
            ).all()
            # never the body: it carries the officer's signed link
            notifications = [
                {
                    "created_at": m.created_at,
                    "officer_id": m.officer_id,
                    "purpose": m.purpose,
                    "channel": m.channel_index,
                    "subject": m.subject,
                    "status": m.status,
                    "attempts": m.attempts,
                    "sent_at": m.sent_at,
                    "last_error": m.last_error,
                }
                for m in messages
            ]
            assignments = [
                {
                    "officer_id": a.officer_id,
                    "rank": a.rank,
                    "unit": a.unit_id,
                    "role": a.role,
                    "rule": a.rule,
                    "status": a.status,
                    "assigned_at": a.assigned_at,
                    "acknowledge_by": a.acknowledge_by,
                    "act_by": a.act_by,
                    "acknowledged_at": a.acknowledged_at,
                    "acted_at": a.acted_at,
                    "ended_at": a.ended_at,
                }
                for a in rows
            ]
        return {
            "case": case,
            "is_mine": officer_id is not None
            and any(
                a["officer_id"] == officer_id and a["role"] == "assignee" and a["status"] == "open"
                for a in case["assignments"]
            ),
            "assignment_rows": assignments,
            "notification_rows": notifications,
            "buttons": {b.value for b in buttons},
            "local": self.local,
            "notice": None,
            "error": None,
            "preview": None,
            "note_draft": "",
            "reason_draft": "",
        }


def case_routes(web: Web, pages: CasePages, *, secret_key: Secret) -> APIRouter:
    router = APIRouter()
    previews = Signer(secret_key.reveal(), salt="dashboard.act-preview")
    actions = pages.actions

    def page(request: Request, viewer: Viewer, case: dict[str, Any], status: int = 200, **extra: Any) -> Response:
        context = pages.context(
            case, officer_id=viewer.officer_id, buttons=pages.buttons(case["docket"], viewer.officer_id)
        )
        context.update(extra)
        return web.render(request, "case.html", context, status=status)

    def viewer_and_case(request: Request, docket: str) -> tuple[Viewer, dict[str, Any]] | Response:
        viewer = web.viewer(request)
        if viewer is None:  # back to the case after signing in, not to this POST's address
            return RedirectResponse(f"/login?next=/cases/{quote(docket, safe='')}", status_code=303)
        case = pages.find(viewer, docket)
        if case is None:
            raise HTTPException(404, "No such case.")
        return viewer, case

    def perform(
        request: Request,
        docket: str,
        kind: ActionKind,
        run: Callable[[CaseActionsLike, str, datetime], object],
        *,
        back: str = "",
        **draft: Any,
    ) -> Response:
        found = viewer_and_case(request, docket)
        if isinstance(found, Response):
            return found
        viewer, case = found
        if actions is None:
            return page(request, viewer, case, 503, error="This dashboard cannot act on cases right now.", **draft)
        if viewer.officer_id is None:
            error = f"Your account ({viewer.username}) is not linked to an officer, so it cannot act on cases."
            return page(request, viewer, case, 403, error=error, **draft)
        try:
            run(actions, viewer.officer_id, web.clock())
        except IllegalTransition as exc:
            return page(request, viewer, case, 409, error=str(exc), **draft)
        except LookupError as exc:
            raise HTTPException(404, "No such case.") from exc
        target = "/queue" if back == "/queue" else f"/cases/{quote(docket, safe='')}"
        return RedirectResponse(f"{target}?{urlencode({'done': kind.value, 'docket': docket})}", status_code=303)

    def seen(docket: str, officer_id: str, note: str) -> str:
        """What the Confirm form carries: a signature of this officer having been shown this note."""
        return previews.get_signature(_digest(docket, officer_id, note)).decode("ascii")

    def was_seen(docket: str, officer_id: str, note: str, signature: str) -> bool:
        return previews.verify_signature(_digest(docket, officer_id, note), signature.encode("ascii", "replace"))

    @router.get("/queue")
    def queue(request: Request, done: str = "", docket: str = "") -> Response:
        viewer = web.require(request, "/queue")
        if viewer.role == "officer":
            cases = pages.visible(viewer, statuses=OPEN, held_by=viewer.officer_id or "")
        else:
            cases = pages.visible(viewer, statuses=OPEN)
        with session_scope(web.engine) as session:
            rows = assignments_for(session, [c["id"] for c in cases])
        notice = None
        if done == "acknowledge" and any(c["docket"] == docket for c in cases):
            notice = f"{docket} acknowledged."
        rows_shown = queue_rows(cases, rows, viewer, web.clock(), pages.local)
        return web.render(request, "queue.html", {"rows": rows_shown, "notice": notice, "local": pages.local})

    @router.get("/cases/{docket}")
    def case_page(request: Request, docket: str, done: str = "") -> Response:
        viewer = web.require(request)
        case = pages.find(viewer, docket)
        if case is None:
            raise HTTPException(404, "No such case.")
        return page(request, viewer, case, notice=DONE_NOTICES.get(done))

    @router.post("/cases/{docket}/acknowledge")
    def acknowledge(request: Request, docket: str, back: Annotated[str, Form(max_length=100)] = "") -> Response:
        return perform(
            request,
            docket,
            ActionKind.ACKNOWLEDGE,
            lambda a, officer, now: a.acknowledge(docket, officer_id=officer, now=now),
            back=back,
        )

    @router.post("/cases/{docket}/act/preview")
    def act_preview(request: Request, docket: str, note: Annotated[str, Form(max_length=20_000)] = "") -> Response:
        found = viewer_and_case(request, docket)
        if isinstance(found, Response):
            return found
        viewer, case = found
        return preview_page(request, viewer, case, _clean(note))

    def preview_page(request: Request, viewer: Viewer, case: dict[str, Any], note: str) -> Response:
        docket = case["docket"]
        if actions is None or viewer.officer_id is None:
            return page(request, viewer, case, 403, error="Only the officer holding the case reports the action taken.")
        if ActionKind.ACT not in pages.buttons(docket, viewer.officer_id):
            error = f"You cannot report the action taken on {docket} now (it is {case['status'].replace('_', ' ')})."
            return page(request, viewer, case, 409, error=error)
        if not note:
            return page(request, viewer, case, 400, error="Write what was done: the citizen will read it.")
        if len(note) > MAX_NOTE_CHARS:
            error = f"The note has {len(note)} characters; at most {MAX_NOTE_CHARS}."
            return page(request, viewer, case, 400, error=error, note_draft=note)
        preview = {"note": note, "masked": actions.preview_note(note), "seen": seen(docket, viewer.officer_id, note)}
        return page(request, viewer, case, preview=preview, note_draft=note)

    @router.post("/cases/{docket}/act")
    def act(
        request: Request,
        docket: str,
        note: Annotated[str, Form(max_length=20_000)] = "",
        seen_as: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        note = _clean(note)
        found = viewer_and_case(request, docket)
        if isinstance(found, Response):
            return found
        viewer, case = found
        if viewer.officer_id is None or not was_seen(docket, viewer.officer_id, note, seen_as):
            return preview_page(request, viewer, case, note)  # never posted unseen: show it first
        return perform(
            request,
            docket,
            ActionKind.ACT,
            lambda a, officer, now: a.act(docket, officer_id=officer, note=note, now=now),
            note_draft=note,
        )

    @router.post("/cases/{docket}/request-reassignment")
    def request_reassignment(
        request: Request, docket: str, reason: Annotated[str, Form(max_length=10_000)] = ""
    ) -> Response:
        reason = _clean(reason)
        if not reason or len(reason) > MAX_REASON_CHARS:
            found = viewer_and_case(request, docket)
            if isinstance(found, Response):
                return found
            viewer, case = found
            error = (
                "Say why the case should go to someone else: the desk decides on it."
                if not reason
                else f"The reason has {len(reason)} characters; at most {MAX_REASON_CHARS}."
            )
            return page(request, viewer, case, 400, error=error, reason_draft=reason)
        return perform(
            request,
            docket,
            ActionKind.REQUEST_REASSIGNMENT,
            lambda a, officer, now: a.request_reassignment(docket, officer_id=officer, reason=reason, now=now),
            reason_draft=reason,
        )

    return router


def _digest(docket: str, officer_id: str, note: str) -> str:
    return hashlib.sha256(f"{docket}\n{officer_id}\n{note}".encode()).hexdigest()


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean(text: str) -> str:
    """A form's text with the browser's CRLFs made plain newlines, other control characters dropped (a
    NUL comes back from an HTML attribute as U+FFFD: the previewed note would never match), trimmed."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
