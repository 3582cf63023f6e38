"""The static embedding fine-tuned on our category labels, a second opinion beside the linear category head.

model2vec's training module (``model2vec.train.StaticModelForClassification``, torch and ``datasets`` at training
time only: the ``train`` extra) tunes the token vectors of the distilled all-MiniLM-L6-v2 model and a linear
layer over their mean, end to end. What is kept is torch-free: the tuned token vectors (a model2vec folder,
safetensors) and the layer's weights (``.npz``); at run time a post is one static-model lookup and one small
matrix product. The pipeline adds ``weight`` times this model's log-probabilities to the category head's logits.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from classifiers.features import write_npz

logger = logging.getLogger(__name__)

TUNED_DIR = "static_tuned"
HEAD_FILE = "head.npz"


@dataclass(frozen=True)
class TuneSettings:
    learning_rate: float = 0.01
    max_epochs: int = 30
    patience: int = 3
    seed: int = 0


class TunedModel:
    """Category log-probabilities from the fine-tuned static model (no torch)."""

    def __init__(
        self, static_model: object, classes: Sequence[str], weights: NDArray[np.float32], bias: NDArray[np.float32]
    ) -> None:
        self._model = static_model
        self.classes = tuple(classes)
        self._weights = weights
        self._bias = bias

    def log_probs(self, glossed: list[str]) -> NDArray[np.float32]:
        """Rows of log-probabilities over ``classes`` for normalise()d, glossed texts."""
        embedded = np.asarray(
            self._model.encode(glossed, max_length=256, use_multiprocessing=False),  # type: ignore[attr-defined]
            dtype=np.float32,
        )
        logits = embedded @ self._weights.T + self._bias
        shifted = logits - logits.max(axis=1, keepdims=True)
        result: NDArray[np.float32] = (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))).astype(np.float32)
        return result

    def save(self, directory: Path) -> None:
        self._model.save_pretrained(directory)  # type: ignore[attr-defined]
        (directory / "README.md").unlink(missing_ok=True)  # model2vec's generic card, full of links
        write_npz(
            directory / HEAD_FILE,
            {"weights": self._weights, "bias": self._bias, "classes": np.array(list(self.classes))},
        )

    @classmethod
    def load(cls, directory: Path) -> TunedModel:
        from model2vec import StaticModel

        model = StaticModel.from_pretrained(directory, force_download=False)
        with np.load(directory / HEAD_FILE) as saved:
            classes = [str(c) for c in saved["classes"]]
            weights = saved["weights"].astype(np.float32)
            bias = saved["bias"].astype(np.float32)
        return cls(model, classes, weights, bias)


def fine_tune(
    static_dir: Path, glossed: list[str], labels: list[str], classes: Sequence[str], settings: TuneSettings
) -> TunedModel:
    """Fine-tune the static model at ``static_dir`` on (text, category) pairs, balanced over categories; early
    stopping on a stratified tenth of the pairs. Needs the ``train`` extra (torch, datasets)."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    import torch
    from model2vec import StaticModel
    from model2vec.train import StaticModelForClassification

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    base = StaticModel.from_pretrained(static_dir, force_download=False)
    classifier = StaticModelForClassification.from_static_model(model=base, n_layers=0, out_dim=len(classes))
    classifier.fit(
        glossed,
        labels,
        learning_rate=settings.learning_rate,
        max_epochs=settings.max_epochs,
        early_stopping_patience=settings.patience,
        class_weight="balanced",
        random_seed=settings.seed,
        device="cpu",
    )
    linear = classifier.head[0]
    fitted = [str(c) for c in classifier.classes_]
    weight = linear.weight.detach().cpu().numpy().astype(np.float32)
    bias = linear.bias.detach().cpu().numpy().astype(np.float32)
    # rows in ``classes`` order; a class absent from the labels is never predicted
    weights = np.zeros((len(classes), weight.shape[1]), dtype=np.float32)
    biases = np.full(len(classes), -30.0, dtype=np.float32)
    for row, name in enumerate(fitted):
        weights[list(classes).index(name)] = weight[row]
        biases[list(classes).index(name)] = bias[row]
    return TunedModel(classifier.to_static_model(), classes, weights, biases)
