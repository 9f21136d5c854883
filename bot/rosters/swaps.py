"""Changing a roster between members: a slot offered to a colleague (a swap, with one of theirs
in return or not) or released to the territory (anyone on its roster may take it), approved by
the territory's coordinator when ``rosters.swaps_need_coordinator``.

Every step is one transaction with the jobs that announce it (``RosterStore``): a crash never
leaves a slot moved without its offer closed, nor an offer made without its message. The
messages a ✅ acts on (the proposal to the colleague, the coordinator's card, the release in
the replacements room) are remembered with the offer."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.errors import BadArgument, Conflict, NotFound, PermissionDenied
from bot.i18n import in_each_language, t
from bot.moderation.policy import animated_by
from bot.rosters.model import local
from bot.store.rosters import OPEN, Jobs, OfferRow, SlotRow

if TYPE_CHECKING:
    from bot.capability import Core
    from bot.rosters.book import RosterBook

# "12/08 20h", "samedi 20:00", "12/08/2027 20h30": the time at the end, said or not.
TIME_AT_END = re.compile(r"\s(\d{1,2})\s*(?:h|:)\s*(\d{2})?\s*$", re.IGNORECASE)
# "… contre 15/08" / "… for 15/08": the colleague's slot in return.
IN_RETURN = re.compile(r"\s+(?:contre|en échange de|for|against)\s+", re.IGNORECASE)
KEEP_CLOSED = 30 * 86400.0  # closed offers are forgotten after this


class Swaps:
    def __init__(
        self,
        core: Core,
        book: RosterBook,
        tell_job: str,
        changed: Callable[[str], Awaitable[None]],
    ):
        self.core = core
        self.book = book
        self.slots = book.slots
        self.tell_job = tell_job
        self.changed = changed  # a territory's roster changed: its post and topic follow

    @property
    def locale(self) -> str:
        return self.core.config.locale

    @property
    def prefix(self) -> str:
        return self.core.config.commands.prefix

    # --- naming a slot ------------------------------------------------------------------------

    async def held(self, user: str, text: str) -> SlotRow:
        """The slot to come of ``user`` that ``text`` names: a day as typed, and its start
        time when they hold more than one that day (``12/08 20h``)."""
        said = text.strip()
        if not said:
            raise BadArgument("roster.swap.no_when")
        found = TIME_AT_END.search(" " + said)
        at = None
        day_text = said
        if found is not None:
            hour, minute = int(found[1]), int(found[2] or 0)
            if hour > 24 or minute > 59:
                raise BadArgument("roster.bad_day", value=said[:40])
            at = (hour % 24, minute)
            day_text = (" " + said)[: found.start()].strip() or "aujourd'hui"
        day = self.book.day(day_text)
        tz = self.book.tz
        midnight = dt.datetime.combine(day, dt.time()).replace(tzinfo=tz).timestamp()
        rows = [
            r
            for r in await self.slots.slots(None, midnight, midnight + 86400, member=user)
            if local(r.start, tz).date() == day
        ]
        if at is not None:
            rows = [r for r in rows if (local(r.start, tz).hour, local(r.start, tz).minute) == at]
        if not rows:
            raise NotFound("roster.swap.no_slot", when=said[:40])
        if len(rows) > 1:
            lines = "\n".join(self.book.slot_line(r, {}, self.locale, True) for r in rows)
            raise BadArgument("roster.swap.which_slot", slots=lines)
        if rows[0].start <= self.core.clock():
            raise BadArgument("roster.swap.begun")
        return rows[0]

    async def _may_hold(self, user: str, slot: SlotRow, *, besides: tuple[int, ...] = ()) -> None:
        """``user`` may be put on ``slot``: on the territory's roster, and not on duty then."""
        if user not in {m.user_id for m in await self.book.eligible(slot.territory)}:
            raise PermissionDenied(
                "roster.swap.not_on_roster",
                user=user,
                territory=self.book.territory_name(slot.territory),
            )
        for other in await self.slots.slots(None, slot.start, slot.end, member=user):
            if other.id not in besides and other.id != slot.id:
                raise Conflict("roster.swap.busy", user=user, slot=self._line(other))

    def _line(self, slot: SlotRow | None, locale: str | None = None) -> str:
        if slot is None:
            return "—"
        return self.book.slot_line(slot, {}, locale or self.locale, False).removeprefix("• ")

    # --- offering -----------------------------------------------------------------------------

    async def propose(self, user: str, colleague: str, what: str) -> str:
        """``!garde echanger @colleague <my slot> [contre <theirs>]``: the colleague is asked."""
        parts = IN_RETURN.split(" " + what.strip(), maxsplit=1)
        mine_text, theirs_text = parts[0], parts[1] if len(parts) > 1 else ""
        if colleague == user:
            raise BadArgument("roster.swap.self")
        mine = await self.held(user, mine_text)
        theirs = await self.held(colleague, theirs_text) if theirs_text.strip() else None
        if theirs is not None and theirs.territory != mine.territory:
            raise BadArgument("roster.swap.other_roster")
        ids = (mine.id, theirs.id) if theirs else (mine.id,)
        await self._may_hold(colleague, mine, besides=ids)
        if theirs is not None:
            await self._may_hold(user, theirs, besides=ids)
        name = self.book.territory_name(mine.territory)

        def jobs(n: int) -> Jobs:
            key = "roster.swap.proposed_return" if theirs else "roster.swap.proposed"

            def text(loc: str) -> str:
                return t(
                    key,
                    loc,
                    by=user,
                    slot=self._line(mine, loc),
                    theirs=self._line(theirs, loc),
                    territory=name,
                    n=n,
                    prefix=self.prefix,
                )

            return [
                self._tell(f"offer:{n}:colleague", text, user=colleague, offer=n, role="colleague")
            ]

        n = await self.slots.open_offer(
            mine.territory, "swap", mine.id, user, colleague, theirs.id if theirs else None, jobs
        )
        if n is None:
            raise Conflict("roster.offer.already")
        await self.core.store.audit(user, "roster.swap", "proposed", detail=f"#{n} → {colleague}")
        self.core.wake_jobs()
        loc = await self.core.language(user)
        return t("roster.swap.sent", loc, n=n, user=colleague, slot=self._line(mine, loc))

    async def release(self, user: str, what: str) -> str:
        """``!garde liberer <my slot>``: offered in the territory's replacements room."""
        mine = await self.held(user, what)
        name = self.book.territory_name(mine.territory)

        def jobs(n: int) -> Jobs:
            def text(loc: str) -> str:
                return t(
                    "roster.release.offered",
                    loc,
                    by=user,
                    slot=self._line(mine, loc),
                    territory=name,
                    n=n,
                    prefix=self.prefix,
                )

            return [
                self._tell(
                    f"offer:{n}:release", text, territory=mine.territory, only="rooms",
                    offer=n, role="release",
                )
            ]  # fmt: skip

        n = await self.slots.open_offer(mine.territory, "release", mine.id, user, None, None, jobs)
        if n is None:
            raise Conflict("roster.offer.already")
        await self.core.store.audit(user, "roster.release", "offered", detail=f"#{n}")
        self.core.wake_jobs()
        loc = await self.core.language(user)
        return t("roster.release.sent", loc, n=n, slot=self._line(mine, loc))

    # --- answering ----------------------------------------------------------------------------

    async def _open(self, n: int) -> OfferRow:
        offer = await self.slots.offer(n)
        if offer is None:
            raise NotFound("roster.offer.unknown", n=n)
        if offer.status not in OPEN:
            raise Conflict("roster.offer.closed_n", n=n, status=self._status(offer.status))
        return offer

    def _status(self, status: str) -> str:
        return t(f"roster.offer.status.{status}", self.locale)

    async def accept(self, user: str, n: int) -> str:
        """The colleague's yes to a swap (``!garde accepter n`` or ✅ on the proposal)."""
        offer = await self._open(n)
        if offer.kind != "swap" or offer.to_member != user:
            raise PermissionDenied("roster.offer.not_for_you", n=n)
        if offer.status != "proposed":
            raise Conflict("roster.offer.closed_n", n=n, status=self._status(offer.status))
        return await self._taken(offer, user)

    async def take(self, user: str, n: int) -> str:
        """Someone on the roster takes a released slot (``!garde prendre n`` or ✅)."""
        offer = await self._open(n)
        if offer.kind != "release":
            raise PermissionDenied("roster.offer.not_for_you", n=n)
        if offer.by_member == user:
            raise BadArgument("roster.swap.self")
        if offer.status != "proposed":
            raise Conflict("roster.offer.taken", n=n)
        return await self._taken(offer, user)

    async def _taken(self, offer: OfferRow, user: str) -> str:
        slot = await self.slots.slot(offer.slot_id)
        if slot is None:
            raise NotFound("roster.offer.unknown", n=offer.id)
        ids = (offer.slot_id, offer.their_slot_id) if offer.their_slot_id else (offer.slot_id,)
        await self._may_hold(user, slot, besides=ids)
        if not self.core.config.rosters.swaps_need_coordinator:
            return await self._apply(offer.id, by=user)
        name = self.book.territory_name(offer.territory)
        theirs = await self.slots.slot(offer.their_slot_id) if offer.their_slot_id else None
        key = "roster.offer.to_approve_return" if theirs else "roster.offer.to_approve"

        def card(loc: str) -> str:
            return t(
                key,
                loc,
                n=offer.id,
                territory=name,
                slot=self._line(slot, loc),
                by=offer.by_member,
                to=user,
                theirs=self._line(theirs, loc),
                prefix=self.prefix,
            )

        def waiting(loc: str) -> str:
            return t("roster.offer.waiting", loc, n=offer.id, to=user)

        jobs = [
            self._tell(
                f"offer:{offer.id}:card", card, territory=offer.territory, only="coordinators",
                offer=offer.id, role="coordinator",
            ),
            self._tell(f"offer:{offer.id}:waiting", waiting, user=offer.by_member),
        ]  # fmt: skip
        if not await self.slots.move_offer(offer.id, ("proposed",), "accepted", jobs, to=user):
            raise Conflict("roster.offer.taken", n=offer.id)
        await self.core.store.audit(user, f"roster.{offer.kind}", "accepted", detail=f"#{offer.id}")
        self.core.wake_jobs()
        return t("roster.offer.accepted", await self.core.language(user), n=offer.id)

    async def approve(self, coordinator: str, n: int) -> str:
        """The coordinator's approval (``!garde valider n`` or ✅ on the card)."""
        offer = await self._open(n)
        self._coordinates(coordinator, offer)
        if offer.status != "accepted":
            raise Conflict("roster.offer.not_accepted", n=n)
        return await self._apply(n, by=coordinator)

    async def refuse(self, coordinator: str, n: int, reason: str) -> str:
        offer = await self._open(n)
        self._coordinates(coordinator, offer)

        def text(loc: str) -> str:
            return t("roster.offer.refused", loc, n=n, reason=reason or "—")

        people = [p for p in (offer.by_member, offer.to_member) if p]
        jobs = [self._tell(f"offer:{n}:refused:{p}", text, user=p) for p in people]
        if not await self.slots.move_offer(n, OPEN, "refused", jobs):
            raise Conflict("roster.offer.closed_n", n=n, status=self._status("done"))
        await self.core.store.audit(coordinator, "roster.offer", "refused", detail=f"#{n}")
        self.core.wake_jobs()
        return t("roster.offer.refused_done", await self.core.language(coordinator), n=n)

    async def cancel(self, user: str, n: int) -> str:
        offer = await self._open(n)
        if offer.by_member != user:
            raise PermissionDenied("roster.offer.not_yours", n=n)

        def text(loc: str) -> str:
            return t("roster.offer.cancelled", loc, n=n, by=user)

        jobs = [self._tell(f"offer:{n}:cancelled", text, user=offer.to_member)] if (
            offer.to_member) else []  # fmt: skip
        if not await self.slots.move_offer(n, OPEN, "cancelled", jobs):
            raise Conflict("roster.offer.closed_n", n=n, status=self._status("done"))
        await self.core.store.audit(user, "roster.offer", "cancelled", detail=f"#{n}")
        self.core.wake_jobs()
        return t("roster.offer.cancelled_done", await self.core.language(user), n=n)

    def _coordinates(self, user: str, offer: OfferRow) -> None:
        animated = {
            x.id for x in animated_by(user, self.core.config.network, self.core.config.admins)
        }
        if offer.territory not in animated:
            raise PermissionDenied(
                "roster.not_coordinator", territory=self.book.territory_name(offer.territory)
            )

    async def _apply(self, n: int, *, by: str) -> str:
        """The offer carried out (the slots move), everyone told; today's post follows."""

        def jobs(offer: OfferRow) -> Jobs:
            def text(loc: str) -> str:
                return t("roster.offer.done", loc, n=n)

            people = [p for p in (offer.by_member, offer.to_member) if p]
            return [self._tell(f"offer:{n}:done:{p}", text, user=p) for p in people]

        outcome = await self.slots.apply_offer(n, self.core.clock(), jobs)
        if outcome != "done":
            # The roster changed under the offer (or the taker is on duty then): it is closed,
            # and both told why.
            offer = await self.slots.offer(n)
            why = t(outcome, self.locale)
            if offer is not None and offer.status in OPEN:

                def text(loc: str) -> str:
                    return t("roster.offer.failed", loc, n=n, why=t(outcome, loc))

                people = [p for p in (offer.by_member, offer.to_member) if p and p != by]
                tell = [self._tell(f"offer:{n}:failed:{p}", text, user=p) for p in people]
                await self.slots.move_offer(n, OPEN, "cancelled", tell)
                self.core.wake_jobs()
            raise Conflict("roster.offer.failed", n=n, why=why)
        offer = await self.slots.offer(n)
        await self.core.store.audit(by, "roster.offer", "done", detail=f"#{n}")
        self.core.wake_jobs()
        if offer is not None:
            await self.changed(offer.territory)
        return t("roster.offer.done", await self.core.language(by), n=n)

    # --- housekeeping -------------------------------------------------------------------------

    async def tidy(self) -> None:
        """Offers whose slot has begun expire; closed ones are forgotten after a while."""
        now = self.core.clock()
        await self.slots.close_offers(before=now)
        await self.slots.prune_offers(now - KEEP_CLOSED)

    def _tell(
        self, key: str, text: Callable[[str], str], **where: Any
    ) -> tuple[str, dict[str, Any]]:
        """A notice job, written in each language (each person reads theirs; rooms the
        region's)."""
        return self.tell_job, {"key": key, "texts": in_each_language(text), **where}
