"""The national directory without a server: the extraction read by its header's names, a
request judged against an entry, a load that fails changing nothing."""

from __future__ import annotations

import pytest

from bot.rpps.extraction import Tally, Unreadable, date_of, department_of, people
from bot.rpps.matching import judge, same_person
from bot.store.rpps import Entry, RppsStore
from tests.rpps_files import HEADER, extraction, line


def test_the_extraction_is_read_by_column_names_and_bad_lines_are_named():
    text = extraction(
        line("10101234564", "DURAND", "Corinne", "60"),
        line("10101234564", "DURAND", "Corinne", "60", "AVIGNON", "84000", "84007"),
        line("", "ADELI", "Seul", "60", kind="0"),
        line("1234", "COURT", "Numéro", "10"),
        "8|too|few",
        line("10000000001", "", "Sans Nom", "10"),
    )
    tally = Tally()
    rows = list(people(text.splitlines(), tally))
    assert [(p.rpps, p.commune, p.department) for p in rows] == [
        ("10101234564", "Carpentras", "84"),
        ("10101234564", "Avignon", "84"),
    ]
    assert (tally.read, tally.kept, tally.skipped, tally.refused) == (6, 2, 1, 3)
    assert [n for n, _ in tally.first_refused] == [5, 6, 7]
    # Columns in another order, and others added: found by name.
    names = HEADER.split("|")
    order = list(reversed(range(len(names))))
    cells = line("10101234564", "DURAND", "Corinne", "60").split("|")
    shuffled = "|".join(names[i] for i in order) + "|Nouvelle colonne\n"
    shuffled += "|".join(cells[i] for i in order) + "|x\n"
    (again,) = list(people(shuffled.splitlines(), Tally()))
    assert again == rows[0]


def test_what_is_not_an_extraction_is_refused_whole():
    with pytest.raises(Unreadable, match="Nom d'exercice"):
        list(people(["Identifiant PP|Prénom d'exercice|Code profession", "1|2|3"], Tally()))
    with pytest.raises(Unreadable):
        list(people([], Tally()))


def test_dates_and_departments():
    assert str(date_of("PS_LibreAcces_Personne_activite_202611300812.txt")) == "2026-11-30"
    assert date_of("annuaire.txt") is None
    assert department_of("20000", "") == "2A" and department_of("", "2B033") == "2B"
    assert department_of("97400", "97411") == "974" and department_of("84200", "") == "84"


@pytest.mark.parametrize(
    ("given", "ok"),
    [
        ("Corinne Durand", True),
        ("DURAND Corinne", True),
        ("Dr Corinne Durand", True),
        ("Corinne Durand-Martin", True),  # her usage name, compound
        ("corinne durand", True),
        ("Corine Durand", False),
        ("Corinne Dupont", False),
    ],
)
def test_names_are_compared_without_case_accents_or_hyphens(given, ok):
    assert same_person(given, "DURAND", "Corinne") is ok


def test_accents_and_compound_names_in_the_directory():
    assert same_person("Hélène Lefèvre", "LEFEVRE", "Helene")
    assert same_person("Jean-Paul Martin", "MARTIN-DUPONT", "Jean-Paul")
    assert same_person("Jean Paul Dupont", "MARTIN-DUPONT", "Jean-Paul")
    assert not same_person("Paul Dupont", "MARTIN-DUPONT", "Jean-Paul")


def test_a_request_is_judged_on_name_and_profession():
    entry = Entry("10101234564", "DURAND", "Corinne", "60", "Infirmier", (("84", "Carpentras"),))
    assert judge("Corinne Durand", "infirmier", entry).ok
    wrong = judge("Corinne Durand", "medecin", entry)
    assert wrong.found and wrong.name_ok and not wrong.profession_ok
    assert not judge("Corinne Durand", "infirmier", None).found


def test_a_profession_of_the_directory_without_an_rpps_number_is_not_borne_out():
    from bot.rpps.matching import without_rpps

    nurse = without_rpps("infirmier")  # nurses are all in the directory now
    assert nurse is not None and not nurse.ok and nurse.mismatches == ["rpps_missing"]
    assert without_rpps("psychomotricien") is None  # ADELI only: not consulted
    assert without_rpps("agent-ars") is None  # no number asked


async def test_a_load_that_fails_changes_nothing_and_a_good_one_replaces_the_whole(tmp_path):
    directory = RppsStore(tmp_path)
    assert await directory.loaded() is None and await directory.entry("10101234564") is None
    first = extraction(line("10101234564", "DURAND", "Corinne", "60"))
    assert await directory.load(people(first.splitlines(), Tally()), date="2026-11-30") == 1
    broken = extraction(line("10000000001", "MARTIN", "Paul", "10")).splitlines()

    def cut_short():
        yield from people(broken, Tally())
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    with pytest.raises(UnicodeDecodeError):
        await directory.load(cut_short(), date="2026-12-01")
    assert (await directory.loaded())["date"] == "2026-11-30"
    assert (await directory.entry("10101234564")).last_name == "DURAND"
    assert await directory.entry("10000000001") is None
    second = extraction(line("10000000001", "MARTIN", "Paul", "10"))
    await directory.load(people(second.splitlines(), Tally()), date="2026-12-02")
    assert await directory.entry("10101234564") is None  # gone from the new copy
    assert (await directory.entry("10000000001")).places == (("84", "Carpentras"),)
    assert (await directory.loaded())["people"] == 1
    assert not (tmp_path / "directory.next.db").exists()  # nothing left behind


