"""The one kind of error a command shows at start-up: a clear message, exit 2, no traceback."""

from __future__ import annotations

from collections.abc import Sequence


class StartupError(RuntimeError):
    """The process cannot start: bad config, bad data, an unreachable or unsupported database.

    ``problems`` lists every reason found; the message names where they were found."""

    def __init__(self, where: str, problems: Sequence[str]) -> None:
        self.where = where
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{where}: {len(self.problems)} problem(s):\n{lines}" if len(self.problems) != 1 else f"{where}: {self.problems[0]}")
