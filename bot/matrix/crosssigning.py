"""Cross-signing for the bot's own identity (matrix-nio has none).

On first start the bot makes a master key, a self-signing key and a user-signing key (ed25519),
uploads them (first upload needs no interactive auth, MSC3967; a reset falls back to password
auth when the password is known) and signs its own device with the self-signing key, so clients
that only trust cross-signed devices (MSC4153) still talk to it. Private keys are kept in
``<data-dir>/cross-signing.json`` with mode 0600.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import canonicaljson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from bot.errors import MatrixError

log = logging.getLogger(__name__)

USAGES = ("master", "self_signing", "user_signing")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def public_b64(key: Ed25519PrivateKey) -> str:
    return b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def signable(obj: dict[str, Any]) -> bytes:
    """The bytes a Matrix signature covers: canonical JSON without signatures and unsigned."""
    stripped = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    return canonicaljson.encode_canonical_json(stripped)


def sign_json(obj: dict[str, Any], user_id: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    signed = copy.deepcopy(obj)
    signed.pop("unsigned", None)
    signature = b64(key.sign(signable(obj)))
    signed.setdefault("signatures", {}).setdefault(user_id, {})[f"ed25519:{public_b64(key)}"] = (
        signature
    )
    return signed


def verify_signed_json(
    obj: dict[str, Any], user_id: str, public_key: str, key_name: str | None = None
) -> bool:
    """``key_name``: the signature's key id after ``ed25519:`` (a cross-signing key is named
    by its public key, a device's own key by the device id)."""
    if not isinstance(obj, dict) or not isinstance(public_key, str):
        return False
    signatures = obj.get("signatures")
    mine = signatures.get(user_id) if isinstance(signatures, dict) else None
    signature = mine.get(f"ed25519:{key_name or public_key}") if isinstance(mine, dict) else None
    if not isinstance(signature, str) or not signature:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(unb64(public_key)).verify(
            unb64(signature), signable(obj)
        )
    except (InvalidSignature, ValueError, TypeError):  # bad key or signature, or bad JSON
        return False
    return True


