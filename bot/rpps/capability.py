"""The national directory as a capability: what it says of the members, after each load.

A load (``agora-bot import-directory``, in another process, or a download) puts a new copy in
place; the watch job notices it and lists once in the control room the members whose number
has left the directory (retired, struck off) or whose profession there is not theirs. Nobody
is removed: admins decide (``!revoke``). ``!rpps ecarts`` shows the list again."""

from __future__ import annotations

import logging
from typing import Any

from bot import effects
from bot.capability import Capability, Core
from bot.i18n import t
from bot.matrix.content import notice
from bot.rpps.matching import PROFESSION_CODES
from bot.scheduler import Again
from bot.store.rpps import RppsStore

log = logging.getLogger(__name__)

WATCH_JOB = "rpps.watch"
WATCH_EVERY = 300.0
TOLD_KEY = "directory:told"  # the gaps already listed: {"load": <at>, "gaps": [...]}


class Directory(Capability):
    name = "directory"
    commands = ("bot.commands.rpps",)

    def __init__(self, core: Core):
        super().__init__(core)
        self.directory = RppsStore(core.store)
        self.jobs = {WATCH_JOB: self.watch}
        self.job_pools = {WATCH_JOB: 1}

    async def start(self) -> None:
        await self.core.store.ensure_job(WATCH_JOB, {}, at=self.core.clock())
        self.core.wake_jobs()

    async def gaps(self) -> list[tuple[str, str, str, str]]:
        """(user id, name, RPPS, what: ``left`` or ``profession:<label>``) for each member the
        directory in place does not bear out."""
        out = []
        for user, name, profession, rpps, code, label in await self.directory.members_against():
            if code is None:
                out.append((user, name, rpps, "left"))
            elif PROFESSION_CODES.get(code) != profession:
                out.append((user, name, rpps, f"profession:{(label or code).lower()}"))
        return out

    async def watch(self, payload: dict[str, Any]) -> Again:
        """The recurring job: a directory loaded since the last look has its gaps listed in
        the control room, those not listed before (once, whatever the restarts)."""
        loaded = await self.directory.loaded()
        told: dict[str, Any] = await self.core.store.get(TOLD_KEY, {})
        room_id = self.core.control.room_id
        if loaded is not None and told.get("load") != loaded["at"] and room_id:
            gaps = await self.gaps()
            before = set(told.get("gaps", []))
            new = [g for g in gaps if f"{g[2]}:{g[3]}" not in before]
            if new:
                text = t(
                    "rpps.gaps.new",
                    self.config.locale,
                    date=loaded["date"],
                    n=len(new),
                    lines=self.lines(new),
                    prefix=self.config.commands.prefix,
                )
                await self.core.gateway.send(
                    room_id, notice(text), txn=effects.stable_key("rpps-gaps", str(loaded["at"]))
                )
            await self.core.store.put(
                TOLD_KEY, {"load": loaded["at"], "gaps": sorted(f"{g[2]}:{g[3]}" for g in gaps)}
            )
        return Again(self.core.clock() + WATCH_EVERY)

    def lines(self, gaps: list[tuple[str, str, str, str]]) -> str:
        locale = self.config.locale
        out = []
        for user, name, rpps, what in gaps:
            if what == "left":
                why = t("rpps.gap.left", locale)
            else:
                why = t("rpps.gap.profession", locale, profession=what.split(":", 1)[1])
            out.append(f"• {name} ({user}) — RPPS {rpps} : {why}")
        return "\n".join(out)

    async def status(self, locale: str) -> str:
        loaded = await self.directory.loaded()
        if loaded is None:
            return t("rpps.none_loaded", locale)
        return t("rpps.status", locale, date=loaded["date"], people=loaded["people"])

    async def gaps_text(self, locale: str) -> str:
        loaded = await self.directory.loaded()
        if loaded is None:
            return t("rpps.none_loaded", locale)
        gaps = await self.gaps()
        if not gaps:
            return t("rpps.gaps.none", locale, date=loaded["date"])
        return t("rpps.gaps.all", locale, date=loaded["date"], n=len(gaps), lines=self.lines(gaps))
