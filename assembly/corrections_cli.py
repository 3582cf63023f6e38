"""``run.py corrections export``: the desk's corrections out of the database into the file training reads.

Training reads files, never a database, so a model stays reproducible from a clone: a deployment exports its
corrections to ``data/real/corrections.jsonl`` and commits that file with the model trained on it. The
export merges: lines already in the file (from an earlier database) stay, a post corrected again gets the
desk's latest word, and the lines are written sorted by id, so the same corrections give the same bytes.
Exit 0 when written (or nothing to write), 2 on a start-up problem or a file that is not a corrections file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine

from assembly.errors import StartupError
from models.corrections import SOURCE, training_rows
from models.db import session_scope

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "data" / "real" / "corrections.jsonl"
corrections_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="The desk's corrections: export them for run.py train."
)


@dataclass(frozen=True)
class ExportReport:
    path: Path
    lines: int  # in the file now
    from_database: int  # corrected posts in the database
    added: int  # of those, not in the file before
    kept: int  # lines of the file the database does not hold (an earlier database's)

    def format(self) -> str:
        if not self.lines:
            return "no corrections yet: nothing written"
        return (
            f"{self.lines} corrected post(s) in {self.path}: {self.from_database} from the database "
            f"({self.added} new), {self.kept} kept from the file; run.py train trains on them (source {SOURCE})"
        )


def export_corrections(engine: Engine, output: Path) -> ExportReport:
    """Merge the database's corrections into ``output`` (one JSON line per corrected post, sorted by id);
    StartupError when ``output`` holds something else."""
    with session_scope(engine) as session:
        rows = training_rows(session)
    before = _read(output)
    fresh = {row["id"]: row for row in rows}
    merged = {**before, **fresh}
    report = ExportReport(
        output, len(merged), len(fresh), len(fresh.keys() - before.keys()), len(before.keys() - fresh.keys())
    )
    if merged:
        output.parent.mkdir(parents=True, exist_ok=True)
        partial = output.with_name(f".{output.name}.new")
        text = "".join(json.dumps(merged[key], ensure_ascii=False) + "\n" for key in sorted(merged))
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, output)  # a reader never sees half a file
    return report


def _read(path: Path) -> dict[str, Mapping[str, Any]]:
    if not path.is_file():
        return {}
    found: dict[str, Mapping[str, Any]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise StartupError(str(path), [f"line {number} is not JSON ({exc.msg}); nothing was written"]) from exc
        if not isinstance(row, dict) or row.get("source") != SOURCE or not isinstance(row.get("id"), str):
            raise StartupError(str(path), [f"line {number} is not a desk correction; nothing was written"])
        found[row["id"]] = row
    return found


@corrections_app.callback()
def corrections() -> None:
    """The desk's corrections: export them for run.py train."""


@corrections_app.command("export")
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="the JSONL file training reads")] = DEFAULT_OUTPUT,
    config: Annotated[Path, typer.Option("--config", "-c", help="the deployment's TOML file")] = ROOT / "config.toml",
    demo: Annotated[bool, typer.Option("--demo", help="export from the demo's database (var/demo.db)")] = False,
) -> None:
    """Write the desk's corrections to --output for run.py train (merged with what the file holds)."""
    from assembly.database import open_database
    from assembly.demo import demo_database_url
    from assembly.settings import load_settings

    try:
        if demo:
            url = demo_database_url(os.environ)
        else:
            url = load_settings(config, dict(os.environ), need_platform_secrets=False).database_url
        engine = open_database(url)
        try:
            report = export_corrections(engine, output)
        finally:
            engine.dispose()
    except StartupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(report.format())
