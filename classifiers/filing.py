"""Which case a newly classified post joins. Pure: the classify stage looks the candidate cases up.

- **The citizen's next post.** By the same author, it continues a case when it replies to one of the
  case's posts or to the bot's reply in that case; elsewhere in the same conversation (a second comment
  under the same Facebook page post) only when it is about the same matter: the same category, the same
  place, or chatter about the case (thanks, a question, ``other``). Anything else there (another police
  category at another place, a referral) opens a case of its own. A merged case hands the post to the case it was
  merged into; a rejected one never takes it (the post opens a case of its own).
- **One incident, many reporters.** A post that opens no thread of its own, in a category a station acts
  on, about the same place (within ``radius_m`` or the same named place) as an open case of that category
  opened within the category's window by somebody else, joins that case. A misconduct report never does,
  nor does any case that accuses the police: an accusation is personal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from types import MappingProxyType

from sklearn.metrics.pairwise import haversine_distances

from models.lifecycle import OPEN, Status
from models.taxonomy import Category, layer_for

EARTH_RADIUS_M = 6_371_008.8  # mean radius, as routing's camera distances use
DEFAULT_RADIUS_M = 250.0
CHATTER = frozenset({Category.APPRECIATION, Category.INFORMATION_REQUEST, Category.OTHER})
MAX_RADIUS_M = 5_000.0
MAX_WINDOW_H = 24.0 * 90

# Hours within which another reporter's post about the same place joins an open case, per category a station
# acts on (from the case's first post). 0: never; each report stays the reporter's own case, because two
# reporters there are usually two victims (two snatched phones are two FIRs) or the place says little.
DEFAULT_WINDOWS_H: Mapping[str, float] = MappingProxyType(
    {
        Category.TRAFFIC_VIOLATION.value: 4.0,  # a truck double-parked all morning
        Category.TRAFFIC_CONGESTION.value: 3.0,  # one jam
        Category.ROAD_ACCIDENT.value: 6.0,  # one crash, until the road is cleared
        Category.ROAD_INFRASTRUCTURE.value: 7 * 24.0,  # a pothole, a dead signal, waterlogging
        Category.VIOLENCE.value: 3.0,  # a fight or a riot seen by many
        Category.PUBLIC_NUISANCE.value: 12.0,  # a night of loud music
        Category.THEFT.value: 0.0,
        Category.CYBERCRIME.value: 0.0,
        Category.WOMEN_SAFETY.value: 0.0,
        Category.MISSING_PERSON.value: 0.0,
    }
)
# Categories that may never join an incident, whatever the configuration.
_NEVER_INCIDENT = frozenset({Category.OFFICER_MISCONDUCT})


class JoinedAs(StrEnum):
    FIRST = "first"  # opened its case
    FOLLOWUP = "followup"  # the citizen's next post in the thread
    INCIDENT = "incident"  # another reporter of the same incident


class Match(IntEnum):
    """How a post continues a case of its thread; lower is stronger."""

    REPLY = 0
    SAME_CATEGORY = 1
    SAME_PLACE = 2
    CHATTER = 3


@dataclass(frozen=True)
class Place:
    name: str | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def has_point(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def is_known(self) -> bool:
        return self.has_point or bool(self.key)

    @property
    def key(self) -> str:
        return " ".join((self.name or "").split()).casefold()


NOWHERE = Place()


@dataclass(frozen=True)
class NewPost:
    """The post being filed, with its own classification. ``author`` is ``platform:id`` (None: unknown)."""

    external_id: str
    author: str | None
    created_at: datetime
    category: Category
    place: Place = NOWHERE
    in_reply_to_id: str | None = None
    conversation_id: str | None = None
    is_misconduct: bool = False


@dataclass(frozen=True)
class CasePost:
    external_id: str
    author: str | None
    created_at: datetime
    conversation_id: str | None = None
    category: str | None = None  # the post's own category


@dataclass(frozen=True)
class Case:
    id: int
    category: str
    status: str
    posts: tuple[CasePost, ...]
    place: Place = NOWHERE
    is_misconduct: bool = False
    merged_into_id: int | None = None
    reply_ids: frozenset[str] = frozenset()  # platform ids of the bot's replies posted in this case

    @property
    def opened_at(self) -> datetime | None:
        return min((p.created_at for p in self.posts), default=None)

    @property
    def authors(self) -> frozenset[str]:
        return frozenset(p.author for p in self.posts if p.author is not None)

    @property
    def categories(self) -> frozenset[str]:
        return frozenset({self.category, *(p.category for p in self.posts if p.category)})


@dataclass(frozen=True)
class Filing:
    """Where the post goes: ``case_id`` None opens a new case."""

    joined_as: JoinedAs
    case_id: int | None = None
    reason: str = "new"  # reply / same_category / same_place / chatter / incident / new / new_matter
    distance_m: float | None = None  # incidents: from the case's place
    reporters: int | None = None  # incidents: how many people reported it, this post's author included
    beside_case_id: int | None = None  # a new matter in the thread of this case


class IncidentPolicyError(ValueError):
    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


def _default_windows() -> Mapping[str, float]:
    return DEFAULT_WINDOWS_H


@dataclass(frozen=True)
class IncidentPolicy:
    radius_m: float = DEFAULT_RADIUS_M
    windows_h: Mapping[str, float] = field(default_factory=_default_windows)

    def window(self, category: Category) -> timedelta | None:
        """How far apart in time two reports of ``category`` may be, None when it never joins an incident."""
        hours = self.windows_h.get(category.value, 0.0)
        if hours <= 0 or category in _NEVER_INCIDENT or layer_for(category) is None:
            return None
        return timedelta(hours=hours)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> IncidentPolicy:
        """From a config section: ``radius_m`` (metres) and ``windows_h`` (category → hours, 0 for never),
        each optional; a category left out keeps its default. Raises IncidentPolicyError, a ValueError
        naming every problem."""
        problems = [
            f"{key}: unknown setting (radius_m, windows_h)" for key in raw if key not in ("radius_m", "windows_h")
        ]
        radius_m = _number(raw.get("radius_m", DEFAULT_RADIUS_M))
        if radius_m is None or not 0 < radius_m <= MAX_RADIUS_M:
            problems.append(
                f"radius_m: must be metres above 0 and at most {MAX_RADIUS_M:.0f}, got {raw.get('radius_m')!r}"
            )
        windows = dict(DEFAULT_WINDOWS_H)
        given = raw.get("windows_h", {})
        if not isinstance(given, Mapping):
            problems.append(f"windows_h: must be a table of category = hours, got {given!r}")
            given = {}
        for name, value in given.items():
            where, hours = f"windows_h.{name}", _number(value)
            if name not in DEFAULT_WINDOWS_H:
                why = "never joins an incident" if name in {c.value for c in Category} else "unknown category"
                problems.append(f"{where}: {why} (the categories that may: {', '.join(DEFAULT_WINDOWS_H)})")
            elif hours is None or not 0 <= hours <= MAX_WINDOW_H:
                problems.append(f"{where}: must be hours from 0 (never) to {MAX_WINDOW_H:.0f}, got {value!r}")
            else:
                windows[str(name)] = hours
        if problems or radius_m is None:
            raise IncidentPolicyError(problems)
        return cls(radius_m, MappingProxyType(windows))


def _number(value: object) -> float | None:
    """A finite int or float (not a bool) as a float, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def distances_m(origin: Place, places: Sequence[Place]) -> list[float | None]:
    """Great-circle metres from ``origin`` to each place (one library call), None where either has no point."""
    found: list[float | None] = [None] * len(places)
    points = [(i, p.lat, p.lon) for i, p in enumerate(places) if p.lat is not None and p.lon is not None]
    if origin.lat is None or origin.lon is None or not points:
        return found
    radians = haversine_distances(
        [[math.radians(origin.lat), math.radians(origin.lon)]],
        [[math.radians(lat), math.radians(lon)] for _, lat, lon in points],
    )[0]
    for (i, _, _), angle in zip(points, radians, strict=True):
        found[i] = float(angle) * EARTH_RADIUS_M
    return found


