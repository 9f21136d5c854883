"""Pure: where a join request stands given the admins' decisions."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.vetting import Decision


@dataclass(frozen=True)
class Standing:
    status: str  # pending | approved | rejected
    approvals: tuple[str, ...]
    rejections: tuple[str, ...]
    required: int


def may_decide(admin: str, submitted_by: str, subject: str | None) -> str | None:
    """None if ``admin`` may decide on this request, else the message id of why not."""
    if admin == submitted_by or (subject is not None and admin == subject):
        return "vetting.own_request"
    return None


def standing(
    decisions: list[Decision],
    admins: tuple[str, ...],
    required: int,
    one_rejection_rejects: bool = True,
) -> Standing:
    """Only configured admins count, each once (their latest decision)."""
    latest: dict[str, Decision] = {}
    for d in decisions:
        if d.admin in admins:
            latest[d.admin] = d
    approvals = tuple(a for a, d in latest.items() if d.decision == "approve")
    rejections = tuple(a for a, d in latest.items() if d.decision == "reject")
    if rejections and (one_rejection_rejects or len(rejections) >= required):
        status = "rejected"
    elif len(approvals) >= required:
        status = "approved"
    else:
        status = "pending"
    return Standing(status, approvals, rejections, required)
