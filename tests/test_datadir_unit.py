"""The data directory's lock: one bot at a time on a data directory, said in one line to
whoever starts a second; free again once the bot is gone."""

from __future__ import annotations

import os

import pytest

from bot.datadir import LOCK_NAME, DataDirBusy, DataDirLock, holder
from tests.conftest import agora_cli


def test_the_lock_is_held_by_one_and_names_its_holder(tmp_path):
    assert holder(tmp_path) is None
    assert not (tmp_path / LOCK_NAME).exists()  # looking makes nothing
    lock = DataDirLock.acquire(tmp_path)
    assert holder(tmp_path) == os.getpid()
    assert (tmp_path / LOCK_NAME).stat().st_mode & 0o777 == 0o600
    with pytest.raises(DataDirBusy) as busy:
        DataDirLock.acquire(tmp_path)
    assert str(busy.value) == (
        f"an agora-bot is running on {tmp_path} (pid {os.getpid()}): stop it first"
    )
    lock.release()
    assert holder(tmp_path) is None
    DataDirLock.acquire(tmp_path).release()  # free again


async def test_a_second_bot_on_the_same_data_directory_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    lock = DataDirLock.acquire(data)  # as the running bot holds it
    try:
        done = await agora_cli("run", "--config", "config.example.yaml", "--data-dir", str(data))
    finally:
        lock.release()
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"run refused: an agora-bot is running on {data} (pid {os.getpid()}): stop it first"
    ]
    assert sorted(p.name for p in data.iterdir()) == [LOCK_NAME]  # nothing else touched
