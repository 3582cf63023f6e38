"""``SandboxServer``: the sandbox world served over HTTP from a background thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType

from sandbox.config import (
    BENGALURU,
    DEMO_SCENARIO_PATH,
    AutoRelease,
    FacebookPage,
    GeoCity,
    RateBudget,
    XAccount,
)
from sandbox.handler import SandboxHTTPServer
from sandbox.scenario import ScenarioPost, load_scenario
from sandbox.state import SandboxState, utc_now

logger = logging.getLogger(__name__)

Release = str | AutoRelease


class SandboxServer:
    """A local server speaking the X API v2 (paths ``/2/...``) and the Graph API (``/vNN.N/...``).

    ``scenario`` is a list of posts, a JSONL path, or None for the built-in Bengaluru demo.
    ``release``: "all" (every post visible at start), "manual" (none until ``state.release(n)`` or
    ``POST /_sandbox/release``) or an :class:`AutoRelease` schedule. ``port=0`` picks a free port;
    read ``url`` after :meth:`start`.
    """

    def __init__(
        self,
        scenario: Sequence[ScenarioPost] | str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        x_accounts: Sequence[XAccount] | None = None,
        facebook_pages: Sequence[FacebookPage] | None = None,
        release: Release = "all",
        rate_limits: Mapping[str, RateBudget] | None = None,
        city: GeoCity = BENGALURU,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not (release in ("all", "manual") or isinstance(release, AutoRelease)):
            raise ValueError(f"release must be 'all', 'manual' or an AutoRelease, got {release!r}")
        posts = load_scenario(DEMO_SCENARIO_PATH if scenario is None else scenario) \
            if scenario is None or isinstance(scenario, str | Path) else list(scenario)
        self.state = SandboxState(posts, x_accounts=x_accounts, facebook_pages=facebook_pages,
                                  rate_limits=rate_limits, city=city, release_all=release == "all", clock=clock)
        self._release = release
        self._address = (host, port)
        self._httpd: SandboxHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """``http://HOST:PORT``: the base URL for tweepy via ``point_session_at``."""
        if self._httpd is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def graph_url(self) -> str:
        """``http://HOST:PORT/``: python-facebook-api's ``base_url`` (it appends ``vNN.N/...`` as is)."""
        return self.url + "/"

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._httpd = SandboxHTTPServer(self._address, self.state)
        serving = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                   name="sandbox-http", daemon=True)
        serving.start()
        self._threads = [serving]
        if isinstance(self._release, AutoRelease):
            self.state.release(self._release.initial)
            releasing = threading.Thread(target=self._auto_release, args=(self._release,),
                                         name="sandbox-release", daemon=True)
            releasing.start()
            self._threads.append(releasing)
        logger.info("sandbox listening on %s (%d posts pending)", self.url, self.state.pending_count)
        return self

    def _auto_release(self, schedule: AutoRelease) -> None:
        assert self._httpd is not None
        stopping = self._httpd.stopping
        while self.state.pending_count and not stopping.wait(schedule.every_s):
            released = self.state.release(schedule.batch)
            logger.info("sandbox released %d post(s), %d pending", released, self.state.pending_count)

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5.0)
        self._httpd = None
        self._threads = []

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