def distance_m(a: Place, b: Place) -> float | None:
    return distances_m(a, [b])[0]


def same_place(a: Place, b: Place, radius_m: float, metres: float | None = None) -> float | None:
    """How far apart two mentions of one place are (0 for the same name without points), None when they are
    not one place. ``metres``: the distance when already known."""
    metres = distance_m(a, b) if metres is None else metres
    if metres is not None and metres <= radius_m:
        return metres
    if a.key and a.key == b.key:
        return 0.0 if metres is None else metres
    return None


def in_thread(post: NewPost, case: Case) -> bool | None:
    """Whether the post is the case's author writing again in the case's thread: True when it answers one of
    the case's posts or the bot's reply in it, False when it is only in the same conversation, None when
    it is neither (or by someone else)."""
    if post.author is None or post.author not in case.authors:
        return None
    replied_to = post.in_reply_to_id
    if replied_to and (replied_to in case.reply_ids or any(p.external_id == replied_to for p in case.posts)):
        return True
    keys = {k for k in (post.in_reply_to_id, post.conversation_id) if k}
    mine = [p for p in case.posts if p.author == post.author]
    if keys & ({p.external_id for p in mine} | {p.conversation_id for p in mine if p.conversation_id}):
        return False
    return None


def thread_match(post: NewPost, case: Case, radius_m: float) -> Match | None:
    """How ``post`` continues ``case`` of its thread, None when it does not (another author, another
    conversation, or another matter). An answer to one of the case's posts or to the bot's reply in it
    continues the case whatever it says: the citizen is talking to us about that case."""
    answers = in_thread(post, case)
    if answers is None:
        return None
    return Match.REPLY if answers else _about_same(post, case, radius_m)


