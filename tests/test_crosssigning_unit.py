"""Cross-signing signatures, checked with signedjson (Synapse's library), not with our code."""

from signedjson.key import decode_verify_key_bytes
from signedjson.sign import verify_signed_json

from bot.matrix.crosssigning import (
    CrossSigningKeys,
    device_is_cross_signed,
    public_b64,
    unb64,
)

USER = "@agora:localhost"


def verify(obj, key):
    pub = public_b64(key)
    verify_signed_json(obj, USER, decode_verify_key_bytes(f"ed25519:{pub}", unb64(pub)))


def test_upload_body_subkeys_are_signed_by_the_master_key():
    keys = CrossSigningKeys.generate()
    body = keys.upload_body(USER)
    assert body["master_key"]["usage"] == ["master"]
    verify(body["self_signing_key"], keys.master)
    verify(body["user_signing_key"], keys.master)


def test_device_signature_verifies_and_keeps_existing_fields():
    keys = CrossSigningKeys.generate()
    device = {
        "user_id": USER,
        "device_id": "DEV",
        "algorithms": ["m.megolm.v1.aes-sha2"],
        "keys": {"ed25519:DEV": "x", "curve25519:DEV": "y"},
        "signatures": {USER: {"ed25519:DEV": "devsig"}},
        "unsigned": {"n": 1},
    }
    signed = keys.sign_device(USER, device)
    verify(signed, keys.self_signing)
    assert "unsigned" not in signed
    query = {
        "master_keys": {USER: keys.upload_body(USER)["master_key"]},
        "self_signing_keys": {USER: keys.upload_body(USER)["self_signing_key"]},
        "device_keys": {USER: {"DEV": signed}},
    }
    assert device_is_cross_signed(query, USER, "DEV")
    query["device_keys"][USER]["DEV"]["algorithms"] = ["tampered"]
    assert not device_is_cross_signed(query, USER, "DEV")


def test_keys_survive_a_restart_with_private_file(tmp_path):
    path = tmp_path / "cross-signing.json"
    first = CrossSigningKeys.load_or_create(path)
    again = CrossSigningKeys.load_or_create(path)
    assert public_b64(first.master) == public_b64(again.master)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
