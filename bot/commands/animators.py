"""Animators' commands, in a direct chat with the bot (admins may use them in the control room
too): admitting, removing, working groups."""

from __future__ import annotations

from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import Rest, Role, UserId, Where, Word, command, command_group
from bot.errors import BadArgument
from bot.i18n import t
from bot.store.groups import Group
from bot.territories.model import RoomSpec, Territory
from bot.vetting.animation import Admitted

PLACES = (Where.DM, Where.CONTROL_ROOM)


class Uses(Protocol):
    """What these commands use (``bot.vetting.animation.Animation``)."""

    async def admit(
        self, animator: str, user: str, territory: str | None, rest: str, locale: str
    ) -> Admitted: ...

    async def remove(
        self, animator: str, user: str, territory: str | None
    ) -> tuple[Territory, int]: ...

    async def create_group(
        self, animator: str, name: str, visibility: str, territory: str | None
    ) -> Group: ...

    async def find_group(self, animator: str, ref: str) -> Group: ...

    async def invite_to_group(self, animator: str, ref: str, user: str) -> Group: ...

    async def groups_for(self, user: str) -> list[tuple[Group, bool]]: ...

    async def group_members(self, user: str, ref: str) -> tuple[Group, list[str], list[str]]: ...

    async def remove_from_group(self, animator: str, ref: str, user: str) -> Group: ...

    async def leave_group(self, user: str, ref: str) -> Group: ...

    async def archive_group(self, animator: str, ref: str) -> Group: ...

    async def team_add(self, manager: str, user: str, ref: str | None) -> RoomSpec: ...

    async def team_remove(self, manager: str, user: str, ref: str | None) -> RoomSpec: ...

    async def team_list(self, manager: str, ref: str | None) -> tuple[RoomSpec, list[str]]: ...


Ctx = CommandContext[Uses]


@command(
    "admit",
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.admit.help",
    aliases=("admettre",),
    metavars={"fields": "meta.admit_fields"},
)
async def admit(ctx: Ctx, user: UserId, fields: Rest = "") -> None:
    territory = None
    words = fields.split(maxsplit=1)
    if words and "=" not in words[0]:  # `!admit @x vaucluse [fields…]`
        territory, fields = words[0], words[1] if len(words) > 1 else ""
    done = await ctx.services.admit(ctx.sender, user, territory, fields, ctx.locale)
    if done.member:
        await ctx.reply(t("animate.admitted", ctx.locale, user=user, territory=done.territory.name))
        return
    assert done.request is not None and done.standing is not None
    await ctx.reply(
        t(
            "animate.endorsed",
            ctx.locale,
            user=user,
            id=done.request.id,
            n=len(done.standing.approvals),
            required=done.standing.required,
        )
    )


@command(
    "remove",
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.remove.help",
    aliases=("retirer",),
    metavars={"territory": "meta.territory"},
)
async def remove(ctx: Ctx, user: UserId, territory: Word | None = None) -> None:
    place, removed = await ctx.services.remove(ctx.sender, user, territory)
    await ctx.reply(t("animate.removed", ctx.locale, user=user, territory=place.name, n=removed))


command_group("group", help="cmd.group.help", aliases=("groupe",))


@command(
    "group",
    sub="create",
    example='"Soins palliatifs" vaucluse --private',
    aliases=("creer", "créer"),
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.group.create.help",
    metavars={"name": "meta.group_name", "territory": "meta.territory"},
)
async def group_create(
    ctx: Ctx,
    name: Word,
    territory: Word | None = None,
    open: bool = False,
    private: bool = False,
) -> None:
    if open == private:
        raise BadArgument("group.visibility")
    made = await ctx.services.create_group(
        ctx.sender, name, "open" if open else "private", territory
    )
    await ctx.reply(
        t(
            "group.created_open" if open else "group.created_private",
            ctx.locale,
            name=made.name,
            group=made.key,
            prefix=ctx.prefix,
        )
    )


@command(
    "group",
    sub="invite",
    example="soins-palliatifs @dr.martin:{server}",
    aliases=("inviter",),
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.group.invite.help",
    metavars={"group": "meta.group"},
)
async def group_invite(ctx: Ctx, group: Word, user: UserId) -> None:
    found = await ctx.services.invite_to_group(ctx.sender, group, user)
    await ctx.reply(t("group.invited", ctx.locale, user=user, name=found.name))


