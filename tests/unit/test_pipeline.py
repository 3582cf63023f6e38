from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from classifiers.batch import classify_jsonl
from classifiers.category import fit_linear
from classifiers.corpus import CorpusPost
from classifiers.evaluate import SWEEP_TEMPLATES, evaluate, gazetteer_sweep
from classifiers.features import FeatureConfig, FeatureSpace, normalise
from classifiers.flags import EmergencyRule, VipList
from classifiers.pipeline import Classifier, Legibility, PlaceLike, PostInput, misconduct_layer, script_of
from classifiers.train import TrainConfig, train
from models.taxonomy import Category, Layer
from routing.jurisdictions import Jurisdictions

ARTIFACTS = Path(__file__).resolve().parents[2] / "classifiers" / "artifacts"
TOY = {
    "theft": ["phone stolen at market", "bike stolen last night", "chain snatched by two men", "wallet stolen"],
    "traffic_congestion": ["huge traffic jam at junction", "jam since one hour", "traffic not moving at all"],
    "officer_misconduct": ["constable took bribe", "police officer rude and abusive", "cop demanded money"],
    "appreciation": ["thank you police great work", "thanks for quick help", "salute to the officers"],
    "other": ["good morning everyone", "watching cricket tonight", "happy birthday bro"],
}


@dataclass(frozen=True)
class Place:
    name: str
    lat: float
    lon: float


class FakeFinder:
    def find(self, text: str) -> PlaceLike | None:
        if "crash the finder" in text:
            raise ValueError("finder bug")
        return Place("Silk Board Jn", 12.917, 77.623) if "silk board" in text.lower() else None


def resolve(layer: Layer, place: PlaceLike | None, lat: float | None, lon: float | None) -> str | None:
    if place is None and lat is None:
        return None
    return f"{layer.value}-station"


def toy_classifier(vip: VipList, legibility: Legibility | None = None) -> Classifier:
    texts = [normalise(t) for ts in TOY.values() for t in ts] * 2
    labels = [c for c, ts in TOY.items() for _ in ts] * 2
    flags = ["true" if "snatched" in t or "money" in t else "false" for t in texts]
    space = FeatureSpace.fit(texts, FeatureConfig(min_df=1), embedder=None)
    matrix = space.transform(texts)
    classes = tuple(c.value for c in Category)
    category = fit_linear(matrix, labels, classes, regularisation_c=10.0)
    emergency = fit_linear(matrix, flags, ("false", "true"), regularisation_c=10.0)
    return Classifier(
        space, category, emergency, EmergencyRule(0.5, 0.3), vip, FakeFinder(), resolve, legibility=legibility
    )


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return toy_classifier(VipList.of(handles=["CMofKarnataka"]))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🙏🙏🙏",
        "\x00\x01\x02",
        "https://t.co/AbC123 @someone",
        "jam " * 12_500,
        "ಸಿಲ್ಕ್ ಬೋರ್ಡ್ jam हो गया kẹt xe 🚗",
        "\ud800 lone surrogate",
        "a" * 50_000,
    ],
)
def test_awkward_input_gets_a_result(classifier: Classifier, text: str) -> None:
    [result] = classifier.classify([PostInput(id="p1", text=text)])
    assert result.id == "p1"
    assert 0.0 <= result.confidence <= 1.0
    assert isinstance(result.category, Category)


@pytest.mark.parametrize("text", ["", "  \n ", "\x00\x07", "https://t.co/x @a @b"])
def test_a_post_with_nothing_in_it_is_other(classifier: Classifier, text: str) -> None:
    [result] = classifier.classify([PostInput(id="p", text=text)])
    assert (result.category, result.emergency, result.place, result.station) == (Category.OTHER, False, None, None)
    assert result.confidence == 0.0


# ---- posts the model cannot read: other, with no confidence, so routing gives them to a person ----------

UNREADABLE = {
    "emoji only": "🙏🙏🙏 😡",
    "arabic": "نحتاج مساعدة فورا هناك حريق في الشارع",
    "arabic to the police": "@BlrCityPolice سرقوا هاتفي في الحافلة https://t.co/AbC123",
    "chinese": "我的手机在公交车上被偷了，请帮忙",
    "tamil": "என் கைபேசி பேருந்தில் திருடப்பட்டது",
    "cyrillic": "У меня украли телефон в автобусе",
    "only handles": "@BlrCityPolice @blrcitytraffic @CPBlr",
    "only a handle and emoji": "@BlrCityPolice 😡😡",
    "only links": "https://t.co/AbC123 www.example.com/x",
    "a retweet of nothing": "RT @dtptraffic: https://t.co/AbC123",
}


