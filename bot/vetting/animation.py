"""What animators do without admins, in their territory (or one below it): admit a vetted
member, remove someone, make working groups and invite members into them.

Admins may do all of it anywhere. Removal and admission go through the same provisioning as
vetting; groups go through the reconciler (they are merged into the network, see
``bot.territories.groups``).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.capability import Capability, Core
from bot.errors import BadArgument, Conflict, NotFound, PermissionDenied
from bot.events import MemberWithdrawn
from bot.i18n import t
from bot.moderation.policy import animated_by, is_staff
from bot.store.vetting import RequestRow, VettingStore
from bot.territories.capability import Territories
from bot.territories.groups import MAX_GROUPS_PER_TERRITORY, Group, GroupStore, free_key
from bot.territories.model import MAX_NAME, RoomSpec, Territory
from bot.vetting.capability import Vetting
from bot.vetting.form import parse_pairs, render_problems
from bot.vetting.provisioning import entitlement
from bot.vetting.quorum import Standing


@dataclass(frozen=True)
class Admitted:
    member: bool  # an already vetted member (else: a request was filed)
    territory: Territory
    rooms: str = ""  # the readable list of what they were given
    request: RequestRow | None = None
    standing: Standing | None = None


class Animation(Capability):
    name = "animation"
    commands = ("bot.commands.animators",)

    def __init__(self, core: Core, vetting: Vetting, territories: Territories):
        super().__init__(core)
        self.gateway = core.gateway
        self.store = core.store
        self.vetting = vetting
        self.territories = territories
        self.members = VettingStore(core.store)
        self.groups = GroupStore(core.store)

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
        if "territory" in values:
            # The request is filed for the territory its field names: it must be one of the
            # animator's own (or below), whatever else the line says.
            named = self.config.network.find(values["territory"].strip().lower())
            mine = self.animated_by(animator)
            if named is None or named not in mine:
                raise BadArgument(
                    "animate.field_not_yours",
                    value=values["territory"][:48],
                    choices=", ".join(t.id for t in mine) or "—",
                )
            if territory and named not in self.config.network.subtree(territory.lower()):
                raise BadArgument("animate.two_territories", first=territory, second=named.id)
        place = self.territory_for(animator, territory or values.get("territory"))
        if problems:
            raise BadArgument(
                "error.text",
                text=t("vetting.refused", locale) + "\n" + render_problems(problems, locale),
            )
        # Run again after a crash, an endorsement stays one (its request may have been
        # approved meanwhile: that must not make this an admission of a member).
        filed = await self.vetting.intake.filed_by_this_event()
        if filed is None and await self.members.is_member(user):
            await self.members.add_grant(user, place.id, "admit", animator)
            await self.vetting.outcomes.provision(user)
            rooms = await self.vetting.outcomes.rooms_text(user)
            await self.store.audit(animator, "animate.admit", "ok", detail=f"{user} → {place.id}")
            theirs = await self.core.language(user)
            await self.core.tell(
                user,
                t("animate.admitted_told", theirs, territory=place.name, who=animator, rooms=rooms),
            )
            return Admitted(True, place, rooms)
        if not values:
            raise BadArgument("animate.not_vetted", user=user, prefix=self.config.commands.prefix)
        values.setdefault("territory", place.id)
        request, result = await self.vetting.intake.endorse(values, animator, user, locale)
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
        await self.core.publish(MemberWithdrawn(user, place.id))
        return place, removed

    # --- working groups --------------------------------------------------------------------------

    async def create_group(
        self, animator: str, name: str, visibility: str, territory: str | None
    ) -> Group:
        place = self.territory_for(animator, territory)
        done, made = await self.store.earlier_outcome("group.create")
        if done and (group := await self.groups.get(str(made))) is not None:
            # The same command after a crash: the group it made, its rooms seen to again.
            await self.territories.groups_changed()
            await self.territories.reconcile_keys({group.key, place.id})
            return group
        name = name.strip()
        if not name or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
            raise BadArgument("group.bad_name", limit=MAX_NAME)
        existing = [g for g in await self.groups.all() if g.territory == place.id]
        if any(g.name.casefold() == name.casefold() for g in existing):
            raise Conflict("group.exists", name=name)
        if len(existing) >= MAX_GROUPS_PER_TERRITORY:
            raise Conflict("group.too_many", n=MAX_GROUPS_PER_TERRITORY)
        taken = {g.key for g in await self.groups.all(include_archived=True)}  # archived too
        key = free_key(place, name, {k for k in taken if k.startswith(place.id + ".")})
        group = Group(key, place.id, name, visibility, animator)
        await self.groups.add(group)
        await self.store.keep_outcome_now("group.create", key)
        await self.store.audit(animator, "group.create", "ok", detail=f"{key} ({visibility})")
        await self.territories.groups_changed()
        await self.territories.reconcile_keys({key, place.id})
        return group

    async def _lookup(self, ref: str, among: list[Group] | None = None) -> Group:
        """The group ``ref`` names among ``among`` (default: all); an unknown one is answered
        with those only (a member never learns the keys of private groups not theirs)."""
        groups = await self.groups.all() if among is None else among
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
        return found[0]

    async def find_group(self, animator: str, ref: str) -> Group:
        """A group ``animator`` may manage: an admin, its territory's animators (or above) for
        an open group; for a private one, only the admins and the animator who keeps it."""
        mine = {t.id for t in self.animated_by(animator)}
        among = [
            g for g in await self.groups.all() if g.territory in mine or g.created_by == animator
        ]
        group = await self._lookup(ref, among)
        if group.visibility == "private":
            if animator not in self.config.admins and animator != group.created_by:
                raise PermissionDenied("group.not_keeper", name=group.name, keeper=group.created_by)
        else:
            self.territory_for(animator, group.territory)  # theirs?
        return group

    async def _room_of(self, key: str, name: str) -> str:
        for r in await self.store.managed_rooms(include_archived=False):
            if r.key == key:
                return r.room_id
        raise Conflict("group.not_made", name=name)

    async def invite_to_group(self, animator: str, ref: str, user: str) -> Group:
        group = await self.find_group(animator, ref)
        if not await self.members.is_member(user):
            raise PermissionDenied("group.not_vetted", user=user)
        room_id = await self._room_of(group.key, group.name)
        await self.members.add_grant(user, group.key, "group", animator)
        await self.vetting.outcomes.provision(user)
        await self.gateway.invite(room_id, user, again_ok=True)
        await self.store.audit(animator, "group.invite", "ok", detail=f"{user} → {group.key}")
        return group

    async def groups_for(self, user: str) -> list[tuple[Group, bool]]:
        """The groups ``user`` sees in ``!group list``: those of the territories they animate
        (all for an admin), those they are on, and the open ones of their territories; with
        whether they are on its list."""
        mine = {t.id for t in self.animated_by(user)}
        info = await self.members.member_info(user)
        listed = info.grants if info else frozenset()
        scope = set()
        if info is not None:
            ent = entitlement(info, self.config.network, self.config.vetting.provisioning)
            scope = set(ent.scope)
        out = []
        for g in await self.groups.all():
            if (
                g.territory in mine
                or g.key in listed
                or g.created_by == user
                or (g.visibility == "open" and g.territory in scope)
            ):
                out.append((g, g.key in listed))
        return out

    async def group_members(self, user: str, ref: str) -> tuple[Group, list[str], list[str]]:
        """The group's list (given by name) and who is in its room now."""
        group = await self.find_group(user, ref)
        room_id = await self._room_of(group.key, group.name)
        present = self.gateway.synced_members(room_id)
        if present is None:
            present = await self.gateway.members(room_id)
        inside = sorted(u for u, m in present.items() if m == "join" and u != self.gateway.user_id)
        return group, await self.members.holders(group.key), inside

    async def remove_from_group(self, animator: str, ref: str, user: str) -> Group:
        group = await self.find_group(animator, ref)
        room_id = await self._room_of(group.key, group.name)
        await self.members.remove_grants(user, {group.key})
        reason = t("group.kick_reason", self.config.locale, name=group.name)
        await self.gateway.remove_everywhere([room_id], user, reason)
        await self.store.audit(animator, "group.remove", "ok", detail=f"{user} ← {group.key}")
        return group

    async def leave_group(self, user: str, ref: str) -> Group:
        """A member takes themselves off a group's list, and out of its room."""
        group = await self._lookup(ref, [g for g, _ in await self.groups_for(user)])
        info = await self.members.member_info(user)
        room_id = await self._room_of(group.key, group.name)
        present = (await self.gateway.members(room_id)).get(user) in ("join", "invite")
        if not present and (info is None or group.key not in info.grants):
            raise NotFound("group.not_in", name=group.name)
        await self.members.remove_grants(user, {group.key})
        if present:
            await self.gateway.kick(room_id, user, t("group.left_reason", self.config.locale))
        await self.store.audit(user, "group.leave", "ok", detail=group.key)
        return group

    async def archive_group(self, animator: str, ref: str) -> Group:
        """The group leaves the network; its room is archived (read-only, history kept)."""
        group = await self.find_group(animator, ref)
        if not await self.groups.archive(group.key):
            raise NotFound("group.unknown", ref=ref, known="—")
        await self.store.audit(animator, "group.archive", "ok", detail=group.key)
        await self.territories.groups_changed()
        await self.territories.reconcile_keys({group.key, group.territory})
        return group

    # --- a manager's team ------------------------------------------------------------------------

    def managed_by(self, user: str) -> list[tuple[Territory, RoomSpec]]:
        """The managerial rooms ``user`` manages (an admin: every one)."""
        return [
            (t, r)
            for t, _ in self.config.network.walk()
            for r in t.rooms
            if r.kind == "managerial" and (r.manager == user or user in self.config.admins)
        ]

    def team_room(self, user: str, ref: str | None) -> tuple[Territory, RoomSpec]:
        rooms = self.managed_by(user)
        if not rooms:
            raise PermissionDenied("team.not_manager")
        if ref:
            ref = ref.lower().lstrip("#")
            found = [(t, r) for t, r in rooms if ref in (f"{t.id}.{r.id}", r.id)]
            if len(found) != 1:
                raise BadArgument(
                    "team.which_room", choices=", ".join(f"{t.id}.{r.id}" for t, r in rooms)
                )
            return found[0]
        if len(rooms) > 1:
            raise BadArgument(
                "team.which_room", choices=", ".join(f"{t.id}.{r.id}" for t, r in rooms)
            )
        return rooms[0]

    async def team_add(self, manager: str, user: str, ref: str | None) -> RoomSpec:
        territory, spec = self.team_room(manager, ref)
        key = f"{territory.id}.{spec.id}"
        if not await self.members.is_member(user):
            raise PermissionDenied("group.not_vetted", user=user)
        room_id = await self._room_of(key, spec.name)
        await self.members.add_grant(user, key, "team", manager)
        await self.gateway.invite(room_id, user, again_ok=True)
        await self.store.audit(manager, "team.add", "ok", detail=f"{user} → {key}")
        return spec

    async def team_remove(self, manager: str, user: str, ref: str | None) -> RoomSpec:
        territory, spec = self.team_room(manager, ref)
        key = f"{territory.id}.{spec.id}"
        if user == spec.manager or user in self.config.admins:
            raise PermissionDenied("animate.staff", user=user)
        room_id = await self._room_of(key, spec.name)
        await self.members.remove_grants(user, {key})
        reason = t("team.kick_reason", self.config.locale, name=spec.name)
        await self.gateway.remove_everywhere([room_id], user, reason)
        await self.store.audit(manager, "team.remove", "ok", detail=f"{user} ← {key}")
        return spec

    async def team_list(self, manager: str, ref: str | None) -> tuple[RoomSpec, list[str]]:
        territory, spec = self.team_room(manager, ref)
        return spec, await self.members.holders(f"{territory.id}.{spec.id}")
