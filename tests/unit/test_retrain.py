"""Rebuilding the classifier: training refuses to run on less than it needs, and never replaces the committed
model with a different one without saying so."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import classifiers.train as training
from classifiers.retrain import compare_artifacts, retrain
from classifiers.train import DEFAULT_CIVIC_CSV, TrainConfig, TrainingRefused, check_inputs, train
from tests.conftest import ROOT

ARTIFACTS = ROOT / "classifiers" / "artifacts"
TINY = TrainConfig(cv_folds=2)


def write_corpus(folder: Path, copies: int = 12) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {"text": f"{text} #{i}", "category": category, "emergency": i % 4 == 0, "style": "en", "place": None}
        for i in range(copies)
        for category, text in (
            ("theft", "my phone was stolen at the bus stop"),
            ("traffic_congestion", "traffic jam near the junction again"),
            ("appreciation", "thank you police for the quick help"),
        )
    ]
    (folder / "posts.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_civic_reports_training_reads_are_in_the_repository_as_published() -> None:
    assert DEFAULT_CIVIC_CSV.is_relative_to(ROOT) and DEFAULT_CIVIC_CSV.is_file()
    readme = (DEFAULT_CIVIC_CSV.parent / "README.md").read_text(encoding="utf-8")
    [recorded] = re.findall(r"sha256 `([0-9a-f]{64})`", readme)
    assert hashlib.sha256(DEFAULT_CIVIC_CSV.read_bytes()).hexdigest() == recorded
    assert (ROOT / "data" / "licenses" / "mini-project.MIT.txt").is_file()


def test_a_missing_civic_reports_file_refuses_training_instead_of_training_on_less(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    with pytest.raises(TrainingRefused) as refused:
        train(corpus, tmp_path / "out", civic_csv=tmp_path / "gone.csv", config=TINY)
    assert str(tmp_path / "gone.csv") in str(refused.value)
    assert "nothing was trained" in str(refused.value)
    assert not (tmp_path / "out").exists()


def test_every_missing_input_is_named_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "DISTIL_MODULES", ("no_such_module_for_distilling",))
    with pytest.raises(TrainingRefused) as refused:
        check_inputs(
            tmp_path / "corpus",
            tmp_path / "civic.csv",
            tmp_path / "glossary.tsv",
            tmp_path / "static",
            tmp_path / "posts.jsonl",
        )
    problems = refused.value.problems
    assert len(problems) == 5
    for named in ("corpus", "civic.csv", "glossary.tsv", "no_such_module_for_distilling", "posts.jsonl"):
        assert any(named in problem for problem in problems), named


def fake_artifacts(folder: Path, *, cv: float, weights: list[float]) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"cv_macro_f1": cv, "config": {"category_c": 10.0}}))
    np.savez(folder / "category.npz", weights=np.array(weights, dtype=np.float16))
    (folder / "features.json").write_text("{}")
    return folder


def test_comparison_names_each_changed_file_how_far_and_each_manifest_entry(tmp_path: Path) -> None:
    committed = fake_artifacts(tmp_path / "committed", cv=0.8417, weights=[0.5, 1.0, 2.0])
    same = compare_artifacts(committed, fake_artifacts(tmp_path / "same", cv=0.8417, weights=[0.5, 1.0, 2.0]))
    assert same.is_same and "identical" in same.format()

    changed = compare_artifacts(committed, fake_artifacts(tmp_path / "new", cv=0.8, weights=[0.5, 1.5, 2.0]))
    assert not changed.is_same and changed.overwrites
    assert changed.files == {"category.npz": "changed", "features.json": "same", "manifest.json": "changed"}
    assert changed.how_far == {"category.npz": "weights: 1 of 3 values, max |Δ| 0.5"}
    assert changed.manifest_changes == [("cv_macro_f1", 0.8417, 0.8)]
    assert "category.npz: changed (weights: 1 of 3 values" in changed.format()
    assert "cv_macro_f1: 0.8417 → 0.8" in changed.format()


def test_the_output_folder_is_never_the_committed_one_nor_a_folder_of_other_files(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    committed = fake_artifacts(tmp_path / "committed", cv=0.8, weights=[1.0])
    for output in (committed, committed / "new"):
        with pytest.raises(TrainingRefused, match="outside the committed artifacts folder"):
            retrain(corpus, committed, output, civic_csv=None, real_posts=None, config=TINY)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(TrainingRefused, match="notes.txt"):
        retrain(corpus, committed, tmp_path / "mine", civic_csv=None, real_posts=None, config=TINY)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_run_py_train_refusing_is_one_message_and_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "train", "--output", str(ARTIFACTS)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "training refused" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_retraining_replaces_the_committed_model_only_when_identical_or_told_to(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    committed = tmp_path / "artifacts"
    shutil.copytree(ARTIFACTS / "static_minilm", committed / "static_minilm")
    train(corpus, committed, civic_csv=None, real_posts=None, config=TINY)
    before = snapshot(committed)

    same = retrain(corpus, committed, tmp_path / "out", civic_csv=None, real_posts=None, config=TINY)
    assert same.comparison.is_same and same.is_settled and not same.installed
    assert "reproduced" in same.format()
    assert snapshot(committed) == before

    write_corpus(corpus, copies=16)  # more posts: a different model
    kept = retrain(corpus, committed, tmp_path / "out", civic_csv=None, real_posts=None, config=TINY)
    assert not kept.is_settled and kept.comparison.overwrites
    assert "category.npz: changed" in kept.format() and "left as it was" in kept.format()
    assert snapshot(committed) == before

    replaced = retrain(corpus, committed, tmp_path / "out", replace=True, civic_csv=None, real_posts=None, config=TINY)
    assert replaced.installed and replaced.is_settled
    assert snapshot(committed) == snapshot(tmp_path / "out")
