"""The requests and where each stands: whose decisions count, and what they add up to."""

from __future__ import annotations

from bot.capability import Core
from bot.config import Config
from bot.errors import NotFound
from bot.store.vetting import RequestRow, VettingStore
from bot.vetting.form import JoinRequestData
from bot.vetting.quorum import Standing, standing


class Part:
    """What every part of vetting works with."""

    def __init__(self, core: Core):
        self.core = core
        self.gateway = core.gateway
        self.store = core.store
        self.control = core.control
        self.requests = VettingStore(core.store)

    @property
    def config(self) -> Config:
        return self.core.config

    def wake_jobs(self) -> None:
        self.core.wake_jobs()


class Ledger(Part):
    async def get(self, request_id: int) -> RequestRow:
        request = await self.requests.request(request_id)
        if request is None:
            raise NotFound("vetting.unknown_request", id=str(request_id))
        return request

    def voters(self, territory: str) -> tuple[str, ...]:
        """Whose approvals count: the admins, and the animators of the territory or above it
        when their endorsement counts."""
        if not self.config.vetting.animator_endorsement_counts:
            return self.config.admins
        animators = [
            a
            for t, ancestors in self.config.network.walk()
            if t.id == territory
            for x in (*ancestors, t)
            for a in x.animators
        ]
        return tuple(dict.fromkeys((*self.config.admins, *animators)))

    async def standing_of(self, request: RequestRow) -> Standing:
        return standing(
            await self.requests.decisions(request.id),
            self.voters(request.territory),
            self.config.vetting.approvals_required,
            self.config.vetting.one_rejection_rejects,
        )

    def territory_name(self, territory: str) -> str:
        found = self.config.network.find(territory)
        return found.name if found else territory


def as_data(request: RequestRow) -> JoinRequestData:
    return JoinRequestData(
        name=request.name,
        profession=request.profession,
        territory=request.territory,
        email=request.email,
        structure=request.structure,
        rpps=request.rpps,
        adeli=request.adeli,
    )
