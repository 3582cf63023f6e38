"""The two flags that ride on every post: ``emergency`` (a life or safety at risk right now) and ``vip``.

Emergency = a learned probability (logistic regression on the corpus's ``emergency`` labels, over the
shared features) combined with a multilingual phrase layer: a phrase such as "bleeding", "बचाओ",
"ಕಾಪಾಡಿ" or "cứu với" lowers the probability needed; a negation ("no one injured", "both are fine",
"the child was found") raises it. The thresholds are chosen by cross-validation on the train split.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

# Written as people write them; matched on normalise()d text (lower case, Latin diacritics folded).
# fmt: off
_EMERGENCY_PHRASES: tuple[str, ...] = (
    # English
    r"bleed(?:ing)?", r"unconscious", r"not breathing", r"(?:badly|seriously|critically) (?:injured|hurt)",
    r"(?:is|are|got|was) injured", r"lying (?:on the road|in blood|there)", r"stabb?(?:ed|ing)", r"knife",
    r"\bgun\b", r"\bshot\b", r"beating (?:him|her|them|a|the|my)", r"being (?:beaten|attacked|followed|chased)",
    r"attacking", r"(?:help|come) (?:right now|immediately|urgently|asap|fast|quick)", r"\bsos\b",
    r"save (?:me|us|her|him)", r"kidnapp?(?:ed|ing)", r"abduct(?:ed|ing)", r"(?:child|kid|son|daughter|boy|girl)\b.{0,40}\bmissing",
    r"missing\b.{0,30}\b(?:child|kid|son|daughter|boy|girl)", r"threaten(?:ed|ing)? to kill", r"kill (?:me|us|her|him)",
    r"following (?:me|her|us) (?:right now|now|since)", r"trapped", r"ambulance", r"dying", r"suicide",
    r"hit by (?:a |an |the )?\w+", r"run over", r"head injury", r"(?:can'?t|cannot|unable to) (?:stand|move|breathe|get up)",
    r"fainted", r"collapsed", r"drowning", r"(?:on|caught) fire", r"stuck inside", r"goodbye (?:message|note|post)",
    r"end (?:his|her|my|their) life", r"kill (?:him|her|my|them)sel(?:f|ves)", r"\bacid\b", r"in danger",
    r"life (?:is )?(?:at risk|in danger)", r"threatening (?:me|us|her|him) with", r"dragg(?:ed|ing)", r"please hurry",
    # Hinglish / Kanglish (Latin script)
    r"bachao", r"bacha lo", r"madad karo", r"khoon", r"behosh", r"ghayal", r"maar (?:rahe|raha|rahi|dalenge|denge)",
    r"chaku", r"jaan (?:ka khatra|se maar)", r"(?:bacha|baccha|bachcha|beti|beta)\b.{0,30}\b(?:gayab|kho gay|lapata|nahi mil)",
    r"peecha kar (?:raha|rahe)", r"kapadi", r"sahaya maadi", r"raktha?", r"hodithidd?are", r"hodeeta",
    r"(?:magu|huduga|hudugi)\b.{0,30}\b(?:kaanthilla|kanthilla|kaanisuttilla|missing)",
    r"haa?lat (?:kharab|gambhir|serious)", r"chot (?:lagi|aayi|ai)", r"aag lag", r"doob", r"jaldi (?:aao|aaiye|bhejo|baro|banni)",
    r"gaa?ya aa?gide", r"praa?na",
    # Hindi (Devanagari)
    r"बचाओ", r"बचा लो", r"मदद करो", r"खून", r"बेहोश", r"घायल", r"चाकू", r"मार रहे", r"जान से मार", r"जान का खतरा",
    r"(?:बच्चा|बच्ची|बेटी|बेटा)[^।]{0,30}(?:गायब|लापता|नहीं मिल)", r"अपहरण", r"पीछा कर रहा", r"एम्बुलेंस", r"तुरंत मदद",
    r"हालत (?:गंभीर|खराब|नाजुक)", r"चोट", r"आग लग", r"डूब", r"फंस",
    # Kannada
    r"ಕಾಪಾಡಿ", r"ಸಹಾಯ ಮಾಡಿ", r"ರಕ್ತ", r"ಗಾಯ", r"ಪ್ರಜ್ಞೆ", r"ಚಾಕು", r"ಹೊಡೆಯುತ್ತಿದ್ದಾರೆ", r"ಕಾಣೆಯಾಗಿ", r"ಅಪಹರಣ",
    r"ಕೊಲೆ ಬೆದರಿಕೆ", r"ತುರ್ತು", r"ಆಂಬ್ಯುಲೆನ್ಸ್", r"ಹಿಂಬಾಲಿಸ",
    r"ಸಿಲುಕಿ", r"ಗಂಭೀರ", r"ಬೆಂಕಿ", r"ಪ್ರಾಣ", r"ತಕ್ಷಣ",
    # Vietnamese (folded: "cứu với" → "cuu voi")
    r"cuu (?:voi|toi|em|chau|giup)", r"chay mau", r"bat tinh", r"bi thuong", r"bi dam", r"dam (?:nguoi|chet)",
    r"(?:dang|bi) (?:danh|hanh hung)", r"bat coc", r"(?:be|chau|con|tre)\b.{0,30}\b(?:mat tich|bi lac|lac me)",
    r"doa giet", r"khan cap", r"cap cuu", r"theo doi (?:toi|em) ", r"cam dao",
    r"nguy kich", r"nguy hiem tinh mang", r"mac ket", r"ngay lap tuc", r"dang bi (?:theo|danh|dam|doa|bat)", r"nhanh len",
)
_NEGATIONS: tuple[str, ...] = (
    r"no (?:one|body) (?:was |is |got )?(?:injured|hurt)", r"nobody (?:was |is |got )?(?:injured|hurt)",
    r"no injur", r"no casualt", r"(?:was|is) found\b", r"(?:has|have) been found", r"koi (?:ghayal|zakhmi) nahi",
    r"कोई घायल नहीं", r"khong ai bi thuong", r"da tim thay", r"yaarigu gaaya aagilla", r"ಯಾರಿಗೂ ಗಾಯ",
    r"\byesterday\b", r"\blast (?:week|month|year)\b", r"\bkal raat\b", r"\bhom qua\b",
    r"(?:we|i|both|all|everyone|everybody|they) (?:are|r|is|am|seem|seems)? ?(?:fine|safe|ok|okay|unhurt)",
    r"nobody (?:seems |looks )?(?:hurt|injured)", r"no one (?:seems |looks )?(?:hurt|injured)",
    r"(?:hum|sab|sabhi) (?:theek|thik|safe) (?:hai|hain)", r"koi (?:ghayal|zakhmi|hurt) nahi", r"सब (?:ठीक|सुरक्षित)",
    r"(?:yarigu|yaarigu|yarig) (?:gaaya|gaya|enu|enoo) (?:illa|aagilla|agilla)", r"ಯಾರಿಗೂ ಏನೂ",
    r"khong ai bi (?:sao|thuong)", r"(?:deu|van) an toan", r"\bmila gaya\b", r"\bmil gayi\b", r"\bsikkide\b",
)
# fmt: on


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{unicodedata.normalize('NFC', p)})" for p in patterns))


_PHRASE_RE = _compile(_EMERGENCY_PHRASES)
_NEGATION_RE = _compile(_NEGATIONS)


class Cue(StrEnum):
    """What the phrase layer sees in a post."""

    PHRASE = "phrase"  # an emergency phrase and no negation
    NEGATED = "negated"  # "no one injured", "both are fine", "the child was found", "yesterday"
    NONE = "none"


def emergency_cue(normalised_text: str) -> Cue:
    if _NEGATION_RE.search(normalised_text):
        return Cue.NEGATED
    return Cue.PHRASE if _PHRASE_RE.search(normalised_text) else Cue.NONE


# Urgent on their own, in real posts as people write them (the real train split's missed emergencies): a medical
# emergency, a fire now, a threat to kill, shots fired, a person who cannot be traced. With no negation ("last week",
# "no one injured") they make a post an emergency unless its category never is one (a news item, a thank-you).
_URGENT_RE = re.compile(
    r"medical (?:emergency|help|assistance|aid|attention)|urgent(?:ly)? (?:medical|doctor)|need(?:s)? (?:a )?doctor"
    r"|get a doctor|needs medication|\bon fire\b|huge fire|\bfire (?:at|in|near|broke)|caught fire|\bblaze\b"
    r"|wants? to kill|threaten\w* to (?:kill|cause harm)|\bkill me\b|\bfiring\b|gun ?shots?\b|shot at\b"
    r"|unable to (?:trace|contact|reach) (?:him|her|my|them)|not picking (?:his|her) (?:call|phone)"
)


def is_urgent(normalised_text: str) -> bool:
    """An urgent phrase (a medical emergency, a fire, a threat to kill, shots, someone untraceable), not negated."""
    return _URGENT_RE.search(normalised_text) is not None and _NEGATION_RE.search(normalised_text) is None


# A child in a missing-person post makes it an emergency whatever else the post says (taxonomy: "a missing
# child"): an age under 16 next to a year word, or a word that only names a child.
_CHILD_AGE = re.compile(
    r"(?<![\d.,])(\d{1,2})\s*[-+]?\s*(?:yrs?|years?|yr|y/?o|year[- ]old|saal|sal|varsha|varshada|tuoi|thang)\b"
    r"|\b(?:age|aged|umar|umr|vayassu)\s*[:\-]?\s*(\d{1,2})\b"
    r"|\b(?:niece|nephew|son|daughter|sister|brother|sis|bro|boy|girl|beti|beta|magalu|maga)\s*\((\d{1,2})\)"
    r"|\b(?:boy|girl|child|kid|ladka|ladki)\s+(?:of\s+)?(?:abt|about|around|approx|aged)\s*(\d{1,2})\b"
    r"|(\d{1,2})\s*(?:साल|वर्ष|ವರ್ಷ)"
)
_CHILD_WORDS = re.compile(
    r"\b(?:baby|toddler|infant|minor|kid|kids|child|children|schoolboy|schoolgirl|class \d{1,2} student"
    r"|bachcha|baccha|bacha|bachchi|bacchi|magu|makkalu|chau be|be gai|be trai|con toi)\b"
    r"|बच्चा|बच्ची|बच्चे|नाबालिग|ಮಗು|ಮಕ್ಕಳು|ಬಾಲಕ|ಬಾಲಕಿ"
)
_FOUND_SAFE = re.compile(
    r"(?:was|is) found\b|(?:has|have) been found|\b(?:mila gaya|mil gay[ai]|sikkidd?(?:a|e|aa)[nrl]?e?)\b|da tim thay"
    r"|मिल (?:गया|गई)|ಸಿಕ್ಕಿದ"
)


def names_a_child(normalised_text: str) -> bool:
    """The post is about a child: "my son (13)", "15yrs", "4 yr old", "baby sister", बच्चा, ಮಗು."""
    for match in _CHILD_AGE.finditer(normalised_text):
        age = next(group for group in match.groups() if group)
        if int(age) < 16:
            return True
    return _CHILD_WORDS.search(normalised_text) is not None


def is_missing_child(normalised_text: str) -> bool:
    """A missing-person post about a child who has not been found yet."""
    return names_a_child(normalised_text) and _FOUND_SAFE.search(normalised_text) is None


# The police themselves accused (taxonomy: the misconduct flag): a refused or unregistered complaint, a bribe,
# abuse or harassment by police, a complaint of one's own ignored. Matched on the normalised text, which carries
# Devanagari and Kannada words followed by their romanised spelling, so each pattern has its script forms.
_POLICE = (
    r"(?:police|polis|cops?|constables?|inspector|sub[- ]inspector|\bsi\b|\basi\b|hawaldar|havaldar|head constable"
    r"|thana|thane|thaane|station|\bps\b|munshi|writer|hoysala|pcr|beat (?:staff|officer)|traffic (?:wale|wala|police)"
    r"|पुलिस|थान[ेा]|सिपाही|हवलदार|दरोगा|ಪೊಲೀಸ|ಠಾಣೆ|ಪೇದೆ|ಸಿಬ್ಬಂದಿ)"
)
_COMPLAINT = r"(?:fir|f\.i\.r|complaint|complain|case|report|shikayat|duru|dooru|एफआईआर|एफ़आईआर|रिपोर्ट|शिकायत|ಎಫ್\S*ಐಆರ್|ದೂರು)"
# fmt: off
_MISCONDUCT_PATTERNS: tuple[str, ...] = (
    rf"refus\w* to (?:register|file|lodge|take|accept|write|record) (?:an? |my |the |our |his |her )?{_COMPLAINT}",
    rf"(?:not|n't|never|no one|nobody) (?:\w+ )?(?:register|registering|registered|file|filing|filed|lodge|lodging|lodged|accept|accepting|accepted|writ(?:e|ing)|record|recording|taking|take|took) (?:an? |my |the |our |his |her )?{_COMPLAINT}",
    rf"{_COMPLAINT} (?:\w+ ){{0,2}}(?:not|never) (?:been )?(?:registered|filed|lodged|accepted|taken|written)",
    rf"{_COMPLAINT} (?:\w+ ){{0,3}}(?:likh|darj|lekh|le)\w* (?:\w+ )?(?:nahi|nahin|nhi|na|se mana|se inkar)",
    rf"{_COMPLAINT} (?:\w+ ){{0,3}}(?:likhne|likhane|darj karne|lene|likhwane) se (?:mana|inkar)",
    r"(?:दर्ज|लिख)\S* (?:\S+ ){0,3}(?:नहीं|से मना|से इनकार)|(?:लिखने|दर्ज करने) से (?:मना|इनकार)",
    r"ದಾಖಲಿಸ\S*(?: \S+){0,2} (?:ನಿರಾಕರಿಸ|ಇಲ್ಲ)|ದಾಖಲಿಸಿಕೊಳ್ಳ\S*ಲ್ಲ|ದಾಖಲಿಸಿಲ್ಲ|ತೆಗೆದುಕೊಳ್ಳ\S*ಲ್ಲ|ಸ್ವೀಕರಿಸ\S*ಲ್ಲ",
    rf"{_COMPLAINT} (?:\w+ ){{0,2}}(?:tagond|tagol|togond|register maad|dakhal)\w* ?(?:illa|ill|alla)",
    rf"{_POLICE}\b.{{0,60}}(?:\b(?:bribe|bribes|bribery|rishwat|rishvat|ghoos|ghus|lancha|lanch)\b|रिश्वत|घूस|ಲಂಚ)",
    rf"(?:\b(?:bribe|bribes|bribery|rishwat|rishvat|ghoos|ghus|lancha|lanch)\b|रिश्वत|घूस|ಲಂಚ).{{0,60}}{_POLICE}",
    rf"{_POLICE}\b.{{0,60}}\b(?:extort\w*|harass\w*|abus(?:ed|ive|ing)|misbehav\w*|manhandl\w*|slapp?\w*|beat (?:me|us|him|her)|rude|threaten\w*|took money|taking money|demand\w* money|asked (?:for )?(?:money|rs|₹)|paise (?:le|maang)\w*|paisa (?:le|maang)\w*|hafta|vasooli|vasuli|gaali|badtameez\w*|duddu tago\w*)",
    rf"\b(?:extort\w*|harass\w*|abused|misbehaved|slapped|beaten) by (?:the |a |an )?{_POLICE}",
    rf"(?:complain\w*|reported|called 100|dial\w* 100|{_COMPLAINT}) .{{0,80}}(?:no action|nothing happened|no response|ignored|did nothing|not bothered|koi action nahi|kuch nahi (?:kiya|hua))",
    r"पैसे (?:ले|माँग|मांग)|बदतमीज़ी|ರಸೀದಿ ಇಲ್ಲದೆ|ಹಣ ವಸೂಲಿ|ಅಸಭ್ಯವಾಗಿ ವರ್ತಿಸ",
)
# fmt: on
_MISCONDUCT_RE = _compile(_MISCONDUCT_PATTERNS)


def accuses_police(normalised_text: str) -> bool:
    """Whether the post accuses the police of misconduct in words the phrase layer knows, in any of the
    corpus's languages: "the station refuses to file an FIR", "FIR likhne se mana", "ದೂರು ದಾಖಲಿಸಲು ನಿರಾಕರಿಸಿದರು"."""
    return _MISCONDUCT_RE.search(normalised_text) is not None


