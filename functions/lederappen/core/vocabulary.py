"""Vocabulary shared by features: the values of a member's working life that the salary
survey asks, mentoring matches on and messages address (position level, sector, industry by
NACE section, county), each with its Norwegian and English label.

One place, so a value can never be valid in one feature and unknown in another.
"""

from __future__ import annotations

L = dict[str, str]


def _l(nb: str, en: str) -> L:
    return {"nb": nb, "en": en}


POSITION_LEVELS: dict[str, L] = {
    "first_line": _l(
        "Førstelinjeleder (arbeidsleder, formann, teamleder)",
        "First-line manager (supervisor, foreman, team lead)",
    ),
    "middle": _l(
        "Mellomleder (avdelings-, drifts- eller prosjektleder)",
        "Middle manager (department, operations or project manager)",
    ),
    "senior": _l(
        "Leder med ledere under seg (sjef, direktør)", "Senior manager (manages managers)"
    ),
    "executive": _l(
        "Toppleder (daglig leder, administrerende direktør)",
        "Chief executive (managing director, CEO)",
    ),
}

SECTORS: dict[str, L] = {
    "private": _l("Privat sektor", "Private sector"),
    "public": _l("Offentlig sektor", "Public sector"),
    "other": _l("Annet (ideell, organisasjon)", "Other (non-profit, organisation)"),
}

#: NACE Rev. 2 sections (SN2007 in Norway).
NACE_SECTIONS: dict[str, L] = {
    "A": _l("Jordbruk, skogbruk og fiske", "Agriculture, forestry and fishing"),
    "B": _l("Bergverksdrift og utvinning", "Mining and quarrying"),
    "C": _l("Industri", "Manufacturing"),
    "D": _l(
        "Elektrisitets-, gass-, damp- og varmtvannsforsyning",
        "Electricity, gas, steam and air conditioning supply",
    ),
    "E": _l("Vannforsyning, avløp og renovasjon", "Water supply, sewerage and waste"),
    "F": _l("Bygge- og anleggsvirksomhet", "Construction"),
    "G": _l("Varehandel, reparasjon av motorvogner", "Wholesale and retail trade"),
    "H": _l("Transport og lagring", "Transportation and storage"),
    "I": _l("Overnattings- og serveringsvirksomhet", "Accommodation and food service"),
    "J": _l("Informasjon og kommunikasjon", "Information and communication"),
    "K": _l("Finansierings- og forsikringsvirksomhet", "Financial and insurance activities"),
    "L": _l("Omsetning og drift av fast eiendom", "Real estate activities"),
    "M": _l(
        "Faglig, vitenskapelig og teknisk tjenesteyting",
        "Professional, scientific and technical activities",
    ),
    "N": _l("Forretningsmessig tjenesteyting", "Administrative and support services"),
    "O": _l("Offentlig administrasjon og forsvar", "Public administration and defence"),
    "P": _l("Undervisning", "Education"),
    "Q": _l("Helse- og sosialtjenester", "Human health and social work"),
    "R": _l("Kulturell virksomhet, underholdning og fritid", "Arts, entertainment and recreation"),
    "S": _l("Annen tjenesteyting", "Other service activities"),
    "T": _l("Lønnet arbeid i private husholdninger", "Activities of households as employers"),
    "U": _l("Internasjonale organisasjoner", "Extraterritorial organisations"),
}

#: The 15 counties (fylker) from 1 January 2024, by their official county number.
COUNTIES: dict[str, L] = {
    "03": _l("Oslo", "Oslo"),
    "11": _l("Rogaland", "Rogaland"),
    "15": _l("Møre og Romsdal", "Møre og Romsdal"),
    "18": _l("Nordland", "Nordland"),
    "31": _l("Østfold", "Østfold"),
    "32": _l("Akershus", "Akershus"),
    "33": _l("Buskerud", "Buskerud"),
    "34": _l("Innlandet", "Innlandet"),
    "39": _l("Vestfold", "Vestfold"),
    "40": _l("Telemark", "Telemark"),
    "42": _l("Agder", "Agder"),
    "46": _l("Vestland", "Vestland"),
    "50": _l("Trøndelag", "Trøndelag"),
    "55": _l("Troms", "Troms"),
    "56": _l("Finnmark", "Finnmark"),
}
