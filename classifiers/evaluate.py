"""Score a loaded classifier on held-out corpus posts: category macro-F1 and per-class scores, per-style
macro-F1, emergency F1, calibration (ECE and a reliability table) and station accuracy."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support

from classifiers.corpus import CorpusPost
from classifiers.features import normalise
from classifiers.pipeline import Classification, Classifier, PostInput, misconduct_layer
from models.taxonomy import Category, Layer, layer_for

CATEGORIES = [c.value for c in Category]


@dataclass(frozen=True)
class ClassScores:
    category: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class StyleScores:
    style: str
    macro_f1: float
    accuracy: float
    emergency_f1: float
    support: int


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    mean_confidence: float
    accuracy: float
    count: int


@dataclass(frozen=True)
class Mistake:
    text: str
    truth: str
    predicted: str
    confidence: float


@dataclass(frozen=True)
class EvalReport:
    n_posts: int
    macro_f1: float
    accuracy: float
    per_class: tuple[ClassScores, ...]
    per_style: tuple[StyleScores, ...]
    emergency_precision: float
    emergency_recall: float
    emergency_f1: float
    ece: float
    reliability: tuple[ReliabilityBin, ...]
    station_accuracy: float | None
    n_station: int
    n_station_ambiguous: int
    station_accuracy_when_category_right: float | None
    misconduct_precision: float = 0.0
    misconduct_recall: float = 0.0
    misconduct_f1: float = 0.0
    macro_f1_interval: tuple[float, float] = (0.0, 0.0)
    accuracy_interval: tuple[float, float] = (0.0, 0.0)
    desk_below: float = 0.5
    desk_share: float = 0.0
    accuracy_routed: float = 0.0
    confident_mistakes: tuple[Mistake, ...] = ()
    title: str = "held-out posts"

    def format(self) -> str:
        lo, hi = self.macro_f1_interval
        alo, ahi = self.accuracy_interval
        lines = [
            f"{self.title}: {self.n_posts}",
            f"category macro-F1 (15 classes): {self.macro_f1:.3f} [95% CI {lo:.3f}-{hi:.3f}]   "
            f"accuracy: {self.accuracy:.3f} [{alo:.3f}-{ahi:.3f}]",
            f"emergency: precision {self.emergency_precision:.3f} recall {self.emergency_recall:.3f} "
            f"F1 {self.emergency_f1:.3f}",
            f"misconduct: precision {self.misconduct_precision:.3f} recall {self.misconduct_recall:.3f} "
            f"F1 {self.misconduct_f1:.3f}",
            f"confidence calibration: ECE {self.ece:.3f}",
            f"to the desk (confidence below {self.desk_below:.2f}): {self.desk_share:.1%} of posts; "
            f"accuracy of the rest {self.accuracy_routed:.3f}",
            "station accuracy: "
            + (
                f"{self.station_accuracy:.3f} on {self.n_station} posts with a place "
                f"({self.station_accuracy_when_category_right or 0.0:.3f} where the category is right; "
                f"{self.n_station_ambiguous} name a place the data holds twice in different stations)"
                if self.station_accuracy is not None
                else "n/a (no held-out post with a place and a station layer)"
            ),
            "",
            f"{'category':<22}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}",
        ]
        lines += [
            f"{s.category:<22}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>7.3f}{s.support:>9}" for s in self.per_class
        ]
        lines += ["", f"{'style':<22}{'macro-F1':>10}{'accuracy':>10}{'emerg. F1':>10}{'support':>9}"]
        lines += [
            f"{s.style:<22}{s.macro_f1:>10.3f}{s.accuracy:>10.3f}{s.emergency_f1:>10.3f}{s.support:>9}"
            for s in self.per_style
        ]
        lines += ["", f"{'confidence':<22}{'mean conf':>10}{'accuracy':>10}{'count':>9}"]
        lines += [
            f"{f'{b.low:.1f}-{b.high:.1f}':<22}{b.mean_confidence:>10.3f}{b.accuracy:>10.3f}{b.count:>9}"
            for b in self.reliability
        ]
        if self.confident_mistakes:
            lines += ["", "the most confident mistakes (confidence, labelled → predicted, text):"]
            lines += [
                f"  {m.confidence:.2f}  {m.truth} → {m.predicted}  {m.text[:110]!r}" for m in self.confident_mistakes
            ]
        return "\n".join(lines)


def load_place_stations(places_csv: Path) -> dict[str, list[dict[Layer, str]]]:
    """Place name → its station per layer, from a city's places.csv; one entry per row of that name."""
    stations: dict[str, list[dict[Layer, str]]] = {}
    with places_csv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            stations.setdefault(row["name"], []).append(
                {Layer.LAW_ORDER: row["law_order_station"], Layer.TRAFFIC: row["traffic_station"]}
            )
    return stations


