"""The log filter masks secrets however the HTTP clients and error messages write them."""

from __future__ import annotations

import base64
import io
import logging

import pytest

from assembly.log_redaction import encoded_forms as forms_of
from assembly.log_redaction import install, redact, secrets_in

ENV = {
    "X_BLRCITYTRAFFIC_BEARER_TOKEN": "AAAAbearer1234567",
    "FB_BCP_PAGE_TOKEN": "EAAGpage7654321",
    "X_CONSUMER_KEY": "ck-9f8e7d6c",
    "DASHBOARD_SECRET_KEY": "k" * 40,
    "NOTIFY_REDIRECT_URL": "json://hook:hookpw99@127.0.0.1:9/notify/{officer}, mailto://u:smtp-pw-1@127.0.0.1:25",
    "HOME": "/root",  # not a secret: never masked
    "SHORT_TOKEN": "abc",  # too short to be one
}
FORMS = forms_of(secrets_in(ENV))

LINES = [
    ("tweepy header", "Headers: {'Authorization': 'Bearer AAAAbearer1234567'}", "AAAAbearer1234567"),
    ("Graph's token in a URL", '"GET /v21.0/1/feed?limit=25&access_token=EAAGpage7654321&appsecret_proof=ab12cd34ef HTTP/1.1" 200',
     "EAAGpage7654321"),
    ("appsecret_proof", "GET /feed?access_token=***&appsecret_proof=ab12cd34ef56", "ab12cd34ef56"),
    ("URL-encoded", "signature base string: POST&oauth_consumer_key%3Dck-9f8e7d6c%26", "ck-9f8e7d6c"),
    ("oauthlib's params", "Collected params: [('oauth_consumer_key', 'someotherkey1'), ('oauth_token', 'tok-55555')]", "tok-55555"),
    ("base64", "Authorization: Basic " + base64.b64encode(b"hook:hookpw99").decode(), "aG9vazpob29rcHc5OQ"),
    ("a password in a URL", "could not reach mailto://u:smtp-pw-1@127.0.0.1:25", "smtp-pw-1"),
    ("an unknown URL's password", "postgresql+psycopg://bot:dbpass-xyz@db:5432/desk", "dbpass-xyz"),
    ("the dashboard key", "key is " + "k" * 40, "k" * 40),
    ("a signed link", '127.0.0.1:5050 - "GET /l/eyJkIjoiQkxSLTIwMjYifQ.Zk3xQ9sig HTTP/1.1" 200', "eyJkIjoiQkxSLTIwMjYifQ"),
]


@pytest.mark.parametrize(("what", "line", "secret"), LINES, ids=[w for w, _, _ in LINES])
def test_a_secret_in_a_log_line_is_masked(what: str, line: str, secret: str) -> None:
    assert secret not in redact(line, FORMS)
    assert "***" in redact(line, FORMS)


def test_ordinary_lines_are_left_alone() -> None:
    for line in ("x @blrcitytraffic: 4 new, 3 routed, 1 to desk", "notify BCP0217 via json:// (assign): sent",
                 "HOME is /root", "GET /v21.0/1/feed?limit=25 HTTP/1.1"):
        assert redact(line, FORMS) == line


def test_the_filter_masks_messages_arguments_and_tracebacks_of_every_logger() -> None:
    stream = io.StringIO()
    root = logging.getLogger("redaction-test")
    root.propagate = False
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    try:
        install(ENV, root)
        install(ENV, root)  # configured twice: one filter
        assert len(handler.filters) == 1
        child = logging.getLogger("redaction-test.urllib3")
        child.warning("GET %s", "/feed?access_token=EAAGpage7654321")
        try:
            raise ValueError("token AAAAbearer1234567 refused")
        except ValueError:
            child.exception("poll failed")
    finally:
        root.removeHandler(handler)
    written = stream.getvalue()
    assert "EAAGpage7654321" not in written and "AAAAbearer1234567" not in written
    assert "poll failed" in written and "ValueError" in written and written.count("***") >= 2


def test_the_settings_secrets_are_masked_whatever_their_variables_are_called() -> None:
    from pathlib import Path

    from assembly.log_redaction import RedactingFilter, protect, secrets_of
    from assembly.settings import load_settings

    root = Path(__file__).resolve().parents[2]
    env = {"X_BLRCITYTRAFFIC_BEARER_TOKEN": "bearer-one-111", "X_BLRCITYPOLICE_BEARER_TOKEN": "bearer-two-222",
           "FB_BCP_PAGE_TOKEN": "page-three-333", "DASHBOARD_SECRET_KEY": "d" * 32}
    assert secrets_of(load_settings(root / "config.toml", env)) == set(env.values())
    logger = logging.getLogger("redaction-test-settings")
    logger.propagate = False
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    try:
        found = install({}, logger)
        protect({"oddly-named-999"}, logger)
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s", ("oddly-named-999",), None)
        assert isinstance(found, RedactingFilter) and found.filter(record) and record.getMessage() == "token ***"
    finally:
        logger.removeHandler(handler)
