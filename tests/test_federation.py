"""Two regions on two real homeservers that federate over TLS on loopback (self-signed
certificates, server names with explicit ports: 127.0.0.1:<port> and 127.0.0.2:<port>), each
with its own bot; a third homeserver outside the allow-list."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from nio import JoinError

from bot.app import Agora
from bot.config import load_config
from bot.homeserver.embedded import RELAXED_RATE_LIMITS, EmbeddedSynapse, FederationListener
from bot.moderation.bans import ban_for
from tests.conftest import BOT_PATTERN, Homeserver, free_port, module_secret, register
from tests.people import Person
from tests.test_enforcement import gone
from tests.test_territories import eventually, room_ids
from tests.test_vetting import request_number

pytestmark = pytest.mark.integration


@dataclass
class Region:
    name: str
    hs: Homeserver
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
        bot_user_pattern=BOT_PATTERN,
    )


@pytest.fixture(scope="module")
async def sqlite_regions(tmp_path_factory, workers_public_port):
    """sud (A) and occitanie (B) federate; elsewhere (C) is outside B's allow-list (and, in
    the shared-room test, inside A's but not among the servers the club is shared with)."""
    tmp = tmp_path_factory.mktemp("regions")
    ports = {ip: free_port() for ip in ("127.0.0.1", "127.0.0.2", "127.0.0.3")}
    names = {ip: f"{ip}:{port}" for ip, port in ports.items()}
    # The homeservers would all talk to each other; which region admits which is the bots'
    # business (ACLs), which is what these tests are about. The workers topology stands in
    # for A in a test marked topologies, and the others federate with it too: B's rooms then
    # hold its events, which A must fetch from it when it joins them.
    workers = f"127.0.0.1:{workers_public_port}"
    a = _homeserver(
        tmp, "127.0.0.1", [names["127.0.0.2"], names["127.0.0.3"], workers], ports["127.0.0.1"]
    )
    b = _homeserver(
        tmp, "127.0.0.2", [names["127.0.0.1"], names["127.0.0.3"], workers], ports["127.0.0.2"]
    )
    c = _homeserver(
        tmp, "127.0.0.3", [names["127.0.0.1"], names["127.0.0.2"], workers], ports["127.0.0.3"]
    )
    for hs in (a, b, c):
        await hs.start()
    out = []
    for name, hs in (("sud", a), ("occitanie", b)):
        out.append(Region(name, hs, await register(hs, "agora")))  # no server admin
    yield (*out, c)
    for hs in (a, b, c):
        await hs.stop()


@pytest.fixture(scope="module")
async def workers_sud(workers_synapse) -> Region:
    """Region A on Synapse with workers (PostgreSQL, Redis, a routing proxy)."""
    return Region("sud", workers_synapse, await register(workers_synapse, "agora", admin=True))


@pytest.fixture
def regions(topology, sqlite_regions, request):
    """(A, B, C): A on the topology of this run (the workers one for a test marked
    topologies), B and C on single SQLite Synapses."""
    sud, occitanie, elsewhere = sqlite_regions
    if topology == "workers":
        sud = request.getfixturevalue("workers_sud")
    return sud, occitanie, elsewhere


