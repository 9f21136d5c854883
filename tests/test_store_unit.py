"""The store: migrations, inbox de-duplication, refusal of a newer database."""

import asyncio
import time

import pytest

from bot import effects
from bot.moderation.control_room import power_levels_plan
from bot.store import InboxRow, Store, StoreTooNew
from bot.store.migrations import MIGRATIONS


async def test_migrations_are_recorded_and_idempotent(tmp_path):
    store = await Store.open(tmp_path / "a.db")
    assert await store.version() == len(MIGRATIONS)
    await store.close()
    store = await Store.open(tmp_path / "a.db")  # second open applies nothing
    assert await store.version() == len(MIGRATIONS)
    async with store.db.execute("PRAGMA journal_mode") as cur:
        assert (await cur.fetchone())[0] == "wal"
    await store.close()


async def test_a_database_newer_than_the_code_is_refused(tmp_path):
    store = await Store.open(tmp_path / "a.db")
    await store.db.execute("INSERT INTO schema_version VALUES (?, 0)", (len(MIGRATIONS) + 1,))
    await store.close()
    with pytest.raises(StoreTooNew):
        await Store.open(tmp_path / "a.db")


async def test_inbox_records_each_event_once_with_the_token(tmp_path):
    store = await Store.open(tmp_path / "a.db")
    row = InboxRow("$e1", "!r", "@a:x", "!ping", True, 1)
    assert await store.record_events([row], "t1") == 1
    assert await store.record_events([row], "t2") == 0  # the same event again: ignored
    assert await store.get("sync_token") == "t2"
    assert [r.event_id for r in await store.pending_events()] == ["$e1"]
    await store.finish_event("$e1", "ok")
    assert await store.pending_events() == []
    assert await store.record_events([row], "t3") == 0  # a finished one never comes back
    assert await store.pending_events() == []
    await store.close()


async def test_a_commands_reaction_is_owed_with_its_outcome_until_sent(tmp_path):
    store = await Store.open(tmp_path / "a.db")
    rows = [InboxRow(f"$e{n}", "!r", "@a:x", "!ping", True, n) for n in range(3)]
    await store.record_events(rows, "t1")
    await store.finish_event("$e0", "ok", react="✅")
    await store.finish_event("$e1", "refused", react="❌")
    await store.finish_event("$e2", "conversation", keep_text=False)  # no reaction owed
    assert await store.owed_reactions() == [("!r", "$e0", "✅"), ("!r", "$e1", "❌")]
    await store.reacted(["$e0"])
    assert await store.owed_reactions() == [("!r", "$e1", "❌")]
    await store.close()
    store = await Store.open(tmp_path / "a.db")  # still owed after a restart
    assert await store.owed_reactions() == [("!r", "$e1", "❌")]
    await store.close()


async def test_a_conversations_message_is_never_kept_even_where_commands_are(tmp_path):
    store = await Store.open(tmp_path / "a.db")
    store.keep_command_text = 86400.0  # an operator keeps commands' text a day
    rows = [
        InboxRow("$c", "!dm", "@a:x", "!ping", True, 1),
        InboxRow("$a", "!dm", "@a:x", "3", True, 2),
    ]
    await store.record_events(rows, "t1")
    await store.finish_event("$c", "ok")
    await store.finish_event("$a", "conversation", keep_text=False)  # a survey's answer
    async with store.db.execute("SELECT event_id, body FROM inbox ORDER BY event_id") as cur:
        assert [tuple(r) for r in await cur.fetchall()] == [("$a", ""), ("$c", "!ping")]
    await store.close()


def test_power_level_plan_puts_admins_at_100_and_leaves_v12_creators_out():
    current = {"users": {"@agora:x": 100, "@m:x": 0}}
    plan = power_levels_plan(current, "@agora:x", ("@a:x",))
    assert plan["users"] == {"@agora:x": 100, "@a:x": 100}
    assert power_levels_plan(plan, "@agora:x", ("@a:x",)) is None
    v12 = power_levels_plan({"users": {}}, "@agora:x", ("@a:x",), frozenset({"@agora:x"}))
    assert v12["users"] == {"@a:x": 100}


