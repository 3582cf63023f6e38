"""What the notify stage needs to know of the people it writes to, handed in by the assembly.

The organisation (``routing.people``) satisfies it; notify never imports routing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from models.secret import Secret


class Addressee(Protocol):
    """An officer as a recipient: the channels are Apprise URLs, in the officer's order of preference."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def rank(self) -> str: ...
    @property
    def channels(self) -> Sequence[Secret]: ...
    @property
    def digest_every_min(self) -> int: ...


class Directory(Protocol):
    @property
    def officers(self) -> Mapping[str, Addressee]: ...

    def desk_officers(self) -> Sequence[Addressee]: ...
