"""Reply templates: every reply fits its platform, in every language, with the sample deployment's
longest names; X's weighted length; the reply language of a post; a broken templates file."""

from __future__ import annotations

import csv
import tomllib
import unicodedata
from pathlib import Path

import pytest

from models.followup import REPLY_KINDS
from monitor.followup.templates import (
    ELLIPSIS,
    LANGUAGES,
    PLATFORMS,
    ReplyTemplates,
    TemplateError,
    fits,
    language_for,
    placeholders,
    weighted_length,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ReplyTemplates.load(ROOT / "data" / "templates" / "replies.toml")
CONFIG = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
LONG_CONTACT = "1533 (24x7 helpline) or write to comm-grievances@bbmp.gov.in"  # until config has the contacts
LONGEST_DOCKET = "BLR-2026-999999"
LONGEST_REF = f"Ref {LONGEST_DOCKET}/X12-99999999"  # the composer's marker: docket, kind and round, post id
NOTE_SENTENCES = {
    "en": "Our team visited the spot, cleared the vehicles parked on the footpath and fined their owners. ",
    "kn": "ನಮ್ಮ ತಂಡ ಸ್ಥಳಕ್ಕೆ ಭೇಟಿ ನೀಡಿ ಪಾದಚಾರಿ ಮಾರ್ಗದಲ್ಲಿ ನಿಲ್ಲಿಸಿದ್ದ ವಾಹನಗಳನ್ನು ತೆರವುಗೊಳಿಸಿ ಮಾಲೀಕರಿಗೆ ದಂಡ ವಿಧಿಸಿದೆ. ",
    "hi": "हमारी टीम ने मौके पर जाकर फुटपाथ पर खड़े वाहनों को हटाया और उनके मालिकों पर जुर्माना लगाया। ",
    "vi": "Tổ công tác đã đến hiện trường, giải tỏa các phương tiện đỗ trên vỉa hè và xử phạt các chủ xe vi phạm. ",
}


def longest(path: Path, *columns: str) -> str:
    with path.open(encoding="utf-8", newline="") as f:
        return max((row[c] for row in csv.DictReader(f) for c in columns if row.get(c)), key=len)


def sample_values() -> dict[str, str]:
    """The longest of everything the sample deployment can put in a reply."""
    people = ROOT / "data" / CONFIG["routing"]["people_dir"]
    office = max(longest(people / "stations.csv", "name", "name_kn"), longest(people / "offices.csv", "name"), key=len)
    authorities = [*CONFIG["routing"]["referral_authorities"], CONFIG["routing"]["referral_default"]]
    contacts = [*CONFIG.get("followup", {}).get("referral_contacts", {}).values(), LONG_CONTACT]
    return {
        "docket": LONGEST_DOCKET,
        "ref": LONGEST_REF,
        "office": office,
        "authority": max(authorities, key=len),
        "authority_contact": max(contacts, key=len),
        "emergency_number": "112",
        "force": CONFIG["deployment"]["name"],
    }


def long_note(language: str) -> str:
    sentence = NOTE_SENTENCES[language]
    return (sentence * (1000 // len(sentence) + 1))[:1000]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", REPLY_KINDS)
def test_every_reply_fits_with_the_longest_names_and_only_the_note_is_cut(
    kind: str, language: str, platform: str
) -> None:
    values = {**sample_values(), "note": long_note(language)}
    text = TEMPLATES.render(kind, language, platform, values)
    assert fits(text, platform)
    assert text.count(values["ref"]) == 1
    names = placeholders(TEMPLATES.template(kind, language, platform))
    for name in names - {"note"}:
        assert values[name] in text, f"{name} was cut"
    if "note" in names:
        kept = next(part for part in text.split("“")[1:] if ELLIPSIS in part).split(ELLIPSIS)[0]
        assert len(kept) > 40 and values["note"].startswith(kept)


def test_the_sample_deployment_has_every_kind_in_every_language_on_both_platforms() -> None:
    assert set(TEMPLATES.texts) == {(k, lang, p) for k in REPLY_KINDS for lang in LANGUAGES for p in PLATFORMS}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_short_note_is_posted_whole(language: str) -> None:
    note = NOTE_SENTENCES[language].strip()
    text = TEMPLATES.render("action_taken", language, "x", {**sample_values(), "note": note})
    assert note in text and ELLIPSIS not in text


# Counts as twitter-text-parser 3.0.0 gives them (run once with setuptools 80.9, which still had pkg_resources).
@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("hello", 5),
        ("ಪೊಲೀಸ್ ಠಾಣೆ", 11),  # Kannada letters, vowel signs and viramas weigh 1
        ("ಸಂಚಾರ ದಟ್ಟಣೆ ಹೆಚ್ಚಾಗಿದೆ, ದಯವಿಟ್ಟು ಕ್ರಮ ಕೈಗೊಳ್ಳಿ", 47),
        ("नमस्ते पुलिस", 12),
        ("कृपया जल्दी कार्रवाई करें", 25),
        ("Cảm ơn bạn đã phản ánh", 25),  # ả ạ ả weigh 2 (U+1EA0-U+1EF9), ơ đ á weigh 1
        ("Kết quả xử lý", 16),
        ("ạảấầẩẫậắằẳẵặ", 24),
        ("ăâđêôơư", 7),
        ("Ca\u0309m ơn", 7),  # a + combining hook is ả once normalised
        ("😷", 2),
        ("🙏", 2),
        ("❤️", 2),
        ("©", 2),
        ("1️⃣", 2),
        ("https://example.com/a/very/long/path/that/goes/on", 23),
        ("see https://ksp.gov.in/x, then", 33),
        ("(https://x.com/a)", 25),
        ("Visit https://x.com/a.", 30),
        ("bbmp.gov.in", 23),
        ("help@bbmp.gov.in", 16),  # an e-mail address is not a link
        ("…", 2),
        ("– “quoted” —", 12),
        ("₹500", 5),
        ("\r\n", 1),
        ("Traffic jam at Silk Board 🚗🚗 https://t.co/abc123 please help", 66),
    ],
)
def test_weighted_length_is_what_x_counts(text: str, count: int) -> None:
    assert weighted_length(text) == count


@pytest.mark.parametrize(
    ("text", "x_count"),
    [("Done.Thanks", 11), ("www.bbmp.gov.in/complaints", 23), ("👍🏽", 2), ("👨\u200d👩\u200d👧", 2), ("🇮🇳", 2)],
)
def test_where_unsure_weighted_length_counts_more_never_less(text: str, x_count: int) -> None:
    assert x_count <= weighted_length(text) <= x_count + 15


@pytest.mark.parametrize(
    ("text", "platform", "expected"),
    [
        ("x" * 280, "x", True),
        ("x" * 281, "x", False),
        ("ಕ" * 280, "x", True),
        ("ạ" * 140, "x", True),
        ("ạ" * 141, "x", False),
        ("https://example.com/" + "a" * 300, "x", True),
        ("ạ" * 600, "facebook", True),
        ("x" * 601, "facebook", False),
    ],
)
def test_fits_its_platform(text: str, platform: str, expected: bool) -> None:
    assert fits(text, platform) is expected


def test_fits_refuses_an_unknown_platform() -> None:
    with pytest.raises(ValueError, match="unknown platform 'instagram'"):
        fits("hi", "instagram")


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "replies.toml"
    path.write_text(body, encoding="utf-8")
    return path


MINIMAL = "\n".join(
    f'[{kind}.en]\ntext = "{kind} {{docket}} {{office}} {{authority}} {{authority_contact}} {{note}} {{emergency_number}} {{ref}}"\n'
    for kind in REPLY_KINDS
)


def test_a_language_missing_for_a_kind_is_answered_in_english(tmp_path: Path) -> None:
    templates = ReplyTemplates.load(write(tmp_path, MINIMAL + '[thanks.kn]\ntext = "ಧನ್ಯವಾದಗಳು {ref}"\n'))
    assert templates.template("thanks", "kn", "x") == "ಧನ್ಯವಾದಗಳು {ref}"
    assert templates.template("thanks", "vi", "facebook").startswith("thanks ")


def test_a_broken_templates_file_names_every_problem(tmp_path: Path) -> None:
    body = "\n".join(
        [
            '[acknowledgement.en]\ntext = "Registered as {docket}, sent to {station}. {ref}"',
            '[acknowledgement.ta]\ntext = "{ref}"',
            '[emergency.kn]\ntext = "ಕರೆ ಮಾಡಿ {emergency_number} {ref}"',
            '[emergency.hi]\ntext = "कॉल करें: {emergency_number}} {ref}"',
            '[referral.en]\ntext = "Contact {authority} at {authority_contact}."',
            '[thanks.en]\ntext = "Thank you, says @BlrCityPolice {ref}"',
            '[action_taken.en]\nx = "{note} {docket} {ref}"\ncolour = "blue"',
            '[reopened.en]\ntext = "Reopened {docket} {ref:>10}"',
            '[greeting.en]\ntext = "Hello {ref}"',
        ]
    )
    with pytest.raises(TemplateError) as caught:
        ReplyTemplates.load(write(tmp_path, body))
    problems = "\n".join(caught.value.problems)
    for expected in [
        "[acknowledgement.en] text: unknown placeholder {station}",
        "[acknowledgement.en] text: acknowledgement needs {office}",
        "[acknowledgement.ta]: unknown language",
        "[emergency.en]: missing (English is the text every other language falls back to)",
        "[emergency.hi] text: braces do not pair",
        "[referral.en] text: referral needs {ref}",
        "[thanks.en] text: @BlrCityPolice: no @-mention",
        "[action_taken.en]: no text for facebook",
        "[action_taken.en] colour: unknown key",
        "[reopened.en] text: write placeholders as {name} only, found {ref:>10}",
        "[greeting]: unknown reply kind",
    ]:
        assert expected in problems
    assert all(p.startswith(str(tmp_path)) for p in caught.value.problems)


def test_a_templates_file_that_is_not_toml_says_where(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"not valid TOML: .*line 2"):
        ReplyTemplates.load(write(tmp_path, '[thanks.en]\ntext = "Thank you {ref}\n'))


def test_a_missing_templates_file_is_one_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read the templates file"):
        ReplyTemplates.load(tmp_path / "nowhere.toml")


def test_a_kind_missing_from_the_file_is_named(tmp_path: Path) -> None:
    body = MINIMAL.replace('[thanks.en]\ntext = "thanks', '[thanks.kn]\ntext = "thanks')
    with pytest.raises(TemplateError, match=r"\[thanks.en\]: missing"):
        ReplyTemplates.load(write(tmp_path, body))


def test_a_template_too_long_before_any_value_is_refused(tmp_path: Path) -> None:
    body = MINIMAL.replace('text = "thanks', f'facebook = "{"x" * 300}"\nx = "{"x" * 300}')
    with pytest.raises(TemplateError, match=r"\[thanks.en\] x: too long for x before any name or note"):
        ReplyTemplates.load(write(tmp_path, body))


def render_short(tmp_path: Path, template: str, **values: str) -> str:
    """An action-taken reply on X from this template, with these values (the rest empty)."""
    ours = f'[action_taken.en]\ntext = "{template}"\n'
    body = "\n".join(t for t in MINIMAL.split("\n\n") if not t.startswith("[action_taken.")) + "\n" + ours
    templates = ReplyTemplates.load(write(tmp_path, body))
    filled = dict.fromkeys(placeholders(template), "")
    return templates.render("action_taken", "en", "x", {**filled, **values})


def test_the_note_is_cut_at_a_word_and_the_ref_is_never_cut(tmp_path: Path) -> None:
    note = "Vehicles cleared from the footpath " * 20
    text = render_short(tmp_path, "Done on {docket}: {note} {ref}", note=note, ref=LONGEST_REF, docket=LONGEST_DOCKET)
    assert weighted_length(text) <= 280
    assert text.endswith(LONGEST_REF) and text.startswith(f"Done on {LONGEST_DOCKET}: ")
    kept = text.removeprefix(f"Done on {LONGEST_DOCKET}: ").split(ELLIPSIS)[0]
    assert len(kept) > 150 and note.startswith(kept) and note[len(kept)] == " "


@pytest.mark.parametrize("language", ["kn", "hi"])
@pytest.mark.parametrize("padding", range(12))  # the cut falls on twelve different letters
def test_a_note_in_an_indic_script_is_not_cut_inside_a_letter(tmp_path: Path, language: str, padding: int) -> None:
    note = long_note(language).replace(" ", "")  # no word to cut at
    prefix = f"{LONGEST_DOCKET}: {'x' * padding} "
    text = render_short(
        tmp_path,
        prefix.replace(LONGEST_DOCKET, "{docket}") + "{note} {ref}",
        note=note,
        ref=LONGEST_REF,
        docket=LONGEST_DOCKET,
    )
    kept = text.removeprefix(prefix).split(ELLIPSIS)[0]
    assert note.startswith(kept)
    following = note[len(kept)]
    assert unicodedata.category(following)[0] != "M", "a vowel sign or virama was left behind"
    assert kept[-1] not in "\u0ccd\u094d", "a letter was cut after its virama"


def test_the_contact_is_cut_after_the_note(tmp_path: Path) -> None:
    template = "Done on {docket}. " + "x" * 150 + " [{note}] Contact {authority_contact}. {ref}"
    text = render_short(
        tmp_path, template, note="n" * 50, authority_contact="c" * 100, ref=LONGEST_REF, docket=LONGEST_DOCKET
    )
    assert weighted_length(text) <= 280
    assert "n" not in text.split("[")[1].split("]")[0] and ("c" * 30 + ELLIPSIS) in text and text.endswith(LONGEST_REF)


def test_a_reply_that_cannot_fit_even_without_its_free_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="does not fit x even without note"):
        render_short(
            tmp_path, "x" * 150 + " {docket} {note} {force} {ref}", note="a long note " * 10, force="Police " * 20
        )


