"""The message catalogue against the code: every message id the code uses exists in French and
in English, both texts take the same placeholders, every message renders, each call site gives
the values its message needs, and no message is left that nothing uses (``t`` shows a missing
id as the id itself, so none of this shows up elsewhere).

How the ids are found (``ast`` over ``bot/**/*.py``, ``bot/i18n.py`` aside, and a regular
expression over the web templates):

1. Key positions: the first argument of ``t``, ``tp``, the ``UserError`` family (its
   subclasses found in the code), ``announce``/``_announce`` (control-room notices);
   ``FetchError``'s first argument under ``feed.error.``; ``FieldProblem``'s second argument;
   ``_message``'s second and fourth; ``help=`` and the values of ``metavars=`` in ``command``/
   ``command_group``/``group``; values assigned to ``key``, ``name_key``, ``topic_key``,
   ``label_key`` and ``metavar`` (class attributes included); ``t("…")`` in the templates.
   Where such an expression is ``a if c else b``, ``a or b`` or ``{…: a}.get(x, b)``, every
   branch counts.
2. Computed ids (``f"role.{…}"``, ``"policy.status." + s.status``…): the families below, each
   enumerated from the code (enums, constants, what a function returns or is given) or, for
   database values, from the schema's ``CHECK`` constraints.
3. A sweep: any other string literal shaped like an id (``word.word…``) in a namespace the
   catalogue uses, outside the positions known to hold other dotted names (audit actions,
   stored-state names, job kinds, configuration paths, file names): ids handed on through a
   variable (``return "vetting.rpps.format"``, ``UNVERIFIED = "trust.refused.unverified"``, the
   planner's ``("plan.rename", …)``) are found this way.
"""

from __future__ import annotations

import ast
import functools
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.commands import load_commands
from bot.commands.registry import CommandGroup, Role, Where
from bot.i18n import MESSAGES, PLURAL, t, tp
from bot.news.alerts import LEVELS
from bot.store.absences import STATUSES as ABSENCE_STATUSES
from bot.store.rosters import OFFER_STATUSES
from bot.vetting.dialogue import STEPS

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
LOCALES = ("fr", "en")
KEY_RE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+\Z")

# Calls whose argument at this index is a message id (name or attribute called).
KEY_ARGS: dict[str, tuple[int, ...]] = {
    "t": (0,),
    "tp": (0,),
    "announce": (0,),  # (message id, params) → a notice in the control room
    "_announce": (0,),
    "FieldProblem": (1,),  # (field, message id, params)
    "_message": (1, 3),  # (locale, message id, status, title id)
}
PREFIXED_ARGS = {"FetchError": "feed.error."}  # rendered as t(f"feed.error.{key}")
# Names (variables, attributes, class attributes) assigned message ids; not ``kv_key`` or
# ``state_key``, which hold other things.
KEY_NAMES = {"key", "metavar", "name_key", "topic_key", "label_key"}
DECORATORS = {"command", "command_group", "group"}  # help=, metavars= of the registry
# Calls whose string arguments are dotted names but not message ids.
NOT_KEYS_CALLS = {
    "audit",
    "audit_in",
    "earlier_outcome",
    "keep_outcome",
    "keep_outcome_now",
    "once",
}
NOT_KEYS_STORE = {"get", "put"}  # store.get("control.admins")
NOT_KEYS_NAMES = {"ConfigError", "_render"}  # a configuration path, a template file


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _strings(node: ast.expr | None) -> set[str]:
    """The string literals an expression may evaluate to: a constant, both branches of a
    conditional, the operands of ``or``, ``{…}.get(x, default)``'s values and default."""
    if node is None:
        return set()
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    if isinstance(node, ast.BoolOp):
        return set().union(*(_strings(v) for v in node.values))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Dict)
    ):
        found = set().union(*(_strings(v) for v in node.func.value.values))
        return found | (_strings(node.args[1]) if len(node.args) > 1 else set())
    return set()


@functools.cache
def _modules() -> dict[Path, ast.Module]:
    return {
        path: ast.parse(path.read_text(), str(path))
        for path in sorted(BOT.rglob("*.py"))
        if path != BOT / "i18n.py"
    }


