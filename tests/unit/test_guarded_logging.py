"""``guarded`` logs a failing job without flooding: the traceback once, then one line at the 2nd, 4th,
8th... repeat of the same error, and a line when the job works again (a database down for an hour under
ten lanes would otherwise write millions of lines)."""

from __future__ import annotations

import logging

import pytest

from monitor.loop import guarded


class Flaky:
    def __init__(self) -> None:
        self.error: Exception | None = None
        self.told = 0

    def __call__(self) -> str:
        if self.error is not None:
            raise self.error
        return "ok"

    def tell(self, exc: Exception) -> None:
        self.told += 1


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, bool, str]]:
    found = [(r.levelno, r.exc_info is not None, r.getMessage()) for r in caplog.records if r.name == "monitor.loop"]
    caplog.clear()
    return found


def test_the_same_error_is_logged_whole_once_then_sparsely_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="monitor.loop")
    job = Flaky()
    run = guarded("route", job, job.tell)
    job.error = ConnectionError("server closed the connection unexpectedly")
    assert [run() for _ in range(20)] == [None] * 20
    lines = _lines(caplog)
    assert job.told == 20  # the failure is still recorded every time
    assert [(level, has_traceback) for level, has_traceback, _ in lines] == [(logging.ERROR, True)] + [
        (logging.ERROR, False)
    ] * 4
    assert [message.split(", ")[1].split(" times")[0] for _, _, message in lines[1:]] == ["2", "4", "8", "16"]
    assert "ConnectionError: server closed the connection unexpectedly" in lines[-1][2]
    job.error = None
    assert run() == "ok" and run() == "ok"
    assert _lines(caplog) == [(logging.INFO, False, "job route works again after 20 failure(s)")]


def test_another_error_gets_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    job = Flaky()
    run = guarded("notify", job)
    job.error = ConnectionError("refused")
    run(), run()
    job.error = ValueError("a different problem")
    run()
    assert [has_traceback for _, has_traceback, _ in _lines(caplog)] == [True, False, True]


def test_a_failing_failure_record_is_not_a_flood_either(caplog: pytest.LogCaptureFixture) -> None:
    job = Flaky()

    def broken_record(exc: Exception) -> None:
        raise ConnectionError("the database is down too")

    run = guarded("classify", job, broken_record)
    job.error = ConnectionError("the database is down")
    for _ in range(8):
        run()
    records = [(has_traceback, message.startswith("recording")) for _, has_traceback, message in _lines(caplog)]
    assert records.count((True, True)) == 1 and len(records) == 2 * 4  # at the 1st, 2nd, 4th and 8th failures
