"""Choosing the emergency thresholds on the flags the pipeline would set (issue 11)."""

from __future__ import annotations

import numpy as np

from classifiers.features import normalise
from classifiers.flags import EmergencyRule
from classifiers.pipeline import emergency_for
from classifiers.train import gated_emergency
from models.taxonomy import Category

POSTS = [
    (Category.APPRECIATION, "thank you for saving the injured man, he was bleeding", 0.9),
    (Category.ROAD_ACCIDENT, "a man is bleeding on the road, send an ambulance", 0.7),
    (Category.MISSING_PERSON, "my son (9) is missing since morning from the park", 0.1),
    (Category.MISSING_PERSON, "my son (9) was missing, he was found now, thanks", 0.1),
    (Category.OTHER, "someone stabbed in a film scene", 0.95),
]


def test_gated_probabilities_flag_exactly_what_the_pipeline_flags() -> None:
    categories = [c for c, _, _ in POSTS]
    texts = [normalise(t) for _, t, _ in POSTS]
    probs = np.array([p for _, _, p in POSTS], dtype=np.float32)
    gated = gated_emergency(probs, categories, texts)
    assert gated.tolist() == [0.0, np.float32(0.7), 1.0, np.float32(0.1), 0.0]
    rule = EmergencyRule(threshold=0.5, phrase_threshold=0.5, negated_threshold=0.5)
    for row, (category, text) in enumerate(zip(categories, texts, strict=True)):
        assert (gated[row] >= 0.5) == emergency_for(category, float(probs[row]), text, rule)
    assert probs[0] == np.float32(0.9)  # the input is left as it was
