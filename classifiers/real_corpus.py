"""The real corpus: posts nobody here wrote, labelled by the team in two independent passes.

``data/real/items.jsonl`` holds the posts (id, source, to, text); ``labels/pass_a_*.jsonl`` and
``labels/pass_b_*.jsonl`` the two passes; ``labels/settled.jsonl`` a third reading of every post the passes
disagree on. :func:`assemble` joins them into ``data/real/posts.jsonl`` (one label per post, where it came
from, and its side of the split) and reports the agreement. The split is a pure function of the post's text
with links, handles, digits and punctuation removed, so retweets and near-copies of one post fall on the same
side; the held-out side is never trained on.

``data/real/corrections.jsonl`` (written by ``run.py corrections export`` from a deployment's database) holds
the desk's corrections: real posts labelled by a person at the desk, source ``desk-correction``, trained on
when the file is there and never held out (:func:`load_corrections`).

    python -m classifiers.real_corpus        # rebuild data/real/posts.jsonl and print the agreement
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers.corpus import CorpusPost
from models.taxonomy import Category

REAL_DIR = Path(__file__).resolve().parent.parent / "data" / "real"
CORRECTIONS_JSONL = REAL_DIR / "corrections.jsonl"
CORRECTION_SOURCE = "desk-correction"
HELDOUT_PERCENT = 30
FLAGS = ("emergency", "misconduct")
LANGS = frozenset({"en", "hinglish", "hi", "kn", "kanglish", "other"})


class RealCorpusError(ValueError):
    """A label file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Agreement:
    """How often the two passes agreed, per field, with Cohen's kappa (agreement beyond chance)."""

    n_posts: int
    category: float
    category_kappa: float
    emergency: float
    emergency_kappa: float
    misconduct: float
    misconduct_kappa: float
    settled: int

    def format(self) -> str:
        return (
            f"label agreement between the two passes on {self.n_posts} real posts: category {self.category:.3f}"
            f" (kappa {self.category_kappa:.3f}), emergency {self.emergency:.3f} (kappa {self.emergency_kappa:.3f}),"
            f" misconduct {self.misconduct:.3f} (kappa {self.misconduct_kappa:.3f}); {self.settled} settled by a third reading"
        )


def split_key(text: str) -> str:
    """The text as the split sees it: no links, handles, digits or punctuation, lower case."""
    text = re.sub(r"https?://\S+|@\w+|#", " ", text.lower())
    return " ".join(re.sub(r"[\W\d_]+", " ", text).split())


def side_of(text: str) -> str:
    digest = hashlib.sha1(split_key(text).encode("utf-8")).digest()
    return "heldout" if int.from_bytes(digest[:4], "big") % 100 < HELDOUT_PERCENT else "train"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RealCorpusError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            if not isinstance(row, dict) or not isinstance(row.get("id"), str):
                raise RealCorpusError(f"{path}:{number}: expected an object with a string id")
            rows.append(row)
    return rows


def _labels(paths: Sequence[Path]) -> dict[str, dict[str, Any]]:
    labels: dict[str, dict[str, Any]] = {}
    for path in paths:
        for row in read_jsonl(path):
            if row.get("category") not in Category.__members__.values():
                raise RealCorpusError(f"{path}: {row['id']}: unknown category {row.get('category')!r}")
            if any(not isinstance(row.get(flag), bool) for flag in FLAGS):
                raise RealCorpusError(f"{path}: {row['id']}: emergency and misconduct must be true or false")
            labels[row["id"]] = row
    return labels


def cohen_kappa(a: Sequence[object], b: Sequence[object]) -> float:
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score([str(x) for x in a], [str(x) for x in b]))