def expected_stations(post: CorpusPost, stations: dict[str, list[dict[Layer, str]]]) -> set[str]:
    """The stations that answer right for a post: usually one. The published data holds a few names twice
    (a 2022 ward and a bus stop both called "Vijayanagar") in different stations; the name alone cannot
    say which the writer meant, so either row's station counts."""
    if post.place is None or post.place not in stations:
        return set()
    misconduct = misconduct_layer(normalise(post.text)) if post.category is Category.OFFICER_MISCONDUCT else None
    layer = layer_for(post.category, misconduct_layer=misconduct)
    if layer is None:
        return set()
    return {row[layer] for row in stations[post.place] if row.get(layer)}


# Sentences a citizen might write, in three styles, with a place name dropped in: each names a problem of
# one layer only, so the station expected is that layer's station of the place.
SWEEP_TEMPLATES: tuple[tuple[Layer, str], ...] = (
    (Layer.TRAFFIC, "Huge traffic jam at {} since morning, nothing is moving"),
    (Layer.TRAFFIC, "{} signal pe bahut jam hai, koi traffic police nahi hai"),
    (Layer.TRAFFIC, "{} hatra full traffic jam guru, ondu gante inda move aagilla"),
    (Layer.LAW_ORDER, "My phone was stolen near {} last night, please help"),
    (Layer.LAW_ORDER, "{} mein abhi chain snatching hui, do log bike pe the"),
    (Layer.LAW_ORDER, "{} alli nam mane kalLatana aagide saar, raatri beega odedu"),
)


@dataclass(frozen=True)
class SweepScores:
    """Station accuracy with every place of the gazetteer named in every template."""

    n_posts: int
    accuracy: float
    by_kind: tuple[tuple[str, float, int], ...]  # (kind, accuracy, posts)

    def format(self) -> str:
        kinds = ", ".join(f"{kind} {accuracy:.3f} ({n})" for kind, accuracy, n in self.by_kind)
        return f"station accuracy, every places.csv name in {len(SWEEP_TEMPLATES)} sentences: {self.accuracy:.3f} " \
            f"on {self.n_posts} posts ({kinds})"


def gazetteer_sweep(classifier: Classifier, places_csv: Path) -> SweepScores:
    """Each place of ``places_csv`` in each of SWEEP_TEMPLATES: is the post routed to the place's station?
    A name the data holds twice in different stations accepts either; a place without a station in the
    template's layer is skipped."""
    stations = load_place_stations(places_csv)
    with places_csv.open(encoding="utf-8", newline="") as handle:
        kinds = {row["name"]: row["kind"] for row in csv.DictReader(handle)}
    cases: list[tuple[str, set[str]]] = []
    posts: list[PostInput] = []
    for name, rows in stations.items():
        for layer, template in SWEEP_TEMPLATES:
            expected = {row[layer] for row in rows if row.get(layer)}
            if expected:
                posts.append(PostInput(id=str(len(posts)), text=template.format(name)))
                cases.append((kinds[name], expected))
    results = classifier.classify(posts)
    hits = [result.station in expected for result, (_, expected) in zip(results, cases, strict=True)]
    by_kind = []
    for kind in sorted({k for k, _ in cases}):
        mine = [hit for hit, (k, _) in zip(hits, cases, strict=True) if k == kind]
        by_kind.append((kind, float(np.mean(mine)), len(mine)))
    return SweepScores(len(hits), float(np.mean(hits)) if hits else 0.0, tuple(by_kind))


def reliability(confidences: np.ndarray, correct: np.ndarray, bins: int = 10) -> tuple[float, list[ReliabilityBin]]:
    """Expected calibration error over equal-width confidence bins, and the bins themselves."""
    table: list[ReliabilityBin] = []
    ece = 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidences > low) & (confidences <= high) if low > 0 else (confidences <= high)
        count = int(inside.sum())
        if count == 0:
            continue
        mean_confidence = float(confidences[inside].mean())
        accuracy = float(correct[inside].mean())
        ece += count / len(confidences) * abs(mean_confidence - accuracy)
        table.append(ReliabilityBin(float(low), float(high), mean_confidence, accuracy, count))
    return ece, table


def bootstrap(
    truth: Sequence[str], predicted: Sequence[str], *, resamples: int = 1000, seed: int = 0
) -> tuple[tuple[float, float], tuple[float, float]]:
    """95% intervals of macro-F1 (over the 15 classes) and accuracy, resampling the posts with replacement."""
    rng = np.random.default_rng(seed)
    y, p = np.array(truth), np.array(predicted)
    f1s, accuracies = [], []
    for _ in range(resamples):
        rows = rng.integers(0, len(y), len(y))
        f1s.append(f1_score(y[rows], p[rows], labels=CATEGORIES, average="macro", zero_division=0))
        accuracies.append(float(np.mean(y[rows] == p[rows])))

    def interval(values: list[float]) -> tuple[float, float]:
        return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))

    return interval(f1s), interval(accuracies)