def test_power_level_plan_lowers_whoever_is_no_longer_an_admin():
    current = {"users": {"@agora:x": 100, "@a:x": 100, "@gone:x": 100}}
    plan = power_levels_plan(current, "@agora:x", ("@a:x",), frozenset({"@agora:x"}))
    assert plan["users"] == {"@a:x": 100}


async def test_concurrent_tasks_never_share_a_transaction(tmp_path):
    """The sync loop, the dispatcher and the reconciler write at once on one connection."""
    import asyncio

    store = await Store.open(tmp_path / "a.db")

    async def sync_loop():
        for i in range(30):
            await store.record_events([InboxRow(f"$e{i}", "!r", "@a:x", "!ping", True, i)], f"t{i}")

    async def dispatcher():
        for i in range(30):
            await store.audit("@a:x", "ping", "ok", detail=str(i))
            await store.finish_event(f"$e{i}", "ok")

    async def reconciler():
        for i in range(10):
            run = await store.start_run("test", [{"key": f"k{i}", "op": "create"}])
            await store.map_room(f"k{i}", f"!r{i}:x", "community", "t", False)
            await store.finish_action(run, 0)
            await store.finish_run(run, "ok")

    await asyncio.gather(sync_loop(), dispatcher(), reconciler())
    assert await store.get("sync_token") == "t29"
    assert len(await store.audit_entries(100)) == 30
    assert len(await store.managed_rooms()) == 10
    assert await store.interrupted_runs() == []
    await store.close()


async def test_jobs_retry_with_backoff_then_give_up_and_report(tmp_path):
    from bot.scheduler import JobRunner

    store = await Store.open(tmp_path / "a.db")
    async with store.transaction() as db:
        await store.add_job(db, "flaky", {"n": 1})
        await store.add_job(db, "fine", {"n": 2})
    calls, reports = [], []

    async def flaky(payload):
        calls.append(payload)
        raise RuntimeError("homeserver said no")

    async def fine(payload):
        calls.append(payload)

    async def report(job_id, kind, payload, ref):
        reports.append((kind, payload))

    runner = JobRunner(store, {"flaky": flaky, "fine": fine}, report, max_attempts=2)
    assert await runner.run_due() == 1  # the fine one; the flaky one waits for its retry
    assert await runner.run_due() == 0  # not due yet: it backs off
    await store.db.execute("UPDATE jobs SET next_at = 0")
    await runner.run_due()
    assert reports == [("flaky", {"n": 1})]  # given up after max_attempts, and reported
    assert await store.due_jobs() == []
    assert calls.count({"n": 1}) == 2 and calls.count({"n": 2}) == 1
    await store.close()


async def test_a_job_the_homeserver_is_away_for_is_retried_as_long_as_it_takes(tmp_path):
    """Connection errors, 5xx and 429 never exhaust a job's tries (an outage ends); the wait
    between tries grows to max_backoff and no further."""
    from bot.errors import MatrixError, MatrixUnavailable
    from bot.scheduler import JobRunner

    store = await Store.open(tmp_path / "a.db")
    async with store.transaction() as db:
        await store.add_job(db, "revoke", {"n": 1})
    failures = [MatrixUnavailable("down"), MatrixError(502, None, "bad gateway")] * 6
    failures.append(MatrixError(429, "M_LIMIT_EXCEEDED", "slow down"))
    reports = []

    async def revoke(payload):
        if failures:
            raise failures.pop(0)

    async def report(job_id, kind, payload, ref):
        reports.append(job_id)

    runner = JobRunner(store, {"revoke": revoke}, report, max_attempts=2)
    runner.max_backoff = 40.0
    delays = []
    for _ in range(13):
        assert await runner.run_due() == 0
        async with store.db.execute("SELECT next_at - ?, status FROM jobs", (time.time(),)) as cur:
            wait, status = await cur.fetchone()
        assert status == "pending"
        delays.append(wait)
        await store.db.execute("UPDATE jobs SET next_at = 0")
    assert max(delays) <= 40.0 and delays[-1] > 39.0 and delays[0] < 6.0
    assert await runner.run_due() == 1 and reports == []
    async with store.db.execute("SELECT status, attempts FROM jobs") as cur:
        assert tuple(await cur.fetchone()) == ("done", 13)
    await store.close()


