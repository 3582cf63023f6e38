"""Personal data in a reply is masked as the deployment configured, and nothing else is touched."""

from __future__ import annotations

import pytest

from models.followup import REPLY_KINDS
from monitor.followup.masking import EMAIL_HIDDEN, MaskingPolicy, MaskingRules, find_personal_data, mask

DEFAULT = MaskingRules()
VEHICLES_MASKED = MaskingRules(vehicle_numbers="mask")
LABELLED = MaskingRules(vehicle_numbers="mask", replacement="label")


def test_an_officers_note_with_every_kind_of_contact_has_all_four_masked() -> None:
    note = (
        "Spoke to the complainant on 98450 12345, called the Adugodi station on 080-2294 2222, "
        "his brother in Hanoi on +84 912 345 678 and wrote to ravi.kumar@example.com. Vehicle towed."
    )
    masked = mask(note, DEFAULT)
    assert masked == (
        "Spoke to the complainant on XXXXX XXX45, called the Adugodi station on XXX-XXXX XX22, "
        f"his brother in Hanoi on +84 XXX XXX X78 and wrote to {EMAIL_HIDDEN}. Vehicle towed."
    )
    assert [f.kind for f in find_personal_data(note, DEFAULT)] == ["phone", "phone", "phone", "email"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 98450 12345", "call XXXXX XXX45"),
        ("call +91-9845012345", "call +91-XXXXXXXX45"),
        ("call 09845012345", "call XXXXXXXXX45"),
        ("call +919845012345 now", "call +91XXXXXXXX45 now"),
        ("mob:9845012345", "mob:XXXXXXXX45"),
        ("Ph-98450-12345", "Ph-XXXXX-XXX45"),
        ("9845012345/9845012346", "XXXXXXXX45/XXXXXXXX46"),
        ("landline 080-2294 2222", "landline XXX-XXXX XX22"),
        ("landline 080 22942222.", "landline XXX XXXXXX22."),
        ("(080) 2294 2222", "(XXX) XXXX XX22"),
        ("Số 0912 345 678", "Số XXXX XXX X78"),
        ("ĐT: 0987654321", "ĐT: XXXXXXXX21"),
        ("gọi 0912.345.678", "gọi XXXX.XXX.X78"),
        ("+84 912 345 678", "+84 XXX XXX X78"),
        ("Hà Nội 024 3825 3011", "Hà Nội XXX XXXX XX11"),
        ("ಫೋನ್ ೯೮೪೫೦ ೧೨೩೪೫ ಗೆ ಕರೆ ಮಾಡಿ", "ಫೋನ್ XXXXX XXX೪೫ ಗೆ ಕರೆ ಮಾಡಿ"),  # Kannada digits, kept in Kannada
        ("मेरा नंबर ९८४५० १२३४५ है", "मेरा नंबर XXXXX XXX४५ है"),
        ("ನನ್ನ ನಂಬರ್ 9845012345, ಬೇಗ ಬನ್ನಿ", "ನನ್ನ ನಂಬರ್ XXXXXXXX45, ಬೇಗ ಬನ್ನಿ"),
        ("मुझे 9845012345 पर कॉल करें", "मुझे XXXXXXXX45 पर कॉल करें"),
        ("write to ravi.kumar+blr@example.co.in.", f"write to {EMAIL_HIDDEN}."),
        ("thư gửi nguyen.van.a@gmail.com nhé", f"thư gửi {EMAIL_HIDDEN} nhé"),
        ("Aadhaar 2345 6789 0123", "Aadhaar XXXX XXXX 0123"),
        ("aadhaar no 234567890123", "aadhaar no XXXXXXXX0123"),
        ("Aadhaar 2345-6789-0123", "Aadhaar XXXX-XXXX-0123"),
        ("ಆಧಾರ್ ೨೩೪೫ ೬೭೮೯ ೦೧೨೩", "ಆಧಾರ್ XXXX XXXX ೦೧೨೩"),
        ("PAN ABCPE1234F", "PAN XXXXXX234F"),
        ("pan abcpe1234f", "pan XXXXXX234f"),
        ("CCCD 001099012345", "CCCD XXXXXXXX2345"),
        ("CCCD 079 203 001 234", "CCCD XXX XXX XX1 234"),
    ],
)
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert mask(text, DEFAULT) == expected