def key_object(user_id: str, usage: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    pub = public_b64(key)
    return {"user_id": user_id, "usage": [usage], "keys": {f"ed25519:{pub}": pub}}


@dataclass(frozen=True)
class CrossSigningKeys:
    master: Ed25519PrivateKey
    self_signing: Ed25519PrivateKey
    user_signing: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> CrossSigningKeys:
        return cls(*(Ed25519PrivateKey.generate() for _ in USAGES))

    def seeds(self) -> dict[str, str]:
        return {
            usage: b64(
                getattr(self, usage).private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            )
            for usage in USAGES
        }

    @classmethod
    def from_seeds(cls, seeds: dict[str, str]) -> CrossSigningKeys:
        return cls(*(Ed25519PrivateKey.from_private_bytes(unb64(seeds[u])) for u in USAGES))

    @classmethod
    def load_or_create(cls, path: Path) -> CrossSigningKeys:
        if path.exists():
            return cls.from_seeds(json.loads(path.read_text()))
        keys = cls.generate()
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(keys.seeds(), fh)
        os.replace(tmp, path)
        return keys

    def upload_body(self, user_id: str) -> dict[str, Any]:
        """The body of ``/keys/device_signing/upload``: sub-keys signed by the master key."""
        return {
            "master_key": key_object(user_id, "master", self.master),
            "self_signing_key": sign_json(
                key_object(user_id, "self_signing", self.self_signing), user_id, self.master
            ),
            "user_signing_key": sign_json(
                key_object(user_id, "user_signing", self.user_signing), user_id, self.master
            ),
        }

    def sign_device(self, user_id: str, device_keys: dict[str, Any]) -> dict[str, Any]:
        """A device's key object signed by the self-signing key (for /keys/signatures/upload)."""
        body = {k: v for k, v in device_keys.items() if k not in ("signatures", "unsigned")}
        signed = sign_json(body, user_id, self.self_signing)
        return {k: v for k, v in signed.items() if k != "signatures"} | {
            "signatures": {user_id: signed["signatures"][user_id]}
        }


def device_is_cross_signed(keys_query: dict[str, Any], user_id: str, device_id: str) -> bool:
    """True when the device's keys carry a valid signature by the user's published
    self-signing key, itself signed by their master key: what a client checks."""
    master = keys_query.get("master_keys", {}).get(user_id)
    ssk = keys_query.get("self_signing_keys", {}).get(user_id)
    device = keys_query.get("device_keys", {}).get(user_id, {}).get(device_id)
    if not (master and ssk and device):
        return False
    master_pub = next(iter(master["keys"].values()))
    ssk_pub = next(iter(ssk["keys"].values()))
    return verify_signed_json(ssk, user_id, master_pub) and verify_signed_json(
        device, user_id, ssk_pub
    )


@dataclass(frozen=True)
class DeviceKeys:
    """A device's identity keys: what a Megolm session's origin is matched against."""

    device_id: str
    curve25519: str
    ed25519: str


@dataclass(frozen=True)
class PublishedIdentity:
    """A user's published cross-signing identity, checked: the master key (None if they have
    none), and the devices their self-signing key signed, that key itself signed by the
    master key (every signature verified here; matrix-nio 0.26 checks none of them)."""

    master: str | None
    signed_devices: dict[str, DeviceKeys]


def _single_key(obj: Any, user_id: str, usage: str) -> str | None:
    if not isinstance(obj, dict) or obj.get("user_id") != user_id:
        return None
    usages, keys_obj = obj.get("usage"), obj.get("keys")
    if not isinstance(usages, list) or usage not in usages or not isinstance(keys_obj, dict):
        return None
    keys = [v for k, v in keys_obj.items() if isinstance(k, str) and k.startswith("ed25519:")]
    return keys[0] if len(keys) == 1 and isinstance(keys[0], str) else None


def published_identity(keys_query: dict[str, Any], user_id: str) -> PublishedIdentity:
    """Pure: verify a ``/keys/query`` answer for ``user_id``: master → self-signing → each
    device, and each device's own signature over its keys (a device object someone else
    fabricated and the self-signing key never saw is not one of theirs)."""

    def of(section: str) -> Any:  # a homeserver's answer is data, whatever its shape
        found = keys_query.get(section) if isinstance(keys_query, dict) else None
        return found.get(user_id) if isinstance(found, dict) else None

    master_obj = of("master_keys")
    master = _single_key(master_obj, user_id, "master")
    if master is None:
        return PublishedIdentity(None, {})
    ssk_obj = of("self_signing_keys")
    ssk = _single_key(ssk_obj, user_id, "self_signing")
    if ssk is None or not verify_signed_json(ssk_obj, user_id, master):
        return PublishedIdentity(master, {})
    devices: dict[str, DeviceKeys] = {}
    listed = of("device_keys")
    for device_id, device in (listed if isinstance(listed, dict) else {}).items():
        if not isinstance(device, dict) or device.get("user_id") != user_id:
            continue
        if device.get("device_id") != device_id or not isinstance(device.get("keys"), dict):
            continue
        keys = device["keys"]
        ed, curve = keys.get(f"ed25519:{device_id}"), keys.get(f"curve25519:{device_id}")
        if not (isinstance(ed, str) and isinstance(curve, str)):
            continue
        if not verify_signed_json(device, user_id, ed, device_id):  # the device's own
            continue
        if verify_signed_json(device, user_id, ssk):
            devices[device_id] = DeviceKeys(device_id, curve, ed)
    return PublishedIdentity(master, devices)


def fingerprint(key: str) -> str:
    """A key as people compare it: groups of four characters."""
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


async def ensure_cross_signed(gateway: Any, keys_path: Path, password: str | None) -> bool:
    """Publish the bot's cross-signing keys if the server lacks them, and sign its device.
    Idempotent: a restart with everything in place makes one ``/keys/query`` and nothing else."""
    user_id, device_id = gateway.user_id, gateway.device_id
    keys = CrossSigningKeys.load_or_create(keys_path)
    published = await gateway.query_keys([user_id])
    if device_is_cross_signed(published, user_id, device_id):
        server_master = next(iter(published["master_keys"][user_id]["keys"].values()))
        if server_master == public_b64(keys.master):
            return False

    server_master = published.get("master_keys", {}).get(user_id)
    if not server_master or next(iter(server_master["keys"].values())) != public_b64(keys.master):
        body = keys.upload_body(user_id)
        try:
            await gateway.raw(
                "POST",
                "/_matrix/client/v3/keys/device_signing/upload",
                body,
                what="upload cross-signing keys",
            )
        except MatrixError as exc:
            if exc.status != 401 or not password:
                raise
            # Keys already exist on the server (store lost?): replacing them needs the password.
            session = await _uia_session(gateway, body)
            body["auth"] = {
                "type": "m.login.password",
                "session": session,
                "identifier": {"type": "m.id.user", "user": user_id},
                "password": password,
            }
            await gateway.raw(
                "POST",
                "/_matrix/client/v3/keys/device_signing/upload",
                body,
                what="upload cross-signing keys (authenticated)",
            )
        log.info("cross-signing keys published for %s", user_id)
        published = await gateway.query_keys([user_id])

    device = published.get("device_keys", {}).get(user_id, {}).get(device_id)
    if device is None:
        raise MatrixError(
            None, "AGORA_NO_DEVICE_KEYS", f"device {device_id} has no published keys yet"
        )
    signed = keys.sign_device(user_id, device)
    result = await gateway.raw(
        "POST",
        "/_matrix/client/v3/keys/signatures/upload",
        {user_id: {device_id: signed}},
        what="sign own device",
    )
    if result.get("failures"):
        raise MatrixError(None, "AGORA_SIGNATURE_REFUSED", json.dumps(result["failures"]))
    log.info("device %s signed by the self-signing key", device_id)
    return True


async def _uia_session(gateway: Any, body: dict[str, Any]) -> str:
    transport = await gateway.client.send(
        "POST",
        "/_matrix/client/v3/keys/device_signing/upload",
        json.dumps(body),
        {
            "Authorization": f"Bearer {gateway.client.access_token}",
            "Content-Type": "application/json",
        },
    )
    try:
        data = await transport.json(content_type=None)
    finally:
        transport.release()
    return data.get("session", "")
