"""``run.py`` commands as real processes, forked from one that has imported the stack once.

Each ``python run.py ...`` spends seconds importing the stack (FastAPI, SQLAlchemy, spaCy, scikit-learn, ...)
and loading the classifier before it does what a test is about; the suite starts about seventy of them.
``python -m tests.runfork`` does that once: it imports ``run.py`` and the modules its commands import, loads
the classifier of the sample deployment (:func:`_memoised_classifier`), and then reads one JSON job per
line on stdin. For each it forks a process that becomes ``run.py ARGS``: its own working folder, environment
(exactly the job's), stdin, stdout and stderr (files), argv, exit code and signals, killed with SIGKILL for real.
It answers ``{"started": pid}``, and ``{"ended": pid, "status": ..., "cpu_s": ...}`` (``os.wait4``'s) when
that process ends; several may run at once. The forked process runs ``run.app()`` as ``python run.py`` runs it: nothing
of the zygote's is inherited but the imported modules (no thread, connection, logging handler or open file).
At its end it exits as the interpreter does (non-daemon threads joined, atexit run, files flushed) but skips
tearing down every object: with the zygote's heap shared copy-on-write, that teardown cost seconds of CPU.
A forked command costs 0.1-0.4 CPU-seconds where ``python run.py`` costs 4 (imports) to 9 (and the classifier).

:func:`run` and :class:`Forked` are the tests' side, shaped like ``subprocess.run`` and ``subprocess.Popen``.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from assembly.settings import Settings
    from classifiers.pipeline import Classifier
    from routing.jurisdictions import Jurisdictions

ROOT = Path(__file__).resolve().parent.parent
DEVNULL = subprocess.DEVNULL
PIPE = subprocess.PIPE
Output = int | str | Path | IO[Any] | None  # DEVNULL, PIPE (run only), a path, an open file (its path), None


# ---- the zygote --------------------------------------------------------------------------------------------


def _fingerprint(*folders: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file under the folders (name, size, mtime): a classifier loaded from them is valid while this is."""
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                stat = path.stat()
                found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def _memoised_classifier() -> None:
    """``assembly.build.load_classifier`` answered from the one loaded here for the sample deployment, when a
    process asks for the same: the same VIP lists and city folder, the same stations, the same files under the
    city folder and the model's folder. Anything else (another city folder, a retrained model, changed data)
    is loaded as before."""
    import assembly.build
    from assembly.city import load_city
    from assembly.settings import load_settings

    real = assembly.build.load_classifier
    environ = {"X_BLRCITYTRAFFIC_BEARER_TOKEN": "t", "X_BLRCITYPOLICE_BEARER_TOKEN": "t", "FB_BCP_PAGE_TOKEN": "t"}
    try:
        settings = load_settings(ROOT / "config.toml", environ)
        sample = load_city(settings, environ)[0]
        key = (settings.city_dir.resolve(), settings.vip_handles, settings.vip_page_ids)
        files = _fingerprint(settings.city_dir, assembly.build.ARTIFACTS_DIR)
        loaded = real(settings, sample)
    except Exception:  # noqa: BLE001 (then every process loads its own, and meets the same problem itself)
        return

    def load_classifier(settings: Settings, jurisdictions: Jurisdictions | None) -> Classifier:
        same = (settings.city_dir.resolve(), settings.vip_handles, settings.vip_page_ids) == key
        if same and jurisdictions is not None and dict(jurisdictions.stations) == dict(sample.stations):
            if _fingerprint(settings.city_dir, assembly.build.ARTIFACTS_DIR) == files:
                return loaded
        return real(settings, jurisdictions)

    assembly.build.load_classifier = load_classifier


def _preload() -> Any:
    import assembly.build  # noqa: F401
    import assembly.dashboard_app  # noqa: F401
    import assembly.demo  # noqa: F401
    import assembly.purge_cli  # noqa: F401
    import models.cases  # noqa: F401
    import monitor.loop  # noqa: F401
    import run  # noqa: F401 (run.py: the command line; its commands import the rest)

    _memoised_classifier()
    return run


