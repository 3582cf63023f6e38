"""Secrets masked in every log line: a filter on the log handler that ``run.py`` installs.

The HTTP clients print what they send at DEBUG (tweepy the ``Authorization`` header, urllib3 each URL with
Graph's ``access_token`` in its query, oauthlib the consumer key and token it signs with), and an error's
text may quote a URL. The filter masks, in the message and in a traceback: the value of every environment
variable that holds a secret (and its URL-encoded and base64 forms), the password inside any URL, and the
value after a credential's name (``access_token=``, ``Bearer``, ``oauth_token``...) and the token of a
signed link (``/l/{token}``, which opens a case without a password), whatever logged it.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, urlsplit

from models.secret import Secret

MASK = "***"
MIN_SECRET = 8  # shorter values are not secrets worth the false matches
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PASS$|_KEY|^KEY|CREDENTIAL|AUTH", re.IGNORECASE)
_PATTERNS = (
    # the value after a credential's name: access_token=..., 'oauth_token', '...', password: ...
    re.compile(  # (no word boundary before the name: URL-encoded text runs it on from "%26")
        r"(?i)((?<![A-Za-z])(?:access_token|appsecret_proof|client_secret|input_token|oauth_consumer_key|oauth_token"
        r"|oauth_signature|password|passwd|api_key|apikey|client_key|resource_owner_key)\b['\"]?"
        r"(?:\s*[=:,]\s*|%3D)['\"]?)([^\s&'\",)}\]%]+)"
    ),
    re.compile(r"(?i)(\b(?:Bearer|Basic)\s+)([A-Za-z0-9._~+/=-]{6,})"),  # an Authorization header's value
    re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'\"]*:)([^@\s/'\"]+)(@)"),  # scheme://user:password@host
    re.compile(r"(/l/)([A-Za-z0-9._~-]{16,})"),  # a signed link (the dashboard's /l/{token}) in an access log line
)


def secrets_in(environ: Mapping[str, str]) -> set[str]:
    """The secrets the environment holds: values of variables named like one (``*_TOKEN``, ``*_SECRET``,
    ``*PASSWORD``, ``*_KEY``...) and the password of any URL (``NOTIFY_REDIRECT_URL``, ``DATABASE_URL``)."""
    found = set()
    for name, value in environ.items():
        value = value.strip()
        if _SECRET_NAME.search(name) and len(value) >= MIN_SECRET:
            found.add(value)
        for part in re.split(r"[\s,]+", value) if "://" in value else ():
            try:
                password = urlsplit(part).password
            except ValueError:
                continue
            if password and len(password) >= MIN_SECRET:
                found.add(password)
    return found


def encoded_forms(secrets: Iterable[str]) -> list[str]:
    """Each secret as it may be written: plain, URL-encoded, base64; the longest first (a secret that holds
    another is masked whole)."""
    forms = set()
    for secret in secrets:
        raw = secret.encode()
        forms |= {secret, quote(secret, safe=""), quote_plus(secret), base64.b64encode(raw).decode().rstrip("="),
                  base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    return sorted((f for f in forms if len(f) >= MIN_SECRET), key=len, reverse=True)


def redact(text: str, forms: Iterable[str]) -> str:
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK + (m.group(3) if m.lastindex == 3 else ""), text)
    return text


def secrets_of(value: object) -> set[str]:
    """Every :class:`Secret` inside a settings object (dataclasses, tuples, mappings), revealed."""
    if isinstance(value, Secret):
        return {value.reveal()} if len(value.reveal()) >= MIN_SECRET else set()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return set().union(*(secrets_of(getattr(value, f.name)) for f in dataclasses.fields(value)))
    if isinstance(value, tuple | list | frozenset | set):
        return set().union(*(secrets_of(item) for item in value))
    if isinstance(value, Mapping):
        return set().union(*(secrets_of(item) for item in value.values()))
    return set()


class RedactingFilter(logging.Filter):
    """Masks secrets in each record's message and traceback before any handler writes it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = set(secrets)
        self._forms = encoded_forms(self._secrets)
        self._formatter = logging.Formatter()

    def add(self, secrets: Iterable[str]) -> None:
        self._secrets |= set(secrets)
        self._forms = encoded_forms(self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self._forms)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._forms)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._forms)
        return True


def install(environ: Mapping[str, str], logger: logging.Logger | None = None) -> RedactingFilter:
    """Put the filter on every handler of ``logger`` (the root logger): records of every logger pass it."""
    found = RedactingFilter(secrets_in(environ))
    for handler in (logger or logging.getLogger()).handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)  # configured again (tests, the demo): one filter, the newest secrets
        handler.addFilter(found)
    return found


def protect(secrets: Iterable[str], logger: logging.Logger | None = None) -> None:
    """Mask these too (the secrets the settings name, whatever their variables are called)."""
    for handler in (logger or logging.getLogger()).handlers:
        for found in handler.filters:
            if isinstance(found, RedactingFilter):
                found.add(secrets)
