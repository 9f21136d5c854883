"""Events between capabilities, published through ``Core.publish`` to every capability that
wants one (a capability never calls another's internals for these)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MemberProvisioned:
    """A vetted member was given their spaces and rooms (approval, `!admit`, a grant)."""

    user_id: str


@dataclass(frozen=True)
class MemberRemoved:
    """A member's data must go wherever it was published: revoked, or forgotten."""

    user_id: str
    why: str  # revoked | forgotten


@dataclass(frozen=True)
class MemberWithdrawn:
    """An animator took a member out of a territory (and those below it): what was given or
    lent to them there ends."""

    user_id: str
    territory: str


@dataclass(frozen=True)
class NetworkReconciled:
    """The network was reconciled with its declaration (``full``: all of it, at start or
    after a reload; else only rooms that drifted or changed)."""

    full: bool
