"""What animators do without admins, in their territory (or one below it): admit a vetted
member, remove someone, make working groups and invite members into them.

Admins may do all of it anywhere. Removal and admission go through the same provisioning as
vetting; groups go through the reconciler (they are merged into the network, see
``bot.territories.groups``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.config import Config
from bot.errors import BadArgument, Conflict, MatrixError, NotFound, PermissionDenied
from bot.i18n import t
from bot.matrix.gateway import Gateway
from bot.moderation.policy import animated_by, is_staff
from bot.store import Store
from bot.store.vetting import RequestRow, VettingStore
from bot.territories.groups import MAX_GROUPS_PER_TERRITORY, Group, GroupStore, free_key
from bot.territories.model import MAX_NAME, Territory
from bot.vetting.form import parse_pairs, render_problems
from bot.vetting.quorum import Standing
from bot.vetting.service import Vetting


@dataclass(frozen=True)
class Admitted:
    member: bool  # an already vetted member (else: a request was filed)
    territory: Territory
    rooms: str = ""  # the readable list of what they were given
    request: RequestRow | None = None
    standing: Standing | None = None


class Animation:
    def __init__(
        self,
        config: Config,
        gateway: Gateway,
        store: Store,
        vetting: Vetting,
        reconcile_keys: Callable[[set[str]], Awaitable[None]],
        groups_changed: Callable[[], Awaitable[None]],
    ):
        self.config = config
        self.gateway = gateway
        self.store = store
        self.vetting = vetting
        self.members = VettingStore(store)
        self.groups = GroupStore(store)
        self.reconcile_keys = reconcile_keys
        self.groups_changed = groups_changed

    # --- whose territory ---------------------------------------------------------------------

    def animated_by(self, user: str) -> list[Territory]:
        return animated_by(user, self.config.network, self.config.admins)

    def territory_for(self, user: str, territory: str | None) -> Territory:
        """The territory a command acts on: the one named, or the animator's only one."""
        mine = self.animated_by(user)
        if territory:
            found = self.config.network.find(territory.lower())
            if found is None:
                raise NotFound(
                    "vetting.form.unknown_territory",
                    choices=", ".join(t.id for t, _ in self.config.network.walk()),
                )
            if found not in mine:
                raise PermissionDenied("animate.not_yours", territory=found.name)
            return found
        tops = [
            t for t in mine if not any(t in self.config.network.subtree(o.id)[1:] for o in mine)
        ]
        if len(tops) != 1:
            raise BadArgument(
                "animate.which_territory", choices=", ".join(t.id for t in mine) or "—"
            )
        return tops[0]

    # --- admitting and removing ----------------------------------------------------------------

    async def admit(
        self, animator: str, user: str, territory: str | None, rest: str, locale: str
    ) -> Admitted:
        """A vetted member: given the territory's space and rooms. Someone else: a request
        with the fields given, endorsed by the animator."""
        values, problems = parse_pairs(rest)
        place = self.territory_for(animator, territory or values.get("territory"))
        if problems:
            raise BadArgument(
                "error.text",
                text=t("vetting.refused", locale) + "\n" + render_problems(problems, locale),
            )
        if await self.members.member_territory(user):
            await self.members.add_grant(user, place.id, "admit", animator)
            await self.vetting.provision(user)
            rooms = await self.vetting.rooms_text(user)
            await self.store.audit(animator, "animate.admit", "ok", detail=f"{user} → {place.id}")
            await self.vetting.tell(
                user,
                t("animate.admitted_told", locale, territory=place.name, who=animator, rooms=rooms),
            )
            return Admitted(True, place, rooms)
        if not values:
            raise BadArgument("animate.not_vetted", user=user, prefix=self.config.commands.prefix)
        values.setdefault("territory", place.id)
        request, result = await self.vetting.endorse(values, animator, user, locale)
        return Admitted(False, place, request=request, standing=result)

    async def remove(
        self, animator: str, user: str, territory: str | None
    ) -> tuple[Territory, int]:
        """Out of the territory's spaces and rooms (and those below it); what an animator gave
        there is withdrawn. Their vetting stays: only admins revoke."""
        place = self.territory_for(animator, territory)
        if is_staff(
            user,
            place.id,
            network=self.config.network,
            admins=self.config.admins,
            bot=self.gateway.user_id,
        ):
            raise PermissionDenied("animate.staff", user=user)
        keys = {x.id for x in self.config.network.subtree(place.id)}
        rooms = [
            r
            for r in await self.store.managed_rooms(include_archived=False)
            if r.key.split(".", 1)[0] in keys
        ]
        reason = t("animate.kick_reason", self.config.locale, territory=place.name)
        removed = await self.gateway.remove_everywhere([r.room_id for r in rooms], user, reason)
        info = await self.members.member_info(user)
        if info is not None:
            await self.members.remove_grants(
                user, {g for g in info.grants if g.split(".", 1)[0] in keys}
            )
        await self.store.audit(
            animator, "animate.remove", "ok", detail=f"{user} ← {place.id}: {removed}"
        )
        return place, removed

    # --- working groups --------------------------------------------------------------------------

    async def create_group(
        self, animator: str, name: str, visibility: str, territory: str | None
    ) -> Group:
        place = self.territory_for(animator, territory)
        name = name.strip()
        if not name or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
            raise BadArgument("group.bad_name", limit=MAX_NAME)
        existing = [g for g in await self.groups.all() if g.territory == place.id]
        if any(g.name.casefold() == name.casefold() for g in existing):
            raise Conflict("group.exists", name=name)
        if len(existing) >= MAX_GROUPS_PER_TERRITORY:
            raise Conflict("group.too_many", n=MAX_GROUPS_PER_TERRITORY)
        key = free_key(place, name, {g.key for g in existing})
        group = Group(key, place.id, name, visibility, animator)
        await self.groups.add(group)
        await self.store.audit(animator, "group.create", "ok", detail=f"{key} ({visibility})")
        await self.groups_changed()
        await self.reconcile_keys({key, place.id})
        return group

    async def find_group(self, animator: str, ref: str) -> Group:
        groups = await self.groups.all()
        ref = ref.lower().lstrip("#")
        found = [
            g
            for g in groups
            if g.key == ref or g.room_id_part == ref or g.name.casefold() == ref.casefold()
        ]
        if not found:
            raise NotFound("group.unknown", ref=ref, known=", ".join(g.key for g in groups) or "—")
        if len(found) > 1:
            raise BadArgument("group.ambiguous", ref=ref, keys=", ".join(g.key for g in found))
        group = found[0]
        self.territory_for(animator, group.territory)  # theirs?
        return group

    async def invite_to_group(self, animator: str, ref: str, user: str) -> Group:
        group = await self.find_group(animator, ref)
        if not await self.members.member_territory(user):
            raise PermissionDenied("group.not_vetted", user=user)
        await self.members.add_grant(user, group.key, "group", animator)
        room_id = next(
            (
                r.room_id
                for r in await self.store.managed_rooms(include_archived=False)
                if r.key == group.key
            ),
            None,
        )
        if room_id is None:
            raise Conflict("group.not_made", name=group.name)
        await self.vetting.provision(user)
        try:
            await self.gateway.invite(room_id, user)
        except MatrixError as exc:
            if "already" not in exc.message:
                raise
        await self.store.audit(animator, "group.invite", "ok", detail=f"{user} → {group.key}")
        return group