async def test_an_urgent_job_never_waits_behind_a_queue_of_lesser_ones(tmp_path):
    from bot.scheduler import JobRunner

    store = await Store.open(tmp_path / "a.db")
    async with store.transaction() as db:
        for n in range(6):
            await store.add_job(db, "tell", {"n": n})
    release = asyncio.Event()
    started: list[str] = []

    async def tell(payload):
        started.append(f"tell{payload['n']}")
        await release.wait()

    async def provision(payload):
        started.append("provision")

    runner = JobRunner(store, {"tell": tell, "provision": provision}, None, concurrency=4)
    runner.priorities["tell"] = 1
    task = asyncio.create_task(runner.run())
    for _ in range(100):
        if len(started) >= 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert started == ["tell0", "tell1"]  # lesser jobs take half the slots at most
    async with store.transaction() as db:
        await store.add_job(db, "provision", {})
    runner.kick()
    for _ in range(100):
        if "provision" in started:
            break
        await asyncio.sleep(0.01)
    assert started[-1] == "provision"  # at once, while the lesser ones still hold their slots
    release.set()
    for _ in range(200):
        if not await store.due_jobs():
            break
        await asyncio.sleep(0.01)
    assert await store.due_jobs() == [] and len(started) == 7
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await store.close()


async def test_a_command_withdrawn_before_it_ran_is_not_run(tmp_path):
    store = await Store.open(tmp_path / "a.db")
    first = InboxRow("$c1", "!r", "@a:x", "!approve 3", True, 1)
    second = InboxRow("$c2", "!r", "@a:x", "!ping", True, 2)
    withdrawal = ("redaction", "!r", "$w1", {"redacts": "$c1"})
    elsewhere = ("redaction", "!other", "$w2", {"redacts": "$c2"})  # not the same room
    await store.record_events([first, second], "t1", events=[withdrawal, elsewhere])
    assert [r.event_id for r in await store.pending_events()] == ["$c2"]
    assert await store.command_outcome("$c1") == "redacted"
    # Once begun (a retry after an outage), a command is carried through.
    await store.retry_command("$c2", 0)
    await store.record_events([], "t2", events=[("redaction", "!r", "$w3", {"redacts": "$c2"})])
    assert [r.event_id for r in await store.pending_events()] == ["$c2"]
    await store.close()


async def test_a_commands_first_outcome_is_kept_for_its_rerun_only(tmp_path):
    from bot import effects

    store = await Store.open(tmp_path / "a.db")
    with effects.caused_by("event:$cmd"):
        assert await store.earlier_outcome("revoke") == (False, None)
        async with store.transaction() as db:
            await store.keep_outcome(db, "revoke", True)
        assert await store.earlier_outcome("revoke") == (True, True)
        assert await store.earlier_outcome("group") == (False, None)
    with effects.caused_by("event:$other"):
        assert await store.earlier_outcome("revoke") == (False, None)
    assert await store.earlier_outcome("revoke") == (False, None)  # no cause: nothing kept
    await store.record_events([InboxRow("$cmd", "!r", "@a:x", "!revoke", True, 1)], "t")
    assert await store.prune(keep_done=-1) == 0  # its command still pending: kept
    await store.finish_event("$cmd", "ok")
    assert await store.prune(keep_done=-1) >= 1
    with effects.caused_by("event:$cmd"):
        assert await store.earlier_outcome("revoke") == (False, None)
    await store.close()


