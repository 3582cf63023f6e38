"""The desk's corrections on SQLite and PostgreSQL: a corrected place moves a routed case to the new station
on the next routing cycle, a corrected category to the station of its layer, an unknown place or a stranger
changes nothing; each correction is kept, exported to the file training reads, and read back as a labelled
real example that never repeats a held-out post."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from assembly.corrections_cli import corrections_app, export_corrections
from classifiers.real_corpus import RealCorpusError, load_corrections
from classifiers.real_corpus import split_key as real_split_key
from classifiers.train import TrainConfig, desk_examples, train
from models.corrections import Correction, Placed
from models.db import session_scope
from models.lifecycle import IllegalTransition
from models.routing import Assignment, OutboxMessage
from models.tables import AuditEvent, Complaint
from models.taxonomy import Category, layer_for
from monitor.followup.actions import CaseActions
from routing.stage import RouteStage
from tests.integration.test_case_actions import COMPOSER, ORG, case, file_post, holder
from tests.integration.test_notify_delivery import NOW, context
from tests.unit.test_retrain import ARTIFACTS, write_corpus

# Where the fake gazetteer puts each place, per station layer (make_org's stations).
PLACES = {
    "koramangala": ("Koramangala", 12.9356, 77.6258, {"law_order": "l2", "traffic": "ts"}),
    "hsr layout": ("HSR Layout", 12.9116, 77.6389, {"law_order": "l3", "traffic": "ts"}),
}
LATER = NOW + timedelta(hours=1)


def relocate(category: str, place: str | None) -> Placed | None:
    found = PLACES.get((place or "").strip().lower())
    if found is None:
        return None
    name, lat, lon, stations = found
    layer = layer_for(Category(category))
    return Placed(name, lat, lon, stations[layer.value] if layer else None)


def actions(engine: Engine) -> CaseActions:
    return CaseActions(engine, ORG, COMPOSER, relocate=relocate)


def routed(engine: Engine, text: str = "My bike was stolen outside the metro") -> tuple[int, str]:
    cid = file_post(engine, text=text)
    RouteStage(context(ORG)).run(engine, NOW)
    docket = case(engine, cid).docket
    assert docket is not None
    return cid, docket


def open_rows(engine: Engine, cid: int) -> list[tuple[str | None, str | None, str]]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(Assignment).where(Assignment.complaint_id == cid, Assignment.status == "open").order_by(col(Assignment.id))
        ).all()
        return [(a.station_id, a.officer_id, a.role) for a in rows]


def corrections(engine: Engine) -> list[Correction]:
    with session_scope(engine) as session:
        return list(session.exec(select(Correction).order_by(col(Correction.id))).all())


def test_a_corrected_place_moves_the_routed_case_to_the_new_station_on_the_next_cycle(engine: Engine) -> None:
    cid, docket = routed(engine)
    was = holder(engine, cid)
    assert case(engine, cid).station_id == "l1" and was is not None and was.startswith("L1-")

    outcome = actions(engine).correct(docket, officer_id="DESK1", category=None, place="koramangala", now=LATER)

    corrected = case(engine, cid)
    assert (outcome.transition.from_status, outcome.transition.to_status) == ("assigned", "new")
    assert (corrected.status, corrected.place_name, corrected.station_id) == ("new", "Koramangala", "l2")
    assert open_rows(engine, cid) == []  # nobody holds it until routing places it again
    assert outcome.told == (was,)  # the officer who held it hears it is no longer theirs

    assert RouteStage(context(ORG)).run(engine, LATER)["assigned"] == 1
    moved = case(engine, cid)
    assert (moved.docket, moved.status, moved.station_id) == (docket, "assigned", "l2")
    assert holder(engine, cid) == "L2-HEAD"
    [row] = corrections(engine)
    assert (row.docket, row.text, row.officer_id, row.source, row.at) == (
        docket,
        "My bike was stolen outside the metro",
        "DESK1",
        "desk",
        LATER,
    )
    assert (row.old_category, row.new_category, row.old_place, row.new_place) == ("theft", "theft", None, "Koramangala")
    assert (row.old_station, row.new_station) == ("l1", "l2")
    with session_scope(engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.kind == "case.correct")).all()
        told = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "correct")).all()
    assert event.actor == "DESK1" and event.detail["before"]["station"] == "l1"
    assert event.detail["after"] == {"category": "theft", "confidence": 1.0, "place": "Koramangala", "station": "l2"}
    assert {m.officer_id for m in told} == {was}


def test_a_corrected_category_goes_to_the_station_of_its_layer_at_the_same_place(engine: Engine) -> None:
    cid, docket = routed(engine)
    actions(engine).correct(docket, officer_id="DESK1", category=None, place="HSR Layout", now=LATER)
    RouteStage(context(ORG)).run(engine, LATER)
    assert holder(engine, cid) == "L3-DUTY"

    actions(engine).correct(docket, officer_id="ACP2", category="traffic_congestion", place=None, now=LATER)
    RouteStage(context(ORG)).run(engine, LATER)

    moved = case(engine, cid)
    assert (moved.category, moved.place_name, moved.station_id, moved.status) == (
        "traffic_congestion",
        "HSR Layout",
        "ts",
        "assigned",
    )
    assert holder(engine, cid) == "TS-DAY"  # noon: the traffic station's day shift
    assert [(c.old_category, c.new_category, c.officer_id) for c in corrections(engine)] == [
        ("theft", "theft", "DESK1"),
        ("theft", "traffic_congestion", "ACP2"),
    ]


def test_an_unsure_case_at_the_desk_confirmed_as_it_is_goes_to_its_station(engine: Engine) -> None:
    cid = file_post(engine, text="Someone took my phone near the bus stand")
    with session_scope(engine) as session:
        unsure = session.get(Complaint, cid)
        assert unsure is not None
        unsure.confidence = 0.3
        session.add(unsure)
    RouteStage(context(ORG)).run(engine, NOW)
    docket = case(engine, cid).docket
    assert docket is not None and case(engine, cid).status == "desk"

    actions(engine).correct(docket, officer_id="DESK1", category="theft", place=None, now=LATER)
    RouteStage(context(ORG)).run(engine, LATER)

    assert (case(engine, cid).status, case(engine, cid).confidence) == ("assigned", 1.0)
    assert (holder(engine, cid) or "").startswith("L1-")
    with pytest.raises(IllegalTransition, match="already says"):
        actions(engine).correct(docket, officer_id="DESK1", category="theft", place=None, now=LATER)


@pytest.mark.parametrize(
    ("officer", "category", "place", "says"),
    [
        ("DESK1", None, "Atlantis", "unknown place 'Atlantis'"),
        ("DESK1", "burglary", None, "unknown category 'burglary'"),
        ("DESK1", None, "   ", "nothing to correct"),
        ("L1-A", None, "koramangala", "correct is for"),
        ("L2-HEAD", None, "koramangala", "correct is for"),
    ],
)
def test_a_refused_correction_changes_nothing(
    engine: Engine, officer: str, category: str | None, place: str | None, says: str
) -> None:
    cid, docket = routed(engine)
    before = open_rows(engine, cid)

    with pytest.raises(IllegalTransition, match=says):
        actions(engine).correct(docket, officer_id=officer, category=category, place=place, now=LATER)

    after = case(engine, cid)
    assert (after.status, after.station_id, after.place_name) == ("assigned", "l1", None)
    assert open_rows(engine, cid) == before and corrections(engine) == []


def test_a_closed_case_is_not_corrected(engine: Engine) -> None:
    cid, docket = routed(engine)
    actions(engine).reject(docket, officer_id="DESK1", reason="spam", now=LATER)
    with pytest.raises(IllegalTransition, match="is rejected"):
        actions(engine).correct(docket, officer_id="DESK1", category=None, place="koramangala", now=LATER)
    assert corrections(engine) == []


def test_the_export_writes_each_corrected_post_once_and_training_reads_it(engine: Engine, tmp_path: Path) -> None:
    _, docket = routed(engine, text="Chain snatching at the market, please send someone")
    actions(engine).correct(docket, officer_id="DESK1", category="violence", place=None, now=LATER)
    actions(engine).correct(docket, officer_id="DESK1", category="theft", place="koramangala", now=LATER)
    out = tmp_path / "real" / "corrections.jsonl"

    report = export_corrections(engine, out)

    [line] = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert (report.lines, report.from_database, report.added, report.kept) == (1, 1, 1, 0)
    assert line["id"].startswith("desk-x-19") and line["source"] == "desk-correction"
    assert (line["category"], line["place"], line["was_category"], line["docket"]) == (
        "theft",
        "Koramangala",
        "theft",
        docket,
    )  # the desk's last word, and what the bot had said first
    [post] = load_corrections(out)
    assert (post.text, post.category, post.place, post.is_real) == (
        "Chain snatching at the market, please send someone",
        Category.THEFT,
        "Koramangala",
        True,
    )
    assert post.source == f"real:{line['id']}"

    # the same corrections give the same bytes, and a line an earlier database wrote is kept
    earlier = {**line, "id": "desk-facebook-123_456", "text": "Loud music all night", "category": "public_nuisance"}
    out.write_text(out.read_text(encoding="utf-8") + json.dumps(earlier) + "\n", encoding="utf-8")
    again = export_corrections(engine, out)
    assert (again.lines, again.added, again.kept) == (2, 0, 1)
    text = out.read_text(encoding="utf-8")
    assert export_corrections(engine, out).lines == 2 and out.read_text(encoding="utf-8") == text
    assert [p.category for p in load_corrections(out)] == [Category.PUBLIC_NUISANCE, Category.THEFT]  # sorted by id


def test_training_never_takes_a_correction_of_a_post_the_real_corpus_holds(tmp_path: Path) -> None:
    """A corrected post that is also in the real corpus may be on its held-out side: the corpus's label stands."""
    out = tmp_path / "corrections.jsonl"
    rows = [
        {"id": "desk-x-1", "source": "desk-correction", "text": "@a drunk men fighting near Silk Board https://t.co/x",
         "category": "violence", "emergency": False, "misconduct": False, "place": "Silk Board"},
        {"id": "desk-x-2", "source": "desk-correction", "text": "drunk men fighting near silk board!!",
         "category": "violence", "emergency": False, "misconduct": False, "place": None},
        {"id": "desk-x-3", "source": "desk-correction", "text": "pothole outside my house for a month",
         "category": "road_infrastructure", "emergency": False, "misconduct": False, "place": None},
    ]
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    corrected = load_corrections(out)
    held_out_elsewhere = {real_split_key("Drunk men fighting near Silk Board")}

    kept = desk_examples(corrected, held_out_elsewhere, set())
    assert [p.source for p in kept] == ["real:desk-x-3"]
    assert [p.source for p in desk_examples(corrected, set(), set())] == ["real:desk-x-1", "real:desk-x-3"]

    out.write_text(json.dumps({**rows[0], "source": "delhi2016"}) + "\n", encoding="utf-8")
    with pytest.raises(RealCorpusError, match="not a desk correction"):
        load_corrections(out)
    assert load_corrections(tmp_path / "absent.jsonl") == []