@pytest.fixture(scope="module")
def committed() -> Classifier:
    return Classifier.load(ARTIFACTS, Path("/nonexistent"), VipList())


@pytest.mark.parametrize("text", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_post_the_committed_model_cannot_read_is_other_with_no_confidence(committed: Classifier, text: str) -> None:
    [result] = committed.classify([PostInput(id="u", text=text)])
    assert (result.category, result.confidence) == (Category.OTHER, 0.0)
    assert (result.emergency, result.misconduct, result.station) == (False, False, None)


@pytest.mark.parametrize(
    "text",
    [
        "मेरा मोबाइल चोरी हो गया",  # Devanagari
        "ನನ್ನ ಮೊಬೈಲ್ ಕಳ್ಳತನವಾಗಿದೆ",  # Kannada
        "Kẹt xe ở Ngã Tư Sở",  # Vietnamese: Latin once folded
        "phone stolen 😡",
        "سرقوا هاتفي FIR please",  # a few words in a script it knows are enough
    ],
)
def test_a_post_with_something_the_model_knows_is_classified_as_usual(committed: Classifier, text: str) -> None:
    [result] = committed.classify([PostInput(id="r", text=text)])
    assert result.confidence > 0.0


def test_the_committed_model_reads_the_scripts_of_its_corpus_and_no_other() -> None:
    legibility = Legibility.load(ARTIFACTS / "features.json")
    assert legibility.scripts == {"LATIN", "DEVANAGARI", "KANNADA", "DIGIT"}
    assert [script_of(c) for c in "aचಕ7ب中🙏."] == ["LATIN", "DEVANAGARI", "KANNADA", "DIGIT", "ARABIC", "CJK", None, None]


def test_a_script_counts_as_learnt_only_with_enough_ngrams_and_a_known_word_counts_in_any_script() -> None:
    legibility = Legibility.of(["ab", "bc", "cd", "سل"], ["ab", "سلام", "🙏", "ab cd"], min_ngrams=3)
    assert legibility.scripts == {"LATIN"}
    assert legibility.words == {"ab", "سلام"}  # emoji and bigrams are not words it reads
    assert legibility.can_read("سلام!") and legibility.can_read("zz")
    assert not legibility.can_read("سل 🙏 xuser xurl")


def test_an_unreadable_post_is_an_emergency_only_when_a_phrase_says_so() -> None:
    reads_nothing = toy_classifier(VipList(), Legibility(frozenset({"KANNADA"})))  # Latin is unreadable to it
    sos, calm = reads_nothing.classify([PostInput(id="1", text="sos bleeding"), PostInput(id="2", text="hello")])
    assert (sos.category, sos.confidence, sos.emergency) == (Category.OTHER, 0.0, True)
    assert (calm.category, calm.confidence, calm.emergency) == (Category.OTHER, 0.0, False)


def test_categories_confidence_and_station_by_layer(classifier: Classifier) -> None:
    results = classifier.classify(
        [
            PostInput(id="a", text="my bike stolen near Silk Board"),
            PostInput(id="b", text="huge jam at silk board since one hour"),
            PostInput(id="c", text="thank you police, great work at Silk Board"),
            PostInput(id="d", text="phone stolen, no idea where"),
        ]
    )
    assert [r.category for r in results] == [
        Category.THEFT,
        Category.TRAFFIC_CONGESTION,
        Category.APPRECIATION,
        Category.THEFT,
    ]
    assert [r.station for r in results] == ["law_order-station", "traffic-station", None, None]
    assert results[0].place == "Silk Board Jn"
    assert results[0].place_lat == pytest.approx(12.917)
    assert all(r.confidence > 1 / 15 for r in results)


def test_a_failing_place_lookup_affects_only_its_own_post(classifier: Classifier) -> None:
    results = classifier.classify(
        [PostInput(id="a", text="bike stolen, crash the finder"), PostInput(id="b", text="bike stolen at silk board")]
    )
    assert [(r.category, r.place) for r in results] == [(Category.THEFT, None), (Category.THEFT, "Silk Board Jn")]


def test_coordinates_give_a_station_when_the_text_names_no_place(classifier: Classifier) -> None:
    [result] = classifier.classify([PostInput(id="x", text="wallet stolen", lat=12.97, lon=77.59)])
    assert result.station == "law_order-station"
    assert result.place is None


@pytest.mark.parametrize(
    ("text", "layer"),
    [
        ("Traffic constable took 500 rs bribe at the signal", Layer.TRAFFIC),
        ("cop at the checkpost asked money instead of a challan", Layer.TRAFFIC),
        ("Inspector refused to register my FIR at the station", Layer.LAW_ORDER),
        ("ट्रैफिक पुलिस वाले ने रिश्वत ली", Layer.TRAFFIC),
        ("CSGT đòi tiền ở Cầu Giấy", Layer.TRAFFIC),
    ],
)
def test_misconduct_layer_comes_from_the_text(text: str, layer: Layer) -> None:
    assert misconduct_layer(normalise(text)) is layer


def test_misconduct_by_a_traffic_cop_is_routed_to_the_traffic_layer(classifier: Classifier) -> None:
    [result] = classifier.classify([PostInput(id="m", text="traffic constable took bribe at Silk Board")])
    assert result.category is Category.OFFICER_MISCONDUCT
    assert result.station == "traffic-station"


def test_vip_flag_uses_author_and_referenced_authors(classifier: Classifier) -> None:
    results = classifier.classify(
        [
            PostInput(id="1", text="jam at junction", author="cmofkarnataka"),
            PostInput(id="2", text="jam at junction", author="someone", referenced_authors=("CMofKarnataka",)),
            PostInput(id="3", text="@CMofKarnataka jam at junction", author="someone"),
        ]
    )
    assert [r.vip for r in results] == [True, True, False]


def test_classify_jsonl_writes_good_lines_and_reports_bad_ones(classifier: Classifier, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "t1", "text": "bike stolen near silk board", "platform": "x", "author": "a"}),
        "{broken json",
        json.dumps({"id": 7, "text": "huge jam at junction", "lat": 12.9, "lon": 77.6}),
        json.dumps({"id": "t3"}),
        "",
        json.dumps({"id": "t4", "text": "ok", "lat": 123.0}),
        json.dumps({"id": "t5", "text": "ಧನ್ಯವಾದಗಳು 🙏"}),
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = tmp_path / "out.jsonl"
    report = classify_jsonl(source, target, classifier, show_progress=False)
    written = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in written] == ["t1", 7, "t5"]
    assert set(written[0]) == {"id", "category", "emergency", "misconduct", "vip", "place", "station", "confidence"}
    assert written[0]["category"] == "theft" and written[0]["station"] == "law_order-station"
    assert (report.n_read, report.n_written, report.is_ok) == (6, 3, False)
    assert [bad.line for bad in report.bad_lines] == [2, 4, 6]
    assert "line 4: 'text' must be a string" in report.format()
    assert "outside" in report.bad_lines[2].error