def evaluate(
    classifier: Classifier,
    heldout: Sequence[CorpusPost],
    *,
    places_csv: Path | None = None,
    desk_below: float = 0.5,
    title: str = "held-out posts",
    n_mistakes: int = 10,
) -> EvalReport:
    posts = [PostInput(id=str(i), text=p.text) for i, p in enumerate(heldout)]
    results: list[Classification] = classifier.classify(posts)
    truth = [p.category.value for p in heldout]
    predicted = [r.category.value for r in results]
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=CATEGORIES, zero_division=0
    )
    per_class = tuple(
        ClassScores(c, float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
        for i, c in enumerate(CATEGORIES)
    )
    emergency_truth = np.array([p.is_emergency for p in heldout])
    emergency_predicted = np.array([r.emergency for r in results])
    per_style = []
    for style in sorted({p.style for p in heldout}):
        rows = [i for i, p in enumerate(heldout) if p.style == style]
        style_truth = [truth[i] for i in rows]
        style_predicted = [predicted[i] for i in rows]
        per_style.append(
            StyleScores(
                style,
                float(
                    f1_score(
                        style_truth, style_predicted, labels=sorted(set(style_truth)), average="macro", zero_division=0
                    )
                ),
                float(np.mean([a == b for a, b in zip(style_truth, style_predicted, strict=True)])),
                float(f1_score(emergency_truth[rows], emergency_predicted[rows], zero_division=0)),
                len(rows),
            )
        )
    e_precision, e_recall, e_f1, _ = precision_recall_fscore_support(
        emergency_truth, emergency_predicted, average="binary", zero_division=0
    )
    m_precision, m_recall, m_f1, _ = precision_recall_fscore_support(
        np.array([p.is_misconduct for p in heldout]),
        np.array([r.misconduct for r in results]),
        average="binary",
        zero_division=0,
    )
    correct = np.array([a == b for a, b in zip(truth, predicted, strict=True)])
    confidences = np.array([r.confidence for r in results])
    ece, bins = reliability(confidences, correct)
    routed = confidences >= desk_below
    wrong = sorted((i for i in range(len(results)) if not correct[i]), key=lambda i: -confidences[i])[:n_mistakes]
    mistakes = tuple(Mistake(heldout[i].text, truth[i], predicted[i], float(confidences[i])) for i in wrong)
    f1_interval, accuracy_interval = bootstrap(truth, predicted)

    station_hits: list[bool] = []
    category_right: list[bool] = []
    n_ambiguous = 0
    if places_csv is not None and places_csv.is_file():
        stations = load_place_stations(places_csv)
        for post, result in zip(heldout, results, strict=True):
            expected = expected_stations(post, stations)
            if not expected and post.is_real and post.place:  # a real post's place as the labeller wrote it
                layer = layer_for(
                    post.category,
                    misconduct_layer=misconduct_layer(normalise(post.text))
                    if post.category is Category.OFFICER_MISCONDUCT
                    else None,
                )
                station = classifier.station_of_place(post.place, layer) if layer is not None else None
                expected = {station} if station else set()
            if expected:
                station_hits.append(result.station in expected)
                category_right.append(result.category is post.category)
                n_ambiguous += len(expected) > 1
    hits, right = np.array(station_hits, dtype=bool), np.array(category_right, dtype=bool)
    return EvalReport(
        n_posts=len(heldout),
        macro_f1=float(np.mean(f1)),
        accuracy=float(correct.mean()) if len(correct) else 0.0,
        per_class=per_class,
        per_style=tuple(per_style),
        emergency_precision=float(e_precision),
        emergency_recall=float(e_recall),
        emergency_f1=float(e_f1),
        ece=ece,
        reliability=tuple(bins),
        station_accuracy=float(hits.mean()) if len(hits) else None,
        n_station=len(hits),
        n_station_ambiguous=n_ambiguous,
        station_accuracy_when_category_right=float(hits[right].mean()) if right.any() else None,
        misconduct_precision=float(m_precision),
        misconduct_recall=float(m_recall),
        misconduct_f1=float(m_f1),
        macro_f1_interval=f1_interval,
        accuracy_interval=accuracy_interval,
        desk_below=desk_below,
        desk_share=float(1 - routed.mean()) if len(routed) else 0.0,
        accuracy_routed=float(correct[routed].mean()) if routed.any() else 0.0,
        confident_mistakes=mistakes,
        title=title,
    )
