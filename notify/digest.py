"""Digest mode: an officer who asks for it gets non-emergency case messages batched, one per window.

Pure. Windows are fixed slices of the local day (``digest_every_min`` = 60: 09:00–10:00, 10:00–11:00,
...); a message enqueued inside a window is due at its end, so an officer's messages of one window
fall due together and :func:`plan_sends` turns them into one send per channel. Emergencies, and desk
alerts, are never held: they go out at once, alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from models.outbox import Claimed, is_digestible

MAX_DIGEST_MESSAGES = 50  # beyond this a digest is split: a message has to stay readable


def plan_sends(batch: Sequence[Claimed], every_min_of: Callable[[str], int]) -> list[list[Claimed]]:
    """The claimed messages grouped into sends, in claim order: each officer's digestible messages per
    channel together (up to ``MAX_DIGEST_MESSAGES`` in one), every other message alone."""
    sends: list[list[Claimed]] = []
    digests: dict[tuple[str, int], list[Claimed]] = {}
    for message in batch:
        every_min = every_min_of(message.officer_id)
        if not is_digestible(purpose=message.purpose, priority=message.priority, every_min=every_min):
            sends.append([message])
            continue
        key = (message.officer_id, message.channel_index)
        if key not in digests or len(digests[key]) >= MAX_DIGEST_MESSAGES:
            digests[key] = []
            sends.append(digests[key])
        digests[key].append(message)
    return sends
