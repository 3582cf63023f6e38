"""Reading one item's fields by shape: what each wrong shape becomes, and what the log line may say."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.payload import Fields, ItemReader, Skipped, Unreadable, printable_id


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("1900000000000000001", "1900000000000000001"),
        (1900000000000000001, "1900000000000000001"),
        ("122100000000000002_1052000000000004", "122100000000000002_1052000000000004"),
        ("Leela Vishwanath says hi", "(no readable id)"),  # free text is never printed as an id
        ("1" * 65, "(no readable id)"),
        (True, "(no readable id)"),
        (None, "(no readable id)"),
        (["1"], "(no readable id)"),
    ],
)
def test_only_something_shaped_like_an_id_is_printed(value: Any, printed: str) -> None:
    assert printable_id(value) == printed


@pytest.mark.parametrize(
    ("value", "text", "left_out"),
    [
        ("Signal jumping at Silk Board", "Signal jumping at Silk Board", []),
        (None, "", []),  # a photo comment has no message
        ("", "", []),
        (12345, "", ["message is a number, read as empty text"]),
        (["Signal jumping"], "", ["message is a list, read as empty text"]),
        ({"text": "Signal jumping"}, "", ["message is an object, read as empty text"]),
    ],
)
def test_text_that_is_not_a_string_is_empty_text(value: Any, text: str, left_out: list[str]) -> None:
    fields = Fields()
    assert fields.text(value, "message") == text
    assert fields.left_out == left_out


def test_an_optional_field_of_the_wrong_shape_is_left_out_and_a_needed_one_skips_the_item() -> None:
    fields = Fields()
    assert fields.obj(["Koramangala"], "place") == {}
    assert fields.number("12.9", "latitude") is None
    assert fields.number(True, "latitude") is None
    assert fields.string(["Leela"], "from.name") is None
    assert fields.left_out == [
        "place is a list, not an object; left out",
        "latitude is a string, not a number; left out",
        "latitude is true/false, not a number; left out",
        "from.name is a list, not a string; left out",
    ]
    at = fields.time("2026-11-20T09:30:00+00:00", "created_time", datetime.fromisoformat)
    with pytest.raises(Unreadable) as skipped:
        fields.obj("Leela Vishwanath", "from", needed=True)
    assert str(skipped.value) == "from is a string, not an object"
    assert skipped.value.created_at == at  # read before: the cursor can still move past the item
    with pytest.raises(Unreadable, match="not a time"):
        Fields().time("yesterday", "created_at", datetime.fromisoformat)
    with pytest.raises(Unreadable, match="no id"):
        Fields().ident(None, "id", needed=True)


def test_an_unreadable_item_is_reported_once_by_id_never_by_content(caplog: pytest.LogCaptureFixture) -> None:
    reader = ItemReader("facebook Bengaluru City Police")

    def convert(item: dict[str, Any], fields: Fields) -> str:
        fields.time(item["created_time"], "created_time", datetime.fromisoformat)
        fields.obj(item["from"], "from", needed=True)
        return "read"

    item = {"id": "777_1", "created_time": "2026-11-20T09:30:00+00:00", "from": "Leela Vishwanath",
            "message": "Pothole near QXMARKER"}
    with caplog.at_level(logging.DEBUG):
        first, again = reader.read(item, "comment", convert), reader.read(item, "comment", convert)
        not_an_object = reader.read("Leela Vishwanath: Pothole near QXMARKER", "comment", convert)
    assert first == again == Skipped("777_1", "from is a string, not an object",
                                     datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
    assert isinstance(not_an_object, Skipped) and not_an_object.created_at is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "facebook Bengaluru City Police: skipped comment 777_1: from is a string, not an object",
        "facebook Bengaluru City Police: skipped comment (no readable id): the comment is a string, not an object",
    ]
    assert "Leela" not in caplog.text and "QXMARKER" not in caplog.text
