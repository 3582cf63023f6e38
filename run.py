"""The command line: demo, bot, classify, train, eval, cases, case, check-config, purge.

Logging is configured here and only here. tweepy logs request headers (the bearer token) at DEBUG,
so the HTTP clients' loggers stay at WARNING unless ``LOG_HTTP_DEBUG=1`` comes with ``--verbose``; either
way every line passes :mod:`assembly.log_redaction`, which masks the secrets. Every start-up problem
(config, data, database) is one clear message and exit 2 (:func:`startup`); a traceback only with ``--verbose``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy.engine import Engine

from assembly import log_redaction
from assembly.case_cli import case_app
from assembly.corrections_cli import corrections_app
from assembly.errors import StartupError
from assembly.settings import Settings, load_settings
from dashboard.cli import user_app
from models.db import safe_url

if TYPE_CHECKING:  # the model loads only in the commands that classify
    from classifiers.pipeline import Classifier

ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = ROOT / "config.toml"
logger = logging.getLogger("run")
app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
app.add_typer(case_app, name="case", help="act on one case: ack, act, close, reopen, reassign, merge, reject")
app.add_typer(corrections_app, name="corrections", help="the desk's corrections: export them for run.py train")


def _user_engine(config: Path | None) -> Engine:
    """The deployment's database, for ``run.py user ...`` (dashboard accounts)."""
    from assembly.database import open_database

    with startup():
        return open_database(_settings(config or DEFAULT_CONFIG, need_platform_secrets=False).database_url)


app.add_typer(user_app, name="user", context_settings={"obj": _user_engine}, help="dashboard accounts: add, list, disable, ...")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="the deployment's TOML file")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="log at DEBUG (the HTTP clients too with LOG_HTTP_DEBUG=1; secrets masked)")]


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # LOG_HTTP_DEBUG=1 with --verbose: the HTTP clients' own DEBUG lines too (URLs, headers), secrets masked
    http_debug = verbose and os.environ.get("LOG_HTTP_DEBUG") == "1"
    for noisy in ("tweepy", "pyfacebook", "urllib3", "requests_oauthlib", "oauthlib", "httpx", "apprise"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if http_debug else logging.WARNING)
    for quiet in ("alembic", "sentence_transformers", "transformers"):
        logging.getLogger(quiet).setLevel(logging.WARNING)
    log_redaction.install(os.environ)  # whatever logs it, a secret is masked


