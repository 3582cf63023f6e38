"""``python -m sandbox --scenario FILE --port N``: run the sandbox until interrupted."""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from sandbox.config import DEMO_SCENARIO_PATH, AutoRelease
from sandbox.scenario import ScenarioError
from sandbox.server import Release, SandboxServer

logger = logging.getLogger("sandbox")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--scenario", type=Path, default=DEMO_SCENARIO_PATH, help="JSONL scenario file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--release", choices=("all", "manual", "auto"), default="all",
                        help="show every post at start, none until released, or a few at a time")
    parser.add_argument("--every-s", type=float, default=10.0, help="auto release: seconds between batches")
    parser.add_argument("--batch", type=int, default=3, help="auto release: posts per batch")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    release: Release = AutoRelease(every_s=args.every_s, batch=args.batch) if args.release == "auto" \
        else args.release
    try:
        server = SandboxServer(args.scenario, host=args.host, port=args.port, release=release)
    except (ScenarioError, OSError) as exc:
        logger.error("cannot load the scenario: %s", exc)
        return 2
    with server:
        logger.info("X API at %s/2/..., Graph API at %s, control at %s/_sandbox/",
                    server.url, server.graph_url, server.url)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            logger.info("stopping")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