def test_classify_jsonl_with_two_workers_writes_the_same_lines_in_input_order(
    classifier: Classifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("classifiers.batch.CHUNK_SIZE", 7)  # many chunks in flight at once
    texts = ["bike stolen near silk board", "huge jam at junction", "thank you police", "", "🙏", "chain snatched"]
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"id": i, "text": texts[i % len(texts)] + f" #{i}"}) + "\n" for i in range(100)),
        encoding="utf-8",
    )
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    classify_jsonl(source, one, classifier, show_progress=False, workers=1)
    report = classify_jsonl(source, two, classifier, show_progress=False, workers=2)
    assert report.n_written == 100 and report.is_ok
    assert two.read_text(encoding="utf-8") == one.read_text(encoding="utf-8")
    assert [json.loads(line)["id"] for line in two.read_text(encoding="utf-8").splitlines()] == list(range(100))


def test_the_committed_model_loads_and_reads_several_languages() -> None:
    trained = Classifier.load(ARTIFACTS, Path("/nonexistent"), VipList())
    texts = {
        "My phone was stolen from my bag in the bus at Majestic, please help": Category.THEFT,
        "Huge traffic jam at Silk Board junction since 1 hour, nothing moving": Category.TRAFFIC_CONGESTION,
        "Thank you @BlrCityPolice for finding my lost bag so quickly, great work 🙏": Category.APPRECIATION,
        "मेरा मोबाइल चोरी हो गया, बस में किसी ने जेब से निकाल लिया": Category.THEFT,
        "Kẹt xe kinh khủng ở Ngã Tư Sở từ 7h sáng, không nhúc nhích": Category.TRAFFIC_CONGESTION,
    }
    results = trained.classify([PostInput(id=str(i), text=t) for i, t in enumerate(texts)])
    assert [r.category for r in results] == list(texts.values())


