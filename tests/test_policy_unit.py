"""Who may be in a managed room, without a server."""

from bot.moderation.policy import may_be_in
from bot.territories.model import Network, RoomSpec, Territory
from bot.vetting.provisioning import MemberInfo

NETWORK = Network(
    (
        Territory(
            "sud",
            "Sud",
            animators=("@anim-sud:x",),
            territories=(
                Territory(
                    "vaucluse",
                    "Vaucluse",
                    animators=("@anim-84:x",),
                    rooms=(RoomSpec("equipe", "Équipe", "managerial", manager="@chef:x"),),
                    territories=(Territory("cpts", "CPTS"),),
                ),
                Territory("var", "Var"),
            ),
        ),
    )
)


def allowed(user: str, key: str, member: str | None = None) -> bool:
    return may_be_in(
        user,
        key,
        network=NETWORK,
        admins=("@admin:x",),
        bot="@agora:x",
        member=MemberInfo(user, member, "medecin") if member else None,
    )


def test_members_belong_to_their_territory_and_those_above_only():
    assert allowed("@m:x", "vaucluse.communaute", member="cpts")
    assert allowed("@m:x", "sud", member="cpts")
    assert not allowed("@m:x", "cpts.echanges", member="vaucluse")
    assert not allowed("@m:x", "var", member="vaucluse")
    assert not allowed("@m:x", "vaucluse")


def test_bot_admins_animators_above_and_managers_are_allowed():
    assert allowed("@agora:x", "cpts") and allowed("@admin:x", "var.x")
    assert allowed("@anim-sud:x", "cpts.echanges") and allowed("@anim-84:x", "cpts")
    assert not allowed("@anim-84:x", "var")
    assert allowed("@chef:x", "vaucluse.equipe") and not allowed("@chef:x", "vaucluse.autre")
