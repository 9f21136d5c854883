"""The metrics an operator scrapes: finite before the first sync, the version, and /metrics on
a loopback listener of its own when asked."""

from __future__ import annotations

import dataclasses
import math

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.config import WebConfig
from bot.metrics import Metrics
from bot.version import version
from bot.web.server import WebServer


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_before_the_first_sync_nothing_reads_infinite():
    metrics = Metrics()
    found = samples(metrics.render().decode())
    assert found[("agora_last_sync_timestamp_seconds", ())] == 0.0
    lag = found[("agora_sync_lag_seconds", ())]
    assert math.isfinite(lag) and 0 <= lag < 60  # since the start
    assert math.isinf(metrics.seconds_since_sync())  # /healthz: not healthy yet
    metrics.mark_synced()
    found = samples(metrics.render().decode())
    assert found[("agora_last_sync_timestamp_seconds", ())] == metrics.last_sync
    assert found[("agora_sync_lag_seconds", ())] < 5


def test_build_info_names_the_version():
    found = samples(Metrics().render().decode())
    infos = [labels for (name, labels), _ in found.items() if name == "agora_build_info"]
    assert len(infos) == 1 and ("version", version()) in infos[0]


def test_jobs_by_every_state_and_removals_by_every_reason_start_at_zero():
    found = samples(Metrics().render().decode())
    for state in ("waiting", "retrying", "failed", "done", "cancelled"):
        assert found[("agora_jobs", (("state", state),))] == 0
    for reason in ("banned", "not_allowed"):
        assert found[("agora_enforcement_removals_total", (("reason", reason),))] == 0


@dataclasses.dataclass
class Bot:
    metrics: Metrics

    def health(self) -> dict:
        return {}


async def test_metrics_on_a_listener_of_their_own():
    bot = Bot(Metrics())
    refreshed = []

    async def refresh() -> None:
        refreshed.append(True)
        bot.metrics.backlog.set(7)

    bot.metrics.refresh_with(refresh)
    config = WebConfig(port=0, metrics_port=0)
    server = WebServer(bot, config)
    await server.start()
    try:
        assert server.metrics_port not in (None, 0, server.port)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{server.metrics_port}/metrics") as resp:
                assert resp.status == 200
                assert samples(await resp.text())[("agora_inbox_backlog", ())] == 7
            async with http.get(f"http://127.0.0.1:{server.port}/metrics") as resp:
                assert resp.status == 404  # not beside what a reverse proxy may publish
            async with http.get(f"http://127.0.0.1:{server.port}/healthz") as resp:
                assert resp.status == 503  # no sync yet
    finally:
        await server.stop()
    assert refreshed == [True]  # the store's gauges read at the scrape
