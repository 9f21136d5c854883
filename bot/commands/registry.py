"""The command registry: one decorator, typed arguments that parse themselves, generated usage.

```python
@command("approve", role=Role.ADMIN, where=Where.CONTROL_ROOM,
         help="cmd.approve.help", usage_names={"request": "demande"})
async def approve(ctx: CommandContext, request: RequestId, note: Rest = "") -> None: ...
```
"""

from __future__ import annotations

import difflib
import enum
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, get_args, get_type_hints

from bot.errors import BadArgument, UserError
from bot.i18n import t
from bot.matrix.ids import USER_ID_RE

if TYPE_CHECKING:
    from bot.commands.context import CommandContext


class Role(enum.IntEnum):
    ANYONE = 0
    MEMBER = 1
    MANAGER = 2  # the manager of a managerial room (names their team)
    ANIMATOR = 3
    ADMIN = 4

    @property
    def privileged(self) -> bool:
        """Acting for others: counts only from a verified device (``bot.moderation.trust``)."""
        return self >= Role.MANAGER

    @property
    def label_key(self) -> str:
        return f"role.{self.name.lower()}"


class Where(enum.Enum):
    CONTROL_ROOM = "control"
    DM = "dm"
    MANAGED_ROOM = "managed"


ANYWHERE = frozenset(Where)


# --- argument types ---------------------------------------------------------------------------


class Arg:
    """An argument type. ``parse`` turns one token into a value or raises ``BadArgument``."""

    metavar: ClassVar[str] = "meta.value"  # a message id: usage lines are translated
    greedy: ClassVar[bool] = False  # takes the rest of the line, as typed

    @classmethod
    def parse(cls, raw: str, ctx: CommandContext) -> Any:
        return raw


class Word(str, Arg):
    metavar = "meta.word"


class Rest(str, Arg):
    """Everything after the previous arguments, as typed (quotes kept)."""

    metavar = "meta.text"
    greedy = True


class Integer(int, Arg):
    metavar = "meta.number"

    @classmethod
    def parse(cls, raw: str, ctx: CommandContext) -> int:
        if not re.fullmatch(r"-?\d{1,12}", raw):
            raise BadArgument("arg.integer", value=raw)
        return int(raw)


class UserId(str, Arg):
    metavar = "meta.user"

    @classmethod
    def parse(cls, raw: str, ctx: CommandContext) -> str:
        if not USER_ID_RE.match(raw):
            raise BadArgument("arg.user_id", value=raw)
        return raw


class RequestId(int, Arg):
    """A join request's number, typed `12` or `#12`."""

    metavar = "meta.request"

    @classmethod
    def parse(cls, raw: str, ctx: CommandContext) -> int:
        if not re.fullmatch(r"#?\d{1,9}", raw):
            raise BadArgument("arg.request_id", value=raw)
        return int(raw.lstrip("#"))


@dataclass(frozen=True)
class Selection:
    """One request (``first`` == ``last``), a range of them, or an import batch."""

    first: int | None = None
    last: int | None = None
    batch: str | None = None

    @property
    def single(self) -> int | None:
        return self.first if self.batch is None and self.first == self.last else None


class RequestSelection(str, Arg):
    """`12`, `#12`, a range `12-340` or an import batch `import:<name>`."""

    metavar = "meta.request_selection"

    @classmethod
    def parse(cls, raw: str, ctx: CommandContext) -> Selection:
        if raw.lower().startswith("import:") and re.fullmatch(r"[\w.-]{1,64}", raw[7:]):
            return Selection(batch=raw[7:])
        single = re.fullmatch(r"#?(\d{1,9})", raw)
        if single:
            return Selection(int(single[1]), int(single[1]))
        span = re.fullmatch(r"#?(\d{1,9})-#?(\d{1,9})", raw)
        if span and int(span[1]) <= int(span[2]):
            return Selection(int(span[1]), int(span[2]))
        raise BadArgument("arg.request_selection", value=raw)


class CommandName(str, Arg):
    metavar = "meta.command"

    @classmethod
    def parse(cls, raw: str, ctx: CommandContext) -> str:
        name = raw.lstrip(ctx.prefix).lower()
        if ctx.registry.get(name) is None:
            raise BadArgument("arg.command", value=raw)
        return name


# --- tokenizer ---------------------------------------------------------------------------------

QUOTES = {'"': '"', "«": "»", "“": "”"}


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # offset in the argument string, for greedy arguments


