"""Reading one item of a platform's JSON: every field's shape checked with ``isinstance``, never assumed.

Both adapters read their items through :class:`ItemReader`. An item whose id, time or author cannot be
read is skipped (:class:`Unreadable`): without them it is not known which post it is, when it was
written, or whether it is the force's own. A field that only adds to the post (its text, place,
coordinates, the author's name) is left out when it has the wrong shape, and the item is kept: null or
non-string text is read as empty text. Either way one WARNING line names the account, the item's id and
the field, never the item's text or its author's name, and only the first time: a page read again next
cycle does not repeat it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_REMEMBERED = 10_000  # items already reported, per account, before the memory starts again


class Unreadable(Exception):
    """The item cannot be read; the message names the field and its shape, never its content.

    ``created_at`` is the item's time when that much was readable, so the cursor can still move past it.
    """

    def __init__(self, reason: str, *, created_at: datetime | None = None) -> None:
        super().__init__(reason)
        self.created_at = created_at


@dataclass(frozen=True)
class Skipped:
    """An item that was not read; what the adapter needs of it to move its cursor on."""

    item_id: str
    reason: str
    created_at: datetime | None


def shape(value: Any) -> str:
    """What a value is, in words, for a log line ("a list"), without quoting it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def printable_id(value: Any) -> str:
    """The id to name an item by in a log line: only something shaped like an id, never free text."""
    if isinstance(value, int | str) and not isinstance(value, bool) and _ID.match(str(value)):
        return str(value)
    return "(no readable id)"


class Fields:
    """Reads the fields of one item; what it had to leave out is listed in ``left_out``."""

    def __init__(self) -> None:
        self.left_out: list[str] = []
        self.created_at: datetime | None = None

    def obj(self, value: Any, name: str, *, needed: bool = False) -> dict[str, Any]:
        """An object, or {} when absent; the wrong shape skips the item when ``needed``, else is left out."""
        if value is None:
            return {}
        if isinstance(value, dict):
            return value
        self._wrong(name, value, "an object", needed=needed)
        return {}

    def items(self, value: Any, name: str) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self._wrong(name, value, "a list", needed=False)
        return []

    def ident(self, value: Any, name: str, *, needed: bool = False, pattern: re.Pattern[str] = _ID) -> str | None:
        """An id (a string or a whole number of the platform's shape), or None when absent."""
        if value is None:
            if needed:
                raise Unreadable(f"it has no {name}", created_at=self.created_at)
            return None
        if isinstance(value, int | str) and not isinstance(value, bool) and pattern.match(str(value)):
            return str(value)
        self._wrong(name, value, "an id", needed=needed)
        return None

    def time(self, value: Any, name: str, parse: Callable[[str], datetime]) -> datetime:
        """The item's time; an item without a readable one is skipped."""
        if not isinstance(value, str):
            raise Unreadable(f"{name} is {shape(value)}, not a time")
        try:
            self.created_at = parse(value)
        except (ValueError, OverflowError):  # OverflowError: a time out of UTC's range (9999-12-31T23:59-05:00)
            raise Unreadable(f"{name} is not a time it can read") from None
        return self.created_at

    def text(self, value: Any, name: str) -> str:
        """The post's text: a string, or empty (null or absent text is a post without words, a photo)."""
        if value is None or isinstance(value, str):
            return value or ""
        self.left_out.append(f"{name} is {shape(value)}, read as empty text")
        return ""

    def string(self, value: Any, name: str) -> str | None:
        if value is None or isinstance(value, str):
            return value
        self._wrong(name, value, "a string", needed=False)
        return None

    def number(self, value: Any, name: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        self._wrong(name, value, "a number", needed=False)
        return None

    def _wrong(self, name: str, value: Any, wanted: str, *, needed: bool) -> None:
        reason = f"{name} is {shape(value)}, not {wanted}"
        if needed:
            raise Unreadable(reason, created_at=self.created_at)
        self.left_out.append(f"{reason}; left out")


class ItemReader:
    """Converts one item at a time for an account, logging what could not be read once per item."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._reported: set[tuple[str, str]] = set()

    def read(self, item: Any, kind: str, convert: Callable[[dict[str, Any], Fields], T]) -> T | Skipped:
        """``convert(item, fields)``, or :class:`Skipped` when the item (``kind``: "comment", "tweet") is
        unreadable; either way what was left out is logged."""
        item_id = printable_id(item.get("id")) if isinstance(item, dict) else "(no readable id)"
        fields = Fields()
        try:
            if not isinstance(item, dict):
                raise Unreadable(f"the {kind} is {shape(item)}, not an object")
            result = convert(item, fields)
        except Unreadable as exc:
            self.report(f"skipped {kind} {item_id}: {exc}")
            return Skipped(item_id, str(exc), exc.created_at)
        if fields.left_out:
            self.report(f"{kind} {item_id} read without part of it: {'; '.join(fields.left_out)}")
        return result

    def report(self, message: str) -> None:
        """A WARNING the first time, DEBUG after (the same page is read again each cycle)."""
        key = (self.label, message)
        if key in self._reported:
            logger.debug("%s: %s (again)", self.label, message)
            return
        if len(self._reported) >= _REMEMBERED:
            self._reported.clear()
        self._reported.add(key)
        logger.warning("%s: %s", self.label, message)
