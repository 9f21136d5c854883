"""The national directory against a real Synapse: a synthetic extraction loaded with
`agora-bot import-directory` while the bot runs, then each request's card tells what the
directory says of its RPPS number; a malformed file changes nothing."""

from __future__ import annotations

import fcntl
import html
import io
import re
import secrets
import zipfile
from email import message_from_bytes
from pathlib import Path

import pytest

from bot.rpps.capability import REFRESH_JOB
from tests.conftest import agora_cli, free_port
from tests.feedserver import FeedServer
from tests.rpps_files import extraction, line
from tests.test_territories import eventually
from tests.test_vetting import file_request, join_line, network, request_number, two_admins
from tests.test_web_join import browser, confirm, confirmation_link, form_fields, open_form

pytestmark = pytest.mark.integration


async def test_each_card_says_what_the_directory_says(person, start_bot, tmp_path):
    agora, first, second, sfx = await two_admins(person, start_bot)
    args = ["--config", str(agora.config_path), "--data-dir", str(agora.data_dir)]
    good = tmp_path / "PS_LibreAcces_Personne_activite_202611300812.txt"
    good.write_text(
        extraction(
            line("10101234564", "DURAND", "Corinne", "60"),
            line("10101234564", "DURAND", "Corinne", "60", "AVIGNON", "84000", "84007"),
            line("10000000017", "LEFÈVRE", "Hélène", "10"),
            line("", "ADELI", "Seul", "60", kind="0"),
            "8|trop|court",
        ),
        encoding="utf-8",
    )
    loaded = await agora_cli("import-directory", *args, str(good))
    assert loaded.returncode == 0, loaded.stderr
    assert "(directory of 2026-11-30): 5 lines read, 3 kept (2 people), 1 not RPPS" in loaded.stdout
    assert "1 refused" in loaded.stdout and "line 6:" in loaded.stdout

    # A malformed file: refused whole, the directory as it was.
    bad = tmp_path / "annuaire.txt"
    bad.write_text("Identifiant PP|Prénom\n1|2\n", encoding="utf-8")
    refused = await agora_cli("import-directory", *args, str(bad))
    assert refused.returncode == 1 and "nothing loaded" in refused.stderr
    # A file with its header and no one, or a load while another is under way: the same.
    empty = tmp_path / "PS_LibreAcces_Personne_activite_202612010000.txt"
    empty.write_text(extraction(), encoding="utf-8")
    nobody = await agora_cli("import-directory", *args, str(empty))
    assert nobody.returncode == 1 and "0 people" in nobody.stderr and "--force" in nobody.stderr
    with open(Path(agora.data_dir) / "directory.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        busy = await agora_cli("import-directory", *args, str(good))
    assert busy.returncode == 1 and "another load" in busy.stderr

    nurse = await person("infirmiere")
    _, number, card = await file_request(agora, nurse, first, sfx)
    assert (
        "✅ RPPS trouvé : DURAND Corinne, infirmier, Avignon, Carpentras (annuaire du 2026-11-30)"
        in card.body
    ), card.body

    # A physician who says she is a nurse; a number the directory does not have.
    for who, rpps, name, expected in (
        ("medecin", "10000000017", '"Helene Lefevre"', "⚠️ RPPS trouvé, mais profession"),
        ("absente", "10000000025", '"Marie Curie"', "⚠️ RPPS absent de l'annuaire"),
    ):
        applicant = await person(who)
        dm = await applicant.dm(agora.gateway.user_id)
        reply, reaction = await applicant.command(
            dm, join_line(sfx, nom=name, rpps=rpps, email=f"{who}.{sfx}@example.org")
        )
        assert reaction == "✅", reply.body
        n = request_number(reply.body)
        shown = await first.wait_for(
            lambda n=n: [
                s for s in first.seen if s.body.startswith(f"Demande #{n} —") and "RPPS" in s.body
            ],
            "the card",
        )
        assert expected in shown[-1].body, shown[-1].body

    info, reaction = await first.command(agora.control.room_id, f"!info {number}")
    assert reaction == "✅" and "• Avignon (84)" in info.body and "• Carpentras (84)" in info.body

    # She is admitted; the next directory no longer has her number: listed once in the
    # control room, nobody removed; !rpps ecarts shows it again.
    for admin in (first, second):
        _, reaction = await admin.command(agora.control.room_id, f"!approve {number}")
        assert reaction == "✅"
    await agora.settled()
    later = tmp_path / "PS_LibreAcces_Personne_activite_202612010800.txt"
    later.write_text(extraction(line("10000000017", "LEFÈVRE", "Hélène", "10")), encoding="utf-8")
    assert (await agora_cli("import-directory", *args, str(later))).returncode == 0
    agora.jobs.clock.offset = 301
    agora.jobs.kick()
    listed = await first.wait_for(
        lambda: [s for s in first.seen if s.body.startswith("🔎 Annuaire du 2026-12-01 chargé")],
        "the members the new directory does not bear out",
        60,
    )
    assert "1 membre(s)" in listed[0].body and nurse.user_id in listed[0].body
    assert "n'est plus dans l'annuaire" in listed[0].body
    assert await agora.vetting.requests.is_member(nurse.user_id)  # admins decide
    again, reaction = await first.command(agora.control.room_id, "!rpps ecarts")
    assert (
        reaction == "✅" and nurse.user_id in again.body and "Annuaire du 2026-12-01" in again.body
    )
    status, _ = await first.command(agora.control.room_id, "!rpps")
    assert "Annuaire du 2026-12-01 chargé : 1 professionnel(s)" in status.body
    agora.jobs.clock.offset = 602
    agora.jobs.kick()
    await agora.settled()
    assert len([s for s in first.seen if s.body.startswith("🔎 Annuaire")]) == 1  # once


async def test_the_directory_is_downloaded_as_it_changes_and_a_failure_said_once(
    person, start_bot, tmp_path
):
    """From a local server (a zip, as the agency publishes it): loaded; asked again with its
    ETag, not loaded twice; a server error keeps the directory and is said once."""
    server = FeedServer()
    runner = await server.start(free_port())
    try:
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(
                "PS_LibreAcces_Personne_activite_202611300812.txt",
                extraction(line("10101234564", "DURAND", "Corinne", "60")),
            )
        server.documents["/extraction.zip"] = (archive.getvalue(), "application/zip")
        admin = await person("admin")
        agora = await start_bot(
            [admin.user_id],
            directory={
                "url": f"{server.url}/extraction.zip",
                "refresh": "1h",
                "allowed_hosts": ["127.0.0.1"],
            },
        )
        await admin.accept_invite(agora.control.room_id)

        async def loaded() -> bool:
            return (await agora.directory.directory.loaded() or {}).get("date") == "2026-11-30"

        await eventually(loaded, "the directory downloaded and loaded", 60)
        assert (await agora.directory.directory.entry("10101234564")).last_name == "DURAND"
        partial = Path(agora.data_dir) / "directory.download"
        await eventually(lambda: _true(not partial.exists()), "the download deleted")  # not kept

        # The download's job over (it lists the directory's gaps after loading, then plans its
        # next run from its own end): only then is the clock moved.
        async def rescheduled() -> bool:
            due = await agora.store.due_jobs(now=agora.jobs.clock())
            return not [j for j in due if j.kind == REFRESH_JOB]

        await eventually(rescheduled, "the download's job planned again", 60)
        # An hour later: the same file, answered 304 (nothing loaded again).
        first_load = (await agora.directory.directory.loaded())["at"]
        agora.jobs.clock.offset = 3601
        agora.jobs.kick()
        await eventually(
            lambda: _true(server.not_modified.get("/extraction.zip") == 1), "a 304", 60
        )
        assert (await agora.directory.directory.loaded())["at"] == first_load

        # Then the server fails, twice: the directory stays, the control room is told once.
        # (Each time the clock moves only once the job before has planned its next run.)
        server.failing["/extraction.zip"] = 500
        for hours in (2, 3):
            await eventually(rescheduled, "the download's job planned again", 60)
            agora.jobs.clock.offset = hours * 3600 + 1
            agora.jobs.kick()
            await eventually(
                lambda h=hours: _true(server.hits.get("/extraction.zip") == h + 1), "a try", 60
            )
        await agora.settled()
        told = [s for s in admin.seen if "Annuaire RPPS : le téléchargement" in s.body]
        assert len(told) == 1 and "500" in told[0].body, [s.body for s in told]
        assert (await agora.directory.directory.entry("10101234564")) is not None

        # A restore leaves the copy out of the data directory: the next try downloads the
        # file whole again, although its ETag has not changed.
        del server.failing["/extraction.zip"]
        (Path(agora.data_dir) / "directory.db").unlink()
        await eventually(rescheduled, "the download's job planned again", 60)
        agora.jobs.clock.offset = 4 * 3600 + 1
        agora.jobs.kick()
        await eventually(loaded, "the directory downloaded again", 60)
        assert server.not_modified.get("/extraction.zip") == 1
    finally:
        await runner.cleanup()


async def _true(value: bool) -> bool:
    return value


async def test_with_require_a_request_the_directory_does_not_bear_out_is_refused_at_once(
    person, start_bot, tmp_path
):
    """Refused at once and told why; an admin may still admit with --sans-annuaire and a
    reason (audited), and the quorum then decides as for anyone."""
    sfx = secrets.token_hex(3)
    first, second = await person("admin"), await person("admin")
    places = network(sfx)
    places["territories"][0]["departments"] = [84]
    places["territories"].append({"id": f"var-{sfx}", "name": "Var", "departments": ["83"]})
    agora = await start_bot(
        [first.user_id, second.user_id],
        network=places,
        vetting={"directory_check": "require", "contact": "annuaire@ars-sud.example"},
    )
    for admin in (first, second):
        await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    args = ["--config", str(agora.config_path), "--data-dir", str(agora.data_dir)]
    # Filed before any directory was loaded: not refused then, but not approved without it.
    early = await person("avant")
    reply, reaction = await early.command(
        await early.dm(agora.gateway.user_id),
        join_line(sfx, nom='"Ella Tôt"', rpps="10000000033", email=f"et.{sfx}@example.org"),
    )
    assert reaction == "✅", reply.body
    early_n = request_number(reply.body)
    extract = tmp_path / "PS_LibreAcces_Personne_activite_202611300812.txt"
    extract.write_text(
        extraction(
            line("10101234564", "DURAND", "Corinne", "60"),
            line("10000000041", "PERSONNE", "Jean", "10"),
            line("10000000009", "LISTE", "Ana", "10"),
        )
    )
    assert (await agora_cli("import-directory", *args, str(extract))).returncode == 0

    blocked, reaction = await first.command(agora.control.room_id, f"!approve {early_n}")
    assert reaction == "❌" and "ne confirme pas la demande" in blocked.body, blocked.body

    # Borne out: waits for the admins as always.
    nurse = await person("infirmiere")
    _, number, card = await file_request(agora, nurse, first, sfx)
    assert (await agora.vetting.get(number)).status == "pending" and "✅ RPPS trouvé" in card.body

    # Not in the directory: refused at once, told why and whom to write to.
    stranger = await person("inconnue")
    dm = await stranger.dm(agora.gateway.user_id)
    reply, reaction = await stranger.command(
        dm, join_line(sfx, nom='"Marie Curie"', rpps="10000000025", email=f"m.{sfx}@example.org")
    )
    assert reaction == "✅"
    n = request_number(reply.body)
    told = await stranger.wait_for(
        lambda: [s for s in stranger.seen if "n'a pas pu être acceptée" in s.body], "told", 60
    )
    assert "numéro absent de l'annuaire" in told[0].body
    assert "écrivez aux admins : annuaire@ars-sud.example" in told[0].body
    assert (await agora.vetting.get(n)).status == "rejected"
    plain, reaction = await first.command(agora.control.room_id, f"!approve {n}")
    assert reaction == "❌" and "--sans-annuaire" in plain.body
    bare, reaction = await first.command(agora.control.room_id, f"!approve {n} --sans-annuaire")
    assert reaction == "❌" and "demande une raison" in bare.body
    over, reaction = await first.command(
        agora.control.room_id, f"!approve {n} --sans-annuaire diplôme vu, inscription en cours"
    )
    assert reaction == "✅" and "(1/2)" in over.body, over.body
    # Each admin who approves it says so: the second too.
    plain, reaction = await second.command(agora.control.room_id, f"!approve {n}")
    assert reaction == "❌" and "ne confirme pas" in plain.body
    done, reaction = await second.command(
        agora.control.room_id, f"!approve {n} --sans-annuaire rappelée, attestation reçue"
    )
    assert reaction == "✅" and "acceptée" in done.body
    await stranger.wait_for(
        lambda: [s for s in stranger.seen if "Bonne nouvelle" in s.body], "the good news", 60
    )
    actions = {r["action"] for r in await agora.store.audit_entries(limit=100)}
    assert {"vetting.directory_refused", "vetting.directory_override"} <= actions

    # Someone practising in Vaucluse who asks for the Var: the card suggests Vaucluse.
    elsewhere = await person("ailleurs")
    reply, reaction = await elsewhere.command(
        await elsewhere.dm(agora.gateway.user_id),
        join_line(
            sfx,
            nom='"Jean Personne"',
            profession="medecin",
            rpps="10000000041",
            territoire=f"var-{sfx}",
            email=f"jp0.{sfx}@example.org",
        ),
    )
    assert reaction == "✅", reply.body
    m = request_number(reply.body)
    shown = await first.wait_for(
        lambda: [s for s in first.seen if s.body.startswith(f"Demande #{m} —") and "📍" in s.body],
        "the card suggesting a territory",
    )
    assert "📍 Exerce dans « Vaucluse » selon l'annuaire (demandé : Var)" in shown[-1].body
    assert (await agora.vetting.get(m)).status == "pending"

    # An imported list: the rows the directory does not bear out are refused with their line.
    listing = tmp_path / "membres.csv"
    listing.write_text(
        "nom;profession;rpps;adeli;territoire;email\n"
        f"Ana Liste;medecin;10000000009;;vaucluse-{sfx};al.{sfx}@ex.org\n"
        f"Paul Personne;medecin;10000000058;;vaucluse-{sfx};pp.{sfx}@ex.org\n"
        # A nurse with an ADELI number only: nurses are in the directory, the RPPS is asked.
        f"Inès Soin;infirmier;;841234567;vaucluse-{sfx};is.{sfx}@ex.org\n"
        # A psychomotor therapist: ADELI only, the directory is not consulted.
        f"Paul Psy;psychomotricien;;841234568;vaucluse-{sfx};ps.{sfx}@ex.org\n",
        encoding="utf-8",
    )
    imported = await agora_cli("import-requests", *args, str(listing), "--batch", "liste")
    assert "2 request(s) recorded" in imported.stdout and "2 row(s) refused" in imported.stdout
    assert "line 3: annuaire RPPS : numéro absent de l'annuaire" in imported.stderr
    assert "line 4: annuaire RPPS : pas de numéro RPPS, alors que votre profession" in (
        imported.stderr
    )

    # The web form, in English: refused once the address is confirmed, said on the page that
    # confirms it and on the status page, in the applicant's language, with whom to write to.
    base = f"http://127.0.0.1:{agora.web.port}"
    async with browser() as http:
        csrf = await open_form(http, base, lang="en")
        fields = form_fields(sfx, rpps="10000000009", email=f"web.{sfx}@example.org", csrf=csrf)
        async with http.post(f"{base}/join?lang=en", data=fields, allow_redirects=False) as resp:
            assert resp.status == 303
            status_url = base + resp.headers["Location"]
        mail_dir = agora.data_dir / "mail"

        async def written() -> list:
            found = sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []
            return [f for f in found if fields["email"] in f.read_text()]

        mail = message_from_bytes((await eventually(written, "the mail"))[0].read_bytes())
        confirmed = await confirm(http, confirmation_link(mail.get_payload(decode=True).decode()))
        assert "Address confirmed. Your request #" in confirmed, confirmed
        assert "(another name, another profession)" in confirmed
        assert "write to the admins: annuaire@ars-sud.example" in confirmed
        async with http.get(status_url) as resp:
            page = html.unescape(await resp.text())
        assert "does not bear it out (another name, another profession)" in page, page
        assert "sent to the admins" not in page
    number = int(re.search(r"request #(\d+)", confirmed).group(1))
    assert (await agora.vetting.get(number)).status == "rejected"