def test_evaluate_scores_categories_emergency_styles_and_stations(classifier: Classifier, tmp_path: Path) -> None:
    places_csv = tmp_path / "places.csv"
    places_csv.write_text(
        "name,kind,lat,lon,law_order_station,traffic_station\n"
        "Silk Board Jn,junction,12.917,77.623,law_order-station,traffic-station\n",
        encoding="utf-8",
    )
    heldout = [
        CorpusPost("bike stolen near silk board", Category.THEFT, False, "en", "Silk Board Jn", "t:1"),
        CorpusPost("huge jam at silk board", Category.TRAFFIC_CONGESTION, False, "en", "Silk Board Jn", "t:2"),
        CorpusPost("chain snatched by two men", Category.THEFT, True, "hinglish", None, "t:3"),
        CorpusPost("thank you police great work", Category.OTHER, False, "hinglish", None, "t:4"),
    ]
    report = evaluate(classifier, heldout, places_csv=places_csv)
    assert report.n_posts == 4
    assert report.accuracy == pytest.approx(0.75)
    assert {s.style: s.support for s in report.per_style} == {"en": 2, "hinglish": 2}
    assert report.station_accuracy == 1.0 and report.n_station == 2
    assert report.emergency_recall == 1.0
    assert "appreciation" in report.format()


def test_gazetteer_sweep_routes_each_named_place_to_its_station_in_every_template(tmp_path: Path) -> None:
    city = ARTIFACTS.parents[1] / "data" / "bengaluru"
    trained = Classifier.load(ARTIFACTS, city, VipList(), Jurisdictions.load(city))
    places_csv = tmp_path / "places.csv"
    places_csv.write_text(
        "name,kind,lat,lon,law_order_station,traffic_station\n"
        "Koramangala,ward,12.935577,77.625781,blr-lo-koramangala,blr-traffic-adugodi\n"
        "Indiranagar,ward,12.981574,77.644195,blr-lo-indiranagar,blr-traffic-halasur\n"
        # the sweep must notice a wrong answer: Hebbal's stations are not these
        "Hebbal,bus_stop,13.034685,77.59273,blr-lo-nowhere,blr-traffic-nowhere\n"
        # no traffic station: only the law-and-order templates count
        "Domlur,pincode_area,12.96,77.64,blr-lo-halasur,\n",
        encoding="utf-8",
    )
    sweep = gazetteer_sweep(trained, places_csv)
    per_layer = len(SWEEP_TEMPLATES) // 2
    assert sweep.n_posts == 7 * per_layer
    assert sweep.accuracy == pytest.approx(5 * per_layer / sweep.n_posts)
    assert {kind: n for kind, _, n in sweep.by_kind} == {"bus_stop": 2 * per_layer, "pincode_area": per_layer, "ward": 4 * per_layer}
    assert "every places.csv name" in sweep.format()


@pytest.mark.slow
def test_training_twice_on_the_same_corpus_writes_the_same_bytes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = [
        {"text": f"{text} #{i}", "category": category, "emergency": i % 4 == 0, "style": "en", "place": None}
        for i in range(12)
        for category, text in (
            ("theft", "my phone was stolen at the bus stop"),
            ("traffic_congestion", "traffic jam near the junction again"),
            ("appreciation", "thank you police for the quick help"),
        )
    ]
    (corpus / "posts.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    outputs = []
    for run in ("a", "b"):
        target = tmp_path / run
        shutil.copytree(ARTIFACTS / "static_minilm", target / "static_minilm")
        report = train(corpus, target, civic_csv=None, real_posts=None, config=TrainConfig(cv_folds=2))
        assert report.n_train + report.n_heldout == len(rows)
        outputs.append({p.name: p.read_bytes() for p in sorted(target.glob("*.*"))})
    assert outputs[0] == outputs[1]
    assert {"category.npz", "emergency.npz", "features.json", "manifest.json"} <= set(outputs[0])
    loaded = Classifier.load(tmp_path / "a", tmp_path / "no-city", VipList())
    [result] = loaded.classify([PostInput(id="1", text="my phone was stolen")])
    assert result.category is Category.THEFT
