from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.corpus import (
    CorpusError,
    CorpusPost,
    load_civic_reports,
    load_corpus,
    parse_line,
    split_corpus,
    split_key,
)
from models.taxonomy import Category


def line(**overrides: object) -> str:
    record: dict[str, object] = {
        "text": "Phone snatched near Silk Board",
        "category": "theft",
        "emergency": False,
        "style": "en",
        "place": "Silk Board Jn",
    }
    record.update(overrides)
    return json.dumps(record, ensure_ascii=False)


def post(text: str, category: Category = Category.THEFT) -> CorpusPost:
    return CorpusPost(text, category, False, "en", None, "x.jsonl:1")


def test_parse_line_reads_a_valid_line() -> None:
    parsed = parse_line(line(text="ಮೊಬೈಲ್ ಕಳ್ಳತನ", style="kn", place=None), "a.jsonl:3")
    assert parsed.category is Category.THEFT
    assert parsed.text == "ಮೊಬೈಲ್ ಕಳ್ಳತನ"
    assert parsed.place is None
    assert parsed.source == "a.jsonl:3"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({"text": "x"}), "missing field(s) category, emergency, place, style"),
        (line(text="   "), "'text' must be a non-empty string"),
        (line(category="traffic"), "unknown category 'traffic'"),
        (line(emergency="yes"), "'emergency' must be true or false"),
        (line(style="marathi"), "unknown style 'marathi'"),
        (line(place=""), "'place' must be a place name or null"),
    ],
)
def test_parse_line_names_the_line_and_the_problem(bad: str, message: str) -> None:
    with pytest.raises(CorpusError) as caught:
        parse_line(bad, "posts_crime.jsonl:17")
    assert str(caught.value).startswith("posts_crime.jsonl:17: ")
    assert message in str(caught.value)


def test_load_corpus_reports_the_file_and_line_of_a_bad_line(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(line() + "\n\n" + line(category="nope") + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"^a\.jsonl:3: unknown category"):
        load_corpus(tmp_path)


def test_load_corpus_reads_every_file_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b.jsonl").write_text(line(text="second") + "\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text(line(text="first") + "\n", encoding="utf-8")
    assert [p.text for p in load_corpus(tmp_path)] == ["first", "second"]


def test_load_corpus_refuses_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no \\*.jsonl"):
        load_corpus(tmp_path)


def test_split_key_ignores_case_punctuation_and_spacing() -> None:
    assert split_key("Signal  JUMPING at Silk-Board!!") == split_key("signal jumping at silk board")


def test_split_is_deterministic_and_holds_out_about_a_fifth() -> None:
    posts = [post(f"post number {i} about a stolen bike") for i in range(1000)]
    first, second = split_corpus(posts), split_corpus(list(reversed(posts)))
    assert {p.text for p in first.heldout} == {p.text for p in second.heldout}
    assert 150 <= len(first.heldout) <= 250
    assert not {p.text for p in first.heldout} & {p.text for p in first.train}


def test_a_post_stays_on_its_side_when_lines_are_added() -> None:
    posts = [post(f"chain snatching case {i}") for i in range(300)]
    before = {p.text for p in split_corpus(posts).heldout}
    after = {p.text for p in split_corpus(posts + [post(f"new line {i}") for i in range(300)]).heldout}
    assert before <= after


def test_duplicates_are_kept_once_so_they_cannot_straddle_the_split() -> None:
    split = split_corpus([post("Bike stolen!"), post("bike stolen"), post("BIKE   STOLEN")])
    assert len(split.train) + len(split.heldout) == 1


def test_every_category_with_two_posts_gets_a_held_out_post() -> None:
    posts = [post(f"theft {i}") for i in range(50)] + [
        post("lost kid", Category.MISSING_PERSON),
        post("kid missing", Category.MISSING_PERSON),
    ]
    held_out_categories = {p.category for p in split_corpus(posts).heldout}
    assert Category.MISSING_PERSON in held_out_categories


def test_civic_reports_map_to_our_categories_reproducibly(tmp_path: Path) -> None:
    csv_path = tmp_path / "civic.csv"
    rows = [",index,description,category,civic_issue"]
    rows += [f"{i},{i},Garbage dumped near the park gate {i},Waste/Garbage,1" for i in range(20)]
    rows += [f"{20 + i},{20 + i},Huge pothole on the main road {i},Potholes,1" for i in range(5)]
    rows += ["30,30,Stuck in traffic again near the flyover,Traffic/Parking,1", "31,31,good night all,,0"]
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    wanted = {Category.CIVIC_REFERRAL: 3, Category.ROAD_INFRASTRUCTURE: 10, Category.OTHER: 5}
    sample = load_civic_reports(csv_path, wanted, seed=0)
    assert sample == load_civic_reports(csv_path, wanted, seed=0)
    by_category = {c: [p for p in sample if p.category is c] for c in wanted}
    assert len(by_category[Category.CIVIC_REFERRAL]) == 3
    assert len(by_category[Category.ROAD_INFRASTRUCTURE]) == 5
    assert [p.text for p in by_category[Category.OTHER]] == ["good night all"]
    assert all("traffic" not in p.text.lower() for p in sample)