def _become(job: Mapping[str, Any], run: Any, wakeup: tuple[int, int]) -> NoReturn:
    """In the forked process: take the job's folder, environment and files, and run ``run.py ARGS``."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in wakeup:
        os.close(fd)
    os.chdir(job["cwd"])
    os.environ.clear()
    os.environ.update(job["env"])
    opened: dict[tuple[str, str], int] = {}  # stdout and stderr to one file share one offset, as with Popen
    for fd, (path, mode) in enumerate((job["stdin"], job["stdout"], job["stderr"])):
        if (path, mode) not in opened:
            flags = os.O_RDONLY if mode == "r" else os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
            opened[(path, mode)] = os.open(path, flags, 0o644)
        os.dup2(opened[(path, mode)], fd)
    for handle in opened.values():
        if handle > 2:
            os.close(handle)
    sys.argv = [str(ROOT / "run.py"), *job["args"]]
    try:
        run.app(prog_name="run.py")
        code = 0
    except SystemExit as stop:  # what the interpreter makes of it
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)  # noqa: T201
            code = 1
    except BaseException:  # noqa: BLE001 (the traceback, as the interpreter prints it)
        sys.excepthook(*sys.exc_info())
        code = 1
    # the interpreter's exit without its last step: non-daemon threads joined, atexit run, files flushed; but not
    # the teardown of every module and object (the zygote's whole heap: seconds of copy-on-write page faults)
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def serve() -> None:
    run = _preload()
    gc.freeze()  # what is loaded here stays out of the forked processes' collections: no copy-on-write for them
    wakeup = os.pipe()
    os.set_blocking(wakeup[1], False)
    signal.set_wakeup_fd(wakeup[1])
    signal.signal(signal.SIGCHLD, lambda *_: None)
    print(json.dumps({"ready": os.getpid()}), flush=True)  # noqa: T201 (the protocol)
    pending, open_stdin = b"", True
    children: set[int] = set()
    while open_stdin or children:
        readable, _, _ = select.select([0, wakeup[0]] if open_stdin else [wakeup[0]], [], [], 1.0)
        if wakeup[0] in readable:
            os.read(wakeup[0], 4096)
        for pid in list(children):
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                cpu_s = round(usage.ru_utime + usage.ru_stime, 2)
                print(json.dumps({"ended": pid, "status": status, "cpu_s": cpu_s}), flush=True)  # noqa: T201
        if 0 not in readable:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            open_stdin = False
            continue
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if not line.strip():
                continue
            job = json.loads(line)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _become(job, run, wakeup)  # never returns
            children.add(pid)
            print(json.dumps({"started": pid}), flush=True)  # noqa: T201


# ---- the tests' side ---------------------------------------------------------------------------------------


class _Zygote:
    def __init__(self, timeout_s: float = 300) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.runfork"], cwd=ROOT, stdin=PIPE, stdout=PIPE, text=True,
            start_new_session=True,  # its own process group: what it forked ends with it
        )
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._started: list[int] = []
        self._ended: dict[int, int] = {}
        self._alive = True
        assert self._process.stdout is not None
        self._ready = threading.Event()
        threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True).start()
        if not self._ready.wait(timeout_s):
            raise AssertionError(f"tests.runfork did not start in {timeout_s} s")
        if not self._alive:
            raise AssertionError(f"tests.runfork ended at start (code {self._process.wait()})")

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            message = json.loads(line)
            with self._changed:
                if "ready" in message:
                    self._ready.set()
                elif "started" in message:
                    self._started.append(int(message["started"]))
                elif "ended" in message:
                    self._ended[int(message["ended"])] = int(message["status"])
                self._changed.notify_all()
        with self._changed:
            self._alive = False
            self._changed.notify_all()
        self._ready.set()

    def start(self, job: Mapping[str, Any]) -> int:
        with self._lock, self._changed:
            assert self._process.stdin is not None and self._alive, "tests.runfork has ended"
            self._process.stdin.write(json.dumps(job) + "\n")
            self._process.stdin.flush()
            while not self._started:
                assert self._alive, "tests.runfork ended"
                self._changed.wait(1.0)
            return self._started.pop(0)

    def status(self, pid: int, timeout_s: float | None) -> int | None:
        """The wait status of ``pid`` once it has ended; None if it has not within ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._changed:
            while pid not in self._ended:
                if deadline is not None and time.monotonic() >= deadline:
                    return None
                assert self._alive, "tests.runfork ended"
                self._changed.wait(0.05 if deadline is None else max(0.0, min(0.05, deadline - time.monotonic())))
            return self._ended[pid]

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=30)


