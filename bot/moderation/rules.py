"""What becomes of every ban rule the bot reads, before it counts.

A rule from a followed list (the region's own, a trusted peer's) is:
- ignored when its sender is not that list's bot (this bot in its own list, the peer region's
  bot in a peer's), and reported once;
- refused when it would strike this region itself (a server rule or glob matching this
  server), and reported once; the bot, the admins and the peer bots are never struck by a
  user rule either (``Shield``);
- held when its sweep would remove more than ``moderation.max_sweep`` people, or when it was
  set by hand in the region's own list: the control room gets who would be removed, and
  nothing happens until an admin answers ``!confirm <n>`` (or ``!cancel <n>``);
- otherwise in force: its sweep removes whoever it matches.

``!policy ban`` with a glob, or one whose sweep would be large, shows who would go first and
publishes only on ``!confirm``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from bot.config import Config
from bot.errors import Conflict, NotFound
from bot.matrix.gateway import Gateway
from bot.matrix.sync import PolicyEvent
from bot.moderation.bans import BAN, RULE_TYPES, PolicyRule, Shield, is_glob, rule_from_state
from bot.moderation.control_room import ControlRoom
from bot.moderation.enforcement import Enforcer
from bot.moderation.policy_room import PolicyRoom
from bot.store import Store
from bot.store.moderation import Hold, ModerationStore

log = logging.getLogger(__name__)

SHOWN = 30  # people named in a hold's notice; the rest counted
SWEEP_WINDOW = 3600.0  # seconds over which a peer list's removals add up (moderation.max_sweep)


@dataclass(frozen=True)
class Asked:
    """The outcome of ``!policy ban``: published (and how many removed), or held."""

    rule: PolicyRule
    removed: int = 0
    hold: int | None = None
    users: tuple[str, ...] = ()


def people_list(users: tuple[str, ...] | list[str]) -> str:
    shown = ", ".join(users[:SHOWN])
    return shown + (f" (+{len(users) - SHOWN})" if len(users) > SHOWN else "")


class BanRules:
    def __init__(
        self,
        config: Config,
        gateway: Gateway,
        store: Store,
        policy: PolicyRoom,
        enforcer: Enforcer,
        control: ControlRoom,
    ):
        self.config = config
        self.gateway = gateway
        self.store = store
        self.policy = policy
        self.enforcer = enforcer
        self.control = control
        self.rules = ModerationStore(store)

    @property
    def shield(self) -> Shield:
        return Shield.for_config(self.config)

    # --- reading the lists -----------------------------------------------------------------------

    async def ensure(self) -> str:
        """The region's own list exists, and what it holds is read."""
        room_id = await self.policy.ensure()
        await self.load(room_id)
        return room_id

    async def follow_trusted(self) -> None:
        """The trusted peers' lists joined and read; a new ban among them is swept."""
        swept = False
        for room_id in await self.policy.follow_trusted():
            swept |= await self.load(room_id)
        # A list no longer trusted (taken out of the config) bans nobody any more.
        if self.policy.room_id:
            await self.rules.keep_rooms(self.policy.followed | self.policy.unreachable_known())
        if swept:
            await self.enforcer.banned_sweep()

    async def load(self, room_id: str) -> bool:
        """Read a whole list (at start, on invitation): each rule goes through ``take``; rules
        no longer in it are dropped. True if a ban came into force."""
        events = await self.policy.read(room_id)
        present = {(RULE_TYPES[e[0]], e[1]) for e in events}
        for stored in await self.rules.stored_in(room_id):
            if (stored.rule.kind, stored.rule.state_key) not in present:
                await self.rules.drop_rule(room_id, stored.rule.kind, stored.rule.state_key)
                await self.rules.drop_holds_for(room_id, stored.rule.kind, stored.rule.state_key)
        new_ban = False
        for event_type, state_key, content, sender in events:
            new_ban |= await self.take(room_id, event_type, state_key, content, sender)
        return new_ban

    async def on_events(self, events: list[PolicyEvent]) -> None:
        """Rules set or withdrawn in followed lists, as the sync brings them."""
        followed = self.policy.followed
        new_ban = False
        for ev in events:
            if ev.room_id in followed:
                new_ban |= await self.take(
                    ev.room_id, ev.event_type, ev.state_key, ev.content, ev.sender
                )
        if new_ban:
            removed = await self.enforcer.banned_sweep()
            if removed:
                log.info("a new ban rule removed %d membership(s)", removed)

    async def take(
        self, room_id: str, event_type: str, state_key: str, content: dict[str, Any], sender: str
    ) -> bool:
        """Decide what one rule event becomes. True if a ban came into force (sweep it)."""
        kind = RULE_TYPES[event_type]
        rule = rule_from_state(room_id, event_type, state_key, content)
        owner = self.policy.list_bot(room_id)
        own_list = room_id == self.policy.room_id
        by_hand = own_list and sender != owner and sender in self.config.admins
        known = await self.rules.stored(room_id, kind, state_key)
        if sender != owner and not by_hand:
            # Not the list's bot: it changes nothing, neither a new rule nor one in force.
            if await self.store.once(f"policy.ignored:{room_id}:{sender}"):
                await self.store.audit(
                    sender, "policy.ignored", "ignored", room_id=room_id, detail=state_key
                )
                await self.control.announce(
                    "policy.ignored_sender",
                    {"sender": sender, "room": room_id, "bot": owner or "—"},
                )
            return False
        if rule is None:  # withdrawn (empty content) or malformed
            if by_hand and known is not None and known.status == "active":
                # A ban lifted by hand (peers would follow): it waits for an admin too.
                await self._hold("withdraw", known.rule, sender, [], "withdraw")
                return False
            await self.rules.drop_rule(room_id, kind, state_key)
            await self.rules.drop_holds_for(room_id, kind, state_key)
            return False
        if (
            known is not None
            and known.rule.entity == rule.entity
            and known.rule.recommendation == rule.recommendation
        ):
            if known.rule.reason != rule.reason:  # the same rule, reworded: as it was
                await self.rules.put_rule(rule, known.sender, known.status)
            return False
        # A hand edit leaves the bot's rule in force until an admin confirms the new one.
        keep_known = by_hand and known is not None and known.status == "active"
        await self.rules.drop_holds_for(room_id, kind, state_key)
        if rule.recommendation != BAN:
            if not keep_known:
                await self.rules.put_rule(rule, sender, "active")  # nothing acts on it
            return False
        shield = self.shield
        if shield.refuses(rule):
            if not keep_known:
                await self.rules.put_rule(rule, sender, "refused")
            if await self.store.once(f"policy.refused:{room_id}:{kind}:{state_key}:{rule.entity}"):
                await self.store.audit(
                    sender, "policy.refused", "refused", room_id=room_id, detail=rule.entity
                )
                await self.control.announce(
                    "policy.refused_own_server",
                    {"entity": rule.entity, "sender": sender, "server": shield.own_server},
                )
            return False
        spared = shield.spares(rule)
        if spared and await self.store.once(f"policy.spared:{room_id}:{state_key}:{rule.entity}"):
            await self.control.announce(
                "policy.spared", {"entity": rule.entity, "people": ", ".join(spared)}
            )
        users = await self.enforcer.who_would_go(rule)
        why = None
        if by_hand:
            why = "hand"
        elif not own_list and is_glob(rule.entity):
            why = "glob"  # a peer's glob may match more of this region tomorrow
        elif len(users) > self.config.moderation.max_sweep:
            why = "large"
        elif not own_list and await self._window_full(room_id, len(users)):
            why = "many"  # many small rules from one peer add up to a large sweep
        if why is not None:
            if not keep_known:
                await self.rules.put_rule(rule, sender, "held")
            await self._hold("rule", rule, sender, users, why)
            return False
        await self.rules.put_rule(rule, sender, "active")
        if not own_list:
            await self._count_sweep(room_id, len(users))
        return True

    async def _window_full(self, room_id: str, coming: int) -> bool:
        """Whether a peer list's rules applied in the last ``SWEEP_WINDOW`` seconds, with this
        one, would remove more than ``moderation.max_sweep`` people."""
        recent = await self._recent_sweeps(room_id)
        return sum(n for _, n in recent) + coming > self.config.moderation.max_sweep

    async def _recent_sweeps(self, room_id: str) -> list[tuple[float, int]]:
        now = time.time()
        stored = await self.store.get(f"policy.sweeps:{room_id}", []) or []
        return [(at, n) for at, n in stored if now - at < SWEEP_WINDOW]

    async def _count_sweep(self, room_id: str, removed: int) -> None:
        if removed:
            recent = await self._recent_sweeps(room_id)
            await self.store.put(f"policy.sweeps:{room_id}", [*recent, (time.time(), removed)])

    async def _hold(
        self, kind: str, rule: PolicyRule, sender: str, users: list[str], why: str
    ) -> int:
        hold_id = await self.rules.add_hold(kind, rule, sender, users, why)
        await self.store.audit(
            sender, "policy.held", "held", room_id=rule.room_id, detail=f"#{hold_id} {rule.entity}"
        )
        await self.control.announce(
            "policy.held." + why, self._hold_params(hold_id, rule, sender, users)
        )
        return hold_id

    def _hold_params(
        self, hold_id: int, rule: PolicyRule, sender: str, users: list[str] | tuple[str, ...]
    ) -> dict[str, Any]:
        return {
            "n": hold_id,
            "kind": rule.kind,
            "entity": rule.entity,
            "sender": sender,
            "reason": rule.reason or "—",
            "count": len(users),
            "people": people_list(tuple(users)) or "—",
            "prefix": self.config.commands.prefix,
        }

    # --- what admins ask ---------------------------------------------------------------------------

    async def ask_ban(self, kind: str, entity: str, reason: str, by: str) -> Asked:
        """``!policy ban``: published at once, or, for a glob or a large sweep, held until an
        admin confirms (nothing is published before)."""
        assert self.policy.room_id
        rule = PolicyRule(kind, entity, BAN, reason, self.policy.room_id, f"rule:{entity}")
        held, hold_id = await self.store.earlier_outcome("policy.hold")
        if held:  # the same command after a crash: the hold it made, not a second one
            hold = await self.rules.hold(int(hold_id))
            return Asked(rule, hold=int(hold_id), users=hold.users if hold else ())
        done, removed = await self.store.earlier_outcome("policy.ban")
        if done:
            await self.policy.publish(kind, entity, reason)  # the same state again: no change
            return Asked(rule, removed=int(removed) + await self.enforcer.banned_sweep())
        users = await self.enforcer.who_would_go(rule)
        if is_glob(entity) or len(users) > self.config.moderation.max_sweep:
            hold_id = await self.rules.add_hold("publish", rule, by, users, "glob")
            await self.store.audit(by, "policy.ban", "held", detail=f"#{hold_id} {kind} {entity}")
            return Asked(rule, hold=hold_id, users=tuple(users))
        await self.policy.publish(kind, entity, reason)
        await self.store.audit(by, "policy.ban", "ok", detail=f"{kind} {entity}: {reason}")
        removed = await self.enforcer.banned_sweep()
        await self.store.keep_outcome_now("policy.ban", removed)
        return Asked(rule, removed=removed)

    async def confirm(self, hold_id: int, by: str) -> tuple[Hold, int]:
        """Apply what a hold waited for; returns it and how many memberships were removed."""
        again, status = await self.store.earlier_outcome(f"policy.hold.{hold_id}")
        if again and status == "confirmed":  # decided by this command before a crash
            hold = await self.rules.hold(hold_id)
            assert hold is not None
        else:
            hold = await self._pending(hold_id)
            if not await self.rules.decide_hold(hold_id, "confirmed", by):
                raise Conflict("policy.hold_decided", n=hold_id)
        # What follows is safe to repeat: the same state published, the same rule kept.
        if hold.kind == "publish":
            await self.policy.publish(hold.rule.kind, hold.rule.entity, hold.rule.reason)
        elif hold.kind == "withdraw":
            # Withdrawn by this bot, as the peers expect it from the list's own bot.
            await self.policy.unban(hold.rule.kind, hold.rule.entity, state_key=hold.rule.state_key)
            return hold, 0
        else:
            await self.rules.put_rule(hold.rule, hold.sender, "active")
            if hold.rule.room_id != self.policy.room_id:
                await self._count_sweep(hold.rule.room_id, len(hold.users))
        await self.store.audit(by, "policy.confirm", "ok", detail=f"#{hold_id} {hold.rule.entity}")
        return hold, await self.enforcer.banned_sweep()

    async def cancel(self, hold_id: int, by: str) -> Hold:
        again, status = await self.store.earlier_outcome(f"policy.hold.{hold_id}")
        if again and status == "cancelled":  # decided by this command before a crash
            hold = await self.rules.hold(hold_id)
            assert hold is not None
        else:
            hold = await self._pending(hold_id)
            if not await self.rules.decide_hold(hold_id, "cancelled", by):
                raise Conflict("policy.hold_decided", n=hold_id)
        stored = await self.rules.stored(hold.rule.room_id, hold.rule.kind, hold.rule.state_key)
        if hold.kind == "rule" and stored is not None and stored.status == "held":
            await self.rules.set_status(
                hold.rule.room_id, hold.rule.kind, hold.rule.state_key, "cancelled"
            )
        elif hold.kind == "withdraw" and self.policy.room_id:
            # The ban stays: its event is put back as this bot's.
            await self.policy.publish(hold.rule.kind, hold.rule.entity, hold.rule.reason)
        await self.store.audit(by, "policy.cancel", "ok", detail=f"#{hold_id} {hold.rule.entity}")
        return hold

    async def _pending(self, hold_id: int) -> Hold:
        hold = await self.rules.hold(hold_id)
        if hold is None:
            raise NotFound("policy.no_hold", n=hold_id)
        if hold.status != "pending":
            raise Conflict("policy.hold_decided", n=hold_id)
        return hold
