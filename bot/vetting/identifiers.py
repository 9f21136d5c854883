"""French professional identifiers, checked before anything is stored.

- RPPS (Répertoire partagé des professionnels de santé): 11 digits, the last a Luhn check
  digit over the whole number.
- ADELI: 9 characters, the department (2 digits, or 2A / 2B for Corsica) then 7 digits.
"""

from __future__ import annotations

import re

RPPS_RE = re.compile(r"^\d{11}$")
ADELI_RE = re.compile(r"^(\d{2}|2[AB])\d{7}$")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def normalise(value: str) -> str:
    """People paste identifiers with spaces, dots or dashes: keep the characters that count."""
    return re.sub(r"[\s.\-]", "", value).upper()


def rpps_problem(value: str) -> str | None:
    """None if ``value`` is a valid RPPS number, else the message id of what is wrong."""
    value = normalise(value)
    if not RPPS_RE.match(value):
        return "vetting.rpps.format"
    if not luhn_valid(value):
        return "vetting.rpps.check_digit"
    return None


def adeli_problem(value: str) -> str | None:
    value = normalise(value)
    if not ADELI_RE.match(value):
        return "vetting.adeli.format"
    return None
