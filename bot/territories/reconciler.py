"""The I/O shell around the planner: read what the homeserver has, plan, record the actions,
apply them, and go round again until nothing is left (adopted rooms show their differences only
once they are taken over).

Crash safety: actions are written before they run and marked after. A re-run plans again from
the homeserver's real state, and a room is created through its canonical alias, so a room
created just before a crash is found by its alias and not created twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.errors import Conflict, MatrixError, UserError
from bot.homeserver.privileges import privileges_for
from bot.matrix.gateway import Gateway, path_part
from bot.matrix.ids import creators_are_privileged
from bot.store import Store
from bot.store.vetting import VettingStore
from bot.territories.desired import DesiredRoom, desired_state, server_acl
from bot.territories.planner import (
    ARCHIVED_PREFIX,
    Action,
    ActualRoom,
    creation_body,
    plan,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int], Awaitable[None]]
FAULT_ENV = "AGORA_FAULT_EXIT_AFTER_ACTIONS"  # tests only: die after N actions, as a crash would
FETCH_CONCURRENCY = 8
APPLY_CONCURRENCY = 4  # rooms changed at once; a room's own actions stay in order


class ReconcileBusy(UserError):
    key = "reconcile.busy"


@dataclass
class Outcome:
    actions: list[Action] = field(default_factory=list)  # all actions applied (or planned)
    failed: list[tuple[Action, str]] = field(default_factory=list)
    rounds: int = 0
    resumed: list[dict[str, Any]] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


class Reconciler:
    def __init__(self, config: Config, gateway: Gateway, store: Store, data_dir: Path):
        self.config = config
        self.gateway = gateway
        self.store = store
        self.lock_path = data_dir / "reconcile.lock"
        self.privileges = privileges_for(config, gateway, data_dir)  # force-joins
        self._creator_privileged: bool | None = None
        self._faults_left = int(os.environ.get(FAULT_ENV, "0") or 0)
        self._by_key: dict[str, DesiredRoom] = {}
        self._ids: dict[str, str] = {}
        self._module_states: bool | None = None  # False: the module lacks rooms/state

    # --- reading ----------------------------------------------------------------------------

    async def fetch(
        self,
        mapping: dict[str, str],
        only: set[str] | None = None,
        people: dict[str, set[str]] | None = None,
    ) -> tuple[dict[str, ActualRoom], list[str]]:
        """The state of each mapped room. ``people``: by room key, whose membership the plan
        reads; the module then answers for a hundred rooms at a time with their state but the
        members, and those people's memberships (a room's member events are most of its
        state). Otherwise, or without the module, each room's whole state (one request per
        room, a few at a time)."""
        mapping = {k: r for k, r in mapping.items() if only is None or k in only}
        if people is not None and self._module_states is not False:
            read = await self._fetch_summaries(mapping, people)
            if read is not None:
                return read
        sem = asyncio.Semaphore(FETCH_CONCURRENCY)
        actual: dict[str, ActualRoom] = {}
        unreachable: list[str] = []

        async def one(key: str, room_id: str) -> None:
            async with sem:
                try:
                    events: Any = await self.gateway.raw(
                        "GET",
                        f"/_matrix/client/v3/rooms/{path_part(room_id)}/state",
                        what=f"read {key}",
                    )
                except MatrixError as exc:
                    if exc.status in (403, 404):
                        unreachable.append(key)
                        log.error(
                            "managed room %s (%s) is out of the bot's reach: %s", key, room_id, exc
                        )
                        return
                    raise
            actual[key] = ActualRoom.from_state_events(room_id, events)

        await asyncio.gather(*(one(k, r) for k, r in mapping.items()))
        return actual, unreachable

    async def _fetch_summaries(
        self, mapping: dict[str, str], people: dict[str, set[str]]
    ) -> tuple[dict[str, ActualRoom], list[str]] | None:
        """``fetch`` through the module's ``rooms/state``; None when it is not offered (admin
        privileges, or a module older than the operation: remembered)."""
        asked = {room_id: sorted(people.get(key, ())) for key, room_id in mapping.items()}
        if not asked:
            return {}, []
        summaries = await self.privileges.room_states(asked)
        if summaries is None:
            self._module_states = False
            return None
        actual: dict[str, ActualRoom] = {}
        unreachable: list[str] = []
        for key, room_id in mapping.items():
            summary = summaries.get(room_id)
            if summary is None:
                unreachable.append(key)
                log.error("managed room %s (%s) is out of the bot's reach", key, room_id)
                continue
            actual[key] = ActualRoom.from_summary(room_id, summary.state, summary.members)
        return actual, unreachable

    async def desired(self) -> list[DesiredRoom]:
        """The declared network, with the vetted members each room is given."""
        return desired_state(
            self.config.network,
            self.config.admins,
            await VettingStore(self.store).member_infos(),
            self.config.vetting.provisioning,
            self.config.homeserver.server_name,
            self.config.federation.peer_bot_for,
        )

    async def make_plan(self, only: set[str] | None = None) -> tuple[list[Action], Outcome]:
        rooms = await self.store.managed_rooms()
        mapping = {r.key: r.room_id for r in rooms}
        archived = frozenset(r.key for r in rooms if r.archived)
        desired = await self.desired()
        if only is not None:
            desired = [d for d in desired if d.key in only]
        live = {k: v for k, v in mapping.items() if k not in archived}
        people = {d.key: {*d.member_joins, *d.member_invites, *d.invites} for d in desired}
        actual, unreachable = await self.fetch(live, only, people)
        desired = [d for d in desired if d.key not in unreachable]
        actions = plan(
            desired,
            actual,
            mapping,
            bot=self.gateway.user_id,
            server_name=self.config.homeserver.server_name,
            allowed_servers=self.config.federation.allowed_servers,
            archived=archived,
            archive_missing=True if only is None else frozenset(only),
        )
        return actions, Outcome(unreachable=unreachable)

    # --- running ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _locked(self, wait: float):
        """One reconcile at a time across processes (`agora-bot apply` beside the bot)."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ReconcileBusy() from None
                    await asyncio.sleep(0.2)
            yield
        finally:
            os.close(fd)

    async def reconcile(
        self,
        *,
        dry_run: bool = False,
        source: str = "bot",
        progress: Progress | None = None,
        only: set[str] | None = None,
        max_rounds: int = 4,
        wait_lock: float = 60.0,
    ) -> Outcome:
        if dry_run:
            actions, outcome = await self.make_plan(only)
            outcome.actions = actions
            return outcome
        async with self._locked(wait_lock):
            outcome = Outcome(resumed=await self.store.interrupted_runs())
            for run in outcome.resumed:
                log.warning(
                    "resuming after interrupted run #%s (%s of %s actions were done)",
                    run["id"],
                    run["done"],
                    run["planned"],
                )
                await self.store.finish_run(run["id"], "interrupted")
            done_before = 0
            for _ in range(max_rounds):
                actions, round_outcome = await self.make_plan(only)
                outcome.unreachable = round_outcome.unreachable
                if not actions:
                    break
                outcome.rounds += 1
                await self._run(actions, source, outcome, progress, done_before)
                done_before += len(actions)
                if outcome.failed:
                    break
            return outcome

    async def _run(
        self,
        actions: list[Action],
        source: str,
        outcome: Outcome,
        progress: Progress | None,
        offset: int,
    ) -> None:
        """Apply a plan, a few rooms at a time. Within one room actions keep their order; a
        room (or a link to it) waits until the rooms it needs exist: its parent space, or the
        child a space links to."""
        run_id = await self.store.start_run(source, [a.to_json() for a in actions])
        total = offset + len(actions)
        made = {a.key: asyncio.Event() for a in actions if a.op in ("create", "adopt")}
        by_room: dict[str, list[tuple[int, Action]]] = {}
        for seq, action in enumerate(actions):
            by_room.setdefault(action.key, []).append((seq, action))
        sem = asyncio.Semaphore(APPLY_CONCURRENCY)
        done, reported = 0, 0.0  # actions done; when progress was last reported

        async def needs(key: str | None) -> bool:
            """Wait for a room this run creates; False if its creation failed."""
            if key in made:
                await made[key].wait()
                return key in self._made_ok
            return True

        async def one(seq: int, action: Action) -> None:
            nonlocal done, reported
            parent = self._parent_of(action.key) if action.op in ("create", "adopt") else None
            ok = await needs(parent) and await needs(
                action.target if action.op == "state" else None
            )
            if action.op != "create" and action.op != "adopt":
                ok = ok and await needs(action.key)
            try:
                if not ok:
                    raise MatrixError(None, "AGORA_DEPENDENCY", "a room it needs was not made")
                async with sem:
                    await self.perform(action)
            except (MatrixError, UserError) as exc:
                error = exc.render(self.config.locale) if isinstance(exc, UserError) else str(exc)
                log.error("%s %s failed: %s", action.op, action.key, error)
                await self.store.finish_action(run_id, seq, error)
                outcome.failed.append((action, error))
                if action.key in made and action.op in ("create", "adopt"):
                    made[action.key].set()
                return
            await self.store.finish_action(run_id, seq)
            outcome.actions.append(action)
            if action.op in ("create", "adopt"):
                self._made_ok.add(action.key)
                made[action.key].set()
            self._maybe_fault()
            done += 1
            if progress and (time.monotonic() - reported > 1.0 or done == len(actions)):
                reported = time.monotonic()
                await progress(offset + done, total)

        async def room(steps: list[tuple[int, Action]]) -> None:
            for seq, action in steps:
                await one(seq, action)

        self._made_ok: set[str] = set()
        self._by_key = {d.key: d for d in await self.desired()}
        self._ids = {r.key: r.room_id for r in await self.store.managed_rooms()}
        await asyncio.gather(*(room(steps) for steps in by_room.values()))
        await self.store.finish_run(run_id, "failed" if outcome.failed else "ok")

    def _parent_of(self, key: str) -> str | None:
        d = self._by_key.get(key)
        return d.parent if d else None

    def _maybe_fault(self) -> None:
        if self._faults_left > 0:
            self._faults_left -= 1
            if self._faults_left == 0:
                log.critical("%s reached: exiting as a crash would", FAULT_ENV)
                os._exit(3)

    # --- one action -------------------------------------------------------------------------

    async def _room_id(self, key: str) -> str:
        if key in self._ids:
            return self._ids[key]
        raise MatrixError(None, "AGORA_UNMAPPED", f"{key} has no room yet")

    def _desired(self, key: str) -> DesiredRoom:
        if key in self._by_key:
            return self._by_key[key]
        raise MatrixError(None, "AGORA_UNDECLARED", f"{key} is not declared")

    async def _map(self, d: DesiredRoom, room_id: str, *, adopted: bool = False) -> None:
        await self.store.map_room(d.key, room_id, d.kind, d.territory, d.is_space, adopted=adopted)
        self._ids[d.key] = room_id

    async def creator_privileged(self) -> bool:
        """Whether rooms this server creates by default are v12+ (creators above levels)."""
        if self._creator_privileged is None:
            caps = await self.gateway.raw("GET", "/_matrix/client/v3/capabilities")
            version = str(
                caps.get("capabilities", {}).get("m.room_versions", {}).get("default", "1")
            )
            self._creator_privileged = creators_are_privileged(version)
        return self._creator_privileged

    async def perform(self, action: Action) -> None:
        gw = self.gateway
        if action.op == "create":
            await self._create(self._desired(action.key))
        elif action.op == "adopt":
            await self._adopt(self._desired(action.key), action.target or "")
        elif action.op == "state":
            room_id = await self._room_id(action.key)
            state_key = await self._room_id(action.target) if action.target else action.state_key
            if action.event_type == "m.room.canonical_alias":
                await self._ensure_alias((action.content or {})["alias"], room_id)
            await gw.put_state(room_id, action.event_type, action.content or {}, state_key)
        elif action.op == "invite":
            room_id = await self._room_id(action.key)
            try:
                await gw.invite(room_id, action.user or "")
            except MatrixError as exc:
                if "already in the room" not in exc.message and "is already" not in exc.message:
                    raise
        elif action.op == "force_join":
            await self.privileges.join(await self._room_id(action.key), action.user or "")
        elif action.op == "archive":
            await self._archive(action.key)
        else:
            raise ValueError(f"unknown action {action.op}")

    async def _create(self, d: DesiredRoom) -> None:
        server_name = self.config.homeserver.server_name
        parent_id = await self._room_id(d.parent) if d.parent else None
        body = creation_body(
            d,
            server_name,
            self.gateway.user_id,
            server_acl(server_name, self.config.federation.allowed_servers),
            parent_id,
            creator_privileged=await self.creator_privileged(),
        )
        try:
            data = await self.gateway.raw(
                "POST", "/_matrix/client/v3/createRoom", body, what=f"create {d.key}"
            )
            room_id = data["room_id"]
        except MatrixError as exc:
            if exc.errcode != "M_ROOM_IN_USE":
                raise
            # The alias exists: a room made by a run that crashed before recording it, or
            # someone else's room, which is never taken (the bot must be in it already).
            alias = f"#{d.alias_localpart}:{server_name}"
            room_id = await self.gateway.resolve(alias)
            members = await self.gateway.members(room_id)
            if members.get(self.gateway.user_id) != "join":
                raise Conflict("reconcile.alias_taken", alias=alias) from exc
            log.warning(
                "%s already exists as %s (an interrupted run made it); taking it", d.key, room_id
            )
        await self._map(d, room_id)

    async def _adopt(self, d: DesiredRoom, target: str) -> None:
        room_id = await self.gateway.resolve(target)
        try:
            await self.gateway.join(room_id)
        except MatrixError as exc:
            raise Conflict("reconcile.adopt_not_member", room=target) from exc
        events: Any = await self.gateway.raw(
            "GET", f"/_matrix/client/v3/rooms/{path_part(room_id)}/state"
        )
        actual = ActualRoom.from_state_events(room_id, events)
        power = (actual.get("m.room.power_levels") or {}).get("users", {}).get(self.gateway.user_id)
        if self.gateway.user_id not in actual.creators and power != 100:
            raise Conflict("reconcile.adopt_no_power", room=target)
        await self._map(d, room_id, adopted=True)

    async def _ensure_alias(self, alias: str, room_id: str) -> None:
        try:
            current = await self.gateway.resolve(alias)
        except MatrixError as exc:
            if exc.status != 404:
                raise
            await self.gateway.raw(
                "PUT",
                f"/_matrix/client/v3/directory/room/{path_part(alias)}",
                {"room_id": room_id},
                what=f"create alias {alias}",
            )
            return
        if current != room_id:
            raise Conflict("reconcile.alias_taken", alias=alias)

    async def _archive(self, key: str) -> None:
        room_id = await self._room_id(key)
        events: Any = await self.gateway.raw(
            "GET", f"/_matrix/client/v3/rooms/{path_part(room_id)}/state"
        )
        actual = ActualRoom.from_state_events(room_id, events)
        name = (actual.get("m.room.name") or {}).get("name", key)
        if not name.startswith(ARCHIVED_PREFIX):
            await self.gateway.put_state(room_id, "m.room.name", {"name": ARCHIVED_PREFIX + name})
        levels = dict(actual.get("m.room.power_levels") or {})
        levels["events_default"] = 100  # read-only; history stays
        levels["events"] = {**levels.get("events", {}), "m.reaction": 100}
        await self.gateway.put_state(room_id, "m.room.power_levels", levels)
        await self.gateway.put_state(room_id, "m.room.join_rules", {"join_rule": "invite"})
        for (event_type, parent_id), content in list(actual.state.items()):
            if event_type == "m.space.parent" and content:
                await self.gateway.put_state(room_id, "m.space.parent", {}, parent_id)
                with contextlib.suppress(MatrixError):  # the parent may be gone or archived
                    await self.gateway.put_state(parent_id, "m.space.child", {}, room_id)
        await self.store.set_archived(key)
        await self.store.audit(
            self.gateway.user_id, "territories.archive", "ok", room_id=room_id, detail=key
        )
