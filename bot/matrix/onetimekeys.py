"""The bot's one-time keys (Olm), uploaded as nio would, and numbered past the ones a later
state of the same account left on the homeserver.

A bot restored from a backup has its account as it was then; the bot that ran on after
the backup uploaded newer keys, some still on the homeserver. The restored account would
number its next keys the same, and the homeserver refuses a key id it already holds with
other key material ("One time key … already exists"): the bot could never replace the keys
people take, and would retry at every sync. On that refusal the account's counter is moved
on (keys made and set aside, never uploaded) until the ids are new. The ones the homeserver
still holds from after the backup are lost to the bot: a device that takes one makes a
session the bot cannot read, which nio then mends (``unwedging``)."""

from __future__ import annotations

import logging
from typing import Any

from bot.errors import MatrixError

log = logging.getLogger(__name__)

# Keys skipped at each refusal in turn. The account keeps its newest 5,000 keys: the first
# skips (4,800 in all) never push out the keys it uploaded before the backup, which the
# homeserver still hands out; the last ones, for a bot that handed out more since, do.
SKIPS = (100, 900, 3_800, 20_000, 100_000)


def clash(exc: MatrixError) -> bool:
    """The homeserver already holds a one-time key of that id, with other key material."""
    return exc.status == 400 and "One time key" in exc.message and "already exists" in exc.message


async def upload(gateway: Any) -> None:
    """Upload the device's keys (identity keys at first, one-time keys to the count nio
    keeps), moving past the ids the homeserver already holds."""
    client = gateway.client
    for skip in (*SKIPS, None):
        try:
            await gateway.call("upload keys", client.keys_upload)
            return
        except MatrixError as exc:
            if skip is None or not clash(exc):
                raise
        log.warning(
            "the homeserver holds one-time keys of this device made after its E2EE store was "
            "saved (a restored backup): %d key ids skipped",
            skip,
        )
        olm = client.olm
        olm.account.generate_one_time_keys(skip)
        olm.mark_keys_as_published()  # set aside with the refused ones: never uploaded
        olm.save_account()
