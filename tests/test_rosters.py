"""On-call rosters against a real Synapse: the coordinator's file imported (refused whole when a
row is wrong, applied when none is), then who is on duty read with `!garde` by a doctor in a
direct chat and by an admin in the control room."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import agora_cli, vet

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")


def pdsa(sfx: str, coordinator: str) -> dict:
    return {
        "territories": [
            {
                "id": f"pdsa-{sfx}",
                "name": "PDSA Vaucluse",
                "animators": [coordinator],
                "rooms": [
                    {"id": "mmg", "name": "MMG Avignon", "kind": "oncall"},
                    {"id": "remplacants", "name": "Remplaçants", "kind": "replacements"},
                ],
            }
        ]
    }


def next_month_days() -> list[dt.date]:
    """Three evenings in the coming month (the future, and months the bot makes)."""
    today = dt.datetime.now(PARIS).date()
    first = dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return [first + dt.timedelta(days=n) for n in (3, 4, 10)]


def csv_for(rows: list[tuple[dt.date, str, str]]) -> str:
    lines = ["debut;fin;role;membre"]
    for day, role, member in rows:
        lines.append(f"{day:%Y-%m-%d} 20:00;{day:%Y-%m-%d} 24:00;{role};{member}")
    return "\n".join(lines) + "\n"


async def test_a_coordinators_roster_is_checked_whole_then_read_with_garde(
    person, start_bot, tmp_path: Path
):
    sfx = secrets.token_hex(3)
    admin, coordinator, doctor = await person("admin"), await person("coord"), await person("dr")
    territory = f"pdsa-{sfx}"
    agora = await start_bot(
        [admin.user_id],
        network=pdsa(sfx, coordinator.user_id),
        rosters={
            "templates": [
                {
                    "territory": territory,
                    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "start": "20:00",
                    "end": "24:00",
                    "role": "poste",
                }
            ]
        },
    )
    await admin.accept_invite(agora.control.room_id)
    await vet(agora, doctor.user_id, territory)
    days = next_month_days()
    args = ["--config", str(agora.config_path), "--data-dir", str(agora.data_dir)]

    # One wrong row (a member who is not on this territory's roster): nothing is applied.
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(
        csv_for([(days[0], "poste", doctor.user_id), (days[1], "poste", "@inconnu:localhost")])
    )
    refused = await agora_cli("import-roster", *args, "--territory", territory, str(wrong))
    assert refused.returncode == 1, refused.stderr
    assert "Rien n'est appliqué : 1 ligne(s) sur 2 refusée(s)." in refused.stdout
    assert "Ligne 3 : « @inconnu:localhost » n'est pas un membre vérifié" in refused.stdout
    dm = await doctor.dm(agora.gateway.user_id)
    mine, reaction = await doctor.command(dm, "!garde moi")
    assert reaction == "✅" and "aucune garde à venir" in mine.body

    # The right file: applied, and read by the doctor and by an admin.
    right = tmp_path / "right.csv"
    right.write_text(csv_for([(d, "poste", doctor.user_id) for d in days[:2]]))
    done = await agora_cli("import-roster", *args, "--territory", territory, str(right))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 créneau(x) pourvu(s)" in done.stdout
    mine, _ = await doctor.command(dm, "!garde moi")
    lines = [line for line in mine.body.splitlines() if line.startswith("•")]
    assert len(lines) == 2 and all(doctor.user_id in line for line in lines)
    assert f"{days[0]:%d/%m} 20:00 → 24:00 — effecteur posté" in lines[0]
    day, reaction = await doctor.command(dm, f"!garde {days[0]:%d/%m/%Y}")
    assert reaction == "✅" and doctor.user_id in day.body
    other, _ = await admin.command(agora.control.room_id, f"!garde jour {days[2]:%d/%m/%Y}")
    assert "à pourvoir" in other.body and doctor.user_id not in other.body  # unfilled
    bad, reaction = await admin.command(agora.control.room_id, "!garde pas-une-date")
    assert reaction == "❌" and "n'est pas une date" in bad.body

    exported = await agora_cli(
        "export-roster", *args, "--territory", territory, "--month", f"{days[0]:%Y-%m}"
    )
    assert exported.returncode == 0, exported.stderr
    # A Matrix id is kept from being a spreadsheet formula; the file imports back as it is.
    row = f"{days[0]:%Y-%m-%d} 20:00,{days[0]:%Y-%m-%d} 24:00,poste,'{doctor.user_id}"
    assert row in exported.stdout.replace("\r", "")
    again = tmp_path / "again.csv"
    again.write_text(exported.stdout)
    reimported = await agora_cli("import-roster", *args, "--territory", territory, str(again))
    assert reimported.returncode == 0, reimported.stdout  # the same roster, unfilled slots too
    mine, _ = await doctor.command(dm, "!garde moi")
    assert len([line for line in mine.body.splitlines() if line.startswith("•")]) == 2