def _about_same(post: NewPost, case: Case, radius_m: float) -> Match | None:
    if post.category.value in case.categories:
        return Match.SAME_CATEGORY
    if same_place(post.place, case.place, radius_m) is not None:
        return Match.SAME_PLACE
    if post.category in CHATTER:
        return Match.CHATTER
    return None


def follow_merges(case: Case, cases: Mapping[int, Case]) -> Case | None:
    """The case that takes posts meant for ``case``: the one it was merged into (and so on); None when that
    is rejected or not known (the post then opens a case of its own)."""
    seen: set[int] = set()
    while case.status == Status.MERGED:
        if case.merged_into_id is None or case.merged_into_id in seen or case.merged_into_id not in cases:
            return None
        seen.add(case.id)
        case = cases[case.merged_into_id]
    return None if case.status == Status.REJECTED else case


def _last_post_at(case: Case, author: str | None) -> datetime | None:
    """When ``author`` last wrote in ``case``; None when they never did."""
    return max((p.created_at for p in case.posts if author is not None and p.author == author), default=None)


def continued_case(
    post: NewPost, thread: Iterable[Case], cases: Mapping[int, Case], radius_m: float
) -> tuple[Match, Case] | None:
    """The case of its thread that the post continues (after merges): the strongest match, then the case
    the author wrote in last."""
    found: list[tuple[Match, float, int, Case]] = []
    for case in thread:
        match = thread_match(post, case, radius_m)
        target = follow_merges(case, cases) if match is not None else None
        last = _last_post_at(case, post.author)
        if match is not None and target is not None and last is not None:
            found.append((match, -last.timestamp(), case.id, target))
    if not found:
        return None
    match, _, _, target = min(found, key=lambda f: f[:3])
    return match, target


def incident_case(post: NewPost, candidates: Iterable[Case], policy: IncidentPolicy) -> tuple[Case, float] | None:
    """The open case of another reporter about the same incident: the nearest, then the earliest opened."""
    window = policy.window(post.category)
    if window is None or post.is_misconduct or not post.place.is_known:
        return None
    eligible = [
        (case, opened_at)
        for case in candidates
        if (opened_at := case.opened_at) is not None
        and case.category == post.category.value
        and case.status in OPEN
        and not case.is_misconduct
        and abs(post.created_at - opened_at) <= window
        and (post.author is None or post.author not in case.authors)
    ]
    found: list[tuple[float, datetime, int, Case]] = []
    for (case, opened_at), metres in zip(
        eligible, distances_m(post.place, [c.place for c, _ in eligible]), strict=True
    ):
        same = same_place(post.place, case.place, policy.radius_m, metres)
        if same is not None:
            found.append((same, opened_at, case.id, case))
    if not found:
        return None
    metres, _, _, case = min(found, key=lambda f: f[:3])
    return case, metres


def reporters(case: Case, post: NewPost | None = None) -> int:
    """How many people reported the case (each post of an unknown author counts as one), with ``post``."""
    posts = [*case.posts, *([CasePost(post.external_id, post.author, post.created_at)] if post else [])]
    return len({p.author for p in posts if p.author is not None}) + sum(1 for p in posts if p.author is None)


def file_post(
    post: NewPost,
    *,
    thread: Sequence[Case] = (),
    nearby: Sequence[Case] = (),
    cases: Mapping[int, Case] | None = None,
    radius_m: float = DEFAULT_RADIUS_M,
    incidents: IncidentPolicy | None = None,
) -> Filing:
    """Where ``post`` goes. ``thread``: the cases the author wrote in within this thread, or whose post or
    bot reply this post answers; ``nearby``: candidate incidents; ``cases``: the cases they were merged into.
    ``incidents`` None: no incident joining."""
    known = {c.id: c for c in (*thread, *nearby)} | dict(cases or {})
    continued = continued_case(post, thread, known, radius_m)
    if continued is not None:
        match, case = continued
        return Filing(JoinedAs.FOLLOWUP, case.id, match.name.lower())
    written_in = [
        (_last_post_at(c, post.author) or post.created_at, c.id) for c in thread if in_thread(post, c) is not None
    ]
    beside_id = max(written_in)[1] if written_in else None  # the case of this thread it is not part of
    if incidents is not None and (incident := incident_case(post, nearby, incidents)) is not None:
        case, metres = incident
        return Filing(JoinedAs.INCIDENT, case.id, "incident", round(metres, 1), reporters(case, post), beside_id)
    return Filing(JoinedAs.FIRST, None, "new_matter" if beside_id is not None else "new", beside_case_id=beside_id)
