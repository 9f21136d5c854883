"""The command framework without a server: tokenizer, typed arguments, usage, permissions."""

import asyncio
from types import SimpleNamespace

import pytest

from bot.commands.registry import ANYWHERE, Integer, Registry, Rest, Role, UserId, Where, tokenize
from bot.errors import BadArgument, UserError


def ctx(registry, locale="fr"):
    return SimpleNamespace(prefix="!", locale=locale, registry=registry)


def test_tokenizer_keeps_apostrophes_and_groups_quotes():
    assert [t.text for t in tokenize('add "Cabinet des Lices" l\'équipe «Sud Est»')] == [
        "add",
        "Cabinet des Lices",
        "l'équipe",
        "Sud Est",
    ]
    with pytest.raises(UserError):
        tokenize('"not closed')


def make_registry():
    reg = Registry()

    @reg.command(
        "approve",
        role=Role.ADMIN,
        where=Where.CONTROL_ROOM,
        help="cmd.ping.help",
        metavars={"request": "demande"},
    )
    async def approve(ctx, request: Integer, note: Rest = "", dry_run: bool = False):
        pass

    @reg.command("invite", where=ANYWHERE, help="cmd.ping.help")
    async def invite(ctx, user: UserId):
        pass

    return reg


def test_usage_is_generated_from_the_signature():
    reg = make_registry()
    assert reg.get("approve").usage("!", "fr") == "!approve <demande> [texte] [--dry-run]"
    assert reg.get("invite").usage("!", "fr") == "!invite <@utilisateur:serveur>"
    assert reg.get("invite").usage("!", "en") == "!invite <@user:server>"


def test_typed_arguments_parse_themselves():
    reg = make_registry()
    args = reg.get("approve").parse_args("12 vu au téléphone --dry-run", ctx(reg))
    assert args == {"request": 12, "note": "vu au téléphone", "dry_run": True}
    assert reg.get("approve").parse_args("7", ctx(reg)) == {
        "request": 7,
        "note": "",
        "dry_run": False,
    }


def test_bad_argument_answers_with_the_usage_line_in_french():
    reg = make_registry()
    with pytest.raises(BadArgument) as err:
        reg.get("approve").parse_args("douze", ctx(reg))
    text = err.value.render("fr")
    assert "« douze » n'est pas un nombre entier" in text
    assert "Usage : !approve <demande> [texte] [--dry-run]" in text
    with pytest.raises(BadArgument) as err:
        reg.get("invite").parse_args("bob", ctx(reg, "en"))
    assert err.value.render("en") == (
        "Invalid argument: 'bob' is not a Matrix user id "
        "(e.g. @name:server)\nUsage: !invite <@user:server>"
    )


def test_missing_and_extra_arguments():
    reg = make_registry()
    with pytest.raises(BadArgument, match="missing_argument"):
        reg.get("approve").parse_args("", ctx(reg))
    with pytest.raises(BadArgument, match="too_many_arguments"):
        reg.get("invite").parse_args("@a:b @c:d", ctx(reg))


def test_closest_command_is_suggested():
    reg = make_registry()
    assert reg.suggest("aprove") == "approve"
    assert reg.suggest("zzz") is None


def test_help_lists_only_what_the_role_may_use():
    reg = make_registry()
    assert "!approve" not in reg.help_text("fr", "!", Role.ANYONE)
    assert "!approve" in reg.help_text("fr", "!", Role.ADMIN)


def test_a_command_name_cannot_be_registered_twice():
    reg = make_registry()
    with pytest.raises(ValueError):

        @reg.command("invite", help="cmd.ping.help")
        async def again(ctx):
            pass


async def test_a_long_command_shows_the_bot_typing_and_a_quick_one_sends_nothing(monkeypatch):
    import asyncio

    from bot.commands import dispatcher

    class Recorder:  # what the gateway was asked, nothing more
        def __init__(self) -> None:
            self.calls: list[tuple[str, bool]] = []

        async def typing(self, room_id: str, on: bool, timeout_ms: int = 30_000) -> None:
            self.calls.append((room_id, on))

    monkeypatch.setattr(dispatcher, "TYPING_AFTER", 0.05)
    quick = Recorder()
    async with dispatcher.typing_while_long(quick, "!r:x"):  # type: ignore[arg-type]
        pass
    assert quick.calls == []
    slow = Recorder()
    async with dispatcher.typing_while_long(slow, "!r:x"):  # type: ignore[arg-type]
        await asyncio.sleep(0.2)
    assert slow.calls == [("!r:x", True), ("!r:x", False)]


