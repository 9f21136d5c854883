"""The command registry: one decorator, typed arguments that parse themselves, generated usage.

```python
@command("approve", role=Role.ADMIN, where=Where.CONTROL_ROOM,
         help="cmd.approve.help", usage_names={"request": "demande"})
async def approve(ctx: CommandContext, request: RequestId, note: Rest = "") -> None: ...
```
"""

from __future__ import annotations

import builtins
import difflib
import enum
import inspect
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Protocol, get_args, get_origin, get_type_hints

from bot.durations import parse_duration
from bot.errors import BadArgument, UserError
from bot.i18n import t
from bot.matrix.ids import USER_ID_RE
from bot.matrix.markup import Markdown, escape


class Parsing(Protocol):
    """What an argument needs to parse itself (a command's context has it)."""

    prefix: str
    locale: str
    registry: Registry


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
    # A room a peer region owns and shares with this one: this bot answers its own people
    # there, for the commands that say so (``bot.commands.evolutions``).
    SHARED_ROOM = "shared"


ANYWHERE = frozenset({Where.CONTROL_ROOM, Where.DM, Where.MANAGED_ROOM})


# --- argument types ---------------------------------------------------------------------------


class Arg:
    """How an argument parses itself: ``parse`` turns one token into a value or raises
    ``BadArgument``. A handler names it in ``Annotated[<value type>, <Arg>]``, through the
    aliases below (``note: Rest = ""``: a ``str`` to the type checker, read by ``RestArg``)."""

    metavar: ClassVar[str] = "meta.value"  # a message id: usage lines are translated
    greedy: ClassVar[bool] = False  # takes the rest of the line, as typed

    @classmethod
    def sample(cls, server: str) -> str | None:
        """A value to show in an example (None: no example says more than the usage)."""
        return None

    @classmethod
    def parse(cls, raw: str, ctx: Parsing) -> Any:
        return raw


class WordArg(Arg):
    metavar = "meta.word"


Word = Annotated[str, WordArg]


class RestArg(Arg):
    """Everything after the previous arguments, as typed (quotes kept)."""

    metavar = "meta.text"
    greedy = True


Rest = Annotated[str, RestArg]


class IntegerArg(Arg):
    metavar = "meta.number"

    @classmethod
    def parse(cls, raw: str, ctx: Parsing) -> int:
        if not re.fullmatch(r"-?\d{1,12}", raw):
            raise BadArgument("arg.integer", value=raw)
        return int(raw)


Integer = Annotated[int, IntegerArg]


class UserIdArg(Arg):
    metavar = "meta.user"

    @classmethod
    def sample(cls, server: str) -> str | None:
        return f"@dr.martin:{server}"

    @classmethod
    def parse(cls, raw: str, ctx: Parsing) -> str:
        if not USER_ID_RE.match(raw):
            raise BadArgument("arg.user_id", value=raw)
        return raw


UserId = Annotated[str, UserIdArg]


class NumberArg(Arg):
    """A number as people refer to one (a job, a feed, an alert): `12` or `#12`."""

    metavar = "meta.number"
    refusal: ClassVar[str] = "arg.integer"
    digits: ClassVar[int] = 12

    @classmethod
    def sample(cls, server: str) -> str | None:
        return "12"

    @classmethod
    def parse(cls, raw: str, ctx: Parsing) -> int:
        if not re.fullmatch(rf"#?\d{{1,{cls.digits}}}", raw):
            raise BadArgument(cls.refusal, value=raw)
        return int(raw.lstrip("#"))


Number = Annotated[int, NumberArg]


class DurationArg(Arg):
    """`15m`, `2h`, `1h30m`, `90s`, `1d`, or seconds: a number of seconds."""

    metavar = "meta.duration"

    @classmethod
    def sample(cls, server: str) -> str | None:
        return "2h"

    @classmethod
    def parse(cls, raw: str, ctx: Parsing) -> float:
        try:
            return parse_duration(raw)
        except ValueError:
            raise BadArgument("arg.duration", value=raw) from None


Duration = Annotated[float, DurationArg]


class RequestIdArg(NumberArg):
    """A join request's number, typed `12` or `#12`."""

    metavar = "meta.request"
    refusal = "arg.request_id"
    digits = 9


RequestId = Annotated[int, RequestIdArg]


@dataclass(frozen=True)
class Selection:
    """One request (``first`` == ``last``), a range of them, or an import batch."""

    first: int | None = None
    last: int | None = None
    batch: str | None = None

    @property
    def single(self) -> int | None:
        return self.first if self.batch is None and self.first == self.last else None