@functools.cache
def _error_classes() -> dict[str, str | None]:
    """``UserError`` and its subclasses anywhere in bot/, with their own default ``key``."""
    classes = {
        node.name: node
        for tree in _modules().values()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }
    found = {"UserError"}
    grew = True
    while grew:
        grew = False
        for name, node in classes.items():
            bases = {
                b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
            }
            if name not in found and bases & found:
                found.add(name)
                grew = True
    keys: dict[str, str | None] = {}
    for name in found:
        own = [
            next(iter(_strings(stmt.value)), None)
            for stmt in classes[name].body
            if isinstance(stmt, ast.Assign)
            and any(isinstance(x, ast.Name) and x.id == "key" for x in stmt.targets)
        ]
        keys[name] = own[0] if own else None
    return keys


def _key_target(target: ast.expr) -> bool:
    name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
    return name in KEY_NAMES


def _positioned(tree: ast.Module) -> Iterator[tuple[ast.AST, set[str]]]:
    """(node, message ids) for every key position in a module."""
    errors = _error_classes()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            indexes = KEY_ARGS.get(name or "", ())
            if name in errors:
                indexes = (0,)
                if not node.args and errors[name]:
                    yield node, {errors[name]}  # raise NotFound() with the class's own key
            for i in indexes:
                if i < len(node.args):
                    yield node, _strings(node.args[i]) - {""}
            if name in PREFIXED_ARGS and node.args:
                yield node, {PREFIXED_ARGS[name] + s for s in _strings(node.args[0])}
            if name in DECORATORS:
                for kw in node.keywords:
                    if kw.arg == "help":
                        yield node, _strings(kw.value)
                    elif kw.arg == "metavars" and isinstance(kw.value, ast.Dict):
                        for value in kw.value.values:
                            yield node, _strings(value)
        elif isinstance(node, ast.Assign) and any(_key_target(x) for x in node.targets):
            yield node, _strings(node.value) - {""}  # "": a base class's placeholder
        elif isinstance(node, ast.AnnAssign) and _key_target(node.target):
            yield node, _strings(node.value) - {""}


def _swept(tree: ast.Module) -> Iterator[tuple[ast.AST, str]]:
    """Every other id-shaped string literal outside the positions known to hold other dotted
    names; docstrings and the literal parts of f-strings aside."""
    namespaces = {key.split(".")[0] for key in MESSAGES}
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
            if (
                name in NOT_KEYS_CALLS
                or name in NOT_KEYS_NAMES
                or (name in NOT_KEYS_STORE and "store" in ast.unparse(receiver or node.func))
            ):
                skip.update(id(n) for arg in node.args for n in ast.walk(arg))
        elif isinstance(node, ast.Assign) and any(
            isinstance(x, ast.Name) and x.id.endswith("_JOB") for x in node.targets
        ):
            skip.update(id(n) for n in ast.walk(node.value))  # job kinds
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            skip.update(id(n) for n in ast.walk(node))  # paths: data_dir / "reconcile.lock"
        elif isinstance(node, ast.JoinedStr):
            skip.update(id(n) for n in node.values)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skip.add(id(node.value))  # docstrings
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and KEY_RE.match(node.value)
            and node.value.split(".")[0] in namespaces
            and node.value.rsplit(".", 1)[1] not in FILE_SUFFIXES  # "directory.db" is a file
        ):
            yield node, node.value


FILE_SUFFIXES = {"db", "lock", "download", "json", "yaml", "key", "log", "pid", "csv", "ics"}


def _schema_values(tables: tuple[str, ...], column: str) -> set[str]:
    """The values the CHECK constraints on ``tables``' ``column`` allow, from the migrations
    (wherever in bot/ they are): every version's, so no value a database may hold is left out."""
    found: set[str] = set()
    for path in _modules():
        sql = path.read_text()
        statements = list(re.finditer(r"(?:CREATE|ALTER) TABLE (\w+)", sql))
        for match in re.finditer(rf"CHECK \({column} IN \(([^)]*)\)\)", sql):
            owner = [s.group(1) for s in statements if s.start() < match.start()]
            if owner and owner[-1] in tables:
                found.update(re.findall(r"'([^']*)'", match.group(1)))
    assert found, f"no CHECK constraint on {tables}.{column} in bot/"
    return found


