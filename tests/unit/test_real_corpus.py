"""The real corpus: two passes joined, disagreements settled, agreement reported, a split that keeps copies together."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from classifiers.real_corpus import RealCorpusError, assemble, load_real_posts, side_of, split_key, write_posts

POSTS = [
    ("p1", "@DelhiPolice my phone was snatched at Karol Bagh metro"),
    ("p2", "@dtptraffic huge jam at ITO since an hour"),
    ("p3", "@RailMinIndia AC not working in coach B2 of 12506"),
    ("p4", "@DelhiPolice thank you for the quick help last night"),
]


def label(i: str, category: str, *, emergency: bool = False, misconduct: bool = False) -> dict[str, Any]:
    return {"id": i, "category": category, "emergency": emergency, "misconduct": misconduct, "place": None, "lang": "en"}


def write(folder: Path, name: str, rows: list[dict[str, Any]]) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def real_dir(tmp_path: Path) -> Path:
    write(tmp_path, "items.jsonl", [{"id": i, "source": "test", "to": None, "text": t} for i, t in POSTS])
    write(tmp_path, "labels/pass_a_chunk1.jsonl", [
        label("p1", "theft"), label("p2", "traffic_congestion"), label("p3", "civic_referral"), label("p4", "appreciation"),
    ])  # fmt: skip
    write(tmp_path, "labels/pass_b_chunk1.jsonl", [
        label("p1", "theft", misconduct=True), label("p2", "traffic_congestion"), label("p3", "other"), label("p4", "appreciation"),
    ])  # fmt: skip
    return tmp_path


def test_an_unsettled_disagreement_stops_the_assembly(real_dir: Path) -> None:
    with pytest.raises(RealCorpusError, match="2 disagreement"):
        assemble(real_dir)


def test_agreed_labels_stand_and_settled_ones_replace_both_passes(real_dir: Path) -> None:
    write(real_dir, "labels/settled.jsonl", [label("p1", "theft", misconduct=True), label("p3", "civic_referral")])
    posts, agreement = assemble(real_dir)
    final = {p["id"]: (p["category"], p["misconduct"], p["label"]) for p in posts}
    assert final == {
        "p1": ("theft", True, "settled"),
        "p2": ("traffic_congestion", False, "agreed"),
        "p3": ("civic_referral", False, "settled"),
        "p4": ("appreciation", False, "agreed"),
    }
    assert agreement.category == 0.75 and agreement.misconduct == 0.75 and agreement.settled == 2
    assert agreement.emergency == 1.0


def test_a_missing_label_in_a_pass_is_named(real_dir: Path) -> None:
    write(real_dir, "labels/pass_b_chunk1.jsonl", [label("p1", "theft")])
    with pytest.raises(RealCorpusError, match="pass b has no label for 3"):
        assemble(real_dir)


def test_the_split_keeps_retweets_and_near_copies_on_one_side() -> None:
    original = "@dtptraffic Heavy jam at Dhaula Kuan, 30 min stuck! https://t.co/abc"
    copies = ["RT @someone: @dtptraffic heavy jam at dhaula kuan 30 min stuck https://t.co/xyz", "#Heavy jam at Dhaula Kuan"]
    assert split_key(copies[0]).endswith(split_key(original)) and split_key(copies[1]) == split_key("Heavy jam at Dhaula Kuan")
    assert side_of(original) == side_of("@DelhiPolice Heavy jam at Dhaula Kuan 30 min stuck!! https://t.co/q")


def test_the_assembled_corpus_loads_as_train_and_heldout(real_dir: Path) -> None:
    write(real_dir, "labels/settled.jsonl", [label("p1", "theft", misconduct=True), label("p3", "civic_referral")])
    posts, _ = assemble(real_dir)
    write_posts(posts, real_dir / "posts.jsonl")
    train, heldout = load_real_posts(real_dir / "posts.jsonl")
    assert len(train) + len(heldout) == 4
    loaded = {p.source: p for p in [*train, *heldout]}
    assert loaded["real:p1"].is_misconduct and loaded["real:p1"].is_real
    assert {p.source for p in heldout} == {f"real:{i}" for i, t in POSTS if side_of(t) == "heldout"}


def test_the_committed_real_corpus_is_what_its_labels_make() -> None:
    """data/real/posts.jsonl is rebuilt from the label files, not edited by hand."""
    folder = Path(__file__).resolve().parents[2] / "data" / "real"
    posts, agreement = assemble(folder)
    committed = [json.loads(line) for line in (folder / "posts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert committed == posts
    assert agreement.n_posts == len(posts) >= 2500
