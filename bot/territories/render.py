"""Plans as people read them: grouped by space or room, in the user's language."""

from __future__ import annotations

from bot.i18n import t, tp
from bot.territories.planner import Action


def _line(what: tuple[str, ...], locale: str) -> list[str]:
    key, *args = what
    if key == "plan.power":
        name, *changes = args
        lines = [tp(key, locale, name)]
        for change in changes:
            sub, *sub_args = change.split("|")
            lines.append("    " + tp(sub, locale, *sub_args))
        return lines
    return [tp(key, locale, *args)]


def render_plan(actions: list[Action], locale: str) -> str:
    if not actions:
        return t("plan.nothing", locale)
    groups: dict[str, list[Action]] = {}
    for action in actions:
        groups.setdefault(action.key, []).append(action)
    lines = [t("plan.summary", locale, n=len(actions))]
    for key, group in groups.items():
        lines.append(f"{key}:")
        for action in group:
            text = _line(action.what, locale) if action.what else [f"{action.op} {action.key}"]
            lines.append("  - " + text[0])
            lines.extend("  " + extra for extra in text[1:])
    return "\n".join(lines)
