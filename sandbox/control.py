"""The sandbox's own control endpoints under ``/_sandbox/`` (no auth, JSON in and out).

``GET /_sandbox/accounts``   the configured X accounts and Facebook pages
``GET /_sandbox/received``   everything the bot posted (tweets, comments, private replies)
``GET|POST|DELETE /_sandbox/faults``   list / add (a FaultSpec as JSON) / clear faults
``POST /_sandbox/release``   ``{"n": k}`` or ``{"all": true}``: make hidden scenario posts visible
``POST /_sandbox/posts``     add one post (a scenario line; ``created_at`` defaults to now)
``DELETE /_sandbox/posts/{platform}/{id}``   delete a post (its author took it down)
``GET /_sandbox/stats``      request counts per method+path and status, posts visible/pending
"""

from __future__ import annotations

from typing import Any

from sandbox.faults import FaultSpec
from sandbox.ids import graph_time
from sandbox.scenario import ScenarioError, parse_post
from sandbox.state import SandboxState, accounts_summary
from sandbox.wire import Reply, Request, json_reply


def _bad(message: str) -> Reply:
    return json_reply(400, {"error": message})


def _release(state: SandboxState, body: Any) -> Reply:
    if not isinstance(body, dict):
        return _bad('want {"n": k} or {"all": true}')
    if body.get("all") is True:
        released = state.release_all()
    elif isinstance(body.get("n"), int) and not isinstance(body.get("n"), bool) and body["n"] >= 0:
        released = state.release(body["n"])
    else:
        return _bad('want {"n": k} with k >= 0, or {"all": true}')
    return json_reply(200, {"released": released, "pending": state.pending_count})


def _add_fault(state: SandboxState, body: Any) -> Reply:
    if not isinstance(body, dict):
        return _bad("want a JSON object describing the fault")
    try:
        spec = FaultSpec.from_json(body)
    except ValueError as exc:
        return _bad(str(exc))
    return json_reply(201, {"id": state.add_fault(spec)})


def _add_post(state: SandboxState, body: Any) -> Reply:
    if not isinstance(body, dict):
        return _bad("want one scenario post as a JSON object")
    record = {"created_at": state.clock().isoformat(), **body}
    try:
        stored = state.inject(parse_post(record))
    except ScenarioError as exc:
        return _bad("; ".join(exc.problems))
    except ValueError as exc:
        return _bad(str(exc))
    return json_reply(201, {"platform": stored.platform, "id": stored.external_id,
                            "created_time": graph_time(stored.created_at)})


def _delete_post(state: SandboxState, action: str) -> Reply:
    platform, _, post_id = action.removeprefix("posts/").partition("/")
    if platform not in ("x", "facebook") or not post_id:
        return _bad("want DELETE /_sandbox/posts/{x|facebook}/{id}")
    deleted = state.delete(platform, post_id)
    if deleted is None:
        return json_reply(404, {"error": f"no {platform} post {post_id}"})
    return json_reply(200, {"platform": platform, "deleted": deleted.external_id})


def handle(state: SandboxState, request: Request) -> Reply:
    action = request.path.removeprefix("/_sandbox").strip("/")
    method = request.method
    if (method, action) == ("GET", "accounts"):
        return json_reply(200, accounts_summary([*state.directory.x_accounts, *state.directory.pages]))
    if (method, action) == ("GET", "received"):
        return json_reply(200, [reply.to_json() for reply in state.received()])
    if (method, action) == ("GET", "faults"):
        return json_reply(200, state.faults())
    if (method, action) == ("POST", "faults"):
        return _add_fault(state, request.json())
    if (method, action) == ("DELETE", "faults"):
        state.clear_faults()
        return json_reply(200, {"cleared": True})
    if (method, action) == ("POST", "release"):
        return _release(state, request.json())
    if (method, action) == ("POST", "posts"):
        return _add_post(state, request.json())
    if method == "DELETE" and action.startswith("posts/"):
        return _delete_post(state, action)
    if (method, action) == ("GET", "stats"):
        return json_reply(200, state.stats())
    return json_reply(404, {"error": f"no control endpoint {method} /_sandbox/{action}"})
