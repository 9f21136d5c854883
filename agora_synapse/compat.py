"""The few Synapse internals the module needs, all here, each saying why.

The ModuleApi offers no call for these (registration tokens, external-id lookups, rate-limit
overrides, deactivation), or offers one that differs from what the admin API does (a join
through ``ModuleApi.update_room_membership`` is rate-limited as the joining user: a region
onboarding 200 members into its community room would wait out ``rc_joins_per_room``, which
the admin API's join skips). Checked against Synapse 1.163 (the tests run against the
installed one: tests/test_least_privilege.py); a Synapse upgrade that moves one of these
breaks here, in one file, and in those tests.

Imported only inside Synapse's process.
"""

from __future__ import annotations

from typing import Any

from synapse.api.constants import EventTypes
from synapse.event_auth import get_user_power_level
from synapse.module_api import ModuleApi
from synapse.types import UserID, create_requester


def _hs(api: ModuleApi) -> Any:
    """The HomeServer the ModuleApi wraps (kept as ``_hs`` since Synapse 1.9)."""
    return api._hs


def _store(api: ModuleApi) -> Any:
    # The main data store (its registration-token and rate-limit methods back the admin API's
    # /registration_tokens and /override_ratelimit endpoints).
    return _hs(api).get_datastores().main


# --- registration tokens (store methods behind /_synapse/admin/v1/registration_tokens) -------


async def create_registration_token(api: ModuleApi, token: str, expiry_ms: int) -> bool:
    """A single-use token; False when one with this value exists already."""
    return bool(await _store(api).create_registration_token(token, 1, expiry_ms))


async def registration_token(api: ModuleApi, token: str) -> dict[str, Any] | None:
    """{token, uses_allowed, pending, completed, expiry_time}, or None."""
    return await _store(api).get_one_registration_token(token)


async def set_registration_token_expiry(
    api: ModuleApi, token: str, expiry_ms: int
) -> dict[str, Any] | None:
    return await _store(api).update_registration_token(token, {"expiry_time": expiry_ms})


async def delete_registration_token(api: ModuleApi, token: str) -> bool:
    return bool(await _store(api).delete_registration_token(token))


async def user_by_external_id(api: ModuleApi, provider: str, external_id: str) -> str | None:
    """The account an external id was recorded for (the ModuleApi records, never looks up)."""
    return await _store(api).get_user_by_external_id(provider, external_id)


# --- rate limits (the store's override, as /override_ratelimit sets it) ----------------------


async def exempt_from_rate_limits(api: ModuleApi, user_id: str) -> None:
    """0 messages per second: every rate limiter skips the user (Synapse's own convention)."""
    await _store(api).set_ratelimit_for_user(user_id, 0, 0)


async def exempt(api: ModuleApi, user_id: str) -> bool:
    override = await _store(api).get_ratelimit_for_user(user_id)
    return override is not None and not override.messages_per_second


# --- rooms -----------------------------------------------------------------------------------


def power_level(user_id: str, state: Any) -> int:
    """A user's power in a room from its state (create and power-levels events): Synapse's own
    reckoning, creators of v12 rooms included."""
    return get_user_power_level(user_id, state)


async def force_join(api: ModuleApi, bot: str, user_id: str, room_id: str, invite: bool) -> None:
    """As the admin API's /join does, without its rate limits: the bot invites (when the room
    needs it), then the user joins; the bot is named as the one who acted."""
    members = _hs(api).get_room_member_handler()
    target = UserID.from_string(user_id)
    if invite:
        await members.update_membership(
            requester=create_requester(bot),
            target=target,
            room_id=room_id,
            action="invite",
            ratelimit=False,
        )
    await members.update_membership(
        requester=create_requester(target, authenticated_entity=bot),
        target=target,
        room_id=room_id,
        action="join",
        ratelimit=False,
    )


# --- accounts --------------------------------------------------------------------------------


async def deactivate(api: ModuleApi, bot: str, user_id: str) -> None:
    """As the admin API's /deactivate does (not erased: their messages stay readable)."""
    handler = _hs(api).get_deactivate_account_handler()
    await handler.deactivate_account(user_id, False, create_requester(bot), by_admin=True)


# --- a managed room's state, without its members (what GET /rooms/{id}/state would read) ------


async def joined_users(api: ModuleApi, room_id: str) -> frozenset[str]:
    """Who is joined (Synapse's cached list, as ``/joined_members`` reads it)."""
    return frozenset(await _store(api).get_users_in_room(room_id))


async def state_without_members(api: ModuleApi, room_id: str) -> list[dict[str, Any]]:
    """The room's current state events but its members'. The whole state's ids are Synapse's
    cached map (a filtered read, as the ModuleApi's ``get_room_state`` makes, is a database
    query each time): the members are left out here, and only the others' events loaded.
    Their content stays Synapse's frozen mapping, which its JSON encoder writes as is."""
    controllers = _hs(api).get_storage_controllers()
    ids = await controllers.state.get_current_state_ids(room_id)
    wanted = [event_id for (kind, _), event_id in ids.items() if kind != EventTypes.Member]
    events = await _store(api).get_events(wanted)
    return [
        {
            "type": event.type,
            "state_key": event.state_key,
            "sender": event.sender,
            "content": event.content,
        }
        for event in events.values()
    ]
