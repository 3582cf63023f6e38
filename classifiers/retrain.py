"""Rebuilding the committed classifier carefully: :func:`retrain` is what ``run.py train`` runs.

It trains into a folder of its own, compares the result with the committed artifacts file by file, and
overwrites a committed file with different bytes only when asked to (``replace``); identical files need no
replacing, and files not there before are added.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.train import (
    DEFAULT_CIVIC_CSV,
    DEFAULT_REAL_POSTS,
    GLOSSARY_TSV,
    STATIC_MODEL_DIR,
    TRAINED_FILES,
    TrainConfig,
    TrainingRefused,
    TrainReport,
    check_inputs,
    train,
)
from classifiers.tuned import TUNED_DIR

logger = logging.getLogger(__name__)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    return _flatten(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else {}


def _how_far(old: Path, new: Path) -> str:
    """How far the numeric arrays of two .npz files are apart, array by array."""
    parts = []
    try:
        before, after = np.load(old, allow_pickle=False), np.load(new, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile):
        return "not readable as arrays"
    with before, after:
        for key in sorted(set(before.files) | set(after.files)):
            if key not in before.files or key not in after.files:
                parts.append(f"{key} {'added' if key in after.files else 'removed'}")
                continue
            a, b = before[key], after[key]
            if a.shape != b.shape:
                parts.append(f"{key} shape {a.shape} → {b.shape}")
            elif a.dtype.kind in "fiu" and not np.array_equal(a, b):
                moved = np.abs(a.astype(np.float64) - b.astype(np.float64))
                parts.append(f"{key}: {int(np.count_nonzero(moved))} of {a.size} values, max |Δ| {moved.max():.3g}")
            elif not np.array_equal(a, b):
                parts.append(f"{key} differs")
    return "; ".join(parts) or "same numbers, different bytes"


@dataclass(frozen=True)
class Comparison:
    """A newly trained model beside the committed one, file by file."""

    files: dict[str, str]
    """Each file training wrote (relative path) → ``same``, ``changed`` or ``new`` (absent before)."""
    how_far: dict[str, str]
    """For a changed array file: how far its numbers moved."""
    manifest_changes: list[tuple[str, Any, Any]]
    """(key, before, after) for each manifest entry that differs (nested keys dotted)."""
    before_sha256: str | None
    after_sha256: str

    @property
    def is_same(self) -> bool:
        return all(status == "same" for status in self.files.values())

    @property
    def overwrites(self) -> bool:
        """Installing it would overwrite a committed file with different bytes."""
        return any(status == "changed" for status in self.files.values())

    def format(self) -> str:
        if self.is_same:
            return f"every file identical to the committed model (manifest sha256 {self.after_sha256[:16]})"
        if self.before_sha256 == self.after_sha256:
            lines = [
                f"differs from the committed model, though the manifest is identical (sha256 {self.after_sha256[:16]}):"
            ]
        else:
            before = (self.before_sha256 or "none")[:16]
            lines = [f"differs from the committed model (manifest sha256 {before} → {self.after_sha256[:16]}):"]
        lines += [
            f"  {name}: {status}" + (f" ({self.how_far[name]})" if name in self.how_far else "")
            for name, status in sorted(self.files.items())
            if status != "same"
        ]
        lines += [f"  manifest {key}: {before!r} → {after!r}" for key, before, after in self.manifest_changes]
        return "\n".join(lines)


def compare_artifacts(committed_dir: Path, new_dir: Path) -> Comparison:
    """Compare every file under ``new_dir`` with the same path under ``committed_dir``."""
    files: dict[str, str] = {}
    for path in sorted(p for p in new_dir.rglob("*") if p.is_file()):
        name = path.relative_to(new_dir).as_posix()
        old = committed_dir / name
        files[name] = "new" if not old.is_file() else "same" if _sha256(old) == _sha256(path) else "changed"
    before, after = _manifest(committed_dir), _manifest(new_dir)
    changes = [(key, before.get(key), after.get(key)) for key in sorted(before.keys() | after.keys())]
    old_manifest = committed_dir / "manifest.json"
    return Comparison(
        files=files,
        how_far={
            name: _how_far(committed_dir / name, new_dir / name)
            for name, status in files.items()
            if status == "changed" and name.endswith(".npz")
        },
        manifest_changes=[(key, old, new) for key, old, new in changes if old != new],
        before_sha256=_sha256(old_manifest) if old_manifest.is_file() else None,
        after_sha256=_sha256(new_dir / "manifest.json"),
    )


@dataclass(frozen=True)
class RetrainOutcome:
    report: TrainReport
    comparison: Comparison
    output_dir: Path
    artifacts_dir: Path
    installed: bool

    @property
    def is_settled(self) -> bool:
        """The committed folder now holds the model just trained (it was identical, or it was installed)."""
        return self.comparison.is_same or self.installed

    def format(self) -> str:
        if self.comparison.is_same:
            verdict = f"{self.artifacts_dir} reproduced: nothing to replace"
        elif self.installed:
            verdict = f"{self.artifacts_dir} now holds the new model (the files above); commit it with the reason"
        else:
            verdict = (
                f"{self.artifacts_dir} left as it was; the new model is in {self.output_dir} "
                "(run.py train --replace installs it)"
            )
        return f"{self.report.format()}\n{self.comparison.format()}\n{verdict}"


def _prepare_output(output_dir: Path, committed_static: Path) -> None:
    """An output folder holding only what training writes, with the committed static embedding copied in
    (so the new model is built on the same embedding, and no distillation is needed)."""
    if output_dir.exists():
        written = [p.relative_to(output_dir).as_posix() for p in output_dir.rglob("*") if p.is_file()]
        foreign = [
            name
            for name in written
            if name not in TRAINED_FILES and not name.startswith((f"{STATIC_MODEL_DIR}/", f"{TUNED_DIR}/"))
        ]
        if foreign:
            raise TrainingRefused(
                [
                    f"{output_dir}: holds files training does not write ({', '.join(foreign[:3])}); "
                    "choose an empty or new folder"
                ]
            )
        for name in TRAINED_FILES:
            (output_dir / name).unlink(missing_ok=True)
        shutil.rmtree(output_dir / TUNED_DIR, ignore_errors=True)  # written again when the config tunes
    output_dir.mkdir(parents=True, exist_ok=True)
    if (committed_static / "model.safetensors").is_file():
        shutil.copytree(committed_static, output_dir / STATIC_MODEL_DIR, dirs_exist_ok=True)


def _install(comparison: Comparison, output_dir: Path, artifacts_dir: Path) -> None:
    """Copy the files that differ into ``artifacts_dir``, each by an atomic rename, the manifest last."""
    names = sorted(
        (n for n, status in comparison.files.items() if status != "same"), key=lambda n: n == "manifest.json"
    )
    for name in names:
        target = artifacts_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.new")
        shutil.copyfile(output_dir / name, partial)
        os.replace(partial, target)


def retrain(
    corpus_dir: Path,
    artifacts_dir: Path,
    output_dir: Path,
    *,
    replace: bool = False,
    seed: int = 0,
    civic_csv: Path | None = DEFAULT_CIVIC_CSV,
    real_posts: Path | None = DEFAULT_REAL_POSTS,
    config: TrainConfig | None = None,
) -> RetrainOutcome:
    """Train into ``output_dir``, compare with ``artifacts_dir`` (the committed model), and install the new
    files there only when none would overwrite a different committed file, or with ``replace``."""
    committed = artifacts_dir.resolve()
    if committed == output_dir.resolve() or committed in output_dir.resolve().parents:
        raise TrainingRefused([f"{output_dir}: the output must lie outside the committed artifacts folder"])
    committed_static = artifacts_dir / STATIC_MODEL_DIR
    has_static = (committed_static / "model.safetensors").is_file()
    check_inputs(
        corpus_dir, civic_csv, GLOSSARY_TSV, committed_static if has_static else output_dir / STATIC_MODEL_DIR, real_posts
    )
    _prepare_output(output_dir, committed_static)
    report = train(corpus_dir, output_dir, seed=seed, civic_csv=civic_csv, real_posts=real_posts, config=config)
    comparison = compare_artifacts(artifacts_dir, output_dir)
    install = not comparison.is_same and (replace or not comparison.overwrites)
    if install:
        _install(comparison, output_dir, artifacts_dir)
    logger.info("retrain: %s", "identical" if comparison.is_same else "installed" if install else "not installed")
    return RetrainOutcome(report, comparison, output_dir, artifacts_dir, installed=install)