@pytest.mark.slow
def test_training_on_a_tiny_corpus_takes_the_corrections_and_names_their_source(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    out = tmp_path / "model"
    shutil.copytree(ARTIFACTS / "static_minilm", out / "static_minilm")
    file = tmp_path / "corrections.jsonl"
    rows = [
        {"id": f"desk-x-{i}", "source": "desk-correction", "text": text, "category": "theft", "emergency": False,
         "misconduct": False, "place": None}
        for i, text in enumerate(["purse snatched on the bus", "purse snatched on the bus!!", "my cycle was taken"])
    ]
    file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tiny = TrainConfig(cv_folds=2)

    report = train(corpus, out, civic_csv=None, real_posts=None, config=tiny, corrections=file)

    assert (report.n_desk_corrections, report.n_desk_left_out) == (2, 1)  # the repeated text once
    assert "desk corrections trained on (source desk-correction): 2" in report.format()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["desk_corrections"]["n"] == 2 and manifest["desk_corrections"]["source"] == "desk-correction"
    assert manifest["n_real_train"] == 0  # the real corpus was not read; the corrections are apart

    without = train(corpus, out, civic_csv=None, real_posts=None, config=tiny, corrections=tmp_path / "none.jsonl")
    assert "desk_corrections" not in json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "(no corrections file)" in without.format()


def test_run_py_corrections_export_writes_the_file_and_exits_0(sqlite_engine: Engine, tmp_path: Path) -> None:
    _, docket = routed(sqlite_engine)
    actions(sqlite_engine).correct(docket, officer_id="DESK1", category=None, place="koramangala", now=LATER)
    out = tmp_path / "corrections.jsonl"
    env = {"DATABASE_URL": sqlite_engine.url.render_as_string(hide_password=False)}

    done = CliRunner().invoke(corrections_app, ["export", "--demo", "--output", str(out)], env=env)

    assert done.exit_code == 0, done.output
    assert f"1 corrected post(s) in {out}" in done.output and len(load_corrections(out)) == 1
    out.write_text("not json\n", encoding="utf-8")
    refused = CliRunner().invoke(corrections_app, ["export", "--demo", "--output", str(out)], env=env)
    assert refused.exit_code == 2 and "line 1 is not JSON" in refused.output
    assert out.read_text(encoding="utf-8") == "not json\n"  # nothing was written
