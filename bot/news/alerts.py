"""Sanitary alerts (`!alert`, the `alert` webhook): into the announcement and community rooms
of a territory and those below; acknowledged by ✅ or `!ack`, one reminder in a direct chat to
each member who has not acknowledged after ``alerts.remind_after``."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.capability import Core
from bot.errors import BadArgument, NotFound, PermissionDenied
from bot.i18n import t
from bot.matrix.content import notice
from bot.matrix.sync import Reaction
from bot.news.audience import ALL, checked_text, rooms_of, target, territories_of
from bot.news.render import text_content
from bot.store import Store
from bot.store.news import AlertRow, BroadcastStore, NewsStore
from bot.store.vetting import VettingStore

REMIND_JOB = "alerts.remind"
LEVELS = ("info", "warning", "critical")
ACK_KEYS = frozenset({"✅", "✔", "👍", "☑"})


class Alerts:
    def __init__(self, core: Core):
        self.core = core
        self.news = NewsStore(core.store)
        self.members = VettingStore(core.store)
        self.broadcasts = BroadcastStore(core.store)

    async def post(
        self, author: str, where: str, level: str, text: str, *, origin: str = "command"
    ) -> tuple[int, int]:
        """(alert id, rooms)."""
        store, config = self.core.store, self.core.config
        done, earlier = await store.earlier_outcome("alert")
        if done:  # the same command after a crash: sent already, once
            self.core.wake_jobs()
            return earlier[0], earlier[1]
        if level not in LEVELS:
            raise BadArgument("alert.level", level=level, levels=", ".join(LEVELS))
        text = checked_text(text)
        territories = target(config, author, where, trusted=origin == "hook")
        rooms = rooms_of(
            territories,
            {"announcements", "community"},
            await store.managed_rooms(include_archived=False),
        )
        if not rooms:
            raise NotFound("news.no_rooms", target=where)
        loc = config.locale
        now = self.core.clock()
        async with store.transaction() as db:
            alert_id = await NewsStore.add_alert(
                db, where.lower(), level, text, author, origin, now
            )
            title = t(f"alert.title.{level}", loc, id=alert_id)
            footer = t("alert.footer", loc, id=alert_id, prefix=config.commands.prefix)
            content = text_content(
                f"{text}\n\n{footer}", title=title, mention_room=level == "critical"
            )
            await BroadcastStore.publish(db, f"alert:{alert_id}", content, rooms)
            await Store.add_job(
                db, REMIND_JOB, {"alert_id": alert_id}, at=now + config.alerts.remind_after
            )
            await store.keep_outcome(db, "alert", [alert_id, len(rooms)])
        await store.audit(author, "alert.post", "ok", detail=f"#{alert_id} {level} → {where}")
        self.core.wake_jobs()
        return alert_id, len(rooms)

    async def alert(self, alert_id: int) -> AlertRow:
        found = await self.news.alert(alert_id)
        if found is None:
            raise NotFound("alert.unknown", id=str(alert_id))
        return found

    async def ack(self, alert_id: int, user: str, via: str) -> bool:
        """Record an acknowledgement; False if it was already recorded."""
        await self.alert(alert_id)
        return await self.news.add_ack(alert_id, user, via, self.core.clock())

    async def acked(self, alert_id: int) -> set[str]:
        return await self.news.acked(alert_id)

    async def on_reaction(self, reaction: Reaction) -> bool:
        """A ✅ on an alert (anywhere but the control room) acknowledges it."""
        if reaction.room_id == self.core.control.room_id:
            return False
        key = reaction.key.replace("\ufe0f", "")
        if key not in ACK_KEYS or reaction.sender == self.core.gateway.user_id:
            return False
        message = await self.broadcasts.message_of_event(reaction.relates_to)
        if not message or not message.startswith("alert:"):
            return False
        await self.ack(int(message.split(":", 1)[1]), reaction.sender, "reaction")
        return True

    async def recipients(self, alert: AlertRow) -> dict[str, list[str]]:
        """territory → the vetted members whose territory it is, within the alert's subtree."""
        network = self.core.config.network
        scope = (
            [t_.id for t_, _ in network.walk()]
            if alert.territory == ALL
            else [t_.id for t_ in network.subtree(alert.territory)]
        )
        out: dict[str, list[str]] = {tid: [] for tid in scope}
        for member in sorted(await self.members.members(), key=lambda m: m["user_id"]):
            if member["territory"] in out:
                out[member["territory"]].append(member["user_id"])
        return out

    async def status(self, user: str, alert_id: int) -> str:
        """Who acknowledged an alert, by territory (`!alert status`)."""
        config = self.core.config
        alert = await self.alert(alert_id)
        if alert.territory not in territories_of(config, user):
            raise PermissionDenied("news.not_yours", target=alert.territory)
        loc = config.locale
        done = await self.acked(alert_id)
        lines = [t("alert.status.title", loc, id=alert_id, level=alert.level)]
        total = seen = 0
        for territory, members in (await self.recipients(alert)).items():
            if not members:
                continue
            acks = [m for m in members if m in done]
            missing = [m for m in members if m not in done]
            total, seen = total + len(members), seen + len(acks)
            line = t("alert.status.line", loc, territory=territory, n=len(acks), of=len(members))
            if missing:
                shown = ", ".join(missing[:20]) + (" …" if len(missing) > 20 else "")
                line += " — " + t("alert.status.missing", loc, who=shown)
            lines.append(line)
        lines.append(t("alert.status.total", loc, n=seen, of=total))
        return "\n".join(lines)

    async def remind(self, payload: dict[str, Any]) -> None:
        """The job due ``remind_after`` an alert: one direct message to each member who has not
        acknowledged it, once (a repeated send is answered with the first one)."""
        alert = await self.alert(int(payload["alert_id"]))
        if alert.reminded:
            return
        config, gateway = self.core.config, self.core.gateway
        done = await self.acked(alert.id)
        for members in (await self.recipients(alert)).values():
            for user in members:
                if user not in done:
                    text = t(  # in each member's language
                        "alert.reminder",
                        await self.core.language(user),
                        id=alert.id,
                        text=alert.text,
                        prefix=config.commands.prefix,
                    )
                    room = await self.core.direct.room_for(user)
                    key = hashlib.sha256(f"{alert.id}:{user}".encode()).hexdigest()[:24]
                    await gateway.send(room, notice(text), txn=f"agora.remind.{key}")
        await self.news.mark_reminded(alert.id)
        await self.core.store.audit(gateway.user_id, "alert.remind", "ok", detail=f"#{alert.id}")
