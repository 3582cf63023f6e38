"""The project's labelled corpus (``data/corpus/*.jsonl``): loading, validation and the held-out split.

The split is a pure function of each post's normalised text, so a post stays on its side when lines are
added, and the held-out side is never trained on (thresholds and calibration use cross-validation on
the train side).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.taxonomy import Category

STYLES = frozenset({"en", "en_informal", "hinglish", "kanglish", "kn", "hi", "vi", "truncated"})
HELDOUT_PERCENT = 20
_FIELDS = {"text", "category", "emergency", "style", "place"}


class CorpusError(ValueError):
    """A corpus line that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class CorpusPost:
    text: str
    category: Category
    is_emergency: bool
    style: str
    place: str | None
    source: str
    """Where it came from, as ``file:line`` (a real post: ``real:{id}``)."""
    is_misconduct: bool = False
    """The police themselves accused; the authored corpus marks it through the category alone."""

    @property
    def is_real(self) -> bool:
        return self.source.startswith("real:")


@dataclass(frozen=True)
class CorpusSplit:
    train: tuple[CorpusPost, ...]
    heldout: tuple[CorpusPost, ...]


def parse_line(line: str, source: str) -> CorpusPost:
    """One JSONL line → a post, or a CorpusError naming ``source`` and what is wrong."""
    try:
        record: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{source}: not valid JSON ({exc.msg})") from exc
    if not isinstance(record, dict):
        raise CorpusError(f"{source}: expected a JSON object")
    missing = _FIELDS - record.keys()
    if missing:
        raise CorpusError(f"{source}: missing field(s) {', '.join(sorted(missing))}")
    text, category, emergency, style, place = (record[k] for k in ("text", "category", "emergency", "style", "place"))
    if not isinstance(text, str) or not text.strip():
        raise CorpusError(f"{source}: 'text' must be a non-empty string")
    if category not in Category.__members__.values():
        raise CorpusError(f"{source}: unknown category {category!r}")
    if not isinstance(emergency, bool):
        raise CorpusError(f"{source}: 'emergency' must be true or false, got {emergency!r}")
    if style not in STYLES:
        raise CorpusError(f"{source}: unknown style {style!r} (one of {', '.join(sorted(STYLES))})")
    if place is not None and (not isinstance(place, str) or not place.strip()):
        raise CorpusError(f"{source}: 'place' must be a place name or null")
    return CorpusPost(
        text, Category(category), emergency, style, place, source, is_misconduct=category == Category.OFFICER_MISCONDUCT
    )


def load_corpus(corpus_dir: Path) -> list[CorpusPost]:
    """Every line of every ``*.jsonl`` file in ``corpus_dir`` (sorted by file name), validated."""
    files = sorted(corpus_dir.glob("*.jsonl"))
    if not files:
        raise CorpusError(f"{corpus_dir}: no *.jsonl corpus files")
    posts: list[CorpusPost] = []
    for path in files:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    posts.append(parse_line(line, f"{path.name}:{number}"))
    return posts


def split_key(text: str) -> str:
    """The text as the split sees it: case, accents' composition, punctuation and spacing do not matter."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", folded).split())


def _bucket(text: str) -> int:
    return int(hashlib.sha256(split_key(text).encode("utf-8")).hexdigest()[:8], 16) % 100


def split_corpus(posts: Sequence[CorpusPost], heldout_percent: int = HELDOUT_PERCENT) -> CorpusSplit:
    """Held-out = posts whose text hashes below ``heldout_percent``; duplicates (same split key) are kept
    once. A category left with no held-out post gives up its lowest-hashing post, so every class is scored."""
    unique: dict[str, CorpusPost] = {}
    for post in posts:
        unique.setdefault(split_key(post.text), post)
    heldout = {key for key, post in unique.items() if _bucket(post.text) < heldout_percent}
    for category in Category:
        members = sorted((_bucket(p.text), key) for key, p in unique.items() if p.category is category)
        if len(members) >= 2 and not any(key in heldout for _, key in members):
            heldout.add(members[0][1])
    return CorpusSplit(
        train=tuple(p for key, p in unique.items() if key not in heldout),
        heldout=tuple(p for key, p in unique.items() if key in heldout),
    )


# The civic reports (MIT, ShriyaShankar/mini-project) are real but not police posts; see data/README in
# shared/. Their category → ours. Traffic/Parking rows mix violations, jams and opinions: left out.
CIVIC_CATEGORY_MAP = {
    "Waste/Garbage": Category.CIVIC_REFERRAL,
    "Water": Category.CIVIC_REFERRAL,
    "Sewage": Category.CIVIC_REFERRAL,
    "Sanitation": Category.CIVIC_REFERRAL,
    "Streetlights": Category.CIVIC_REFERRAL,
    "Electricity": Category.CIVIC_REFERRAL,
    "Plastic": Category.CIVIC_REFERRAL,
    "Air": Category.CIVIC_REFERRAL,
    "Potholes": Category.ROAD_INFRASTRUCTURE,
    "": Category.OTHER,
}


def load_civic_reports(path: Path, per_category: dict[Category, int], *, seed: int) -> list[CorpusPost]:
    """A reproducible sample of the civic-reports CSV as auxiliary training posts (never held out)."""
    by_category: dict[Category, list[CorpusPost]] = {c: [] for c in per_category}
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            category = CIVIC_CATEGORY_MAP.get(row.get("category") or "")
            text = (row.get("description") or "").strip()
            if category in by_category and len(text) >= 12:
                by_category[category].append(CorpusPost(text, category, False, "en", None, f"{path.name}:{number}"))
    rng = random.Random(seed)
    sample: list[CorpusPost] = []
    for category, wanted in per_category.items():
        candidates = by_category[category]
        sample.extend(rng.sample(candidates, min(wanted, len(candidates))))
    return sample


def counts(posts: Iterable[CorpusPost]) -> dict[str, int]:
    """Posts per category, for reports."""
    tally: dict[str, int] = {c.value: 0 for c in Category}
    for post in posts:
        tally[post.category.value] += 1
    return tally
