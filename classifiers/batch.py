"""``run.py classify``: JSONL posts in, one JSONL classification per good line out.

A bad input line does not stop the run: the good lines are classified and written, and the returned
report names every bad line by number so the caller can print it and exit non-zero.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from classifiers.pipeline import Classification, Classifier, PostInput

logger = logging.getLogger(__name__)

CHUNK_SIZE = 512


class InputLineError(ValueError):
    """An input line that cannot be classified."""


@dataclass(frozen=True)
class BadLine:
    line: int
    error: str


@dataclass(frozen=True)
class BatchReport:
    n_read: int
    n_written: int
    bad_lines: tuple[BadLine, ...]

    @property
    def is_ok(self) -> bool:
        return not self.bad_lines

    def format(self) -> str:
        lines = [f"classified {self.n_written} of {self.n_read} posts"]
        lines += [f"line {bad.line}: {bad.error}" for bad in self.bad_lines]
        return "\n".join(lines)


def _optional_str(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value
    raise InputLineError(f"'{key}' must be a string or null, got {type(value).__name__}")


def _coordinate(record: dict[str, Any], key: str, limit: float) -> float | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputLineError(f"'{key}' must be a number or null, got {value!r}")
    if abs(value) > limit:
        raise InputLineError(f"'{key}' {value} is outside ±{limit:g}")
    return float(value)


def parse_input_line(line: str) -> tuple[Any, PostInput]:
    """One input line → (the id as given, the post); InputLineError says what is wrong."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputLineError(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(record, dict):
        raise InputLineError("expected a JSON object")
    raw_id = record.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
        raise InputLineError("'id' must be a non-empty string or an integer")
    text = record.get("text")
    if not isinstance(text, str):
        raise InputLineError("'text' must be a string")
    referenced = record.get("referenced_authors") or []
    if not isinstance(referenced, list) or not all(isinstance(a, str) for a in referenced):
        raise InputLineError("'referenced_authors' must be a list of strings")
    post = PostInput(
        id=str(raw_id),
        text=text,
        platform=_optional_str(record, "platform"),
        author=_optional_str(record, "author"),
        lat=_coordinate(record, "lat", 90.0),
        lon=_coordinate(record, "lon", 180.0),
        referenced_authors=tuple(referenced),
    )
    return raw_id, post


def output_record(raw_id: Any, result: Classification) -> dict[str, Any]:
    return {
        "id": raw_id,
        "category": result.category.value,
        "emergency": result.emergency,
        "misconduct": result.misconduct,
        "vip": result.vip,
        "place": result.place,
        "station": result.station,
        "confidence": result.confidence,
    }


_FORKED: Classifier | None = None  # the parent's classifier, inherited by forked workers


def _classify_forked(posts: list[PostInput]) -> list[Classification]:
    assert _FORKED is not None
    return _FORKED.classify(posts)


@contextmanager
def _chunk_classifier(
    classifier: Classifier, workers: int
) -> Iterator[Callable[[list[PostInput]], Future[list[Classification]]]]:
    """A ``submit(posts) -> Future`` running in this process, or in ``workers`` forked processes."""
    global _FORKED
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        def run_here(posts: list[PostInput]) -> Future[list[Classification]]:
            future: Future[list[Classification]] = Future()
            future.set_result(classifier.classify(posts))
            return future

        yield run_here
        return
    _FORKED = classifier
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            yield lambda posts: pool.submit(_classify_forked, posts)
    finally:
        _FORKED = None


def classify_in_workers(classifier: Classifier, posts: Sequence[PostInput], workers: int) -> list[Classification]:
    """``classifier.classify(posts)`` spread over ``workers`` forked processes, chunk by chunk, in order."""
    with _chunk_classifier(classifier, workers) as submit:
        futures = [submit(list(posts[start : start + CHUNK_SIZE])) for start in range(0, len(posts), CHUNK_SIZE)]
        return [result for future in futures for result in future.result()]


def _numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def classify_jsonl(
    in_path: Path, out_path: Path, classifier: Classifier, *, show_progress: bool, workers: int = 1
) -> BatchReport:
    """Classify every line of ``in_path`` into ``out_path`` (written whole, then moved into place).

    With ``workers`` > 1 the chunks are classified by that many forked processes sharing the loaded
    models (copy-on-write); the output keeps the input's order either way.
    """
    total = sum(1 for _ in _numbered_lines(in_path)) if show_progress else None
    bad: list[BadLine] = []
    n_read = n_written = 0
    partial = out_path.with_name(out_path.name + ".partial")
    with (
        partial.open("w", encoding="utf-8") as out,
        tqdm(total=total, disable=not show_progress, unit="post", desc="classify") as progress,
        _chunk_classifier(classifier, workers) as submit,
    ):
        pending: deque[tuple[list[Any], Future[list[Classification]]]] = deque()
        chunk: list[tuple[Any, PostInput]] = []

        def write(ids: list[Any], results: list[Classification]) -> None:
            nonlocal n_written
            for raw_id, result in zip(ids, results, strict=True):
                out.write(json.dumps(output_record(raw_id, result), ensure_ascii=False) + "\n")
            n_written += len(ids)
            progress.update(len(ids))

        def flush() -> None:
            pending.append(([raw_id for raw_id, _ in chunk], submit([post for _, post in chunk])))
            chunk.clear()
            while len(pending) > 2 * workers:  # bounded: a huge input never sits in memory whole
                ids, future = pending.popleft()
                write(ids, future.result())

        for number, line in _numbered_lines(in_path):
            n_read += 1
            try:
                chunk.append(parse_input_line(line))
            except InputLineError as exc:
                bad.append(BadLine(number, str(exc)))
                progress.update(1)
            if len(chunk) >= CHUNK_SIZE:
                flush()
        if chunk:
            flush()
        while pending:
            ids, future = pending.popleft()
            write(ids, future.result())
    os.replace(partial, out_path)
    logger.info("classified %d of %d posts from %s (%d bad lines)", n_written, n_read, in_path, len(bad))
    return BatchReport(n_read, n_written, tuple(bad))
