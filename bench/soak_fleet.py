"""The soak's bot processes: ``run.py bot`` in slots, started, killed with SIGKILL and restarted, each
slot's peak RSS sampled with psutil (the ``bench`` extra; without it RSS is not measured)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
READY = "bot running"


def _psutil() -> Any:
    try:
        import psutil
    except ImportError:
        return None
    return psutil


class Fleet:
    """``n`` bot processes on one config; logs in ``folder``, one per slot and start."""

    def __init__(self, n: int, config: Path, environ: Mapping[str, str], folder: Path) -> None:
        self.config = config
        self.environ = dict(environ)
        self.folder = folder
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * n
        self.logs: list[Path] = [folder / f"bot{slot}.log" for slot in range(n)]
        self.starts = [0] * n
        self.peak_rss_mb = [0.0] * n
        self._cpu_s: dict[int, tuple[int, float]] = {}  # pid -> slot, CPU seconds last seen
        self.kills: list[tuple[int, float, float]] = []  # slot, killed (monotonic), ready again (monotonic)
        self._stop = threading.Event()
        self._psutil = _psutil()
        self._sampler = threading.Thread(target=self._sample, name="soak-rss", daemon=True)

    @property
    def measures_rss(self) -> bool:
        return self._psutil is not None

    def start(self, timeout_s: float = 300.0) -> None:
        for slot in range(len(self.procs)):
            self._spawn(slot)
        for slot in range(len(self.procs)):
            self._wait_ready(slot, timeout_s)
        self._sampler.start()

    def _spawn(self, slot: int) -> None:
        self.starts[slot] += 1
        log = self.folder / f"bot{slot}.{self.starts[slot]}.log"
        self.logs[slot] = log
        with log.open("wb") as stderr:  # a file: a killed process never leaves a pipe undrained
            self.procs[slot] = subprocess.Popen(
                [sys.executable, str(ROOT / "run.py"), "bot", "-c", str(self.config)],
                cwd=ROOT, env=self.environ, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)

    def _wait_ready(self, slot: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        proc, log = self.procs[slot], self.logs[slot]
        assert proc is not None
        while READY not in log.read_text(encoding="utf-8", errors="replace"):
            if proc.poll() is not None:
                raise RuntimeError(f"bot {slot} exited ({proc.returncode}): {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"bot {slot} not running after {timeout_s:.0f} s: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    def kill_and_restart(self, slot: int) -> float:
        """SIGKILL the slot's process, start a new one and wait until it runs; returns the seconds it took."""
        proc = self.procs[slot]
        assert proc is not None
        killed = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        self._spawn(slot)
        self._wait_ready(slot, 300.0)
        self.kills.append((slot, killed, time.monotonic()))
        return time.monotonic() - killed

    def alive(self) -> int:
        return sum(1 for p in self.procs if p is not None and p.poll() is None)

    def stop(self) -> None:
        """SIGTERM every bot and wait for it (SIGKILL after 60 s); calling it again does nothing more."""
        self._stop.set()
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            if proc is None:
                continue
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                logger.warning("bot %d ignored SIGTERM for 60 s: killed", proc.pid)
                proc.kill()
                proc.wait(timeout=30)
        if self._sampler.is_alive():
            self._sampler.join(timeout=5)

    def _sample(self) -> None:
        if self._psutil is None:
            return
        while not self._stop.wait(0.5):
            for slot, proc in enumerate(self.procs):
                if proc is None or proc.poll() is not None:
                    continue
                try:
                    process = self._psutil.Process(proc.pid)
                    rss, times = process.memory_info().rss, process.cpu_times()
                except (self._psutil.NoSuchProcess, self._psutil.AccessDenied):
                    continue  # killed between the poll and the read
                self.peak_rss_mb[slot] = max(self.peak_rss_mb[slot], rss / 2**20)
                self._cpu_s[proc.pid] = (slot, times.user + times.system)

    def cpu_s(self) -> list[float]:
        """CPU seconds per slot, every process it ran summed (as last sampled)."""
        total = [0.0] * len(self.procs)
        for slot, seconds in self._cpu_s.values():
            total[slot] += seconds
        return total


def environment(token_env: str, redirect_url: str) -> dict[str, str]:
    return {**os.environ, token_env: "soak-sandbox-token", "NOTIFY_REDIRECT_URL": redirect_url}
