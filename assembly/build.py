"""The composition root: ``build(settings, environ)`` puts the bot together, once, for every command.

The jurisdictions are loaded once and handed to both the place finder and the organisation; the
organisation is handed to routing and, as a directory of addresses, to notify; the platforms and the
stages are built here and nowhere else. ``bot``, ``demo`` and ``check-config`` all call it; with
``start=False`` nothing is started or written (no schema migration), so ``check-config`` finds every
problem the bot would meet at start-up: people, roster, camera and jurisdiction data included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock
from sqlalchemy.engine import Engine

from assembly.city import load_city
from assembly.database import check_database, open_database
from assembly.errors import StartupError
from assembly.followup import Followup, make_followup
from assembly.relocate import make_relocate
from assembly.settings import Settings
from assembly.single import hold_single_bot
from models.stage import Clock, Stage, utc_now
from models.taxonomy import Layer
from monitor.loop import PolledAccount, make_platform, register_accounts
from monitor.platform import Platform
from routing.cameras import Camera
from routing.jurisdictions import Jurisdictions
from routing.people import Organisation

if TYPE_CHECKING:  # the model (and torch) load only in the commands that classify
    from classifiers.pipeline import Classifier

logger = logging.getLogger(__name__)
ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "classifiers" / "artifacts"


@dataclass(frozen=True)
class Assembly:
    """What a bot process runs on."""

    settings: Settings
    engine: Engine | None  # None when built with start=False
    jurisdictions: Jurisdictions
    organisation: Organisation
    cameras: tuple[Camera, ...]
    classifier: Classifier
    platforms: tuple[Platform, ...]
    stages: tuple[Stage, ...]
    accounts: tuple[PolledAccount, ...] = ()  # the platforms with their account rows (empty without a database)
    followup: Followup | None = None
    lock: FileLock | None = None  # this process is the only bot on its SQLite file while it holds this

    def close(self) -> None:
        """Dispose of the engine and let another bot take the database."""
        if self.engine is not None:
            self.engine.dispose()
        if self.lock is not None:
            self.lock.release()


def load_classifier(settings: Settings, jurisdictions: Jurisdictions | None) -> Classifier:
    from classifiers.flags import VipList
    from classifiers.pipeline import Classifier

    if not (ARTIFACTS_DIR / "manifest.json").is_file():
        raise StartupError("classifier", [f"no trained model in {ARTIFACTS_DIR} (run.py train builds it)"])
    vip = VipList(handles=settings.vip_handles, page_ids=settings.vip_page_ids)
    return Classifier.load(ARTIFACTS_DIR, settings.city_dir, vip, stations=jurisdictions)


def build(settings: Settings, environ: Mapping[str, str], *, start: bool = True, clock: Clock = utc_now) -> Assembly:
    """Everything a bot process needs, from checked settings. ``start``: open and migrate the database;
    without it the database is only checked to answer. Raises StartupError."""
    if not settings.has_platform_secrets:
        raise StartupError("config", ["the settings were loaded without platform secrets: no platform can be built"])
    jurisdictions, organisation, cameras = load_city(settings, environ)
    classifier = load_classifier(settings, jurisdictions)
    if not start:
        check_database(settings.database_url)
        return _assemble(settings, None, None, jurisdictions, organisation, cameras, classifier, clock)
    lock = hold_single_bot(settings.database_url)  # a second bot on one SQLite file is refused here
    try:
        engine = open_database(settings.database_url)
        return _assemble(settings, engine, lock, jurisdictions, organisation, cameras, classifier, clock)
    except BaseException:
        if lock is not None:
            lock.release()
        raise


def _assemble(
    settings: Settings,
    engine: Engine | None,
    lock: FileLock | None,
    jurisdictions: Jurisdictions,
    organisation: Organisation,
    cameras: tuple[Camera, ...],
    classifier: Classifier,
    clock: Clock,
) -> Assembly:
    platforms = tuple(make_platform(account, settings.polling, clock) for account in settings.accounts)
    accounts = tuple(register_accounts(engine, platforms)) if engine is not None else ()
    relocate = make_relocate(settings.city_dir, jurisdictions) if engine is not None else None  # the desk's corrections
    followup = make_followup(settings, engine, organisation, {a.account_id: a.platform for a in accounts}, relocate)
    first, notify = make_stages(settings, classifier, organisation, cameras, jurisdictions)
    tally = make_tally(settings, organisation, jurisdictions)
    return Assembly(
        settings,
        engine,
        jurisdictions,
        organisation,
        cameras,
        classifier,
        platforms,
        (*first, *followup.stages, tally, notify),  # notify last: what the tracker wrote goes out in the same cycle
        accounts,
        followup,
        lock,
    )


def make_tally(settings: Settings, organisation: Organisation, jurisdictions: Jurisdictions) -> Stage:
    """The leaderboard's day tallies, kept up to date after the tracker's stages (see dashboard.leaderboard_refresh)."""
    from assembly.dashboard_data import leaderboard_inputs
    from dashboard.leaderboard_refresh import TallyRefresher

    return TallyRefresher(leaderboard_inputs(organisation, jurisdictions), settings.tz)


def signed_links(settings: Settings, clock: Clock = utc_now) -> Callable[[str, str], str] | None:
    """docket, officer → a one-use signed link to the case for the officer's message (no password needed);
    None without the dashboard's secret (messages then carry the plain case address)."""
    from dashboard.links import link_for

    key, base_url = settings.dashboard.secret_key, settings.notify.dashboard_base_url
    if key is None:
        return None
    return lambda docket, officer_id: link_for(key, base_url, docket, officer_id, now=clock())


def make_stages(
    settings: Settings,
    classifier: Classifier,
    organisation: Organisation,
    cameras: tuple[Camera, ...],
    jurisdictions: Jurisdictions,
) -> tuple[tuple[Stage, ...], Stage]:
    """(classify → route, notify), each given only what it needs; the tracker's stages go between."""
    from classifiers.filing import IncidentPolicy
    from classifiers.pipeline import PostInput
    from classifiers.stage import ClassifyStage
    from notify.stage import NotifyStage
    from routing.stage import RouteStage, RoutingContext

    r = settings.routing
    context = RoutingContext(
        organisation,
        r.policy,
        cameras,
        settings.docket_prefix,
        settings.notify.dashboard_base_url,
        r.camera_radius_m,
        r.max_cameras,
        r.batch_size,
        # an emergency filed under a category no station acts on goes to the station of its place
        place_station=partial(jurisdictions.station_at, layer=Layer.LAW_ORDER),
        case_link=signed_links(settings),
    )
    logger.info(
        "routing: %d officers, %d cameras, desk %s", len(organisation.officers), len(cameras), organisation.desk_unit
    )
    incidents = IncidentPolicy.from_mapping(settings.followup.incidents)  # checked with the settings
    classify = ClassifyStage(classifier, PostInput, incidents=incidents)
    return (classify, RouteStage(context)), NotifyStage(organisation, settings.notify)
