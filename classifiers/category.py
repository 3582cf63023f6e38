"""The category model: a temperature-calibrated linear classifier over the shared feature space.

Fitted with scikit-learn's logistic regression, kept as plain weight arrays (``.npz``), so loading is
a file read and scoring is one sparse matrix product.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from classifiers.features import write_npz

FloatArray = NDArray[np.float32]


@dataclass(frozen=True)
class LinearModel:
    """Softmax over ``classes``; one weight row per class."""

    classes: tuple[str, ...]
    weights: FloatArray
    bias: FloatArray
    temperature: float = 1.0

    def logits(self, features: sp.csr_matrix) -> FloatArray:
        scores = features @ self.weights.T
        return np.asarray(scores, dtype=np.float32) + self.bias

    def predict_proba(self, features: sp.csr_matrix) -> FloatArray:
        return probabilities(self.logits(features), self.temperature)

    def with_temperature(self, temperature: float) -> LinearModel:
        return LinearModel(self.classes, self.weights, self.bias, temperature)

    def save(self, path: Path) -> None:
        meta = json.dumps({"classes": list(self.classes), "temperature": self.temperature})
        write_npz(path, {"weights": self.weights.astype(np.float16), "bias": self.bias, "meta": np.array(meta)})

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        with np.load(path) as saved:
            meta = json.loads(str(saved["meta"]))
            weights = saved["weights"].astype(np.float32)
            bias = saved["bias"].astype(np.float32)
        return cls(tuple(meta["classes"]), weights, bias, float(meta["temperature"]))


def probabilities(logits: FloatArray, temperature: float = 1.0) -> FloatArray:
    """Softmax rows of ``logits / temperature``."""
    scaled = logits / temperature
    shifted = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: FloatArray = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    return result


def fit_linear(
    features: sp.csr_matrix,
    labels: Sequence[str],
    classes: Sequence[str],
    *,
    regularisation_c: float,
    sample_weight: NDArray[np.float64] | None = None,
    seed: int = 0,
) -> LinearModel:
    """Class-balanced logistic regression; ``classes`` fixes the row order (absent classes get a row of
    zeros and a very low bias, so they are never predicted)."""
    model = LogisticRegression(
        C=regularisation_c, class_weight="balanced", max_iter=3000, solver="lbfgs", random_state=seed
    )
    model.fit(features, list(labels), sample_weight=sample_weight)
    coef = np.asarray(model.coef_, dtype=np.float32)
    intercept = np.asarray(model.intercept_, dtype=np.float32)
    fitted = [str(c) for c in model.classes_]
    if coef.shape[0] == 1:  # two classes, one logit s: a softmax over (-s/2, s/2) is the same sigmoid
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.concatenate([-intercept / 2, intercept / 2])
    weights = np.zeros((len(classes), features.shape[1]), dtype=np.float32)
    bias = np.full(len(classes), -30.0, dtype=np.float32)
    for row, name in enumerate(fitted):
        index = list(classes).index(name)
        weights[index] = coef[row]
        bias[index] = intercept[row]
    return LinearModel(tuple(classes), weights, bias)


def fit_temperature(logits: FloatArray, label_indices: NDArray[np.int64]) -> float:
    """The temperature minimising the negative log-likelihood of out-of-fold ``logits``."""
    best_temperature, best_nll = 1.0, float("inf")
    for temperature in np.exp(np.linspace(np.log(0.2), np.log(5.0), 81)):
        probs = probabilities(logits, float(temperature))
        picked = probs[np.arange(len(label_indices)), label_indices]
        nll = float(-np.mean(np.log(np.clip(picked, 1e-9, 1.0))))
        if nll < best_nll:
            best_temperature, best_nll = float(temperature), nll
    return best_temperature
