"""Newcomers welcomed under a coordinator, as a capability.

``!accueil @x`` (an animator): the newcomer gets, in a direct chat, the territory's welcome text
(its rules, from the config), its rooms and who coordinates it, and is asked whether they want
to be introduced in its community room. Only after they say yes (✅ on that message, or
``!accueil oui [commune]``) is anything said about them there: one line, their name, profession
and the town they chose to give. Each week the community rooms get the week's arrivals who
agreed, by profession and town only."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from bot import effects
from bot.capability import Capability, Core
from bot.dates import day_start
from bot.errors import BadArgument, Conflict, NotFound
from bot.events import MemberRemoved
from bot.i18n import t
from bot.matrix.content import notice
from bot.matrix.sync import Reaction
from bot.scheduler import Again
from bot.store.vetting import VettingStore
from bot.store.welcomes import WelcomeRow, WelcomeStore
from bot.territories.model import Territory
from bot.vetting.animation import Animation
from bot.vetting.form import DEFAULT_PROFESSIONS
from bot.vetting.provisioning import entitlement

log = logging.getLogger(__name__)

WELCOME_JOB = "newcomers.welcome"  # the direct message to the newcomer
INTRODUCE_JOB = "newcomers.introduce"  # their line in the community room, once they agreed
DIGEST_JOB = "newcomers.digest"  # the week's arrivals, every Monday morning
DIGEST_AT = (0, 9)  # Monday, 09:00 in the region's time zone
YES = frozenset({"✅", "✔", "👍", "☑"})
MAX_TOWN = 60


class Newcomers(Capability):
    name = "newcomers"
    commands = ("bot.commands.newcomers",)

    def __init__(self, core: Core, animation: Animation):
        super().__init__(core)
        self.animation = animation
        self.welcomes = WelcomeStore(core.store)
        self.members = VettingStore(core.store)
        self.jobs = {
            WELCOME_JOB: self.send_welcome,
            INTRODUCE_JOB: self.introduce,
            DIGEST_JOB: self.digest,
        }
        self.job_pools = {DIGEST_JOB: 1}
        self.events = {Reaction: self.on_reaction, MemberRemoved: self.on_removed}

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.rosters.timezone)

    async def start(self) -> None:
        await self.core.store.ensure_job(DIGEST_JOB, {}, at=self.next_digest(self.core.clock()))
        self.core.wake_jobs()

    # --- the commands ------------------------------------------------------------------------

    async def welcome(self, animator: str, user: str, named: str | None, locale: str) -> str:
        """``!accueil @x [territoire]``: the welcome queued (once per territory)."""
        place = self.animation.territory_for(animator, named)
        member = await self.members.member_info(user)
        ent = (
            entitlement(member, self.config.network, self.config.vetting.provisioning)
            if member
            else None
        )
        if ent is None or not ent.allows(place.id):
            raise NotFound("welcome.not_member", user=user, territory=place.name)
        payload = {"user": user, "territory": place.id}
        if not await self.welcomes.add(user, place.id, animator, [(WELCOME_JOB, payload)]):
            raise Conflict("welcome.already", user=user, territory=place.name)
        await self.core.store.audit(animator, "welcome", "ok", detail=f"{user} → {place.id}")
        self.core.wake_jobs()
        return t("welcome.sent", locale, user=user, territory=place.name)

    async def answer(self, user: str, yes: bool, town: str, locale: str) -> str:
        """``!accueil oui [commune]`` / ``!accueil non``: the newcomer's answer to their latest
        welcome not yet answered."""
        pending = await self.welcomes.unanswered(user)
        if not pending:
            if await self.welcomes.welcomed(user):
                raise Conflict("welcome.answered")
            raise NotFound("welcome.nothing_to_answer")
        return await self._answer(pending[0], yes, town, locale)

    async def _answer(self, row: WelcomeRow, yes: bool, town: str, locale: str) -> str:
        town = " ".join(town.split())
        if len(town) > MAX_TOWN or any(c in town for c in "<>@[]*_`#"):
            raise BadArgument("welcome.bad_town", limit=MAX_TOWN)
        jobs = [(INTRODUCE_JOB, {"user": row.user_id, "territory": row.territory})] if yes else []
        if not await self.welcomes.answer(row.user_id, row.territory, yes, town, jobs):
            raise Conflict("welcome.answered")
        self.core.wake_jobs()
        name = self._territory(row.territory).name
        return t("welcome.yes" if yes else "welcome.no", locale, territory=name)

    # --- the jobs ------------------------------------------------------------------------------

    async def send_welcome(self, payload: dict[str, Any]) -> None:
        """The welcome, in the newcomer's direct chat (the same transaction id when run again,
        so it is said once); the message remembered for a ✅ on it."""
        user, territory = payload["user"], payload["territory"]
        row = await self.welcomes.get(user, territory)
        if row is None:
            return  # forgotten meanwhile
        place, locale = self._territory(territory), await self.core.language(user)
        coordinators = ", ".join(self.config.network.coordinators(place.id)) or "—"
        community = self._community_names(place)
        text = t(
            "welcome.message",
            locale,
            territory=place.name,
            rules=place.welcome or t("welcome.no_rules", locale),
            rooms=await self.rooms_text(user, place) or "—",
            coordinators=coordinators,
        )
        if community:
            text += "\n\n" + t(
                "welcome.ask", locale, room=community, prefix=self.config.commands.prefix
            )
        room_id = await self.core.direct.room_for(user)
        event_id = await self.core.gateway.send(
            room_id, notice(text), txn=effects.stable_key("welcome", user, territory)
        )
        await self.welcomes.set_prompt(user, territory, event_id)

    async def introduce(self, payload: dict[str, Any]) -> None:
        """The newcomer's line in the territory's community rooms (they said yes)."""
        user, territory = payload["user"], payload["territory"]
        row = await self.welcomes.get(user, territory)
        if row is None or not row.introduce:
            return
        member = await self.members.member(user) or {}
        place, locale = self._territory(territory), self.config.locale
        text = t(
            "welcome.introduction",
            locale,
            name=member.get("name") or user,
            profession=self.profession(member.get("profession") or "", locale),
            town=row.town or place.name,
            user=user,
        )
        for room_id in await self._community_rooms(place):
            await self.core.gateway.send(
                room_id, notice(text), txn=effects.stable_key("introduce", user, territory, room_id)
            )

    async def digest(self, payload: dict[str, Any]) -> Again:
        """The week's arrivals who agreed, by profession and town only, in each community
        room; then the next Monday."""
        now, locale = self.core.clock(), self.config.locale
        week = dt.datetime.fromtimestamp(now, self.tz).date().isocalendar()
        for place, _ in self.config.network.walk():
            rooms = await self._community_rooms(place)
            if not rooms:
                continue
            arrived = await self.welcomes.arrivals(place.id, now - 7 * 86400, now)
            if not arrived:
                continue
            professions = {
                m["user_id"]: m.get("profession") or ""
                for m in await self.members.members()
                if m["user_id"] in {a.user_id for a in arrived}
            }
            lines = "\n".join(
                f"• {self.profession(professions.get(a.user_id, ''), locale)} — "
                f"{a.town or place.name}"
                for a in arrived
            )
            text = t("welcome.digest", locale, territory=place.name, n=len(arrived), lines=lines)
            for room_id in rooms:
                await self.core.gateway.send(
                    room_id,
                    notice(text),
                    txn=effects.stable_key("arrivals", place.id, f"{week[0]}-{week[1]}", room_id),
                )
        return Again(self.next_digest(now + 60))

    def next_digest(self, after: float) -> float:
        """The next Monday 09:00 (the region's time) after ``after``."""
        day = dt.datetime.fromtimestamp(after, self.tz).date()
        for offset in range(8):
            candidate = day + dt.timedelta(days=offset)
            if candidate.weekday() == DIGEST_AT[0]:
                at = day_start(candidate, self.tz) + DIGEST_AT[1] * 3600
                if at > after:
                    return at
        raise AssertionError("a Monday comes within eight days")

    # --- events --------------------------------------------------------------------------------

    async def on_reaction(self, r: Reaction) -> bool:
        """✅ on the welcome: the newcomer agrees to be introduced."""
        if r.key.replace("\ufe0f", "") not in YES or not r.encrypted:
            return False
        row = await self.welcomes.of_prompt(r.relates_to)
        if row is None or row.user_id != r.sender:
            return False
        if row.introduce is not None:
            return True
        text = await self._answer(row, True, "", await self.core.language(r.sender))
        await self.core.tell(r.sender, text)
        return True

    async def on_removed(self, event: MemberRemoved) -> None:
        await self.welcomes.forget(event.user_id)

    # --- what a welcome says -------------------------------------------------------------------

    async def rooms_text(self, user: str, place: Territory) -> str:
        member = await self.members.member_info(user)
        if member is None:
            return ""
        ent = entitlement(member, self.config.network, self.config.vetting.provisioning)
        server = self.config.homeserver.server_name
        keys = {x.id for x in self.config.network.subtree(place.id)}
        lines = []
        for territory in self.config.network.subtree(place.id):
            for room in territory.rooms:
                key = f"{territory.id}.{room.id}"
                if key.split(".", 1)[0] in keys and ent.allows(key):
                    lines.append(f"• {room.name} — https://matrix.to/#/%23{key}:{server}")
        return "\n".join(lines)

    def profession(self, profession: str, locale: str) -> str:
        found = next((p for p in DEFAULT_PROFESSIONS if p.id == profession), None)
        return found.label(locale) if found else profession or "—"

    async def _community_rooms(self, place: Territory) -> list[str]:
        managed = {
            r.key: r.room_id for r in await self.core.store.managed_rooms(include_archived=False)
        }
        keys = [f"{place.id}.{r.id}" for r in place.rooms if r.kind == "community"]
        return [managed[k] for k in keys if k in managed]

    def _community_names(self, place: Territory) -> str:
        return ", ".join(r.name for r in place.rooms if r.kind == "community")

    def _territory(self, territory: str) -> Territory:
        found = self.config.network.find(territory)
        if found is None:
            raise NotFound("welcome.unknown_territory", territory=territory)
        return found