def _returned(function: str) -> set[str]:
    """The string literals a function of bot/ returns (``jobs._state``)."""
    found: set[str] = set()
    for tree in _modules().values():
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and fn.name == function:
                for node in ast.walk(fn):
                    if isinstance(node, ast.Return):
                        found |= _strings(node.value)
    assert found, f"no function {function} returning literals in bot/"
    return found


def _given(function: str, index: int, variable: str) -> set[str]:
    """The string literals passed to ``function`` at ``index``, directly or through a variable
    of that name in the same module (``_hold(…, why)`` with ``why = "glob"``)."""
    found: set[str] = set()
    for tree in _modules().values():
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _call_name(n) == function]
        for call in calls:
            if len(call.args) > index:
                found |= _strings(call.args[index])
        for node in ast.walk(tree) if calls else ():
            if isinstance(node, ast.Assign) and any(
                isinstance(x, ast.Name) and x.id == variable for x in node.targets
            ):
                found |= _strings(node.value)
    assert found, f"no literal passed to {function}"
    return found


@functools.cache
def computed_families() -> dict[str, set[str]]:
    """The ids the code computes, by the expression that computes them."""
    return {
        # registry.Role.label_key; help and the README
        'f"role.{self.name.lower()}"': {r.label_key for r in Role},
        "f'help.group.{level.name.lower()}'": {
            f"help.group.{r.name.lower()}" for r in Role if r is not Role.ANYONE
        },
        # dispatcher._check: a lower role than needed (admin has its own literal)
        'f"refused.{needed.name.lower()}_only"': {
            f"refused.{r.name.lower()}_only" for r in Role if r > Role.ANYONE
        },
        'f"refused.where.{only.value}"': {f"refused.where.{w.value}" for w in Where},
        'f"where.{w.value}"': {f"where.{w.value}" for w in Where},
        'f"alert.title.{level}"': {f"alert.title.{level}" for level in LEVELS},
        # dialogue.question(): the steps without a t() of their own
        'f"dialogue.ask.{state.step}"': {
            f"dialogue.ask.{step}"
            for step in STEPS
            if step not in ("profession", "territory", "identifier", "confirm")
        },
        '"cmd.status.cross_signed." + ("yes" if … else "no")': {
            "cmd.status.cross_signed.yes",
            "cmd.status.cross_signed.no",
        },
        # commands/jobs: state = _state(job.status, job.attempts)
        'f"jobs.line.{state}"': {f"jobs.line.{s}" for s in _returned("_state")},
        # moderation/rules: why a rule is held, _hold's last argument
        '"policy.held." + why': {f"policy.held.{w}" for w in _given("_hold", 4, "why")},
        '"policy.status." + s.status': {
            f"policy.status.{s}" for s in _schema_values(("policy_rules",), "status")
        },
        'f"vetting.status.{…status}"': {
            f"vetting.status.{s}" for s in _schema_values(("requests", "requests_v8"), "status")
        },
        'f"roster.offer.status.{status}"': {f"roster.offer.status.{s}" for s in OFFER_STATUSES},
        'f"absence.status.{row.status}"': {f"absence.status.{s}" for s in ABSENCE_STATUSES},
        'f"absence.tell.{what}"': {"absence.tell.begin", "absence.tell.end"},
        'f"vetting.directory.what.{w}"': {
            f"vetting.directory.what.{w}" for w in ("absent", "name", "profession", "rpps_missing")
        },
        'f"group.visibility.{g.visibility}"': {
            f"group.visibility.{v}" for v in _schema_values(("groups",), "visibility")
        },
    }


