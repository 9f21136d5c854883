"""A feed's parsing runs in a worker with a time limit; fetches refuse non-public addresses."""

import asyncio
import time

import pytest

from bot.news.fetch import FetchError, check_url, public_address
from bot.news.isolation import FeedParser
from tests.feedserver import rss


def hostile_feed(size: int = 900_000) -> bytes:
    """Many tiny entries under the size cap: slow to parse, quick to send."""
    item = "<item><title>x</title><description>&lt;b&gt;y&lt;/b&gt;</description></item>"
    n = size // len(item)
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
        + item * n
        + "</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    "address,public",
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),
        ("::ffff:127.0.0.1", False),
        ("64:ff9b::a00:1", False),
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b::5db8:d822", True),
        ("64:ff9b:1::1", False),
        ("2002:7f00:1::1", False),
        ("2002:5db8:d822::1", True),
        ("::127.0.0.1", False),
    ],
)
def test_only_public_unicast_addresses_are_reachable(address, public):
    assert public_address(address) is public


def test_urls_naming_local_addresses_are_refused_unless_allowed():
    for url in (
        "http://127.0.0.1/x",
        "http://[::1]/x",
        "http://localhost/x",
        "ftp://a.org/x",
        "http://intranet.local/x",
        "http://10.0.0.8/feed",
    ):
        with pytest.raises(FetchError):
            check_url(url, ())
    check_url("http://10.0.0.8/feed", ("10.0.0.8",))
    check_url("https://www.ars.sante.fr/rss.xml", ())


async def test_a_hostile_feed_costs_a_worker_its_time_not_the_loop():
    parser = FeedParser(time_limit=0.3)
    ticks = 0
    stop = asyncio.Event()

    async def ticker():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    try:
        good = await parser.parse(rss([("a", "Canicule", "<b>plan</b><script>x</script>", 2)]), "")
        assert good.entries[0].title == "Canicule"
        assert "<script>" not in good.entries[0].summary_html  # sanitised in the worker
        task = asyncio.create_task(ticker())
        started = time.monotonic()
        with pytest.raises(FetchError) as refused:
            await parser.parse(hostile_feed(), "application/rss+xml")
        elapsed = time.monotonic() - started
        stop.set()
        await task
        assert refused.value.key == "parse_timeout"
        # The loop kept running meanwhile (blocked, it would have ticked once at most).
        assert ticks >= 5 and elapsed >= 0.3
        # The killed worker is replaced: the next feed parses.
        again = await parser.parse(rss([("b", "Retour", "", 3)]), "")
        assert again.entries[0].title == "Retour"
    finally:
        parser.close()