@contextmanager
def startup(verbose: bool = False) -> Iterator[None]:
    """The one root for start-up errors: print the message, exit 2 (the traceback too with ``--verbose``)."""
    try:
        yield
    except StartupError as exc:
        if verbose:
            traceback.print_exc()
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _settings(config: Path, *, need_platform_secrets: bool = True) -> Settings:
    settings = load_settings(config, dict(os.environ), need_platform_secrets=need_platform_secrets)
    log_redaction.protect(log_redaction.secrets_of(settings))  # whatever their variables are called
    return settings


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        logger.info("received %s, finishing the current step and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


@app.command("check-config")
def check_config(config: ConfigOption = DEFAULT_CONFIG, verbose: VerboseOption = False) -> None:
    """Build everything the bot would (settings, secrets, people, rosters, stations, the classifier, the
    database's reachability) without starting anything; exit 0 means the bot will start."""
    configure_logging(verbose)
    from assembly.build import build

    with startup(verbose):
        settings = _settings(config)
        assembly = build(settings, os.environ, start=False)
    org = assembly.organisation
    typer.echo(
        f"{settings.deployment_name}: {len(settings.accounts)} account(s), {len(org.officers)} officers, "
        f"{len(assembly.jurisdictions.stations)} stations and offices, {len(assembly.cameras)} cameras, "
        f"database {safe_url(settings.database_url)}"
    )
    for account in settings.accounts:
        typer.echo(f"  {account.label}")


@app.command()
def bot(config: ConfigOption = DEFAULT_CONFIG, verbose: VerboseOption = False) -> None:
    """Run the bot unattended against the configured accounts until SIGTERM or Ctrl-C."""
    configure_logging(verbose)
    from assembly.build import build
    from monitor.loop import Bot

    with startup(verbose):
        settings = _settings(config)
        assembly = build(settings, os.environ)
    assert assembly.engine is not None  # built to start
    stop = _stop_on_signals()
    Bot(assembly.engine, assembly.accounts, assembly.stages, settings.polling).run_forever(stop)


@app.command()
def demo(
    once: Annotated[
        bool, typer.Option("--once", help="run the scenario through every stage, print JSON, exit")
    ] = False,
    scenario: Annotated[Path | None, typer.Option("--scenario", help="JSONL scenario replacing the built-in")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", help="default: var/demo.db")] = None,
    notifications: Annotated[
        Path | None,
        typer.Option("--notifications", help="JSONL file of the officer notifications (default: var/demo-notifications.jsonl)"),
    ] = None,
    replies: Annotated[
        Path | None,
        typer.Option("--replies", help="JSONL file of what the sandbox was sent (default: var/demo-replies.jsonl)"),
    ] = None,
    followup_hours: Annotated[
        float,
        typer.Option("--followup-hours", min=0, help="--once: simulated hours of officers acting afterwards (0: none)"),
    ] = 72.0,
    config: ConfigOption = DEFAULT_CONFIG,
    verbose: VerboseOption = False,
) -> None:
    """Start the sandbox platforms and the bot on the sample deployment (SQLite by default)."""
    configure_logging(verbose)
    from assembly.demo import run_demo

    with startup(verbose):
        summary = run_demo(
            config,
            environ=dict(os.environ),
            once=once,
            scenario=scenario,
            database_url=database_url,
            stop=None if once else _stop_on_signals(),
            notifications=notifications,
            replies=replies,
            followup_hours=followup_hours,
        )
    if once:
        typer.echo(json.dumps(summary, sort_keys=True))


@app.command()
def dashboard(
    host: Annotated[str | None, typer.Option(help="default: [dashboard] host")] = None,
    port: Annotated[int | None, typer.Option(help="default: [dashboard] port (8000)")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    verbose: VerboseOption = False,
) -> None:
    """Serve the dashboard (leaderboard, queue, triage, cases, health) on the deployment's database."""
    configure_logging(verbose)
    import uvicorn

    from assembly.city import load_city
    from assembly.dashboard_app import make_dashboard
    from assembly.database import open_database
    from assembly.followup import make_case_actions, make_composer
    from assembly.relocate import make_relocate

    with startup(verbose):
        settings = _settings(config, need_platform_secrets=False)
        jurisdictions, organisation, _ = load_city(settings, os.environ)
        composer = make_composer(settings)
        engine = open_database(settings.database_url)
        relocate = make_relocate(settings.city_dir, jurisdictions)
        actions = make_case_actions(settings, engine, organisation, composer, relocate)
        web = make_dashboard(settings, engine, organisation, actions=actions, jurisdictions=jurisdictions)
    where = (host or settings.dashboard.host, port or settings.dashboard.port)
    logger.info("dashboard on http://%s:%d (database %s)", *where, safe_url(settings.database_url))
    uvicorn.run(web, host=where[0], port=where[1], proxy_headers=True, log_config=None)


@app.command()
def leaderboard(
    by: Annotated[str | None, typer.Option("--by", help="station (default), officer or area")] = None,
    since: Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD, the first day (default: 30 days ago)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="YYYY-MM-DD, the day after the last")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV, exactly what /leaderboard.csv serves")] = False,
    demo: Annotated[bool, typer.Option("--demo", help="read the demo's database (var/demo.db)")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="tally every day again (the page's day tallies), then exit")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """The commissioner's leaderboard rows for scripts: the same rows as the dashboard's page."""
    from datetime import UTC, datetime

    from assembly.city import load_city
    from assembly.dashboard_app import leaderboard_rules
    from assembly.dashboard_data import leaderboard_inputs
    from assembly.database import open_database
    from assembly.demo import demo_database_url
    from dashboard.leaderboard_cli import print_leaderboard, rebuild_tallies

    with startup():
        settings = _settings(config, need_platform_secrets=False)
        jurisdictions, organisation, _ = load_city(settings, os.environ)
        engine = open_database(demo_database_url(os.environ) if demo else settings.database_url)
    if rebuild:
        directory = leaderboard_inputs(organisation, jurisdictions)
        raise typer.Exit(rebuild_tallies(engine, directory=directory, tz=settings.tz, now=datetime.now(UTC)))
    code = print_leaderboard(
        engine,
        directory=leaderboard_inputs(organisation, jurisdictions),
        rules=leaderboard_rules(settings),
        tz=settings.tz,
        now=datetime.now(UTC),
        by=by,
        since=since,
        until=until,
        as_csv=as_csv,
    )
    raise typer.Exit(code)


@app.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count what would go, change nothing")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
    verbose: VerboseOption = False,
) -> None:
    """Remove what is past retention (config.toml's retention section): raw platform payloads, the personal
    data of long-finished cases, old sign-ins; cases, their numbers and their audit trail stay. Prints the
    rows changed per table."""
    configure_logging(verbose)
    from datetime import UTC, datetime

    from assembly.database import open_database
    from assembly.purge_cli import run_purge

    with startup(verbose):
        settings = _settings(config, need_platform_secrets=False)
        engine = open_database(settings.database_url)
    run_purge(engine, settings, now=datetime.now(UTC), dry_run=dry_run)


def _classifier(config: Path) -> Classifier:
    """The deployment's classifier with its city's stations (no platform secrets needed)."""
    from assembly.build import load_classifier
    from routing.jurisdictions import JurisdictionDataError, Jurisdictions

    settings = _settings(config, need_platform_secrets=False)
    try:
        jurisdictions = Jurisdictions.load(settings.city_dir)
    except JurisdictionDataError as exc:
        raise StartupError(f"city data in {settings.city_dir}", [str(exc)]) from exc
    return load_classifier(settings, jurisdictions)


@app.command()
def classify(
    input_path: Annotated[
        Path, typer.Option("--input", "-i", help="JSONL: id, text, optional platform, author, lat, lon")
    ],
    output_path: Annotated[
        Path, typer.Option("--output", "-o", help="JSONL: id, category, emergency, vip, place, station, confidence")
    ],
    config: ConfigOption = DEFAULT_CONFIG,
    workers: Annotated[
        int, typer.Option(help="processes classifying at once; 0: one per core (at most 4) for inputs of 1,000+ lines")
    ] = 0,
) -> None:
    """Classify posts from a file; bad lines are reported with their numbers (exit 1), the rest written."""
    configure_logging()
    from classifiers.batch import classify_jsonl

    if not input_path.is_file():
        typer.echo(f"no such input file: {input_path}", err=True)
        raise typer.Exit(2)
    if workers < 0:
        typer.echo("--workers must be 0 (automatic) or more", err=True)
        raise typer.Exit(2)
    if workers == 0:
        with input_path.open("rb") as handle:
            is_large = sum(1 for _ in handle) >= 1000
        workers = min(4, os.cpu_count() or 1) if is_large else 1
    with startup():
        classifier = _classifier(config)
    report = classify_jsonl(input_path, output_path, classifier, show_progress=sys.stderr.isatty(), workers=workers)
    typer.echo(report.format(), err=True)
    if not report.is_ok:
        raise typer.Exit(1)


@app.command()
def train(
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    output: Annotated[Path, typer.Option("--output", "-o", help="the new model's folder")] = (
        ROOT / "var" / "train"
    ),
    replace: Annotated[
        bool, typer.Option("--replace", help="install it even where it differs from the committed model")
    ] = False,
) -> None:
    """Rebuild the classifier from data/corpus and data/training (the held-out split is never trained on) into
    --output, and compare it with the committed one, which it replaces only with --replace. Exit 0: the
    committed model is the one just trained; 1: it differs and was left as it was; 2: refused (an input is
    missing, the output folder is unfit), nothing trained."""
    configure_logging()
    from assembly.build import ARTIFACTS_DIR
    from classifiers.retrain import retrain
    from classifiers.train import TrainingRefused

    try:
        outcome = retrain(ROOT / "data" / "corpus", ARTIFACTS_DIR, output, replace=replace, seed=seed)
    except TrainingRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(outcome.format())
    if not outcome.is_settled:
        raise typer.Exit(1)


@app.command("eval")
def evaluate(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Score the committed classifier on the real and the authored held-out splits, apart: macro-F1 and accuracy
    with bootstrap intervals, per class, per language or style, emergency and misconduct, calibration, desk share."""
    configure_logging()
    from classifiers.corpus import load_corpus, split_corpus
    from classifiers.evaluate import evaluate as evaluate_model
    from classifiers.evaluate import gazetteer_sweep
    from classifiers.real_corpus import RealCorpusError, assemble, load_real_posts

    with startup():
        settings = _settings(config, need_platform_secrets=False)
        classifier = _classifier(config)
        try:
            _, real_heldout = load_real_posts()
            _, agreement = assemble()
        except RealCorpusError as exc:
            raise StartupError("real corpus", [str(exc)]) from exc
    desk_below = settings.routing.policy.desk_below_confidence
    places_csv = ROOT / "data" / "bengaluru" / "places.csv"
    real = evaluate_model(classifier, real_heldout, places_csv=places_csv, desk_below=desk_below, title="REAL held-out posts")
    typer.echo(real.format())
    typer.echo(agreement.format())
    typer.echo("")
    authored = split_corpus(load_corpus(ROOT / "data" / "corpus")).heldout
    report = evaluate_model(classifier, authored, places_csv=places_csv, desk_below=desk_below, title="AUTHORED held-out posts")
    typer.echo(report.format())
    typer.echo("")
    typer.echo(gazetteer_sweep(classifier, places_csv).format())


@app.command()
def cases(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document: every case with its posts")] = False,
    status: Annotated[str | None, typer.Option("--status", help="only cases in this status")] = None,
    station: Annotated[str | None, typer.Option("--station", help="only cases of this station id")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="read the demo's database (var/demo.db)")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """List cases for the desk and for scripts (the deployment's database, or the demo's with --demo)."""
    from assembly.database import open_database
    from assembly.demo import demo_database_url
    from models.cases import list_cases
    from models.db import session_scope

    with startup():
        settings = _settings(config, need_platform_secrets=False)
        engine = open_database(demo_database_url(os.environ) if demo else settings.database_url)
    with session_scope(engine) as session:
        rows = list_cases(session, status=status, station=station)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for row in rows:
        marks = (("E", row["emergency"]), ("V", row["vip"]), ("M", row["misconduct"]))
        flags = "".join(f for f, on in marks if on) or "-"
        typer.echo(
            f"{row['docket'] or '#' + str(row['id']):>16}  {row['category']:<20} {flags:<3} "
            f"{(row['station'] or 'desk'):<28} {row['status']:<10} {_assignee(row['assignments']):<72} "
            f"{(row['posts'][0]['text'] if row['posts'] else '')[:70]!r}"
        )
    typer.echo(f"{len(rows)} case(s)", err=True)


def _assignee(assignments: list[dict[str, Any]]) -> str:
    """``BCP0123 Sub-Inspector @blr-traffic-adugodi (on_duty)``: who holds the case (the open assignment, else
    the latest: a reassigned case shows its new officer), as what, where, and the rule that chose them."""
    held = [a for a in assignments if a["role"] == "assignee"]
    lead = next((a for a in held if a["status"] == "open"), held[-1] if held else None)
    if lead is None:
        return "-"
    rank = f" {lead['rank']}" if lead["rank"] else ""
    return f"{lead['officer_id']}{rank} @{lead['unit']} ({lead['rule']})"


if __name__ == "__main__":
    app()
