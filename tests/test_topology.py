"""The workers topology is what deploy/workers says: requests reach the process the routing
rules name, events are written by the event persister, federation leaves from the federation
sender, Agora's module answers wherever registration is served, and the public listener keeps
the admin API to itself. The bot's stories on it are the tests marked ``topologies``."""

from __future__ import annotations

import aiohttp
import pytest

from agora_synapse.protocol import MODULE_NAME, PROBE_PATH
from tests.topology import WorkersSynapse

pytestmark = pytest.mark.integration

REGISTER = "/_matrix/client/v3/register"


@pytest.mark.parametrize("topology", ["workers"], indirect=True)
async def test_requests_reach_the_process_the_rules_name_and_events1_writes_the_events(
    homeserver: WorkersSynapse, person
):
    someone = await person("medecin")
    room = await someone.client.room_create(name="Routage")
    await someone.say(room.room_id, "Bonjour")
    await someone.client.sync(timeout=0)

    generic1 = homeserver.services["generic1"].log.read_text()
    assert "GET /_matrix/client/v3/sync" in generic1  # /sync: the generic worker
    assert "/createRoom" not in generic1  # the rest: the main process
    writers = await homeserver.query(
        f"SELECT DISTINCT instance_name FROM events WHERE room_id = '{room.room_id}'"
    )
    assert writers == [["events1"]]
    senders = await homeserver.query(
        "SELECT instance_name FROM federation_stream_position WHERE type = 'federation'"
    )
    assert senders == [["federation_sender1"]]


@pytest.mark.parametrize("topology", ["workers"], indirect=True)
async def test_every_process_loads_the_modules_homeserver_yaml_lists(homeserver: WorkersSynapse):
    modules = [m["module"] for m in homeserver.embedded.homeserver_config()["modules"]]
    assert modules
    for name in ("main", *homeserver.deployment.workers):
        loaded = [
            line
            for line in homeserver.log_path(name).read_text().splitlines()
            if "Loaded module" in line
        ]
        for module in modules:  # "pkg.Class", loaded as <pkg.(submodule.)Class object …>
            package, cls = module.rsplit(".", 1)
            found = [x for x in loaded if f"<{package}." in x and f".{cls} object" in x]
            assert found, (name, module)


@pytest.mark.parametrize("topology", ["workers"], indirect=True)
async def test_agoras_module_answers_wherever_registration_is_served(homeserver: WorkersSynapse):
    served_by = homeserver.deployment.route(REGISTER, public=True)
    assert served_by is not None
    async with aiohttp.ClientSession() as http:
        for name in {served_by, "main"}:
            async with http.get(homeserver.upstream_url(name) + PROBE_PATH) as resp:
                assert resp.status == 200, name
                assert (await resp.json())["module"] == MODULE_NAME


@pytest.mark.parametrize("topology", ["workers"], indirect=True)
async def test_the_public_listener_refuses_the_admin_api_and_the_module_the_loopback_one_passes(
    homeserver: WorkersSynapse,
):
    admin = "/_synapse/admin/v1/server_version"
    public = f"https://{homeserver.server_name}"
    async with aiohttp.ClientSession() as http:
        async with http.get(homeserver.url + admin) as resp:
            assert resp.status == 200 and "server_version" in await resp.json()
        async with http.get(homeserver.url + PROBE_PATH) as resp:
            assert resp.status == 200
        for path in (admin, PROBE_PATH):
            async with http.get(public + path, ssl=False) as resp:
                assert resp.status == 404, path
        async with http.get(public + "/_matrix/key/v2/server", ssl=False) as resp:
            keys = await resp.json()
            assert resp.status == 200 and keys["server_name"] == homeserver.server_name


@pytest.mark.parametrize("topology", ["workers"], indirect=True)
async def test_a_region_moved_from_sqlite_keeps_its_accounts_and_rooms(
    homeserver: WorkersSynapse, workers_region, person
):
    _, before = workers_region
    assert not homeserver.sqlite_database.exists()  # ported, put aside
    pioneer = await person(account=(before.user_id, before.password))
    data = await pioneer._api(
        "GET", f"/_matrix/client/v3/rooms/{before.room_id}/messages?dir=b&limit=10"
    )
    assert before.text in [e["content"].get("body") for e in data["chunk"]]
    rows = await homeserver.query(f"SELECT name FROM users WHERE name = '{before.user_id}'")
    assert rows == [[before.user_id]]
