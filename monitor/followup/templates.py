"""The replies' words: templates per reply kind and language, the reply language of a post, and fitting
a rendered reply into what the platform allows.

X's weighted length is computed here rather than by ``twitter-text-parser``: that package (3.0.0, the
last) imports ``pkg_resources``, which setuptools dropped in version 81, and its emoji table is from
2019; the other way, setuptools pinned below 81 as a run-time dependency, would keep a removed API
alive for one package and hold back the tool that builds the project. The rules are twitter-text's
version-3 configuration, checked against the package (run once, aside, with setuptools 80.9):
text NFC-normalised, code points U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F and U+2032-U+2037 weigh 1
(Latin, Kannada, Devanagari, most punctuation) and every other code point 2 (so "ạ ế ộ", U+1EA0-U+1EF9,
weigh 2 while "ă ơ" weigh 1), every URL 23, an emoji (with its variation selector) 2. Where this
count is unsure it counts more, never less (X refuses a post that is too long, and a refused reply
reaches nobody): a domain-like word ("Done.Thanks") is taken for a URL, and a skin tone, a ZWJ sequence
or a flag counts as its parts (X knows only the sequences of its own emoji list).
"""

from __future__ import annotations

import re
import string
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from models.followup import REPLY_KINDS

LANGUAGES = ("en", "kn", "hi", "vi")
PLATFORMS = ("x", "facebook")
PLACEHOLDERS = frozenset(
    {"docket", "ref", "office", "authority", "authority_contact", "note", "emergency_number", "force"}
)
REQUIRED: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "acknowledgement": frozenset({"ref", "docket", "office"}),
        "emergency": frozenset({"ref", "emergency_number"}),
        "referral": frozenset({"ref", "authority", "authority_contact"}),
        "thanks": frozenset({"ref"}),
        "action_taken": frozenset({"ref", "docket", "note"}),
        "reopened": frozenset({"ref", "docket"}),
    }
)
SHORTENED = ("note", "authority_contact", "office")  # the free text, cut in this order when a reply is too long
ELLIPSIS = "…"

X_LIMIT = 280  # weighted characters
# Facebook takes comments of thousands of characters, but shows only the first few lines of a long one
# behind "See more", and a citizen reads a reply in the thread at a glance: 600 characters hold every
# template with a full officer's note of a few sentences and stay readable there.
FACEBOOK_LIMIT = 600

URL_WEIGHT = 23
_WEIGHT_ONE = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_SCHEME_URL = re.compile(r"https?://[!-~]+", re.IGNORECASE)
_BARE_URL = re.compile(
    r"(?<![A-Za-z0-9@._-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])(?:/[!-~]*)?"
)
_URL_TAIL = ".,;:!?)]}'\""  # ends a sentence rather than the URL
_EMOJI_BASES = (
    (0x2190, 0x21FF),
    (0x2300, 0x23FF),
    (0x24C2, 0x24C2),
    (0x25A0, 0x27BF),
    (0x2900, 0x297F),
    (0x2B00, 0x2BFF),
    (0x1F000, 0x1FAFF),
)


