"""The national directory as a capability: what it says of the members, after each load.

A load (``agora-bot import-directory``, in another process, or a download) puts a new copy in
place; the watch job notices it and lists once in the control room the members whose number
has left the directory (retired, struck off) or whose profession there is not theirs. Nobody
is removed: admins decide (``!revoke``). ``!rpps ecarts`` shows the list again."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import sys
from pathlib import Path
from typing import Any

from bot import effects
from bot.capability import Capability, Core
from bot.i18n import t
from bot.matrix.content import notice
from bot.news import fetch
from bot.rpps.matching import PROFESSION_CODES
from bot.scheduler import Again
from bot.store.rpps import RppsStore

log = logging.getLogger(__name__)

WATCH_JOB = "rpps.watch"
REFRESH_JOB = "rpps.refresh"  # the extraction downloaded and loaded, every directory.refresh
WATCH_EVERY = 300.0
NOTICE_LINES = 50  # members named in the notice after a load (the rest: !rpps ecarts)
LIST_LINES = 200  # in !rpps ecarts (a Matrix event is 64 KB at most)
TOLD_KEY = "directory:told"  # the gaps already listed: {"load": <at>, "gaps": [...]}
DOWNLOAD_KEY = "directory:download"  # the last download's ETag and Last-Modified
FAILED_KEY = "directory:failed"  # the failure last reported (said once until it changes)


class LoadFailed(Exception):
    """Loading a downloaded extraction failed (the child's last words)."""


class Directory(Capability):
    name = "directory"
    commands = ("bot.commands.rpps",)

    def __init__(self, core: Core):
        super().__init__(core)
        self.directory = RppsStore(core.data_dir)
        self.jobs = {WATCH_JOB: self.watch, REFRESH_JOB: self.refresh}
        self.job_pools = {WATCH_JOB: 1, REFRESH_JOB: 1}

    async def start(self) -> None:
        now, store = self.core.clock(), self.core.store
        await store.ensure_job(WATCH_JOB, {}, at=now)
        if self.config.directory.url:
            await store.ensure_job(REFRESH_JOB, {}, at=now)
        self.core.wake_jobs()

    async def reloaded(self) -> None:
        await self.start()

    # --- downloading it -------------------------------------------------------------------------

    async def refresh(self, payload: dict[str, Any]) -> Again | None:
        """The recurring job: the extraction at ``directory.url`` downloaded if it changed (a
        conditional request, public addresses only, streamed to a file of the data directory
        and never kept), then loaded the way ``agora-bot import-directory`` does, in a child
        process (the bot's own work goes on). A failure keeps the directory in place and is
        reported once in the control room."""
        config = self.config.directory
        if not config.url:
            return None  # turned off: the job ends (a reload that sets it starts it again)
        state: dict[str, Any] = await self.core.store.get(DOWNLOAD_KEY, {})
        if state.get("url") != config.url or await self.directory.loaded() is None:
            # Another address (its validators are not this one's), or no copy in place (a
            # restore leaves it out of the data directory): the whole file, whatever changed.
            state = {}
        partial = self.core.data_dir / "directory.download"
        try:
            async with fetch.session(config.allowed_hosts) as http:
                with open(partial, "wb") as sink:
                    got = await fetch.fetch(
                        http,
                        config.url,
                        etag=state.get("etag"),
                        last_modified=state.get("last_modified"),
                        timeout=config.timeout,
                        max_bytes=config.max_bytes,
                        max_redirects=3,
                        allowed_hosts=config.allowed_hosts,
                        into=sink,
                    )
            if got.status == 200:
                await self.load_file(partial, got.last_modified)
                await self.core.store.put(
                    DOWNLOAD_KEY,
                    {"url": config.url, "etag": got.etag, "last_modified": got.last_modified},
                )
            await self.failed(None)
        except fetch.FetchError as exc:
            await self.failed(exc.render(self.config.locale))
        except LoadFailed as exc:
            await self.failed(str(exc))
        finally:
            partial.unlink(missing_ok=True)
        try:
            await self.watch({})  # what the new copy says of the members, now
        except Exception:
            log.exception("listing the directory's gaps after a download")
        return Again(self.core.clock() + config.refresh)

    async def load_file(self, path: Path, last_modified: str | None) -> None:
        """``agora-bot import-directory`` on a downloaded file, in a child process."""
        source = self.core.file_config.source
        if source is None:
            raise LoadFailed("no configuration file to load it with")
        args = [sys.executable, "-m", "bot", "import-directory", "--config", str(source)]
        args += ["--data-dir", str(self.core.data_dir), str(path)]
        if last_modified:  # the extraction's own name says its date better, if it does
            with contextlib.suppress(TypeError, ValueError):
                day = email.utils.parsedate_to_datetime(last_modified).date()
                args += ["--date-if-unknown", day.isoformat()]
        child = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            out, err = await child.communicate()
        except BaseException:  # the bot stops: the load stops with it (the lock goes too)
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await asyncio.shield(child.wait())
            raise
        if child.returncode != 0:
            if child.returncode is not None and child.returncode < 0:
                raise LoadFailed(f"the load was stopped by signal {-child.returncode}")
            lines = err.decode(errors="replace").strip().splitlines()
            raise LoadFailed(lines[-1][:300] if lines else f"exit {child.returncode}")
        log.info("directory loaded: %s", out.decode(errors="replace").splitlines()[:1])

    async def failed(self, why: str | None) -> None:
        """A download or load that failed said once in the control room (again only if the
        reason changes); a success forgets it."""
        before = await self.core.store.get(FAILED_KEY)
        if why is None:
            if before is not None:
                await self.core.store.put(FAILED_KEY, None)
            return
        if why == before:
            return
        await self.core.control.announce("rpps.download_failed", {"why": why})
        await self.core.store.put(FAILED_KEY, why)

    # --- what it says of the members ------------------------------------------------------------

    async def gaps(self) -> list[tuple[str, str, str, str]]:
        """(user id, name, RPPS, what: ``left`` or ``profession:<label>``) for each member the
        directory in place does not bear out."""
        out = []
        for user, name, profession, rpps, code, label in await self.directory.members_against(
            self.core.store
        ):
            if code is None:
                out.append((user, name, rpps, "left"))
            elif PROFESSION_CODES.get(code) != profession:
                out.append((user, name, rpps, f"profession:{(label or code).lower()}"))
        return out

    async def watch(self, payload: dict[str, Any]) -> Again:
        """The recurring job: a directory loaded since the last look has its gaps listed in
        the control room, those not listed before (once, whatever the restarts)."""
        loaded = await self.directory.loaded()
        told: dict[str, Any] = await self.core.store.get(TOLD_KEY, {})
        room_id = self.core.control.room_id
        if loaded is not None and told.get("load") != loaded["at"] and room_id:
            gaps = await self.gaps()
            before = set(told.get("gaps", []))
            new = [g for g in gaps if f"{g[2]}:{g[3]}" not in before]
            if new:
                text = t(
                    "rpps.gaps.new",
                    self.config.locale,
                    date=loaded["date"],
                    n=len(new),
                    lines=self.lines(new, NOTICE_LINES),
                    prefix=self.config.commands.prefix,
                )
                await self.core.gateway.send(
                    room_id, notice(text), txn=effects.stable_key("rpps-gaps", str(loaded["at"]))
                )
            await self.core.store.put(
                TOLD_KEY, {"load": loaded["at"], "gaps": sorted(f"{g[2]}:{g[3]}" for g in gaps)}
            )
        return Again(self.core.clock() + WATCH_EVERY)

    def lines(self, gaps: list[tuple[str, str, str, str]], most: int) -> str:
        """One line a member, ``most`` at the most (a message has a size limit)."""
        locale = self.config.locale
        out = []
        for user, name, rpps, what in gaps[:most]:
            if what == "left":
                why = t("rpps.gap.left", locale)
            else:
                why = t("rpps.gap.profession", locale, profession=what.split(":", 1)[1])
            out.append(f"• {name} ({user}) — RPPS {rpps} : {why}")
        if len(gaps) > most:
            out.append(
                t("rpps.gaps.more", locale, n=len(gaps) - most, prefix=self.config.commands.prefix)
            )
        return "\n".join(out)

    async def status(self, locale: str) -> str:
        loaded = await self.directory.loaded()
        if loaded is None:
            return t("rpps.none_loaded", locale)
        return t("rpps.status", locale, date=loaded["date"], people=loaded["people"])

    async def gaps_text(self, locale: str) -> str:
        loaded = await self.directory.loaded()
        if loaded is None:
            return t("rpps.none_loaded", locale)
        gaps = await self.gaps()
        if not gaps:
            return t("rpps.gaps.none", locale, date=loaded["date"])
        lines = self.lines(gaps, LIST_LINES)
        return t("rpps.gaps.all", locale, date=loaded["date"], n=len(gaps), lines=lines)
