"""HTTP requests and replies as plain data, so the API modules are functions from one to the other."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

_OAUTH_TOKEN = re.compile(r'oauth_token="([^"]*)"')


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    query: Mapping[str, str]  # last value wins, as the platforms read it
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""
    base_url: str = ""  # scheme://host:port the client addressed, for links back to the server

    def json(self) -> Any:
        """The JSON body, or None when there is none or it is not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    def form(self) -> dict[str, str]:
        """Form fields of a url-encoded, multipart-free body, or the string members of a JSON object."""
        content_type = self.headers.get("content-type", "")
        if "json" in content_type:
            decoded = self.json()
            if isinstance(decoded, dict):
                return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in decoded.items()}
            return {}
        try:
            return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return {}

    def bearer_token(self) -> str | None:
        value = self.headers.get("authorization", "")
        if not value.lower().startswith("bearer "):
            return None
        return value[7:].strip() or None

    def oauth_token(self) -> str | None:
        """The access token of an OAuth 1.0a ``Authorization: OAuth ...`` header."""
        value = self.headers.get("authorization", "")
        if not value.startswith("OAuth "):
            return None
        match = _OAUTH_TOKEN.search(value)
        return match.group(1) if match else None


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    hang_s: float | None = None  # hold the connection this long, then close it without answering

    def with_headers(self, headers: Mapping[str, str]) -> Reply:
        return Reply(self.status, self.body, self.headers + tuple(headers.items()), self.hang_s)


def json_reply(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Reply(status, body, (("Content-Type", "application/json; charset=utf-8"), *(headers or {}).items()))
