"""Personal data in what the bot posts: found, and masked as the deployment chose for each reply kind.

Phone numbers come from ``phonenumbers``, run once per region with VALID leniency: a number must be
valid where it is written, so FIR numbers, amounts and vehicle numbers are not taken for phones. E-mail
addresses, identity numbers (Aadhaar, PAN, Vietnamese CCCD) and vehicle registrations are found by
their shape. Dockets (``BLR-2026-000123``, with a reply marker's ``/A-42``) and dates are never masked:
``phonenumbers`` reads ``2026-000123`` as a Pune landline and ``12-03-2026`` as a Vietnamese number.

Replacements (``replacement = "partial"``, the default) keep the text's length, so a reply that fitted
its platform still fits once masked:

- a phone keeps its ``+country`` code and its last two digits: ``+91-98450 12345`` → ``+91-XXXXX XXX45``
  (the way Indian banks write an account number in an SMS);
- an identity number keeps its last four characters: ``2345 6789 0123`` → ``XXXX XXXX 0123`` (UIDAI's
  own "masked Aadhaar");
- a vehicle number keeps its last two: ``KA 01 AB 1234`` → ``XX XX XX XX34``;
- an e-mail address becomes ``[e-mail hidden]``: a part of it would still say whose it is.

``replacement = "label"`` writes ``[phone no. hidden]``, ``[ID no. hidden]`` and ``[vehicle no.
hidden]`` instead. Digits in any script are read (Kannada ``೯೮೪೫೦``, Devanagari ``९८४५०``), and kept
in their script. Masking is idempotent: what it writes contains nothing it would mask again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Literal

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from models.followup import REPLY_KINDS

FoundKind = Literal["phone", "email", "identity", "vehicle"]

EMAIL_HIDDEN = "[e-mail hidden]"
LABELS: Mapping[FoundKind, str] = MappingProxyType(
    {
        "phone": "[phone no. hidden]",
        "email": EMAIL_HIDDEN,
        "identity": "[ID no. hidden]",
        "vehicle": "[vehicle no. hidden]",
    }
)
KEEP_LAST: Mapping[FoundKind, int] = MappingProxyType({"phone": 2, "email": 0, "identity": 4, "vehicle": 2})

_NOT_ALNUM_BEFORE, _NOT_ALNUM_AFTER = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
# Aadhaar: 12 digits, never starting with 0 or 1; no Verhoeff check, since a mistyped Aadhaar still
# says whose it is. CCCD: 12 digits starting with the province code 001-096 (no check digit).
_AADHAAR = re.compile(r"(?<![0-9])[2-9][0-9]{3}[ .-]?[0-9]{4}[ .-]?[0-9]{4}(?![0-9])")
_CCCD = re.compile(
    r"(?<![0-9])0[0-9]{2}(?:[0-9]{9}|([ .-])[0-9]{3}\1[0-9]{3}\1[0-9]{3}|[0-9]([ .-])[0-9]{4}\2[0-9]{4})(?![0-9])"
)
# PAN: five letters (the fourth says who holds it: P a person, C a company, ...), four digits, a letter.
_PAN = re.compile(_NOT_ALNUM_BEFORE + r"[A-Z]{3}[ABCFGHJLPT][A-Z][0-9]{4}[A-Z]" + _NOT_ALNUM_AFTER, re.IGNORECASE)
_IN_STATES = "AN|AP|AR|AS|BR|CG|CH|DD|DL|DN|GA|GJ|HP|HR|JH|JK|KA|KL|LA|LD|MH|ML|MN|MP|MZ|NL|OD|OR|PB|PY|RJ|SK|TG|TN|TR|TS|UK|UP|WB"
# State, district (1-2 digits), series (1-3 letters), number: KA 01 AB 1234, KA-05-MX-2231, DL3CAB1234.
# Written in capitals any number may follow; in small letters only a full four-digit one ("up 2 am 5").
_IN_PLATE = re.compile(
    rf"{_NOT_ALNUM_BEFORE}(?:{_IN_STATES})[ .-]?[0-9]{{1,2}}[ .-]?[A-Z]{{1,3}}[ .-]?[0-9]{{1,4}}{_NOT_ALNUM_AFTER}"
)
_IN_PLATE_ANY_CASE = re.compile(
    rf"{_NOT_ALNUM_BEFORE}(?:{_IN_STATES})[ .-]?[0-9]{{1,2}}[ .-]?[A-Z]{{1,3}}[ .-]?[0-9]{{4}}{_NOT_ALNUM_AFTER}",
    re.IGNORECASE,
)
_IN_BHARAT_PLATE = re.compile(
    rf"{_NOT_ALNUM_BEFORE}[0-9]{{2}}[ -]?BH[ -]?[0-9]{{4}}[ -]?[A-Z]{{1,2}}{_NOT_ALNUM_AFTER}", re.IGNORECASE
)
# Province (2 digits), series (1-2 letters, a digit for motorbikes), number: 29A-123.45, 51F-678.90, 29-B1 234.56.
_VN_PLATE = re.compile(
    rf"{_NOT_ALNUM_BEFORE}[0-9]{{2}}-?[A-Z]{{1,2}}[0-9]?[ .-]?(?:[0-9]{{3}}\.[0-9]{{2}}|[0-9]{{4,5}})(?![A-Za-z0-9]|\.[0-9])"
)
_DOCKET = re.compile(_NOT_ALNUM_BEFORE + r"[A-Z][A-Z0-9]{0,9}-[0-9]{4}-[0-9]{6,}(?:/[A-Za-z0-9-]+)?")
_DATE = re.compile(
    r"(?<![0-9])(?:([0-9]{1,2})([./-])([0-9]{1,2})\2(?:[0-9]{4}|[0-9]{2})|[0-9]{4}([./-])[0-9]{1,2}\4[0-9]{1,2})(?![0-9])"
)


@dataclass(frozen=True)
class Found:
    """A piece of personal data at ``text[start:end]``."""

    kind: FoundKind
    start: int
    end: int


@dataclass(frozen=True)
class MaskingRules:
    """What to hide in one kind of reply. ``regions`` are where phone numbers are read as local numbers
    (any region ``phonenumbers`` knows); identity and vehicle numbers are recognised for IN and VN."""

    phones: bool = True
    emails: bool = True
    identity_numbers: bool = True
    vehicle_numbers: Literal["keep", "mask"] = "keep"
    regions: tuple[str, ...] = ("IN", "VN")
    replacement: Literal["partial", "label"] = "partial"

    def __post_init__(self) -> None:
        unknown = [r for r in self.regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown regions {unknown}: use codes such as IN, VN")


def find_personal_data(text: str, rules: MaskingRules, *, keep: Collection[str] = ()) -> list[Found]:
    """What :func:`mask` would hide, in order, overlaps merged. ``keep``: published strings (an
    authority's helpline, the force's own address) never hidden where they appear whole."""
    plain = _ascii_digits(text)
    spared = [m.span() for m in _DOCKET.finditer(plain)] + list(_dates(plain))
    spared += [(m.start(), m.end()) for kept in keep if kept for m in re.finditer(re.escape(kept), text)]
    found = [f for f in _candidates(plain, rules) if not any(s <= f.start and f.end <= e for s, e in spared)]
    return _merged(found)


def mask(text: str, rules: MaskingRules, *, keep: Collection[str] = ()) -> str:
    """``text`` with its personal data replaced as the rules say (see the module's notes)."""
    parts, last = [], 0
    for found in find_personal_data(text, rules, keep=keep):
        parts += [text[last : found.start], _replacement(text[found.start : found.end], found.kind, rules)]
        last = found.end
    return "".join([*parts, text[last:]])


def _ascii_digits(text: str) -> str:
    """The same text, every decimal digit of any script written 0-9: the same length, the same offsets."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in text)


def _dates(text: str) -> Iterator[tuple[int, int]]:
    for m in _DATE.finditer(text):
        if m.group(1) is None:  # year first: 2026-03-12
            yield m.span()
            continue
        first, second = int(m.group(1)), int(m.group(3))  # 20/11/2026 or 11/20/2026
        if 1 <= min(first, second) <= 12 and max(first, second) <= 31:
            yield m.span()


def _candidates(text: str, rules: MaskingRules) -> Iterator[Found]:
    if rules.phones:
        for region in rules.regions:
            for match in PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
                yield Found("phone", match.start, match.end)
    if rules.emails:
        yield from (Found("email", *m.span()) for m in _EMAIL.finditer(text))
    patterns: list[tuple[FoundKind, re.Pattern[str]]] = []
    if rules.identity_numbers:
        patterns += [("identity", p) for p, r in ((_AADHAAR, "IN"), (_PAN, "IN"), (_CCCD, "VN")) if r in rules.regions]
    if rules.vehicle_numbers == "mask":
        plates = ((_IN_PLATE, "IN"), (_IN_PLATE_ANY_CASE, "IN"), (_IN_BHARAT_PLATE, "IN"), (_VN_PLATE, "VN"))
        patterns += [("vehicle", p) for p, r in plates if r in rules.regions]
    for kind, pattern in patterns:
        yield from (Found(kind, *m.span()) for m in pattern.finditer(text))


def _merged(found: Iterable[Found]) -> list[Found]:
    """Overlapping finds as one, of the kind of the longest among them."""
    merged: list[Found] = []
    longest: Found | None = None
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        if merged and f.start < merged[-1].end:
            longest = f if longest is None or f.end - f.start > longest.end - longest.start else longest
            merged[-1] = Found(longest.kind, merged[-1].start, max(merged[-1].end, f.end))
        else:
            merged.append(f)
            longest = f
    return merged


def _replacement(original: str, kind: FoundKind, rules: MaskingRules) -> str:
    if kind == "email" or rules.replacement == "label":
        return LABELS[kind]
    kept_prefix = 0
    if kind == "phone" and original.startswith("+"):
        try:
            country = str(phonenumbers.parse(_ascii_digits(original), None).country_code)
        except phonenumbers.NumberParseException:
            country = ""
        kept_prefix = 1 + len(country)
    hide = [
        i for i, c in enumerate(original) if i >= kept_prefix and (c.isdecimal() if kind == "phone" else c.isalnum())
    ]
    hidden = set(hide[: max(0, len(hide) - KEEP_LAST[kind])])
    return "".join("X" if i in hidden else c for i, c in enumerate(original))


RULE_FIELDS = tuple(f.name for f in fields(MaskingRules))


@dataclass(frozen=True)
class MaskingPolicy:
    """The rules for each reply kind, ``default`` for those not named; ``public``: the deployment's own
    published contacts (the authorities' helplines), never hidden in its replies."""

    default: MaskingRules = MaskingRules()
    by_kind: Mapping[str, MaskingRules] = field(default_factory=lambda: MappingProxyType({}))
    public: tuple[str, ...] = ()

    def for_kind(self, kind: str) -> MaskingRules:
        if kind not in REPLY_KINDS:
            raise ValueError(f"unknown reply kind {kind!r}: one of {', '.join(REPLY_KINDS)}")
        return self.by_kind.get(kind, self.default)

    def mask(self, kind: str, text: str) -> str:
        """The text as a reply of this kind may show it."""
        return mask(text, self.for_kind(kind), keep=self.public)

    @classmethod
    def from_mapping(cls, raw: object, *, public: Iterable[str] = ()) -> MaskingPolicy:
        """From the config's plain mapping, ``{"default": {...}, "action_taken": {...}}``; a kind's table
        overrides only what it names, the rest comes from ``default``. Every problem in one ValueError."""
        if not isinstance(raw, Mapping):
            raise ValueError(f"masking: expected a table of reply kinds, got {type(raw).__name__}")
        problems = [
            f"masking.{k}: unknown reply kind (one of default, {', '.join(REPLY_KINDS)})"
            for k in raw
            if k != "default" and k not in REPLY_KINDS
        ]
        default = _rules(MaskingRules(), raw.get("default", {}), "masking.default", problems)
        by_kind = {k: _rules(default, v, f"masking.{k}", problems) for k, v in raw.items() if k in REPLY_KINDS}
        if problems:
            raise ValueError("; ".join(problems))
        return cls(default, MappingProxyType(by_kind), tuple(p for p in public if p))


def _rules(base: MaskingRules, raw: object, where: str, problems: list[str]) -> MaskingRules:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected a table, got {type(raw).__name__}")
        return base
    flags = {"phones": base.phones, "emails": base.emails, "identity_numbers": base.identity_numbers}
    vehicle_numbers, replacement, regions = base.vehicle_numbers, base.replacement, base.regions
    for key, value in raw.items():
        if key in flags:
            if isinstance(value, bool):
                flags[key] = value
            else:
                problems.append(f"{where}.{key}: expected true or false, got {value!r}")
        elif key == "vehicle_numbers":
            if value in ("keep", "mask"):
                vehicle_numbers = "keep" if value == "keep" else "mask"
            else:
                problems.append(f"{where}.{key}: expected keep or mask, got {value!r}")
        elif key == "replacement":
            if value in ("partial", "label"):
                replacement = "partial" if value == "partial" else "label"
            else:
                problems.append(f"{where}.{key}: expected partial or label, got {value!r}")
        elif key == "regions":
            if not isinstance(value, list | tuple) or not value or not all(isinstance(r, str) for r in value):
                problems.append(
                    f'{where}.regions: expected a non-empty list of region codes such as ["IN", "VN"], got {value!r}'
                )
            elif unknown := [r for r in value if r not in phonenumbers.SUPPORTED_REGIONS]:
                problems.append(f"{where}.regions: unknown region codes {unknown} (such as IN, VN)")
            else:
                regions = tuple(value)
        else:
            problems.append(f"{where}.{key}: unknown setting (one of {', '.join(RULE_FIELDS)})")
    return MaskingRules(
        phones=flags["phones"],
        emails=flags["emails"],
        identity_numbers=flags["identity_numbers"],
        vehicle_numbers=vehicle_numbers,
        regions=regions,
        replacement=replacement,
    )