class TemplateError(Exception):
    """Every problem found, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def weighted_length(text: str) -> int:
    """The length X counts for a post (see the module's notes)."""
    text = re.sub(r"\r\n|\r", "\n", unicodedata.normalize("NFC", text))
    total, last = 0, 0
    for start, end, is_sure in _urls(text):
        total += _plain_weight(text[last:start])
        total += URL_WEIGHT if is_sure else max(URL_WEIGHT, _plain_weight(text[start:end]))
        last = end
    return total + _plain_weight(text[last:])


def fits(text: str, platform: str) -> bool:
    """X: at most 280 weighted characters; Facebook: at most 600 characters (see FACEBOOK_LIMIT)."""
    if platform == "x":
        return weighted_length(text) <= X_LIMIT
    if platform == "facebook":
        return len(unicodedata.normalize("NFC", text)) <= FACEBOOK_LIMIT
    raise ValueError(f"unknown platform {platform!r}: one of {', '.join(PLATFORMS)}")


def _urls(text: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, is_sure) of every URL: with a scheme (sure), or a bare domain (perhaps)."""
    spans = [(m.start(), m.start() + len(m.group().rstrip(_URL_TAIL)), True) for m in _SCHEME_URL.finditer(text)]
    blanked = text
    for start, end, _ in spans:
        blanked = blanked[:start] + " " * (end - start) + blanked[end:]
    spans += [(m.start(), m.start() + len(m.group().rstrip(_URL_TAIL)), False) for m in _BARE_URL.finditer(blanked)]
    return iter(sorted(spans))


def _in(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def _plain_weight(text: str) -> int:
    total, i = 0, 0
    while i < len(text):
        end = _emoji_end(text, i)
        if end is not None:
            total, i = total + 2, end
        else:
            total, i = total + (1 if _in(ord(text[i]), _WEIGHT_ONE) else 2), i + 1
    return total


def _emoji_end(text: str, i: int) -> int | None:
    """Where an emoji starting at ``text[i]`` ends (with its variation selector), None if none starts there."""
    if text[i] in "0123456789#*":  # a keycap: 1️⃣
        for tail in ("\ufe0f\u20e3", "\u20e3"):
            if text.startswith(tail, i + 1):
                return i + 1 + len(tail)
        return None
    if not (_in(ord(text[i]), _EMOJI_BASES) or text[i] in "\u00a9\u00ae"):
        return None
    return i + 2 if text.startswith("\ufe0f", i + 1) else i + 1


def placeholders(template: str) -> set[str]:
    """The names a template fills; ValueError for braces that do not pair or a positional ``{}``."""
    names = set()
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:  # "Single '}' encountered in format string"
        raise ValueError(f"braces do not pair ({exc}); write a literal brace as {{{{ or }}}}") from exc
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if not name or spec or conversion:
            raise ValueError(
                f"write placeholders as {{name}} only, found {{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}"
            )
        names.add(name)
    return names


_VIETNAMESE_ONLY = frozenset("đĐơƠưƯăĂ") | {chr(c) for c in range(0x1EA0, 0x1EFA)}
_VIETNAMESE = _VIETNAMESE_ONLY | frozenset("àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝĩĨũŨ")
_HINGLISH = frozenset(
    "hai hain nahi nahin kripya kya kyun kyon mera meri mere hamara hamare humara bhai aap aapka aapke raha rahi rahe "
    "karo kariye kijiye karen karein jaldi abhi bahut koi kuch gaya gayi hua huyi hoga tha thi".split()
)
# Kanglish: not "namma" ("Namma Metro" is English in Bengaluru) nor "guru" (a name).
_KANGLISH = frozenset(
    "illa illi alli maadi madi maadbeku madbeku swalpa beku beda bega banni barthilla barta yaake yake enu yenu "
    "hogide agide aagide aagilla nodi tumba kelsa hege yelli".split()
)


def language_for(text: str, lang: str | None, *, hinglish: str = "en", kanglish: str = "en") -> str:
    """The reply's language for a post: its script first, then the platform's ``lang`` tag.

    Kannada script → ``kn``, Devanagari → ``hi`` (when it makes up a third of the letters or more: a place
    name in another script does not change the language); Vietnamese (tagged ``vi``, or with Vietnamese
    letters in two words of five) → ``vi``; Hindi or Kannada in Latin letters (tagged ``hi``/``kn``, or two
    of their common words) → ``hinglish``/``kanglish``, English unless configured; anything else → ``en``.
    """
    for name, value in (("hinglish", hinglish), ("kanglish", kanglish)):
        if value not in LANGUAGES:
            raise ValueError(f"{name}={value!r}: one of {', '.join(LANGUAGES)}")
    text = unicodedata.normalize("NFC", text)
    letters = [c for c in text if unicodedata.category(c)[0] in "LM"]
    kannada = sum(1 for c in letters if "\u0c80" <= c <= "\u0cff")
    devanagari = sum(1 for c in letters if "\u0900" <= c <= "\u097f" or "\ua8e0" <= c <= "\ua8ff")
    if max(kannada, devanagari) * 3 >= len(letters) > 0:
        return "kn" if kannada >= devanagari else "hi"
    words = re.findall(r"[^\W\d_]+", text.casefold())
    vietnamese = sum(1 for w in words if any(c in _VIETNAMESE for c in w))
    has_vietnamese_only = any(c in _VIETNAMESE_ONLY for c in text)
    if words and (lang == "vi" or (has_vietnamese_only and vietnamese * 5 >= len(words) * 2)):
        return "vi"
    if not words:
        return "en"
    if lang == "hi" or sum(1 for w in words if w in _HINGLISH) >= 2:
        return hinglish
    if lang == "kn" or sum(1 for w in words if w in _KANGLISH) >= 2:
        return kanglish
    return "en"


@dataclass(frozen=True)
class ReplyTemplates:
    """Reply templates by (kind, language, platform); a language missing for a kind speaks English."""

    texts: Mapping[tuple[str, str, str], str]

    @classmethod
    def load(cls, path: Path) -> ReplyTemplates:
        """A templates file (see data/templates/README.md); TemplateError lists every problem in it."""
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise TemplateError([f"{path}: cannot read the templates file ({exc.strerror})"]) from exc
        except tomllib.TOMLDecodeError as exc:
            raise TemplateError([f"{path}: not valid TOML: {exc}"]) from exc
        except UnicodeDecodeError as exc:
            raise TemplateError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from exc
        texts, problems = _read(raw)
        if problems:
            raise TemplateError([f"{path}: {p}" for p in problems])
        return cls(MappingProxyType(texts))

    def template(self, kind: str, language: str, platform: str) -> str:
        problems = [
            f"unknown {what} {value!r}: one of {', '.join(known)}"
            for what, value, known in (
                ("reply kind", kind, REPLY_KINDS),
                ("language", language, LANGUAGES),
                ("platform", platform, PLATFORMS),
            )
            if value not in known
        ]
        if problems:
            raise TemplateError(problems)
        return self.texts.get((kind, language, platform)) or self.texts[(kind, "en", platform)]

    def render(self, kind: str, language: str, platform: str, values: Mapping[str, str]) -> str:
        """The reply, filled and fitted to the platform: when too long, the note is cut first (with "…"),
        then the authority's contact, then the office; the docket, the ref and the rest never are.
        TemplateError if a value is missing or the reply cannot fit even with those emptied."""
        template = self.template(kind, language, platform)
        names = placeholders(template)
        missing = sorted(names - set(values))
        if missing:
            raise TemplateError([f"{kind}.{language}.{platform}: no value for {', '.join(missing)}"])
        current = {name: unicodedata.normalize("NFC", values[name].strip()) for name in names}
        text = template.format_map(current)
        if fits(text, platform):
            return text
        free = [name for name in SHORTENED if current.get(name)]
        if not fits(template.format_map({**current, **dict.fromkeys(free, "")}), platform):
            raise TemplateError(
                [
                    f"{kind}.{language}.{platform}: does not fit {platform} even without {', '.join(free) or 'any free text'}"
                ]
            )
        for name in free:
            shortened = _shortened(template, current, name, platform)
            current[name] = shortened if shortened is not None else ""
            if shortened is not None:
                break
        return template.format_map(current)


def _shortened(template: str, values: dict[str, str], name: str, platform: str) -> str | None:
    """The longest cut of ``values[name]`` (at a word, else at a letter, then "…") with which the reply
    fits; None if not even "…" fits."""
    value = values[name]

    def fits_with(cut: int) -> bool:
        return fits(template.format_map({**values, name: _cut(value, cut)}), platform)

    if not fits_with(0):
        return None
    low, high = 0, len(value)  # fits_with(low) holds; the full value does not fit
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits_with(middle) else (low, middle)
    cut = low
    word = value.rfind(" ", 0, cut + 1)
    if word > 0 and cut - word <= 20 and fits_with(word):
        cut = word
    while cut > 0 and not fits_with(cut):  # a URL counts 23 however much of it is left
        cut -= 1
    return _cut(value, cut)


def _cut(value: str, cut: int) -> str:
    """``value[:cut]``, moved back so no letter loses its marks, ended with "…"."""
    while 0 < cut < len(value) and (
        unicodedata.category(value[cut])[0] == "M"
        or value[cut] in "\u200c\u200d\ufe0f"
        or value[cut - 1] in "\u200d\u0ccd\u094d"
    ):
        cut -= 1
    return value[:cut].rstrip(" ,;:-–") + ELLIPSIS


def _read(raw: Mapping[str, object]) -> tuple[dict[tuple[str, str, str], str], list[str]]:
    """The templates of a parsed file, and every problem with them."""
    texts: dict[tuple[str, str, str], str] = {}
    problems = [
        f"[{kind}]: unknown reply kind (one of {', '.join(REPLY_KINDS)})" for kind in raw if kind not in REPLY_KINDS
    ]
    for kind in REPLY_KINDS:
        table = raw.get(kind)
        if table is None:
            problems.append(f"[{kind}]: missing (every reply kind needs at least its English text, [{kind}.en])")
            continue
        if not isinstance(table, Mapping):
            problems.append(f"[{kind}]: expected a table of languages, such as [{kind}.en]")
            continue
        problems += [
            f"[{kind}.{lang}]: unknown language (one of {', '.join(LANGUAGES)})"
            for lang in table
            if lang not in LANGUAGES
        ]
        if "en" not in table:
            problems.append(f"[{kind}.en]: missing (English is the text every other language falls back to)")
        for lang in LANGUAGES:
            if lang in table:
                problems += _read_language(kind, lang, table[lang], texts)
    return texts, problems


def _read_language(kind: str, lang: str, table: object, texts: dict[tuple[str, str, str], str]) -> list[str]:
    where = f"[{kind}.{lang}]"
    if not isinstance(table, Mapping):
        return [f'{where}: expected a table with text = "..." (or x = and facebook =)']
    problems = [f"{where} {key}: unknown key (text, x or facebook)" for key in table if key not in ("text", *PLATFORMS)]
    for key, value in table.items():
        if key in ("text", *PLATFORMS) and (not isinstance(value, str) or not value.strip()):
            problems.append(f"{where} {key}: expected a text, got {value!r}")
    for platform in PLATFORMS:
        template = table.get(platform, table.get("text"))
        if template is None:
            problems.append(f'{where}: no text for {platform} (write text = "..." for both, or {platform} = "...")')
        elif isinstance(template, str) and template.strip():
            key = platform if platform in table else "text"
            found = _template_problems(kind, template, platform)
            problems += [f"{where} {key}: {p}" for p in found]
            if not found:
                texts[(kind, lang, platform)] = template.strip()
    return list(dict.fromkeys(problems))  # text serves both platforms: say each problem once


_MENTION = re.compile(r"(?<![\w@])@\w+")
_SAMPLE = {"docket": "BLR-2026-999999", "ref": "Ref BLR-2026-999999/X9-999999", "emergency_number": "112"}


def _template_problems(kind: str, template: str, platform: str) -> list[str]:
    try:
        names = placeholders(template)
    except ValueError as exc:
        return [str(exc)]
    problems = [
        f"unknown placeholder {{{name}}} (known: {', '.join(sorted(PLACEHOLDERS))})"
        for name in sorted(names - PLACEHOLDERS)
    ]
    problems += [f"{kind} needs {{{name}}}" for name in sorted(REQUIRED[kind] - names)]
    problems += [
        f"{m.group()}: no @-mention in a reply (X allows none of a station's or officer's handle from the API)"
        for m in _MENTION.finditer(template)
    ]
    if not problems:
        bare = template.strip().format_map({name: _SAMPLE.get(name, "") for name in names})
        if not fits(bare, platform):
            limit = f"{X_LIMIT} weighted" if platform == "x" else str(FACEBOOK_LIMIT)
            problems.append(f"too long for {platform} before any name or note is filled in (over {limit} characters)")
    return problems
