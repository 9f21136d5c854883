"""Prometheus metrics, in a registry of the bot's own (several bots may share one process in
tests and benchmarks)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.last_sync: float | None = None
        self.sync_lag = Gauge(
            "agora_sync_lag_seconds",
            "Seconds since the last successful sync with the homeserver",
            registry=self.registry,
        )
        self.sync_lag.set_function(self.seconds_since_sync)
        self.syncs = Counter(
            "agora_syncs", "Successful sync responses processed", registry=self.registry
        )
        self.commands = Counter(
            "agora_commands", "Commands handled, by outcome", ["outcome"], registry=self.registry
        )
        self.matrix_errors = Counter(
            "agora_matrix_request_errors",
            "Matrix requests that failed, by HTTP status",
            ["status"],
            registry=self.registry,
        )
        self.jobs = Gauge(
            "agora_jobs",
            "Durable jobs by state (waiting, retrying, failed: given up)",
            ["state"],
            registry=self.registry,
        )
        self.backlog = Gauge(
            "agora_inbox_backlog",
            "Recorded events (commands and others) not handled yet",
            registry=self.registry,
        )
        self.unreadable_recovered = Counter(
            "agora_undecryptable_recovered",
            "Events first undecryptable, read once their room key came",
            registry=self.registry,
        )
        self.undecryptable = Counter(
            "agora_undecryptable_events",
            "Encrypted events the bot could not decrypt",
            registry=self.registry,
        )

    def seconds_since_sync(self) -> float:
        return float("inf") if self.last_sync is None else time.time() - self.last_sync

    def mark_synced(self) -> None:
        self.last_sync = time.time()
        self.syncs.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