def assemble(real_dir: Path = REAL_DIR) -> tuple[list[dict[str, Any]], Agreement]:
    """Every post with its final label; raises RealCorpusError when a pass or the settling misses a post."""
    items = read_jsonl(real_dir / "items.jsonl")
    passes = {name: _labels(sorted((real_dir / "labels").glob(f"pass_{name}_*.jsonl"))) for name in ("a", "b")}
    settled = _labels([real_dir / "labels" / "settled.jsonl"]) if (real_dir / "labels" / "settled.jsonl").exists() else {}
    ids = [item["id"] for item in items]
    for name, labels in passes.items():
        missing = [i for i in ids if i not in labels]
        if missing:
            raise RealCorpusError(f"pass {name} has no label for {len(missing)} post(s), e.g. {missing[0]}")
    a, b = passes["a"], passes["b"]
    fields = ("category", *FLAGS)
    disagreed = [i for i in ids if any(a[i][f] != b[i][f] for f in fields)]
    unsettled = [i for i in disagreed if i not in settled]
    if unsettled:
        raise RealCorpusError(f"{len(unsettled)} disagreement(s) not settled yet, e.g. {unsettled[0]}")
    posts = []
    for item in items:
        i = item["id"]
        final: Mapping[str, Any] = settled[i] if i in disagreed else a[i]
        lang = a[i].get("lang") if a[i].get("lang") == b[i].get("lang") else a[i].get("lang") or b[i].get("lang")
        posts.append(
            {
                "id": i,
                "source": item["source"],
                "to": item.get("to"),
                "text": item["text"],
                "category": final["category"],
                "emergency": final["emergency"],
                "misconduct": bool(final["misconduct"] or final["category"] == Category.OFFICER_MISCONDUCT),
                "place": a[i].get("place") or b[i].get("place"),
                "lang": lang if lang in LANGS else "other",
                "label": "settled" if i in disagreed else "agreed",
                "split": side_of(item["text"]),
            }
        )

    def share(field: str) -> float:
        return sum(1 for i in ids if a[i][field] == b[i][field]) / len(ids)

    def kappa(field: str) -> float:
        return cohen_kappa([a[i][field] for i in ids], [b[i][field] for i in ids])

    agreement = Agreement(
        len(ids),
        share("category"),
        kappa("category"),
        share("emergency"),
        kappa("emergency"),
        share("misconduct"),
        kappa("misconduct"),
        len(disagreed),
    )
    return posts, agreement


def load_real_posts(path: Path = REAL_DIR / "posts.jsonl") -> tuple[list[CorpusPost], list[CorpusPost]]:
    """The real corpus as (train, heldout) posts; style ``real_{lang}``, source ``real:{id}``."""
    if not path.is_file():
        raise RealCorpusError(f"{path}: no real corpus (python -m classifiers.real_corpus builds it)")
    train: list[CorpusPost] = []
    heldout: list[CorpusPost] = []
    for row in read_jsonl(path):
        if row.get("category") not in Category.__members__.values() or row.get("split") not in ("train", "heldout"):
            raise RealCorpusError(f"{path}: {row['id']}: bad category or split")
        post = CorpusPost(
            row["text"],
            Category(row["category"]),
            bool(row["emergency"]),
            f"real_{row.get('lang') or 'other'}",
            row.get("place"),
            f"real:{row['id']}",
            is_misconduct=bool(row["misconduct"]),
        )
        (heldout if row["split"] == "heldout" else train).append(post)
    return train, heldout


def load_corrections(path: Path = CORRECTIONS_JSONL) -> list[CorpusPost]:
    """The desk's corrections as real training posts (style ``real_desk``, source ``real:{id}``), in the file's
    order; none when the file is absent. A line that is not a correction is a RealCorpusError."""
    if not path.is_file():
        return []
    posts = []
    for row in read_jsonl(path):
        text = row.get("text")
        if row.get("source") != CORRECTION_SOURCE or not isinstance(text, str) or not text.strip():
            raise RealCorpusError(f"{path}: {row['id']}: not a desk correction with its post's text")
        if row.get("category") not in Category.__members__.values():
            raise RealCorpusError(f"{path}: {row['id']}: unknown category {row.get('category')!r}")
        if any(not isinstance(row.get(flag), bool) for flag in FLAGS):
            raise RealCorpusError(f"{path}: {row['id']}: emergency and misconduct must be true or false")
        place = row.get("place")
        posts.append(
            CorpusPost(
                text,
                Category(row["category"]),
                row["emergency"],
                "real_desk",
                place if isinstance(place, str) and place.strip() else None,
                f"real:{row['id']}",
                is_misconduct=bool(row["misconduct"] or row["category"] == Category.OFFICER_MISCONDUCT),
            )
        )
    return posts


def write_posts(posts: Sequence[Mapping[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for post in posts:
            handle.write(json.dumps(post, ensure_ascii=False) + "\n")


def main() -> int:
    try:
        posts, agreement = assemble()
    except (RealCorpusError, OSError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    write_posts(posts, REAL_DIR / "posts.jsonl")
    heldout = sum(p["split"] == "heldout" for p in posts)
    sys.stdout.write(f"{len(posts)} real posts ({heldout} held out) written to {REAL_DIR / 'posts.jsonl'}\n")
    sys.stdout.write(agreement.format() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
