"""The Graph API endpoints the bot uses, answered from the sandbox's world.

Paths take an optional version prefix (``/v24.0/...``, as python-facebook-api sends them):
``GET /{page-id}`` and ``GET /me`` (the page), ``GET /{post-or-comment-id}``, ``GET /{page-id}/feed``
(also ``/posts``, ``/published_posts``: the page's own posts, newest first, time-based paging like
Graph's: ``until``/``since`` plus ``__paging_token``), ``GET /{page-id}/tagged`` (posts by others that
tag the page, newest first, cursor paging), ``GET /{object-id}/comments`` (``filter``, ``order``,
``limit``, ``after``/``before``, ``since``/``until``, ``summary``, ``fields``), ``POST
/{object-id}/comments`` (``message``) and ``POST /{page-id}/messages`` (a private reply to a comment).
Every call needs an ``access_token`` (query, form) or a Bearer header and counts against the page's
budget; every answer carries ``x-app-usage`` and ``x-business-use-case-usage``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sandbox.config import FacebookPage
from sandbox.corrupt import corrupt_body
from sandbox.faults import FaultSpec
from sandbox.fields import FieldSpec, FieldSyntaxError, format_fields, parse_fields
from sandbox.graph_errors import (
    expired_token,
    graph_error,
    missing_token,
    server_error,
    throttled,
    unknown_object,
    unknown_path,
    usage_headers,
)
from sandbox.graph_render import (
    COMMENT_DEFAULT,
    POST_DEFAULT,
    GraphContext,
    Slice,
    clamp_limit,
    comments_edge,
    cursor_paging,
    cursor_slice,
    in_window,
    render_page,
    render_post,
)
from sandbox.ids import decode_cursor, encode_cursor
from sandbox.posts import StoredPost
from sandbox.state import PostRejected, SandboxState
from sandbox.wire import Reply, Request, json_reply

_VERSION = re.compile(r"^v\d+\.\d+$")
FEED_EDGES = ("feed", "posts", "published_posts")


def split_path(path: str) -> tuple[str, list[str]]:
    parts = [p for p in path.split("/") if p]
    if parts and _VERSION.match(parts[0]):
        return parts[0], parts[1:]
    return "", parts


def params_of(request: Request) -> dict[str, str]:
    params = dict(request.query)
    if request.method == "POST":
        params.update(request.form())
    return params


def token_of(request: Request, params: Mapping[str, str]) -> str | None:
    return params.get("access_token") or request.bearer_token()


def _page_for_token(state: SandboxState, token: str) -> FacebookPage | None:
    return next((p for p in state.directory.pages if p.access_token and p.access_token == token), None)


def feed(ctx: GraphContext, page: FacebookPage, edge: str, params: Mapping[str, str],
         specs: tuple[FieldSpec, ...] | None) -> Reply:
    items = [p for p in ctx.state.posts("facebook")
             if p.kind == "page_post" and p.account == page.page_id and in_window(p, params)]
    items.sort(key=lambda p: (p.created_at, p.external_id), reverse=True)
    limit = clamp_limit(params.get("limit"))
    anchor = decode_cursor(params.get("__paging_token", "")) if params.get("__paging_token") else None
    ids = [p.external_id for p in items]
    if anchor is not None and params.get("__previous") == "1":
        end = ids.index(anchor) if anchor in ids else 0
        chosen = Slice(items[max(0, end - limit):end], end - limit > 0, True)
    else:
        start = ids.index(anchor) + 1 if anchor in ids else (len(ids) if anchor else 0)
        chosen = Slice(items[start:start + limit], start > 0, start + limit < len(items))
    body: dict[str, Any] = {"data": [render_post(ctx, p, specs or POST_DEFAULT) for p in chosen.items]}
    if chosen.items:
        keep = {"limit": str(limit), **({"fields": format_fields(specs)} if specs else {})}
        first, last = chosen.items[0], chosen.items[-1]
        paging = {"previous": ctx.url(f"{page.page_id}/{edge}", {
            **keep, "since": str(int(first.created_at.timestamp())),
            "__paging_token": encode_cursor(first.external_id), "__previous": "1"})}
        if chosen.has_after:
            paging["next"] = ctx.url(f"{page.page_id}/{edge}", {
                **keep, "until": str(int(last.created_at.timestamp())),
                "__paging_token": encode_cursor(last.external_id)})
        body["paging"] = paging
    return json_reply(200, body)


def tagged(ctx: GraphContext, page: FacebookPage, params: Mapping[str, str],
           specs: tuple[FieldSpec, ...] | None) -> Reply:
    items = [p for p in ctx.state.posts("facebook")
             if p.kind == "tagged" and p.account == page.page_id and in_window(p, params)]
    items.sort(key=lambda p: (p.created_at, p.external_id), reverse=True)
    limit = clamp_limit(params.get("limit"))
    chosen = cursor_slice(items, limit, after=params.get("after"), before=params.get("before"))
    body: dict[str, Any] = {"data": [render_post(ctx, p, specs or POST_DEFAULT) for p in chosen.items]}
    keep = {"limit": str(limit), **({"fields": format_fields(specs)} if specs else {})}
    body.update(cursor_paging(ctx, f"{page.page_id}/tagged", keep, chosen))
    return json_reply(200, body)


def comments(ctx: GraphContext, obj: StoredPost, params: Mapping[str, str],
             specs: tuple[FieldSpec, ...] | None) -> Reply:
    return json_reply(200, comments_edge(ctx, obj, params, specs))


def create_comment(ctx: GraphContext, obj: StoredPost, page: FacebookPage, request: Request,
                   params: Mapping[str, str], specs: tuple[FieldSpec, ...] | None) -> Reply:
    message = params.get("message", "").strip()
    if not message:
        return graph_error("(#100) Missing message or attachment", code=100)
    stored = ctx.state.post_comment(obj, page, message, request.path)
    if specs:
        return json_reply(200, render_post(ctx, stored, specs))
    return json_reply(200, {"id": stored.external_id})


def private_reply(ctx: GraphContext, page: FacebookPage, request: Request, params: Mapping[str, str]) -> Reply:
    """``POST /{page-id}/messages`` with ``recipient={"comment_id": ...}`` and ``message={"text": ...}``.

    One per comment (a second answers ``(#10900) Activity already replied to``) and within 7 days of the
    comment. Meta documents the 7-day limit but not its error; the sandbox answers the Send API's
    outside-the-allowed-window error (code 10, subcode 2018278).
    """
    try:
        recipient = json.loads(params.get("recipient", "{}"))
        message = json.loads(params.get("message", "{}"))
    except ValueError:
        return graph_error("(#100) Param recipient must be a JSON object", code=100)
    comment = ctx.state.find("facebook", str(recipient.get("comment_id", ""))) if isinstance(recipient, dict) else None
    text = message.get("text", "") if isinstance(message, dict) else ""
    if comment is None or comment.kind != "comment":
        return graph_error("(#100) No matching user found", code=100, subcode=2018001)
    if not text:
        return graph_error("(#100) Param message[text] must be non-empty UTF-8 encoded string", code=100)
    try:
        stored = ctx.state.post_private_reply(comment, page, text, request.path)
    except PostRejected as exc:
        if exc.reason == "already_replied":
            return graph_error("(#10900) Activity already replied to", code=10900)
        return graph_error("(#10) This message is sent outside of allowed window.", code=10, subcode=2018278)
    return json_reply(200, {"recipient_id": comment.author_id, "message_id": stored})


def _dispatch(ctx: GraphContext, request: Request, parts: list[str], page: FacebookPage | None,
              obj: StoredPost | None, params: Mapping[str, str], specs: tuple[FieldSpec, ...] | None) -> Reply:
    edge = parts[1] if len(parts) > 1 else None
    if len(parts) > 2:
        return unknown_path("/" + "/".join(parts[2:]))
    if page is None and obj is None:
        return unknown_object(parts[0], request.method)
    if request.method == "GET" and edge is None:
        if page is not None:
            return json_reply(200, render_page(page, specs))
        assert obj is not None
        return json_reply(200, render_post(ctx, obj, specs or (COMMENT_DEFAULT if obj.kind == "comment"
                                                                else POST_DEFAULT)))
    if request.method == "GET" and page is not None and edge in FEED_EDGES:
        return feed(ctx, page, edge, params, specs)
    if request.method == "GET" and page is not None and edge == "tagged":
        return tagged(ctx, page, params, specs)
    if edge == "comments" and obj is not None:
        if request.method == "POST":
            owner = ctx.state.directory.page(obj.account)
            assert owner is not None
            return create_comment(ctx, obj, _page_for_token(ctx.state, ctx.access_token) or owner,
                                  request, params, specs)
        return comments(ctx, obj, params, specs)
    if request.method == "POST" and edge == "messages" and page is not None:
        return private_reply(ctx, page, request, params)
    return unknown_path(f"/{edge}") if edge else unknown_object(parts[0], request.method)


def _resolve(state: SandboxState, token: str, target: str) -> tuple[FacebookPage | None, StoredPost | None]:
    if target == "me":
        return _page_for_token(state, token) or state.directory.page(None), None
    page = next((p for p in state.directory.pages if p.page_id == target), None)
    return page, None if page else state.find("facebook", target)


def handle(state: SandboxState, request: Request) -> Reply:
    params = params_of(request)
    token = token_of(request, params)
    if not token:
        return missing_token()
    version, parts = split_path(request.path)
    if not parts:
        return unknown_path("/")
    page, obj = _resolve(state, token, parts[0])
    budget_page = page.page_id if page else (obj.account if obj else "app")
    usage = state.spend("facebook", budget_page)
    headers = usage_headers(usage, budget_page, state.now_s())
    if not usage.is_allowed:
        return throttled().with_headers(headers)
    try:
        specs = parse_fields(params.get("fields"))
    except FieldSyntaxError as exc:
        return graph_error(str(exc), code=2500).with_headers(headers)
    ctx = GraphContext(state, request.base_url, version, token)
    return _dispatch(ctx, request, parts, page, obj, params, specs).with_headers(headers)


def fault_reply(state: SandboxState, request: Request, fault: FaultSpec) -> Reply:
    """What Graph answers when ``fault`` strikes this request."""
    if fault.kind == "timeout":
        return Reply(0, hang_s=fault.delay_s)
    if fault.kind == "expired_token":
        return expired_token(state.clock())
    if fault.kind == "corrupt_item":
        assert fault.corruption is not None  # FaultSpec checks it
        reply = handle(state, request)
        body = corrupt_body(reply.body, wire="facebook", corruption=fault.corruption, target=fault.target)
        return replace(reply, body=body)
    _, parts = split_path(request.path)
    page, obj = _resolve(state, "", parts[0]) if parts else (None, None)
    budget_page = page.page_id if page else (obj.account if obj else "app")
    if fault.kind == "rate_limit":
        usage = state.exhaust("facebook", budget_page, fault.reset_in_s)
        return throttled().with_headers(usage_headers(usage, budget_page, state.now_s()))
    if fault.kind == "malformed":
        usage = state.peek_budget("facebook", budget_page)
        broken = b'{"data":[{"id":"104735829586723_1221000000000001","message":"Signal'
        return Reply(200, broken, (("Content-Type", "application/json; charset=UTF-8"),)).with_headers(
            usage_headers(usage, budget_page, state.now_s()))
    return server_error(fault.status)