class RequestSelectionArg(Arg):
    """`12`, `#12`, a range `12-340` or an import batch `import:<name>`."""

    metavar = "meta.request_selection"

    @classmethod
    def sample(cls, server: str) -> str | None:
        return "12"

    @classmethod
    def parse(cls, raw: str, ctx: Parsing) -> Selection:
        if raw.lower().startswith("import:") and re.fullmatch(r"[\w.-]{1,64}", raw[7:]):
            return Selection(batch=raw[7:])
        single = re.fullmatch(r"#?(\d{1,9})", raw)
        if single:
            return Selection(int(single[1]), int(single[1]))
        span = re.fullmatch(r"#?(\d{1,9})-#?(\d{1,9})", raw)
        if span and int(span[1]) <= int(span[2]):
            return Selection(int(span[1]), int(span[2]))
        raise BadArgument("arg.request_selection", value=raw)


RequestSelection = Annotated[Selection, RequestSelectionArg]


class CommandNameArg(Arg):
    metavar = "meta.command"

    @classmethod
    def parse(cls, raw: str, ctx: Parsing) -> str:
        name = raw.lstrip(ctx.prefix).lower()
        if ctx.registry.get(name) is None:
            raise BadArgument("arg.command", value=raw)
        return name


CommandName = Annotated[str, CommandNameArg]


# --- tokenizer ---------------------------------------------------------------------------------

QUOTES = {'"': '"', "«": "»", "“": "”"}


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # offsets in the argument string, for greedy arguments
    end: int
    quoted: bool = False


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
            tokens.append(Token(text[i + 1 : close], start, close + 1, quoted=True))
            i = close + 1
            continue
        while i < n and not text[i].isspace():
            i += 1
        tokens.append(Token(text[start:i], start, i))
    return tokens


# --- commands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    type: type[Arg] | type[bool]
    default: Any
    required: bool
    # Keyword-only in the handler: typed as ``--name value`` (a bool: ``--name`` alone).
    option: bool = False
    aliases: tuple[str, ...] = ()  # other words for the option (``--niveau`` for ``--level``)

    @property
    def is_flag(self) -> bool:
        return self.type is bool

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.flag, *("--" + a for a in self.aliases))

    # builtins.type: in this class's body, ``type`` is the field above.
    @property
    def arg(self) -> builtins.type[Arg]:
        """How the value is read (a positional parameter's or an option's: a flag has none)."""
        assert issubclass(self.type, Arg), f"{self.flag} is a flag"
        return self.type


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
    sample: str | None = None  # its arguments in an example, as written (``help``)

    def _meta(self, p: Param, locale: str) -> str:
        return t(self.metavars.get(p.name) or p.arg.metavar, locale)

    def example(self, prefix: str, server: str = "") -> str | None:
        """The command with its declared example arguments, else a sample value for each
        required argument when each has one (numbers, people, durations); None otherwise."""
        if self.sample:
            server = server or "sud.example"
            return f"{prefix}{self.name} {self.sample.replace('{server}', server)}"
        parts = [prefix + self.name]
        for p in self.params:
            if not p.required or p.option or p.is_flag:
                continue
            sample = p.arg.sample(server or "sud.example")
            if sample is None:
                return None
            parts.append(sample)
        return " ".join(parts) if len(parts) > 1 else None

    def usage(self, prefix: str, locale: str) -> str:
        parts = [prefix + self.name]
        for p in self.params:
            if p.is_flag:
                parts.append(f"[{p.flag}]")
            elif p.option:
                parts.append(f"[{p.flag} <{self._meta(p, locale)}>]")
            else:
                meta = self._meta(p, locale)
                parts.append(f"<{meta}>" if p.required else f"[{meta}]")
        return " ".join(parts)

    def parse_args(self, text: str, ctx: Parsing) -> dict[str, Any]:
        usage = self.usage(ctx.prefix, ctx.locale)
        tokens = tokenize(text)
        values: dict[str, Any] = {}
        named = {s: p for p in self.params if p.is_flag or p.option for s in p.spellings}
        positional = [p for p in self.params if not (p.is_flag or p.option)]
        remaining: list[Token] = []
        taken: list[tuple[int, int]] = []  # spans of flags and options, cut from greedy text
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            p = None if tok.quoted else named.get(tok.text)
            if p is None:
                remaining.append(tok)
                i += 1
                continue
            if p.is_flag:
                values[p.name] = True
                taken.append((tok.start, tok.end))
                i += 1
                continue
            if i + 1 >= len(tokens):
                raise BadArgument("error.option_value", option=tok.text, usage=usage)
            values[p.name] = self._parse(p, tokens[i + 1].text, ctx, usage)
            taken.append((tok.start, tokens[i + 1].end))
            i += 2
        for p in self.params:
            if p.is_flag or p.option:
                values.setdefault(p.name, False if p.is_flag else p.default)
        idx = 0
        for p in positional:
            if p.arg.greedy:
                if idx < len(remaining):
                    start = remaining[idx].start
                    values[p.name] = "".join(
                        ch
                        for k, ch in enumerate(text)
                        if k >= start and not any(a <= k < b for a, b in taken)
                    ).strip()
                    idx = len(remaining)
                elif p.required:
                    raise BadArgument("error.missing_argument", name=p.name, usage=usage)
                else:
                    values[p.name] = p.default
                continue
            if idx >= len(remaining):
                if p.required:
                    raise BadArgument(
                        "error.missing_argument", name=self._meta(p, ctx.locale), usage=usage
                    )
                values[p.name] = p.default
                continue
            values[p.name] = self._parse(p, remaining[idx].text, ctx, usage)
            idx += 1
        if idx < len(remaining):
            raise BadArgument("error.too_many_arguments", usage=usage)
        return values

    @staticmethod
    def _parse(p: Param, raw: str, ctx: Parsing, usage: str) -> Any:
        try:
            return p.arg.parse(raw, ctx)
        except BadArgument as exc:
            raise BadArgument(
                "error.bad_argument", detail=exc.render(ctx.locale), usage=usage
            ) from None


