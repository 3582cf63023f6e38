"""The part of X's search query language the bot needs: ``conversation_id:``, ``from:``, ``to:``,
``in_reply_to_tweet_id:``, ``is:reply``, ``@user``, ``#tag``, "quoted phrases", bare words and
``-`` negation, all ANDed. ``OR``, parentheses and other operators are refused (X would answer them;
the sandbox says it does not know them rather than answer wrongly)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from sandbox.posts import StoredPost

Predicate = Callable[[StoredPost, StoredPost | None], bool]  # (post, its parent)


class QueryError(ValueError):
    pass


def _term(term: str) -> Predicate:
    lowered = term.lower()
    if ":" in term and not term.startswith(("http://", "https://")):
        operator, _, value = lowered.partition(":")
        value = value.lstrip("@")
        if operator == "conversation_id":
            return lambda post, parent: post.conversation_id == value
        if operator == "from":
            return lambda post, parent: post.author_name.lower() == value
        if operator == "to":
            return lambda post, parent: parent is not None and parent.author_name.lower() == value
        if operator == "in_reply_to_tweet_id":
            return lambda post, parent: post.in_reply_to == value
        if operator == "is" and value == "reply":
            return lambda post, parent: post.in_reply_to is not None
        if operator == "is" and value in ("retweet", "quote"):
            return lambda post, parent: False
        raise QueryError(f"operator {operator}:{value} is not supported by the sandbox")
    if lowered.startswith("@"):
        handle = re.compile(r"(?<![\w@])" + re.escape(lowered) + r"\b")
        return lambda post, parent: bool(handle.search(post.text.lower()))
    return lambda post, parent: lowered in post.text.lower()


def compile_query(query: str) -> Predicate:
    """A predicate for an X search query; QueryError for what the sandbox cannot evaluate."""
    if not query.strip():
        raise QueryError("query must not be empty")
    if len(query) > 512:
        raise QueryError("query is longer than 512 characters")
    try:
        terms = shlex.split(query)
    except ValueError as exc:
        raise QueryError(f"cannot parse query: {exc}") from exc
    predicates: list[tuple[bool, Predicate]] = []
    for term in terms:
        if term in ("OR", "AND") or term.startswith("(") or term.endswith(")"):
            raise QueryError(f"{term!r} is not supported by the sandbox (only ANDed terms)")
        negate = term.startswith("-") and len(term) > 1
        predicates.append((negate, _term(term[1:] if negate else term)))

    def matches(post: StoredPost, parent: StoredPost | None) -> bool:
        return all(pred(post, parent) != negate for negate, pred in predicates)

    return matches
