"""Pure: moderation policy rules (MSC2313, spec "Moderation policy lists") and whom they ban.

A rule is a state event in a policy room: ``m.policy.rule.user`` (entity: a user id glob),
``m.policy.rule.server`` (a server name glob; it bans every user of a matching server) or
``m.policy.rule.room``. Globs use ``*`` (any run of characters) and ``?`` (one character);
everything else is literal. Only the ``m.ban`` recommendation is acted on.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

RULE_TYPES = {
    "m.policy.rule.user": "user",
    "m.policy.rule.server": "server",
    "m.policy.rule.room": "room",
}
EVENT_TYPE = {kind: event_type for event_type, kind in RULE_TYPES.items()}
BAN = "m.ban"


@dataclass(frozen=True)
class PolicyRule:
    kind: str  # user | server | room
    entity: str
    recommendation: str
    reason: str = ""
    room_id: str = ""
    state_key: str = ""


@functools.lru_cache(maxsize=4096)
def glob(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def ban_for(user_id: str, rules: list[PolicyRule]) -> PolicyRule | None:
    """The first ban rule that matches the user itself or their server."""
    server = server_of(user_id)
    for rule in rules:
        if rule.recommendation != BAN:
            continue
        if rule.kind == "user" and glob(rule.entity).fullmatch(user_id):
            return rule
        if rule.kind == "server" and server and glob(rule.entity).fullmatch(server):
            return rule
    return None


def rule_from_state(
    room_id: str, event_type: str, state_key: str, content: dict
) -> PolicyRule | None:
    """A rule from its state event; None for a removed rule (empty content) or a malformed one."""
    kind = RULE_TYPES.get(event_type)
    entity, recommendation = content.get("entity"), content.get("recommendation")
    if kind is None or not isinstance(entity, str) or not isinstance(recommendation, str):
        return None
    reason = content.get("reason")
    return PolicyRule(
        kind, entity, recommendation, reason if isinstance(reason, str) else "", room_id, state_key
    )
