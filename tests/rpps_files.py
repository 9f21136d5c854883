"""Synthetic extractions of the national directory, in the published layout (never real
people): the header the agency writes, columns in its order, one line per place."""

from __future__ import annotations

HEADER = (
    "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité d'exercice|"
    "Libellé civilité d'exercice|Code civilité|Libellé civilité|Nom d'exercice|Prénom d'exercice|"
    "Code profession|Libellé profession|Code catégorie professionnelle|"
    "Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|"
    "Code savoir-faire|Libellé savoir-faire|Code mode exercice|Libellé mode exercice|"
    "Numéro SIRET site|Numéro SIREN site|Numéro FINESS site|"
    "Numéro FINESS établissement juridique|Identifiant technique de la structure|"
    "Raison sociale site|Enseigne commerciale site|"
    "Complément destinataire (coord. structure)|"
    "Complément point géographique (coord. structure)|Numéro Voie (coord. structure)|"
    "Indice répétition voie (coord. structure)|Code type de voie (coord. structure)|"
    "Libellé type de voie (coord. structure)|Libellé Voie (coord. structure)|"
    "Mention distribution (coord. structure)|Bureau cedex (coord. structure)|"
    "Code postal (coord. structure)|Code commune (coord. structure)|"
    "Libellé commune (coord. structure)|Code pays (coord. structure)|"
    "Libellé pays (coord. structure)|Téléphone (coord. structure)|"
    "Téléphone 2 (coord. structure)|Télécopie (coord. structure)|"
    "Adresse e-mail (coord. structure)|Code Département (structure)|"
    "Libellé Département (structure)|Ancien identifiant de la structure|"
    "Autorité d'enregistrement|Code secteur d'activité|Libellé secteur d'activité|"
    "Code section tableau pharmaciens|Libellé section tableau pharmaciens|Code rôle|Libellé rôle|"
    "Code genre activité|Libellé genre activité|"
)
PROFESSIONS = {"10": "Médecin", "50": "Sage-Femme", "60": "Infirmier", "21": "Pharmacien"}


def line(
    rpps: str,
    last: str,
    first: str,
    profession: str,
    commune: str = "CARPENTRAS",
    postcode: str = "84200",
    insee: str = "84031",
    kind: str = "8",
) -> str:
    cells = [""] * (HEADER.count("|") + 1)
    cells[0], cells[1], cells[2] = kind, rpps, (kind + rpps)
    cells[7], cells[8] = last, first
    cells[9], cells[10] = profession, PROFESSIONS.get(profession, "Autre")
    cells[35], cells[36], cells[37] = postcode, insee, commune
    cells[38], cells[39] = "99000", "France"
    return "|".join(cells)


def extraction(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"
