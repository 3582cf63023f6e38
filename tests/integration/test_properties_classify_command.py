"""``run.py classify`` as a subprocess on a large file of good and bad lines (issue 12, item 6).

The in-process property (tests/unit/test_properties_classifier.py) draws many small files; this runs the
command itself once on 600 lines with ``--workers 2`` (two chunks, classified in forked processes), the lines drawn by a
seeded generator from good records, bad records, text that is not JSON, bytes that are not UTF-8 and blank
lines: every bad line is named by its number on stderr (exit 1), every good one is written, in order.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
N_LINES = 600  # two chunks of run.py classify's 512 lines

GOOD: list[dict[str, Any]] = [
    {"id": "g", "text": "Signal jumping at Silk Board junction, no traffic police"},
    {"id": "g", "text": "", "platform": "x", "author": None},
    {"id": "g", "text": "🙏🙏🙏", "lat": 12.93, "lon": 77.62},
    {"id": "g", "text": "نحتاج مساعدة فورا"},
    {"id": "g", "text": "ಸಿಲ್ಕ್ ಬೋರ್ಡ್ ಬಳಿ ಟ್ರಾಫಿಕ್ ಜಾಮ್ " * 20},
    {"id": "g", "text": "\x00\x07 control", "referenced_authors": ["CMofKarnataka"]},
    {"id": "g", "text": "(" * 5_000},
]
BAD = [
    b'{"text": "no id"}',
    b'{"id": true, "text": "x"}',
    b'{"id": "", "text": "x"}',
    b'{"id": "b", "text": 12}',
    b'{"id": "b", "text": "x", "lat": 91}',
    b'{"id": "b", "text": "x", "lat": "12.9", "lon": 77.6}',
    b'{"id": "b", "text": "x", "author": ["a"]}',
    b"[1, 2, 3]",
    b"not json at all",
    b'{"id": "b", "text": "unterminated',
    b"{\xff\xfe}",
]


@pytest.mark.slow
def test_run_py_classify_names_every_bad_line_and_writes_every_good_one(tmp_path: Path) -> None:
    chooser = random.Random(12)  # a fixed file: the same lines in CI every run
    kinds: list[str] = []
    lines: list[bytes] = []
    for number in range(1, N_LINES + 1):
        kind = chooser.choices(["good", "bad", "blank"], weights=[8, 2, 1])[0]
        kinds.append(kind)
        if kind == "good":
            record = {**chooser.choice(GOOD), "id": f"p{number}"}
            line = json.dumps(record, ensure_ascii=False).encode()
            if chooser.random() < 0.05:  # a broken byte inside the text: read as U+FFFD, still a good line
                line = line.replace(b'"text": "', b'"text": "\xff', 1)
            lines.append(line)
        else:
            lines.append(chooser.choice(BAD) if kind == "bad" else b"   ")
    source, output = tmp_path / "posts.jsonl", tmp_path / "out.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    done = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "classify", "--input", str(source), "--output", str(output), "--workers", "2"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert done.returncode == 1, done.stderr[-2_000:]
    named = [int(line.split()[1].rstrip(":")) for line in done.stderr.splitlines() if line.startswith("line ")]
    assert named == [n for n, kind in enumerate(kinds, 1) if kind == "bad"]
    written = [json.loads(line)["id"] for line in output.read_text(encoding="utf-8").split("\n") if line]
    assert written == [f"p{n}" for n, kind in enumerate(kinds, 1) if kind == "good"]
    n_good = kinds.count("good")
    assert f"classified {n_good} of {n_good + kinds.count('bad')} posts" in done.stderr
