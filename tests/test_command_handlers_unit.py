"""Command handlers without a server: each module's handlers driven through the real registry
(parsing, subcommands, options) against fakes of the narrow services the module declares it
uses (its ``Uses`` protocol). What a handler asks of its services and what it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from bot.commands import load_commands
from bot.commands.context import CommandContext
from bot.commands.registry import ByPlace, CommandGroup, Role, Where
from bot.config import ConfigError
from bot.errors import BadArgument, UserError

REGISTRY = load_commands()
ADMIN = "@admin:localhost"


@dataclass
class FakeGateway:
    """Records what the handler sends (its replies and progress edits)."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, room_id: str, content: dict[str, Any], *, txn: str | None = None) -> str:
        self.sent.append(content)
        return f"$sent{len(self.sent)}"


class FakeStore:
    def __init__(self) -> None:
        self.kv: dict[str, Any] = {}

    async def get(self, key: str, default: Any = None) -> Any:
        return self.kv.get(key, default)

    async def put(self, key: str, value: Any) -> None:
        self.kv[key] = value


class Calls:
    """A fake service: every awaited method records its call and returns what was set."""

    def __init__(self, **answers: Any) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        self.answers = answers

    def __getattr__(self, name: str) -> Any:
        async def method(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            answer = self.answers.get(name)
            if isinstance(answer, Exception):
                raise answer
            return answer(*args, **kwargs) if callable(answer) else answer

        return method


async def run(line: str, services: Any, *, place: Where = Where.CONTROL_ROOM, role=Role.ADMIN):
    """``line`` as the dispatcher would run it: the command (or subcommand) for the place,
    its arguments parsed, its handler called. Returns what was sent."""
    name, _, rest = line.removeprefix("!").partition(" ")
    gateway = FakeGateway()
    ctx = CommandContext(
        sender=ADMIN,
        room_id="!control:localhost",
        event_id="$cmd",
        locale="fr",
        prefix="!",
        role=role,
        room_kind=place.value,
        registry=REGISTRY,
        services=services,
        gateway=gateway,  # type: ignore[arg-type]
        store=FakeStore(),  # type: ignore[arg-type]
    )
    cmd = REGISTRY.get(name)
    if isinstance(cmd, CommandGroup):
        cmd, _, rest = cmd.resolve(rest)
    if isinstance(cmd, ByPlace):
        cmd = cmd.for_place(place)
    assert cmd is not None and place in cmd.where
    await cmd.handler(ctx, **cmd.parse_args(rest, ctx))
    return [c["body"] for c in gateway.sent]


# --- vetting ------------------------------------------------------------------------------------


def vetting(**answers: Any) -> SimpleNamespace:
    standing = SimpleNamespace(status="approved", approvals=("@a:x", "@b:x"), required=2)
    return SimpleNamespace(
        decisions=Calls(decide=standing, selection=[3, 4], **answers),
        intake=Calls(),
        ledger=Calls(),
        cards=Calls(),
        outcomes=Calls(),
        requests=Calls(),
        config=SimpleNamespace(vetting=SimpleNamespace(approvals_required=2)),
        forget=Calls(forget=2).forget,
    )


async def test_approve_one_request_decides_it_and_says_where_it_stands():
    services = vetting()
    sent = await run("!approve #12 vu au téléphone", services)
    assert services.decisions.calls == [
        ("decide", (12, ADMIN, "approve", "vu au téléphone"), {"without_directory": False})
    ]
    services.decisions.calls.clear()
    await run("!approve #12 --sans-annuaire vu au téléphone", services)
    assert services.decisions.calls == [
        ("decide", (12, ADMIN, "approve", "vu au téléphone"), {"without_directory": True})
    ]
    assert "#12" in sent[0] and "acceptée" in sent[0]


async def test_approve_a_batch_goes_through_the_fixed_selection_with_progress():
    bulk = SimpleNamespace(approved=1, waiting=1, skipped=[(5, "déjà close")])
    services = vetting(approve_many=bulk)
    sent = await run("!approve import:ars-2026 liste vérifiée", services)
    assert services.decisions.calls[0] == ("selection", (None, None, "ars-2026"), {})
    assert services.decisions.calls[1][1][:3] == (ADMIN, [3, 4], "liste vérifiée")
    assert "2" in sent[-1] and "#5 (déjà close)" in sent[-1]


async def test_reject_needs_its_reason_and_a_bad_number_is_named():
    with pytest.raises(BadArgument, match="missing_argument"):
        await run("!reject 12", vetting())
    with pytest.raises(BadArgument, match="bad_argument"):
        await run("!reject douze motif", vetting())


async def test_forget_is_the_services_rule_and_the_answer_counts_what_went():
    services = vetting()
    sent = await run("!forget @someone:localhost", services)
    assert "2" in sent[0] and "@someone:localhost" in sent[0]


async def test_cancel_in_a_direct_chat_cancels_ones_own_request():
    services = vetting()
    services.intake = Calls(cancel=SimpleNamespace(id=7))
    sent = await run("!cancel", services, place=Where.DM, role=Role.ANYONE)
    assert services.intake.calls == [("cancel", ("@admin:localhost",), {})]
    assert "#7" in sent[0]


# --- moderation ---------------------------------------------------------------------------------


def moderation(**answers: Any) -> Calls:
    services = Calls(**answers)
    services.__dict__["revocation"] = Calls(start=True)
    services.__dict__["trust"] = Calls()
    return services


async def test_cancel_in_the_control_room_drops_a_held_rule():
    held = SimpleNamespace(rule=SimpleNamespace(entity="*.evil.example"))
    services = moderation(cancel=held)
    sent = await run("!cancel #3", services)
    assert services.calls == [("cancel", (3, ADMIN), {})] and "*.evil.example" in sent[0]


async def test_policy_ban_held_for_confirmation_says_who_would_go():
    asked = SimpleNamespace(hold=4, users=("@a:evil.example",), removed=0)
    services = moderation(ban=asked)
    sent = await run("!policy ban @spam:evil.example démarchage abusif", services)
    assert services.calls == [("ban", ("@spam:evil.example", "démarchage abusif", ADMIN), {})]
    assert "!confirm 4" in sent[0] and "@a:evil.example" in sent[0]


async def test_policy_without_a_subcommand_lists_and_an_unknown_one_is_refused():
    services = moderation(listing="La liste de la région est vide.")
    assert await run("!policy", services) == ["La liste de la région est vide."]
    group = REGISTRY.get("policy")
    assert isinstance(group, CommandGroup) and group.resolve("expulser x")[0] is None


async def test_revoke_passes_the_flag_and_the_reason_as_typed():
    services = moderation()
    await run("!revoke @m:localhost fin de contrat --deactivate", services)
    assert services.revocation.calls == [
        ("start", ("@m:localhost", "fin de contrat", ADMIN, True), {})
    ]


# --- news ---------------------------------------------------------------------------------------


def news(**answers: Any) -> SimpleNamespace:
    return SimpleNamespace(
        posts=Calls(post=(5, 3)),
        alerts=Calls(post=(9, 4), **answers),
        feeds=Calls(
            add=SimpleNamespace(
                id=2, url="https://ars.example/rss", territory="vaucluse", every=900
            )
        ),
        config=SimpleNamespace(news=SimpleNamespace(first_posts=3)),
    )


async def test_an_alert_takes_its_level_in_french_from_anywhere_in_the_line():
    services = news()
    sent = await run("!alert vaucluse --niveau critique Canicule niveau 4", services)
    assert services.alerts.calls == [
        ("post", (ADMIN, "vaucluse", "critical", "Canicule niveau 4"), {})
    ]
    assert "#9" in sent[0]


async def test_alert_status_is_a_subcommand_and_a_bad_level_is_named():
    services = news(status="ligne d'état")
    assert await run("!alert status #9", services) == ["ligne d'état"]
    with pytest.raises(BadArgument, match="bad_argument"):
        await run("!alert vaucluse --level rouge texte", news())


async def test_feed_add_reads_its_options_and_a_missing_value_is_refused():
    services = news()
    await run("!feed add https://ars.example/rss vaucluse --every 15m --filter canicule", services)
    assert services.feeds.calls == [
        (
            "add",
            (ADMIN, "https://ars.example/rss", "vaucluse", 900.0, "canicule"),
            {"public": False},
        )
    ]
    with pytest.raises(BadArgument, match="option_value"):
        await run("!feed add https://ars.example/rss --every", news())
    with pytest.raises(BadArgument, match="bad_argument"):
        await run("!feed add ftp://ars.example/rss", news())


async def test_news_keeps_its_lines_and_the_public_flag():
    services = news()
    await run("!news vaucluse Titre\nDeuxième ligne --public", services)
    assert services.posts.calls == [
        ("post", (ADMIN, "vaucluse", "Titre\nDeuxième ligne"), {"public": True})
    ]


# --- directory, jobs, network, core ---------------------------------------------------------


async def test_annuaire_searches_what_is_not_a_subcommand():
    entry = SimpleNamespace(
        name="Léa Martin", user_id="@lea:b", profession="sage-femme", territories=("Hérault",),
        region="b",
    )  # fmt: skip
    directory = Calls(search=([entry], []))
    directory.__dict__["members"] = Calls(member_info=SimpleNamespace())
    config = SimpleNamespace(network=SimpleNamespace(walk=lambda: []), admins=(ADMIN,))
    sent = await run(
        "!annuaire sage-femme Hérault",
        SimpleNamespace(directory=directory, config=config),
        place=Where.DM,
        role=Role.ANYONE,
    )
    assert directory.calls[-1][0] == "search" and directory.calls[-1][1][0] == "sage-femme Hérault"
    assert "Léa Martin" in sent[0]


async def test_jobs_retry_and_cancel_go_to_the_scheduler():
    job = SimpleNamespace(kind="vetting.conclude")
    scheduler = Calls(retry_now=job, cancel=job)
    await run("!jobs retry #4", SimpleNamespace(scheduler=scheduler))
    await run("!jobs cancel 5", SimpleNamespace(scheduler=scheduler))
    assert scheduler.calls == [("retry_now", (4, ADMIN), {}), ("cancel", (5, ADMIN), {})]


async def test_reconcile_dry_run_shows_the_plan_only():
    territories = Calls(reconcile=("plan", True))
    assert await run("!reconcile --dry-run", territories) == ["plan"]
    assert territories.calls == [("reconcile", (), {"dry_run": True})]


async def test_reload_names_what_waits_for_a_restart_and_a_bad_file_is_refused():
    class Runtime:
        def __init__(self, answer):
            self.answer = answer

        def reload(self):
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer

    sent = await run("!reload", Runtime(["web.port"]))
    assert "web.port" in sent[0]
    with pytest.raises(BadArgument, match=r"reload\.error"):
        await run("!reload", Runtime(ConfigError("web.port", "a port")))


async def test_a_group_is_made_private_unless_told_open():
    animation = Calls(create_group=SimpleNamespace(name="RGPD", key="vaucluse.rgpd"))
    sent = await run(
        '!group create "RGPD et ROR" --private', animation, place=Where.DM, role=Role.ANIMATOR
    )
    assert animation.calls == [("create_group", (ADMIN, "RGPD et ROR", "private", None), {})]
    assert "vaucluse.rgpd" in sent[0]
    with pytest.raises(UserError):  # neither --open nor --private
        await run("!group create RGPD", animation, place=Where.DM, role=Role.ANIMATOR)


async def test_a_subcommand_may_be_followed_by_a_new_line_and_cancel_takes_ones_number():
    services = news()
    await run("!feed add\nhttps://ars.example/rss vaucluse", services)
    assert services.feeds.calls[0][1][1:3] == ("https://ars.example/rss", "vaucluse")
    services = vetting()
    services.intake = Calls(cancel=SimpleNamespace(id=12))
    sent = await run("!cancel #12", services, place=Where.DM, role=Role.ANYONE)
    assert "#12" in sent[0]
