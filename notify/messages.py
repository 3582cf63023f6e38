"""The text of the notify stage's own messages (digests, desk alerts). Pure."""

from __future__ import annotations

from collections.abc import Sequence


def digest_message(officer_name: str, messages: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """Subject and body of one message carrying several case messages (subject, body) to one officer."""
    subject = f"{len(messages)} cases for you: " + "; ".join(s for s, _ in messages)
    if len(subject) > 300:
        subject = subject[:299] + "…"
    parts = [f"{officer_name}: {len(messages)} case messages in this digest."]
    parts += [f"{number}. {s}\n{body}" for number, (s, body) in enumerate(messages, start=1)]
    return subject, "\n\n---\n\n".join(parts)


def desk_alert_message(
    *, docket: str | None, officer_id: str, officer_name: str, channel: str, error: str, case_url: str | None
) -> tuple[str, str]:
    """Subject and body telling the social-media desk a notification could not be delivered."""
    subject = f"[{docket or 'no docket'}] notification to {officer_name} ({officer_id}) failed"
    body = "\n".join(
        [
            f"A notification to {officer_name} ({officer_id}) over {channel} could not be delivered: {error}.",
            "Please reach the officer another way and confirm the case is being handled.",
            *([f"Case: {case_url}"] if case_url else []),
        ]
    )
    return subject[:300], body
