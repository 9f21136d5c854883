"""Pure parts of trust: cross-signing chains checked by the bot itself, what no ban rule may
strike, private rooms' keepers, CSV cells, URL path parts, and the v8 store migration."""

from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.exports import csv_text, safe_cell
from bot.matrix.crosssigning import (
    CrossSigningKeys,
    fingerprint,
    public_b64,
    published_identity,
    sign_json,
)
from bot.matrix.gateway import path_part
from bot.moderation.bans import PolicyRule, Shield, ban_for
from bot.moderation.policy import is_staff
from bot.territories.desired import desired_state, power_levels
from bot.territories.model import Network, RoomSpec, Territory

USER = "@admin:region.example"


def device(device_id: str, key: Ed25519PrivateKey, user: str = USER) -> dict:
    body = {
        "user_id": user,
        "device_id": device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {f"ed25519:{device_id}": public_b64(key), f"curve25519:{device_id}": "curve"},
    }
    signed = sign_json(body, user, key)
    # A device signs its keys under its device id (not its public key).
    sig = signed["signatures"][user].pop(f"ed25519:{public_b64(key)}")
    signed["signatures"][user][f"ed25519:{device_id}"] = sig
    return signed


def keys_query(keys: CrossSigningKeys, devices: dict[str, dict]) -> dict:
    upload = keys.upload_body(USER)
    return {
        "master_keys": {USER: upload["master_key"]},
        "self_signing_keys": {USER: upload["self_signing_key"]},
        "device_keys": {USER: devices},
    }


def cross_signed(keys: CrossSigningKeys, device_id: str) -> tuple[dict, Ed25519PrivateKey]:
    own = Ed25519PrivateKey.generate()
    mine = device(device_id, own)
    by_identity = keys.sign_device(USER, mine)
    # What /keys/query answers: the device's own signature and the self-signing key's.
    mine["signatures"][USER].update(by_identity["signatures"][USER])
    return mine, own


def test_a_device_counts_only_with_the_whole_chain_of_signatures():
    keys = CrossSigningKeys.generate()
    good, _ = cross_signed(keys, "GOOD")
    lone = device("LONE", Ed25519PrivateKey.generate())  # never signed by the identity
    answer = keys_query(keys, {"GOOD": good, "LONE": lone})
    identity = published_identity(answer, USER)
    assert identity.master == public_b64(keys.master)
    assert set(identity.signed_devices) == {"GOOD"}
    assert identity.signed_devices["GOOD"].ed25519 == good["keys"]["ed25519:GOOD"]


def test_a_self_signing_key_the_master_did_not_sign_proves_nothing():
    keys = CrossSigningKeys.generate()
    good, _ = cross_signed(keys, "GOOD")
    answer = keys_query(keys, {"GOOD": good})
    other = CrossSigningKeys.generate()  # a self-signing key signed by another master
    answer["self_signing_keys"][USER] = other.upload_body(USER)["self_signing_key"]
    assert published_identity(answer, USER).signed_devices == {}


def test_a_tampered_or_misfiled_device_is_refused():
    keys = CrossSigningKeys.generate()
    good, _ = cross_signed(keys, "GOOD")
    tampered = copy.deepcopy(good)
    tampered["keys"]["curve25519:GOOD"] = "someone-else"  # signatures no longer hold
    assert published_identity(keys_query(keys, {"GOOD": tampered}), USER).signed_devices == {}
    misfiled = keys_query(keys, {"OTHER": good})  # filed under another device id
    assert published_identity(misfiled, USER).signed_devices == {}
    assert published_identity({}, USER).master is None


def test_fingerprints_are_grouped_by_four():
    assert fingerprint("abcdefghij") == "abcd efgh ij"


SHIELD = Shield.of(
    "region.example:8448",
    "@agora:region.example:8448",
    ("@admin:region.example:8448",),
    ("@agora:peer.example",),
)


def rule(kind: str, entity: str) -> PolicyRule:
    return PolicyRule(kind, entity, "m.ban", "r", "!list:peer.example", f"rule:{entity}")


@pytest.mark.parametrize(
    "entity", ["*", "region.example", "region.example:8448", "region.*", "*.example"]
)
def test_no_server_rule_strikes_this_region(entity):
    assert SHIELD.refuses(rule("server", entity))
    assert ban_for("@nurse:region.example:8448", [rule("server", entity)], SHIELD) is None


