"""`agora-bot import-requests`: an existing member list (CSV) turned into join requests.

Each row is validated like a `!join` (same fields, French or English column names, plus an
optional ``matrix_id``). Valid rows are stored in one transaction as one batch; refused rows are
reported with their line number and what is wrong, and stored nowhere. Rows without a Matrix id
get a private status link (written to a CSV for a mail merge): once approved, the page shows
the person a registration token, as for the web form.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from bot.config import Config
from bot.errors import Conflict
from bot.i18n import t
from bot.matrix.ids import USER_ID_RE
from bot.rpps.matching import Verdict, judge, without_rpps
from bot.store import Store
from bot.store.rpps import RppsStore
from bot.store.vetting import VettingStore
from bot.vetting.decisions import directory_what
from bot.vetting.form import (
    KEY_ALIASES,
    FormProblems,
    JoinRequestData,
    offered,
    render_problems,
    validate,
)
from bot.vetting.links import new_status_token, status_url
from bot.vetting.outcome import IMPORT_NOTICE_JOB

MATRIX_ID_KEYS = {"matrix_id", "matrix", "identifiant_matrix", "mxid", "user_id"}
MAX_ROWS = 20_000


@dataclass
class ImportReport:
    batch: str
    ids: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    links: list[dict[str, str]] = field(default_factory=list)
    # Rows recorded that the national directory does not bear out (``show``): (line, what).
    unconfirmed: list[tuple[int, str]] = field(default_factory=list)


def read_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    """(line number, fields by canonical key). The delimiter (`,`, `;` or tab, as French
    spreadsheets write them) is detected from the header line."""
    text = text.lstrip("\ufeff")
    header = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=header.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = list(reader)
    if not rows:
        return []
    names = []
    for raw in rows[0]:
        key = raw.strip().lower()
        names.append("matrix_id" if key in MATRIX_ID_KEYS else KEY_ALIASES.get(key, key))
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        out.append((number, {n: v.strip() for n, v in zip(names, row, strict=False) if v.strip()}))
    return out


async def import_requests(
    config: Config,
    store: Store,
    text: str,
    batch: str,
    locale: str = "fr",
    directory: RppsStore | None = None,
) -> ImportReport:
    """The CSV's requests filed (each checked against ``directory`` when one is loaded and
    ``vetting.directory_check`` is not off)."""
    requests = VettingStore(store)
    if await requests.batch_exists(batch):
        raise Conflict("import.batch_exists", batch=batch)
    report = ImportReport(batch)
    rows = read_rows(text)
    if len(rows) > MAX_ROWS:
        raise Conflict("import.too_many", n=MAX_ROWS)
    accepted: list[tuple[int, JoinRequestData, str | None]] = []
    seen: dict[str, int] = {}
    check = config.vetting.directory_check
    if check == "off" or directory is None or await directory.loaded() is None:
        directory = None
    for line, values in rows:
        unknown = sorted(set(values) - set(KEY_ALIASES.values()) - {"matrix_id"})
        matrix_id = values.pop("matrix_id", None)
        for key in unknown:
            values.pop(key)
        problems: list[str] = []
        if unknown:
            problems.append(t("import.unknown_columns", locale, columns=", ".join(unknown)))
        if matrix_id and not USER_ID_RE.match(matrix_id):
            problems.append(t("import.bad_matrix_id", locale, value=matrix_id[:60]))
        try:
            data = validate(values, config.network, offered(config.vetting.professions))
        except FormProblems as exc:
            problems.append(render_problems(exc.problems, locale).replace("\n", "; "))
            data = None
        if data is not None:
            for what, value in (
                ("email", data.email),
                ("rpps", data.rpps),
                ("matrix_id", matrix_id),
            ):
                if value and value in seen:
                    problems.append(t("import.repeated", locale, field=what, line=seen[value]))
            dupes = await requests.duplicates(data, matrix_id)
            if dupes:
                problems.append(
                    t(
                        "import.duplicate",
                        locale,
                        list=", ".join(f"#{i} ({f})" for i, f in dupes),
                    )
                )
        doubt = None
        if data is not None and directory is not None:
            verdict: Verdict | None
            if data.rpps:
                verdict = judge(data.name, data.profession, await directory.entry(data.rpps))
            else:
                verdict = without_rpps(data.profession)
            if verdict is not None and not verdict.ok:
                missing = directory_what(verdict.mismatches, locale)
                doubt = t("vetting.directory.reason", locale, what=missing)
                if check == "require":
                    problems.append(doubt)
        if problems or data is None:
            report.refused.append((line, " | ".join(problems)))
            continue
        if doubt:
            report.unconfirmed.append((line, doubt))
        for value in (data.email, data.rpps, matrix_id):
            if value:
                seen[value] = line
        accepted.append((line, data, matrix_id))
    public = config.web.public_url
    async with store.transaction() as db:  # all valid rows, or none
        for _line, data, matrix_id in accepted:
            token, digest = (None, None) if matrix_id else new_status_token()
            request_id = await requests.add_request(
                data,
                source="import",
                user_id=matrix_id,
                dm_room=None,
                submitted_by=f"import:{batch}",
                status_hash=digest,
                locale=locale,
                batch=batch,
                db=db,
            )
            report.ids.append(request_id)
            if token:
                report.links.append(
                    {
                        "request": str(request_id),
                        "name": data.name,
                        "email": data.email,
                        "status_url": status_url(public, token),
                    }
                )
        if report.ids:
            await store.add_job(
                db,
                IMPORT_NOTICE_JOB,
                {
                    "batch": batch,
                    "n": len(report.ids),
                    "first": report.ids[0],
                    "last": report.ids[-1],
                    "rejected": len(report.refused),
                },
            )
    await store.audit(
        "agora-bot import-requests",
        "vetting.import",
        "ok",
        detail=f"{batch}: {len(report.ids)} stored, {len(report.refused)} refused",
    )
    return report