@dataclass
class ByPlace:
    """One command name with a handler per place (``!cancel``: a request in a direct chat,
    a held ban rule in the control room)."""

    name: str
    variants: list[Command] = field(default_factory=list)

    def for_place(self, place: Where) -> Command:
        return next((c for c in self.variants if place in c.where), self.variants[0])

    @property
    def role(self) -> Role:
        return min(c.role for c in self.variants)


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
    # The subcommand that takes a line whose first word is no subcommand (``!annuaire
    # dupont`` searches), if any.
    fallback: str | None = None

    def get(self, sub: str) -> Command | None:
        sub = sub.lower()
        return self.subcommands.get(self.sub_aliases.get(sub, sub))

    def resolve(self, text: str) -> tuple[Command | None, str, str]:
        """(the subcommand a line asks for, its first word, the rest of the line for the
        subcommand's arguments)."""
        # Split on any white space: `!feed add` then the URL on a new line is the same.
        parts = text.split(None, 1)
        word, rest = (parts[0], parts[1] if len(parts) > 1 else "") if parts else ("", "")
        if not word:
            return (self.get(self.default) if self.default else None), "", ""
        sub = self.get(word)
        if sub is None and self.fallback:
            return self.get(self.fallback), word, text.strip()
        return sub, word, rest

    @property
    def role(self) -> Role:
        return min(c.role for c in self.subcommands.values())

    def choices(self) -> str:
        return ", ".join(sorted(self.subcommands))


def _unwrap_optional(typ: Any) -> Any:
    args = [a for a in get_args(typ) if a is not type(None)]
    return args[0] if len(args) == 1 else typ


def _arg_of(hint: Any) -> type[Arg] | type[bool] | None:
    """bool (a flag), the Arg an ``Annotated[<value type>, <Arg>]`` hint names, or None."""
    if hint is bool:
        return bool
    if get_origin(hint) is not Annotated:
        return None
    return next((m for m in hint.__metadata__ if isinstance(m, type) and issubclass(m, Arg)), None)


