"""A local JSON webhook receiver: where the demo's officer notifications arrive (Apprise ``json://``).

Messages posted to ``/notify/{officer}`` are recorded with that officer's id, so a redirect URL of
``json://host:port/notify/{officer}`` (see ``notify.settings.redirect_target``) keeps who each message
was for. With ``record_path`` every message is also written to a JSONL file, one object per line:
``received_at``, ``path``, ``officer`` (null for any other path) and ``body`` (the decoded JSON).
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)
BASE_PATH = "/notify"


def officer_of(path: str) -> str | None:
    """The officer id of a ``/notify/{officer}`` path; None for any other path."""
    prefix = BASE_PATH + "/"
    route = urlsplit(path).path
    if not route.startswith(prefix):
        return None
    officer = unquote(route[len(prefix) :].strip("/"))
    return officer or None


class NotificationReceiver:
    """Accepts ``POST`` bodies on any path, keeps them in memory (and in ``record_path``), answers 200.

    ``record_path`` is started afresh by :meth:`start`: it holds what this receiver got, and each line is
    flushed before the sender hears 200, so a message the outbox counts as sent is already in the file.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, record_path: Path | None = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.record_path = record_path
        self._record: IO[str] | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    payload = {"raw": body.decode("utf-8", "replace")}
                receiver._keep(self.path, payload)
                title = payload.get("title", "") if isinstance(payload, dict) else ""
                logger.info("notification received: %s", str(title)[:80])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="notify-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"json://{host!s}:{port}{BASE_PATH}"

    @property
    def officer_url(self) -> str:
        """The Apprise URL template for ``NOTIFY_REDIRECT_URL``: one path per officer."""
        return self.url + "/{officer}"

    def start(self) -> NotificationReceiver:
        if self.record_path is not None:
            try:
                self.record_path.parent.mkdir(parents=True, exist_ok=True)
                self._record = self.record_path.open("w", encoding="utf-8")
            except OSError:
                self._httpd.server_close()
                raise
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            if self._record is not None:
                self._record.close()
                self._record = None

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def _keep(self, path: str, payload: Any) -> None:
        entry = {
            "received_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "path": path,
            "officer": officer_of(path),
            "body": payload,
        }
        with self._lock:
            self.received.append(entry)
            if self._record is not None:
                self._record.write(json.dumps(entry, ensure_ascii=False) + "\n")
                self._record.flush()
