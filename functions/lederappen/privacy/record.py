"""The record of processing activities (GDPR Art. 30), generated from the data map.

Nothing here lists a store: every activity is a `datamap.STORES` entry (plus the profile,
which passes through from the member register without being stored), built when it is asked
for. So the record cannot drift from the code: a table added to the data map is in the next
record, with its purpose, legal basis, retention, readers and data, in Norwegian and English.

`build()` gives the record as JSON; `markdown()` writes it for a person (a written answer to a
member, the supervisory authority). `infra/scripts/processing_record.py` prints the same
Markdown, so it can be attached without a running backend.

What the data map cannot know (who the controller is, the processors, transfers, the
security measures) is stated once below, from the privacy policy and the Terraform setup.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..core import datamap
from ..core.times import rfc3339

FORMAT_VERSION = 1

CONTROLLER = {
    "name": "Lederne",
    "address": "Storgata 25, 0184 Oslo",
    "email": "post@lederne.no",
    "phone": "+47 22 54 51 50",
}
DPO = {"email": "personvern@lederne.no"}
DPO_TITLE = {"nb": "Personvernombud", "en": "Data protection officer"}

TITLE = {
    "nb": "Protokoll over behandlingsaktiviteter: Lederappen",
    "en": "Record of processing activities: Lederappen",
}
DATA_SUBJECTS = {
    "nb": "Medlemmer av Lederne som bruker Lederappen (i mentorprogrammet også den andre i "
    "et mentorpar). Ledernes ansatte bare som brukere av administrasjonsfunksjonene.",
    "en": "Members of Lederne who use Lederappen (in the mentor programme also the other "
    "member of a mentoring pair). Lederne's staff only as users of the staff functions.",
}
PROCESSORS: tuple[dict[str, Any], ...] = (
    {
        "name": "Google Cloud (Google Cloud EMEA Ltd.)",
        "role": {
            "nb": "Databehandler: drift av skyfunksjoner, Cloud SQL for PostgreSQL, Firestore, "
            "Pub/Sub, logging og hemmeligheter, i en region i EU/EØS.",
            "en": "Processor: runs the cloud functions, Cloud SQL for PostgreSQL, Firestore, "
            "Pub/Sub, logging and secrets, in a region in the EU/EEA.",
        },
    },
    {
        "name": "Firebase Cloud Messaging (Google)",
        "role": {
            "nb": "Databehandler: leverer varsler til appen (via Apple Push Notification "
            "service til iPhone). Får varseltoken og varselets tekst, aldri "
            "medlemsnummer eller profil.",
            "en": "Processor: delivers notifications to the app (through Apple Push "
            "Notification service to iPhones). Gets the device token and the "
            "notification's text, never a member number or profile.",
        },
    },
    {
        "name": "Shortcut AS",
        "role": {
            "nb": "Appleverandør etter databehandleravtale med Lederne.",
            "en": "App supplier under a data processing agreement with Lederne.",
        },
    },
)
TRANSFERS = {
    "nb": "Lagrede opplysninger ligger i Google Cloud i EU/EØS (oppsettet godtar bare "
    "europeiske regioner). Varsler går gjennom Firebase Cloud Messaging og, til iPhone, "
    "Apple Push Notification service, som kan behandle varseltoken og varseltekst "
    "utenfor EØS etter leverandørenes databehandlervilkår; varslene inneholder ingen "
    "personopplysninger utover tokenet.",
    "en": "Stored data is kept in Google Cloud in the EU/EEA (the setup accepts European "
    "regions only). Notifications pass through Firebase Cloud Messaging and, to iPhones, "
    "Apple Push Notification service, which may process the device token and the "
    "notification text outside the EEA under the providers' data processing terms; "
    "notifications carry no personal data beyond the token.",
}
SECURITY_MEASURES = (
    {
        "nb": "Kryptering av lagrede data (Google-administrerte AES-256-nøkler) og av all trafikk "
        "(TLS).",
        "en": "Encryption of stored data (Google-managed AES-256 keys) and of all traffic (TLS).",
    },
    {
        "nb": "Databasen har ingen offentlig adresse; innlogging med IAM. Hver funksjon har sin "
        "egen tjenestekonto og får bare tilgang til tabellene den trenger.",
        "en": "The database has no public address; sign-in through IAM. Every function has its "
        "own service account and reaches only the tables it needs.",
    },
    {
        "nb": "Profilopplysninger (navn, adresse, kontakt, fødselsnummer, arbeidsgiver, stilling) "
        "lagres og logges aldri; logger viser medlemmer bare som et nøkkelbasert pseudonym.",
        "en": "Profile data (name, address, contact, national identity number, employer, "
        "position) is never stored or logged; logs show members only as a keyed "
        "pseudonym.",
    },
    {
        "nb": "Appens installasjons-ID lagres bare som en nøkkelbasert hash.",
        "en": "The app's installation id is stored only as a keyed hash.",
    },
    {
        "nb": "Hver gang ansatte eller jobber får tilgang til opplysninger om et medlem, skrives "
        "det i et revisjonsspor som medlemmet selv kan se (levering av en melding og en "
        "sletting har hver sin egen oppføring per medlem i stedet).",
        "en": "Every access by staff or jobs to a member's data is written to an audit trail "
        "the member can see (a message's delivery and an erasure each have their own "
        "record per member instead).",
    },
    {
        "nb": "Samtykker føres som en logg med vilkårsversjon og tidspunkt; begrenset behandling "
        "stopper all bruk av opplysningene; slettefrister håndheves automatisk.",
        "en": "Consents are kept as a ledger with terms version and time; restricted processing "
        "stops every use of the data; retention limits are enforced automatically.",
    },
)
ERASURE = {
    "delete": {
        "nb": "Slettes med medlemsnøkkelen (ved ønske om sletting, når medlemskapet "
        "opphører og når lagringstiden er ute).",
        "en": "Deleted by the member key (on request, when membership ends and when "
        "the retention period is over).",
    },
    "expire": {
        "nb": "Kan ikke slettes under levering; forsvinner når meldingen er levert "
        "eller lagringstiden er ute, og mottakeren forkaster meldinger om "
        "slettede medlemmer.",
        "en": "Cannot be deleted while in transit; gone when delivered or when the "
        "retention period is over, and the receiver drops messages about erased "
        "members.",
    },
    "keep": {
        "nb": "Skrives når du slettes, og holder bare et pseudonym og tidspunktet; "
        "slettes automatisk etter 30 dager.",
        "en": "Written when you are erased, holding only a pseudonym and the time; "
        "deleted automatically after 30 days.",
    },
}

#: What erasing a member does to a row that names them besides its member key
#: (`datamap.Reference.erase`).
REFERENCE_ERASURE = {
    "neutralise": {
        "nb": "Gjelder raden et annet medlem, blir den stående for dem med "
        "«slettet medlem» her; ingenting peker tilbake.",
        "en": 'A row about another member stays for them with "erased member" '
        "here; nothing points back.",
    },
    "scrub": {
        "nb": "Medlemsnummeret tas ut av meldingen; resten går videre til de andre.",
        "en": "The member number is taken out of the message; the rest goes on to the others.",
    },
    "with_row": {
        "nb": "Slettes med raden (den finnes med medlemsnøkkelen).",
        "en": "Deleted with the row (found by the member key).",
    },
    "delete": {
        "nb": "Raden slettes (en kortlivet kopi som nevner medlemmet).",
        "en": "The row is deleted (a short-lived copy naming the member).",
    },
}


def controller() -> dict[str, str]:
    return dict(CONTROLLER)


def _fields(columns) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "description": dict(c.description), "derived": c.derived} for c in columns
    ]


def readers(codes) -> list[dict[str, str]]:
    return [dict(datamap.READERS.get(r) or {"nb": r, "en": r}) for r in codes]


def activity(store: datamap.Store) -> dict[str, Any]:
    """One store as a processing activity."""
    return {
        "store": store.name,
        "kind": store.kind,
        "stored": True,
        "title": dict(store.title or {"nb": store.name, "en": store.name}),
        "source": dict(datamap.SOURCES[store.kind]),
        "category": store.category,
        "purpose": dict(store.purpose),
        "legal_basis": store.legal_basis,
        "retention": dict(store.retention),
        "retention_days": store.retention_days,
        "recipients": readers(store.readers),
        "provided_by_member": store.provided_by_member,
        "member_keys": list(store.member_keys),
        "pseudonymised": store.key_form == "pseudonym",
        "erasure": dict(store.erased_after or ERASURE[store.erase]),
        "retention_set_by": (
            f"terraform: var.{store.retention_set_by}" if store.retention_set_by else None
        ),
        "also_names_members": [
            {
                "column": r.column,
                "description": dict(r.description),
                "erasure": dict(REFERENCE_ERASURE[r.erase]),
            }
            for r in store.references
        ],
        "data": _fields(store.export_columns),
    }


def register_activity() -> dict[str, Any]:
    reg = datamap.REGISTER
    return {
        "store": reg.name,
        "kind": "register",
        "stored": False,
        "title": dict(reg.title),
        "source": dict(reg.source),
        "category": reg.category,
        "purpose": dict(reg.purpose),
        "legal_basis": reg.legal_basis,
        "retention": dict(reg.retention),
        "retention_days": None,
        "recipients": readers(reg.readers),
        "provided_by_member": False,
        "member_keys": ["member_id"],
        "pseudonymised": False,
        "erasure": {"nb": "Ikke lagret i appen.", "en": "Not stored by the app."},
        "retention_set_by": None,
        "also_names_members": [],
        "data": _fields(reg.fields),
    }


def build(now: datetime | None = None) -> dict[str, Any]:
    """The record, as it follows from the code running now."""
    return {
        "title": dict(TITLE),
        "format_version": FORMAT_VERSION,
        "generated_at": rfc3339(now or datetime.now(UTC)),
        "generated_from": "lederappen.core.datamap",
        "controller": controller(),
        "data_protection_officer": dict(DPO),
        "data_subjects": dict(DATA_SUBJECTS),
        "processors": [{"name": p["name"], "role": dict(p["role"])} for p in PROCESSORS],
        "transfers": dict(TRANSFERS),
        "security_measures": [dict(m) for m in SECURITY_MEASURES],
        "activities": [register_activity()] + [activity(s) for s in datamap.STORES],
    }


# -- Markdown ----------------------------------------------------------------------------------

_MD = {
    "intro": {
        "nb": "Laget automatisk fra appens dataoversikt (`{source}`) {at}, etter "
        "personvernforordningen artikkel 30. Den følger koden som kjører, og kan "
        "ikke bli utdatert.",
        "en": "Generated from the app's data map (`{source}`) {at}, as GDPR Article 30 "
        "requires. It follows the code that runs, and cannot go out of date.",
    },
    "controller": {"nb": "Behandlingsansvarlig", "en": "Controller"},
    "subjects": {"nb": "Registrerte", "en": "Data subjects"},
    "processors": {"nb": "Databehandlere og mottakere", "en": "Processors and recipients"},
    "transfers": {"nb": "Overføring til land utenfor EØS", "en": "Transfers outside the EEA"},
    "security": {"nb": "Sikkerhetstiltak (artikkel 32)", "en": "Security measures (Article 32)"},
    "activities": {"nb": "Behandlingsaktiviteter", "en": "Processing activities"},
    "overview": {"nb": "Oversikt", "en": "Overview"},
    "activity": {"nb": "Aktivitet", "en": "Activity"},
    "category": {"nb": "Kategori", "en": "Category"},
    "purpose": {"nb": "Formål", "en": "Purpose"},
    "legal_basis": {"nb": "Rettslig grunnlag", "en": "Legal basis"},
    "retention": {"nb": "Lagringstid", "en": "Retention"},
    "recipients": {"nb": "Hvem har tilgang", "en": "Who has access"},
    "source": {"nb": "Hvor", "en": "Where"},
    "provided": {
        "nb": "Gitt av medlemmet (dataportabilitet)",
        "en": "Provided by the member (portability)",
    },
    "keys": {"nb": "Medlemsnøkkel", "en": "Member key"},
    "pseudonymised": {"nb": " (pseudonymisert)", "en": " (pseudonymised)"},
    "erasure": {"nb": "Sletting", "en": "Erasure"},
    "data": {"nb": "Opplysninger", "en": "Data"},
    "derived": {"nb": "utledet", "en": "derived"},
    "yes": {"nb": "Ja", "en": "Yes"},
    "no": {"nb": "Nei", "en": "No"},
    "store": {"nb": "Lager", "en": "Store"},
    "set_by": {"nb": "Lagringstiden settes av", "en": "Retention set by"},
    "also": {"nb": "Kan også nevne medlemmer:", "en": "Can also name members:"},
}


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def markdown(rec: dict[str, Any], locale: str = "nb") -> str:
    """The record for a person, in Norwegian (`nb`) or English (`en`)."""
    t = {k: v[locale] for k, v in _MD.items()}
    c = rec["controller"]
    lines = [
        f"# {rec['title'][locale]}",
        "",
        t["intro"].format(source=rec["generated_from"], at=rec["generated_at"]),
        "",
        f"## {t['controller']}",
        "",
        f"{c['name']}, {c['address']}. {c['email']}, {c['phone']}.",
        f"{DPO_TITLE[locale]}: {rec['data_protection_officer']['email']}.",
        "",
        f"## {t['subjects']}",
        "",
        rec["data_subjects"][locale],
        "",
        f"## {t['processors']}",
        "",
        *[f"- **{p['name']}**: {p['role'][locale]}" for p in rec["processors"]],
        "",
        f"## {t['transfers']}",
        "",
        rec["transfers"][locale],
        "",
        f"## {t['security']}",
        "",
        *[f"- {m[locale]}" for m in rec["security_measures"]],
        "",
        f"## {t['activities']}",
        "",
        (
            f"| {t['activity']} | {t['store']} | {t['category']} | {t['legal_basis']} | "
            f"{t['retention']} |"
        ),
        "|---|---|---|---|---|",
    ]
    for a in rec["activities"]:
        lines.append(
            f"| {_cell(a['title'][locale])} | `{a['store']}` | {a['category']} | "
            f"{_cell(a['legal_basis'])} | {_cell(a['retention'][locale])} |"
        )
    for a in rec["activities"]:
        keys = ", ".join(f"`{k}`" for k in a["member_keys"])
        if a["pseudonymised"]:
            keys += t["pseudonymised"]
        data = "; ".join(
            f"`{d['name']}`: {d['description'][locale]}"
            + (f" ({t['derived']})" if d["derived"] else "")
            for d in a["data"]
        )
        lines += [
            "",
            f"### {a['title'][locale]} (`{a['store']}`)",
            "",
            "| | |",
            "|---|---|",
            f"| {t['source']} | {_cell(a['source'][locale])} |",
            f"| {t['category']} | {a['category']} |",
            f"| {t['purpose']} | {_cell(a['purpose'][locale])} |",
            f"| {t['legal_basis']} | {_cell(a['legal_basis'])} |",
            f"| {t['retention']} | {_cell(a['retention'][locale])} |",
            f"| {t['recipients']} | {_cell(', '.join(r[locale] for r in a['recipients']))} |",
            f"| {t['provided']} | {t['yes'] if a['provided_by_member'] else t['no']} |",
            f"| {t['keys']} | {_cell(keys)} |",
            f"| {t['erasure']} | {_cell(a['erasure'][locale])} |",
            f"| {t['data']} | {_cell(data)} |",
        ]
        if a.get("retention_set_by"):
            lines.append(f"| {t['set_by']} | `{a['retention_set_by']}` |")
        for r in a.get("also_names_members") or ():
            lines.append(
                f"| {t['also']} `{r['column']}` | {_cell(r['description'][locale])} "
                f"{_cell(r['erasure'][locale])} |"
            )
    return "\n".join(lines) + "\n"
