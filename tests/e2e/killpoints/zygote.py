"""The bot processes of the kill matrix, forked from one that has loaded the slow parts once.

``python -m tests.e2e.killpoints.zygote CONFIG`` imports the bot, loads the city and the classifier for the
deployment in CONFIG and the gazetteer (about 15 s here), prints ``ready`` and then reads one job per line on stdin (the JSON of
:class:`~tests.e2e.killpoints.child.Job`). For each it forks a bot process, which builds everything else
afresh (settings, engine, migrations, platforms, stages; no connection or thread is inherited: none is open
here), and answers one JSON line when that process has ended: ``{"pid", "killed", "code"}``. A killed bot is
killed for real (SIGKILL from itself); the next job is a new process on the same database and sandbox.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path

import assembly.build
from assembly.city import load_city
from assembly.relocate import make_relocate
from assembly.settings import load_settings
from tests.e2e.killpoints.child import Job, live


def preload(config: Path) -> None:
    settings = load_settings(config, os.environ)
    city = load_city(settings, os.environ)
    classifier = assembly.build.load_classifier(settings, city[0])
    relocate = make_relocate(settings.city_dir, city[0])  # the gazetteer: seconds to load
    vars(assembly.build).update(  # the names build() calls, answered from what is loaded here
        load_city=lambda settings, environ: city,
        load_classifier=lambda settings, jurisdictions: classifier,
        make_relocate=lambda city_dir, jurisdictions: relocate,
    )


def serve() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        job = Job.from_json(json.loads(line))
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = live(job)
            finally:
                if sys.exc_info()[0] is not None:
                    traceback.print_exc()  # into the bot's log: its stderr
                os._exit(code)  # never back into this loop, nor any atexit of the parent's
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        print(json.dumps({"pid": pid, "killed": killed, "code": exit_code}), flush=True)  # noqa: T201 (the protocol)


if __name__ == "__main__":
    preload(Path(sys.argv[1]))
    print("ready", flush=True)  # noqa: T201 (the protocol)
    serve()
