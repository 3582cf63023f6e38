"""The layering of DESIGN.md, over the import graph: a stage never imports another stage.

``models`` is the ground floor and imports no project package but itself; each stage (``monitor``,
``classifiers``, ``routing``, ``notify``, ``dashboard``) imports only ``models``, itself and libraries;
``sandbox`` (the fake platforms) imports none of them. Only the assembly and ``run.py`` see everything.
Imports inside ``if TYPE_CHECKING:`` count too: a type from another stage is still a dependency on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {"assembly", "models", "monitor", "classifiers", "routing", "notify", "dashboard", "sandbox"}
ALLOWED = {
    "models": {"models"},
    "monitor": {"models", "monitor"},
    "classifiers": {"models", "classifiers"},
    "routing": {"models", "routing"},
    "notify": {"models", "notify"},
    "dashboard": {"models", "dashboard"},
    "sandbox": {"sandbox"},
}


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level project package) for every import in the file, however nested."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, n.split(".")[0]) for n in names if n.split(".")[0] in PROJECT]
    return found


def crossings(package: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, target in project_imports(path)
        if target not in ALLOWED[package]
    ]


@pytest.mark.parametrize("package", sorted(p for p in ALLOWED if (ROOT / p).is_dir()))
def test_a_stage_imports_only_the_ground_floor_and_itself(package: str) -> None:
    assert crossings(package) == []


def test_the_check_sees_an_import_that_crosses(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from routing.people import Officer\n")
    assert project_imports(module) == [(3, "routing")]
