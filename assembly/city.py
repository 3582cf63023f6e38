"""The sample city's data, loaded once and checked: station boundaries, people, rosters and cameras."""

from __future__ import annotations

from collections.abc import Mapping

from assembly.errors import StartupError
from assembly.settings import Settings
from routing.cameras import Camera, read_cameras
from routing.jurisdictions import JurisdictionDataError, Jurisdictions
from routing.people import Organisation, PeopleDataError, load_organisation


def load_city(settings: Settings, environ: Mapping[str, str]) -> tuple[Jurisdictions, Organisation, tuple[Camera, ...]]:
    """The city's stations and the people folder, checked against each other; StartupError listing every problem."""
    try:
        jurisdictions = Jurisdictions.load(settings.city_dir)
    except JurisdictionDataError as exc:
        raise StartupError(f"city data in {settings.city_dir}", [str(exc)]) from exc
    problems: list[str] = []
    people_dir = settings.routing.people_dir
    cameras: list[Camera] = []
    if (people_dir / "cameras.csv").is_file():
        cameras, more = read_cameras(people_dir / "cameras.csv")
        problems += more
    try:
        organisation = load_organisation(
            people_dir,
            jurisdictions.stations,
            desk_unit=settings.routing.desk_office,
            timezone=settings.timezone,
            environ=environ,  # officers' addresses may name environment variables
        )
    except PeopleDataError as exc:
        problems = exc.problems + problems
        organisation = None
    if problems or organisation is None:
        raise StartupError(f"people data in {people_dir}", problems)
    return jurisdictions, organisation, tuple(cameras)
