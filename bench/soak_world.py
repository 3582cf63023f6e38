"""The soak's world: its accounts, the posts it releases, the bot's config and a fresh PostgreSQL database.

Posts are drawn from the authored corpus (``data/corpus``: Bengaluru places in the text) and the real
corpus (``data/real``: real citizens' posts, mostly with no Bengaluru place, so an X post of it carries the
coordinates of a Bengaluru place instead), so the classifier, the place finder and routing do real work.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from sandbox.ids import x_user_id

ROOT = Path(__file__).resolve().parent.parent
TOKEN_ENV = "SOAK_SANDBOX_TOKEN"
SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REAL_SHARE = 0.25  # the rest from the authored corpus
AUTHORS = 40_000  # distinct citizens posting


@dataclass(frozen=True)
class SoakAccount:
    platform: str  # "x" or "facebook"
    key: str  # X handle or page id
    user_id: str  # X user id or page id
    name: str

    def to_json(self) -> dict[str, str]:
        return {"platform": self.platform, "key": self.key, "user_id": self.user_id, "name": self.name}

    @classmethod
    def from_json(cls, record: dict[str, str]) -> SoakAccount:
        return cls(record["platform"], record["key"], record["user_id"], record["name"])


def make_accounts(n: int) -> list[SoakAccount]:
    """``n`` accounts, X and Facebook alternately (an X account first)."""
    accounts = []
    for i in range(n):
        if i % 2 == 0:
            handle = f"soakx{i // 2 + 1:02d}"
            accounts.append(SoakAccount("x", handle, x_user_id(handle), f"Soak X {i // 2 + 1}"))
        else:
            page_id = f"9100000000{i // 2 + 1:05d}"
            accounts.append(SoakAccount("facebook", page_id, page_id, f"Soak Page {i // 2 + 1}"))
    return accounts


@dataclass(frozen=True)
class Texts:
    authored: tuple[str, ...]
    real: tuple[str, ...]
    places: tuple[tuple[float, float], ...]  # Bengaluru places' coordinates


def _jsonl_texts(paths: Sequence[Path]) -> tuple[str, ...]:
    texts = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                if isinstance(record.get("text"), str) and record["text"].strip():
                    texts.append(record["text"])
    return tuple(texts)


def load_texts(root: Path = ROOT) -> Texts:
    with (root / "data" / "bengaluru" / "places.csv").open(encoding="utf-8") as handle:
        places = tuple((float(row["lat"]), float(row["lon"])) for row in csv.DictReader(handle) if row["lat"])
    return Texts(
        authored=_jsonl_texts(sorted((root / "data" / "corpus").glob("posts_*.jsonl"))),
        real=_jsonl_texts([root / "data" / "real" / "posts.jsonl"]),
        places=places,
    )


_HANDLE = re.compile(r"@\w{1,15}")


def make_posts(n: int, accounts: Sequence[SoakAccount], texts: Texts, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` sandbox posts (``POST /_sandbox/posts`` bodies, without ``created_at``: the sandbox stamps
    the moment it gets them), spread over the accounts round-robin. The corpus texts' own @handles are
    dropped (they name the real accounts); X adds the account's."""
    rng = random.Random(seed)
    posts: list[dict[str, Any]] = []
    for i in range(n):
        account = accounts[i % len(accounts)]
        is_real = rng.random() < REAL_SHARE
        text = _HANDLE.sub("", rng.choice(texts.real if is_real else texts.authored)).strip() or "help"
        author = f"citizen{rng.randrange(AUTHORS):05d}"
        post: dict[str, Any] = {"platform": account.platform, "text": text, "account": account.key}
        if account.platform == "x":
            post["author"] = author
            if is_real:
                post["lat"], post["lon"] = rng.choice(texts.places)
        else:
            post["author"] = author.replace("citizen", "Citizen ")
        posts.append(post)
    return posts


def config_text(*, sandbox_url: str, database_url: str, accounts: Sequence[SoakAccount], poll_interval_s: float,
                root: Path = ROOT) -> str:
    """The bot's config: the sample deployment's sections from ``[vip]`` on, with every account on the
    sandbox, short retry backoffs (a soak must drain) and no daily reply cap."""
    lines = [
        "[deployment]", 'name = "soak"', 'city = "bengaluru"', 'timezone = "Asia/Kolkata"', 'docket_prefix = "BLR"',
        f'data_dir = "{root / "data"}"',
        "[database]", f'url = "{database_url}"',
        "[polling]", f"interval_s = {poll_interval_s}", "max_results = 100", "request_timeout_s = 5",
        "backoff_initial_s = 0.5", "backoff_max_s = 5", "auth_retry_s = 5",
    ]
    for account in accounts:
        lines.append("[[accounts]]")
        if account.platform == "x":
            lines += ['platform = "x"', f'handle = "{account.key}"', f'user_id = "{account.user_id}"',
                      f'bearer_token_env = "{TOKEN_ENV}"', f'consumer_key_env = "{TOKEN_ENV}"',
                      f'consumer_secret_env = "{TOKEN_ENV}"', f'access_token_env = "{TOKEN_ENV}"',
                      f'access_token_secret_env = "{TOKEN_ENV}"']
        else:
            lines += ['platform = "facebook"', f'page_id = "{account.key}"', f'name = "{account.name}"',
                      f'page_token_env = "{TOKEN_ENV}"', "lookback_days = 30"]
        lines.append(f'api_base_url = "{sandbox_url}"')
    sample = (root / "config.toml").read_text(encoding="utf-8")
    rest = sample[sample.index("\n[vip]"):]
    for key, value in (("x_daily_cap", "10000000"), ("backoff_initial_s", "2"), ("backoff_max_s", "20"),
                       ("backlog_limit", "10000000")):
        rest = re.sub(rf"(?m)^{key} = \S+", f"{key} = {value}", rest)
    return "\n".join(lines) + "\n" + rest


def _server(server_url: str) -> psycopg.Connection[Any]:
    libpq = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(libpq, autocommit=True)


def create_database(name: str, server_url: str = SERVER_URL) -> str:
    """A new empty database in the server ``server_url`` (any database of it) is on; returns its URL."""
    with _server(server_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str, server_url: str = SERVER_URL) -> None:
    with _server(server_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
