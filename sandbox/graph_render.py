"""Graph API nodes (page, post, comment) and edges rendered with the fields a client asked for.

Nodes answer only the fields requested (defaults when none are: ``id``/``name`` for a page,
``id``/``message``/``created_time`` for a post, ``id``/``message``/``created_time``/``from`` for a
comment); unknown or empty fields are left out, as Graph leaves out empty ones. Edges page with
cursors: ``paging.cursors.before/after`` and ``paging.next`` only while more data exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sandbox.config import FacebookPage
from sandbox.fields import FieldSpec, format_fields
from sandbox.ids import decode_cursor, encode_cursor, graph_time, parse_graph_time, stable_number
from sandbox.posts import StoredPost
from sandbox.state import SandboxState

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
PAGE_DEFAULT = (FieldSpec("id"), FieldSpec("name"))
POST_DEFAULT = (FieldSpec("created_time"), FieldSpec("message"), FieldSpec("id"))
COMMENT_DEFAULT = (FieldSpec("created_time"), FieldSpec("from"), FieldSpec("message"), FieldSpec("id"))
FB_WEB = "https://www.facebook.com/"


@dataclass(frozen=True)
class GraphContext:
    state: SandboxState
    base_url: str
    version: str  # "v24.0", or "" when the client sent no version
    access_token: str

    def url(self, path: str, params: Mapping[str, str]) -> str:
        prefix = f"/{self.version}" if self.version else ""
        query = urlencode({"access_token": self.access_token, "pretty": "0", **params})
        return f"{self.base_url}{prefix}/{path}?{query}"


@dataclass(frozen=True)
class Slice:
    items: list[StoredPost]
    has_before: bool
    has_after: bool


def clamp_limit(raw: str | None) -> int:
    if raw is None or not raw.strip().lstrip("-").isdigit():
        return DEFAULT_LIMIT
    return max(0, min(int(raw), MAX_LIMIT))


def cursor_slice(items: Sequence[StoredPost], limit: int, *, after: str | None = None,
                 before: str | None = None) -> Slice:
    """``limit`` items after the ``after`` cursor (or before the ``before`` cursor, or from the start)."""
    ids = [p.external_id for p in items]
    start = 0
    if after:
        anchor = decode_cursor(after)
        start = ids.index(anchor) + 1 if anchor in ids else len(ids)
    elif before:
        anchor = decode_cursor(before)
        end = ids.index(anchor) if anchor in ids else 0
        start = max(0, end - limit)
        return Slice(list(items[start:end]), start > 0, end < len(items))
    chosen = list(items[start:start + limit])
    return Slice(chosen, start > 0, start + len(chosen) < len(items))


def cursor_paging(ctx: GraphContext, path: str, params: Mapping[str, str], chosen: Slice) -> dict[str, Any]:
    if not chosen.items:
        return {}
    first, last = encode_cursor(chosen.items[0].external_id), encode_cursor(chosen.items[-1].external_id)
    paging: dict[str, Any] = {"cursors": {"before": first, "after": last}}
    if chosen.has_before:
        paging["previous"] = ctx.url(path, {**params, "before": first})
    if chosen.has_after:
        paging["next"] = ctx.url(path, {**params, "after": last})
    return {"paging": paging}


def comments_of(state: SandboxState, obj: StoredPost, *, stream: bool, newest_first: bool) -> list[StoredPost]:
    """Comments on a post or a comment: direct ones (toplevel) or every descendant (stream)."""
    if obj.kind == "comment":
        found = [p for p in state.posts("facebook") if p.in_reply_to == obj.external_id]
    else:
        found = [p for p in state.posts("facebook") if p.kind == "comment" and p.conversation_id == obj.external_id
                 and (stream or p.in_reply_to == obj.external_id)]
    found.sort(key=lambda p: (p.created_at, p.external_id), reverse=newest_first)
    return found


def in_window(post: StoredPost, params: Mapping[str, str]) -> bool:
    """Whether ``post`` falls within the request's ``since``/``until``."""
    since = parse_graph_time(params.get("since", ""))
    until = parse_graph_time(params.get("until", ""))
    return (since is None or post.created_at >= since) and (until is None or post.created_at <= until)


def _is_truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "total_count")


def comments_edge(ctx: GraphContext, obj: StoredPost, params: Mapping[str, str],
                  children: tuple[FieldSpec, ...] | None) -> dict[str, Any]:
    """The ``comments`` edge of ``obj``, used both as ``/{id}/comments`` and nested in ``fields``."""
    stream = params.get("filter", "toplevel") == "stream"
    newest_first = params.get("order", "chronological") == "reverse_chronological"
    every = [c for c in comments_of(ctx.state, obj, stream=stream, newest_first=newest_first)
             if in_window(c, params)]
    limit = clamp_limit(params.get("limit"))
    chosen = cursor_slice(every, limit, after=params.get("after"), before=params.get("before"))
    specs = children or COMMENT_DEFAULT
    body: dict[str, Any] = {"data": [render_post(ctx, p, specs) for p in chosen.items]}
    if limit > 0:
        keep = {k: v for k, v in params.items() if k in ("filter", "order", "summary", "since", "until")}
        if children:
            keep["fields"] = format_fields(children)
        body.update(cursor_paging(ctx, f"{obj.external_id}/comments", {**keep, "limit": str(limit)}, chosen))
    if _is_truthy(params.get("summary")):
        body["summary"] = {"order": "chronological" if not newest_first else "reverse_chronological",
                           "total_count": len(every), "can_comment": True}
    return body