@dataclass(frozen=True)
class EmergencyRule:
    """The model's probability needed for ``emergency``, by what the phrase layer saw."""

    threshold: float = 0.5
    phrase_threshold: float = 0.25
    negated_threshold: float = 0.75

    def decide(self, probability: float, cue: Cue) -> bool:
        needed = {Cue.PHRASE: self.phrase_threshold, Cue.NEGATED: self.negated_threshold}.get(cue, self.threshold)
        return probability >= needed


@dataclass(frozen=True)
class VipList:
    """Accounts whose posts get raised priority: X handles (case-insensitive, without ``@``) and
    Facebook page / user ids (exact)."""

    handles: frozenset[str] = frozenset()
    page_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # However it is built (config may give "@CMofKarnataka" or a tuple), compare normalised forms.
        object.__setattr__(self, "handles", frozenset(_handle(h) for h in self.handles if _handle(h)))
        object.__setattr__(self, "page_ids", frozenset(p.strip() for p in self.page_ids if p.strip()))

    @classmethod
    def of(cls, handles: Iterable[str] = (), page_ids: Iterable[str] = ()) -> VipList:
        return cls(frozenset(handles), frozenset(page_ids))

    def contains(self, account: str | None) -> bool:
        if not account:
            return False
        return _handle(account) in self.handles or account.strip() in self.page_ids