def test_every_command_with_arguments_shows_an_example_that_parses():
    """`!help` gives each command that takes arguments an example; each one is a valid use."""
    from bot.commands import load_commands

    registry = load_commands()
    ctx = SimpleNamespace(prefix="!", locale="fr", registry=registry)
    for cmd in registry:
        needs = any(p.required and not p.option and not p.is_flag for p in cmd.params)
        example = cmd.example("!", "sud.example")
        if not needs:
            continue
        assert example, f"!{cmd.name}: no example in its help"
        assert example.startswith(f"!{cmd.name} ")
        cmd.parse_args(example.removeprefix(f"!{cmd.name} "), ctx)  # raises if not valid


async def test_a_stopping_dispatcher_sends_no_reaction_nor_receipt_after_it():
    from types import SimpleNamespace

    from bot.commands.dispatcher import Dispatcher
    from bot.commands.registry import Registry

    sent: list[tuple[str, str]] = []

    async def read_receipt(room_id: str, event_id: str) -> None:
        sent.append((room_id, event_id))

    async def react(room_id: str, event_id: str, key: str, *, txn: str | None = None) -> str:
        sent.append((room_id, key))
        return "$r"

    gateway = SimpleNamespace(read_receipt=read_receipt, react=react)
    config = SimpleNamespace(commands=SimpleNamespace(reaction_delay=1.0))
    dispatcher = Dispatcher(
        lambda: config,  # type: ignore[arg-type, return-value]
        Registry(),
        gateway,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        {},
        converse=None,  # type: ignore[arg-type]
        tell=None,  # type: ignore[arg-type]
    )
    dispatcher.reactions.owe("!a", "$1", "✅")  # due a second later: the session closed by then
    await asyncio.sleep(0)  # waiting
    await dispatcher.stop()
    await asyncio.sleep(0)
    assert sent == [] and not dispatcher._background
    assert dispatcher.reactions._owed == {}  # nothing left to send by a later start's owe


async def test_conversation_turns_run_beside_other_peoples_and_commands_alone_in_order():
    from types import SimpleNamespace

    from bot.commands.dispatcher import TURNS_AT_ONCE, Dispatcher
    from bot.commands.registry import Registry
    from bot.store import InboxRow

    async def room_kind(room_id: str) -> str:
        return "dm" if room_id.startswith("!dm") else "control"

    config = SimpleNamespace(commands=SimpleNamespace(prefix="!"))
    dispatcher = Dispatcher(
        lambda: config,  # type: ignore[arg-type, return-value]
        Registry(),
        SimpleNamespace(read_receipt=None, react=None),  # type: ignore[arg-type]
        SimpleNamespace(room_kind=room_kind),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        {},
        converse=None,  # type: ignore[arg-type]
        tell=None,  # type: ignore[arg-type]
    )
    log: list[str] = []
    running: set[str] = set()
    most = 0

    async def handle(row: InboxRow) -> str:
        nonlocal most
        running.add(row.event_id)
        most = max(most, len(running))
        log.append(f"+{row.event_id}")
        await asyncio.sleep(0.02 if row.event_id != "$a1" else 0.05)
        log.append(f"-{row.event_id}")
        running.discard(row.event_id)
        return "ok"

    dispatcher.handle = handle  # type: ignore[method-assign]

    def row(event_id: str, sender: str, room: str, body: str) -> InboxRow:
        return InboxRow(event_id, room, sender, body, True, 0)

    many = [row(f"$m{n}", f"@m{n}:a", f"!dm-m{n}", "2") for n in range(TURNS_AT_ONCE + 4)]
    await dispatcher._in_order(
        [
            row("$a1", "@a:a", "!dm-a", "1"),  # Alice's answer, then her next one
            row("$b1", "@b:a", "!dm-b", "3"),  # Bob's, beside hers
            row("$a2", "@a:a", "!dm-a", "Lourde"),
            row("$c", "@admin:a", "!control", "!approve 3"),  # a command: alone
            row("$a3", "@a:a", "!dm-a", "!sondage reprendre"),  # a command in a direct chat
            row("$a4", "@a:a", "!dm-a", "1"),
            *many,
        ]
    )
    at = {entry: n for n, entry in enumerate(log)}
    assert at["+$b1"] < at["-$a1"]  # side by side
    assert at["-$a1"] < at["+$a2"]  # one person's in their order
    last_turn = max(at["-$a1"], at["-$a2"], at["-$b1"])
    assert last_turn < at["+$c"] and at["-$c"] < at["+$a3"] < at["-$a3"] < at["+$a4"]
    assert all(at["-$a3"] < at[f"+$m{n}"] for n in range(len(many)))  # after the commands
    assert most == TURNS_AT_ONCE  # no more at once than that
    assert len(log) == 2 * (6 + len(many))  # each handled, once
