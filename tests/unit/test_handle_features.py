"""The handle columns: whom a post is addressed to, which normalise() reduces to `xuser` (issue 11)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.category import fit_linear
from classifiers.features import FeatureConfig, FeatureSpace, handles_of, normalise

RAW = [
    "@RailMinIndia coach B2 is dirty, no water in train 12951",
    "@RailMinIndia AC not working in coach S4",
    "Signal jumping at ITO @dtptraffic",
    "@dtptraffic jam at Dhaula Kuan since an hour",
    "@DelhiPolice my phone was stolen at Karol Bagh",
    "@DelhiPolice chain snatched near Lajpat Nagar",
    "@SomeoneOnce hello",
]
CATEGORIES = ["civic_referral", "civic_referral", "traffic_violation", "traffic_congestion", "theft", "theft", "other"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@RailMinIndia @sureshpprabhu train late", {"@railminindia", "@sureshpprabhu"}),
        ("RT @DelhiPolice: be safe", {"@delhipolice"}),
        ("mail me at a@b.com", {"@b"}),
        ("no handle here", set()),
    ],
)
def test_handles_of_reads_every_handle_in_lower_case(raw: str, expected: set[str]) -> None:
    assert handles_of(raw) == expected


def _space(weight: float = 1.0) -> FeatureSpace:
    return FeatureSpace.fit([normalise(t) for t in RAW], FeatureConfig(min_df=1, handle_weight=weight), None, raw=RAW)


def test_a_handle_named_once_gets_no_column_when_min_df_is_two() -> None:
    space = FeatureSpace.fit([normalise(t) for t in RAW], FeatureConfig(min_df=2, handle_weight=1.0), None, raw=RAW)
    assert space.handles == ("@delhipolice", "@dtptraffic", "@railminindia")


def test_posts_that_read_alike_but_name_other_handles_get_other_rows() -> None:
    space = _space()
    raw = ["@RailMinIndia help please", "@DelhiPolice help please"]
    rows = space.transform([normalise(t) for t in raw], raw).toarray()
    assert not np.allclose(rows[0], rows[1])  # normalised they are the same text: "xuser help please"
    assert normalise(raw[0]) == normalise(raw[1])


def test_the_addressee_alone_moves_the_category() -> None:
    space = _space(weight=3.0)
    model = fit_linear(
        space.transform([normalise(t) for t in RAW], RAW), CATEGORIES, sorted(set(CATEGORIES)), regularisation_c=10.0
    )
    raw = ["@RailMinIndia please look into this", "@DelhiPolice please look into this"]
    probs = model.predict_proba(space.transform([normalise(t) for t in raw], raw))
    classes = list(model.classes)
    assert probs[0, classes.index("civic_referral")] > probs[1, classes.index("civic_referral")]
    assert probs[1, classes.index("theft")] > probs[0, classes.index("theft")]


def test_handle_columns_survive_save_and_load(tmp_path: Path) -> None:
    space = _space()
    space.save(tmp_path)
    loaded = FeatureSpace.load(tmp_path, None)
    assert loaded.handles == space.handles
    texts = [normalise(t) for t in RAW]
    assert np.allclose(loaded.transform(texts, RAW).toarray(), space.transform(texts, RAW).toarray())


def test_a_space_with_handle_columns_refuses_rows_without_the_raw_texts() -> None:
    with pytest.raises(ValueError, match="raw texts"):
        _space().transform([normalise(RAW[0])])
    with pytest.raises(ValueError, match="raw texts"):
        FeatureSpace.fit([normalise(RAW[0])], FeatureConfig(min_df=1, handle_weight=1.0), None)


def test_without_handle_weight_there_are_no_handle_columns() -> None:
    space = FeatureSpace.fit([normalise(t) for t in RAW], FeatureConfig(min_df=1), None)
    assert space.handles == ()
    assert space.transform([normalise(RAW[0])]).shape[1] == space.n_features