def _handle(value: str) -> str:
    return value.strip().lstrip("@").casefold()


# A VIP handle "raises" a post when the text presents it as the source, not when it is merely tagged
# (citizens tag @CMofKarnataka on everything): "RT @x:", "via @x", "@x: ...", "@x said/flagged ...".
_RAISED_BY = re.compile(
    r"(?:\brt\s+@(?P<a>\w+)|\bvia\s+@(?P<b>\w+)|(?:^|[\s\"“'(])@(?P<c>\w+)\s*:"
    r"|@(?P<d>\w+)(?:'s office)?\s+(?:says|said|writes|wrote|tweeted|posted|flagged|asked|directed|instructed"
    r"|forwarded|ordered|reported|raised|complained)"
    r"|\b(?:from|by|per|quoting|forwarded by)\s+@(?P<e>\w+))",
    re.IGNORECASE,
)


def is_vip(
    author_handle: str | None,
    author_id: str | None,
    text: str,
    referenced_authors: Iterable[str],
    vip: VipList,
) -> bool:
    """A post is VIP when (1) its author is on the list (handle or page id), (2) it quotes, replies to or
    shares a post whose author is on the list (``referenced_authors``: handles or ids), or (3) its text
    presents a listed handle as the one raising it ("RT @CMofKarnataka: ...", "via @HMOIndia",
    "@CMofKarnataka flagged ..."). Tagging a listed handle in one's own complaint is not enough."""
    if vip.contains(author_handle) or vip.contains(author_id):
        return True
    if any(vip.contains(account) for account in referenced_authors):
        return True
    for match in _RAISED_BY.finditer(text[:5000]):
        handle = next(group for group in match.groups() if group)
        if vip.contains(handle):
            return True
    return False