def test_a_missing_value_is_named(tmp_path: Path) -> None:
    templates = ReplyTemplates.load(write(tmp_path, MINIMAL))
    with pytest.raises(
        TemplateError,
        match="action_taken.en.x: no value for authority, authority_contact, docket, emergency_number, note, office",
    ):
        templates.render("action_taken", "en", "x", {"ref": "Ref X"})


@pytest.mark.parametrize(
    ("text", "lang", "expected", "configured"),
    [
        ("ಸಿಲ್ಕ್ ಬೋರ್ಡ್ ಬಳಿ ಭಾರೀ ಟ್ರಾಫಿಕ್ ಜಾಮ್, ದಯವಿಟ್ಟು ಸಹಾಯ ಮಾಡಿ", None, "kn", "kn"),
        ("ದಯವಿಟ್ಟು help ಮಾಡಿ ಸರ್ 🙏", "kn", "kn", "kn"),
        ("सिल्क बोर्ड के पास भारी जाम है, कृपया मदद करें", "hi", "hi", "hi"),
        ("ट्रैफिक जाम @BlrCityPolice", None, "hi", "hi"),
        ("Bhai yahan 2 ghante se jam hai, koi traffic police nahi hai", "hi", "en", "hi"),
        ("Yahan koi police nahi hai, jaldi bhejo", None, "en", "hi"),
        ("Signal kelsa maadtha illa, swalpa nodi sir", "kn", "en", "kn"),
        ("Signal illa, swalpa bega banni", None, "en", "kn"),
        ("Xe máy đỗ trên vỉa hè đường Láng, đề nghị xử lý", None, "vi", "vi"),
        ("xe may do tren via he duong Lang", "vi", "vi", "vi"),
        ("Huge traffic jam near Silk Board junction, please help", "en", "en", "en"),
        ("Traffic in Đà Nẵng is terrible today, please send someone to help", None, "en", "en"),
        ("Accident near ಮೆಜೆಸ್ಟಿಕ್ bus stand, ambulance needed urgently", None, "en", "en"),
        ("Namma Metro is very crowded today, please manage the queue", None, "en", "en"),
        ("போக்குவரத்து நெரிசல் அதிகம்", "ta", "en", "en"),
        ("🚨🚨🙏", None, "en", "en"),
        ("@BlrCityPolice https://t.co/abc123", "zxx", "en", "en"),
    ],
)
def test_the_reply_language_follows_the_post(text: str, lang: str | None, expected: str, configured: str) -> None:
    assert language_for(text, lang) == expected
    assert language_for(text, lang, hinglish="hi", kanglish="kn") == configured


def test_an_unknown_language_for_hinglish_is_refused() -> None:
    with pytest.raises(ValueError, match="hinglish='ur'"):
        language_for("kya hua", "hi", hinglish="ur")
