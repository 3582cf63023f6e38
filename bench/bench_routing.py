"""Routing + notification throughput: N complaints routed, then the outbox drained to a local JSON receiver.

    python bench/bench_routing.py [--complaints 10000] [--database-url URL]

Uses the sample deployment's people (data/bengaluru) with every message redirected to a stdlib HTTP
receiver on 127.0.0.1, and prints the rules alone, the route stage and the notify stage side by side.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.db import make_engine, migrate, session_scope  # noqa: E402
from models.mentions import ensure_account  # noqa: E402
from models.tables import Complaint, Mention  # noqa: E402
from notify.settings import NotifySettings  # noqa: E402
from notify.stage import NotifyStage  # noqa: E402
from routing.cameras import read_cameras  # noqa: E402
from routing.jurisdictions import Jurisdictions  # noqa: E402
from routing.people import load_organisation  # noqa: E402
from routing.rules import CaseFacts, Policy, decide  # noqa: E402
from routing.stage import RouteStage, RoutingContext  # noqa: E402

CATEGORIES = (
    ["theft"] * 3
    + ["traffic_violation"] * 3
    + [
        "traffic_congestion",
        "violence",
        "officer_misconduct",
        "civic_referral",
        "appreciation",
        "other",
        "women_safety",
        "road_accident",
    ]
)
NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--complaints", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    received = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            received[0] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    data = ROOT / "data" / "bengaluru"
    jur = Jurisdictions.load(data)
    org = load_organisation(data, jur.stations, desk_unit="blr-sm-desk", timezone="Asia/Kolkata", environ={})
    cameras, _ = read_cameras(data / "cameras.csv")
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    engine = make_engine(url)
    migrate(engine)

    rng = random.Random(7)
    stations = {layer: [s.id for s in jur.stations.values() if s.layer == layer] for layer in ("traffic", "law_order")}
    rows: list[dict[str, Any]] = []
    for _ in range(args.complaints):
        category = rng.choice(CATEGORIES)
        layer = "traffic" if category.startswith(("traffic", "road")) else "law_order"
        station = (
            None
            if category in ("civic_referral", "appreciation", "other") or rng.random() < 0.05
            else (rng.choice(stations[layer]))
        )
        point = jur.station_point(station) if station else None
        rows.append(
            {
                "category": category,
                "confidence": 0.9,
                "station_id": station,
                "is_emergency": rng.random() < 0.05,
                "is_vip": rng.random() < 0.02,
                "place_name": "somewhere" if point else None,
                "place_lat": point[0] if point else None,
                "place_lon": point[1] if point else None,
                "status": "new",
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    with session_scope(engine) as session:
        account_id = ensure_account(session, platform="x", key="bench", external_user_id="1", label="bench")
        session.execute(sa.insert(Complaint), rows)
        ids = session.execute(sa.select(Complaint.id)).scalars().all()  # type: ignore[call-overload]
        session.execute(
            sa.insert(Mention),
            [
                {
                    "platform": "x",
                    "external_id": str(i),
                    "account_id": account_id,
                    "text": f"complaint {i} text",
                    "created_at": NOW,
                    "complaint_id": i,
                    "referenced_authors": [],
                    "raw": {},
                    "stored_at": NOW,
                }
                for i in ids
            ],
        )

    facts = [CaseFacts(i, r["category"], r["station_id"], r["is_emergency"], r["is_vip"]) for i, r in enumerate(rows)]
    started = time.perf_counter()
    load: dict[str, int] = {}
    for f in facts:
        decision = decide(f, org, NOW, load, Policy())
        if decision.assignee:
            load[decision.assignee.officer_id] = load.get(decision.assignee.officer_id, 0) + 1
    rules_s = time.perf_counter() - started

    context = RoutingContext(org, Policy(), cameras, "BLR", "http://127.0.0.1:8000")
    started = time.perf_counter()
    routed = RouteStage(context).run(engine, NOW)
    route_s = time.perf_counter() - started

    settings = NotifySettings(redirect_url=f"json://127.0.0.1:{server.server_address[1]}/bench")
    started = time.perf_counter()
    notified = NotifyStage(org, settings).run(engine, NOW)
    notify_s = time.perf_counter() - started
    server.shutdown()

    n = args.complaints
    say(f"database: {engine.dialect.name}; complaints: {n}")
    say(f"rules alone:  {n / rules_s:10.0f} complaints/s ({rules_s:.2f} s)")
    say(f"route stage:  {n / route_s:10.0f} complaints/s ({route_s:.2f} s) {routed}")
    say(
        f"notify stage: {notified['notified'] / notify_s:10.0f} messages/s ({notify_s:.2f} s) {notified}; "
        f"receiver got {received[0]}"
    )
    say(f"end to end:   {n / (route_s + notify_s):10.0f} complaints/s")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main()
