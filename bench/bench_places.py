"""Place finding: start-up cost, find() throughput and latency, accuracy on the test tables, and the
fuzzy-threshold sweep that FUZZY_MIN_SCORE was chosen from.

Run with `.venv/bin/python bench/bench_places.py`. Options: --posts N (corpus size, default all
32,120 rows of the civic-report corpus), --no-sweep.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "data" / "bengaluru"
CORPUS = ROOT.parent / "shared" / "data" / "training" / "bengaluru_civic_reports.csv"


def show(line: str) -> None:
    sys.stdout.write(line + "\n")


def rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def load_tables() -> ModuleType:
    spec = importlib.util.spec_from_file_location("place_tables", ROOT / "tests" / "unit" / "test_places.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def accuracy(finder: object, rows: list[tuple[str, object]], template: str = "{}") -> tuple[int, int]:
    right = 0
    for text, expected in rows:
        match = finder.find(template.format(text))  # type: ignore[attr-defined]
        name = match.name if match else None
        acceptable = {expected} if isinstance(expected, str) else expected
        right += (name is None) if acceptable is None else (name in acceptable)  # type: ignore[operator]
    return right, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=0)
    parser.add_argument("--no-sweep", action="store_true")
    args = parser.parse_args()

    rss_start = rss_mb()
    started = time.perf_counter()
    import classifiers.places as places
    from models.taxonomy import Layer
    from routing.jurisdictions import Jurisdictions

    imported = time.perf_counter()
    rss_imported = rss_mb()
    jurisdictions = Jurisdictions.load(DATA)
    loaded_j = time.perf_counter()
    finder = places.PlaceFinder.load(DATA, jurisdictions)
    loaded_f = time.perf_counter()
    show(f"import spacy+shapely+rapidfuzz  {imported - started:6.2f} s   RSS +{rss_imported - rss_start:5.0f} MB")
    show(f"Jurisdictions.load              {loaded_j - imported:6.2f} s")
    show(f"PlaceFinder.load                {loaded_f - loaded_j:6.2f} s   RSS +{rss_mb() - rss_imported:5.0f} MB (both loads)")

    with CORPUS.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    texts = [row["description"] for row in rows][: args.posts or None]
    generic = [row["description"] for row in rows if row["civic_issue"] == "0"][:5000]
    latencies: list[float] = []
    found = 0
    run_started = time.perf_counter()
    for text in texts:
        t0 = time.perf_counter()
        found += finder.find(text) is not None
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - run_started
    cuts = statistics.quantiles(latencies, n=100)
    show(
        f"find() on {len(texts)} corpus posts: {len(texts) / elapsed:7.0f} posts/s   "
        f"p50 {cuts[49] * 1000:.2f} ms  p95 {cuts[94] * 1000:.2f} ms  p99 {cuts[98] * 1000:.2f} ms  "
        f"max {max(latencies) * 1000:.1f} ms   ({found} with a place)"
    )
    points = [(12.80 + (i % 50) * 0.01, 77.45 + (i // 50) * 0.01) for i in range(2500)]
    t0 = time.perf_counter()
    for lat, lon in points:
        jurisdictions.station_at(lat, lon, Layer.TRAFFIC)
    show(f"station_at: {len(points) / (time.perf_counter() - t0):7.0f} lookups/s")

    tables = load_tables()
    for label, rows, template in (
        ("posts table (Hinglish, Kanglish, scripts, hashtags, two places, traps)", tables.POSTS, "{}"),
        ("real civic posts", tables.REAL_POSTS, "{}"),
        ("held-out posts (written after tuning)", tables.HELD_OUT, "{}"),
        ("misspellings", tables.MISSPELLINGS, "heavy traffic jam at {} since morning"),
    ):
        right, total = accuracy(finder, rows, template)
        show(f"accuracy  {right:3d}/{total:<3d} = {right / total:6.1%}  {label}")

    if args.no_sweep:
        return
    traps = [getattr(t, "values", (t,))[0] for t in tables.FUZZY_TRAPS]
    show("fuzzy threshold sweep (misspellings found / traps matched / generic tweets given a place):")
    for threshold in (80.0, 84.0, 86.0, 88.0, 90.0, 92.0, 94.0):
        places.FUZZY_MIN_SCORE = threshold
        right, total = accuracy(finder, tables.MISSPELLINGS, "heavy traffic jam at {} since morning")
        trapped = sum(finder.find(f"problem in {t} today") is not None for t in traps)
        false_places = sum(finder.find(t) is not None for t in generic)
        show(f"  {threshold:4.0f}: {right}/{total}  {trapped}/{len(traps)}  {false_places}/{len(generic)}")


if __name__ == "__main__":
    main()