async def start_region(region: Region, tmp: Path, admins: list[str], **extra) -> Agora:
    user_id, password = region.bot_account
    config = {
        "homeserver": {
            "embedded": False,
            "url": region.hs.url,
            "server_name": region.server,
            "password": password,
            "module_secret": module_secret(region.hs),
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


async def login(hs: Homeserver, name: str, tmp: Path) -> Person:
    user_id, password = await register(hs, name)
    return await Person.login(
        hs.url, user_id, password, tmp / "people" / user_id[1:].replace(":", "_")
    )


@dataclass(frozen=True)
class Club:
    """A club shared by two regions: A's and B's bots, A's room, the club's and B's
    territories, the room's alias."""

    region_a: Agora
    region_b: Agora
    room: str
    club: str
    home_b: str
    alias: str


class Cast:
    """The people and bots of one test, closed and stopped at its end."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.people: list[Person] = []
        self.bots: list[Agora] = []

    async def person(self, hs: Homeserver, name: str) -> Person:
        someone = await login(hs, name, self.tmp)
        self.people.append(someone)
        return someone

    async def bot(self, region: Region, admins: list[str], **extra) -> Agora:
        agora = await start_region(region, self.tmp, admins, **extra)
        self.bots.append(agora)
        return agora

    async def club(
        self,
        a: Region,
        b: Region,
        sfx: str,
        admins: tuple[Person, Person],
        *,
        animators: tuple[str, ...] = (),
        b_users: tuple[str, ...] = (),
        b_started: Callable[[Agora], Awaitable[None]] | None = None,
    ) -> Club:
        """Region A owning a club (a territory whose community room ``echanges`` is shared
        with B), B declaring that room (for ``b_users``) with a territory of its own; both
        bots started (``b_started`` run once B's is), B's bot in A's room."""
        club, home_b = f"club-{sfx}", f"herault-{sfx}"
        alias = f"#{club}.echanges:{a.server}"
        shared: dict[str, Any] = {"room": alias, **({"users": list(b_users)} if b_users else {})}
        region_b = await self.bot(
            b,
            [admins[1].user_id],
            network={"territories": [{"id": home_b, "name": "Hérault"}]},
            federation={
                "allowed_servers": [a.server],
                "peer_bots": [a.bot_account[0]],
                "shared_rooms": [shared],
            },
        )
        if b_started is not None:
            await b_started(region_b)
        room_spec = {
            "id": "echanges",
            "name": "Échanges",
            "kind": "community",
            "shared_with": [b.server],
        }
        territory = {"id": club, "name": "Club inter-régional", "rooms": [room_spec]}
        if animators:
            territory["animators"] = list(animators)
        region_a = await self.bot(
            a,
            [admins[0].user_id],
            network={"territories": [territory]},
            federation={"allowed_servers": [b.server], "peer_bots": [b.bot_account[0]]},
        )
        await admins[0].accept_invite(region_a.control.room_id)
        await region_a.settled()
        room = (await room_ids(region_a))[f"{club}.echanges"]

        async def b_joined() -> bool:
            return region_b.federation.shared.joined.get(alias) == room

        await eventually(b_joined, "B's bot in A's club", timeout=60)
        return Club(region_a, region_b, room, club, home_b, alias)

    async def close(self) -> None:
        for bot in self.bots:
            await bot.stop()
        for someone in self.people:
            await someone.close()


@pytest.fixture
async def cast(tmp_path):
    c = Cast(tmp_path)
    yield c
    await c.close()


async def trusting(
    cast: Cast, sud: Region, occitanie: Region, admin_a: Person, admin_b: Person, network: dict
) -> tuple[Agora, Agora]:
    """B (with ``network``) applies A's ban list; A's admin is in A's control room."""
    bot_a = sud.bot_account[0]
    region_b = await cast.bot(
        occitanie,
        [admin_b.user_id],
        network=network,
        federation={
            "allowed_servers": [sud.server],
            "trusted_policy_rooms": [f"#{bot_a[1:].split(':')[0]}-policy:{sud.server}"],
            "peer_bots": [bot_a],
        },
    )
    region_a = await cast.bot(
        sud,
        [admin_a.user_id],
        federation={"allowed_servers": [occitanie.server], "peer_bots": [region_b.gateway.user_id]},
    )
    await admin_a.accept_invite(region_a.control.room_id)
    return region_a, region_b


@pytest.mark.topologies
async def test_a_ban_in_one_region_removes_the_user_from_the_others_rooms_over_federation(
    regions, cast
):
    sud, occitanie, elsewhere = regions
    sfx = secrets.token_hex(3)
    admin_a = await cast.person(sud.hs, "admin")
    admin_b = await cast.person(occitanie.hs, "admin")
    member = await cast.person(occitanie.hs, "medecin")
    outsider = await cast.person(elsewhere, "exterieur")
    network = {
        "territories": [
            {
                "id": f"herault-{sfx}",
                "name": "Hérault",
                "rooms": [{"id": "communaute", "name": "Hérault", "kind": "community"}],
            }
        ]
    }
    region_a, region_b = await trusting(cast, sud, occitanie, admin_a, admin_b, network)
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
            bool(region_a.moderation.policy.room_id)
            and region_a.moderation.policy.room_id in region_b.moderation.policy.followed
        )

    await eventually(following, "B to follow A's list over federation", timeout=60)

    answer, reaction = await admin_a.command(
        region_a.control.room_id, f"!policy ban {member.user_id} Fraude au remplacement"
    )
    assert reaction == "✅", answer.body
    await gone(region_b, community, member.user_id, timeout=60)
    await gone(region_b, space, member.user_id, timeout=60)

    # Withdrawing the rule lifts the refusal in B (nobody is asked back on its own).
    answer, reaction = await admin_a.command(
        region_a.control.room_id, f"!policy unban {member.user_id}"
    )
    assert reaction == "✅", answer.body

    async def lifted() -> bool:
        return ban_for(member.user_id, await region_b.moderation.policy.rules.rules()) is None

    await eventually(lifted, "B to drop the withdrawn rule", timeout=60)
    assert (await region_b.gateway.members(space)).get(member.user_id) == "leave"
    await admin_b.client.room_invite(space, member.user_id)
    await member.accept_invite(space)
    await member.client.join(community)
    await asyncio.sleep(3)  # enforcement acts within a second when it acts
    assert (await region_b.gateway.members(community)).get(member.user_id) == "join"


async def approved(bot: Agora, admin: Person, person: Person, line: str) -> str:
    """The person asks in a direct chat, the region's admin approves; returns the chat."""
    dm = await person.dm(bot.gateway.user_id)
    reply, reaction = await person.command(dm, line)
    assert reaction == "✅", reply.body
    answer, reaction = await admin.command(
        bot.control.room_id, f"!approve {request_number(reply.body)}"
    )
    assert reaction == "✅", answer.body
    # Told in the same chat, with how to be listed in the cross-region directory.
    await person.wait_for(
        lambda: any(s.room_id == dm and "!annuaire inscription" in s.body for s in person.seen),
        "the approval, with the directory's opt-in",
    )
    return dm


async def sees(person: Person, room_id: str, text: str, timeout: float = 60) -> None:
    await person.wait_for(
        lambda: any(s.room_id == room_id and s.body == text for s in person.seen),
        f"the decrypted message {text!r}",
        timeout,
    )


async def test_a_club_shared_by_two_regions_holds_both_regions_members_and_nobody_else(
    regions, cast
):
    sud, occitanie, elsewhere = regions
    sfx = secrets.token_hex(3)
    admin_a = await cast.person(sud.hs, "admin")
    admin_b = await cast.person(occitanie.hs, "admin")
    doctor_a = await cast.person(sud.hs, "medecin")
    midwife_b = await cast.person(occitanie.hs, "sagefemme")
    stranger_b = await cast.person(occitanie.hs, "inconnu")
    outsider_c = await cast.person(elsewhere, "exterieur")
    bot_a, bot_b = sud.bot_account[0], occitanie.bot_account[0]
    club, home_b = f"club-{sfx}", f"herault-{sfx}"
    club_alias = f"#{club}.echanges:{sud.server}"

    # B declares A's club (for its midwives) before the club exists.
    region_b = await cast.bot(
        occitanie,
        [admin_b.user_id],
        network={"territories": [{"id": home_b, "name": "Hérault"}]},
        federation={
            "allowed_servers": [sud.server],
            "peer_bots": [bot_a],
            "shared_rooms": [
                {"room": club_alias, "professions": ["sage-femme"]},
                {"room": f"#{club}.annonces:{sud.server}"},
            ],
        },
    )
    # A owns the club, shared with B only; A federates with C as well.
    region_a = await cast.bot(
        sud,
        [admin_a.user_id],
        network={
            "territories": [
                {
                    "id": club,
                    "name": "Club inter-régional",
                    "rooms": [
                        {
                            "id": "echanges",
                            "name": "Échanges",
                            "kind": "community",
                            "shared_with": [occitanie.server],
                        },
                        {
                            "id": "annonces",
                            "name": "Annonces du club",
                            "kind": "announcements",
                            "shared_with": [occitanie.server],
                        },
                    ],
                }
            ]
        },
        federation={
            "allowed_servers": [occitanie.server, elsewhere.server_name],
            "peer_bots": [bot_b],
        },
    )
    await admin_a.accept_invite(region_a.control.room_id)
    await admin_b.accept_invite(region_b.control.room_id)
    await region_a.settled()
    room = (await room_ids(region_a))[f"{club}.echanges"]
    levels = await region_a.gateway.get_state(room, "m.room.power_levels")
    assert levels["users"][bot_b] == 50
    assert (await region_a.gateway.get_state(room, "m.room.join_rules"))["join_rule"] == ("invite")

    # B's bot was asked in over federation, and joined as its config declares.
    async def b_joined() -> bool:
        return region_b.federation.shared.joined.get(club_alias) == room

    await eventually(b_joined, "B's bot in A's club", timeout=60)

    # Each region vets its own people; the club gets both without a second vetting.
    await approved(
        region_a,
        admin_a,
        doctor_a,
        f'!join nom="Paul Garde" profession=medecin rpps=10101234564 territoire={club} '
        f"email=p.garde.{sfx}@example.org",
    )
    await doctor_a.accept_invite(room)
    await approved(
        region_b,
        admin_b,
        midwife_b,
        f'!join nom="Élodie Durand" profession=sage-femme rpps=10101234564 '
        f"territoire={home_b} email=e.durand.{sfx}@example.org",
    )
    await midwife_b.accept_invite(room)  # asked in by B's bot
    news_room = (await room_ids(region_a))[f"{club}.annonces"]
    await midwife_b.accept_invite(news_room)

    # Encrypted both ways, across the two homeservers.
    await doctor_a.wait_for(
        lambda: midwife_b.user_id in doctor_a.client.rooms[room].users, "the midwife"
    )
    await doctor_a.say(room, "Bonjour d'Avignon, qui a le protocole canicule ?")
    await sees(midwife_b, room, "Bonjour d'Avignon, qui a le protocole canicule ?")
    await midwife_b.say(room, "Je l'envoie depuis Montpellier.")
    await sees(doctor_a, room, "Je l'envoie depuis Montpellier.")
    assert not [s for s in midwife_b.undecryptable if s.room_id == room]
    # The owning bot's own encrypted posts reach the other region's members too.
    answer, reaction = await admin_a.command(
        region_a.control.room_id, f"!news {club} Réunion du club le 3 décembre"
    )
    assert reaction == "✅", answer.body
    await midwife_b.wait_for(
        lambda: any(
            s.room_id == news_room and "Réunion du club le 3 décembre" in s.body
            for s in midwife_b.seen
        ),
        "the club's news, decrypted in B",
        60,
    )

    # Someone of B whom B never vetted is removed, by B's bot.
    await admin_a.accept_invite(room)
    await admin_a.client.room_invite(room, stranger_b.user_id)
    await stranger_b.accept_invite(room)
    await gone(region_a, room, stranger_b.user_id, timeout=60)
    # Someone of C, a server A federates with but the club is not shared with: by A's bot.
    await admin_a.client.room_invite(room, outsider_c.user_id)
    await gone(region_a, room, outsider_c.user_id, timeout=60)
    members = await region_a.gateway.members(room)
    assert members[doctor_a.user_id] == members[midwife_b.user_id] == "join"
    removals = [
        e
        for e in await region_b.store.audit_entries(50)
        if e["action"] == "enforce.remove" and stranger_b.user_id in (e["detail"] or "")
    ]
    assert removals, "B's bot removes its own unvetted people"

    # The directory: A's doctor opts in, B's midwife finds him, he withdraws, gone from B.
    dm_a = await doctor_a.dm(bot_a)
    reply, reaction = await doctor_a.command(dm_a, "!annuaire inscription")
    assert reaction == "✅" and "Paul Garde" in reply.body, reply.body
    dm_b = await midwife_b.dm(bot_b)

    async def search_b(query: str) -> str:
        reply, reaction = await midwife_b.command(dm_b, f"!annuaire {query}")
        assert reaction == "✅", reply.body
        return reply.body

    found = await search_b("garde medecin")
    assert doctor_a.user_id in found and "Club inter-régional" in found, found
    reply, reaction = await doctor_a.command(dm_a, "!annuaire retrait")
    assert reaction == "✅", reply.body
    for _ in range(30):
        found = await search_b("garde")
        if doctor_a.user_id not in found:
            break
        await asyncio.sleep(1)
    assert doctor_a.user_id not in found and "Aucune fiche" in found, found
    # Only verified members search it.
    dm_stranger = await stranger_b.dm(bot_b)
    reply, reaction = await stranger_b.command(dm_stranger, "!annuaire garde")
    assert reaction == "❌" and "réservé aux membres" in reply.body, reply.body

    # A stops federating with B: on reload the club's ACL drops B, B's people and bot are
    # removed from it, and B's bot no longer reads A's directory.
    path = region_a.config_path  # type: ignore[attr-defined]
    data = yaml.safe_load(path.read_text())
    for club_room in data["network"]["territories"][0]["rooms"]:
        del club_room["shared_with"]
    data["federation"] = {"allowed_servers": [], "peer_bots": []}
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    await gone(region_a, room, midwife_b.user_id, timeout=60)
    await gone(region_a, room, bot_b, timeout=60)
    await gone(region_a, region_a.federation.directory.room_id, bot_b, timeout=60)
    acl = await region_a.gateway.get_state(room, "m.room.server_acl")
    assert occitanie.server not in acl["allow"] and "127.0.0.2" not in acl["allow"]
    assert (await region_a.gateway.members(room))[doctor_a.user_id] == "join"


async def test_a_peers_list_cannot_empty_this_region(regions, cast):
    """A trusted peer's list with a `*` server rule, or a rule set by someone else than that
    region's bot, removes nobody here and is reported; a peer's glob matching 15 of this
    region's members waits for one of its admins' !confirm."""
    sud, occitanie, _ = regions
    sfx = secrets.token_hex(3)
    admin_a = await cast.person(sud.hs, "admin")
    admin_b = await cast.person(occitanie.hs, "admin")
    network = {
        "territories": [
            {
                "id": f"gard-{sfx}",
                "name": "Gard",
                "rooms": [{"id": "communaute", "name": "Gard", "kind": "community"}],
            }
        ]
    }
    region_a, region_b = await trusting(cast, sud, occitanie, admin_a, admin_b, network)
    await admin_b.accept_invite(region_b.control.room_id)
    await region_b.settled()
    ids = await room_ids(region_b)
    community = ids[f"gard-{sfx}.communaute"]
    from bot.homeserver.privileges import privileges_for
    from bot.store.vetting import VettingStore

    nurses = []
    privileges = privileges_for(region_b.config, region_b.gateway, region_b.data_dir)
    for i in range(15):
        user_id, _ = await register(occitanie.hs, f"infirm{sfx}x{i}")
        await VettingStore(region_b.store).add_member(user_id, None, f"gard-{sfx}")
        await privileges.join(ids[f"gard-{sfx}"], user_id)
        await privileges.join(community, user_id)
        nurses.append(user_id)

    async def following() -> bool:
        return (
            bool(region_a.moderation.policy.room_id)
            and region_a.moderation.policy.room_id in region_b.moderation.policy.followed
        )

    await eventually(following, "B to follow A's list over federation", timeout=60)
    policy_a = region_a.moderation.policy.room_id
    assert policy_a

    async def in_b() -> int:
        members = await region_b.gateway.members(community)
        return sum(1 for n in nurses if members.get(n) == "join")

    try:
        # A peer's bot that publishes `*` (a typo, a bug): refused here, reported once.
        await region_a.gateway.put_state(
            policy_a,
            "m.policy.rule.server",
            {"entity": "*", "recommendation": "m.ban", "reason": "faute de frappe"},
            "rule:*",
        )
        await admin_b.wait_for(
            lambda: [s for s in admin_b.seen if "Règle refusée : *" in s.body],
            "B's report of the refused rule",
            timeout=60,
        )
        # A rule set in A's list by someone who is not A's bot counts for nothing here.
        await admin_a.accept_invite(policy_a)
        await admin_a.client.room_put_state(
            policy_a,
            "m.policy.rule.user",
            {"entity": nurses[0], "recommendation": "m.ban", "reason": "à la main"},
            state_key="rule:hand",
        )
        await admin_b.wait_for(
            lambda: [s for s in admin_b.seen if "ignorées" in s.body and admin_a.user_id in s.body],
            "B's report of the ignored sender",
            timeout=60,
        )
        await asyncio.sleep(2)
        assert await in_b() == 15

        # A's glob: A's admin sees who it would remove in A (nobody) and confirms; in B it
        # would remove 15, more than moderation.max_sweep: held until B's admin confirms.
        glob = f"@infirm{sfx}x*:{occitanie.server}"
        held, reaction = await admin_a.command(
            region_a.control.room_id, f"!policy ban {glob} Usurpation en série"
        )
        assert reaction == "✅" and "Rien n'est publié" in held.body
        number_a = request_number(held.body.replace("confirm ", "#"))
        answer, reaction = await admin_a.command(region_a.control.room_id, f"!confirm {number_a}")
        assert reaction == "✅", answer.body
        notice = await admin_b.wait_for(
            lambda: [s for s in admin_b.seen if "Règle en attente" in s.body and glob in s.body],
            "B's held rule",
            timeout=60,
        )
        assert "15 personne(s)" in notice[0].body and nurses[3] in notice[0].body
        await asyncio.sleep(2)
        assert await in_b() == 15  # nothing happens before an admin of B answers
        number_b = int(notice[0].body.split("n° ", 1)[1].split(" ", 1)[0])
        answer, reaction = await admin_b.command(region_b.control.room_id, f"!confirm {number_b}")
        assert reaction == "✅" and "30 retrait(s)" in answer.body, answer.body  # space + room

        async def emptied() -> bool:
            return await in_b() == 0

        await eventually(emptied, "the 15 nurses out of B's room", timeout=60)
        assert (await region_b.gateway.members(community)).get(admin_b.user_id) != "leave"
    finally:
        for event_type, key in (
            ("m.policy.rule.server", "rule:*"),
            ("m.policy.rule.user", f"rule:@infirm{sfx}x*:{occitanie.server}"),
        ):
            await region_a.gateway.put_state(policy_a, event_type, {}, key)
        await admin_a.client.room_put_state(policy_a, "m.policy.rule.user", {}, "rule:hand")
