from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from classifiers.category import LinearModel, fit_linear, fit_temperature, probabilities
from classifiers.features import (
    MAX_MODEL_CHARS,
    FeatureConfig,
    FeatureSpace,
    Glossary,
    has_content,
    normalise,
)
from classifiers.romanise import romanise

GLOSSARY = Glossary.read_tsv(Path(__file__).resolve().parents[2] / "classifiers" / "artifacts" / "glossary.tsv")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@blrcitytraffic Signal JUMPING at Silk Board!!!", "xuser signal jumping at silk board!!"),
        ("pleeeease help sirrrr", "pleease help sirr"),
        ("see https://t.co/AbC123xyz now", "see xurl now"),
        ("#RoadSafety #bangaloretraffic", "road safety bangaloretraffic"),
        ("KA 01 AB 1234 jumped signal", "xplate jumped signal"),
        ("call 98450 12345 pls", "call xphone pls"),
        ("Kẹt xe ở Cầu Giấy, đường Xuân Thủy", "ket xe o cau giay, duong xuan thuy"),
        ("ಮೊಬೈಲ್   ಕಳ್ಳತನ", "ಮೊಬೈಲ್ ಕಳ್ಳತನ mobail kallatana"),
        ("चेन स्नैचिंग हुई", "चेन स्नैचिंग हुई chen snaiching hui"),
        ("thanks 🙏🙏", "thanks 🙏🙏"),
        ("a\x00b\x07c\u200bd", "a b c\u200bd"),
        ("Jam at ITO &amp; no cop", "jam at ito & no cop"),  # an HTML entity left in the text
        ("donâ€™t park here", "don't park here"),  # UTF-8 read as Windows-1252 (ftfy)
        ("RT @abc: chain snatched at Karol Bagh", "xretweet chain snatched at karol bagh"),
        ("@DelhiPolice @CPDelhi @dtptraffic @ArvindKejriwal shame", "xuser xmanyusers shame"),
        ("", ""),
    ],
)
def test_normalise_keeps_meaning_and_drops_noise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("script", "latin"),
    [
        ("चोरी", "chori"),
        ("रिश्वत", "rishvat"),
        ("बचाओ", "bachao"),
        ("क़ानून", "kanun"),
        ("ಕಳ್ಳತನ", "kallatana"),
        ("ಮಾಡಿ", "maadi"),
        ("ಸಿಗ್ನಲ್", "signal"),
        ("ಧನ್ಯವಾದಗಳು", "dhanyavaadagalu"),
        ("KA01 ಚೋರ", "KA01 chora"),
    ],
)
def test_romanise_spells_indic_words_the_way_hinglish_and_kanglish_do(script: str, latin: str) -> None:
    assert romanise(script) == latin


@pytest.mark.parametrize(
    ("text", "glosses"),
    [
        ("Kẹt xe kinh khủng ở Ngã Tư Sở", "traffic jam"),
        ("CSGT đòi tiền", "traffic police demanded money"),
        ("मेरा मोबाइल चोरी हो गया", "mobile phone theft stolen"),
        ("guru nan bike kaddidare", "stolen theft"),
        ("ಅಪಘಾತ ಆಗಿದೆ", "accident"),
        ("racing bikes at night near the rack", ""),
    ],
)
def test_glossary_adds_english_words_for_domain_terms(text: str, glosses: str) -> None:
    assert GLOSSARY.expand(normalise(text)) == glosses


def test_normalise_cuts_very_long_posts() -> None:
    assert len(normalise("jam " * 20_000)) <= MAX_MODEL_CHARS


@pytest.mark.parametrize(
    ("raw", "has"),
    [("", False), ("   \n\t", False), ("https://t.co/x @user", False), ("🙏", True), ("ok", True), ("ಸರಿ", True)],
)
def test_has_content(raw: str, has: bool) -> None:
    assert has_content(normalise(raw)) is has


def test_probabilities_are_rows_that_sum_to_one_and_sharpen_when_cold() -> None:
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    warm, cold = probabilities(logits, 2.0), probabilities(logits, 0.5)
    assert np.allclose(warm.sum(axis=1), 1.0)
    assert cold[0, 0] > warm[0, 0]
    assert np.allclose(warm[1], 1 / 3)


def _toy_space() -> tuple[FeatureSpace, list[str], list[str]]:
    texts = [
        "phone stolen at market",
        "bike stolen last night",
        "chain snatched by two men",
        "huge traffic jam at junction",
        "jam since one hour near signal",
        "traffic not moving at all",
    ] * 3
    labels = ["theft"] * 3 + ["traffic_congestion"] * 3
    space = FeatureSpace.fit(texts, FeatureConfig(min_df=1), embedder=None)
    return space, texts, labels * 3


def test_fit_linear_orders_rows_by_the_given_classes_and_never_predicts_an_absent_class() -> None:
    space, texts, labels = _toy_space()
    classes = ("traffic_congestion", "missing_person", "theft")
    model = fit_linear(space.transform(texts), labels, classes, regularisation_c=10.0)
    probs = model.predict_proba(space.transform(["my phone was stolen", "stuck in a jam"]))
    assert [classes[i] for i in probs.argmax(axis=1)] == ["theft", "traffic_congestion"]
    assert probs[:, 1].max() < 1e-6


def test_binary_model_scores_the_second_class() -> None:
    space, texts, labels = _toy_space()
    flags = ["true" if label == "theft" else "false" for label in labels]
    model = fit_linear(space.transform(texts), flags, ("false", "true"), regularisation_c=10.0)
    assert model.predict_proba(space.transform(["phone stolen"]))[0, 1] > 0.5


def test_linear_model_and_feature_space_survive_a_save_and_load(tmp_path: Path) -> None:
    space, texts, labels = _toy_space()
    model = fit_linear(space.transform(texts), labels, ("theft", "traffic_congestion"), regularisation_c=1.0)
    model = model.with_temperature(0.7)
    space.save(tmp_path)
    model.save(tmp_path / "m.npz")
    first = (tmp_path / "m.npz").read_bytes()
    model.save(tmp_path / "m.npz")
    assert (tmp_path / "m.npz").read_bytes() == first
    loaded_space = FeatureSpace.load(tmp_path, embedder=None)
    loaded = LinearModel.load(tmp_path / "m.npz")
    assert loaded.temperature == 0.7
    sample = ["bike stolen near the junction"]
    assert np.allclose(
        loaded.predict_proba(loaded_space.transform(sample)), model.predict_proba(space.transform(sample)), atol=1e-3
    )


def test_fit_temperature_cools_overconfident_logits() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=400)
    logits = rng.normal(size=(400, 3)).astype(np.float32) * 8.0
    logits[np.arange(400), truth] += 4.0
    assert fit_temperature(logits, truth) > 1.5


def test_feature_rows_are_one_per_text_even_for_empty_text() -> None:
    space, _, _ = _toy_space()
    matrix = space.transform(["", "🙏", "x" * 5000])
    assert sp.issparse(matrix)
    assert matrix.shape == (3, space.n_features)
