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
from typing import TYPE_CHECKING

from bot.matrix.ids import host_of, server_of
from bot.matrix.sync import POLICY_RULE_TYPES
from bot.store.moderation import PolicyRule

if TYPE_CHECKING:
    from bot.config import Config

RULE_TYPES = POLICY_RULE_TYPES
EVENT_TYPE = {kind: event_type for event_type, kind in RULE_TYPES.items()}
BAN = "m.ban"


@functools.lru_cache(maxsize=4096)
def glob(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def server_matches(pattern: str, server: str) -> bool:
    """A server glob against a server name, with or without its port (as ACLs match)."""
    return bool(glob(pattern).fullmatch(server) or glob(pattern).fullmatch(host_of(server)))


@dataclass(frozen=True)
class Shield:
    """What no rule ever applies to, from a peer or local: this region's own server (a server
    rule or glob matching it is refused), its bot, its admins and its peer regions' bots."""

    own_server: str = ""
    people: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, own_server: str, bot: str, admins: tuple[str, ...], peer_bots: tuple[str, ...]
    ) -> Shield:
        return cls(own_server, frozenset((bot, *admins, *peer_bots)))

    @classmethod
    def for_config(cls, config: Config) -> Shield:
        return cls.of(
            config.homeserver.server_name,
            config.bot_user_id,
            config.admins,
            config.federation.peer_bots,
        )

    def refuses(self, rule: PolicyRule) -> bool:
        """A rule that would strike this region itself: never applied."""
        return bool(
            rule.kind == "server"
            and self.own_server
            and server_matches(rule.entity, self.own_server)
        )

    def spares(self, rule: PolicyRule) -> list[str]:
        """The protected people a user rule names (it applies to the others only)."""
        if rule.kind != "user":
            return []
        return sorted(p for p in self.people if glob(rule.entity).fullmatch(p))


def ban_for(
    user_id: str, rules: list[PolicyRule], shield: Shield | None = None
) -> PolicyRule | None:
    """The first ban rule that matches the user itself or their server (never someone the
    shield protects, never through a rule that strikes this region's own server)."""
    if shield is not None and user_id in shield.people:
        return None
    server = server_of(user_id)
    for rule in rules:
        if rule.recommendation != BAN or (shield is not None and shield.refuses(rule)):
            continue
        if rule.kind == "user" and glob(rule.entity).fullmatch(user_id):
            return rule
        if rule.kind == "server" and server and server_matches(rule.entity, server):
            return rule
    return None


def is_glob(entity: str) -> bool:
    return "*" in entity or "?" in entity


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
