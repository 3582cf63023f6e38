"""Property tests: ``load_settings`` on generated configuration files (issue 12, item 6).

The sample ``config.toml`` with values replaced by arbitrary TOML (wrong types, out of range, unknown keys,
removed keys, deep tables, in every section and in the sub-tables the stages read themselves:
``[followup.deadlines]``, ``[followup.masking]``, ``[followup.incidents]``), whole documents of arbitrary
TOML, and random bytes: each gives a ``Settings`` or the one start-up error (``StartupError``, exit 2 with
one message), never a traceback.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assembly.errors import StartupError
from assembly.settings import Settings, load_settings

SCALE = int(os.environ.get("PROPERTY_EXAMPLES", "1"))
PROPERTY = settings(
    max_examples=60 * SCALE,
    deadline=None,
    derandomize=SCALE == 1,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
SAMPLE["deployment"]["data_dir"] = str(ROOT / "data")  # the file is written elsewhere: the real data, by path
SAMPLE["followup"]["deadlines"] = {"normal": {"acknowledge": "2 h", "act": "1 working day"}, "holidays": [date(2026, 1, 26)]}
SAMPLE["followup"]["masking"] = {"default": {"phones": True, "regions": ["IN"]}, "action_taken": {"replacement": "label"}}
ENVIRON = {
    name: "s" * 40
    for name in (
        "X_BLRCITYTRAFFIC_BEARER_TOKEN",
        "X_BLRCITYPOLICE_BEARER_TOKEN",
        "FB_BCP_PAGE_TOKEN",
        "DASHBOARD_SECRET_KEY",
    )
}

# ---- TOML values and a writer (tomllib only reads) -----------------------------------------------------------

KEYS = st.sampled_from(
    ["name", "city", "timezone", "url", "interval_s", "platform", "handle", "user_id", "page_id", "normal",
     "acknowledge", "act", "categories", "working_days", "holidays", "default", "regions", "radius_m",
     "windows_h", "replies", "port", "x_daily_cap", "theft", "traffic_congestion", "mon"]
) | st.text(max_size=8)
TOML_SCALARS = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["", "Asia/Kolkata", "../../etc/passwd", "\x00", "x" * 5_000, "2 h", "3 working days",
                       "mon-sat", "sqlite:///x.db", "postgresql://", "{officer}", "{nobody}", "IN", "🙏"])
    | st.dates()
    | st.datetimes()
    | st.times()
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=10,
)


def toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict), type(value)
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(document: dict[str, Any]) -> str:
    return "".join(f"{toml_string(key)} = {toml_value(value)}\n" for key, value in document.items())


def test_the_writer_writes_what_tomllib_reads() -> None:
    assert tomllib.loads(toml_document(SAMPLE)) == SAMPLE


# ---- mutations of the sample ----------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


def paths(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every place in a document: each key of each table, each item of each list."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


SAMPLE_PATHS = sorted(paths(SAMPLE), key=repr)


def at(document: Any, path: Path_) -> Any:
    for part in path:
        document = document[part]
    return document


Mutation = tuple[str, Path_, Any]
MUTATIONS = st.tuples(st.just("replace"), st.sampled_from(SAMPLE_PATHS), TOML_VALUES) | st.tuples(
    st.just("remove"), st.sampled_from(SAMPLE_PATHS), st.none()
) | st.tuples(st.just("add"), st.sampled_from([(), *SAMPLE_PATHS]), st.tuples(KEYS, TOML_VALUES))


def mutate(document: dict[str, Any], mutations: list[Mutation]) -> dict[str, Any]:
    """A copy of ``document`` with each mutation applied where its path still leads."""
    copy = tomllib.loads(toml_document(document))
    for kind, path, value in mutations:
        try:
            parent: Any = at(copy, path[:-1]) if path else copy
            target = at(copy, path)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation took the path away
        if kind == "replace" and path:
            parent[path[-1]] = value
        elif kind == "remove" and path:
            del parent[path[-1]]
        elif kind == "add" and isinstance(target, dict):
            key, new = value
            target[key] = new
    return copy


def load(tmp_path: Path, text: str | bytes, environ: dict[str, str]) -> Settings | StartupError:
    path = tmp_path / "config.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    try:
        return load_settings(path, environ)
    except StartupError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        assert str(exc).startswith(str(path))
        return exc


def test_the_sample_as_written_here_loads(tmp_path: Path) -> None:
    assert isinstance(load(tmp_path, toml_document(SAMPLE), ENVIRON), Settings)


@PROPERTY
@given(st.lists(MUTATIONS, min_size=1, max_size=4))
@example([("replace", ("followup", "deadlines", "holidays"), [time(10, 0), "2026-13-40"])])
@example([("replace", ("followup", "masking", "default", "regions"), [["IN"]])])
@example([("add", ("followup", "deadlines", "categories"), ("theft", {"vip": {"act": [1]}}))])
@example([("replace", ("deployment", "timezone"), "\x00")])
def test_a_changed_sample_gives_settings_or_one_startup_error(tmp_path: Path, mutations: list[Mutation]) -> None:
    load(tmp_path, toml_document(mutate(SAMPLE, mutations)), ENVIRON)


SECTIONS = st.sampled_from(["followup.deadlines", "followup.masking", "followup.incidents", "routing.deadlines",
                            "followup.replies", "dashboard", "watch", "notify", "polling", "vip"])


@PROPERTY
@given(SECTIONS, st.dictionaries(KEYS, TOML_VALUES, max_size=5))
@example("followup.deadlines", {"categories": {"theft": {"emergency": {"acknowledge": "5 min", "act": "1 min"}}}})
@example("followup.deadlines", {"working_days": ["mon", 3, {"a": 1}]})
@example("followup.incidents", {"windows_h": {"theft": float("nan"), "traffic_congestion": [1]}})
def test_any_table_for_a_section_gives_settings_or_one_startup_error(
    tmp_path: Path, section: str, table: dict[str, Any]
) -> None:
    document = mutate(SAMPLE, [])
    first, second = section.split(".") if "." in section else (section, None)
    if second is None:
        document[first] = table
    else:
        document[first][second] = table
    load(tmp_path, toml_document(document), ENVIRON)


@PROPERTY
@given(st.dictionaries(KEYS, TOML_VALUES, max_size=6))
def test_any_toml_document_gives_one_startup_error_or_settings(tmp_path: Path, document: dict[str, Any]) -> None:
    load(tmp_path, toml_document(document), ENVIRON)


@PROPERTY
@given(st.binary(max_size=400) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
@example(b"\xff\xfe[deployment]")
@example(b"deployment = {name = \"x\"")
@example(b"[" * 5_000)
def test_random_bytes_give_one_startup_error(tmp_path: Path, raw: bytes) -> None:
    assert isinstance(load(tmp_path, raw, ENVIRON), StartupError)


ENV_NAMES = st.sampled_from([*ENVIRON, "DATABASE_URL", "NOTIFY_REDIRECT_URL", "X_CONSUMER_KEY"])


@PROPERTY
@given(st.dictionaries(ENV_NAMES, st.text(max_size=50) | st.sampled_from(["", " ", "sqlite://", "json://{x}"])))
def test_any_environment_gives_settings_or_one_startup_error(tmp_path: Path, environ: dict[str, str]) -> None:
    load(tmp_path, toml_document(SAMPLE), environ)


@pytest.mark.parametrize("section", ["deployment", "accounts", "followup", "routing"])
def test_a_section_of_the_wrong_shape_is_named(tmp_path: Path, section: str) -> None:
    document = mutate(SAMPLE, [("replace", (section,), "oops")])
    found = load(tmp_path, toml_document(document), ENVIRON)
    assert isinstance(found, StartupError)
    assert any(p.startswith(section) for p in found.problems), found.problems
