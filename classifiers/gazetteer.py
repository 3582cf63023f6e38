"""The sample city's gazetteer: every way people write each known place, and the text normaliser
shared by the gazetteer and the posts it is matched against.

Sources, best first: ``aliases.csv`` (landmarks and nicknames a deployment curates), the
``places.csv`` names as written, variants generated from those names (parentheticals, "Ward"/"Jn"
suffixes, Kannada-English endings, block and phase forms), and station names.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from classifiers.stations import StationMap
from models.taxonomy import Layer

# Where one name is both a ward and a stop, the stop wins: it is a point inside the locality, while a
# 2022 ward's centroid can lie in the next station's area (Vijayanagar, Adugodi, Begur, Malleswaram).
KIND_RANK = {"bus_stop": 0, "ward": 1, "pincode_area": 2, "landmark": 3, "station_area": 4}
# A surface made only of these words names no particular place ("Church", "Bus Stand", "Water Tank").
GENERIC_WORDS = frozenset(
    """a an and the of opp near new old east west north south central city town village main cross road rd
    roads circle gate junction jn signal bridge flyover stop stops stand station bus railway rlwy metro depot
    post office church temple mandir masjid mosque market bazaar bazar hospital college school clinic nursing
    home colony apartment apartments layout nagar nagara park lake tank water petrol pump bunk police ps
    hotel bank complex bda block stage phase ward extn extension quarters qrts factory bengaluru bangalore
    blr karnataka india st no""".split()
)
# Ordinary English words found in the city's place names. A surface made only of these ("State Bank",
# "Hope Farm", "Indian Express") counts as a place only next to a location cue ("near", "signal"),
# unless a curated alias vouches for it ("Silk Board", "Tin Factory").
ENGLISH_WORDS = frozenset(
    """accounts aerodrome air airport and borewell apartment apartments apex area art avenue back bakery bamboo bank
    bazaar big biscuits block board bone bridge brigade bull bunk bus business camp center central centre
    check church circle city clinic club college colony command commercial complex convent corporation
    court crossing dairy defence dental depot diamond district dollars double east electric electronic
    electronics embassy end entrance escorts esteem exchange express extension factory farm feet field
    fighter forum freedom games garden gardens gate gateway golf govt grand ground grounds guest hall
    health hero high home honda honey hope hospital hotel house housing ideal income india indian
    industrial industries innovative institute intel international isolation junction labs lake layout
    level limited line link links living lot main majestic mall manor market metro mile military mill mini
    mono morgan museum national near new nexus nice nursing oasis of office old orion palace parade park
    parking passport petrol phase philips phoenix pillar pipe police polytechnic port post power prestige
    pump quality quarters residency road royal rural satellite school science side signal silk small soap
    sony south space spice square stadium staff stage stand state station statue stop stores street sub
    super syndicate systems tank tax teachers tech telecom telephone temple theater tin toll tower town
    training turning type university veterinary village ward water well west wheel white world yard zoo
    wipro accenture sap kia dell ibm cbi crpf esi drdo cghs isro iim bsnl sbi hsbc bwssb bbmp bpl tci srs
    kptcl bescom iti nes ib""".split()
)
# Aliases that are everyday words too: only next to a location cue ("near Forum", "HAL signal").
NEEDS_CUE = frozenset(
    ["forum", "orion", "phoenix", "hal", "kia", "etv", "mtp", "egl", "town hall", "high court", "nice road"]
)
_SUFFIX_WORDS = ("ward", "jn", "bus stop", "stop", "bus stand", "bus station", "ps", "police station")
_ENDING_SWAPS = (
    ("nagara", "nagar"),
    ("puram", "pur"),
    ("pura", "pur"),
    ("pura", "puram"),
    ("uru", "ur"),
    ("halli", "hally"),
    ("palya", "palaya"),
    ("pete", "pet"),
    ("bhavi", "bavi"),
    ("hebbala", "hebbal"),
)
_ABBREVIATIONS = {"ph": "phase", "bl": "block", "stg": "stage", "rd": "road", "ft": "feet", "jn": "junction"}
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufe0f\ufe0e'’`")  # dropped inside a word: "John's"
_INDIC_CHARS = "\u0900-\u097f\u0c80-\u0cff"
# What survives normalising: letters, digits, Indic marks, a decimal point, joiners inside a word.
_KEEP = re.compile(
    rf"(?:[^\W_]|[{_INDIC_CHARS}]|(?<=\d)\.(?=\d)|(?<=[^\W_]|[{_INDIC_CHARS}])['’`\u200b-\u200d\u2060\ufe0e\ufe0f]+)+"
)
_SPECIAL = re.compile(r"https?://\S+|www\.\S+|(?<![\w@])@\w+|#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)")
_INDIC = re.compile(r"[\u0900-\u097f\u0c80-\u0cff]")
_TRAILING_VOWEL_SIGNS = frozenset("\u0cc1\u0cc2\u0cbf\u0cc0\u0cc6\u0cc7\u093f\u0940\u0941\u0942")


class Source(IntEnum):
    """Where a surface came from; lower is more trustworthy."""

    ALIAS = 0
    NAME = 1
    VARIANT = 2
    STATION = 3


@dataclass(frozen=True)
class Place:
    name: str
    kind: str
    lat: float
    lon: float
    law_order_station: str | None
    traffic_station: str | None


@dataclass(frozen=True)
class Surface:
    """One way of writing a place, normalised (lower case, no punctuation)."""

    text: str
    place: Place
    source: Source
    needs_cue: bool
    is_vague: bool = False  # a long road pinned to one point of it

    @property
    def rank(self) -> tuple[int, int]:
        return (self.source, KIND_RANK.get(self.place.kind, 9))


def normalise(text: str) -> tuple[str, list[int]]:
    """Text ready for tokenising, and for each of its characters the index it came from in ``text``.

    Keeps runs of letters, digits and Indic marks, one space between runs; drops links, @handles,
    zero-width joiners and apostrophes inside words; turns punctuation, symbols and emoji into the
    separating space; opens hashtags ("#SilkBoard" → "Silk Board").
    """
    runs: list[tuple[int, int]] = []
    position = 0
    for match in _SPECIAL.finditer(text):
        runs += [m.span() for m in _KEEP.finditer(text, position, match.start())]
        if match.group(1):
            start = match.start(1)
            for piece in _CAMEL.split(match.group(1)):
                runs += [m.span() for m in _KEEP.finditer(text, start, start + len(piece))]
                start += len(piece)
        position = match.end()
    runs += [m.span() for m in _KEEP.finditer(text, position, len(text))]
    pieces: list[str] = []
    origin: list[int] = []
    for start, end in runs:
        if pieces:
            pieces.append(" ")
            origin.append(origin[-1] + 1)
        piece = text[start:end]
        if _ZERO_WIDTH.isdisjoint(piece):
            pieces.append(piece)
            origin.extend(range(start, end))
        else:
            kept = [i for i in range(start, end) if text[i] not in _ZERO_WIDTH]
            pieces.append("".join(text[i] for i in kept))
            origin.extend(kept)
    return "".join(pieces), origin


def simple_form(text: str) -> str:
    """Lower-case words separated by single spaces, as ``normalise`` leaves them."""
    return " ".join(normalise(text)[0].lower().split())


def compact(text: str) -> str:
    """The letters and digits alone: "K.R. Puram", "KR Puram" and "krpuram" meet here."""
    return "".join(c for c in text.lower() if c.isalnum() or unicodedata.category(c)[0] == "M")


def is_wordlike(word: str) -> bool:
    if word.isalnum():
        return True
    return bool(word) and not word.isascii() and all(c.isalnum() or unicodedata.category(c)[0] == "M" for c in word)


def is_indic(text: str) -> bool:
    return _INDIC.search(text) is not None


def indic_stem(word: str) -> str:
    """Kannada and Hindi names take case endings on the word itself (ಬೆಳ್ಳಂದೂರು → ಬೆಳ್ಳಂದೂರಿನಲ್ಲಿ):
    the part every inflected form starts with."""
    return word[:-1] if len(word) > 3 and word[-1] in _TRAILING_VOWEL_SIGNS else word


def is_generic(surface: str) -> bool:
    return all(
        w in GENERIC_WORDS or w.isdigit() or re.fullmatch(r"\d+(st|nd|rd|th)", w) for w in surface.split()
    )


def name_variants(name: str) -> Iterator[str]:
    """Ways people write a places.csv or station name, the name itself first (all simple forms)."""
    base = simple_form(name)
    yield base
    cut = name.split("(", 1)[0]
    bare = simple_form(cut)
    if bare != base:
        yield bare
    for form in {base, bare}:
        words = form.split()
        yield from _suffix_variants(words)
        yield from _initials_variants(words)
        yield from _abbreviation_variants(words)
        yield from _ending_variants(words)
        yield from _block_variants(words)


def _suffix_variants(words: list[str]) -> Iterator[str]:
    text = " ".join(words)
    for suffix in _SUFFIX_WORDS:
        if text.endswith(" " + suffix):
            yield text[: -len(suffix) - 1]
    if text.endswith(" temple ward"):
        yield text[: -len(" ward")]


def _initials_variants(words: list[str]) -> Iterator[str]:
    """ "k r puram" → "kr puram", "c v raman nagar" → "cv raman nagar"."""
    joined: list[str] = []
    run_open = False
    for word in words:
        is_initial = len(word) == 1 and word.isalpha()
        if is_initial and run_open:
            joined[-1] += word
        else:
            joined.append(word)
        run_open = is_initial
    if joined != words:
        yield " ".join(joined)


def _abbreviation_variants(words: list[str]) -> Iterator[str]:
    expanded = [_ABBREVIATIONS.get(w, w) for w in words]
    if expanded != words:
        yield " ".join(expanded)


def _ending_variants(words: list[str]) -> Iterator[str]:
    for index, word in enumerate(words):
        for ending, replacement in _ENDING_SWAPS:
            if word.endswith(ending) and len(word) > len(ending) + 2:
                yield " ".join([*words[:index], word[: -len(ending)] + replacement, *words[index + 1 :]])


def _block_variants(words: list[str]) -> Iterator[str]:
    """ "jayanagar 4th block" → "4th block jayanagar", "jayanagar 4 block"."""
    for index in range(1, len(words) - 1):
        ordinal, unit = words[index], _ABBREVIATIONS.get(words[index + 1], words[index + 1])
        match = re.fullmatch(r"(\d+)(st|nd|rd|th)", ordinal)
        if match and unit in ("block", "stage", "phase", "sector", "main", "cross"):
            area = words[:index]
            yield " ".join([ordinal, unit, *area])
            yield " ".join([*area, match.group(1), unit])


def read_places(path: Path) -> list[Place]:
    places: list[Place] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                places.append(
                    Place(
                        name=row["name"].strip(),
                        kind=row["kind"].strip(),
                        lat=float(row["lat"]),
                        lon=float(row["lon"]),
                        law_order_station=row["law_order_station"].strip() or None,
                        traffic_station=row["traffic_station"].strip() or None,
                    )
                )
            except (KeyError, ValueError, AttributeError) as exc:
                raise ValueError(f"{path}, row {row_number}: {exc!r}") from exc
    return places


def point_place(name: str, kind: str, lat: float, lon: float, jurisdictions: StationMap) -> Place:
    return Place(
        name=name,
        kind=kind,
        lat=lat,
        lon=lon,
        law_order_station=jurisdictions.station_at(lat, lon, Layer.LAW_ORDER),
        traffic_station=jurisdictions.station_at(lat, lon, Layer.TRAFFIC),
    )


def read_aliases(path: Path, places: Iterable[Place], jurisdictions: StationMap) -> list[Surface]:
    """Surfaces from ``aliases.csv`` (alias, place_name or lat+lon, note)."""
    by_name = {p.name: p for p in places}
    surfaces: list[Surface] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{path}, row {row_number}"
            alias, target = (row.get("alias") or "").strip(), (row.get("place_name") or "").strip()
            if not alias:
                raise ValueError(f"{where}: empty alias")
            if target:
                if target not in by_name:
                    raise ValueError(f"{where}: place_name {target!r} is not in places.csv")
                place = by_name[target]
            else:
                try:
                    lat, lon = float(row["lat"]), float(row["lon"])
                except (KeyError, TypeError, ValueError) as exc:
                    raise ValueError(f"{where}: needs a place_name or a lat and lon") from exc
                place = point_place(alias, "landmark", lat, lon, jurisdictions)
            is_vague = (row.get("note") or "").strip().startswith("long road")
            written = simple_form(alias)
            for text in dict.fromkeys([written, *name_variants(alias)]):
                # only the alias as curated outranks the places.csv names; "Shivajinagar bus stand"
                # must not make plain "Shivajinagar" the bus stand
                source = Source.ALIAS if text == written else Source.VARIANT
                surfaces.append(_surface(text, place, source, is_vague=is_vague))
    return surfaces


def station_surfaces(jurisdictions: StationMap) -> list[Surface]:
    """Station names without " PS", English and Kannada, as places at a point inside their area."""
    surfaces: list[Surface] = []
    for station in jurisdictions.stations.values():
        if station.layer not in (Layer.LAW_ORDER.value, Layer.TRAFFIC.value):
            continue
        point = jurisdictions.station_point(station.id)
        if point is None:
            continue
        english = re.sub(r"\s*PS$", "", station.name).strip()
        place = point_place(english, "station_area", point[0], point[1], jurisdictions)
        names = [english]
        kannada = re.sub(r"\s*(ಪಿ\.?ಎಸ್|ಪೊಲೀಸ್ ಠಾಣೆ|ಪೋಲೀಸ್ ಠಾಣೆ)$", "", station.name_kn).strip()
        if kannada and not re.search(r"[A-Za-z]", kannada):
            names.append(kannada)
        for name in names:
            for text in name_variants(name):
                surfaces.append(_surface(text, place, Source.STATION))
    return surfaces


def place_surfaces(places: Iterable[Place]) -> list[Surface]:
    surfaces: list[Surface] = []
    for place in places:
        pincode = re.search(r"\((\d{6})\)", place.name)
        if pincode:
            surfaces.append(_surface(pincode.group(1), place, Source.NAME))
        for number, text in enumerate(name_variants(place.name)):
            surfaces.append(_surface(text, place, Source.NAME if number == 0 else Source.VARIANT))
    return surfaces


def _surface(text: str, place: Place, source: Source, *, is_vague: bool = False) -> Surface:
    return Surface(
        text=text, place=place, source=source, needs_cue=needs_cue(text, source), is_vague=is_vague
    )


def needs_cue(text: str, source: Source) -> bool:
    if text in NEEDS_CUE:
        return True
    if source is Source.ALIAS or re.fullmatch(r"5\d{5}", text):
        return False
    return all(w in ENGLISH_WORDS or w in GENERIC_WORDS or len(w) == 1 or w.isdigit() for w in text.split())


def usable(surface: Surface) -> bool:
    """Drops surfaces that name nothing in particular or are too short to trust."""
    if re.fullmatch(r"5\d{5}", surface.text):
        return True
    if surface.source is not Source.ALIAS and is_generic(surface.text):
        return False
    if surface.source is Source.VARIANT and surface.needs_cue:
        return False  # "State Bank" from "State Bank (Jeevan Bhimanagar)": the qualifier was the place
    return len(compact(surface.text)) >= (2 if is_indic(surface.text) else 3)
