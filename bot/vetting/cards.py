"""A request's card in the control room: posted once, edited in place as admins decide."""

from __future__ import annotations

from bot import effects
from bot.capability import Core
from bot.i18n import t
from bot.matrix.content import edit, notice
from bot.matrix.markup import Markdown, escape
from bot.rpps.matching import Verdict, judge, suggested, without_rpps
from bot.store.rpps import RppsStore
from bot.store.vetting import RequestRow, refused_key
from bot.vetting.form import DEFAULT_PROFESSIONS
from bot.vetting.ledger import Ledger, Part, as_data

ENDORSEMENT = "endorsement"


# the note of an animator's approval when they file a request


def block(lines: list[str]) -> Markdown:
    """A card as Element shows it: its first line in bold, one line each after it (every
    line as written: nothing in it is read as markup)."""
    head, *rest = lines
    return Markdown("\n".join([f"**{escape(head)}**", *(escape(line) for line in rest)]))


class Cards(Part):
    def __init__(self, core: Core, ledger: Ledger):
        super().__init__(core)
        self.ledger = ledger
        self.directory = RppsStore(core.data_dir)

    async def text(self, request: RequestRow, detail: bool = False) -> Markdown:
        """The request's card (``detail``: with every place of practice the directory
        lists, as ``!info`` shows it)."""
        loc = self.config.locale
        result = await self.ledger.standing_of(request)
        profession = next(
            (p.label(loc) for p in DEFAULT_PROFESSIONS if p.id == request.profession),
            request.profession,
        )
        identifier = (
            f"RPPS {request.rpps}"
            if request.rpps
            else f"ADELI {request.adeli}"
            if request.adeli
            else "—"
        )
        lines = [
            t(
                "vetting.card.title",
                loc,
                id=request.id,
                name=request.name,
                status=t(f"vetting.status.{request.status}", loc),
            ),
            t(
                "vetting.card.fields",
                loc,
                profession=profession,
                identifier=identifier,
                territory=self.ledger.territory_name(request.territory),
                structure=request.structure or "—",
                email=request.email,
                user=request.user_id or "—",
            ),
        ]
        lines.extend(await self.directory_lines(request, detail))
        duplicates = await self.requests.duplicates(
            as_data(request), request.user_id, exclude=request.id
        )
        if duplicates:
            lines.append(
                t(
                    "vetting.card.duplicates",
                    loc,
                    list=", ".join(f"#{i} ({field})" for i, field in duplicates),
                )
            )
        lines.append(
            t(
                "vetting.card.approvals",
                loc,
                n=len(result.approvals),
                required=result.required,
                who=", ".join(result.approvals) or "—",
            )
        )
        endorsers = [
            d.admin
            for d in await self.requests.decisions(request.id)
            if d.note == ENDORSEMENT and d.admin not in result.approvals
        ]
        if endorsers:
            lines.append(t("vetting.card.endorsed", loc, who=", ".join(endorsers)))
        if result.rejections:
            lines.append(t("vetting.card.rejections", loc, who=", ".join(result.rejections)))
        if request.status == "pending":
            lines.append(
                t("vetting.card.howto", loc, id=request.id, prefix=self.config.commands.prefix)
            )
        elif request.reason:
            lines.append(t("vetting.card.reason", loc, reason=request.reason))
            if await self.store.get(refused_key(request.id)) is not None:
                lines.append(
                    t(
                        "vetting.card.override",
                        loc,
                        id=request.id,
                        prefix=self.config.commands.prefix,
                    )
                )
        return block(lines)

    async def verdict(self, request: RequestRow) -> Verdict | None:
        """What the loaded directory says of the request's RPPS number (None: not consulted:
        no directory, no RPPS number, or ``directory_check: off``)."""
        if self.config.vetting.directory_check == "off":
            return None
        if await self.directory.loaded() is None:
            return None
        if not request.rpps:
            return without_rpps(request.profession)
        entry = await self.directory.entry(request.rpps)
        return judge(request.name, request.profession, entry)

    async def directory_lines(self, request: RequestRow, detail: bool) -> list[str]:
        """The national directory's verdict on one line (nothing when it is not consulted)."""
        loc = self.config.locale
        if self.config.vetting.directory_check == "off":
            return []
        loaded = await self.directory.loaded()
        if loaded is None:
            if self.config.vetting.directory_check == "require":
                return [t("vetting.card.rpps_none_loaded", loc)]
            return []
        date = loaded["date"]
        if not request.rpps:
            if without_rpps(request.profession) is not None:
                return [t("vetting.card.rpps_missing", loc, date=date)]
            return [t("vetting.card.rpps_not_consulted", loc)] if request.adeli else []
        verdict = await self.verdict(request)
        assert verdict is not None
        if verdict.entry is None:
            return [t("vetting.card.rpps_absent", loc, date=date)]
        e = verdict.entry
        places = ", ".join(dict.fromkeys(c or d for d, c in e.places)) or "—"
        if len(places) > 80 and not detail:
            places = places[:77] + "…"
        said = t(
            "vetting.card.rpps_entry",
            loc,
            last=e.last_name.upper(),
            first=e.first_name,
            profession=e.profession_label.lower() or e.profession,
            places=places,
            date=date,
        )
        if verdict.ok:
            lines = [t("vetting.card.rpps_found", loc, entry=said)]
        else:
            wrong = [
                t(key, loc)
                for ok, key in (
                    (verdict.name_ok, "vetting.card.rpps_other_name"),
                    (verdict.profession_ok, "vetting.card.rpps_other_profession"),
                )
                if not ok
            ]
            lines = [t("vetting.card.rpps_mismatch", loc, what=", ".join(wrong), entry=said)]
        better = suggested(self.config.network, request.territory, e.places)
        if better is not None:
            lines.append(
                t(
                    "vetting.card.rpps_territory",
                    loc,
                    territory=better.name,
                    asked=self.ledger.territory_name(request.territory),
                )
            )
        if detail:
            lines.extend(f"  • {c} ({d})" for d, c in e.places)
        return lines

    async def show(self, request: RequestRow) -> None:
        """Post the card once; afterwards edit it in place. Imported requests get none (one
        summary for the batch instead)."""
        if not self.control.room_id or request.batch:
            return
        text = await self.text(request)
        if request.card_event is None:
            await self.post(request, text=text)
        else:
            await self.gateway.send(self.control.room_id, edit(request.card_event, text))

    async def post(
        self, request: RequestRow, *, text: str | None = None, replacing: str = ""
    ) -> None:
        """One transaction id per request (and per removed card it replaces): a card posted
        just before a crash is not posted again (the homeserver gives back the one it
        stored)."""
        text = text or await self.text(request)
        # Its callers (show, a removed card posted again) return first without a control room.
        assert self.control.room_id is not None
        event_id = await self.gateway.send(
            self.control.room_id,
            notice(text),
            txn=effects.stable_key("card", str(request.id), *([replacing] if replacing else [])),
        )
        await self.requests.set_card(request.id, event_id)
