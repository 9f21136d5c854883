"""The month's report against a real Synapse: an admin types `!rapport` in the control room and
their end-to-end encrypted client receives an encrypted picture and an encrypted CSV, which it
downloads and decrypts; the CSV says what the region's store holds. A month that is no month
is refused, named."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
import time
from zoneinfo import ZoneInfo

import pytest
from nio import RoomEncryptedFile, RoomEncryptedImage
from nio.crypto import decrypt_attachment

from bot.dates import month_bounds, month_label
from bot.reports.chart import PNG_SIGNATURE, size
from bot.store.news import NewsStore
from bot.store.vetting import VettingStore
from bot.vetting.form import JoinRequestData

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")
HOUR = 3600.0


def region(sfx: str) -> dict:
    return {
        "territories": [
            {"id": f"vaucluse-{sfx}", "name": "Vaucluse"},
            {"id": f"var-{sfx}", "name": "Var"},
        ]
    }


async def admitted(agora, user: str, profession: str, territory: str, filed: float, wait: float):
    """A request filed at ``filed``, approved ``wait`` later, and its member."""
    vetting = VettingStore(agora.store)
    data = JoinRequestData("Dr Nom Confidentiel", profession, territory, "secret@example.org")
    n = await vetting.add_request(data, source="test", user_id=user, dm_room=None,
                                  submitted_by=user)  # fmt: skip
    assert await vetting.close_request(n, "approved")
    await agora.store._write(
        "UPDATE requests SET created = ?, decided = ? WHERE id = ?", (filed, filed + wait, n)
    )
    await vetting.add_member(user, n, territory)


async def test_an_admin_receives_the_months_report_as_an_encrypted_picture_and_csv(
    person, start_bot
):
    sfx = secrets.token_hex(3)
    admin = await person("admin")
    agora = await start_bot([admin.user_id], network=region(sfx))
    await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    vaucluse, var = f"vaucluse-{sfx}", f"var-{sfx}"
    # The bot's clock in the middle of this month, so that `!rapport` means this month.
    today = dt.datetime.now(PARIS)
    middle = dt.datetime(today.year, today.month, 15, 12, tzinfo=PARIS).timestamp()
    agora.jobs.clock.offset = middle - time.time()
    start, _ = month_bounds(today.year, today.month, PARIS)

    m1, m2, m3 = (f"@{n}-{sfx}:localhost" for n in ("m1", "m2", "m3"))
    await admitted(agora, m1, "medecin", vaucluse, start + 1 * HOUR, 2 * HOUR)
    await admitted(agora, m2, "medecin", vaucluse, start + 2 * HOUR, 4 * HOUR)
    await admitted(agora, m3, "infirmier", var, start + 3 * HOUR, 9 * HOUR)
    vetting = VettingStore(agora.store)
    refused = JoinRequestData("Dr Refusé", "pharmacien", var, "refuse@example.org")
    n = await vetting.add_request(refused, source="test", user_id=None, dm_room=None,
                                  submitted_by="test")  # fmt: skip
    assert await vetting.close_request(n, "rejected", "hors région")
    await agora.store._write(
        "UPDATE requests SET created = ?, decided = ? WHERE id = ?",
        (start + 4 * HOUR, start + 5 * HOUR, n),
    )
    pending = JoinRequestData("Dr Attente", "medecin", var, "attente@example.org")
    n = await vetting.add_request(pending, source="test", user_id=None, dm_room=None,
                                  submitted_by="test")  # fmt: skip
    await agora.store._write("UPDATE requests SET created = ? WHERE id = ?", (start + HOUR, n))
    news = NewsStore(agora.store)
    async with agora.store.transaction() as db:
        local = await NewsStore.add_alert(
            db, vaucluse, "critical", "Canicule", admin.user_id, "command", start + 6 * HOUR
        )
        everyone = await NewsStore.add_alert(
            db, "all", "info", "Vaccination", admin.user_id, "command", start + 7 * HOUR
        )
    for alert_id, user in ((local, m1), (everyone, m1), (everyone, m3)):
        assert await news.add_ack(alert_id, user, "command", start + 8 * HOUR)

    control = agora.control.room_id
    asked = await admin.say(control, "!rapport")
    assert await admin.reaction_to(asked, timeout=180) == "✅"
    replies = await admin.wait_for(
        lambda: len(admin.replies_to(asked)) >= 3 and admin.replies_to(asked), "three replies"
    )
    image = next(s for s in replies if isinstance(s.event, RoomEncryptedImage))
    sheet = next(s for s in replies if isinstance(s.event, RoomEncryptedFile))
    said = next(s for s in replies if s.content.get("msgtype") == "m.notice")
    month = month_label(today.year, today.month, "fr")
    assert f"Rapport de {month}" in said.body, said.body
    assert "3 membre(s), 5 demande(s) reçue(s), 2 alerte(s)" in said.body, said.body

    async def fetched(seen) -> bytes:
        # Sent end-to-end encrypted: the event, and the file (only ciphertext on the server).
        assert seen.encrypted and "url" not in seen.content
        file = seen.content["file"]
        downloaded = await admin.client.download(mxc=file["url"])
        ciphertext = downloaded.body
        return decrypt_attachment(ciphertext, file["key"]["k"], file["hashes"]["sha256"],
                                  file["iv"])  # fmt: skip

    png = await fetched(image)
    assert png.startswith(PNG_SIGNATURE)
    info = image.content["info"]
    assert info["mimetype"] == "image/png" and info["size"] == len(png)
    assert size(png) == (info["w"], info["h"]) == (1200, 850)
    assert image.content["filename"] == f"rapport-{today.year}-{today.month:02d}.png"

    text = (await fetched(sheet)).decode("utf-8-sig")
    assert sheet.content["info"]["mimetype"] == "text/csv"
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["rubrique", "élément", "valeur"]
    got = {(r[0], r[1]): r[2] for r in table[1:]}
    assert got[("Mois", month)] == f"{today.year}-{today.month:02d}"
    assert got[("Membres", "total")] == "3"
    assert got[("Membres par territoire", "Vaucluse")] == "2"
    assert got[("Membres par territoire", "Var")] == "1"
    assert got[("Membres par profession", "médecin")] == "2"
    assert got[("Membres par profession", "infirmier·ère")] == "1"
    assert got[("Demandes d'adhésion", "reçues")] == "5"
    assert got[("Demandes d'adhésion", "acceptées")] == "3"
    assert got[("Demandes d'adhésion", "refusées")] == "1"
    assert got[("Demandes d'adhésion", "délai médian de décision (heures)")] == "3.0"
    assert got[("Alertes", "envoyées")] == "2"
    assert got[("Alertes", "taux d'accusé de réception (%)")] == "60.0"
    assert got[(f"Alerte #{local}", "destinataires")] == "2"
    assert got[(f"Alerte #{local}", "taux d'accusé de réception (%)")] == "50.0"
    assert got[(f"Alerte #{everyone}", "destinataires")] == "3"
    assert got[(f"Alerte #{everyone}", "accusés de réception")] == "2"
    for secret in ("Confidentiel", "secret@example.org", m1, "Canicule"):
        assert secret not in text


async def test_a_month_that_is_no_month_is_refused_and_named(network):
    answer, reaction = await network.admin.command(network.control, "!rapport brumaire an II")
    assert reaction == "❌"
    assert "« brumaire an II » n'est pas un mois" in answer.body, answer.body
    answer, reaction = await network.admin.command(network.control, "!report 2030-01")
    assert reaction == "❌" and "n'a pas encore commencé" in answer.body, answer.body