_zygote: _Zygote | None = None
_zygote_lock = threading.Lock()


def zygote() -> _Zygote:
    """The zygote of this test process, started on first use and ended at exit."""
    global _zygote
    with _zygote_lock:
        if _zygote is None:
            _zygote = _Zygote()
            atexit.register(_zygote.close)
        return _zygote


def _target(output: Output, scratch: list[Path], reading: bool = False) -> tuple[str, str]:
    if output is None or output == DEVNULL:
        return os.devnull, "r" if reading else "w"
    if output == PIPE:
        handle, scratch_name = tempfile.mkstemp(prefix="runfork-")
        os.close(handle)
        scratch.append(Path(scratch_name))
        return scratch_name, "w"
    if isinstance(output, (str, Path)):
        name = str(output)
    else:
        opened_as = getattr(output, "name", None)
        if isinstance(output, int) or not isinstance(opened_as, str):
            raise TypeError(f"cannot hand {output!r} to a forked process: give a path, DEVNULL or PIPE")
        output.flush()
        name = opened_as
        if "a" in getattr(output, "mode", "w"):
            return name, "a"
    if reading:
        return name, "r"
    Path(name).write_bytes(b"")  # there (and empty) once started, as a file opened for Popen is
    return name, "a"


class Forked:
    """``run.py ARGS`` forked from the zygote; what ``subprocess.Popen`` offers that the tests use."""

    def __init__(self, args: Sequence[str], *, cwd: str | Path = ROOT, env: Mapping[str, str] | None = None,
                 stdin: Output = None, stdout: Output = None, stderr: Output = None) -> None:
        self.args = list(args)
        self._scratch: list[Path] = []
        self._outputs = (_target(stdout, self._scratch), _target(stderr, self._scratch))
        job = {"args": self.args, "cwd": str(cwd), "env": dict(os.environ if env is None else env),
               "stdin": _target(stdin, [], reading=True), "stdout": self._outputs[0], "stderr": self._outputs[1]}
        self.pid = zygote().start(job)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            status = zygote().status(self.pid, 0)
            if status is not None:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            status = zygote().status(self.pid, timeout)
            if status is None:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def captured(self) -> tuple[str, str]:
        """What went to stdout and stderr when they were PIPE (else ""); the scratch files are removed."""
        texts = []
        for path, _ in self._outputs:
            scratch = Path(path)
            if scratch in self._scratch:
                texts.append(scratch.read_text(encoding="utf-8", errors="replace"))
                scratch.unlink(missing_ok=True)
            else:
                texts.append("")
        return texts[0], texts[1]


def run(args: Sequence[str], *, cwd: str | Path = ROOT, env: Mapping[str, str] | None = None,
        timeout: float | None = None, stdin: Output = None) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([python, run.py, *args], capture_output=True, text=True, ...)`` through the zygote."""
    forked = Forked(args, cwd=cwd, env=env, stdin=stdin, stdout=PIPE, stderr=PIPE)
    try:
        code = forked.wait(timeout)
    except subprocess.TimeoutExpired:
        forked.kill()
        forked.wait()
        raise
    stdout, stderr = forked.captured()
    return subprocess.CompletedProcess(forked.args, code, stdout, stderr)


if __name__ == "__main__":
    serve()
