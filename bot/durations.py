"""Pure: durations as people write them in the config and in commands (``15m``, ``2h``, ``7d``)."""

from __future__ import annotations

import re


def parse_duration(text: str) -> float:
    """`15m`, `2h`, `1h30m`, `90s`, `1d` → seconds. Raises ValueError."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    total = 0.0
    pos = 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)\s*(d|h|m|min|s)", text):
        if text[pos : m.start()].strip():
            raise ValueError(text)
        total += float(m.group(1)) * {"d": 86400, "h": 3600, "m": 60, "min": 60, "s": 1}[m.group(2)]
        pos = m.end()
    if pos != len(text) or total <= 0:
        raise ValueError(text)
    return total