def _prefixes(node: ast.expr) -> set[str]:
    """The literal beginnings of the computed ids an expression may evaluate to
    (``f"jobs.line.{state}"`` → ``jobs.line.``)."""
    if isinstance(node, ast.IfExp):
        return _prefixes(node.body) | _prefixes(node.orelse)
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        return {first.value} if isinstance(first, ast.Constant) else set()
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = node.left
        return {left.value} if isinstance(left, ast.Constant) else _prefixes(left)
    return set()


def _template_calls() -> Iterator[tuple[str, str, set[str]]]:
    """(template, id, parameter names) for every ``t("…", name=…)`` in the web templates."""
    for path in sorted((BOT / "web" / "templates").glob("*.html")):
        for match in re.finditer(r"\bt\(\s*\"([^\"]+)\"([^)]*)\)", path.read_text()):
            yield path.name, match.group(1), set(re.findall(r"(\w+)\s*=", match.group(2)))


@functools.cache
def used_keys() -> dict[str, set[str]]:
    """Every message id the code uses → where (file:line or family)."""
    used: dict[str, set[str]] = {}

    def add(key: str, where: str) -> None:
        used.setdefault(key, set()).add(where)

    for path, tree in _modules().items():
        rel = path.relative_to(ROOT)
        for node, keys in _positioned(tree):
            for key in keys:
                add(key, f"{rel}:{getattr(node, 'lineno', '?')}")
        for node, key in _swept(tree):
            add(key, f"{rel}:{getattr(node, 'lineno', '?')} (sweep)")
    for expr, keys in computed_families().items():
        for key in keys:
            add(key, expr)
    for template, key, _ in _template_calls():
        add(key, f"bot/web/templates/{template}")
    return used


def placeholders(text: str | tuple[str, ...]) -> set[str]:
    """The names a message's text takes (every plural form's, for a message that has them)."""
    if isinstance(text, tuple):
        return set().union(*(placeholders(form) for form in text))
    return {
        re.split(r"[.\[]", name, maxsplit=1)[0]
        for _, name, _, _ in string.Formatter().parse(text)
        if name is not None
    }


def _needed(key: str) -> set[str]:
    return set().union(*(placeholders(MESSAGES[key][loc]) for loc in LOCALES))


# --- the tests ---------------------------------------------------------------------------------


def test_discovery_finds_the_keys_it_should():
    """The finder itself: a few ids of each kind of position, and nothing that is not an id."""
    used = used_keys()
    for key in (
        "error.bad_argument",  # class attribute of an error class
        "reconcile.busy",  # a subclass elsewhere (territories/reconciler)
        "cmd.group.create.help",  # help=
        "meta.word",  # metavar class attribute
        "revoke.done_deactivated",  # key = … if … else …
        "vetting.now_rejected",  # {…}.get(…)
        "feed.error.not_a_feed",  # FetchError("not_a_feed")
        "vetting.rpps.check_digit",  # returned by a function (sweep)
        "trust.refused.key_changed",  # module constant (sweep)
        "plan.power_setting",  # planner tuple (sweep)
        "web.join.title",  # template
        "policy.held.withdraw",  # family
    ):
        assert key in used, key
    for not_a_key in ("vetting.reaction", "control.admins", "news.deliver", "reconcile.lock"):
        assert not_a_key not in used, not_a_key


def test_every_used_key_exists_in_both_languages():
    missing = {
        key: sorted(where)
        for key, where in used_keys().items()
        if key not in MESSAGES or any(not MESSAGES[key].get(loc) for loc in LOCALES)
    }
    assert not missing, f"message ids used but missing from the catalogues (bot/locale): {missing}"


def test_every_message_has_exactly_french_and_english():
    odd = {key: sorted(entry) for key, entry in MESSAGES.items() if set(entry) != set(LOCALES)}
    assert not odd


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_french_and_english_take_the_same_placeholders(key):
    fr, en = (placeholders(MESSAGES[key][loc]) for loc in LOCALES)
    assert fr == en, f"{key}: fr {sorted(fr)} ≠ en {sorted(en)}"


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_renders(key):
    needed = _needed(key)
    positional = sorted(int(n) for n in needed if n.isdigit())
    for loc in LOCALES:
        if positional:
            assert positional == list(range(len(positional))), f"{key}: gaps in {{0}}, {{1}}…"
            assert len(positional) == len(needed), f"{key}: named and positional placeholders"
            text = tp(key, loc, *(f"<{n}>" for n in positional))
        else:
            text = t(key, loc, **{name: f"<{name}>" for name in needed})
        assert text != key and text.strip()
        for name in needed:
            assert f"<{name}>" in text
        # Nothing left unformatted (t() skips format() when given no values, so an escaped
        # {{ would show as typed).
        assert "{" not in text and "}" not in text, f"{key} ({loc}): {text!r}"