@pytest.mark.parametrize(
    "text",
    [
        "FIR 123/2026 registered",
        "FIR No. 0123/2026 u/s 379 IPC",
        "Cr. No. 123/2026 u/s 303(2) BNS",
        "Your docket BLR-2026-000123 is open",
        "Ref BLR-2026-000123/A-42",
        "CASE-2026-1234567/X1-99",
        "on 12-03-2026 at 10:30",  # phonenumbers reads 12-03-2026 as a Vietnamese number
        "on 2026-03-12, 10:30-11:45",
        "at 10.30 pm on 12.03.2026",
        "lúc 14h30 ngày 20/11/2026",
        "೧೨/೦೩/೨೦೨೬ ರಂದು",
        "fine of Rs 5000 paid",
        "Rs. 1,50,000 stolen",
        "₹50,000 and Rs 98450",
        "1.500.000 đồng, 150.000.000.000 đồng",
        "PIN 560001, 3rd Cross, No. 45/2",
        "at 12.9716, 77.5946",
        "Bus 500D, route 335E, flight 6E 2134",
        "NH-44 near Sector 12",
        "GST 29ABCDE1234F1Z5, IFSC SBIN0001234",
        "call 100, 112, 1930 or 113",
        "KA 01 AB 1234 was towed",  # vehicle numbers are kept unless configured
        "xe 29A-123.45 vượt đèn đỏ",
        "ಬಸ್ ಸಂಖ್ಯೆ ೫೦೦ ಡಿ ತಡವಾಗಿದೆ",
    ],
)
def test_what_is_not_personal_data_is_left_alone(text: str) -> None:
    assert find_personal_data(text, DEFAULT) == []
    assert mask(text, DEFAULT) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("KA 01 AB 1234 was towed", "XX XX XX XX34 was towed"),
        ("car KA-05-MX-2231 parked", "car XX-XX-XX-XX31 parked"),
        ("DL3CAB1234 hit me", "XXXXXXXX34 hit me"),
        ("ka01ab1234 again", "XXXXXXXX34 again"),
        ("22 BH 1234 AA", "XX XX XXXX AA"),
        ("xe 29A-123.45 vượt đèn đỏ", "xe XXX-XXX.45 vượt đèn đỏ"),
        ("xe tải 51F-678.90", "xe tải XXX-XXX.90"),
        ("xe máy 29-B1 234.56", "xe máy XX-XX XXX.56"),
    ],
)
def test_a_vehicle_number_follows_the_configured_rule(text: str, masked: str) -> None:
    assert mask(text, DEFAULT) == text
    assert mask(text, VEHICLES_MASKED) == masked
    assert mask(text, LABELLED).count("[vehicle no. hidden]") == 1


@pytest.mark.parametrize("text", ["woke up 2 am 5 times", "Reached at 10 am 1234 people waiting", "up 16 mins late"])
def test_words_that_look_like_a_plate_in_small_letters_are_not_masked(text: str) -> None:
    assert mask(text, VEHICLES_MASKED) == text


def test_labels_name_what_was_hidden() -> None:
    text = "98450 12345, a@b.in, 2345 6789 0123, KA 01 AB 1234"
    assert mask(text, LABELLED) == "[phone no. hidden], [e-mail hidden], [ID no. hidden], [vehicle no. hidden]"


def test_each_kind_can_be_left_unmasked() -> None:
    text = "98450 12345, a@b.in, 2345 6789 0123"
    assert mask(text, MaskingRules(phones=False)) == f"98450 12345, {EMAIL_HIDDEN}, XXXX XXXX 0123"
    assert mask(text, MaskingRules(emails=False)) == "XXXXX XXX45, a@b.in, XXXX XXXX 0123"
    assert mask(text, MaskingRules(identity_numbers=False)) == f"XXXXX XXX45, {EMAIL_HIDDEN}, 2345 6789 0123"


