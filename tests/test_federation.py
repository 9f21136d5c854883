"""Two regions on two real homeservers that federate over TLS on loopback (self-signed
certificates, server names with explicit ports: 127.0.0.1:<port> and 127.0.0.2:<port>), each
with its own bot; a third homeserver outside the allow-list."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from nio import JoinError

from bot.app import Agora
from bot.config import load_config
from bot.homeserver.embedded import RELAXED_RATE_LIMITS, EmbeddedSynapse, FederationListener
from tests.conftest import free_port, register
from tests.people import Person
from tests.test_enforcement import gone
from tests.test_territories import eventually, room_ids

pytestmark = pytest.mark.integration


@dataclass
class Region:
    name: str
    hs: EmbeddedSynapse
    bot_account: tuple[str, str]

    @property
    def server(self) -> str:
        return self.hs.server_name


def _homeserver(tmp: Path, ip: str, peers: list[str], fed_port: int) -> EmbeddedSynapse:
    return EmbeddedSynapse(
        tmp / ip,
        f"{ip}:{fed_port}",
        free_port(),
        extra=RELAXED_RATE_LIMITS,
        federation=FederationListener(
            port=fed_port, bind=ip, verify_certificates=False, allow_loopback=True
        ),
        peers=tuple(peers),
    )


@pytest.fixture(scope="module")
async def regions(tmp_path_factory):
    """sud (A) and occitanie (B) federate; elsewhere (C) is outside their allow-list."""
    tmp = tmp_path_factory.mktemp("regions")
    ports = {ip: free_port() for ip in ("127.0.0.1", "127.0.0.2", "127.0.0.3")}
    names = {ip: f"{ip}:{port}" for ip, port in ports.items()}
    a = _homeserver(tmp, "127.0.0.1", [names["127.0.0.2"]], ports["127.0.0.1"])
    b = _homeserver(tmp, "127.0.0.2", [names["127.0.0.1"]], ports["127.0.0.2"])
    c = _homeserver(tmp, "127.0.0.3", [names["127.0.0.1"], names["127.0.0.2"]], ports["127.0.0.3"])
    for hs in (a, b, c):
        await hs.start()
    out = []
    for name, hs in (("sud", a), ("occitanie", b)):
        out.append(Region(name, hs, await register(hs, "agora", admin=True)))
    yield (*out, c)
    for hs in (a, b, c):
        await hs.stop()


async def start_region(region: Region, tmp: Path, admins: list[str], **extra) -> Agora:
    user_id, password = region.bot_account
    config = {
        "homeserver": {
            "embedded": False,
            "url": region.hs.url,
            "server_name": region.server,
            "password": password,
        },
        "bot": {"localpart": user_id[1:].split(":")[0]},
        "admins": admins,
        "web": {"port": 0},
        **extra,
    }
    path = tmp / f"{region.name}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    agora = Agora(load_config(path, env={}), tmp / region.name)
    agora.config_path = path  # type: ignore[attr-defined]
    await agora.start()
    return agora


async def login(hs: EmbeddedSynapse, name: str, tmp: Path) -> Person:
    user_id, password = await register(hs, name)
    return await Person.login(
        hs.url, user_id, password, tmp / "people" / user_id[1:].replace(":", "_")
    )


async def test_a_ban_in_one_region_removes_the_user_from_the_others_rooms_over_federation(
    regions, tmp_path
):
    sud, occitanie, elsewhere = regions
    sfx = secrets.token_hex(3)
    people: list[Person] = []
    bots: list[Agora] = []
    try:
        admin_a = await login(sud.hs, "admin", tmp_path)
        admin_b = await login(occitanie.hs, "admin", tmp_path)
        member = await login(occitanie.hs, "medecin", tmp_path)
        outsider = await login(elsewhere, "exterieur", tmp_path)
        people += [admin_a, admin_b, member, outsider]
        bot_a = sud.bot_account[0]
        alias_a = f"#{bot_a[1:].split(':')[0]}-policy:{sud.server}"
        network = {
            "territories": [
                {
                    "id": f"herault-{sfx}",
                    "name": "Hérault",
                    "rooms": [{"id": "communaute", "name": "Hérault", "kind": "community"}],
                }
            ]
        }
        region_b = await start_region(
            occitanie,
            tmp_path,
            [admin_b.user_id],
            network=network,
            federation={"allowed_servers": [sud.server], "trusted_policy_rooms": [alias_a]},
        )
        bots.append(region_b)
        region_a = await start_region(
            sud,
            tmp_path,
            [admin_a.user_id],
            federation={
                "allowed_servers": [occitanie.server],
                "peer_bots": [region_b.gateway.user_id],
            },
        )
        bots.append(region_a)
        await admin_a.accept_invite(region_a.control.room_id)
        await region_b.settled()
        ids = await room_ids(region_b)
        space, community = ids[f"herault-{sfx}"], ids[f"herault-{sfx}.communaute"]

        # The ACL of B's rooms names both regions; a server outside them cannot join.
        acl = await region_b.gateway.get_state(community, "m.room.server_acl")
        assert {"127.0.0.1", "127.0.0.2", sud.server, occitanie.server} == set(acl["allow"])
        assert acl["allow_ip_literals"]

        # B's member sits in B's rooms.
        from bot.store.vetting import VettingStore

        await VettingStore(region_b.store).add_member(member.user_id, None, f"herault-{sfx}")
        await admin_b.accept_invite(space)
        await admin_b.client.room_invite(space, member.user_id)
        await member.accept_invite(space)
        assert not isinstance(await member.client.join(community), JoinError)
        assert isinstance(await outsider.client.join(community), JoinError)

        async def following() -> bool:
            return (
                bool(region_a.policy.room_id)
                and region_a.policy.room_id in region_b.policy.followed
            )

        await eventually(following, "B to follow A's list over federation", timeout=60)

        answer, reaction = await admin_a.command(
            region_a.control.room_id, f"!policy ban {member.user_id} Fraude au remplacement"
        )
        assert reaction == "✅", answer.body
        await gone(region_b, community, member.user_id, timeout=60)
        await gone(region_b, space, member.user_id, timeout=60)
    finally:
        for bot in bots:
            await bot.stop()
        for someone in people:
            await someone.close()
