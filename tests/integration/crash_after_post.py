"""Runs the reply stage once against the sandbox; with ``CRASH_AFTER_POST=1`` it kills itself (SIGKILL)
right after the platform answered a reply and before the answer is recorded: the crash the reply stage
must survive without posting twice. Used by ``test_reply_stage.py``; read by nothing else.

``python tests/integration/crash_after_post.py DATABASE_URL SANDBOX_URL x|facebook ACCOUNT_ID NOW``
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.db import make_engine  # noqa: E402 (imports after the path is set)
from monitor.followup.replies import ReplySettings, ReplyStage  # noqa: E402
from monitor.loop import make_platform  # noqa: E402
from monitor.platform import Page, Platform, RateBudget  # noqa: E402
from monitor.settings import Account  # noqa: E402
from tests.builders import make_facebook_page, make_polling, make_x_account  # noqa: E402


class CrashAfterPost:
    """The real adapter, killed by SIGKILL the moment it returns a posted reply's id."""

    def __init__(self, inner: Platform) -> None:
        self._inner = inner
        self.platform, self.key, self.label, self.own_user_id = inner.platform, inner.key, inner.label, inner.own_user_id

    def fetch(self, cursor: str | None, resume: str | None = None) -> Iterator[Page]:
        return self._inner.fetch(cursor, resume)

    def post_reply(self, in_reply_to: str, text: str) -> str:
        posted = self._inner.post_reply(in_reply_to, text)
        if os.environ.get("CRASH_AFTER_POST") == "1":
            os.kill(os.getpid(), signal.SIGKILL)
        return posted

    def find_reply(self, in_reply_to: str, marker: str) -> str | None:
        return self._inner.find_reply(in_reply_to, marker)

    def rate_budget(self) -> RateBudget:
        return self._inner.rate_budget()


def main(database_url: str, sandbox_url: str, platform: str, account_id: str, now: str) -> int:
    account: Account = (
        make_x_account(api_base_url=sandbox_url) if platform == "x" else make_facebook_page(api_base_url=sandbox_url)
    )
    adapter = CrashAfterPost(make_platform(account, make_polling()))
    stage = ReplyStage({int(account_id): adapter}, ReplySettings(), tell=lambda session, event: None)
    counts = stage.run(make_engine(database_url), datetime.fromisoformat(now))
    print(counts)  # noqa: T201 (reached only without the crash)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:6]))