async def test_a_recurring_job_runs_again_on_the_schedulers_clock_as_one_row(tmp_path):
    """A feed's poll: the same job row, due again when its handler says, on the clock the
    tests move; never two of it, even when run again after a crash."""
    from bot.scheduler import Again, JobRunner

    store = await Store.open(tmp_path / "a.db")
    async with store.transaction() as db:
        await store.add_job(db, "poll", {"feed": 1})
    polls: list[float] = []
    causes: list[str | None] = []
    runner = JobRunner(store, {})
    runner.pools["poll"] = 1

    async def poll(payload):
        polls.append(runner.clock())
        causes.append(effects.current().key if effects.current() else None)
        return Again(runner.clock() + 1800) if len(polls) < 3 else None

    runner.handlers["poll"] = poll
    assert await runner.run_due() == 1
    assert await runner.run_due() == 0  # due in half an hour, not now
    runner.advance(1800)
    assert await runner.run_due() == 1
    assert len(await store.pending_jobs("poll")) == 1  # one row throughout
    assert await runner.open_jobs() == []  # waiting as it should: not an admin's concern
    runner.advance(1800)
    assert await runner.run_due() == 1  # the third poll ends it
    assert await store.pending_jobs("poll") == []
    assert polls[1] - polls[0] >= 1800 and polls[2] - polls[1] >= 1800
    # Each run sends as a cause of its own: a notice said again the next day is said.
    assert causes == ["job:1", "job:1.1", "job:1.2"]
    await store.close()


async def test_events_go_to_the_first_capability_that_takes_them():
    from bot.capability import Router

    seen: list[str] = []
    router = Router()

    async def declines(event):
        seen.append("declines")
        return False

    async def takes(event):
        seen.append("takes")
        return True

    async def never(event):
        seen.append("never")
        return True

    for handler in (declines, takes, never):
        router.add(str, handler)
    assert await router.route("an invite") and seen == ["declines", "takes"]
    assert not await router.route(42)  # nobody wants an int


async def test_admins_retry_or_cancel_an_open_job_and_only_an_open_one(tmp_path):
    """What `!jobs retry|cancel` asks of the scheduler, on a real store."""
    from bot.errors import Conflict, NotFound
    from bot.scheduler import JobRunner

    store = await Store.open(tmp_path / "a.db")
    async with store.transaction() as db:
        await store.add_job(db, "tell", {"n": 1})
        await store.add_job(db, "tell", {"n": 2})
    runner = JobRunner(store, {})

    async def broken(payload):
        raise RuntimeError("a bug")

    runner.handlers["tell"] = broken
    runner.max_attempts = 1
    await runner.run_due()  # both given up at once
    assert [(j.status, j.attempts) for j in await runner.open_jobs()] == [("failed", 1)] * 2
    retried = await runner.retry_now(1, "@admin:x")
    assert retried.kind == "tell" and (await store.job(1)).status == "pending"
    assert (await runner.cancel(2, "@admin:x")).kind == "tell"
    with pytest.raises(Conflict):
        await runner.cancel(2, "@admin:x")  # cancelled already
    with pytest.raises(NotFound):
        await runner.retry_now(99, "@admin:x")
    assert [e["action"] for e in await store.audit_entries()][:2] == ["jobs.cancel", "jobs.retry"]
    await store.close()


async def test_every_live_feed_has_exactly_one_poll_job(tmp_path):
    from bot.store.news import FeedStore, NewFeed

    store = await Store.open(tmp_path / "a.db")
    feeds = FeedStore(store)
    async with store.transaction() as db:
        for n in range(3):
            feed = NewFeed(f"https://x.example/{n}.xml", "vaucluse", ("announcements",), 1800,
                           None, False)  # fmt: skip
            await FeedStore.add_feed(db, feed, origin="command", by="@a:x", now=0)
        await FeedStore.remove_feed(db, 3)
    added = await asyncio.gather(*(feeds.ensure_polled("news.poll") for _ in range(3)))
    assert sorted(added) == [0, 0, 2]  # two live feeds, whoever asks first
    jobs = await store.pending_jobs("news.poll")
    assert sorted(j["feed"] for j in jobs) == [1, 2]
    assert await feeds.first_poll_job("news.poll", 1) is not None
    await store.close()