def _empty_edge(spec: FieldSpec) -> dict[str, Any]:
    body: dict[str, Any] = {"data": []}
    if "summary" in spec.modifiers:
        body["summary"] = {"total_count": 0, "viewer_reaction": "NONE"}
    return body


def _pick(value: dict[str, Any], spec: FieldSpec) -> dict[str, Any]:
    if spec.children is None:
        return value
    return {child.key: value[child.name] for child in spec.children if child.name in value}


def _place(post: StoredPost, city: str, country: str) -> dict[str, Any]:
    name = post.place or city
    return {"id": stable_number("fb-place:" + name, 15), "name": name,
            "location": {"city": city, "country": country, "latitude": post.lat, "longitude": post.lon}}


def _comment_fields(ctx: GraphContext, post: StoredPost, wanted: set[str]) -> dict[str, Any]:
    number = post.external_id.rpartition("_")[2]
    post_number = post.conversation_id.rpartition("_")[2]
    parent = ctx.state.find("facebook", post.in_reply_to) if post.in_reply_to else None
    is_reply = parent is not None and parent.kind == "comment"
    link = f"{FB_WEB}{post.account}/posts/{post_number}/?comment_id="
    if parent is not None and is_reply:
        link += f"{parent.external_id.rpartition('_')[2]}&reply_comment_id={number}"
    else:
        link += number
    fields: dict[str, Any] = {
        "like_count": 0, "can_comment": not is_reply, "can_like": True, "can_hide": True,
        "can_remove": True, "user_likes": False, "permalink_url": link, "object": {"id": post.conversation_id},
    }
    if "comment_count" in wanted:  # a scan of every post: only when asked for
        fields["comment_count"] = sum(p.in_reply_to == post.external_id for p in ctx.state.posts("facebook"))
    return fields


def _post_fields(ctx: GraphContext, post: StoredPost) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "updated_time": graph_time(post.created_at), "is_published": True,
        "status_type": "mobile_status_update",
        "permalink_url": f"{FB_WEB}{post.account}/posts/{post.external_id.rpartition('_')[2]}",
    }
    owner = ctx.state.directory.page(post.account)
    if post.kind == "tagged":
        fields["tagged_time"] = graph_time(post.created_at)
        if owner is not None:
            fields["to"] = {"data": [{"name": owner.name, "id": owner.page_id}]}
    if post.lat is not None:
        fields["place"] = _place(post, ctx.state.city.name, ctx.state.city.country)
    return fields


def render_post(ctx: GraphContext, post: StoredPost, specs: tuple[FieldSpec, ...]) -> dict[str, Any]:
    """A post or comment node with the fields of ``specs``."""
    is_comment = post.kind == "comment"
    wanted = {spec.name for spec in specs}
    scalars: dict[str, Any] = {
        "id": post.external_id,
        "created_time": graph_time(post.created_at),
        "from": {"name": post.author_name, "id": post.author_id},
        "is_hidden": False,
    }
    if post.text:
        scalars["message"] = post.text
    scalars.update(_comment_fields(ctx, post, wanted) if is_comment else _post_fields(ctx, post))
    rendered: dict[str, Any] = {}
    for spec in specs:
        if spec.name == "comments":
            rendered[spec.key] = comments_edge(ctx, post, spec.modifiers, spec.children)
        elif spec.name in ("reactions", "likes"):
            rendered[spec.key] = _empty_edge(spec)
        elif spec.name == "parent" and is_comment and post.in_reply_to:
            parent_node = ctx.state.find("facebook", post.in_reply_to)
            if parent_node is not None and parent_node.kind == "comment":
                rendered[spec.key] = render_post(ctx, parent_node, spec.children or COMMENT_DEFAULT)
        elif spec.name in scalars:
            value = scalars[spec.name]
            rendered[spec.key] = _pick(value, spec) if isinstance(value, dict) else value
    return rendered


def render_page(page: FacebookPage, specs: tuple[FieldSpec, ...] | None) -> dict[str, Any]:
    scalars: dict[str, Any] = {
        "id": page.page_id, "name": page.name, "category": "Government organization",
        "link": f"{FB_WEB}{page.page_id}", "fan_count": 0, "verification_status": "blue_verified",
        "access_token": page.access_token or f"sandbox-page-token-{page.page_id}",
    }
    return {spec.key: scalars[spec.name] for spec in specs or PAGE_DEFAULT if spec.name in scalars}
