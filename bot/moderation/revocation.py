"""Revoking a member: out of every managed space and room, invitations withdrawn, a ban rule
published in the region's policy room, the account deactivated if asked (local accounts only).

``!revoke`` marks the member revoked and queues the work as a durable job in one transaction;
the job is safe to run again (publishing a rule and removing someone who is gone are no-ops),
so a restart in the middle finishes it.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

from bot.errors import BadArgument, MatrixError, PermissionDenied, transient
from bot.events import MemberRemoved
from bot.homeserver.privileges import privileges_for
from bot.i18n import t
from bot.matrix.ids import is_local
from bot.moderation.policy_room import PolicyRoom
from bot.store.vetting import VettingStore

if TYPE_CHECKING:
    from bot.capability import Core

log = logging.getLogger(__name__)

REVOKE_JOB = "moderation.revoke"


class Revocation:
    def __init__(self, core: Core, policy: PolicyRoom):
        self.core = core
        self.gateway = core.gateway
        self.store = core.store
        self.policy = policy
        self.members = VettingStore(core.store)
        self.privileges = privileges_for(core.config, core.gateway, core.data_dir)

    async def start(self, user_id: str, reason: str, by: str, deactivate: bool) -> bool:
        """Revoke now and queue the removal. Returns whether they were a member. Run again
        after a crash (the same command), it answers as the first run and queues nothing."""
        config = self.core.config
        if user_id in config.admins or user_id == config.bot_user_id:
            raise PermissionDenied("revoke.not_admin", user=user_id)
        reason = reason.strip()
        if not reason:
            raise BadArgument("vetting.reason_required")
        if deactivate and not is_local(user_id, config.homeserver.server_name):
            raise BadArgument("revoke.deactivate_remote", user=user_id)
        done, was = await self.store.earlier_outcome("revoke")
        if done:
            return bool(was)
        async with self.store.transaction() as db:
            was_member = await VettingStore.revoke(db, user_id, reason)
            await self.store.add_job(
                db,
                REVOKE_JOB,
                {
                    "user_id": user_id,
                    "reason": reason,
                    "by": by,
                    "deactivate": deactivate,
                    # What this revocation's runs remember (a later one starts afresh).
                    "run": secrets.token_hex(6),
                },
            )
            await self.store.keep_outcome(db, "revoke", was_member)
        await self.store.audit(
            by,
            "moderation.revoke",
            "ok",
            detail=f"{user_id}: {reason}" + (" (deactivate)" if deactivate else ""),
        )
        self.core.wake_jobs()
        return was_member

    async def run(self, payload: dict[str, Any]) -> None:
        user_id, reason = payload["user_id"], payload["reason"]
        loc = await self.core.language(user_id)
        local = is_local(user_id, self.core.config.homeserver.server_name)
        run = payload.get("run") or user_id  # a job queued before runs had ids: the person
        if not await self.store.get(f"revoke.told:{run}"):
            try:
                await self.core.tell(user_id, t("revoke.member_told", loc, reason=reason))
            except MatrixError as exc:  # a deactivated or unreachable account: go on
                if transient(exc):
                    raise  # the homeserver is away: the job tries again
                log.warning("could not tell %s of their revocation: %s", user_id, exc)
            await self.store.put(f"revoke.told:{run}", True)
        removed = await self.remove_everywhere(user_id, t("revoke.kick_reason", loc))
        # A run cut short after its removals finds none left to make: the count is the runs'
        # together, so the note (named by its text) is the first run's and is not said twice.
        removed += int(await self.store.get(f"revoke.removed:{run}") or 0)
        await self.store.put(f"revoke.removed:{run}", removed)
        # No longer a member: no longer listed anywhere (the directory).
        await self.core.publish(MemberRemoved(user_id, "revoked"))
        # Published after the removal: the rule keeps them out from now on (and tells peers).
        await self.policy.ban("user", user_id, reason)
        deactivated = False
        if payload.get("deactivate") and local:
            await self.privileges.deactivate(user_id)
            deactivated = True
        await self.store.audit(
            payload["by"],
            "moderation.revoke.done",
            "ok",
            detail=f"{user_id}: {removed} room(s)" + (", deactivated" if deactivated else ""),
        )
        key = "revoke.done_deactivated" if deactivated else "revoke.done"
        await self.core.control.note(t(key, loc, user=user_id, n=removed))

    async def remove_everywhere(self, user_id: str, reason: str) -> int:
        """Out of every managed space and room (archived ones too) and the peers' shared rooms
        this region asked them into; returns from how many."""
        rooms = [r.room_id for r in await self.store.managed_rooms(include_archived=True)]
        rooms += await self.store.rooms_of_kind("shared-peer")
        return await self.gateway.remove_everywhere(rooms, user_id, reason)
