"""What a capability is (territories, moderation, federation, vetting, animation, news…) and
what it gets from the application: the core.

A capability says in one place what it needs and what it offers, as a maubot plugin or a
Draupnir protection does::

    class News(Capability):
        name = "news"
        commands = ("bot.commands.news",)       # the command modules it serves

        def __init__(self, core: Core) -> None:  # gateway, store, clock, jobs: nothing more
            super().__init__(core)
            self.jobs = {DELIVER_JOB: self.broadcaster.deliver}   # durable jobs it runs
            self.events = {Reaction: self.on_reaction}            # typed events it wants

        async def start(self) -> None: ...

The application builds capabilities in order (a later one may be given an earlier one), routes
events and jobs through one table each, starts them in order and stops them in reverse.
Nobody fills another object's handler table or patches a callback into it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from bot.config import Config
from bot.matrix import markup
from bot.matrix.content import notice
from bot.matrix.direct import DirectChats
from bot.matrix.gateway import Gateway
from bot.metrics import Metrics
from bot.moderation.control_room import ControlRoom
from bot.moderation.trust import DeviceTrust
from bot.scheduler import Clock, Handler, JobRunner
from bot.store import Store

log = logging.getLogger(__name__)

# An event handler: True when it took the event (the next ones are not asked), None or
# False to let the others see it. Matrix events go to the first taker (an invitation is
# accepted once); events between capabilities (``MemberProvisioned``) go to all.
EventHandler = Callable[[Any], Awaitable[bool | None]]


class Router:
    """One table from event types to handlers, in the order capabilities were built."""

    def __init__(self) -> None:
        self.routes: dict[type, list[EventHandler]] = {}

    def add(self, kind: type, handler: EventHandler) -> None:
        self.routes.setdefault(kind, []).append(handler)

    async def route(self, event: Any) -> bool:
        """Hand ``event`` to its handlers until one takes it; whether one did."""
        for handler in self.routes.get(type(event), ()):
            if await handler(event):
                return True
        return False

    async def broadcast(self, event: Any) -> None:
        """Hand ``event`` to every handler of its type, in order."""
        for handler in self.routes.get(type(event), ()):
            await handler(event)


@dataclass
class Core:
    """What every capability gets from the application, and nothing more."""

    config: Config  # the effective config now: a reload (or a new group) replaces it
    file_config: Config  # as the file says it (``config`` adds the working groups)
    gateway: Gateway
    store: Store
    jobs: JobRunner
    control: ControlRoom
    direct: DirectChats
    trust: DeviceTrust
    metrics: Metrics
    router: Router
    data_dir: Path
    capabilities: list[Capability] = field(default_factory=list)

    @classmethod
    def open(
        cls, config: Config, gateway: Gateway, store: Store, metrics: Metrics, data_dir: Path
    ) -> Core:
        """The core around a connected gateway: the control room (its keys only for admins'
        devices their identity signed), device trust, direct chats, the jobs, the router."""
        control = ControlRoom(config, gateway, store)
        trust = DeviceTrust(config, gateway, store, control)
        gateway.restrict_room_keys(
            lambda: (control.room_id,) if control.room_id else (), trust.may_read_control
        )
        jobs = JobRunner(store, {})
        direct = DirectChats(gateway, store)
        markup.COMMAND_PREFIX = config.commands.prefix  # commands shown as code
        return cls(
            config, config, gateway, store, jobs, control, direct, trust, metrics, Router(),
            data_dir,
        )  # fmt: skip

    def plug(self, capabilities: list[Capability]) -> None:
        """The capabilities, in order: their events routed, their jobs run."""
        self.capabilities = capabilities
        for capability in capabilities:
            for kind, handler in capability.events.items():
                self.router.add(kind, handler)
            self.jobs.handlers.update(capability.jobs)
            self.jobs.priorities.update(capability.job_priorities)
            self.jobs.pools.update(capability.job_pools)

    def reconfigure(self, config: Config) -> None:
        """A new effective config, for the core and every capability, at once."""
        self.config = config
        markup.COMMAND_PREFIX = config.commands.prefix
        for holder in (self.control, self.trust):
            holder.config = config
        self.jobs.configure(config.jobs)
        self.store.keep_command_text = config.privacy.keep_command_text
        for capability in self.capabilities:
            capability.configure(config)

    async def language(self, user_id: str) -> str:
        """The language to write to ``user_id`` in: theirs (``!langue``, else their request's),
        else the region's."""
        return await self.store.language_of(user_id) or self.config.locale

    @property
    def clock(self) -> Clock:
        return self.jobs.clock

    def wake_jobs(self) -> None:
        self.jobs.kick()

    async def publish(self, event: Any) -> None:
        """An event between capabilities (a member provisioned, removed): every capability
        that wants it acts on it now, in the caller's job or command (a failure there makes
        the caller's work retried)."""
        await self.router.broadcast(event)

    async def tell(self, user_id: str, text: str) -> None:
        """A notice to one person in their direct chat with the bot (opened if none)."""
        room_id = await self.direct.room_for(user_id)
        await self.gateway.send(room_id, notice(text))


class Capability:
    """The interface every capability implements; the defaults do nothing."""

    name: ClassVar[str]
    # The command modules (``bot.commands.x``) whose handlers get this capability as their
    # services (each module declares, as a Protocol, the part of it that it uses).
    commands: ClassVar[tuple[str, ...]] = ()

    def __init__(self, core: Core) -> None:
        self.core = core
        self.jobs: dict[str, Handler] = {}
        self.job_priorities: dict[str, int] = {}  # higher waits behind the others
        self.job_pools: dict[str, int] = {}  # recurring kinds with slots of their own
        self.events: dict[type, EventHandler] = {}

    @property
    def config(self) -> Config:
        return self.core.config

    def configure(self, config: Config) -> None:
        """A new effective config (``core.config`` is it already): the capability's objects
        that keep one of their own get it."""
        for holder in self.holders():
            holder.config = config

    def holders(self) -> list[Any]:
        """Objects of the capability that keep their own ``config``."""
        return []

    async def start(self) -> None:
        """Make sure of what the capability keeps (rooms, rows), before the loops run."""

    def loops(self) -> dict[str, Coroutine[Any, Any, None]]:
        """Long-running work of its own, by name (the bot stops if one ends)."""
        return {}

    async def started(self) -> None:
        """Once every capability has started: what may take long (peers over federation)."""

    async def reloaded(self) -> None:
        """The config file was read again (``core.config`` is the new one): what it declares
        now, made so (in the background: a peer region may be slow)."""

    async def stop(self) -> None:
        """Let go of what ``start`` took (worker processes, sessions)."""
