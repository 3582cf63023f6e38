"""Property tests: reply templates, deadline tables and masking on arbitrary input (issue 12, items 6 and 7).

- A templates file changed at random loads or gives one ``TemplateError``; a reply rendered from the real
  templates with any note, office and contact fits its platform and keeps its docket and ref whole.
- ``DeadlinePolicy.from_mapping`` on any table gives a policy whose deadlines come after the start, or one
  ``DeadlinePolicyError`` (a ``ValueError``) listing the problems.
- Masked text never holds the phone number, e-mail address or Aadhaar number written into it, whatever text
  surrounds them; masking is idempotent; ``MaskingPolicy.from_mapping`` gives a policy or one ``ValueError``.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from models.deadlines import DeadlinePolicy, DeadlinePolicyError
from models.followup import REPLY_KINDS
from models.taxonomy import Category
from monitor.followup.masking import MaskingPolicy, MaskingRules, mask
from monitor.followup.templates import LANGUAGES, PLATFORMS, ReplyTemplates, TemplateError, fits
from tests.unit.test_properties_settings import TOML_VALUES, toml_document

SCALE = int(os.environ.get("PROPERTY_EXAMPLES", "1"))
PROPERTY = settings(
    max_examples=50 * SCALE,
    deadline=None,
    derandomize=SCALE == 1,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_FILE = ROOT / "data" / "templates" / "replies.toml"
TEMPLATES = ReplyTemplates.load(TEMPLATES_FILE)
RAW_TEMPLATES = tomllib.loads(TEMPLATES_FILE.read_text(encoding="utf-8"))

FREE_TEXT = st.text(max_size=400) | st.sampled_from(
    ["", "{docket}", "}{", "{{", "🙏" * 300, "ಕ್ರಮ ಕೈಗೊಳ್ಳಲಾಗಿದೆ " * 40, "https://example.org/" + "a" * 400,
     "Done.Thanks" * 60, "x" * 20_000, "\u0ccd\u200d" * 100, "e\u0301" * 500]
)

# ---- templates ----------------------------------------------------------------------------------------------

TEMPLATE_TEXT = st.text(max_size=60) | st.sampled_from(
    ["{docket} {ref} {office}", "{ref}", "{0}", "{}", "{docket!r}", "{note:>10}", "{a.b}", "{ref} @someone",
     "{docket} {ref} {office} " + "x" * 600, "}", "{{literal}} {ref} {docket}"]
)


@st.composite
def templates_documents(draw: st.DrawFn) -> dict[str, Any]:
    """The real templates with some texts replaced, some tables replaced by arbitrary TOML, some removed."""
    document: dict[str, Any] = {kind: dict(table) for kind, table in RAW_TEMPLATES.items()}
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from([*REPLY_KINDS, "unknown_kind"]))
        action = draw(st.sampled_from(["text", "text", "table", "remove", "language"]))
        if action == "text" and isinstance(document.get(kind), dict):
            lang = draw(st.sampled_from([*LANGUAGES, "xx"]))
            document[kind][lang] = {draw(st.sampled_from(["text", *PLATFORMS, "other"])): draw(TEMPLATE_TEXT)}
        elif action == "table":
            document[kind] = draw(TOML_VALUES)
        elif action == "remove":
            document.pop(kind, None)
        elif isinstance(document.get(kind), dict):
            document[kind][draw(st.sampled_from(LANGUAGES))] = draw(TOML_VALUES)
    return document


@PROPERTY
@given(templates_documents() | st.dictionaries(st.text(max_size=5), TOML_VALUES, max_size=4))
def test_a_changed_templates_file_loads_or_names_its_problems(tmp_path: Path, document: dict[str, Any]) -> None:
    path = tmp_path / "replies.toml"
    path.write_text(toml_document(document), encoding="utf-8")
    try:
        loaded = ReplyTemplates.load(path)
    except TemplateError as exc:
        assert exc.problems and all(p.startswith(str(path)) for p in exc.problems)
        return
    for kind in REPLY_KINDS:
        for platform in PLATFORMS:
            assert loaded.template(kind, "en", platform)


@PROPERTY
@given(st.binary(max_size=300))
@example(b"\xff\xfe[acknowledgement.en]")
def test_a_templates_file_of_random_bytes_is_one_template_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "replies.toml"
    path.write_bytes(raw)
    try:
        ReplyTemplates.load(path)
    except TemplateError:
        return
    raise AssertionError("random bytes loaded as templates")


@PROPERTY
@given(
    st.sampled_from(REPLY_KINDS),
    st.sampled_from(LANGUAGES),
    st.sampled_from(PLATFORMS),
    FREE_TEXT,
    FREE_TEXT,
    FREE_TEXT,
    st.text(max_size=20),
)
@example("action_taken", "kn", "x", "https://example.org/" + "a" * 400, "", "", "BBMP")
@example("referral", "vi", "x", "", "", "Done.Thanks" * 60, "BBMP")
def test_a_rendered_reply_fits_and_keeps_its_docket_and_ref(
    kind: str, language: str, platform: str, note: str, office: str, contact: str, authority: str
) -> None:
    values = {
        "docket": "BLR-2026-000123",
        "ref": "Ref BLR-2026-000123/A-7",
        "note": note,
        "office": office,
        "authority_contact": contact,
        "authority": authority,
        "emergency_number": "112",
        "force": "Bengaluru City Police",
    }
    text = TEMPLATES.render(kind, language, platform, values)
    assert fits(text, platform)
    assert "Ref BLR-2026-000123/A-7" in text
    if "{docket}" in TEMPLATES.template(kind, language, platform):
        assert "BLR-2026-000123" in text


# ---- deadline tables ----------------------------------------------------------------------------------------

DURATIONS = st.integers(min_value=-5, max_value=600_000) | st.sampled_from(
    ["2 h", "90 min", "1 working day", "3 working days", "0 min", "2 days", "366 working days", "527040 min",
     "9" * 5_000 + " min", "٣ h", "", "h"]
) | TOML_VALUES
WINDOWS = st.dictionaries(st.sampled_from(["acknowledge", "act", "vip", "emergency", "other"]), DURATIONS, max_size=3)
DEADLINE_TABLES = st.fixed_dictionaries(
    {},
    optional={
        "normal": WINDOWS | TOML_VALUES,
        "emergency": WINDOWS,
        "vip": WINDOWS,
        "working_days": st.sampled_from(["mon-sat", "sun", "fri-mon", "", "mon,wed", "xyz"])
        | st.lists(st.sampled_from(["mon", "tue", "sat-sun", "funday"]) | TOML_VALUES, max_size=3),
        "holidays": st.lists(st.dates() | TOML_VALUES, max_size=4) | TOML_VALUES,
        "categories": st.dictionaries(st.sampled_from([c.value for c in Category]) | st.text(max_size=6),
                                      WINDOWS | TOML_VALUES, max_size=3) | TOML_VALUES,
        "unknown": TOML_VALUES,
    },
)


@PROPERTY
@given(DEADLINE_TABLES, st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),
       st.sampled_from([c.value for c in Category]), st.booleans(), st.booleans())
@example({"normal": {"act": "9" * 5_000 + " min"}}, datetime(2026, 11, 20), "theft", False, False)
@example({"working_days": "sun", "holidays": [], "normal": {"act": "366 working days"}}, datetime(2026, 11, 20),
         "theft", False, False)
def test_a_deadline_table_gives_deadlines_after_the_start_or_its_problems(
    table: dict[str, Any], start: datetime, category: str, is_emergency: bool, is_vip: bool
) -> None:
    try:
        policy = DeadlinePolicy.from_mapping(table, section="followup.deadlines")
    except DeadlinePolicyError as exc:
        assert exc.problems and all(p.startswith("followup.deadlines") for p in exc.problems), exc.problems
        return
    start_at = start.replace(tzinfo=UTC)
    deadlines = policy.deadlines_for(category, is_emergency, is_vip, start_at)
    latest = start_at + timedelta(weeks=366 + 5)  # 366 working days of one a week, and a few holidays
    assert start_at < deadlines.acknowledge_by <= latest
    assert start_at < deadlines.act_by <= latest


# ---- masking ------------------------------------------------------------------------------------------------

# Around the personal data: any text without digits, "+" or "@" (which could join it into a longer number or
# address, making it some other string), set off by a space as it is in a sentence.
SURROUNDING = st.text(
    st.characters(blacklist_categories=("Nd", "No", "Nl", "Cs"), blacklist_characters="+@.-_"), max_size=40
)
MOBILE = st.integers(6_000_000_000, 9_999_999_999).map(str).filter(
    lambda n: phonenumbers.is_valid_number(phonenumbers.parse(n, "IN"))
)


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, str]:
    """An Indian mobile number as people write it, and its ten digits."""
    digits = draw(MOBILE)
    written = draw(st.sampled_from(["{d}", "+91 {a} {b}", "+91-{d}", "0{d}", "{a} {b}", "+91{d}", "91{d}"]))
    return written.format(d=digits, a=digits[:5], b=digits[5:]), digits


EMAILS = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[a-z][a-z0-9._+]{0,15}", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
    st.sampled_from(["com", "in", "org", "co.in", "gov.in"]),
)
AADHAAR = st.from_regex(r"[2-9][0-9]{11}", fullmatch=True).flatmap(
    lambda d: st.sampled_from([d, f"{d[:4]} {d[4:8]} {d[8:]}", f"{d[:4]}-{d[4:8]}-{d[8:]}"])
)


def digits_of(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


@PROPERTY
@given(SURROUNDING, phones(), SURROUNDING, EMAILS, SURROUNDING, AADHAAR, SURROUNDING,
       st.sampled_from(["partial", "label"]))
@example("Call", ("+91 98450 12345", "9845012345"), "or mail", "ravi.k@gmail.com", "Aadhaar", "2345 6789 0123", "",
         "partial")
def test_masked_text_never_holds_the_phone_email_or_aadhaar_written_in_it(
    before: str, phone: tuple[str, str], middle: str, email: str, then: str, aadhaar: str, after: str,
    replacement: str,
) -> None:
    written, phone_digits = phone
    text = f"{before} {written} {middle} {email} {then} {aadhaar} {after}"
    rules = MaskingRules(replacement="partial" if replacement == "partial" else "label")
    masked = mask(text, rules)
    assert phone_digits not in digits_of(masked)
    assert email not in masked
    assert digits_of(aadhaar) not in digits_of(masked)
    assert mask(masked, rules) == masked  # nothing it wrote is masked again
    for kept in (before, middle, then, after):
        assert kept.strip() in masked


@PROPERTY
@given(st.text(max_size=300) | st.sampled_from(["9" * 5_000, "a@" * 2_000, "KA 01 AB 1234 " * 200, "1.2.3." * 500]))
def test_masking_any_text_is_idempotent_and_never_raises(text: str) -> None:
    for rules in (MaskingRules(), MaskingRules(vehicle_numbers="mask", replacement="label")):
        masked = mask(text, rules)
        assert mask(masked, rules) == masked


@PROPERTY
@given(TOML_VALUES | st.dictionaries(st.sampled_from(["default", *REPLY_KINDS, "nope"]),
                                     st.dictionaries(st.sampled_from(["phones", "emails", "identity_numbers",
                                                                      "vehicle_numbers", "regions", "replacement",
                                                                      "other"]), TOML_VALUES), max_size=3))
@example({"default": {"regions": [["IN"]]}})
@example({"default": {"vehicle_numbers": ["keep"]}})
def test_a_masking_table_gives_a_policy_or_one_value_error(raw: Any) -> None:
    try:
        policy = MaskingPolicy.from_mapping(raw)
    except ValueError as exc:
        assert str(exc).startswith("masking")
        return
    for kind in REPLY_KINDS:
        assert isinstance(policy.mask(kind, "call 9845012345"), str)
