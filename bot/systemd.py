"""systemd's service notifications (sd_notify(3)), spoken directly: one datagram a message on
the unix socket ``$NOTIFY_SOCKET`` names. ``READY=1`` once the bot serves (``Type=notify``),
``WATCHDOG=1`` from the event loop at half ``$WATCHDOG_USEC`` (``WatchdogSec=``: a loop that
stalls gets the service restarted), ``STOPPING=1`` when it stops, ``STATUS=`` lines for
``systemctl status``. Outside systemd (no ``$NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import MutableMapping

log = logging.getLogger(__name__)

ENV_SOCKET, ENV_WATCHDOG_USEC, ENV_WATCHDOG_PID = "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"


class Notifier:
    def __init__(self, address: str | None, watchdog: float | None = None):
        # An address starting with @ is in the abstract namespace (a leading NUL byte).
        self.address = "\0" + address[1:] if address and address.startswith("@") else address
        self.watchdog = watchdog  # seconds systemd waits for WATCHDOG=1; none: no watchdog
        self._sock: socket.socket | None = None
        self._failed = False
        if self.address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.setblocking(False)  # the event loop never waits on systemd

    @classmethod
    def from_environment(cls, env: MutableMapping[str, str] | None = None) -> Notifier:
        """The notifier systemd's variables describe, taken out of the environment so that
        child processes (the embedded Synapse, which would notify too) do not inherit them."""
        env = os.environ if env is None else env
        address = env.pop(ENV_SOCKET, None)
        usec, pid = env.pop(ENV_WATCHDOG_USEC, None), env.pop(ENV_WATCHDOG_PID, None)
        watchdog = None
        if usec and usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            watchdog = int(usec) / 1_000_000
        return cls(address, watchdog)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, *lines: str) -> bool:
        """Send ``lines`` (``READY=1``, ``STATUS=…``) as one message; False if not sent."""
        if self._sock is None or self.address is None:
            return False
        try:
            self._sock.sendto("\n".join(lines).encode(), self.address)
        except OSError as exc:
            if not self._failed:  # said once: a supervisor that went away is not news
                log.warning("cannot notify systemd at %s: %s", self.address, exc)
                self._failed = True
            return False
        return True

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")

    def ready(self, status: str) -> None:
        self.notify("READY=1", f"STATUS={status}")

    def stopping(self) -> None:
        self.notify("STOPPING=1", "STATUS=stopping")

    async def keep_alive(self) -> None:
        """``WATCHDOG=1`` at half the watchdog's interval, for as long as the loop runs."""
        if self.watchdog is None or not self.enabled:
            await asyncio.Event().wait()  # nothing to do: a loop that never ends
        assert self.watchdog is not None
        while True:
            self.notify("WATCHDOG=1")
            await asyncio.sleep(self.watchdog / 2)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