def test_phones_are_read_only_in_the_configured_regions() -> None:
    text = "0912 345 678 and 98450 12345"
    assert mask(text, MaskingRules(regions=("IN",))) == "0912 345 678 and XXXXX XXX45"
    assert mask(text, MaskingRules(regions=("VN",))) == "XXXX XXX X78 and 98450 12345"


def test_overlapping_finds_are_masked_as_one() -> None:
    text = "call +91-9845012345"  # found by the IN and the VN matcher alike
    assert len(find_personal_data(text, DEFAULT)) == 1


def test_masking_keeps_the_length_except_for_e_mail() -> None:
    text = "98450 12345 / 2345 6789 0123 / KA 01 AB 1234 / ೯೮೪೫೦ ೧೨೩೪೫"
    assert len(mask(text, VEHICLES_MASKED)) == len(text)


@pytest.mark.parametrize("rules", [DEFAULT, VEHICLES_MASKED, LABELLED])
@pytest.mark.parametrize(
    "text",
    [
        "Spoke to 98450 12345 and +84 912 345 678, mail ravi@example.com, Aadhaar 2345 6789 0123, PAN ABCPE1234F",
        "KA 01 AB 1234, 29A-123.45, CCCD 001099012345, ೯೮೪೫೦ ೧೨೩೪೫, docket BLR-2026-000123",
        "9845012345 12 34",
    ],
)
def test_masking_twice_gives_the_same_text(rules: MaskingRules, text: str) -> None:
    once = mask(text, rules)
    assert once != text
    assert mask(once, rules) == once
    assert find_personal_data(once, rules) == []


def test_published_contacts_are_kept() -> None:
    text = "Please contact BBMP at 080-2266 0000 or comm@bbmp.example.in; the citizen's number is 98450 12345."
    kept = ("080-2266 0000", "comm@bbmp.example.in")
    assert mask(text, DEFAULT, keep=kept) == text.replace("98450 12345", "XXXXX XXX45")
    policy = MaskingPolicy.from_mapping({}, public=kept)
    assert policy.mask("referral", text) == text.replace("98450 12345", "XXXXX XXX45")


def test_a_policy_has_rules_per_kind_on_top_of_its_default() -> None:
    policy = MaskingPolicy.from_mapping(
        {"default": {"vehicle_numbers": "mask"}, "action_taken": {"replacement": "label", "regions": ["IN"]}}
    )
    assert policy.for_kind("acknowledgement") == MaskingRules(vehicle_numbers="mask")
    assert policy.for_kind("action_taken") == MaskingRules(vehicle_numbers="mask", replacement="label", regions=("IN",))
    assert policy.mask("action_taken", "KA 01 AB 1234") == "[vehicle no. hidden]"
    assert {policy.for_kind(kind) for kind in REPLY_KINDS if kind != "action_taken"} == {policy.default}


def test_an_empty_policy_masks_phones_e_mail_and_identity_numbers_and_keeps_vehicles() -> None:
    assert MaskingPolicy.from_mapping({}).for_kind("thanks") == MaskingRules()


def test_every_problem_in_a_policy_is_named_at_once() -> None:
    raw = {
        "default": {"phones": "yes", "colour": "red"},
        "action_taken": {"vehicle_numbers": "hide", "regions": ["IN", "XX"], "replacement": "stars"},
        "thank_you": {},
        "referral": ["phones"],
        "reopened": {"regions": []},
    }
    with pytest.raises(ValueError) as caught:
        MaskingPolicy.from_mapping(raw)
    message = str(caught.value)
    for expected in [
        "masking.default.phones: expected true or false, got 'yes'",
        "masking.default.colour: unknown setting",
        "masking.action_taken.vehicle_numbers: expected keep or mask, got 'hide'",
        "masking.action_taken.regions: unknown region codes ['XX']",
        "masking.action_taken.replacement: expected partial or label, got 'stars'",
        "masking.thank_you: unknown reply kind",
        "masking.referral: expected a table, got list",
        "masking.reopened.regions: expected a non-empty list",
    ]:
        assert expected in message


def test_a_policy_refuses_an_unknown_reply_kind() -> None:
    with pytest.raises(ValueError, match="unknown reply kind 'hello'"):
        MaskingPolicy().for_kind("hello")
