"""Prometheus metrics, in a registry of the bot's own (several bots may share one process in
tests and benchmarks).

Counters count what happened since the start; gauges read from the store (jobs, the inbox)
are brought up to date by ``refresh`` just before each scrape, and every minute besides.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Info, generate_latest

from bot.version import version

log = logging.getLogger(__name__)

JOB_STATES = ("waiting", "retrying", "failed", "done", "cancelled")
REMOVAL_REASONS = ("not_allowed", "banned")


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.started = time.time()
        self.last_sync: float | None = None
        self._refreshers: list[Callable[[], Awaitable[None]]] = []
        Info("agora_build", "The running Agora's version", registry=registry).info(
            {"version": version(), "python": platform.python_version()}
        )
        self.last_sync_time = Gauge(
            "agora_last_sync_timestamp_seconds",
            "When the last successful sync with the homeserver was processed (Unix time; "
            "0 before the first)",
            registry=registry,
        )
        self.last_sync_time.set_function(lambda: self.last_sync or 0.0)
        self.sync_lag = Gauge(
            "agora_sync_lag_seconds",
            "Seconds since the last successful sync with the homeserver (before the first: "
            "since the bot started)",
            registry=registry,
        )
        self.sync_lag.set_function(lambda: time.time() - (self.last_sync or self.started))
        self.syncs = Counter(
            "agora_syncs", "Successful sync responses processed", registry=registry
        )
        self.commands = Counter(
            "agora_commands", "Commands handled, by outcome", ["outcome"], registry=registry
        )
        self.matrix_errors = Counter(
            "agora_matrix_request_errors",
            "Matrix requests that failed, by HTTP status",
            ["status"],
            registry=registry,
        )
        self.jobs = Gauge(
            "agora_jobs",
            "Durable jobs by state (waiting, retrying, failed: given up, done: kept until "
            "jobs.keep_done, cancelled)",
            ["state"],
            registry=registry,
        )
        for state in JOB_STATES:
            self.jobs.labels(state=state)
        self.backlog = Gauge(
            "agora_inbox_backlog",
            "Recorded events (commands and others) not handled yet",
            registry=registry,
        )
        self.unreadable_recovered = Counter(
            "agora_undecryptable_recovered",
            "Events first undecryptable, read once their room key came",
            registry=registry,
        )
        self.undecryptable = Counter(
            "agora_undecryptable_events",
            "Encrypted events the bot could not decrypt",
            registry=registry,
        )
        self.feed_failures = Counter(
            "agora_feed_fetch_failures",
            "Feed fetches that failed, by reason (timeout, http, not_a_feed, …)",
            ["reason"],
            registry=registry,
        )
        self.enforcement_removals = Counter(
            "agora_enforcement_removals",
            "People enforcement removed from managed rooms, by reason (not_allowed: not "
            "vetted or not given the room; banned: a ban rule)",
            ["reason"],
            registry=registry,
        )
        for reason in REMOVAL_REASONS:
            self.enforcement_removals.labels(reason=reason)
        self.web_forms = Counter(
            "agora_web_form_posts",
            "Posts of the web join form and of its email confirmation page, by form and result",
            ["form", "result"],
            registry=registry,
        )
        self.webhooks = Counter(
            "agora_webhook_requests",
            "Webhook requests (POST /hooks/…), by hook and result",
            ["hook", "result"],
            registry=registry,
        )

    def seconds_since_sync(self) -> float:
        """For /healthz: infinite before the first sync (never healthy until then)."""
        return float("inf") if self.last_sync is None else time.time() - self.last_sync

    def mark_synced(self) -> None:
        self.last_sync = time.time()
        self.syncs.inc()

    def refresh_with(self, refresher: Callable[[], Awaitable[None]]) -> None:
        """``refresher`` brings gauges read from elsewhere (the store) up to date."""
        self._refreshers.append(refresher)

    async def refresh(self) -> None:
        for refresher in self._refreshers:
            try:
                await refresher()
            except Exception:  # a scrape still answers, with the values of the last refresh
                log.exception("refreshing the metrics failed")

    def render(self) -> bytes:
        return generate_latest(self.registry)
