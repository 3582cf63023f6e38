"""The soak's sandbox, in a process of its own (so its CPU is not the driver's):
``python bench/soak_sandbox.py ACCOUNTS.json [X_REPLIES_PER_15_MIN]`` serves the accounts on a free port with
no scenario and budgets no soak reaches (429s come from injected faults, not from spending), prints its URL on
one line, and runs until its stdin closes. Posts arrive through ``POST /_sandbox/posts``. With
``X_REPLIES_PER_15_MIN`` (X's own limit is 100 per user), ``POST /2/tweets`` keeps that budget per account."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soak_world import SoakAccount  # noqa: E402

from sandbox import FacebookPage, RateBudget, SandboxServer, XAccount  # noqa: E402
from sandbox.config import DEFAULT_RATE_LIMITS  # noqa: E402

UNLIMITED = {key: RateBudget(limit=10**9, window_s=900.0) for key in DEFAULT_RATE_LIMITS}


def make_server(accounts: list[SoakAccount], x_replies_per_15_min: int | None = None) -> SandboxServer:
    limits = dict(UNLIMITED)
    if x_replies_per_15_min is not None:
        limits["x.create_tweet"] = RateBudget(limit=x_replies_per_15_min, window_s=900.0)
    return SandboxServer(
        [],
        x_accounts=[XAccount(a.user_id, a.key, a.name) for a in accounts if a.platform == "x"],
        facebook_pages=[FacebookPage(a.user_id, a.name) for a in accounts if a.platform == "facebook"],
        release="manual",
        rate_limits=limits,
    )


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    accounts = [SoakAccount.from_json(r) for r in json.loads(Path(argv[0]).read_text(encoding="utf-8"))]
    x_replies = int(argv[1]) if len(argv) > 1 else None
    with make_server(accounts, x_replies) as server:
        sys.stdout.write(server.url + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # until the driver closes the pipe (or dies)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