def test_plural_forms_take_the_same_placeholders_and_are_chosen_by_n():
    for key in PLURAL:
        for loc in LOCALES:
            forms = MESSAGES[key][loc]
            assert isinstance(forms, tuple) and len(forms) == 2, (key, loc)
            assert "n" in placeholders(forms), f"{key}: plural forms are chosen by {{n}}"
            assert len({frozenset(placeholders(f)) for f in forms}) == 1, (key, loc, forms)
    # French: 0 and 1 are singular; English: only 1.
    assert t("members.title", "fr", n=0) == "0 membre :"
    assert t("members.title", "fr", n=1) == "1 membre :"
    assert t("members.title", "fr", n=2) == "2 membres :"
    assert t("members.title", "en", n=0) == "0 members:"
    assert t("members.title", "en", n=1) == "1 member:"


def test_the_catalogues_are_up_to_date_with_the_code():
    """What ``make translations`` would change: nothing (ids the code uses are in the French
    catalogue, the English one follows it, the template is current)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "translations.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_english_falls_back_to_french_and_an_unknown_id_to_itself():
    from bot.i18n import _TRANSLATIONS

    assert _TRANSLATIONS["en"]._fallback is _TRANSLATIONS["fr"]  # type: ignore[attr-defined]
    assert t("no.such.message", "en") == "no.such.message"
    assert t("error.generic", "de") == t("error.generic", "fr")  # an unknown language: French


def test_every_message_is_used():
    dead = sorted(set(MESSAGES) - set(used_keys()))
    assert not dead, f"messages nothing uses (remove them, or name their family here): {dead}"


def _bindings(scope: ast.AST, name: str) -> list[ast.AST]:
    """Every statement or argument in ``scope`` that binds ``name``."""
    found: list[ast.AST] = []
    for node in ast.walk(scope):
        if isinstance(node, ast.arg) and node.arg == name:
            found.append(node)
        elif isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            found.append(node)
    return found


def _dict_keys(node: ast.expr, tree: ast.Module) -> set[str] | None:
    """The keys of a parameters dict: a literal, a local name bound once, to a literal, in the
    function around it, or a call of a function of the module that returns literals (the keys
    all of them have). None if not known here."""
    if isinstance(node, ast.Dict):
        if any(not isinstance(k, ast.Constant) for k in node.keys):
            return None  # {**more}
        return {str(k.value) for k in node.keys if isinstance(k, ast.Constant)}
    if isinstance(node, ast.Name):
        around = [
            fn
            for fn in ast.walk(tree)
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
            and any(n is node for n in ast.walk(fn))
        ]
        if not around:
            return None
        innermost = min(around, key=lambda fn: sum(1 for _ in ast.walk(fn)))
        bound = _bindings(innermost, node.id)
        assigns = [
            a
            for a in ast.walk(innermost)
            if isinstance(a, ast.Assign) and any(x in bound for x in a.targets)
        ]
        if len(bound) == 1 and len(assigns) == 1:
            return _dict_keys(assigns[0].value, tree)
    if isinstance(node, ast.Call) and (name := _call_name(node)):
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and fn.name == name:
                returned = [
                    _dict_keys(r.value, tree)
                    for r in ast.walk(fn)
                    if isinstance(r, ast.Return) and r.value is not None
                ]
                if returned and all(r is not None for r in returned):
                    return set.intersection(*returned)  # type: ignore[arg-type]
    return None


def _call_site_problems() -> Iterator[str]:
    errors = _error_classes()
    computed = set().union(*computed_families().values())

    def keys_of(node: ast.expr, prefix: str = "") -> set[str]:
        literal = {prefix + k for k in _strings(node)}
        return literal | {k for p in _prefixes(node) for k in computed if k.startswith(p)}

    for path, tree in _modules().items():
        rel = path.relative_to(ROOT)
        for node in ast.walk(tree):
            where = f"{rel}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Tuple) and node.elts:
                # ("plan.rename", old, new): positional values for tp()
                keys = _strings(node.elts[0]) & set(MESSAGES)
                rest = node.elts[1:]
                if not keys or any(isinstance(e, ast.Starred) for e in rest):
                    continue
                for key in keys:
                    needed = {n for n in _needed(key) if n.isdigit()}
                    if needed and len(rest) < len(needed):
                        yield f"{where}: {key} needs {len(needed)} values, given {len(rest)}"
                continue
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            if name in ("t", *errors, *PREFIXED_ARGS):
                if any(kw.arg is None for kw in node.keywords):
                    continue  # **params: not known here
                given = {kw.arg for kw in node.keywords if kw.arg}
                own = errors.get(name or "")  # raise NotFound(): the class's own key
                if node.args:
                    keys = keys_of(node.args[0], PREFIXED_ARGS.get(name or "", ""))
                else:
                    keys = {own} if own else set()
            elif name == "tp" and node.args:
                if any(isinstance(a, ast.Starred) for a in node.args):
                    continue
                given = {str(i) for i in range(len(node.args) - 2)}
                keys = keys_of(node.args[0])
            elif name in ("announce", "_announce", "FieldProblem"):
                at = 0 if name != "FieldProblem" else 1
                params = node.args[at + 1] if len(node.args) > at + 1 else ast.Dict([], [])
                known = _dict_keys(params, tree)
                if known is None:
                    continue  # built elsewhere
                given = known
                keys = keys_of(node.args[at]) if len(node.args) > at else set()
            else:
                continue
            for key in keys & set(MESSAGES):
                lacking = _needed(key) - given
                if lacking:
                    yield f"{where}: {key} needs {sorted(lacking)}, given {sorted(given)}"
    for template, key, given in _template_calls():
        if key in MESSAGES and _needed(key) - given:
            yield f"bot/web/templates/{template}: {key} needs {sorted(_needed(key) - given)}"


def test_call_sites_give_every_placeholder():
    """A literal id called with too few values shows ``{name}`` as typed (or raises KeyError)."""
    problems = list(_call_site_problems())
    assert not problems, "\n".join(problems)


def test_registered_commands_have_their_messages():
    """The same from the registry as loaded: help, argument names, role labels."""
    registry = load_commands()
    keys: set[str] = set()
    for cmd in registry:
        keys |= {cmd.help, cmd.role.label_key, *cmd.metavars.values()}
        keys |= {getattr(p.type, "metavar", "") for p in cmd.params if not p.is_flag}
        group = registry.get(cmd.name.split()[0])
        if isinstance(group, CommandGroup):
            keys.add(group.help)
    assert "" not in keys and not sorted(k for k in keys if k not in MESSAGES)


def test_dates_are_written_where_the_region_is_in_the_readers_language(monkeypatch):
    """Whatever the server's own zone: Paris in summer (UTC+2) and winter (UTC+1)."""
    import datetime as dt
    import time
    from zoneinfo import ZoneInfo

    from bot.i18n import day_text, short_when, when

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        paris = ZoneInfo("Europe/Paris")
        summer = dt.datetime(2026, 7, 14, 22, 30, tzinfo=dt.UTC).timestamp()
        winter = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC).timestamp()
        assert when(summer, "fr", paris) == "15/07/2026 00:30"  # already the next day there
        assert when(winter, "fr", paris) == "01/01/2027 00:30"
        assert when(summer, "en", paris) == "15/07/2026, 00:30"  # day/month, 24 h
        assert short_when(summer, "fr", paris) == "15/07 00:30"
        assert day_text(summer, "fr", paris) == day_text(dt.date(2026, 7, 15), "en") == "15/07/2026"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
