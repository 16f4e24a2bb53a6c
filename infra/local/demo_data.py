"""Deterministic demo data for the local Lederne stand-ins (member register, feeds, staff).

Everything here is synthetic. The same seed always gives the same data:

* Identity fields of a member (member_id, names, national_id, birth_date, address,
  employer, position, category, member_since, e-mail, phone) depend on the seed only.
* Fields that must look "recent" (ended_on within the past year, updated_at) and the
  feeds (courses in the next 12 months, content, benefits) are computed from a reference
  date that defaults to today; pass ``reference_date`` to pin them as well.
* ``generate_members(n)`` is a prefix of ``generate_members(m)`` for n < m (same seed),
  so the demo member and the known ended member are the same whatever the size.

Faker provides the Norwegian name, street and company vocabularies. Faker has no
``nb_NO`` locale; its ``no_NO`` locale is Norwegian (Bokmål) and is what is used here.
Fødselsnummer and organisation numbers are computed here with the official mod-11
rules (the same algorithm as Faker's no_NO ``ssn``), which keeps 200,000 members fast.

Note that synthetic, checksum-valid fødselsnummer and organisation numbers can coincide
with real ones; this data must stay in local stacks and tests.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from typing import Any

from faker import Faker
from faker.providers.person.no_NO import Provider as _PersonProvider

FAKER_LOCALE = "no_NO"
DEFAULT_SEED = 42

#: The documented demo member: always index 0, always active, for every seed.
DEMO_MEMBER_ID = "1000001"
#: A known member whose membership has ended: always index 1, for every seed.
DEMO_ENDED_MEMBER_ID = "1000002"

#: Seed-only fields (birth dates, member_since) lie before this date.
DATA_EPOCH = dt.date(2026, 1, 1)

# --------------------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------------------

#: The 15 Norwegian counties (fylker) from 1 January 2024.
COUNTIES: tuple[str, ...] = (
    "Oslo",
    "Rogaland",
    "Møre og Romsdal",
    "Nordland",
    "Østfold",
    "Akershus",
    "Buskerud",
    "Innlandet",
    "Vestfold",
    "Telemark",
    "Agder",
    "Vestland",
    "Trøndelag",
    "Troms",
    "Finnmark",
)

# Approximate population (thousands, 2024), used as weights.
_COUNTY_WEIGHTS = (717, 500, 270, 243, 311, 720, 268, 372, 256, 177, 318, 650, 478, 170, 75)

# Real postal codes and their post towns, grouped by county.
_POSTAL_PLACES: dict[str, tuple[tuple[str, str], ...]] = {
    "Oslo": (
        ("0150", "Oslo"),
        ("0251", "Oslo"),
        ("0357", "Oslo"),
        ("0461", "Oslo"),
        ("0561", "Oslo"),
        ("0655", "Oslo"),
        ("0771", "Oslo"),
        ("0870", "Oslo"),
        ("0976", "Oslo"),
        ("1150", "Oslo"),
        ("1271", "Oslo"),
    ),
    "Rogaland": (
        ("4006", "Stavanger"),
        ("4021", "Stavanger"),
        ("4306", "Sandnes"),
        ("4340", "Bryne"),
        ("4370", "Egersund"),
        ("5501", "Haugesund"),
        ("4250", "Kopervik"),
    ),
    "Møre og Romsdal": (
        ("6002", "Ålesund"),
        ("6413", "Molde"),
        ("6511", "Kristiansund N"),
        ("6100", "Volda"),
        ("6150", "Ørsta"),
        ("6280", "Søvik"),
    ),
    "Nordland": (
        ("8006", "Bodø"),
        ("8514", "Narvik"),
        ("8622", "Mo i Rana"),
        ("8800", "Sandnessjøen"),
        ("8300", "Svolvær"),
        ("8900", "Brønnøysund"),
    ),
    "Østfold": (
        ("1606", "Fredrikstad"),
        ("1706", "Sarpsborg"),
        ("1530", "Moss"),
        ("1767", "Halden"),
        ("1850", "Mysen"),
        ("1814", "Askim"),
    ),
    "Akershus": (
        ("1338", "Sandvika"),
        ("1366", "Lysaker"),
        ("1400", "Ski"),
        ("2000", "Lillestrøm"),
        ("1440", "Drøbak"),
        ("2050", "Jessheim"),
        ("1470", "Lørenskog"),
        ("1383", "Asker"),
    ),
    "Buskerud": (
        ("3015", "Drammen"),
        ("3510", "Hønefoss"),
        ("3616", "Kongsberg"),
        ("3300", "Hokksund"),
        ("3550", "Gol"),
    ),
    "Innlandet": (
        ("2317", "Hamar"),
        ("2609", "Lillehammer"),
        ("2815", "Gjøvik"),
        ("2211", "Kongsvinger"),
        ("2406", "Elverum"),
        ("2670", "Otta"),
    ),
    "Vestfold": (
        ("3110", "Tønsberg"),
        ("3210", "Sandefjord"),
        ("3256", "Larvik"),
        ("3181", "Horten"),
        ("3080", "Holmestrand"),
    ),
    "Telemark": (
        ("3715", "Skien"),
        ("3921", "Porsgrunn"),
        ("3770", "Kragerø"),
        ("3800", "Bø i Telemark"),
        ("3660", "Rjukan"),
        ("3830", "Ulefoss"),
    ),
    "Agder": (
        ("4608", "Kristiansand S"),
        ("4836", "Arendal"),
        ("4876", "Grimstad"),
        ("4515", "Mandal"),
        ("4400", "Flekkefjord"),
        ("4950", "Risør"),
    ),
    "Vestland": (
        ("5003", "Bergen"),
        ("5145", "Fyllingsdalen"),
        ("5411", "Stord"),
        ("6800", "Førde"),
        ("5700", "Voss"),
        ("6900", "Florø"),
        ("5200", "Os"),
    ),
    "Trøndelag": (
        ("7010", "Trondheim"),
        ("7030", "Trondheim"),
        ("7500", "Stjørdal"),
        ("7600", "Levanger"),
        ("7713", "Steinkjer"),
        ("7800", "Namsos"),
        ("7300", "Orkanger"),
    ),
    "Troms": (("9008", "Tromsø"), ("9406", "Harstad"), ("9300", "Finnsnes"), ("9325", "Bardufoss")),
    "Finnmark": (
        ("9600", "Hammerfest"),
        ("9509", "Alta"),
        ("9900", "Kirkenes"),
        ("9800", "Vadsø"),
        ("9700", "Lakselv"),
    ),
}

#: NACE Rev. 2 sections (Norwegian SN2007 names).
NACE_SECTIONS: dict[str, str] = {
    "A": "Jordbruk, skogbruk og fiske",
    "B": "Bergverksdrift og utvinning",
    "C": "Industri",
    "D": "Elektrisitets-, gass-, damp- og varmtvannsforsyning",
    "E": "Vannforsyning, avløps- og renovasjonsvirksomhet",
    "F": "Bygge- og anleggsvirksomhet",
    "G": "Varehandel, reparasjon av motorvogner",
    "H": "Transport og lagring",
    "I": "Overnattings- og serveringsvirksomhet",
    "J": "Informasjon og kommunikasjon",
    "K": "Finansierings- og forsikringsvirksomhet",
    "L": "Omsetning og drift av fast eiendom",
    "M": "Faglig, vitenskapelig og teknisk tjenesteyting",
    "N": "Forretningsmessig tjenesteyting",
    "O": "Offentlig administrasjon og forsvar, og trygdeordninger underlagt offentlig forvaltning",
    "P": "Undervisning",
    "Q": "Helse- og sosialtjenester",
    "R": "Kulturell virksomhet, underholdning og fritidsaktiviteter",
    "S": "Annen tjenesteyting",
    "T": "Lønnet arbeid i private husholdninger",
    "U": "Internasjonale organisasjoner og organer",
}

# Where Lederne's members work (industry, oil and gas, construction, transport, trade ...).
_NACE_WEIGHTS: dict[str, float] = {
    "A": 3,
    "B": 8,
    "C": 18,
    "D": 4,
    "E": 3,
    "F": 15,
    "G": 10,
    "H": 9,
    "I": 3,
    "J": 4,
    "K": 3,
    "L": 2,
    "M": 6,
    "N": 5,
    "O": 4,
    "P": 2,
    "Q": 6,
    "R": 1,
    "S": 1.5,
    "T": 0.1,
    "U": 0.2,
}

# Employer name templates per NACE section: {ln} last name, {ln2} another, {place} a town.
_EMPLOYER_TEMPLATES: dict[str, tuple[str, ...]] = {
    "A": (
        "{place} Fiskeoppdrett AS",
        "{ln} Gårdsdrift",
        "{place} Skogeierlag SA",
        "{ln} Havbruk AS",
    ),
    "B": ("{ln} Subsea AS", "{place} Boreservice AS", "{ln} Offshore AS", "{place} Pukkverk AS"),
    "C": (
        "{place} Mekaniske Verksted AS",
        "{ln} Industri AS",
        "{place} Treindustri AS",
        "{ln} Plast AS",
        "{place} Næringsmidler AS",
        "{ln} Sveis og Stål AS",
    ),
    "D": ("{place} Energi AS", "{place} Kraftlag SA", "{ln} Fjernvarme AS"),
    "E": ("{place} Renovasjon IKS", "{place} Vann og Avløp KF", "{ln} Gjenvinning AS"),
    "F": (
        "{ln} Bygg AS",
        "{place} Entreprenør AS",
        "{ln} & {ln2} Anlegg AS",
        "{place} Betong AS",
        "{ln} Elektro AS",
        "{ln} Rør AS",
    ),
    "G": ("{ln} Handel AS", "{place} Bil AS", "{ln} Engros AS", "{place} Byggvare AS"),
    "H": ("{ln} Transport AS", "{place} Havn KF", "{place} Logistikk AS", "{ln} Shipping AS"),
    "I": ("{place} Hotell AS", "{ln} Catering AS", "{place} Fjordhotell AS"),
    "J": ("{ln} IT AS", "{place} Data AS", "{ln} Media AS"),
    "K": ("{place} Sparebank", "{ln} Forsikring AS", "{place} Finans AS"),
    "L": ("{ln} Eiendom AS", "{place} Eiendomsforvaltning AS"),
    "M": (
        "{ln} Rådgivende Ingeniører AS",
        "{place} Arkitekter AS",
        "{ln} Revisjon AS",
        "{ln} & {ln2} Consulting AS",
    ),
    "N": ("{ln} Bemanning AS", "{place} Renhold AS", "{ln} Vakt og Sikring AS"),
    "O": ("{place} kommune", "{place} brann og redning IKS"),
    "P": ("{place} videregående skole", "{ln} Opplæringssenter AS"),
    "Q": ("{place} sykehjem", "{ln} Helse AS", "{place} legesenter"),
    "R": ("{place} Kulturhus KF", "{ln} Event AS"),
    "S": ("{ln} Service AS", "{place} Vaskeri AS"),
    "T": ("Husholdningen {ln}",),
    "U": ("Nordisk {ln}-sekretariat",),
}
_EMPLOYERS_PER_SECTION = 60

_POSITIONS: dict[str, tuple[str, ...]] = {
    "first_line": (
        "Formann",
        "Verksmester",
        "Teamleder",
        "Skiftleder",
        "Arbeidsleder",
        "Bas",
        "Lagleder",
    ),
    "middle": (
        "Avdelingsleder",
        "Driftsleder",
        "Prosjektleder",
        "Produksjonsleder",
        "Salgssjef",
        "HR-leder",
        "Seksjonsleder",
        "Innkjøpssjef",
        "Lagersjef",
        "Kvalitetsleder",
        "HMS-leder",
        "Butikksjef",
    ),
    "senior": ("Økonomisjef", "Driftssjef", "Fabrikksjef", "IT-sjef", "Markedssjef", "Regionsjef"),
    "executive": ("Daglig leder", "Administrerende direktør"),
}
POSITION_LEVELS: tuple[str, ...] = ("first_line", "middle", "senior", "executive")
_POSITION_LEVEL_WEIGHTS = (30, 45, 17, 8)

_EMAIL_DOMAINS = (
    "example.no",
    "example.com",
    "example.net",
    "example.org",
    "post.example.no",
    "jobb.example.no",
)

_COMMON_STREETS = (
    "Storgata",
    "Kirkegata",
    "Industriveien",
    "Skoleveien",
    "Strandveien",
    "Fjordveien",
    "Parkveien",
    "Sjøgata",
    "Kongens gate",
    "Dronningens gate",
    "Jernbanegata",
    "Stasjonsveien",
    "Bjørkeveien",
    "Granveien",
    "Furuveien",
    "Solbakken",
    "Elvegata",
    "Havnegata",
    "Nordre gate",
    "Søndre gate",
    "Torggata",
    "Fabrikkveien",
    "Bakkeveien",
    "Lyngveien",
)

STAFF: tuple[dict[str, Any], ...] = (
    {"username": "personvern", "sub": "staff-0001", "roles": ["staff", "privacy_officer"]},
    {"username": "redaktor", "sub": "staff-0002", "roles": ["staff", "editor"]},
    {"username": "medlemsservice", "sub": "staff-0003", "roles": ["staff", "member_service"]},
    {"username": "lonnsanalytiker", "sub": "staff-0004", "roles": ["staff", "survey_manager"]},
    {"username": "driftsvakt", "sub": "staff-0005", "roles": ["staff", "operations"]},
    {
        "username": "mentorkoordinator",
        "sub": "staff-0006",
        "roles": ["staff", "mentor_coordinator"],
    },
)

_TOPIC_LABELS = (
    ("leadership", "Ledelse", "Leadership"),
    ("labour_law", "Arbeidsrett", "Labour law"),
    ("salary_negotiation", "Lønnsforhandlinger", "Salary negotiation"),
    ("hse", "HMS", "Health, safety and environment"),
    ("wellbeing", "Helse og trivsel", "Wellbeing"),
    ("communication", "Kommunikasjon", "Communication"),
    ("economy", "Økonomi", "Economy"),
    ("change_management", "Endringsledelse", "Change management"),
    ("career", "Karriere", "Career"),
    ("digitalisation", "Digitalisering", "Digitalisation"),
    ("sustainability", "Bærekraft", "Sustainability"),
    ("conflict_handling", "Konflikthåndtering", "Conflict handling"),
    ("recruitment", "Rekruttering", "Recruitment"),
    ("project_management", "Prosjektledelse", "Project management"),
    ("pension", "Pensjon", "Pension"),
)

#: The content vocabulary (ids are ASCII snake_case).
TOPICS: list[dict[str, Any]] = [
    {"id": tid, "label": {"nb": nb, "en": en}} for tid, nb, en in _TOPIC_LABELS
]
TOPIC_IDS: tuple[str, ...] = tuple(t["id"] for t in TOPICS)

CONTENT_TYPES = ("ebook", "podcast", "article")
BENEFIT_CATEGORIES = ("insurance", "banking", "travel", "shopping", "education", "health")

# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------

_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "aa", "Æ": "ae", "Ø": "o", "Å": "aa"})
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_NOT_LOCAL = re.compile(r"[^a-z0-9-]+")

FNR_WEIGHTS_1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
FNR_WEIGHTS_2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
ORGNR_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def ascii_fold(text: str) -> str:
    """Lower-case ASCII form of a Norwegian string (ø→o, æ→ae, å→aa, accents dropped)."""
    text = text.translate(_FOLD).lower()
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def slugify(text: str) -> str:
    return _NOT_SLUG.sub("-", ascii_fold(text)).strip("-")


def _mod11(digits: list[int] | tuple[int, ...], weights: tuple[int, ...]) -> int:
    """Mod-11 check digit (11 → 0); returns 10 when no valid check digit exists."""
    rest = 11 - sum(d * w for d, w in zip(digits, weights)) % 11
    return 0 if rest == 11 else rest


def fnr_is_valid(fnr: str) -> bool:
    """True if the string has the shape and both mod-11 check digits of a fødselsnummer."""
    if len(fnr) != 11 or not fnr.isdigit():
        return False
    d = [int(c) for c in fnr]
    k1 = _mod11(d[:9], FNR_WEIGHTS_1)
    k2 = _mod11(d[:10], FNR_WEIGHTS_2)
    return k1 < 10 and k2 < 10 and d[9] == k1 and d[10] == k2


def fnr_birth_date(fnr: str) -> dt.date:
    """The birth date a fødselsnummer encodes (DDMMYY + century from the individual number)."""
    day, month, yy, ind = int(fnr[0:2]), int(fnr[2:4]), int(fnr[4:6]), int(fnr[6:9])
    if ind <= 499:
        year = 1900 + yy
    elif ind <= 749 and yy >= 54:
        year = 1800 + yy
    elif ind >= 900 and yy >= 40:
        year = 1900 + yy
    elif yy <= 39:
        year = 2000 + yy
    else:
        raise ValueError("individual number does not fit the year")
    return dt.date(year, month, day)


def orgnr_is_valid(orgnr: str) -> bool:
    """True if the string is a 9-digit organisation number with a valid mod-11 check digit."""
    if len(orgnr) != 9 or not orgnr.isdigit():
        return False
    d = [int(c) for c in orgnr]
    k = _mod11(d[:8], ORGNR_WEIGHTS)
    return k < 10 and d[8] == k


def _make_fnr(rng: random.Random, birth: dt.date, female: bool) -> str:
    yy = birth.year % 100
    while True:
        if birth.year >= 2000:
            ind = rng.randrange(500, 1000)
        else:
            ind = rng.randrange(0, 500)
        # The third digit of the individual number is even for women, odd for men.
        if (ind % 2 == 0) != female:
            ind = ind + 1 if ind % 10 != 9 else ind - 1
        base = f"{birth.day:02d}{birth.month:02d}{yy:02d}{ind:03d}"
        digits = [int(c) for c in base]
        k1 = _mod11(digits, FNR_WEIGHTS_1)
        if k1 == 10:
            continue
        k2 = _mod11(digits + [k1], FNR_WEIGHTS_2)
        if k2 == 10:
            continue
        return f"{base}{k1}{k2}"


def _make_orgnr(rng: random.Random, taken: set[str]) -> str:
    while True:
        digits = [rng.choice((8, 9))] + [rng.randrange(10) for _ in range(7)]
        k = _mod11(digits, ORGNR_WEIGHTS)
        if k == 10:
            continue
        orgnr = "".join(map(str, digits)) + str(k)
        if orgnr not in taken:
            taken.add(orgnr)
            return orgnr


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _reference(reference_date: dt.date | str | None) -> dt.date:
    if reference_date is None:
        return dt.datetime.now(dt.UTC).date()
    if isinstance(reference_date, str):
        return dt.date.fromisoformat(reference_date)
    if isinstance(reference_date, dt.datetime):
        return reference_date.date()
    return reference_date


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# --------------------------------------------------------------------------------------
# Members
# --------------------------------------------------------------------------------------


class _Pools:
    """Seed-dependent vocabularies shared by all members (independent of n)."""

    def __init__(self, seed: int):
        fake = Faker(FAKER_LOCALE)
        fake.seed_instance(seed)
        rng = random.Random(f"pools:{seed}")
        self.female = _PersonProvider.first_names_female
        self.male = _PersonProvider.first_names_male
        self.last = _PersonProvider.last_names
        faker_streets = {fake.street_name() for _ in range(400)}
        self.streets = tuple(sorted(faker_streets)) + _COMMON_STREETS * 8
        self.places = {c: _POSTAL_PLACES[c] for c in COUNTIES}
        all_places = [city for c in COUNTIES for _, city in _POSTAL_PLACES[c]]
        taken: set[str] = set()
        self.employers: dict[str, list[dict[str, str]]] = {}
        for letter in NACE_SECTIONS:
            pool = []
            names_seen: set[str] = set()
            for _ in range(_EMPLOYERS_PER_SECTION):
                for _attempt in range(5):
                    if rng.random() < 0.2 and letter in "CFGHMN":
                        name = fake.company()  # e.g. "Hansen, Berg og Dahl"
                        if not name.endswith(("AS", "ASA", "BA", "SA")):
                            name += " AS"
                    else:
                        template = rng.choice(_EMPLOYER_TEMPLATES[letter])
                        name = template.format(
                            ln=rng.choice(self.last),
                            ln2=rng.choice(self.last),
                            place=rng.choice(all_places),
                        )
                    if name not in names_seen:
                        break
                names_seen.add(name)
                pool.append({"name": name, "org_number": _make_orgnr(rng, taken)})
            self.employers[letter] = pool
        self.nace_letters = tuple(_NACE_WEIGHTS)
        self.nace_cum = _cumulative(_NACE_WEIGHTS.values())
        self.county_cum = _cumulative(_COUNTY_WEIGHTS)
        self.level_cum = _cumulative(_POSITION_LEVEL_WEIGHTS)


def _cumulative(weights) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


_EARLIEST_BIRTH = dt.date(1951, 1, 1)
_LATEST_BIRTH = dt.date(2004, 12, 31)
_BIRTH_SPAN = (_LATEST_BIRTH - _EARLIEST_BIRTH).days
_BIRTH_MODE = (dt.date(1976, 6, 1) - _EARLIEST_BIRTH).days
_FIRST_MEMBER_SINCE = dt.date(1975, 1, 1)
_LAST_MEMBER_SINCE = DATA_EPOCH - dt.timedelta(days=1)
_ENDED_SHARE = 0.10


def generate_members(
    n: int = 300, seed: int = DEFAULT_SEED, reference_date: dt.date | str | None = None
) -> list[dict[str, Any]]:
    """``n`` synthetic members, deterministic for (seed, reference_date); see module doc."""
    if n < 0:
        raise ValueError("n must be >= 0")
    ref = _reference(reference_date)
    ref_midnight = dt.datetime(ref.year, ref.month, ref.day, tzinfo=dt.UTC)
    pools = _Pools(seed)
    rng = random.Random(seed)
    rand, randrange, choice = rng.random, rng.randrange, rng.choice
    from bisect import bisect_right

    emails: set[str] = set()
    phones: set[str] = set()
    members: list[dict[str, Any]] = []
    member_no = 1000000
    for i in range(n):
        member_no = member_no + 1 if i < 2 else member_no + 1 + randrange(20)
        if member_no > 9999999:
            raise ValueError("too many members for 7-digit member ids")
        female = rand() < 0.38
        given = choice(pools.female if female else pools.male)
        if rand() < 0.04:
            second = choice(pools.female if female else pools.male)
            if second != given:
                given = f"{given}-{second}"
        family = choice(pools.last)
        if rand() < 0.05:
            other = choice(pools.last)
            if other != family:
                family = f"{family}-{other}"

        birth = _EARLIEST_BIRTH + dt.timedelta(
            days=int(rng.triangular(0, _BIRTH_SPAN, _BIRTH_MODE))
        )
        national_id = _make_fnr(rng, birth, female)

        local = (
            _NOT_LOCAL.sub("", ascii_fold(given).replace(" ", "-"))
            + "."
            + _NOT_LOCAL.sub("", ascii_fold(family).replace(" ", "-"))
        )
        domain = choice(_EMAIL_DOMAINS)
        email = f"{local}@{domain}"
        k = 2
        while email in emails:
            email = f"{local}{k}@{domain}"
            k += 1
        emails.add(email)

        while True:
            phone = f"+47{choice('49')}{randrange(10_000_000):07d}"
            if phone not in phones:
                phones.add(phone)
                break

        county = COUNTIES[bisect_right(pools.county_cum, rand() * pools.county_cum[-1])]
        postal_code, city = choice(pools.places[county])
        street = f"{choice(pools.streets)} {1 + randrange(120)}"
        if rand() < 0.12:
            street += choice("ABCD")

        nace = pools.nace_letters[bisect_right(pools.nace_cum, rand() * pools.nace_cum[-1])]
        employer = dict(choice(pools.employers[nace]))
        level = POSITION_LEVELS[bisect_right(pools.level_cum, rand() * pools.level_cum[-1])]
        position = choice(_POSITIONS[level])

        age = (DATA_EPOCH - birth).days // 365
        r_cat = rand()
        if age >= 67 and r_cat < 0.8:
            category = "retired"
        elif age <= 27 and r_cat < 0.25:
            category = "student"
            level, position = "first_line", choice(_POSITIONS["first_line"])
        else:
            category = "ordinary"

        earliest = max(_add_years(birth, 20), _FIRST_MEMBER_SINCE)
        since_span = max((_LAST_MEMBER_SINCE - earliest).days, 0)
        member_since = earliest + dt.timedelta(days=randrange(since_span + 1))

        r_end = rand()
        ended_days_ago = 1 + randrange(364)
        updated_secs_ago = 3600 + randrange(400 * 86400)
        ended = i == 1 or (i != 0 and r_end < _ENDED_SHARE)
        if ended:
            ended_on = max(ref - dt.timedelta(days=ended_days_ago), member_since)
            updated = dt.datetime(
                ended_on.year, ended_on.month, ended_on.day, 6, tzinfo=dt.UTC
            ) + dt.timedelta(seconds=updated_secs_ago % 36000)
            membership = {
                "status": "ended",
                "member_since": member_since.isoformat(),
                "ended_on": ended_on.isoformat(),
                "category": category,
            }
        else:
            since_midnight = dt.datetime(
                member_since.year, member_since.month, member_since.day, tzinfo=dt.UTC
            )
            updated = max(ref_midnight - dt.timedelta(seconds=updated_secs_ago), since_midnight)
            membership = {
                "status": "active",
                "member_since": member_since.isoformat(),
                "ended_on": None,
                "category": category,
            }

        members.append(
            {
                "member_id": str(member_no),
                "given_name": given,
                "family_name": family,
                "email": email,
                "phone": phone,
                "national_id": national_id,
                "birth_date": birth.isoformat(),
                "address": {
                    "street": street,
                    "postal_code": postal_code,
                    "city": city,
                    "county": county,
                },
                "employer": employer,
                "position": position,
                "industry_nace": nace,
                "position_level": level,
                "membership": membership,
                "version": 1,
                "updated_at": _rfc3339(updated),
            }
        )
    return members


def generate_staff() -> list[dict[str, Any]]:
    """The staff users of the local OIDC stand-in (password "demo")."""
    return [dict(s, roles=list(s["roles"])) for s in STAFF]


def generate_topics() -> list[dict[str, Any]]:
    return [{"id": t["id"], "label": dict(t["label"])} for t in TOPICS]


# --------------------------------------------------------------------------------------
# Feeds: courses, content, benefits
# --------------------------------------------------------------------------------------

_COURSE_TITLES = (
    ("Grunnkurs i ledelse", "Introduction to leadership", ["leadership"]),
    ("Arbeidsrett for ledere", "Labour law for managers", ["labour_law"]),
    (
        "Lønnsforhandlinger i praksis",
        "Salary negotiations in practice",
        ["salary_negotiation", "communication"],
    ),
    ("HMS for ledere – lovpålagt opplæring", "Statutory HSE training for managers", ["hse"]),
    (
        "Konflikthåndtering på arbeidsplassen",
        "Handling conflict in the workplace",
        ["conflict_handling", "communication"],
    ),
    ("Endringsledelse", "Leading change", ["change_management", "leadership"]),
    (
        "Den gode medarbeidersamtalen",
        "The good appraisal conversation",
        ["communication", "leadership"],
    ),
    ("Rekruttering og intervjuteknikk", "Recruitment and interview technique", ["recruitment"]),
    ("Prosjektledelse – grunnkurs", "Project management fundamentals", ["project_management"]),
    ("Økonomi for ikke-økonomer", "Finance for non-financial managers", ["economy"]),
    (
        "Digital ledelse og hybride team",
        "Digital leadership and hybrid teams",
        ["digitalisation", "leadership"],
    ),
    ("Bærekraft i egen virksomhet", "Sustainability in your own organisation", ["sustainability"]),
    ("Pensjon – dette bør du vite", "Pensions – what you should know", ["pension", "economy"]),
    (
        "Oppfølging av sykefravær",
        "Following up sickness absence",
        ["wellbeing", "labour_law", "hse"],
    ),
    ("Karriereplanlegging for ledere", "Career planning for managers", ["career"]),
    (
        "Kommunikasjon og presentasjonsteknikk",
        "Communication and presentation skills",
        ["communication"],
    ),
    ("Stressmestring og egen helse", "Managing stress and your own health", ["wellbeing"]),
    ("Ny som leder", "New to management", ["leadership", "career"]),
    ("Arbeidstid og turnus", "Working hours and rotas", ["labour_law"]),
    ("KI-verktøy i lederhverdagen", "AI tools for everyday management", ["digitalisation"]),
)


def generate_courses(
    reference_date: dt.date | str | None = None, seed: int = DEFAULT_SEED
) -> list[dict[str, Any]]:
    """40 courses starting within 12 months after the reference date, sorted by start."""
    ref = _reference(reference_date)
    rng = random.Random(f"courses:{seed}")
    county_cum = _cumulative(_COUNTY_WEIGHTS)
    from bisect import bisect_right

    courses = []
    slugs: set[str] = set()
    for round_no in range(2):
        for nb, en, topics in _COURSE_TITLES:
            digital = rng.random() < (0.3 if round_no == 0 else 0.5)
            county = (
                None
                if digital
                else COUNTIES[bisect_right(county_cum, rng.random() * county_cum[-1])]
            )
            day = ref + dt.timedelta(days=7 + rng.randrange(350))
            if day.month == 7:  # Norwegian summer holiday: move to August
                day += dt.timedelta(days=31)
            while day.weekday() >= 5:
                day += dt.timedelta(days=1)
            if digital:
                hour = rng.choice((8, 11, 13))
                start = dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)
                end = start + dt.timedelta(hours=rng.choice((2, 3)))
            else:
                start = dt.datetime(day.year, day.month, day.day, 8, tzinfo=dt.UTC)
                days = rng.choice((1, 1, 2))
                end = start + dt.timedelta(days=days - 1, hours=7)
            seats = (
                rng.choice((0, 2, 5, 8, 12, 15, 20, 25)) if not digital else 50 + rng.randrange(150)
            )
            slug = f"{slugify(nb)}-{slugify(county) if county else 'digital'}-{start:%Y-%m}"
            if slug in slugs:
                slug += f"-{start:%d}"
            slugs.add(slug)
            courses.append(
                {
                    "id": "",
                    "title": {"nb": nb, "en": en},
                    "topics": list(topics),
                    "county": county,
                    "format": "digital" if digital else "classroom",
                    "starts_at": _rfc3339(start),
                    "ends_at": _rfc3339(end),
                    "url": f"https://www.lederne.no/kurs/{slug}",
                    "seats_left": seats,
                }
            )
    courses.sort(key=lambda c: (c["starts_at"], c["url"]))
    for i, c in enumerate(courses, 1):
        c["id"] = f"course-{i:03d}"
    return courses


# (topic, (subject nb, subject en) x 2)
_CONTENT_SUBJECTS = {
    "leadership": (
        ("tillitsbasert ledelse", "trust-based leadership"),
        ("å lede tidligere kolleger", "leading former colleagues"),
    ),
    "labour_law": (
        ("oppsigelse og omstilling", "dismissal and restructuring"),
        ("arbeidsmiljøloven", "the Working Environment Act"),
    ),
    "salary_negotiation": (
        ("lønnssamtalen", "the salary conversation"),
        ("lokale forhandlinger", "local negotiations"),
    ),
    "hse": (
        ("risikovurdering", "risk assessment"),
        ("verneombudets rolle", "the safety representative's role"),
    ),
    "wellbeing": (
        ("søvn og restitusjon", "sleep and recovery"),
        ("psykisk helse på jobb", "mental health at work"),
    ),
    "communication": (
        ("vanskelige samtaler", "difficult conversations"),
        ("tydelig kommunikasjon", "clear communication"),
    ),
    "economy": (
        ("budsjett og prognoser", "budgets and forecasts"),
        ("nøkkeltall for ledere", "key figures for managers"),
    ),
    "change_management": (
        ("omorganisering", "reorganisation"),
        ("motstand mot endring", "resistance to change"),
    ),
    "career": (
        ("lederkarrieren", "the management career"),
        ("jobbintervjuet", "the job interview"),
    ),
    "digitalisation": (
        ("kunstig intelligens", "artificial intelligence"),
        ("digitale verktøy", "digital tools"),
    ),
    "sustainability": (
        ("klimaregnskap", "carbon accounting"),
        ("sirkulær økonomi", "the circular economy"),
    ),
    "conflict_handling": (
        ("konflikter i team", "conflict in teams"),
        ("trakassering og varsling", "harassment and whistleblowing"),
    ),
    "recruitment": (
        ("onboarding av nyansatte", "onboarding new employees"),
        ("mangfold i rekruttering", "diversity in recruitment"),
    ),
    "project_management": (
        ("prosjektplanlegging", "project planning"),
        ("smidige metoder", "agile methods"),
    ),
    "pension": (
        ("tjenestepensjon", "occupational pensions"),
        ("AFP", "contractual early retirement (AFP)"),
    ),
}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def generate_content(
    reference_date: dt.date | str | None = None, seed: int = DEFAULT_SEED
) -> list[dict[str, Any]]:
    """60 published e-books, podcast episodes and articles, newest first."""
    ref = _reference(reference_date)
    rng = random.Random(f"content:{seed}")
    items = []
    for topic, ((s1nb, s1en), (s2nb, s2en)) in _CONTENT_SUBJECTS.items():
        drafts = (
            (
                "article",
                f"{_cap(s1nb)}: fem råd til deg som leder",
                f"{_cap(s1en)}: five tips for managers",
                f"Praktiske råd om {s1nb} fra Lederne sine rådgivere.",
                f"Practical advice on {s1en} from Lederne's advisers.",
                "artikler",
            ),
            (
                "podcast",
                f"Lederpodden: {_cap(s1nb)}",
                f"The Leader Podcast: {_cap(s1en)}",
                f"I denne episoden snakker vi om {s1nb} med en erfaren leder.",
                f"In this episode we talk about {s1en} with an experienced manager.",
                "podkast",
            ),
            (
                "article",
                f"Dette må du vite om {s2nb}",
                f"What you need to know about {s2en}",
                f"Kort forklart: {s2nb} for ledere i privat og offentlig sektor.",
                f"In brief: {s2en} for managers in the private and public sector.",
                "artikler",
            ),
            (
                "ebook",
                f"E-bok: Lederens guide til {s2nb}",
                f"E-book: The manager's guide to {s2en}",
                f"En gratis e-bok for medlemmer om {s2nb}.",
                f"A free e-book for members about {s2en}.",
                "e-boker",
            ),
        )
        for ctype, tnb, ten, snb, sen, section in drafts:
            topics = [topic]
            if rng.random() < 0.3:
                extra = rng.choice(TOPIC_IDS)
                if extra != topic:
                    topics.append(extra)
            published = dt.datetime(ref.year, ref.month, ref.day, 6, tzinfo=dt.UTC) - dt.timedelta(
                days=1 + rng.randrange(720), minutes=rng.randrange(600)
            )
            items.append(
                {
                    "id": "",
                    "type": ctype,
                    "title": {"nb": tnb, "en": ten},
                    "summary": {"nb": snb, "en": sen},
                    "topics": topics,
                    "published_at": _rfc3339(published),
                    "url": f"https://www.lederne.no/{section}/{slugify(tnb)}",
                }
            )
    items.sort(key=lambda c: (c["published_at"], c["url"]), reverse=True)
    for i, c in enumerate(items, 1):
        c["id"] = f"content-{i:03d}"
    return items


_BENEFITS = (
    (
        "insurance",
        "Fjordtrygd Forsikring",
        "Innboforsikring til medlemspris",
        "Home contents insurance at member price",
        "Rimelig innboforsikring for deg og familien.",
        "Affordable home contents insurance for you and your family.",
    ),
    (
        "insurance",
        "Fjordtrygd Forsikring",
        "Reiseforsikring for hele familien",
        "Travel insurance for the whole family",
        "Helårs reiseforsikring med medlemsrabatt.",
        "Year-round travel insurance with a member discount.",
    ),
    (
        "insurance",
        "Fjordtrygd Forsikring",
        "Ulykkesforsikring",
        "Accident insurance",
        "Økonomisk trygghet ved ulykker i jobb og fritid.",
        "Financial security after accidents at work and at leisure.",
    ),
    (
        "insurance",
        "Fjordtrygd Forsikring",
        "Livsforsikring",
        "Life insurance",
        "Livsforsikring med gunstige medlemsvilkår.",
        "Life insurance on favourable member terms.",
    ),
    (
        "insurance",
        "Veikant Forsikring",
        "Bilforsikring med medlemsrabatt",
        "Car insurance with member discount",
        "Rabatt på kasko- og ansvarsforsikring.",
        "Discount on comprehensive and third-party car insurance.",
    ),
    (
        "banking",
        "Nordlys Bank",
        "Boliglån med medlemsrente",
        "Mortgage at member rate",
        "Lavere rente på boliglån for medlemmer.",
        "A lower mortgage rate for members.",
    ),
    (
        "banking",
        "Nordlys Bank",
        "Kredittkort uten årsavgift",
        "Credit card with no annual fee",
        "Medlemskort med reiseforsikring inkludert.",
        "Member card with travel insurance included.",
    ),
    (
        "banking",
        "Nordlys Bank",
        "Sparekonto med høy rente",
        "High-interest savings account",
        "Sparekonto med medlemsrente.",
        "Savings account at a member rate.",
    ),
    (
        "travel",
        "Fjellstue Hotellkjede",
        "Hotellrabatt i hele Norge",
        "Hotel discount across Norway",
        "Inntil 15 % rabatt på overnatting.",
        "Up to 15% off overnight stays.",
    ),
    (
        "travel",
        "Kystbil Leiebil",
        "Leiebil med rabatt",
        "Discounted car rental",
        "Rabatt på leiebil i Norge og Norden.",
        "Discounted car rental in Norway and the Nordics.",
    ),
    (
        "travel",
        "Fjordferjer",
        "Rabatt på ferjebilletter",
        "Ferry ticket discount",
        "Medlemspris på utvalgte ferjestrekninger.",
        "Member price on selected ferry routes.",
    ),
    (
        "shopping",
        "Arbeidsklær Nord",
        "Rabatt på arbeidsklær",
        "Discount on workwear",
        "20 % rabatt på arbeidsklær og verneutstyr.",
        "20% off workwear and protective equipment.",
    ),
    (
        "shopping",
        "Mobilnett Medlem",
        "Mobilabonnement til medlemspris",
        "Mobile subscription at member price",
        "Mobilabonnement med fri bruk i Norge og EU.",
        "Mobile subscription with unlimited use in Norway and the EU.",
    ),
    (
        "shopping",
        "Straumkraft",
        "Strøm til medlemspris",
        "Electricity at member price",
        "Spotprisavtale uten påslag første år.",
        "Spot price agreement with no mark-up the first year.",
    ),
    (
        "shopping",
        "Elektrohuset",
        "Rabatt på elektronikk",
        "Discount on electronics",
        "Medlemsrabatt på PC, mobil og hvitevarer.",
        "Member discount on PCs, phones and appliances.",
    ),
    (
        "education",
        "Lederakademiet",
        "Lederutdanning med studierabatt",
        "Management education with study discount",
        "Studiepoenggivende lederutdanning med rabatt.",
        "Credit-bearing management education at a discount.",
    ),
    (
        "education",
        "Språkstua",
        "Språkkurs for ledere",
        "Language courses for managers",
        "Rabatt på kurs i engelsk, tysk og spansk.",
        "Discount on English, German and Spanish courses.",
    ),
    (
        "education",
        "Lederne",
        "Gratis e-kurs for medlemmer",
        "Free e-learning for members",
        "Korte e-kurs om arbeidsrett, HMS og ledelse.",
        "Short e-learning courses on labour law, HSE and leadership.",
    ),
    (
        "health",
        "Friskhuset",
        "Helsesjekk med rabatt",
        "Discounted health check",
        "Helsesjekk hos lege til medlemspris.",
        "Health check with a doctor at member price.",
    ),
    (
        "health",
        "Trimsenteret",
        "Treningssenter med medlemsrabatt",
        "Gym membership discount",
        "Rabatt på medlemskap i treningssenter.",
        "Discounted gym membership.",
    ),
)


def generate_benefits(
    reference_date: dt.date | str | None = None, seed: int = DEFAULT_SEED
) -> list[dict[str, Any]]:
    """20 member benefits from (fictional) partners."""
    ref = _reference(reference_date)
    rng = random.Random(f"benefits:{seed}")
    out = []
    for i, (category, partner, tnb, ten, dnb, den) in enumerate(_BENEFITS, 1):
        out.append(
            {
                "id": f"benefit-{i:02d}",
                "title": {"nb": tnb, "en": ten},
                "description": {"nb": dnb, "en": den},
                "partner": partner,
                "category": category,
                "url": f"https://www.lederne.no/medlemsfordeler/{slugify(tnb)}",
                "valid_until": (ref + dt.timedelta(days=60 + rng.randrange(660))).isoformat(),
            }
        )
    return out


_LAZY = {"COURSES": generate_courses, "CONTENT": generate_content, "BENEFITS": generate_benefits}
_lazy_cache: dict[tuple[str, dt.date], list[dict[str, Any]]] = {}


def __getattr__(name: str):
    """COURSES, CONTENT and BENEFITS: the feeds for today (default seed), built on first use."""
    if name in _LAZY:
        key = (name, _reference(None))
        if key not in _lazy_cache:
            _lazy_cache[key] = _LAZY[name]()
        return _lazy_cache[key]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
