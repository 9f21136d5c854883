"""Revoking a member: out of every managed space and room, invitations withdrawn, a ban rule
published in the region's policy room, the account deactivated if asked (local accounts only).

``!revoke`` marks the member revoked and queues the work as a durable job in one transaction;
the job is safe to run again (publishing a rule and removing someone who is gone are no-ops),
so a restart in the middle finishes it.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.config import Config
from bot.errors import MatrixError, transient
from bot.federation.directory import Directory
from bot.federation.shared import KIND as SHARED_PEER
from bot.homeserver.admin import deactivate
from bot.i18n import t
from bot.matrix.content import notice
from bot.matrix.gateway import Gateway
from bot.matrix.ids import is_local
from bot.moderation.control_room import ControlRoom
from bot.moderation.policy_room import PolicyRoom
from bot.store import Store
from bot.store.vetting import VettingStore

log = logging.getLogger(__name__)

REVOKE_JOB = "moderation.revoke"


class Revocation:
    def __init__(
        self,
        config: Config,
        gateway: Gateway,
        store: Store,
        control: ControlRoom,
        policy: PolicyRoom,
        tell: Any,
        directory: Directory | None = None,
    ):
        self.config = config
        self.gateway = gateway
        self.store = store
        self.control = control
        self.policy = policy
        self.tell = tell  # async (user_id, text) → None: a notice in their direct chat
        self.members = VettingStore(store)
        self.directory = directory

    async def start(self, user_id: str, reason: str, by: str, deactivate: bool) -> bool:
        """Revoke now and queue the removal. Returns whether they were a member. Run again
        after a crash (the same command), it answers as the first run and queues nothing."""
        done, was = await self.store.earlier_outcome("revoke")
        if done:
            return bool(was)
        async with self.store.transaction() as db:
            cur = await db.execute(
                "UPDATE members SET status = 'revoked' WHERE user_id = ? AND status = 'active'",
                (user_id,),
            )
            was_member = cur.rowcount == 1
            await db.execute("DELETE FROM grants WHERE user_id = ?", (user_id,))
            await db.execute(
                "UPDATE requests SET status = 'rejected', reason = ?, decided = strftime('%s') "
                "WHERE user_id = ? AND status = 'pending'",
                (reason, user_id),
            )
            await self.store.add_job(
                db,
                REVOKE_JOB,
                {"user_id": user_id, "reason": reason, "by": by, "deactivate": deactivate},
            )
            await self.store.keep_outcome(db, "revoke", was_member)
        await self.store.audit(
            by,
            "moderation.revoke",
            "ok",
            detail=f"{user_id}: {reason}" + (" (deactivate)" if deactivate else ""),
        )
        return was_member

    async def run(self, payload: dict[str, Any]) -> None:
        user_id, reason = payload["user_id"], payload["reason"]
        loc = self.config.locale
        local = is_local(user_id, self.config.homeserver.server_name)
        if not await self.store.get(f"revoke.told:{user_id}"):
            try:
                await self.tell(user_id, t("revoke.member_told", loc, reason=reason))
            except MatrixError as exc:  # a deactivated or unreachable account: go on
                if transient(exc):
                    raise  # the homeserver is away: the job tries again
                log.warning("could not tell %s of their revocation: %s", user_id, exc)
            await self.store.put(f"revoke.told:{user_id}", True)
        removed = await self.remove_everywhere(user_id, t("revoke.kick_reason", loc))
        if self.directory is not None:  # no longer a member: no longer listed anywhere
            await self.directory.withdraw(user_id)
        # Published after the removal: the rule keeps them out from now on (and tells peers).
        await self.policy.ban("user", user_id, reason)
        deactivated = False
        if payload.get("deactivate") and local:
            await deactivate(self.gateway, user_id)
            deactivated = True
        await self.store.audit(
            payload["by"],
            "moderation.revoke.done",
            "ok",
            detail=f"{user_id}: {removed} room(s)" + (", deactivated" if deactivated else ""),
        )
        if self.control.room_id:
            key = "revoke.done_deactivated" if deactivated else "revoke.done"
            await self.gateway.send(
                self.control.room_id, notice(t(key, loc, user=user_id, n=removed))
            )

    async def remove_everywhere(self, user_id: str, reason: str) -> int:
        """Out of every managed space and room (archived ones too) and the peers' shared rooms
        this region asked them into; returns from how many."""
        rooms = [r.room_id for r in await self.store.managed_rooms(include_archived=True)]
        rooms += await self.store.rooms_of_kind(SHARED_PEER)
        return await self.gateway.remove_everywhere(rooms, user_id, reason)
