"""Classification benchmark: the Signalen-style baseline against our classifier, side by side in one run.

    .venv/bin/python bench/bench_classify.py [--posts 5000] [--single 300]

Baseline: TF-IDF word 1–2-grams + logistic regression (what Amsterdam's Signalen ships), trained here on
the same train split. Ours: the committed artifacts (category + flags), and the full pipeline with place
and station lookup. Each system runs in its own subprocess so load time and peak RSS are its own.
Prints held-out macro-F1, batch throughput, single-post latency p50/p95, peak RSS and load time.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402

from classifiers.corpus import CorpusPost, load_corpus, split_corpus  # noqa: E402
from models.taxonomy import Category  # noqa: E402

CATEGORIES = [c.value for c in Category]


def peak_rss_mb() -> float:
    """This process's peak RSS. /proc's VmHWM starts afresh at exec; ru_maxrss would carry over the
    parent's peak (the parent trains the baseline before starting the workers)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_system(name: str, baseline_path: Path) -> Any:
    if name == "baseline":
        with baseline_path.open("rb") as handle:
            model = pickle.load(handle)
        return lambda texts: list(model.predict(texts))
    from classifiers.flags import VipList
    from classifiers.pipeline import Classifier, PostInput
    from routing.jurisdictions import Jurisdictions

    data_dir = ROOT / "data" / "bengaluru"
    stations = Jurisdictions.load(data_dir) if name.startswith("ours_full") else None
    classifier = Classifier.load(ROOT / "classifiers" / "artifacts", data_dir, VipList.of(["CMofKarnataka"]), stations)
    if name == "ours_full_2cpu":  # batches spread over two forked workers, as run.py classify does
        from classifiers.batch import classify_in_workers

        def predict(texts: list[str]) -> list[str]:
            posts = [PostInput(id=str(i), text=t) for i, t in enumerate(texts)]
            results = classify_in_workers(classifier, posts, 2) if len(posts) > 1 else classifier.classify(posts)
            return [r.category.value for r in results]

        return predict
    return lambda texts: [
        r.category.value for r in classifier.classify([PostInput(id=str(i), text=t) for i, t in enumerate(texts)])
    ]


def worker(name: str, baseline_path: Path, heldout_path: Path, n_posts: int, n_single: int) -> dict[str, Any]:
    heldout = json.loads(heldout_path.read_text(encoding="utf-8"))
    texts, truth = [h["text"] for h in heldout], [h["category"] for h in heldout]
    started = time.perf_counter()
    predict = load_system(name, baseline_path)
    predict(["warm up"])
    load_s = time.perf_counter() - started
    rss_loaded = peak_rss_mb()
    predicted = predict(texts)
    macro_f1 = f1_score(truth, predicted, labels=CATEGORIES, average="macro", zero_division=0)
    stream = (texts * (n_posts // len(texts) + 1))[:n_posts]
    started = time.perf_counter()
    batch = n_posts if name.endswith("_2cpu") else 512  # the workers take 512 at a time themselves
    for start in range(0, n_posts, batch):
        predict(stream[start : start + batch])
    throughput = n_posts / (time.perf_counter() - started)
    latencies = []
    for text in stream[:n_single]:
        tick = time.perf_counter()
        predict([text])
        latencies.append((time.perf_counter() - tick) * 1000)
    cuts = statistics.quantiles(latencies, n=20)
    return {
        "system": name,
        "macro_f1": macro_f1,
        "posts_per_s": throughput,
        "p50_ms": statistics.median(latencies),
        "p95_ms": cuts[18],
        "rss_loaded_mb": rss_loaded,
        "peak_rss_mb": peak_rss_mb(),
        "load_s": load_s,
    }


def train_baseline(train: list[CorpusPost], path: Path) -> float:
    started = time.perf_counter()
    model: Pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(max_iter=2000),
    )
    model.fit([p.text for p in train], [p.category.value for p in train])
    with path.open("wb") as handle:
        pickle.dump(model, handle)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--worker")
    parser.add_argument("--baseline-path", type=Path)
    parser.add_argument("--heldout-path", type=Path)
    args = parser.parse_args()
    if args.worker:
        result = worker(args.worker, args.baseline_path, args.heldout_path, args.posts, args.single)
        sys.stdout.write(json.dumps(result) + "\n")
        return

    split = split_corpus(load_corpus(ROOT / "data" / "corpus"))
    with tempfile.TemporaryDirectory() as scratch:
        baseline_path, heldout_path = Path(scratch) / "baseline.pkl", Path(scratch) / "heldout.json"
        baseline_train_s = train_baseline(list(split.train), baseline_path)
        heldout_path.write_text(
            json.dumps([{"text": p.text, "category": p.category.value} for p in split.heldout]), encoding="utf-8"
        )
        rows = []
        for name in ("baseline", "ours", "ours_full", "ours_full_2cpu"):
            command = [
                sys.executable,
                __file__,
                "--worker",
                name,
                "--baseline-path",
                str(baseline_path),
                "--heldout-path",
                str(heldout_path),
                "--posts",
                str(args.posts),
                "--single",
                str(args.single),
            ]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            rows.append(json.loads(output.strip().splitlines()[-1]))

    out = sys.stdout
    out.write(
        f"train {len(split.train)} / held-out {len(split.heldout)} posts; baseline trained in "
        f"{baseline_train_s:.1f} s; batch of {args.posts} posts, {args.single} single posts\n\n"
    )
    out.write(
        f"{'system':<16}{'macro-F1':>9}{'posts/s':>10}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'RSS load MB':>12}{'peak MB':>9}{'load s':>8}\n"
    )
    for r in rows:
        out.write(
            f"{r['system']:<16}{r['macro_f1']:>9.3f}{r['posts_per_s']:>10.0f}{r['p50_ms']:>8.2f}"
            f"{r['p95_ms']:>8.2f}{r['rss_loaded_mb']:>12.0f}{r['peak_rss_mb']:>9.0f}{r['load_s']:>8.2f}\n"
        )
    base, ours = rows[0], rows[1]
    out.write(
        f"\nours / baseline: macro-F1 {ours['macro_f1'] / base['macro_f1']:.2f}x, "
        f"throughput {ours['posts_per_s'] / base['posts_per_s']:.2f}x, "
        f"p95 latency {ours['p95_ms'] / base['p95_ms']:.2f}x, "
        f"peak RSS {ours['peak_rss_mb'] / base['peak_rss_mb']:.2f}x\n"
        "ours_full_2cpu: the full pipeline in two forked workers (run.py classify --workers 2); its RSS is the\n"
        "parent's, the workers share the loaded models copy-on-write; single-post latency is measured in the parent\n"
    )


if __name__ == "__main__":
    main()
