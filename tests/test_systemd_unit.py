"""systemd's notifications, as a service manager receives them: datagrams on a unix socket."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from bot.systemd import Notifier


@pytest.fixture
def manager(tmp_path: Path):
    """A unix datagram socket standing for systemd's NOTIFY_SOCKET."""
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield path, sock
    sock.close()


def test_ready_stopping_and_status_arrive_as_datagrams(manager):
    path, sock = manager
    notifier = Notifier(path)
    notifier.ready("running as @agora:example.org")
    assert sock.recv(4096).decode().split("\n") == [
        "READY=1",
        "STATUS=running as @agora:example.org",
    ]
    notifier.stopping()
    assert sock.recv(4096).decode().split("\n")[0] == "STOPPING=1"
    notifier.close()


async def test_the_watchdog_is_fed_at_half_its_interval(manager):
    path, sock = manager
    notifier = Notifier.from_environment(
        {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": str(os.getpid())}
    )
    assert notifier.watchdog == 0.2
    task = asyncio.create_task(notifier.keep_alive())
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    started = loop.time()
    pings = []
    while len(pings) < 4:
        pings.append(await asyncio.wait_for(loop.sock_recv(sock, 4096), 5))
    elapsed = loop.time() - started
    task.cancel()
    assert set(pings) == {b"WATCHDOG=1"}
    assert 0.25 <= elapsed < 2  # 4 pings, 0.1 s apart
    notifier.close()


def test_the_variables_are_taken_out_of_the_environment_for_children(manager):
    path, _ = manager
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000", "PATH": "/bin"}
    notifier = Notifier.from_environment(env)
    assert env == {"PATH": "/bin"}  # the embedded Synapse does not notify in our name
    assert notifier.enabled and notifier.watchdog == 30.0
    notifier.close()
    other = Notifier.from_environment(
        {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1", "WATCHDOG_PID": "1"}
    )
    assert other.watchdog is None  # the watchdog is another process's
    other.close()


def test_without_systemd_nothing_is_sent():
    notifier = Notifier.from_environment({})
    assert not notifier.enabled
    assert notifier.notify("READY=1") is False


def test_a_vanished_manager_does_not_break_the_bot(tmp_path: Path):
    notifier = Notifier(str(tmp_path / "gone"))
    assert notifier.notify("WATCHDOG=1") is False
    assert notifier.notify("WATCHDOG=1") is False


def test_abstract_socket_addresses():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"agora-test-{os.getpid()}"
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        Notifier("@" + name).ready("ok")
        assert sock.recv(4096).startswith(b"READY=1")
    finally:
        sock.close()