def tokenize(text: str) -> list[Token]:
    """Split on white space; double (or French « ») quotes group words. Apostrophes are
    ordinary letters (l'équipe), unlike in shell syntax."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        if text[i] in QUOTES:
            close = text.find(QUOTES[text[i]], i + 1)
            if close < 0:
                raise UserError("error.unclosed_quote")
            tokens.append(Token(text[i + 1 : close], start))
            i = close + 1
            continue
        while i < n and not text[i].isspace():
            i += 1
        tokens.append(Token(text[start:i], start))
    return tokens


# --- commands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    type: type[Arg] | type[bool]
    default: Any
    required: bool

    @property
    def is_flag(self) -> bool:
        return self.type is bool

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


Handler = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    role: Role
    where: frozenset[Where]
    help: str  # message id
    params: tuple[Param, ...]
    aliases: tuple[str, ...] = ()
    metavars: dict[str, str] = field(default_factory=dict)

    def usage(self, prefix: str, locale: str) -> str:
        parts = [prefix + self.name]
        for p in self.params:
            if p.is_flag:
                parts.append(f"[{p.flag}]")
                continue
            meta = t(self.metavars.get(p.name) or p.type.metavar, locale)  # type: ignore[union-attr]
            parts.append(f"<{meta}>" if p.required else f"[{meta}]")
        return " ".join(parts)

    def parse_args(self, text: str, ctx: CommandContext) -> dict[str, Any]:
        usage = self.usage(ctx.prefix, ctx.locale)
        tokens = tokenize(text)
        values: dict[str, Any] = {}
        flags = {p.flag: p for p in self.params if p.is_flag}
        positional = [p for p in self.params if not p.is_flag]
        remaining: list[Token] = []
        for tok in tokens:
            if tok.text in flags and text[tok.start] != '"':
                values[flags[tok.text].name] = True
            else:
                remaining.append(tok)
        for p in flags.values():
            values.setdefault(p.name, False)
        idx = 0
        for p in positional:
            if p.type.greedy:  # type: ignore[union-attr]
                if idx < len(remaining):
                    rest = text[remaining[idx].start :]
                    for flag in flags:  # flags were consumed above; drop them from the text
                        rest = re.sub(rf"(^|\s){re.escape(flag)}(?=\s|$)", " ", rest)
                    values[p.name] = rest.strip()
                    idx = len(remaining)
                elif p.required:
                    raise BadArgument("error.missing_argument", name=p.name, usage=usage)
                else:
                    values[p.name] = p.default
                continue
            if idx >= len(remaining):
                if p.required:
                    meta = t(
                        self.metavars.get(p.name) or p.type.metavar,  # type: ignore[union-attr]
                        ctx.locale,
                    )
                    raise BadArgument("error.missing_argument", name=meta, usage=usage)
                values[p.name] = p.default
                continue
            try:
                values[p.name] = p.type.parse(remaining[idx].text, ctx)  # type: ignore[union-attr]
            except BadArgument as exc:
                raise BadArgument(
                    "error.bad_argument", detail=exc.render(ctx.locale), usage=usage
                ) from None
            idx += 1
        if idx < len(remaining):
            raise BadArgument("error.too_many_arguments", usage=usage)
        return values


@dataclass
class CommandGroup:
    """A command with subcommands (``!group create|invite|list…``): each subcommand is a
    ``Command`` of its own, with its own role, places, help and usage."""

    name: str
    help: str  # message id
    aliases: tuple[str, ...] = ()
    subcommands: dict[str, Command] = field(default_factory=dict)
    sub_aliases: dict[str, str] = field(default_factory=dict)
    # The subcommand run when none is typed (``!jobs`` lists), if any.
    default: str | None = None

    def get(self, sub: str) -> Command | None:
        sub = sub.lower()
        return self.subcommands.get(self.sub_aliases.get(sub, sub))

    @property
    def role(self) -> Role:
        return min(c.role for c in self.subcommands.values())

    def choices(self) -> str:
        return ", ".join(sorted(self.subcommands))


def _unwrap_optional(typ: Any) -> Any:
    args = [a for a in get_args(typ) if a is not type(None)]
    return args[0] if len(args) == 1 else typ


class Registry:
    def __init__(self) -> None:
        self._commands: dict[str, Command | CommandGroup] = {}
        self._aliases: dict[str, str] = {}

    def __iter__(self):
        """Every command, subcommands one by one (``group create``), by name."""
        flat: list[Command] = []
        for entry in self._commands.values():
            if isinstance(entry, CommandGroup):
                flat.extend(entry.subcommands.values())
            else:
                flat.append(entry)
        return iter(sorted(flat, key=lambda c: c.name))

    def get(self, name: str) -> Command | CommandGroup | None:
        name = name.lower()
        return self._commands.get(self._aliases.get(name, name))

    def group(
        self,
        name: str,
        *,
        help: str,
        aliases: tuple[str, ...] = (),
        default: str | None = None,
    ) -> CommandGroup:
        """Declare a command with subcommands (then ``command(name, sub=…)`` each of them);
        ``default``: the one the bare command runs."""
        for key in (name, *aliases):
            if key in self._commands or key in self._aliases:
                raise ValueError(f"command {key!r} registered twice")
        made = CommandGroup(name, help, aliases, default=default)
        self._commands[name] = made
        for alias in aliases:
            self._aliases[alias] = name
        return made

    def suggest(self, name: str) -> str | None:
        names = list(self._commands) + list(self._aliases)
        close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.6)
        if not close:
            return None
        return self._aliases.get(close[0], close[0])

    def add(self, cmd: Command) -> None:
        for key in (cmd.name, *cmd.aliases):
            if key in self._commands or key in self._aliases:
                raise ValueError(f"command {key!r} registered twice")
        self._commands[cmd.name] = cmd
        for alias in cmd.aliases:
            self._aliases[alias] = cmd.name

    def command(
        self,
        name: str,
        *,
        role: Role = Role.ANYONE,
        where: Where | frozenset[Where] | tuple[Where, ...] = ANYWHERE,
        help: str,
        aliases: tuple[str, ...] = (),
        metavars: dict[str, str] | None = None,
        sub: str | None = None,
    ) -> Callable[[Handler], Handler]:
        """``sub``: a subcommand of the group ``name`` (declared with ``group``); its
        ``aliases`` are then other words for the subcommand."""

        def register(fn: Handler) -> Handler:
            hints = get_type_hints(fn)
            params = []
            for p in list(inspect.signature(fn).parameters.values())[1:]:
                typ = _unwrap_optional(hints.get(p.name, Word))
                if typ is not bool and not (isinstance(typ, type) and issubclass(typ, Arg)):
                    raise TypeError(f"{fn.__name__}.{p.name}: annotate with an Arg type or bool")
                required = p.default is inspect.Parameter.empty and typ is not bool
                default = (
                    False
                    if typ is bool and p.default is inspect.Parameter.empty
                    else (None if p.default is inspect.Parameter.empty else p.default)
                )
                params.append(Param(p.name, typ, default, required))
            places = frozenset([where]) if isinstance(where, Where) else frozenset(where)
            if sub is None:
                self.add(
                    Command(
                        name, fn, role, places, help, tuple(params), aliases, dict(metavars or {})
                    )
                )
                return fn
            parent = self._commands.get(name)
            if not isinstance(parent, CommandGroup):
                raise ValueError(f"declare the group {name!r} before its subcommand {sub!r}")
            for key in (sub, *aliases):
                if key in parent.subcommands or key in parent.sub_aliases:
                    raise ValueError(f"subcommand {name} {key!r} registered twice")
            parent.subcommands[sub] = Command(
                f"{name} {sub}", fn, role, places, help, tuple(params), (), dict(metavars or {})
            )
            for alias in aliases:
                parent.sub_aliases[alias] = sub
            return fn

        return register

    def help_text(self, locale: str, prefix: str, role: Role) -> str:
        lines = [t("help.title", locale)]
        for cmd in self:
            if cmd.role <= role:
                lines.append(f"• {cmd.usage(prefix, locale)} — {t(cmd.help, locale)}")
        lines.append(t("help.footer", locale, prefix=prefix))
        return "\n".join(lines)

    def describe(self, name: str, locale: str, prefix: str) -> str:
        cmd = self.get(name)
        assert cmd is not None
        if isinstance(cmd, CommandGroup):
            lines = [f"{prefix}{cmd.name} — {t(cmd.help, locale)}"]
            for subcommand in sorted(cmd.subcommands.values(), key=lambda c: c.name):
                lines.append(
                    f"• {subcommand.usage(prefix, locale)} — {t(subcommand.help, locale)} "
                    f"({t(subcommand.role.label_key, locale)})"
                )
            return "\n".join(lines)
        wheres = ", ".join(
            t(f"where.{w.value}", locale) for w in sorted(cmd.where, key=lambda w: w.value)
        )
        return "\n".join(
            [
                f"{prefix}{cmd.name} — {t(cmd.help, locale)}",
                t("help.usage", locale, usage=cmd.usage(prefix, locale)),
                t("help.role", locale, role=t(cmd.role.label_key, locale)),
                t("help.where", locale, where=wheres),
            ]
        )


def markdown_reference(reg: Registry, prefix: str = "!") -> str:
    """The command reference for the README, generated from the registry (French, English)."""
    lines = [
        "| commande / command | qui / who | où / where | description |",
        "| --- | --- | --- | --- |",
    ]
    for cmd in reg:
        where = ", ".join(
            t(f"where.{w.value}", "fr") for w in sorted(cmd.where, key=lambda w: w.value)
        )
        lines.append(
            f"| `{cmd.usage(prefix, 'fr')}` | {t(cmd.role.label_key, 'fr')} | {where} "
            f"| {t(cmd.help, 'fr')} / {t(cmd.help, 'en')} |"
        )
    return "\n".join(lines)


# The registry of the running bot; command modules register into it on import.
registry = Registry()
command = registry.command
command_group = registry.group