async def test_a_load_never_touches_the_bots_database_and_a_reader_keeps_its_copy(tmp_path):
    from bot.store import Store
    from bot.store.rpps import TooFew

    store = await Store.open(tmp_path / "agora.db")
    try:
        before = (tmp_path / "agora.db").stat().st_mtime_ns
        directory = RppsStore(tmp_path)
        first = extraction(line("10101234564", "DURAND", "Corinne", "60"))
        await directory.load(people(first.splitlines(), Tally()), date="2026-11-30")
        async with directory._reading() as reading:  # a lookup under way during a load
            second = extraction(line("10000000001", "MARTIN", "Paul", "10"))
            await directory.load(people(second.splitlines(), Tally()), date="2026-12-02")
            async with reading.execute("SELECT rpps FROM people") as cur:
                assert [r[0] for r in await cur.fetchall()] == ["10101234564"]
        assert (await directory.loaded())["date"] == "2026-12-02"
        with pytest.raises(TooFew):  # fewer than asked: the copy in place stays
            await directory.load(people(HEADER.splitlines(), Tally()), date="2026-12-03")
        assert (await directory.loaded())["date"] == "2026-12-02"
        assert (tmp_path / "agora.db").stat().st_mtime_ns == before
        async with store.db.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'rpps%'"
        ) as cur:
            assert (await cur.fetchone())[0] == 0
    finally:
        await store.close()


def test_the_territory_where_they_practise_is_suggested_when_another_was_asked():
    from bot.rpps.matching import suggested
    from bot.territories.model import Network, Territory

    cpts = Territory("cpts", "CPTS du Grand Avignon", communes=("Avignon", "Le Pontet"))
    vaucluse = Territory("vaucluse", "Vaucluse", departments=("84",), territories=(cpts,))
    var = Territory("var", "Var", departments=("83",))
    network = Network((Territory("sud", "Sud", territories=(vaucluse, var)),))
    in_avignon = (("84", "Avignon"),)
    assert suggested(network, "var", in_avignon).id == "cpts"  # the most specific
    assert suggested(network, "var", (("84", "Carpentras"),)).id == "vaucluse"
    assert suggested(network, "cpts", in_avignon) is None
    assert suggested(network, "vaucluse", in_avignon) is None  # above it: not another one
    assert suggested(network, "sud", (("84", "Carpentras"),)) is None
    assert suggested(network, "var", (("13", "Marseille"),)) is None  # nowhere declared


def test_particles_apostrophes_and_ligatures_in_names():
    assert not same_person("Anne Le Roux", "LE GALL", "Anne")
    assert not same_person("Marie de Vries", "DE LA FONTAINE", "Marie")
    assert same_person("Marie de la Fontaine", "DE LA FONTAINE", "Marie")
    assert same_person("Awa Ndiaye", "N'DIAYE", "Awa") and same_person(
        "Awa N'Diaye", "NDIAYE", "Awa"
    )
    assert same_person("Jean Cœur", "COEUR", "Jean") and same_person("Jean Coeur", "CŒUR", "Jean")
    assert same_person("Paul Le Du", "LE DU", "Paul") and not same_person(
        "Paul Le", "LE DU", "Paul"
    )


def test_a_commune_counts_only_in_its_departments():
    from bot.rpps.matching import suggested
    from bot.territories.model import Network, Territory

    cpts = Territory("cpts", "CPTS du Grand Avignon", communes=("Le Pontet",))
    vaucluse = Territory("vaucluse", "Vaucluse", departments=("84",), territories=(cpts,))
    var = Territory("var", "Var", departments=("83",))
    network = Network((vaucluse, var))
    assert suggested(network, "var", (("84", "Le Pontet"),)).id == "cpts"
    assert suggested(network, "var", (("73", "Le Pontet"),)) is None  # the one in Savoie


def test_an_overlong_line_is_refused_without_being_held_whole():
    import io

    from bot.rpps.extraction import bounded_lines

    text = extraction(line("10101234564", "DURAND", "Corinne", "60"))
    text += "8|" + "x" * 50_000 + "\n" + line("10000000017", "LEFEVRE", "Helene", "10") + "\n"
    tally = Tally()
    rows = list(people(bounded_lines(io.StringIO(text), limit=4000), tally))
    assert [p.rpps for p in rows] == ["10101234564", "10000000017"]
    assert tally.refused == 1 and "more than" in tally.first_refused[0][1]
    assert tally.first_refused[0][0] == 3
