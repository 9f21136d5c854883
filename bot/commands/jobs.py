"""The durable jobs, as admins see them: what waits, what retries, what gave up; try again or
cancel one."""

from __future__ import annotations

import time
from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.registry import Number, Role, Where, command, command_group
from bot.i18n import format_duration, t
from bot.scheduler import JobRunner


class Uses(Protocol):
    """What these commands use (``bot.runtime.Runtime``): the scheduler."""

    @property
    def scheduler(self) -> JobRunner: ...


Ctx = CommandContext[Uses]

command_group("jobs", help="cmd.jobs.help", aliases=("taches", "tâches"), default="list")


def _state(status: str, attempts: int) -> str:
    if status == "failed":
        return "failed"
    return "retrying" if attempts else "waiting"


@command(
    "jobs",
    sub="list",
    aliases=("liste",),
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.jobs.list.help",
)
async def jobs_list(ctx: Ctx) -> None:
    found = await ctx.services.scheduler.open_jobs()
    if not found:
        await ctx.reply(t("jobs.none", ctx.locale))
        return
    lines = [t("jobs.title", ctx.locale, n=len(found))]
    now = time.time()
    for job in found:
        state = _state(job.status, job.attempts)
        lines.append(
            t(
                f"jobs.line.{state}",
                ctx.locale,
                id=job.id,
                kind=job.kind,
                attempts=job.attempts,
                wait=format_duration(max(0.0, job.next_at - now), ctx.locale),
                error=(job.error or "—")[:160],
            )
        )
    lines.append(t("jobs.hint", ctx.locale, prefix=ctx.prefix))
    await ctx.reply("\n".join(lines))


@command(
    "jobs",
    sub="retry",
    aliases=("relancer",),
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.jobs.retry.help",
    metavars={"job": "meta.job"},
)
async def jobs_retry(ctx: Ctx, job: Number) -> None:
    await ctx.services.scheduler.retry_now(job, ctx.sender)
    await ctx.reply(t("jobs.retrying", ctx.locale, id=job))


@command(
    "jobs",
    sub="cancel",
    aliases=("annuler",),
    role=Role.ADMIN,
    where=Where.CONTROL_ROOM,
    help="cmd.jobs.cancel.help",
    metavars={"job": "meta.job"},
)
async def jobs_cancel(ctx: Ctx, job: Number) -> None:
    found = await ctx.services.scheduler.cancel(job, ctx.sender)
    await ctx.reply(t("jobs.cancelled", ctx.locale, id=job, kind=found.kind))
