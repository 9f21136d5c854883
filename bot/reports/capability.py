"""The month's report as a capability: `!rapport [mois]` (`!report [month]`), in the control
room. The figures are counted by the store, drawn in a worker process, and posted as an
encrypted picture (``m.image``) and the same figures as an encrypted CSV file (``m.file``);
the admin sees the bot typing meanwhile."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.capability import Capability, Core
from bot.dates import month_bounds, month_label, parse_month
from bot.errors import BadArgument
from bot.i18n import t
from bot.reports.chart import size
from bot.reports.figures import Figures, figures
from bot.reports.layout import Names, chart, csv_report, file_name
from bot.reports.painter import Painter
from bot.store.reports import ReportStore

BOM = "\ufeff"  # spreadsheets (Excel) then read the CSV as UTF-8: accents stay accents


def asked_month(text: str, tz: ZoneInfo, now: float, locale: str) -> tuple[int, int]:
    """The month ``text`` names (nothing: the current one, in the region's time zone); a
    clear refusal, naming what was typed, for what is no month, or one still to come."""
    found = parse_month(text, tz, now)
    if found is None:
        raise BadArgument("report.bad_month", value=text.strip()[:40])
    today = dt.datetime.fromtimestamp(now, tz).date()
    if found > (today.year, today.month):
        raise BadArgument("report.future_month", month=month_label(*found, locale))
    return found


class Reports(Capability):
    name = "reports"
    commands = ("bot.commands.reports",)

    def __init__(self, core: Core):
        super().__init__(core)
        self.counts = ReportStore(core.store)
        # matplotlib's configuration and font cache, in the data directory (never $HOME).
        self.painter = Painter(core.data_dir / "matplotlib")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.rosters.timezone)

    async def figures(self, year: int, month: int) -> Figures:
        start, end = month_bounds(year, month, self.tz)
        alerts = await self.counts.alerts(start, end)
        return figures(
            year,
            month,
            members=await self.counts.members(end),
            received=await self.counts.received(start, end),
            decided=await self.counts.decided(start, end),
            alerts=alerts,
            acks=await self.counts.acks([a.id for a in alerts], end),
            network=self.config.network,
        )

    async def post(self, room_id: str, reply_to: str, text: str, locale: str) -> str:
        """The month's picture and CSV posted in ``room_id`` (as replies to the command);
        what to answer."""
        year, month = asked_month(text, self.tz, self.core.clock(), locale)
        gateway = self.core.gateway
        # A command running past a second shows the bot typing (the dispatcher).
        found = await self.figures(year, month)
        names = Names(self.config.network, locale)
        png = await self.painter.paint(chart(found, names))
        width, height = size(png)
        await gateway.send_file(
            room_id,
            png,
            name=file_name(found, "png", locale),
            mimetype="image/png",
            msgtype="m.image",
            info={"w": width, "h": height},
            reply_to=reply_to,
        )
        sheet = BOM + csv_report(found, names, self.tz)
        await gateway.send_file(
            room_id,
            sheet.encode(),
            name=file_name(found, "csv", locale),
            mimetype="text/csv",
            reply_to=reply_to,
        )
        return t(
            "report.sent",
            locale,
            month=month_label(year, month, locale),
            members=found.members,
            received=found.received,
            alerts=len(found.alerts),
        )
