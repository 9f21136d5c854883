"""The running bot: wiring and lifecycle only. The store, the homeserver (embedded or not),
the Matrix session, the core every capability gets, the capabilities in order, the loops;
stopped in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from nio import AsyncClient

from bot.absences.capability import Absences
from bot.capability import Capability, Core
from bot.commands import load_commands
from bot.commands.dispatcher import Dispatcher
from bot.config import Config, ConfigError, changes_needing_restart, load_config
from bot.datadir import DataDirLock
from bot.documents.capability import Documents
from bot.evolutions.capability import Evolutions
from bot.federation.capability import Federation
from bot.files import watch
from bot.homeserver.accounts import bot_session
from bot.homeserver.embedded import EmbeddedSynapse
from bot.housekeeping import housekeeping, work_metrics
from bot.matrix.crosssigning import ensure_cross_signed
from bot.matrix.events import EventDrain
from bot.matrix.gateway import Gateway
from bot.matrix.sync import Batch, Invite, SyncLoop
from bot.metrics import Metrics
from bot.moderation.capability import Moderation
from bot.newcomers.capability import Newcomers
from bot.news.capability import News
from bot.polls.capability import Polls
from bot.reports.capability import Reports
from bot.rosters.capability import Rosters
from bot.rpps.capability import Directory
from bot.runtime import GAVE_UP_JOB, Runtime
from bot.store import Store
from bot.surveys.capability import Surveys
from bot.systemd import Notifier
from bot.tasks import Tasks
from bot.territories.capability import Territories
from bot.territories.planner import WATCHED_STATE
from bot.version import version
from bot.vetting.animation import Animation
from bot.vetting.capability import Vetting
from bot.web.server import WebServer, with_real_port
from bot.workshops.capability import Workshops

log = logging.getLogger(__name__)


class Agora:
    def __init__(self, config: Config, data_dir: str | Path, notifier: Notifier | None = None):
        self.file_config = config
        self.notifier = notifier or Notifier(None)  # systemd's, when it supervises the bot
        self.data_dir = Path(data_dir).resolve()
        self.metrics = Metrics()
        self.synapse: EmbeddedSynapse | None = None
        self.client: AsyncClient | None = None
        self.web: WebServer | None = None
        self.capabilities: list[Capability] = []
        self.tasks = Tasks()
        self.loaded_mtime: float | None = None  # the config file's, when last read
        self.lock: DataDirLock | None = None  # held while running: one bot per data directory
        self.stopped = asyncio.Event()

    @property
    def config(self) -> Config:
        return self.core.config

    @property
    def homeserver_url(self) -> str:
        return self.synapse.url if self.synapse else self.file_config.homeserver.url

    async def start(self) -> None:
        notifier = self.notifier
        if notifier.watchdog:  # fed from the start: a long start-up is no stall
            self.tasks.loop(notifier.keep_alive(), "watchdog")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        self.lock = DataDirLock.acquire(self.data_dir)  # DataDirBusy: another bot runs on it
        self.store = store = await Store.open(self.data_dir / "agora.db")
        hs = self.file_config.homeserver
        if hs.embedded:
            notifier.status("starting the embedded homeserver")
            self.synapse = EmbeddedSynapse.for_config(self.file_config, self.data_dir)
            await self.synapse.start()
        session, self.accounts = await bot_session(self.file_config, self.data_dir, self.synapse)
        self.gateway = gateway = Gateway.restore(
            self.homeserver_url, session, self.data_dir / "crypto", self.metrics,
            max_retries=hs.retries,
        )  # fmt: skip
        self.client = gateway.client
        gateway.instance = await store.instance()
        gateway.remember_megolm_indices()
        if self.accounts:
            await self.accounts.ensure_people(gateway)
        self.core = core = Core.open(self.file_config, gateway, store, self.metrics, self.data_dir)
        control, trust, self.jobs = core.control, core.trust, core.jobs
        self.control, self.trust = control, trust
        self.jobs.report_kind = GAVE_UP_JOB  # a job given up is reported by a job
        self.metrics.refresh_with(lambda: work_metrics(store, self.jobs, self.metrics))
        direct = core.direct
        self.runtime = Runtime(
            core,
            reload=self.reload,
            homeserver_url=self.homeserver_url,
            commands_came=lambda: self.dispatcher.wake.set(),
        )
        self.unreadables = self.runtime.unreadables
        self.territories = Territories(core, await Territories.groups_of(core))
        self.moderation = Moderation(core)
        self.federation = Federation(core)
        self.vetting = Vetting(core)
        self.animation = Animation(core, self.vetting, self.territories)
        self.news = News(core)
        self.rosters = Rosters(core)
        self.absences = Absences(core, self.vetting)
        self.newcomers = Newcomers(core, self.animation)
        self.directory = Directory(core)
        self.reports = Reports(core)
        self.polls = Polls(core)
        self.evolutions = Evolutions(core)
        self.documents = Documents(core)
        self.workshops = Workshops(core, self.rosters)
        self.surveys = Surveys(core, self.federation)
        # In this order an invitation to a room the config adopts is taken before it could
        # pass for a direct chat, as it was.
        self.capabilities = [
            self.territories, self.runtime, self.moderation, self.federation,
            self.vetting, self.animation, self.news, self.rosters, self.absences,
            self.newcomers, self.directory, self.reports, self.polls, self.evolutions,
            self.documents, self.workshops, self.surveys,
        ]  # fmt: skip
        core.plug(self.capabilities)
        core.router.add(Invite, self.runtime.decline)  # an invitation nobody wanted
        self.dispatcher = Dispatcher(
            lambda: self.config,
            load_commands(),
            gateway,
            store,
            self.metrics,
            {module: c for c in self.capabilities for module in c.commands},
            converse=self._converse,
            tell=core.tell,
            trust=trust,
        )
        self.drain = EventDrain(
            store,
            core.router.route,
            lambda: (self.config.jobs.max_attempts, self.config.jobs.max_backoff),
            self.jobs.kick,
        )
        await direct.refresh()
        self.sync = SyncLoop(
            gateway,
            store,
            self.metrics,
            lambda: self.config.commands.prefix,  # a reload changes it for the next sync
            self._on_batch,
            conversations=lambda: direct.rooms,
            watched_state=WATCHED_STATE,
            healthy_age=lambda: self.config.web.healthy_sync_age,
            pause_after_joins=lambda: self.config.homeserver.sync_pause_after_joins,
        )
        self._apply()
        # Full-state sync first: nio needs room state before it can encrypt anything.
        notifier.status("first sync with the homeserver")
        await self.sync.once()
        await self.sync.crypto_housekeeping()
        await ensure_cross_signed(gateway, self.data_dir / "cross-signing.json", session.password)
        # Whose devices speak for the admins, animators and managers, before anything is
        # sent in the control room or any command is run.
        await trust.refresh()
        await control.ensure()
        if control.room_id not in self.client.rooms:
            # Made just now: nio learns of it from a sync, and the loop does not run yet.
            await self.sync.once()
        await control.say_unannounced()
        for capability in self.capabilities:
            await capability.start()
        await self.runtime.leave_strays()
        if self.accounts:
            self.accounts.write_credentials(session.user_id, control.room_id)
        self.web = WebServer(
            self, self.config.web, join=self.vetting, news=self.news, calendars=self.workshops
        )
        await self.web.start()
        self._apply()  # the web server's real port in links
        tasks = self.tasks
        tasks.loop(self.sync.run(), "sync")
        tasks.loop(self.dispatcher.run(), "dispatcher")
        tasks.loop(self.jobs.run(), "jobs")
        tasks.loop(self.drain.run(), "events")
        tasks.loop(
            housekeeping(store, self.jobs, self.metrics, lambda: self.config), "housekeeping"
        )
        if self.file_config.source is not None:
            tasks.loop(watch(self.file_config.source, self._reload_from_file), "config")
        if self.synapse:
            tasks.loop(self.synapse.watch(), "synapse")
        for c in self.capabilities:
            for name, loop in c.loops().items():
                tasks.loop(loop, name)
            # What may take long (a peer region that is down) goes on in the background.
            tasks.spawn(c.started(), f"{c.name}.started")
        self.drain.wake.set()  # what came while the bot was down (a ✅ on a card)
        self.dispatcher.wake.set()
        if self.config.smtp is None:
            log.warning("no smtp: settings; mails are written to %s", self.data_dir / "mail")
        log.info(
            "Agora %s running as %s (device %s) on %s",
            version(),
            session.user_id,
            session.device_id,
            self.homeserver_url,
        )
        # Synced, the control room ready, every capability started, the web server up.
        notifier.ready(f"running as {session.user_id} on {self.homeserver_url}")

    async def _converse(self, sender: str, room_id: str, text: str) -> str | None:
        """A plain message in a direct chat: a turn of the conversation in progress there (a
        join request's, else a survey's being written or answered)."""
        return await self.vetting.converse(sender, room_id, text) or await self.surveys.converse(
            sender, room_id, text
        )

    def _apply(self) -> None:
        """The file's config, with the working groups (and the web server's real port in its
        links), for everyone."""
        if self.web is not None and self.web.port is not None:
            self.file_config = with_real_port(self.file_config, self.web.port)
        self.core.file_config = self.file_config
        self.core.reconfigure(self.territories.effective(self.file_config))

    async def _on_batch(self, batch: Batch) -> None:
        """After a sync is recorded: what it changed that is not kept (devices), then the
        recorded events and the commands, each in its own loop."""
        if batch.device_changes:
            self.tasks.spawn(self.trust.on_device_changes(batch.device_changes), "trust")
        if batch.keys_arrived:
            await self.store.wake_unreadable()
        self.drain.wake.set()
        self.dispatcher.wake.set()

    async def settled(self, timeout: float = 120.0) -> None:
        """Wait until the network keeper has nothing left to reconcile."""
        await self.territories.settled(timeout)

    def reload(self) -> list[str]:
        """Re-read the config file; raises ConfigError (the old config stays) if it is wrong.
        Returns the changed settings that take effect only at the next start."""
        if self.file_config.source is None:
            return []
        self.loaded_mtime = self.file_config.source.stat().st_mtime  # the watcher's too
        new = load_config(self.file_config.source)
        later = changes_needing_restart(self.file_config, new)
        self.file_config = new
        self._apply()
        # The network is reconciled again: asked now, so that whoever waits for the keeper
        # from here on waits for that too (the capabilities' own work follows as tasks).
        self.territories.keeper.request_full()
        for c in self.capabilities:  # tasks: reload is called from sync code (a command)
            self.tasks.spawn(c.reloaded(), f"{c.name}.reloaded")
        return later

    async def _reload_from_file(self, mtime: float) -> None:
        """The file saved: read again (unless `!reload` already did); what the admins must
        know said in the control room, if it can be (the watcher never dies of it)."""
        if mtime == self.loaded_mtime:
            return
        try:
            later = self.reload()
            log.info("configuration reloaded from %s", self.file_config.source)
            if later:
                log.warning("changed settings that need a restart: %s", ", ".join(later))
                await self.control.announce("reload.restart", {"keys": ", ".join(later)})
        except ConfigError as exc:
            log.error("configuration refused: %s", exc)
            await self.control.announce("reload.error", {"error": str(exc)})

    def health(self) -> dict[str, Any]:
        return {"user_id": self.config.bot_user_id, "embedded": self.synapse is not None}

    async def run_until_stopped(self, stop: asyncio.Event) -> int:
        """Run until ``stop`` is set (exit 0) or a loop dies (exit 1)."""
        code = await self.tasks.until_one_ends(stop)
        await self.stop()
        return code

    async def stop(self) -> None:
        try:
            await self._stop()
        finally:  # whatever went wrong stopping, the data directory is free again
            if self.lock:
                self.lock.release()
                self.lock = None
            self.notifier.close()
            self.stopped.set()

    async def _stop(self) -> None:
        self.notifier.stopping()
        await self.tasks.cancel()
        if getattr(self, "dispatcher", None):
            await self.dispatcher.stop()
        for capability in reversed(self.capabilities):
            with contextlib.suppress(Exception):
                await capability.stop()
        if self.web:
            await self.web.stop()
            self.web = None
        if self.client:
            await self.client.close()
        if getattr(self, "store", None):
            await self.store.close()
        if self.synapse:
            await self.synapse.stop()