class Registry:
    def __init__(self) -> None:
        self._commands: dict[str, Command | CommandGroup | ByPlace] = {}
        self._aliases: dict[str, str] = {}

    def __iter__(self) -> Iterator[Command]:
        """Every command, subcommands one by one (``group create``), by name."""
        flat: list[Command] = []
        for entry in self._commands.values():
            if isinstance(entry, CommandGroup):
                flat.extend(entry.subcommands.values())
            elif isinstance(entry, ByPlace):
                flat.extend(entry.variants)
            else:
                flat.append(entry)
        return iter(sorted(flat, key=lambda c: c.name))

    def get(self, name: str) -> Command | CommandGroup | ByPlace | None:
        name = name.lower()
        return self._commands.get(self._aliases.get(name, name))

    def group(
        self,
        name: str,
        *,
        help: str,
        aliases: tuple[str, ...] = (),
        default: str | None = None,
        fallback: str | None = None,
    ) -> CommandGroup:
        """Declare a command with subcommands (then ``command(name, sub=…)`` each of them);
        ``default``: the one the bare command runs; ``fallback``: the one that takes a line
        whose first word is no subcommand."""
        for key in (name, *aliases):
            if key in self._commands or key in self._aliases:
                raise ValueError(f"command {key!r} registered twice")
        made = CommandGroup(name, help, aliases, default=default, fallback=fallback)
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
        """A command; one of the same name (and aliases) for other places becomes a variant
        of it (``ByPlace``)."""
        earlier = self._commands.get(cmd.name)
        if isinstance(earlier, Command | ByPlace):
            variants = earlier.variants if isinstance(earlier, ByPlace) else [earlier]
            if any(c.where & cmd.where or c.aliases != cmd.aliases for c in variants):
                raise ValueError(f"command {cmd.name!r} registered twice for one place")
            self._commands[cmd.name] = ByPlace(cmd.name, [*variants, cmd])
            return
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
        options: dict[str, tuple[str, ...]] | None = None,
        sub: str | None = None,
        example: str | None = None,
    ) -> Callable[[Handler], Handler]:
        """``sub``: a subcommand of the group ``name`` (declared with ``group``); its
        ``aliases`` are then other words for the subcommand. A keyword-only parameter is an
        option (``--every 15m``), a bool one a flag; ``options`` names other words for them
        (``{"level": ("niveau",)}``)."""

        def register(fn: Handler) -> Handler:
            hints = get_type_hints(fn, include_extras=True)
            params = []
            for p in list(inspect.signature(fn).parameters.values())[1:]:
                typ = _arg_of(_unwrap_optional(hints.get(p.name, Word)))
                if typ is None:
                    raise TypeError(
                        f"{fn.__name__}.{p.name}: annotate with an argument type (Word, Rest…) "
                        "or bool"
                    )
                option = p.kind is inspect.Parameter.KEYWORD_ONLY and typ is not bool
                required = p.default is inspect.Parameter.empty and typ is not bool
                if option and required:
                    raise TypeError(f"{fn.__name__}.{p.name}: an option needs a default")
                default = (
                    False
                    if typ is bool and p.default is inspect.Parameter.empty
                    else (None if p.default is inspect.Parameter.empty else p.default)
                )
                aliases_of = tuple((options or {}).get(p.name, ()))
                params.append(Param(p.name, typ, default, required, option, aliases_of))
            places = frozenset([where]) if isinstance(where, Where) else frozenset(where)
            if sub is None:
                self.add(
                    Command(
                        name,
                        fn,
                        role,
                        places,
                        help,
                        tuple(params),
                        aliases,
                        dict(metavars or {}),
                        example,
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
                f"{name} {sub}",
                fn,
                role,
                places,
                help,
                tuple(params),
                (),
                dict(metavars or {}),
                example,
            )
            for alias in aliases:
                parent.sub_aliases[alias] = sub
            return fn

        return register

    def help_text(
        self, locale: str, prefix: str, role: Role, where: Where | None = None, server: str = ""
    ) -> Markdown:
        """What someone of ``role`` may do ``where`` they ask (everywhere: None), grouped by
        the role each command needs, each with its usage and, where its arguments allow one,
        an example (Markdown: usages and examples as code)."""
        groups: dict[Role, list[str]] = {}
        for cmd in self:
            if cmd.role > role or (where is not None and where not in cmd.where):
                continue
            line = f"- `{cmd.usage(prefix, locale)}` — {escape(t(cmd.help, locale))}"
            example = cmd.example(prefix, server)
            if example:
                line += " " + t("help.example", locale, example=f"`{example}`")
            groups.setdefault(Role.MEMBER if cmd.role is Role.ANYONE else cmd.role, []).append(line)
        place = t(f"where.{where.value}", locale) if where else ""
        lines = [
            escape(t("help.title_here", locale, role=t(role.label_key, locale), where=place))
            if where
            else escape(t("help.title", locale)),
            "",
        ]
        for level in sorted(groups):
            lines.append(f"**{escape(t(f'help.group.{level.name.lower()}', locale))}**")
            lines.append("")
            lines.extend(groups[level])
            lines.append("")
        if not groups:
            lines.extend([escape(t("help.nothing_here", locale)), ""])
        lines.append(escape(t("help.footer", locale, prefix=prefix)))
        return Markdown("\n".join(lines))

    def describe(self, name: str, locale: str, prefix: str) -> str:
        cmd = self.get(name)
        assert cmd is not None
        if isinstance(cmd, ByPlace):
            return "\n\n".join(self._describe(c, locale, prefix) for c in cmd.variants)
        if isinstance(cmd, CommandGroup):
            lines = [f"{prefix}{cmd.name} — {t(cmd.help, locale)}"]
            for subcommand in sorted(cmd.subcommands.values(), key=lambda c: c.name):
                lines.append(
                    f"• {subcommand.usage(prefix, locale)} — {t(subcommand.help, locale)} "
                    f"({t(subcommand.role.label_key, locale)})"
                )
            return "\n".join(lines)
        return self._describe(cmd, locale, prefix)

    @staticmethod
    def _describe(cmd: Command, locale: str, prefix: str) -> str:
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