def test_the_bot_admins_and_peer_bots_are_never_struck_others_are():
    everyone = rule("user", "@*")
    for protected in ("@agora:region.example:8448", "@admin:region.example:8448"):
        assert ban_for(protected, [everyone], SHIELD) is None
    assert ban_for("@agora:peer.example", [rule("server", "peer.example")], SHIELD) is None
    assert ban_for("@nurse:region.example:8448", [everyone], SHIELD) == everyone
    assert SHIELD.spares(everyone) == sorted(SHIELD.people)
    assert ban_for("@spam:evil.example", [rule("server", "evil.example")], SHIELD)


NETWORK = Network(
    (
        Territory(
            "vaucluse",
            "Vaucluse",
            animators=("@anim:x", "@anim2:x"),
            rooms=(
                RoomSpec("communaute", "Communauté", "community"),
                RoomSpec("cellule", "Cellule", "group", visibility="private", keeper="@anim2:x"),
                RoomSpec("ancien", "Ancien", "group", visibility="private", keeper="@gone:x"),
                RoomSpec("direction", "Direction", "managerial", manager="@dir:x"),
            ),
        ),
    )
)


def test_private_rooms_are_kept_by_their_keepers_only():
    args = {"network": NETWORK, "admins": ("@adm:x",), "bot": "@agora:x"}
    assert is_staff("@anim:x", "vaucluse.communaute", **args)
    assert not is_staff("@anim:x", "vaucluse.cellule", **args)  # not every animator
    assert is_staff("@anim2:x", "vaucluse.cellule", **args)
    assert not is_staff("@anim:x", "vaucluse.direction", **args)
    assert is_staff("@dir:x", "vaucluse.direction", **args)
    assert is_staff("@adm:x", "vaucluse.direction", **args)
    # Made by an animator who no longer animates here: kept by the territory's animators.
    assert not is_staff("@gone:x", "vaucluse.ancien", **args)
    assert is_staff("@anim:x", "vaucluse.ancien", **args)


def test_members_cannot_invite_into_private_rooms():
    rooms = {d.key: d for d in desired_state(NETWORK, ("@adm:x",))}
    for key in ("vaucluse.cellule", "vaucluse.direction"):
        assert power_levels(rooms[key], "@agora:x", frozenset())["invite"] == 50
        assert "@anim:x" not in rooms[key].users and "@anim:x" not in rooms[key].invites
        assert "@anim:x" in rooms["vaucluse.communaute"].users
    assert power_levels(rooms["vaucluse.communaute"], "@agora:x", frozenset())["invite"] == 0
    assert rooms["vaucluse.cellule"].users["@anim2:x"] == 50
    assert set(rooms["vaucluse.direction"].invites) == {"@adm:x", "@dir:x"}


@pytest.mark.parametrize("value", ["=1+1", "+33 6", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_a_spreadsheet_would_run_are_made_text(value):
    assert safe_cell(value) == "'" + value
    assert f"'{value}" in csv_text(["name"], [{"name": value}])


def test_plain_csv_cells_are_left_alone():
    assert safe_cell("Corinne Durand") == "Corinne Durand" and safe_cell(3) == 3


def test_ids_in_url_paths_are_quoted_completely():
    assert path_part("@a/../../admin:x") == "%40a%2F..%2F..%2Fadmin%3Ax"
    assert "/" not in path_part("!room/x?y#z:server")


async def test_v8_keeps_requests_their_numbers_and_what_points_at_them(tmp_path):
    import bot.store as store_module
    from bot.store import Store, migrations

    full = migrations.MIGRATIONS
    store_module.MIGRATIONS = full[:7]
    try:
        store = await Store.open(tmp_path / "old.db")
        for _ in range(3):
            await store.db.execute(
                "INSERT INTO requests (source, name, profession, territory, email, "
                "submitted_by, created) VALUES ('matrix', 'n', 'p', 't', 'e', 's', 1)"
            )
        await store.db.execute("DELETE FROM requests WHERE id = 3")
        await store.db.execute("INSERT INTO decisions VALUES (1, '@a:x', 'approve', '', 1)")
        await store.db.execute(
            "INSERT INTO members (user_id, request_id, territory, since) VALUES ('@u:x', 2, 't', 1)"
        )
        await store.close()
    finally:
        store_module.MIGRATIONS = full
    store = await Store.open(tmp_path / "old.db")
    try:
        assert await store.version() == len(full)
        cur = await store.db.execute(
            "INSERT INTO requests (source, name, profession, territory, email, submitted_by, "
            "created, status) VALUES ('web', 'n', 'p', 't', 'e', 'web', 1, 'unconfirmed')"
        )
        assert cur.lastrowid == 4  # a number once given is never given again
        async with store.db.execute("PRAGMA foreign_key_check") as c:
            assert await c.fetchall() == []
        async with store.db.execute("PRAGMA foreign_keys") as c:
            assert (await c.fetchone())[0] == 1
    finally:
        await store.close()
