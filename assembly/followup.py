"""Putting the follow-up tracker together: the reply composer, the officer actions and the tracker's stages.

``build`` calls :func:`make_followup` with what it already loaded (the organisation, the platforms with
their account rows); ``run.py case ...`` calls :func:`open_case_actions`, which loads only what the
actions need (settings, people, the templates, the database), never the classifier.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from assembly.city import load_city
from assembly.database import open_database
from assembly.errors import StartupError
from assembly.relocate import make_relocate
from assembly.settings import Settings, load_settings
from models.corrections import Relocate
from models.stage import Stage
from monitor.followup.actions import CaseActions
from monitor.followup.compose import ReplyComposer, ReplyOptions
from monitor.followup.escalation import EscalationSettings, EscalationStage
from monitor.followup.notices import reply_problem_teller
from monitor.followup.people import People
from monitor.followup.replies import ReplySettings, ReplyStage
from monitor.followup.stage import FollowupStage
from monitor.platform import Platform
from monitor.watch import WatchStage


@dataclass(frozen=True)
class Followup:
    composer: ReplyComposer
    actions: CaseActions | None  # None without a database (check-config)
    stages: tuple[Stage, ...]


def make_composer(settings: Settings) -> ReplyComposer:
    """The templates and the masking rules, checked; StartupError listing every problem."""
    from monitor.followup.masking import MaskingPolicy
    from monitor.followup.templates import ReplyTemplates, TemplateError, language_for

    f = settings.followup
    try:
        templates = ReplyTemplates.load(f.templates_path)
    except TemplateError as exc:  # each problem names the file
        raise StartupError("reply templates", exc.problems) from exc
    try:  # the authorities' published helplines are never hidden in a referral reply
        policy = MaskingPolicy.from_mapping(f.masking, public=f.referral_contacts.values())
    except ValueError as exc:
        raise StartupError("config", [f"followup.{p}" for p in str(exc).split("; ")]) from exc

    def language(text: str, lang: str | None) -> str:
        return language_for(text, lang, hinglish=f.hinglish_replies, kanglish=f.kanglish_replies)

    options = ReplyOptions(
        force=f.force_name,
        emergency_number=f.emergency_number,
        referral_contacts=f.referral_contacts,
        facebook_private_kinds=frozenset(f.replies.facebook_private),
    )
    return ReplyComposer(templates, policy.mask, language, options)


def make_case_actions(
    settings: Settings, engine: Engine, people: People, composer: ReplyComposer, relocate: Relocate | None = None
) -> CaseActions:
    return CaseActions(
        engine,
        people,
        composer,
        dashboard_base_url=settings.notify.dashboard_base_url,
        reopen_window=timedelta(days=settings.followup.reopen_window_days),
        deadlines=settings.routing.policy.deadlines,
        relocate=relocate,
    )


def make_followup(
    settings: Settings,
    engine: Engine | None,
    people: People,
    platforms: Mapping[int, Platform],
    relocate: Relocate | None = None,
) -> Followup:
    """The tracker's parts: follow-ups and first replies, then replies posted, then deadlines watched."""
    composer = make_composer(settings)
    if engine is None:
        return Followup(composer, None, ())
    actions = make_case_actions(settings, engine, people, composer, relocate)
    e = settings.followup.escalation
    escalation = EscalationSettings(
        dashboard_base_url=settings.notify.dashboard_base_url,
        reminder_at_fraction=e.reminder_at_fraction,
        digest_every_days=e.digest_every_days,
        batch_size=e.batch_size,
    )
    r = settings.followup.replies
    replies = ReplySettings(
        max_attempts=r.max_attempts,
        backoff_initial_s=r.backoff_initial_s,
        backoff_max_s=r.backoff_max_s,
        sending_timeout_s=r.sending_timeout_s,
        auth_retry_s=settings.polling.auth_retry_s,
        x_daily_cap=r.x_daily_cap,
        batch_size=r.batch_size,
        concurrency=r.concurrency,
        private_replies=bool(r.facebook_private),
    )
    teller = reply_problem_teller(people, settings.notify.dashboard_base_url)
    stages: tuple[Stage, ...] = (
        FollowupStage(people, composer, actions),
        ReplyStage(platforms, replies, teller),
        EscalationStage(people, escalation, policy=settings.routing.policy.deadlines),
        WatchStage(people, settings.watch),  # the desk told when the bot itself needs a person
    )
    return Followup(composer, actions, stages)


@contextmanager
def open_case_actions(
    config: Path, environ: Mapping[str, str], *, database_url: str | None = None
) -> Iterator[CaseActions]:
    """The officer actions on the deployment's database (or ``database_url``), for ``run.py case``."""
    settings = load_settings(config, environ, need_platform_secrets=False)
    jurisdictions, organisation, _ = load_city(settings, environ)
    composer = make_composer(settings)
    relocate = make_relocate(settings.city_dir, jurisdictions)
    engine = open_database(database_url or settings.database_url)
    try:
        yield make_case_actions(settings, engine, organisation, composer, relocate)
    finally:
        engine.dispose()
