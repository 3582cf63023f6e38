"""The ``[followup]`` section of the deployment's settings: replies, masking, deadlines, incidents, escalation.

Its shape is checked by the same strict pydantic tables as the rest of ``config.toml``; the sub-tables each
stage reads itself (masking, deadlines, incidents) are handed to that stage's own ``from_mapping`` and its
problems reported beside the others, in the file's terms (``followup.deadlines.normal: ...``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from models.followup import REPLY_KINDS

ReplyKind = Literal["acknowledgement", "emergency", "referral", "thanks", "action_taken", "reopened"]
assert set(get_args(ReplyKind)) == set(REPLY_KINDS)  # one list of kinds
Language = Literal["en", "kn", "hi", "vi"]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Replies(_Table):
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 6
    backoff_initial_s: Annotated[float, Field(gt=0)] = 30.0
    backoff_max_s: Annotated[float, Field(gt=0)] = 1800.0
    sending_timeout_s: Annotated[float, Field(gt=0)] = 120.0
    x_daily_cap: Annotated[int, Field(ge=0)] = 500
    batch_size: Annotated[int, Field(gt=0, le=10_000)] = 50
    concurrency: Annotated[int, Field(ge=1, le=32)] = 1
    facebook_private: list[ReplyKind] = []


class _Escalation(_Table):
    reminder_at_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.75
    digest_every_days: Annotated[int, Field(ge=1, le=366)] = 14
    batch_size: Annotated[int, Field(gt=0, le=10_000)] = 500


class _Followup(_Table):
    templates: Annotated[str, Field(min_length=1)] = "templates/replies.toml"  # under deployment.data_dir
    force_name: str | None = None  # how replies sign; default: the deployment's name
    emergency_number: Annotated[str, Field(pattern=r"^[0-9]{3,6}$")] = "112"
    reopen_window_days: Annotated[int, Field(ge=0, le=365)] = 14
    hinglish_replies: Language = "en"
    kanglish_replies: Language = "en"
    referral_contacts: dict[str, Annotated[str, Field(min_length=1, max_length=200)]] = {}
    replies: _Replies = _Replies()
    escalation: _Escalation = _Escalation()
    masking: dict[str, Any] = {}
    deadlines: dict[str, Any] = {}
    incidents: dict[str, Any] = {}


@dataclass(frozen=True)
class FollowupSettings:
    templates_path: Path
    force_name: str
    emergency_number: str = "112"
    reopen_window_days: int = 14
    hinglish_replies: str = "en"
    kanglish_replies: str = "en"
    referral_contacts: Mapping[str, str] = field(default_factory=dict)
    replies: _Replies = _Replies()
    escalation: _Escalation = _Escalation()
    masking: Mapping[str, Any] = field(default_factory=dict)
    deadlines: Mapping[str, Any] = field(default_factory=dict)
    incidents: Mapping[str, Any] = field(default_factory=dict)


def followup_settings(section: _Followup, *, data_dir: Path, deployment_name: str) -> FollowupSettings:
    return FollowupSettings(
        templates_path=data_dir / section.templates,
        force_name=section.force_name or deployment_name,
        emergency_number=section.emergency_number,
        reopen_window_days=section.reopen_window_days,
        hinglish_replies=section.hinglish_replies,
        kanglish_replies=section.kanglish_replies,
        referral_contacts=dict(section.referral_contacts),
        replies=section.replies,
        escalation=section.escalation,
        masking=section.masking,
        deadlines=section.deadlines,
        incidents=section.incidents,
    )


Parser = Callable[[Mapping[str, Any]], object]


def followup_checks(document: Mapping[str, Any], parsers: Mapping[str, Parser], data_dir: Path | None) -> list[str]:
    """The problems of the sub-tables only their stages can read, and of the templates file's place."""
    section = document.get("followup")
    raw: Mapping[str, Any] = section if isinstance(section, dict) else {}
    problems: list[str] = []
    for name, parse in parsers.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            continue  # the shape check reports it
        try:
            parse(table)
        except ValueError as exc:
            lines = [line.strip(" -") for part in str(exc).split("; ") for line in part.splitlines()]
            problems += [line if line.startswith(f"{name}") else f"{name}: {line}" for line in lines if line]
            problems = [p if p.startswith("followup.") else f"followup.{p}" for p in problems]
    templates = raw.get("templates", "templates/replies.toml")
    if data_dir is not None and isinstance(templates, str) and templates and data_dir.is_dir():
        if not (data_dir / templates).is_file():
            problems.append(f"followup.templates: no such file {data_dir / templates}")
    replies = raw.get("replies")
    if isinstance(replies, dict):
        low, high = replies.get("backoff_initial_s"), replies.get("backoff_max_s")
        if isinstance(low, int | float) and isinstance(high, int | float) and high < low:
            problems.append("followup.replies.backoff_max_s must not be less than followup.replies.backoff_initial_s")
    return problems