@command(
    "group",
    sub="list",
    aliases=("liste",),
    role=Role.ANYONE,
    where=(Where.DM, Where.CONTROL_ROOM),
    help="cmd.group.list.help",
)
async def group_list(ctx: Ctx) -> None:
    found = await ctx.services.groups_for(ctx.sender)
    if not found:
        await ctx.reply(t("group.none", ctx.locale))
        return
    lines = [t("group.list_title", ctx.locale, n=len(found))]
    for g, listed in found:
        lines.append(
            t(
                "group.list_line",
                ctx.locale,
                name=g.name,
                group=g.key,
                visibility=t(f"group.visibility.{g.visibility}", ctx.locale),
                keeper=g.created_by,
                mine=t("group.on_list", ctx.locale) if listed else "",
            )
        )
    await ctx.reply("\n".join(lines))


@command(
    "group",
    sub="members",
    example="soins-palliatifs",
    aliases=("membres",),
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.group.members.help",
    metavars={"group": "meta.group"},
)
async def group_members(ctx: Ctx, group: Word) -> None:
    found, listed, inside = await ctx.services.group_members(ctx.sender, group)
    await ctx.reply(
        t(
            "group.members",
            ctx.locale,
            name=found.name,
            keeper=found.created_by,
            listed=", ".join(listed) or "—",
            inside=", ".join(inside) or "—",
        )
    )


@command(
    "group",
    sub="remove",
    example="soins-palliatifs @dr.martin:{server}",
    aliases=("retirer",),
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.group.remove.help",
    metavars={"group": "meta.group"},
)
async def group_remove(ctx: Ctx, group: Word, user: UserId) -> None:
    found = await ctx.services.remove_from_group(ctx.sender, group, user)
    await ctx.reply(t("group.removed", ctx.locale, user=user, name=found.name))


@command(
    "group",
    sub="leave",
    example="soins-palliatifs",
    aliases=("quitter",),
    role=Role.ANYONE,
    where=Where.DM,
    help="cmd.group.leave.help",
    metavars={"group": "meta.group"},
)
async def group_leave(ctx: Ctx, group: Word) -> None:
    found = await ctx.services.leave_group(ctx.sender, group)
    await ctx.reply(t("group.left", ctx.locale, name=found.name))


@command(
    "group",
    sub="archive",
    example="soins-palliatifs --dry-run",
    aliases=("archiver",),
    role=Role.ANIMATOR,
    where=PLACES,
    help="cmd.group.archive.help",
    metavars={"group": "meta.group"},
)
async def group_archive(ctx: Ctx, group: Word, dry_run: bool = False) -> None:
    if dry_run:
        found = await ctx.services.find_group(ctx.sender, group)
        await ctx.reply(t("group.archive_plan", ctx.locale, name=found.name, group=found.key))
        return
    found = await ctx.services.archive_group(ctx.sender, group)
    await ctx.reply(t("group.archived", ctx.locale, name=found.name))


command_group("team", help="cmd.team.help", aliases=("equipe", "équipe"))


@command(
    "team",
    sub="add",
    aliases=("ajouter",),
    role=Role.MANAGER,
    where=PLACES,
    help="cmd.team.add.help",
    metavars={"room": "meta.room"},
)
async def team_add(ctx: Ctx, user: UserId, room: Word | None = None) -> None:
    spec = await ctx.services.team_add(ctx.sender, user, room)
    await ctx.reply(t("team.added", ctx.locale, user=user, name=spec.name))


@command(
    "team",
    sub="remove",
    aliases=("retirer",),
    role=Role.MANAGER,
    where=PLACES,
    help="cmd.team.remove.help",
    metavars={"room": "meta.room"},
)
async def team_remove(ctx: Ctx, user: UserId, room: Word | None = None) -> None:
    spec = await ctx.services.team_remove(ctx.sender, user, room)
    await ctx.reply(t("team.removed", ctx.locale, user=user, name=spec.name))


@command(
    "team",
    sub="list",
    aliases=("liste",),
    role=Role.MANAGER,
    where=PLACES,
    help="cmd.team.list.help",
    metavars={"room": "meta.room"},
)
async def team_list(ctx: Ctx, room: Word | None = None) -> None:
    spec, people = await ctx.services.team_list(ctx.sender, room)
    await ctx.reply(t("team.list", ctx.locale, name=spec.name, people=", ".join(people) or "—"))
