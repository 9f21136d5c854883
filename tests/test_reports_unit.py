"""The month's report without a server: the month as admins type it, the figures counted from
a store filled with rows (who counts, what waited how long, who acknowledged what), the CSV,
the picture drawn in its worker, and the gateway's upload."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from bot.dates import month_bounds, month_label, parse_month
from bot.errors import BadArgument, MatrixError, UserError
from bot.reports.capability import asked_month
from bot.reports.chart import PNG_SIGNATURE, size
from bot.reports.figures import Figures, figures
from bot.reports.layout import Names, chart, csv_report, file_name
from bot.reports.painter import Painter
from bot.store import Store
from bot.store.reports import ReportStore
from bot.territories.model import Network, Territory
from tests.test_gateway_unit import local_gateway

PARIS = ZoneInfo("Europe/Paris")
NETWORK = Network(
    (Territory("sud", "Région Sud", territories=(Territory("vaucluse", "Vaucluse"),
                                                 Territory("var", "Var"))),)
)  # fmt: skip
HOUR = 3600.0


def at(month: int, day: int, hour: int = 12, year: int = 2026) -> float:
    return dt.datetime(year, month, day, hour, tzinfo=PARIS).timestamp()


# --- the month as typed -----------------------------------------------------------------------

NOW = at(11, 20)  # Friday 20 November 2026, noon in Paris


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("", (2026, 11)),
        ("2026-11", (2026, 11)),
        ("2026-3", (2026, 3)),
        ("11/2026", (2026, 11)),
        ("novembre", (2026, 11)),
        ("Novembre 2026", (2026, 11)),
        ("nov. 2026", (2026, 11)),
        ("November 2026", (2026, 11)),
        ("août", (2026, 8)),
        ("aout 2025", (2025, 8)),
        ("Décembre", (2025, 12)),  # no year: the latest one not after this month
        ("december 2025", (2025, 12)),
        ("févr. 2026", (2026, 2)),
        ("mois dernier", (2026, 10)),
        ("last month", (2026, 10)),
        ("ce mois-ci", (2026, 11)),
    ],
)
def test_a_month_as_admins_type_it(text, month):
    assert parse_month(text, PARIS, NOW) == month


@pytest.mark.parametrize(
    "text", ["2026-13", "13/2026", "brumaire", "novembre 2026 2027", "1999-01", "12/08", "x"]
)
def test_what_is_no_month_is_none(text):
    assert parse_month(text, PARIS, NOW) is None


def test_the_current_month_is_the_regions():
    # 30 November, 23:30 UTC is already 1 December in Paris.
    late = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC).timestamp()
    assert parse_month("", PARIS, late) == (2026, 12)
    assert parse_month("", ZoneInfo("America/Martinique"), late) == (2026, 11)
    assert parse_month("janvier", PARIS, late) == (2026, 1)


def test_a_bad_month_is_refused_naming_it_in_the_readers_language():
    with pytest.raises(BadArgument) as caught:
        asked_month("brumaire an II", PARIS, NOW, "fr")
    assert caught.value.render("fr").startswith("« brumaire an II » n'est pas un mois")
    assert caught.value.render("en").startswith("'brumaire an II' is not a month")
    with pytest.raises(BadArgument) as caught:
        asked_month("2026-12", PARIS, NOW, "fr")
    assert caught.value.key == "report.future_month"
    assert "décembre 2026 n'a pas encore commencé" in caught.value.render("fr")
    assert asked_month("", PARIS, NOW, "en") == (2026, 11)


def test_a_month_is_its_local_days_whatever_the_change_of_time():
    start, end = month_bounds(2026, 11, PARIS)
    assert start == dt.datetime(2026, 11, 1, tzinfo=PARIS).timestamp()
    assert end == dt.datetime(2026, 12, 1, tzinfo=PARIS).timestamp()
    march = month_bounds(2026, 3, PARIS)  # clocks go forward on the 29th
    assert march[1] - march[0] == 31 * 86400 - 3600
    december = month_bounds(2026, 12, PARIS)
    assert december[1] == dt.datetime(2027, 1, 1, tzinfo=PARIS).timestamp()
    assert (month_label(2026, 8, "fr"), month_label(2026, 8, "en")) == ("août 2026", "August 2026")


# --- the figures, from a store filled with rows --------------------------------------------------


async def request(
    store: Store,
    profession: str,
    territory: str,
    status: str,
    created: float,
    decided: float | None = None,
    confirmed: float | None = None,
) -> int:
    cur = await store._write(
        "INSERT INTO requests (source, name, profession, territory, email, submitted_by, "
        "status, created, decided, confirmed) VALUES ('test', 'Dr Nom Secret', ?, ?, "
        "'secret@example.org', 'test', ?, ?, ?, ?)",
        (profession, territory, status, created, decided, confirmed),
    )
    return cur.lastrowid or 0


async def member(
    store: Store, user: str, request_id: int | None, territory: str, since: float, status="active"
) -> None:
    await store._write(
        "INSERT INTO members (user_id, request_id, territory, status, since) VALUES (?, ?, ?, ?, ?)",
        (user, request_id, territory, status, since),
    )


async def alert(store: Store, territory: str, level: str, created: float, acks: list[str]) -> int:
    cur = await store._write(
        "INSERT INTO alerts (territory, level, text, author, origin, created) "
        "VALUES (?, ?, 'Texte', '@admin:x', 'command', ?)",
        (territory, level, created),
    )
    alert_id = cur.lastrowid or 0
    for user in acks:
        await store._write(
            "INSERT INTO acks (alert_id, user_id, via, at) VALUES (?, ?, 'command', ?)",
            (alert_id, user, created + 60),
        )
    return alert_id


@pytest.fixture
async def november(tmp_path: Path) -> tuple[Figures, list[int]]:
    """November 2026 in a region: requests received and decided then (and around), members
    who count and who do not, alerts and who acknowledged them."""
    store = await Store.open(tmp_path / "agora.db")
    # Approved in 2 h.
    r1 = await request(store, "medecin", "vaucluse", "approved", at(11, 2, 8), at(11, 2, 10))
    await member(store, "@m1:x", r1, "vaucluse", at(11, 2, 10))
    # Filed in October, approved on 1 November after 48 h: decided this month, not received.
    r2 = await request(store, "medecin", "vaucluse", "approved", at(10, 30, 9), at(11, 1, 9))
    await member(store, "@m2:x", r2, "vaucluse", at(11, 1, 9))
    # From the web form: posted in October, confirmed on 3 November (then the admins had it),
    # approved 6 h after that.
    r3 = await request(
        store, "infirmier", "var", "approved", at(10, 31, 20), at(11, 3, 14), confirmed=at(11, 3, 8)
    )
    await member(store, "@m3:x", r3, "var", at(11, 3, 14))
    await request(store, "pharmacien", "vaucluse", "rejected", at(11, 5, 9), at(11, 5, 10))  # 1 h
    await request(store, "medecin", "var", "pending", at(11, 10))
    await request(store, "medecin", "var", "cancelled", at(11, 11), at(11, 12))  # not a decision
    await request(store, "medecin", "var", "unconfirmed", at(11, 12))  # never reached the admins
    await request(store, "medecin", "var", "expired", at(11, 13), at(11, 15))  # nor this one
    # Received in November, decided in December; its member joined after the month.
    r9 = await request(store, "sage-femme", "var", "approved", at(11, 20), at(12, 2))
    await member(store, "@m4:x", r9, "var", at(12, 2))
    # Revoked: not counted, nor their acknowledgements.
    r10 = await request(store, "medecin", "vaucluse", "approved", at(9, 1), at(9, 2))
    await member(store, "@m5:x", r10, "vaucluse", at(9, 2), status="revoked")
    # An absence's replacement: a member with no request and no territory of their own.
    await member(store, "@m6:x", None, "", at(11, 4))
    # A member of the region's own territory, since the summer.
    r11 = await request(store, "medecin", "sud", "approved", at(8, 1), at(8, 2))
    await member(store, "@m7:x", r11, "sud", at(8, 2))
    alerts = [
        # Vaucluse: its 2 members; m1 acknowledged; m3 (Var), a stranger, m5 (revoked) too.
        await alert(store, "vaucluse", "critical", at(11, 6), ["@m1:x", "@m3:x", "@x:y", "@m5:x"]),
        # Everyone: the 4 members with a territory; m1 and m7, and m4 who joined later.
        await alert(store, "all", "info", at(11, 20), ["@m1:x", "@m7:x", "@m4:x"]),
        # A territory the config no longer declares: nobody to reach.
        await alert(store, "ancien", "warning", at(11, 25), []),
    ]
    await alert(store, "vaucluse", "info", at(10, 31), ["@m1:x"])  # October's
    counts = ReportStore(store)
    start, end = month_bounds(2026, 11, PARIS)
    sent = await counts.alerts(start, end)
    found = figures(
        2026,
        11,
        members=await counts.members(end),
        received=await counts.received(start, end),
        decided=await counts.decided(start, end),
        alerts=sent,
        acks=await counts.acks([a.id for a in sent], end),
        network=NETWORK,
    )
    await store.close()
    return found, alerts


async def test_members_by_territory_and_profession_as_the_month_ended(november):
    found, _ = november
    # Territories in the config's order, the replacement (no territory) last; neither the
    # revoked member nor the one who joined in December.
    assert found.by_territory == (("sud", 1), ("vaucluse", 2), ("var", 1), ("", 1))
    assert found.by_profession == (("medecin", 3), ("infirmier", 1), ("", 1))
    assert found.members == 5


async def test_requests_received_decided_and_the_median_wait(november):
    found, _ = november
    # Received: filed or confirmed in November and seen by the admins (not the unconfirmed
    # or expired ones, not October's).
    assert found.received == 6
    assert (found.approved, found.rejected) == (3, 1)  # the cancelled one is no decision
    assert found.median_delay == 4 * HOUR  # of 2 h, 48 h, 6 h (from confirmation), 1 h


async def test_alerts_and_who_of_their_recipients_acknowledged(november):
    found, (vaucluse, everyone, gone) = november
    assert [(a.id, a.territory, a.recipients, a.acknowledged) for a in found.alerts] == [
        (vaucluse, "vaucluse", 2, 1),
        (everyone, "all", 4, 2),
        (gone, "ancien", 0, 0),
    ]
    assert [a.rate for a in found.alerts] == [0.5, 0.5, None]
    assert (found.recipients, found.acknowledged, found.ack_rate) == (6, 3, 0.5)


async def test_an_empty_month_has_no_median_and_no_rate(tmp_path):
    store = await Store.open(tmp_path / "agora.db")
    counts = ReportStore(store)
    start, end = month_bounds(2026, 11, PARIS)
    assert await counts.members(end) == []
    assert (await counts.received(start, end), await counts.decided(start, end)) == (0, [])
    assert await counts.alerts(start, end) == [] and await counts.acks([], end) == {}
    await store.close()
    empty = figures(2026, 11, members=[], received=0, decided=[], alerts=[], acks={},
                    network=NETWORK)  # fmt: skip
    assert (empty.median_delay, empty.ack_rate, empty.members) == (None, None, 0)


# --- what the report says -------------------------------------------------------------------------


def rows(text: str) -> dict[tuple[str, str], str]:
    return {(r[0], r[1]): r[2] for r in list(csv.reader(io.StringIO(text)))[1:]}


async def test_the_csv_gives_the_same_figures_in_french_and_no_names(november):
    found, (vaucluse, everyone, gone) = november
    text = csv_report(found, Names(NETWORK, "fr"), PARIS)
    assert text.splitlines()[0] == "rubrique,élément,valeur"
    got = rows(text)
    assert got[("Mois", "novembre 2026")] == "2026-11"
    assert got[("Membres", "total")] == "5"
    assert got[("Membres par territoire", "Vaucluse")] == "2"
    assert got[("Membres par territoire", "Région Sud")] == "1"
    assert got[("Membres par territoire", "(sans territoire)")] == "1"
    assert got[("Membres par profession", "médecin")] == "3"
    assert got[("Membres par profession", "infirmier·ère")] == "1"
    assert got[("Demandes d'adhésion", "reçues")] == "6"
    assert got[("Demandes d'adhésion", "acceptées")] == "3"
    assert got[("Demandes d'adhésion", "refusées")] == "1"
    assert got[("Demandes d'adhésion", "délai médian de décision (heures)")] == "4.0"
    assert got[("Alertes", "envoyées")] == "3"
    assert got[("Alertes", "taux d'accusé de réception (%)")] == "50.0"
    assert got[(f"Alerte #{vaucluse}", "niveau")] == "critique"
    assert got[(f"Alerte #{vaucluse}", "date")] == "2026-11-06"
    assert got[(f"Alerte #{everyone}", "territoire")] == "toute la région"
    assert got[(f"Alerte #{everyone}", "destinataires")] == "4"
    assert got[(f"Alerte #{gone}", "taux d'accusé de réception (%)")] == ""
    for secret in ("Nom Secret", "secret@example.org", "@m1:x", "Texte"):
        assert secret not in text


async def test_english_when_the_region_speaks_english(november):
    found, _ = november
    names = Names(NETWORK, "en")
    got = rows(csv_report(found, names, PARIS))
    assert got[("Join requests", "median time to a decision (hours)")] == "4.0"
    assert got[("Members by profession", "physician")] == "3"
    drawn = chart(found, names)
    assert drawn.title == "Agora — report for November 2026"
    assert [p.title for p in drawn.panels][:2] == ["Members by territory", "Members by profession"]
    assert drawn.panels[2].caption == "median time to a decision: 4 h"
    assert drawn.panels[3].notes == ("1/2 (50%)", "2/4 (50%)", "0/0")
    assert file_name(found, "png", "en") == "report-2026-11.png"
    assert file_name(found, "csv", "fr") == "rapport-2026-11.csv"


async def test_the_picture_is_drawn_in_a_worker_with_its_own_matplotlib_directory(tmp_path):
    empty = figures(2026, 2, members=[], received=0, decided=[], alerts=[], acks={},
                    network=NETWORK)  # fmt: skip
    drawn = chart(empty, Names(NETWORK, "fr"))
    assert drawn.panels[0].empty == "Aucun membre" and not drawn.panels[0].values
    assert drawn.panels[2].caption == "aucune décision ce mois-ci"
    config_dir = tmp_path / "matplotlib"
    png = await Painter(config_dir).paint(drawn)
    assert png.startswith(PNG_SIGNATURE)
    assert size(png) == (1200, 850)
    # matplotlib kept its font cache where it was told, not in $HOME.
    assert any(p.name.startswith("fontlist") for p in config_dir.iterdir())
    assert config_dir.stat().st_mode & 0o777 == 0o700


async def test_a_worker_over_its_time_is_stopped_and_the_admin_told(tmp_path):
    drawn = chart(
        figures(2026, 2, members=[], received=0, decided=[], alerts=[], acks={}, network=NETWORK),
        Names(NETWORK, "en"),
    )
    with pytest.raises(UserError) as caught:
        await Painter(tmp_path / "mpl", time_limit=0.01).paint(drawn)
    assert caught.value.key == "report.failed"
    assert "could not be drawn" in caught.value.render("en")


# --- the gateway's upload --------------------------------------------------------------------------


@pytest.fixture
async def media_server():
    received: list[tuple[str, str, bytes]] = []
    answers: list[web.Response] = []

    async def handler(request: web.Request) -> web.Response:
        received.append((request.path_qs, request.headers["Content-Type"], await request.read()))
        return answers.pop(0)

    async with local_gateway(handler, "POST", "/_matrix/media/v3/upload") as gateway:
        yield gateway, answers, received


async def test_an_upload_waits_out_a_429_and_sends_the_same_bytes_again(media_server):
    gateway, answers, received = media_server
    answers += [
        web.json_response(
            {"errcode": "M_LIMIT_EXCEEDED", "error": "slow down", "retry_after_ms": 200}, status=429
        ),
        web.json_response({"content_uri": "mxc://x/abc"}),
    ]
    began = time.monotonic()
    assert await gateway.upload(b"\x00cipher", "application/octet-stream") == "mxc://x/abc"
    assert time.monotonic() - began >= 0.19
    assert [r[2] for r in received] == [b"\x00cipher", b"\x00cipher"]
    assert received[0][:2] == ("/_matrix/media/v3/upload", "application/octet-stream")


async def test_an_upload_refused_is_a_matrix_error(media_server):
    gateway, answers, received = media_server
    answers += [web.json_response({"errcode": "M_TOO_LARGE", "error": "too big"}, status=413)]
    with pytest.raises(MatrixError) as caught:
        await gateway.upload(b"x" * 10, "image/png", "rapport 2026-11.png")
    assert (caught.value.status, caught.value.errcode) == (413, "M_TOO_LARGE")
    assert received[0][0] == "/_matrix/media/v3/upload?filename=rapport%202026-11.png"
