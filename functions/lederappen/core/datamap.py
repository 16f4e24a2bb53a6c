"""The data map: every place the backend keeps anything about a member, and why.

The policy promises that the app stores only salary data, preferences and mentor engagement,
and that everything else it keeps is there for a stated purpose, on a legal basis, for a
limited time. Each table, Firestore collection and message type that can hold a member key
is declared here once. Access export (R1, R6), erasure (R3, R5), retention (R7) and the
processing record are driven from this list, and `tests/integration/test_datamap.py` fails
when the database holds a table with a member key column that is not declared, or any column
that can name a member (JSON, arrays, bytes, actor-like names, found from the live schema) that
is neither a member key, a declared `Reference` nor listed in `NO_MEMBER_COLUMNS`, so a new
feature cannot store member data that escapes export and erasure. Logs and backups are
declared too (kinds ``logging`` and ``backup``, export ``outside``): they age out, and
`erased_after` says when an erased member's data has left them.

How a store is shown to the member (R1) and exported (R6) is declared here too, so the privacy
capability (`lederappen.privacy`) has no list of its own:

* `export` says how the member's data is found: ``rows`` (SQL rows matching any member key),
  ``documents`` (Firestore documents whose member key field matches), ``document`` (the one
  Firestore document whose id is the member key) or ``in_transit`` (Pub/Sub messages: held
  only until delivered, and Pub/Sub cannot look messages up by content, so they are described
  but cannot be listed).
* `export_columns` are the member-meaningful columns (SQL), fields (Firestore) or payload
  fields (Pub/Sub), each with a description in both languages. Internal values (lease times,
  request fingerprints, versions used as ETags, tokens) are left out on purpose, and so are
  the member keys themselves: the member knows their own key, and in a row about two members
  the other member's key is replaced by the caller's role (`roles`).
* A column marked `derived` was computed by the backend (a score, a band, a hash): it is shown
  in access (R1) but not part of the portable export (R6), which holds what the member gave.
* `order_by` is the store's sort key, newest first and unique per member: access pages
  through long stores (a year of inbox items) by it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Column / field names that hold a member key. A table with one of them must be declared.
#: ``member_ids`` is an array column (dead_letters): erasure matches ``%s = ANY(member_ids)``.
MEMBER_KEY_COLUMNS = (
    "member_id",
    "owner",
    "member_ids",
    "mentee_id",
    "mentor_id",
    "member_pseudonym",
)
#: Member key columns that hold an array of keys (match with ``%s = ANY(column)``).
ARRAY_KEY_COLUMNS = frozenset({"member_ids"})

#: Tables that hold no member data (checked by the same test, so they are listed on purpose).
NOT_MEMBER_DATA = frozenset({"schema_migrations"})
#: Tables without a member key, listed so reviewers see they were considered.
NO_MEMBER_KEY = frozenset(
    {
        "consent_terms",
        "processed_events",
        "salary_rounds",
        "mentor_rounds",
        "salary_releases",
        "salary_release_tables",
        "salary_answer_counts",
        "salary_answer_days",
        "console_revoked_sessions",
    }
)

#: Topics whose messages carry no member key (ids of other things only), so no store.
TOPICS_WITHOUT_MEMBER_KEY = frozenset({"terms-notice"})  # a terms version: purpose, number

KINDS = ("sql", "firestore", "pubsub", "logging", "backup")
#: How a store's data about one member is found (see the module docstring). ``outside``: a
#: store outside the databases (logs, backups) that cannot be read per member; described in
#: access and the processing record, and it ages out by its retention.
EXPORT_MODES = ("rows", "documents", "document", "in_transit", "outside")
#: How the member key is written in a store: as it is, or as `core.log.pseudonym()` of it.
KEY_FORMS = ("id", "pseudonym")

#: Where each kind of store lives, as the member is told.
SOURCES: dict[str, dict[str, str]] = {
    "sql": {
        "nb": "Cloud SQL for PostgreSQL (Ledernes database for appen)",
        "en": "Cloud SQL for PostgreSQL (Lederne's database for the app)",
    },
    "firestore": {
        "nb": "Firestore (dokumentdatabase for varsler og innboks)",
        "en": "Firestore (document database for notifications and the inbox)",
    },
    "pubsub": {
        "nb": "Pub/Sub (meldinger mellom systemene, bare til de er levert)",
        "en": "Pub/Sub (messages between systems, only until delivered)",
    },
    "logging": {
        "nb": "Cloud Logging (driftslogger fra skyfunksjonene)",
        "en": "Cloud Logging (operational logs of the cloud functions)",
    },
    "backup": {
        "nb": "Sikkerhetskopier av Cloud SQL-databasen (bare til gjenoppretting)",
        "en": "Backups of the Cloud SQL database (for recovery only)",
    },
}

#: Who may read a store (`Store.readers`), in words for the member and the processing record.
READERS: dict[str, dict[str, str]] = {
    "functions": {
        "nb": "Appens skyfunksjoner (automatisk behandling)",
        "en": "The app's cloud functions (automated processing)",
    },
    "privacy_officer": {
        "nb": "Ledernes personvernombud",
        "en": "Lederne's data protection officer",
    },
    "operations": {
        "nb": "Driftspersonell hos Lederne (ser aldri hvem det gjelder)",
        "en": "Lederne's operations staff (never see whom it concerns)",
    },
    "the member": {"nb": "Du selv", "en": "You"},
    "the other member of the pair": {
        "nb": "Den andre i mentorparet",
        "en": "The other member of the mentoring pair",
    },
    "the other member of the pair (without contact details)": {
        "nb": "Den andre i mentorparet (uten kontaktopplysninger)",
        "en": "The other member of the mentoring pair (without contact details)",
    },
}


@dataclass(frozen=True)
class Column:
    """One column (SQL), field (Firestore; ``id`` is the document id) or payload field
    (Pub/Sub) that the member is shown, with what it means."""

    name: str
    description: dict[str, str]
    #: Computed by the backend, not given by the member: in access (R1), not in export (R6).
    derived: bool = False
    #: SQL expression giving the value instead of the column of that name (to redact);
    #: ``{me}`` in it stands for the caller's member key (as the store holds it).
    sql: str | None = None
    #: Keys removed from a map value at any depth (a copy of a token inside a map).
    omit: tuple[str, ...] = ()


def col(name: str, nb: str, en: str, **kw) -> Column:
    return Column(name, {"nb": nb, "en": en}, **kw)


_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def quote_ident(name: str) -> str:
    """A table or column name from the data map, quoted for SQL (only plain identifiers)."""
    if not _IDENT.match(name):
        raise ValueError(f"{name!r} is not a plain identifier")
    return f'"{name}"'


#: What an actor column holds once the member who acted has been erased: the entry stays for
#: the member it is about (they may ask who saw their data), and nothing links it back.
ERASED_ACTOR = "erased-member"

#: How erasure treats a `Reference` (see there).
REFERENCE_ERASE = ("neutralise", "scrub", "with_row", "delete")
#: What a `Reference` column is: a text value, a JSON document, an array, or bytes.
REFERENCE_SHAPES = ("text", "json", "array", "bytes")


@dataclass(frozen=True)
class Reference:
    """A column of a store, besides its member keys, that can name a member: the actor of an
    audit entry, a JSON payload naming members, a copy of a message. Every such column is
    declared (tests/integration/test_datamap.py derives the candidates from the live schema),
    and erasure (R3, R5), access (R1) and membership end read the declaration:

    * `match` is trusted SQL meaning "this row names the member in this column"; ``{key}``
      stands for the member's key as `key_form` holds it (the id, or its pseudonym).
    * `erase` says what erasing the member does to a row that names them here but is about
      someone else: ``neutralise`` (the column is set to `ERASED_ACTOR`: the row records what
      the erased member did to another member, and stays for that member), ``scrub`` (the
      store's `erase_with` takes the key out of the payload), ``with_row`` (the column only
      repeats a key the store already matches, so the row goes with it), ``delete`` (the row
      is a short-lived copy, such as a cached answer naming the member: it goes).
    * `keys`, for a ``id`` reference: a set-returning SQL expression listing the member keys
      the column holds, so the membership-end job checks them with the register too.
    * A reference with `export_columns` is its own section in access (R1): the rows where the
      member is named here, in their words, without the other member's key. It is never part
      of the portable export (R6): it records what was done, not what the member provided.
    * Retention (R7) is the store's: the reference is in the store's rows.
    """

    column: str
    shape: str
    key_form: str
    erase: str
    description: dict[str, str]
    match: str | None = None
    keys: str | None = None
    title: dict[str, str] | None = None
    export_columns: tuple[Column, ...] = ()
    order_by: tuple[str, ...] = ()
    note: dict[str, str] | None = None
    #: Why access shows these rows (the store's purpose when not given).
    purpose: dict[str, str] | None = None

    @property
    def match_sql(self) -> tuple[str, int]:
        """`match` with one ``%s`` (typed text) per ``{key}``, and how many to pass."""
        if not self.match:
            raise ValueError(f"reference {self.column} declares no match")
        return self.match.replace("{key}", "%s::text"), self.match.count("{key}")


def ref(column: str, shape: str, key_form: str, erase: str, nb: str, en: str, **kw) -> Reference:
    return Reference(column, shape, key_form, erase, {"nb": nb, "en": en}, **kw)


@dataclass(frozen=True)
class Store:
    """One place that holds member data."""

    name: str
    kind: str  # "sql" | "firestore" | "pubsub"
    member_key: str
    category: str
    purpose: dict[str, str]
    legal_basis: str
    retention: dict[str, str]
    retention_days: int | None  # None: as long as the stated condition holds
    readers: tuple[str, ...]
    provided_by_member: bool  # part of the portable export (R6)
    #: How erasure removes it: "delete" (rows/documents by member key), or "keep" (only the
    #: erasure tombstone: a pseudonym kept 30 days so in-flight messages are dropped).
    erase: str
    #: "module:function(cur, member_ids) -> {member_id: items}" that erases instead of a plain
    #: delete, when erasing must also throw away something derived (for example published
    #: salary figures).
    erase_with: str | None = None
    #: Further columns holding a member key (a row about two members: a mentoring pair).
    #: Erasing either member removes the row.
    other_keys: tuple[str, ...] = ()
    #: A short heading for the member and the processing record.
    title: dict[str, str] | None = None
    #: How the member's data is found (EXPORT_MODES).
    export: str = "rows"
    #: What the member is shown of each row, document or message (never a member key).
    export_columns: tuple[Column, ...] = ()
    #: Sort key, newest first, unique per member (SQL; Firestore when the query orders).
    order_by: tuple[str, ...] = ()
    #: How `member_key` holds the member: "id", or "pseudonym" (core.log.pseudonym).
    key_form: str = "id"
    #: Said to the member beside the data (what is left out and why).
    note: dict[str, str] | None = None
    #: Retention (R7): the column (SQL) or field (Firestore) that dates a row or document for
    #: the retention job (`lederappen.privacy.retention`). It is deleted once that moment is
    #: more than `retention_days` ago; a NULL or missing value is never due (an open proposal,
    #: an unpublished outbox row). Required with `retention_days` for SQL and Firestore stores;
    #: Pub/Sub messages expire in their subscription instead.
    retention_field: str | None = None
    #: True when `retention_field` holds the moment of expiry itself (already `retention_days`
    #: ahead, as a Firestore TTL policy wants it): due once that moment has passed.
    retention_field_is_expiry: bool = False
    #: SQL only: the rows whose member key is a member's, when the column is shared with other
    #: principals (trusted SQL written here); the membership-end job lists only those.
    key_where: str | None = None
    #: SQL only: a further condition a due row must also meet, as trusted SQL written here;
    #: ``{cutoff}`` stands for the moment `retention_days` ago.
    retention_where: str | None = None
    #: Further columns that can name a member (`Reference`): actors, payloads, copies.
    references: tuple[Reference, ...] = ()
    #: Logs and backups: the Terraform variable (terraform/variables.tf) that sets the
    #: retention; tests/unit/test_datamap_outside.py checks the two agree.
    retention_set_by: str | None = None
    #: Logs and backups: when data of an erased member has left this store, for the proof of
    #: erasure (the README's table and the processing record).
    erased_after: dict[str, str] | None = None
    #: An access view of a reference (`views()`): the table it reads, when not `name`, and
    #: its own condition for "this row names the member" (``{key}``: the member's key).
    table_name: str | None = None
    key_match: str | None = None

    @property
    def table(self) -> str:
        return self.table_name or self.name

    @property
    def member_keys(self) -> tuple[str, ...]:
        return (self.member_key, *self.other_keys)

    @property
    def match_sql(self) -> str:
        """The SQL condition "this row is about the member": one ``%s`` per member key, all
        given `key_for(member_id)` (array keys with ``@>``, which their GIN index serves);
        `match_arity` of them."""
        if self.key_match:
            return "(" + self.key_match.replace("{key}", "%s::text") + ")"
        parts = [
            f"{quote_ident(k)} @> ARRAY[%s]::text[]"
            if k in ARRAY_KEY_COLUMNS
            else f"{quote_ident(k)} = %s"
            for k in self.member_keys
        ]
        return "(" + " OR ".join(parts) + ")"

    @property
    def match_arity(self) -> int:
        """How many times `match_sql` takes the member key."""
        return self.key_match.count("{key}") if self.key_match else len(self.member_keys)

    @property
    def match_any_sql(self) -> str:
        """The SQL condition "this row is about one of the members": one ``%s`` per member
        key, each given the list of keys (array keys with ``&&``, which their GIN index
        serves)."""
        parts = [
            f"{quote_ident(k)} && %s::text[]"
            if k in ARRAY_KEY_COLUMNS
            else f"{quote_ident(k)} = ANY(%s)"
            for k in self.member_keys
        ]
        return "(" + " OR ".join(parts) + ")"

    def key_for(self, member_id: str, pseudonym) -> str:
        """The member key as this store holds it (`pseudonym`: core.log.pseudonym)."""
        return pseudonym(member_id) if self.key_form == "pseudonym" else member_id

    @property
    def roles(self) -> dict[str, str]:
        """For a row about two members: the caller's role by the key that matched
        (``mentee_id`` -> ``mentee``); empty for a store with one member key."""
        if not self.other_keys:
            return {}
        return {k: k.removesuffix("_id") for k in self.member_keys}


STORES: tuple[Store, ...] = (
    Store(
        name="salary_answers",
        kind="sql",
        member_key="member_id",
        category="salary",
        purpose={
            "nb": "Lønnsstatistikk: ditt frivillige svar på lønnsundersøkelsen, brukt bare i "
            "statistikk som ikke kan knyttes til deg, og til å vise deg hvor du står.",
            "en": "Salary statistics: your voluntary answer to the salary survey, used only in "
            "statistics that cannot be traced to you, and to show you where you stand.",
        },
        legal_basis="GDPR Art. 6(1)(a) (voluntary; withdrawn by deleting the answer) and "
        "Art. 9(2)(d) (a trade union's processing about its own members)",
        retention={
            "nb": "Fem år (for utvikling over tid), til du sletter svaret, eller til "
            "medlemskapet opphører.",
            "en": "Five years (for trends over time), until you delete the answer, or until "
            "membership ends.",
        },
        retention_days=5 * 366,
        retention_field="created_at",
        # A round's answers go together; its releases stay (anonymous, never republished).
        retention_where="year IN (SELECT year FROM salary_rounds WHERE closes_at < {cutoff})",
        readers=("functions",),
        provided_by_member=True,
        erase="delete",
        erase_with="lederappen.salary.service:erase_members",
        title={"nb": "Lønnsundersøkelsen: dine svar", "en": "Salary survey: your answers"},
        order_by=("year",),
        export_columns=(
            col("year", "Undersøkelsesår", "Survey year"),
            col(
                "base_monthly_salary",
                "Fast månedslønn før skatt (grunnlønn), kr",
                "Fixed monthly salary before tax (base pay), NOK",
                sql="base_monthly",
            ),
            col(
                "annual_bonus",
                "Bonus og resultatlønn siste 12 måneder, kr",
                "Bonus and performance pay, last 12 months, NOK",
                sql="bonus_annual",
            ),
            col(
                "other_annual_pay",
                "Andre faste tillegg per år, kr",
                "Other regular pay per year, NOK",
                sql="other_annual",
            ),
            col("position_level", "Stillingsnivå", "Position level"),
            col(
                "people_managed",
                "Antall personer du har personalansvar for",
                "Number of people you manage",
            ),
            col("sector", "Sektor", "Sector"),
            col("nace", "Næring (NACE-hovedområde)", "Industry (NACE section)"),
            col(
                "county", "Fylke du arbeider i (fylkesnummer)", "County you work in (county number)"
            ),
            col("years_experience", "År som leder", "Years as a manager", sql="experience_years"),
            col("age_band", "Alder (gruppe)", "Age (band)"),
            col("gender", "Kjønn", "Gender"),
            col(
                "weekly_hours",
                "Avtalt arbeidstid, timer per uke",
                "Contracted working hours per week",
            ),
            col(
                "total_annual_pay",
                "Samlet årslønn, regnet ut av svaret ditt, kr",
                "Total annual pay, computed from your answer, NOK",
                derived=True,
                sql="total_annual",
            ),
            col(
                "experience",
                "Gruppe for ledererfaring (til statistikken)",
                "Management experience band (for the statistics)",
                derived=True,
            ),
            col(
                "managed",
                "Gruppe for antall du leder (til statistikken)",
                "People managed band (for the statistics)",
                derived=True,
            ),
            col(
                "working_time",
                "Heltid eller deltid (til statistikken)",
                "Full or part time (for the statistics)",
                derived=True,
            ),
            col("created_at", "Første gang besvart", "First answered"),
            col("updated_at", "Sist endret", "Last changed"),
        ),
    ),
    Store(
        name="salary_statistics_uses",
        kind="sql",
        member_key="member_id",
        category="salary",
        purpose={
            "nb": "Når bruken av svaret ditt i lønnsstatistikken sist ble skrevet i "
            "revisjonssporet, så den skrives der én gang i året og ikke for hver "
            "utgave av statistikken.",
            "en": "When the use of your answer in the salary statistics was last written to "
            "the audit trail, so it is written there once a year rather than for every "
            "release of the statistics.",
        },
        legal_basis="GDPR Art. 5(2) (accountability), for the processing of your answer",
        retention={
            "nb": "Så lenge svaret ditt; slettes sammen med det, og når behandlingen begrenses "
            "eller begrensningen oppheves.",
            "en": "As long as your answer; deleted with it, and when processing is restricted "
            "or the restriction lifted.",
        },
        retention_days=None,
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
        title={
            "nb": "Lønnsundersøkelsen: når bruken av svaret ditt sist ble loggført",
            "en": "Salary survey: when the use of your answer was last audited",
        },
        order_by=("year",),
        export_columns=(
            col("year", "Undersøkelsesår", "Survey year"),
            col("audited_at", "Sist skrevet i revisjonssporet", "Last written to the audit trail"),
        ),
    ),
    Store(
        name="mentor_engagements",
        kind="sql",
        member_key="member_id",
        category="mentoring",
        purpose={
            "nb": "Mentorengasjement: din frivillige påmelding som mentor eller mentee (temaer, "
            "bransje, fylke, ledererfaring, form, språk, kapasitet og en kort presentasjon), "
            "brukt bare til å finne gode mentorpar.",
            "en": "Mentor engagement: your voluntary sign-up as mentor or mentee (topics, "
            "industry, county, management experience, format, languages, capacity and a "
            "short presentation), used only to find good mentoring pairs.",
        },
        legal_basis="GDPR Art. 6(1)(a) (voluntary; withdrawn by deleting the sign-up) and "
        "Art. 9(2)(d) (a trade union's processing about its own members)",
        retention={
            "nb": "Til du trekker deg, eller medlemskapet opphører.",
            "en": "Until you withdraw, or membership ends.",
        },
        retention_days=None,
        readers=("functions",),
        provided_by_member=True,
        erase="delete",
        title={"nb": "Mentorengasjement: din påmelding", "en": "Mentor engagement: your sign-up"},
        order_by=("role",),
        export_columns=(
            col("role", "Rolle (mentor eller mentee)", "Role (mentor or mentee)"),
            col("topics", "Temaer", "Topics"),
            col("industry", "Bransje (NACE-hovedområde)", "Industry (NACE section)"),
            col("county", "Fylke (fylkesnummer)", "County (county number)"),
            col("position_level", "Stillingsnivå", "Position level"),
            col("years_as_manager", "År som leder", "Years as a manager"),
            col("formats", "Form (digitalt, fysisk)", "Format (digital, in person)"),
            col("languages", "Språk", "Languages"),
            col(
                "capacity",
                "Hvor mange mentees du kan ta (bare som mentor)",
                "How many mentees you can take (as a mentor only)",
            ),
            col("presentation", "Din presentasjon", "Your presentation"),
            col("created_at", "Påmeldt", "Signed up"),
            col("updated_at", "Sist endret", "Last changed"),
        ),
    ),
    Store(
        name="mentor_proposals",
        kind="sql",
        member_key="mentee_id",
        other_keys=("mentor_id",),
        category="mentoring",
        purpose={
            "nb": "Mentorforslag: hvem du er foreslått sammen med, hvorfor (poeng og grunner) og "
            "hva dere har svart, så et par bare foreslås én gang.",
            "en": "Mentor proposals: whom you were proposed with, why (score and reasons) and "
            "what you both answered, so a pair is proposed only once.",
        },
        legal_basis="GDPR Art. 6(1)(a) (the voluntary mentor engagement) and Art. 9(2)(d)",
        retention={
            "nb": "Ett år etter at forslaget ble avsluttet, til du trekker deg, eller "
            "medlemskapet opphører.",
            "en": "One year after the proposal closed, until you withdraw, or membership ends.",
        },
        retention_days=365,
        retention_field="closed_at",
        readers=("functions", "the other member of the pair (without contact details)"),
        provided_by_member=False,
        erase="delete",
        title={"nb": "Mentorforslag", "en": "Mentor proposals"},
        order_by=("created_at", "id"),
        export_columns=(
            col("id", "Forslagets ID", "The proposal's id"),
            col(
                "status",
                "Status (open: åpen, accepted: akseptert, declined: avslått, "
                "expired: utløpt, withdrawn: trukket)",
                "Status (open, accepted, declined, expired, withdrawn)",
            ),
            col(
                "score",
                "Hvor godt dere passer sammen (0 til 1)",
                "How well you match (0 to 1)",
                derived=True,
            ),
            col(
                "parts",
                "Poengene fordelt på hva som ble vurdert",
                "The score by criterion",
                derived=True,
            ),
            col(
                "reasons",
                "Grunnene til forslaget, den viktigste først",
                "The reasons for the proposal, the most important first",
                derived=True,
            ),
            col("shared_topics", "Temaer dere har felles", "Topics you share", derived=True),
            # As in the mentoring view: while the proposal is open, the other side's answer
            # shows only as "answered" (whether they said yes is theirs to tell).
            col(
                "mentee_answer",
                "Menteens svar (answered: har svart, mens forslaget er åpent)",
                "The mentee's answer (answered: has answered, while the proposal is open)",
                sql="CASE WHEN status = 'open' AND mentor_id = {me} AND mentee_answer IS NOT NULL "
                "THEN 'answered' ELSE mentee_answer END",
            ),
            col(
                "mentor_answer",
                "Mentorens svar (answered: har svart, mens forslaget er åpent)",
                "The mentor's answer (answered: has answered, while the proposal is open)",
                sql="CASE WHEN status = 'open' AND mentee_id = {me} AND mentor_answer IS NOT NULL "
                "THEN 'answered' ELSE mentor_answer END",
            ),
            col("mentee_answered_at", "Når menteen svarte", "When the mentee answered"),
            col("mentor_answered_at", "Når mentoren svarte", "When the mentor answered"),
            col("created_at", "Foreslått", "Proposed"),
            col("expires_at", "Svarfrist", "Answer by"),
            col("closed_at", "Avsluttet", "Closed"),
        ),
    ),
    Store(
        name="mentorships",
        kind="sql",
        member_key="mentee_id",
        other_keys=("mentor_id",),
        category="mentoring",
        purpose={
            "nb": "Mentorskap: at du og en annen har sagt ja til hverandre, og når det startet "
            "og sluttet. Brukes til kapasitet og til å vise dere kontaktopplysningene.",
            "en": "Mentorships: that you and another member said yes to each other, and when it "
            "started and ended. Used for capacity and to show you each other's contact "
            "details.",
        },
        legal_basis="GDPR Art. 6(1)(a) (the voluntary mentor engagement) and Art. 9(2)(d)",
        retention={
            "nb": "Ett år etter at mentorskapet sluttet, eller medlemskapet opphører.",
            "en": "One year after the mentorship ended, or membership ends.",
        },
        retention_days=365,
        retention_field="ended_at",
        readers=("functions", "the other member of the pair"),
        provided_by_member=False,
        erase="delete",
        title={"nb": "Mentorskap", "en": "Mentorships"},
        order_by=("started_at", "id"),
        export_columns=(
            col(
                "id",
                "Mentorskapets ID (samme som forslagets)",
                "The mentorship's id (the proposal's)",
            ),
            col("started_at", "Startet", "Started"),
            col("ended_at", "Avsluttet", "Ended"),
            col(
                "ended_by",
                "Hvem som avsluttet (mentee, mentor, withdrawal: påmelding trukket, "
                "membership: medlemskap opphørt)",
                "Who ended it (mentee, mentor, withdrawal, membership ended)",
            ),
        ),
    ),
    Store(
        name="mentorship_feedback",
        kind="sql",
        member_key="member_id",
        category="mentoring",
        purpose={
            "nb": "Din private tilbakemelding på et mentorskap (karakter og kommentar). Ingen "
            "andre ser den; Lederne ser bare gjennomsnitt for å forbedre programmet.",
            "en": "Your private feedback on a mentorship (rating and comment). Nobody else sees "
            "it; Lederne sees only averages, to improve the programme.",
        },
        legal_basis="GDPR Art. 6(1)(a) (voluntary)",
        retention={
            "nb": "Ett år etter at mentorskapet sluttet, eller medlemskapet opphører.",
            "en": "One year after the mentorship ended, or membership ends.",
        },
        retention_days=365,
        retention_field="created_at",
        # It goes with its mentorship: a year after that ended (or with it, by cascade).
        retention_where="mentorship_id IN (SELECT id FROM mentorships WHERE ended_at < {cutoff})",
        readers=("functions",),
        provided_by_member=True,
        erase="delete",
        title={"nb": "Din tilbakemelding på mentorskap", "en": "Your feedback on mentorships"},
        order_by=("created_at", "mentorship_id"),
        export_columns=(
            col(
                "mentorship_id",
                "Mentorskapet tilbakemeldingen gjelder",
                "The mentorship the feedback is about",
            ),
            col("rating", "Karakter (1 til 5)", "Rating (1 to 5)"),
            col("comment", "Kommentar", "Comment"),
            col("created_at", "Gitt", "Given"),
        ),
    ),
    Store(
        name="audit_events",
        kind="sql",
        member_key="member_pseudonym",
        category="audit",
        purpose={
            "nb": "Revisjonsspor: når ansatte, jobber eller andre medlemmer har fått se eller "
            "behandlet opplysninger om deg, hvilken kategori og hvorfor. Du er "
            "pseudonymisert; selve opplysningene lagres aldri her.",
            "en": "Audit trail: when staff, jobs or other members saw or processed data about "
            "you, which category and why. You are pseudonymised; the data itself is "
            "never stored here.",
        },
        legal_basis="GDPR Art. 5(2) and Art. 32 (accountability and security of processing)",
        retention={"nb": "To år.", "en": "Two years."},
        retention_days=2 * 366,
        retention_field="at",
        readers=("privacy_officer", "the member"),
        provided_by_member=False,
        erase="delete",
        title={
            "nb": "Revisjonsspor: hvem som har sett opplysninger om deg",
            "en": "Audit trail: who saw data about you",
        },
        key_form="pseudonym",
        order_by=("at", "id"),
        references=(
            ref(
                "actor",
                "text",
                "pseudonym",
                "neutralise",
                "Når et annet medlem så opplysninger om noen (for eksempel kontaktopplysningene "
                "til den andre i mentorparet): det medlemmets pseudonym.",
                "When another member saw someone's data (for example the contact details of "
                "the other member of their mentoring pair): that member's pseudonym.",
                match="actor_kind = 'member' AND actor = {key}",
                purpose={
                    "nb": "Revisjonsspor: bevise hvem som har sett opplysninger om et "
                    "medlem. Her: at du så opplysninger om en annen.",
                    "en": "Audit trail: prove who saw data about a member. Here: that you "
                    "saw data about someone else.",
                },
                title={
                    "nb": "Revisjonsspor: opplysninger om andre som du har sett",
                    "en": "Audit trail: data about others that you saw",
                },
                order_by=("at", "id"),
                export_columns=(
                    col("at", "Tidspunkt", "When"),
                    col("category", "Hvilken kategori opplysninger", "Which category of data"),
                    col("action", "Hva som ble gjort", "What was done"),
                    col("purpose", "Hvorfor", "Why"),
                    col(
                        "meaning",
                        "Det samme i ord: kategori, handling og formål",
                        "The same in words: category, action and purpose",
                        derived=True,
                        sql="NULL::text",
                    ),
                ),
                note={
                    "nb": "Oppføringen hører også til medlemmet opplysningene gjaldt, som ikke "
                    "navngis her. Slettes du, blir oppføringen stående for dem, med "
                    "«slettet medlem» i stedet for deg.",
                    "en": "The entry also belongs to the member whose data it was, who is not "
                    'named here. If you are erased, it stays for them, with "erased '
                    'member" in your place.',
                },
            ),
        ),
        export_columns=(
            col("at", "Tidspunkt", "When"),
            col(
                "actor_kind",
                "Hvem (staff: ansatt, job: jobb, member: et annet medlem)",
                "Who (staff, job, or member: another member)",
            ),
            col(
                "actor",
                "Den ansattes bruker-ID eller jobbens navn; tomt når det var et annet "
                "medlem, som ikke navngis her",
                "The staff member's user id or the job's name; empty when it was another "
                "member, who is not named here",
                sql="CASE WHEN actor_kind = 'member' THEN NULL ELSE actor END",
            ),
            col("category", "Hvilken kategori opplysninger", "Which category of data"),
            col("action", "Hva som ble gjort", "What was done"),
            col("purpose", "Hvorfor", "Why"),
            col(
                "meaning",
                "Det samme i ord: kategori, handling og formål",
                "The same in words: category, action and purpose",
                derived=True,
                sql="NULL::text",
            ),
        ),
        note={
            "nb": "Du er lagret her bare som et pseudonym; oppføringene er funnet med ditt.",
            "en": "You are stored here only as a pseudonym; the entries were found by yours.",
        },
    ),
    Store(
        name="processing_restrictions",
        kind="sql",
        member_key="member_id",
        category="restriction",
        purpose={
            "nb": "Huske at behandlingen av dine opplysninger er begrenset, slik at de ikke brukes.",
            "en": "Remember that processing of your data is restricted, so it is not used.",
        },
        legal_basis="GDPR Art. 6(1)(c) and Art. 18 (legal obligation to honour restriction)",
        retention={
            "nb": "Så lenge begrensningen gjelder; slettes når den oppheves eller medlemskapet opphører.",
            "en": "While the restriction stands; deleted when it is lifted or membership ends.",
        },
        retention_days=None,
        readers=("functions", "privacy_officer"),
        provided_by_member=False,
        erase="delete",
        title={"nb": "Begrensning av behandling", "en": "Restriction of processing"},
        order_by=("restricted_since",),
        export_columns=(
            col("restricted_since", "Begrenset siden", "Restricted since"),
            col("request_ref", "Referanse til henvendelsen din", "Reference of your request"),
        ),
    ),
    Store(
        name="consent_events",
        kind="sql",
        member_key="member_id",
        category="consent",
        purpose={
            "nb": "Bevise hvilke samtykker du har gitt eller trukket, til hvilken vilkårstekst og når.",
            "en": "Prove which consents you gave or withdrew, to which terms text, and when.",
        },
        legal_basis="GDPR Art. 7(1) and Art. 6(1)(c) (the controller must be able to prove consent)",
        retention={
            "nb": "Så lenge du er medlem; slettes når medlemskapet opphører.",
            "en": "While you are a member; deleted when membership ends.",
        },
        retention_days=None,
        readers=("functions", "privacy_officer"),
        provided_by_member=True,
        erase="delete",
        title={
            "nb": "Samtykker (logg over gitt og trukket)",
            "en": "Consents (ledger of given and withdrawn)",
        },
        order_by=("id",),
        export_columns=(
            col(
                "purpose",
                "Formål (newsletter: nyhetsbrev, marketing: markedsføring, "
                "personalisation: tilpasset innhold, mentor_contact_sharing: deling av "
                "kontaktinformasjon i mentorprogrammet)",
                "Purpose (newsletter, marketing, personalisation, mentor_contact_sharing)",
            ),
            col("action", "Gitt (given) eller trukket (withdrawn)", "Given or withdrawn"),
            col("terms_version", "Versjon av vilkårene", "Version of the terms"),
            col(
                "text_hash",
                "Fingeravtrykk (SHA-256) av vilkårsteksten du fikk se",
                "Fingerprint (SHA-256) of the terms text you were shown",
                derived=True,
            ),
            col("locale", "Språket du leste vilkårene på", "The language you read the terms in"),
            col(
                "channel",
                "Kanal (app, web: nett, member_service: medlemsservice)",
                "Channel (app, web, member_service)",
            ),
            col("app_version", "Appversjon", "App version"),
            col("occurred_at", "Tidspunkt", "When"),
        ),
    ),
    Store(
        name="member_preferences",
        kind="sql",
        member_key="member_id",
        category="preferences",
        purpose={
            "nb": "Tilpasse innhold og varsler i appen etter dine valg og interesser (frivillig).",
            "en": "Tailor content and notifications in the app to your choices and interests (voluntary).",
        },
        legal_basis="GDPR Art. 6(1)(a) consent for personalisation; Art. 6(1)(b) for notification settings",
        retention={
            "nb": "Til du sletter dem, eller medlemskapet opphører.",
            "en": "Until you delete them, or membership ends.",
        },
        retention_days=None,
        readers=("functions",),
        provided_by_member=True,
        erase="delete",
        title={"nb": "Preferanser og interesser", "en": "Preferences and interests"},
        order_by=("updated_at",),
        export_columns=(
            col("language", "Språk i appen", "Language in the app"),
            col(
                "notification_categories",
                "Varsler du vil ha (kategorier)",
                "Notifications you want (categories)",
            ),
            col("notification_channels", "Kanaler for varsler", "Channels for notifications"),
            col("interests", "Interesser", "Interests"),
            col("updated_at", "Sist endret", "Last changed"),
        ),
    ),
    Store(
        name="newsletter_sync",
        kind="sql",
        member_key="member_id",
        category="consent",
        purpose={
            "nb": "Vise om nyhetsbrevsystemet har mottatt ditt siste valg om nyhetsbrev.",
            "en": "Show whether the newsletter system has received your latest newsletter choice.",
        },
        legal_basis="GDPR Art. 6(1)(a) (the newsletter consent it carries out)",
        retention={
            "nb": "Så lenge du er medlem; slettes når medlemskapet opphører.",
            "en": "While you are a member; deleted when membership ends.",
        },
        retention_days=None,
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
        title={
            "nb": "Nyhetsbrev: status hos nyhetsbrevsystemet",
            "en": "Newsletter: status at the newsletter system",
        },
        order_by=("requested_at",),
        export_columns=(
            col("subscribed", "Påmeldt nyhetsbrevet", "Subscribed to the newsletter"),
            col("terms_version", "Versjon av vilkårene", "Version of the terms"),
            col("requested_at", "Sendt til nyhetsbrevsystemet", "Sent to the newsletter system"),
            col(
                "confirmed_at",
                "Bekreftet av nyhetsbrevsystemet",
                "Confirmed by the newsletter system",
            ),
        ),
    ),
    Store(
        name="idempotency_keys",
        kind="sql",
        member_key="owner",
        references=(
            ref(
                "body",
                "text",
                "id",
                "delete",
                "Svaret en ansatt fikk på en forespørsel om et medlem (for eksempel en melding "
                "adressert til deg), tatt vare på i 24 timer så et nytt forsøk får det samme.",
                "The answer a staff member got to a request about a member (for example a "
                "message addressed to you), kept 24 hours so a retry gets the same.",
                match="body LIKE '%%\"' || {key} || '\"%%'",
            ),
        ),
        key_where="position(':' in owner) = 0",  # staff, jobs, nobody: "kind:subject"
        category="technical",
        purpose={
            "nb": "Sørge for at en forespørsel som sendes på nytt, ikke utføres to ganger.",
            "en": "Make sure a request that is sent again is not carried out twice.",
        },
        legal_basis="GDPR Art. 6(1)(b) (delivering the service correctly)",
        retention={"nb": "24 timer.", "en": "24 hours."},
        retention_days=1,
        retention_field="created_at",
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
        title={"nb": "Vern mot dobbel innsending", "en": "Protection against double submission"},
        order_by=("created_at", "key"),
        export_columns=(
            col(
                "key",
                "Engangsnøkkelen appen sendte med forespørselen",
                "The one-time key the app sent with the request",
            ),
            col("status", "Statuskoden på svaret", "The answer's status code"),
            col(
                "body",
                "Svaret du fikk, tatt vare på så et nytt forsøk får det samme",
                "The answer you got, kept so a retry gets the same",
            ),
            col("created_at", "Tidspunkt", "When"),
        ),
    ),
    Store(
        name="outbox",
        kind="sql",
        member_key="member_id",
        erase_with="lederappen.core.outbox:forget_members",
        references=(
            ref(
                "payload",
                "json",
                "id",
                "scrub",
                "Meldingen selv: en gruppe mottakere av en melding til mange (member_ids), "
                "stedet i medlemslisten der neste steg begynner (cursor), eller hvem et "
                "nyhetsbrevvalg gjelder (member_id).",
                "The message itself: a batch of recipients of a message to many (member_ids), "
                "where in the member list the next step starts (cursor), or whom a newsletter "
                "choice is about (member_id).",
                match="(member_id IS DISTINCT FROM {key} AND (payload->'member_ids' @> "
                "jsonb_build_array({key}) OR payload->>'cursor' = {key} "
                "OR payload->>'member_id' = {key}))",
                keys="jsonb_array_elements_text(CASE WHEN jsonb_typeof(payload->'member_ids') "
                "= 'array' THEN payload->'member_ids' ELSE '[]'::jsonb END)",
                title={
                    "nb": "Utgående meldinger som nevner deg sammen med andre",
                    "en": "Outgoing messages that name you among others",
                },
                order_by=("id",),
                export_columns=(
                    col(
                        "topic",
                        "Hvor meldingen skal (message-delivery: levering av en "
                        "melding til en gruppe, message-fanout: neste steg av en utsending)",
                        "Where the message goes (message-delivery: delivering a message to a "
                        "batch, message-fanout: the next step of a sending)",
                    ),
                    col(
                        "message_id",
                        "Meldingens nummer",
                        "The message's id",
                        sql="payload->>'message_id'",
                    ),
                    col("created_at", "Opprettet", "Created"),
                    col("not_before", "Sendes tidligst", "Not sent before"),
                    col("published_at", "Sendt", "Sent"),
                ),
                note={
                    "nb": "Resten av meldingen vises ikke: den nevner også andre medlemmer.",
                    "en": "The rest of the message is not shown: it names other members too.",
                },
            ),
        ),
        category="technical",
        purpose={
            "nb": "Levere meldinger om dine endringer (for eksempel nyhetsbrevvalg) til andre systemer.",
            "en": "Deliver messages about your changes (for example newsletter choices) to other systems.",
        },
        legal_basis="GDPR Art. 6(1)(a)/(b) (the choice it carries out)",
        retention={"nb": "7 dager etter levering.", "en": "7 days after delivery."},
        retention_days=7,
        retention_field="published_at",
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
        title={
            "nb": "Utgående meldinger til andre systemer",
            "en": "Outgoing messages to other systems",
        },
        order_by=("id",),
        export_columns=(
            col("topic", "Hvor meldingen skal (emne)", "Where the message goes (topic)"),
            col("payload", "Meldingens innhold", "The message's content"),
            col("created_at", "Opprettet", "Created"),
            col("not_before", "Sendes tidligst", "Not sent before"),
            col("published_at", "Sendt", "Sent"),
        ),
    ),
    # member_ids is an array (the keys in a payload's member_id / member_ids fields): erasure
    # deletes the rows WHERE %s = ANY(member_ids).
    Store(
        name="dead_letters",
        kind="sql",
        member_key="member_ids",
        references=(
            ref(
                "payload",
                "bytes",
                "id",
                "with_row",
                "Meldingen som ikke kunne behandles, slik den kom; medlemsnumrene i den står i "
                "member_ids, som raden finnes og slettes etter.",
                "The message that could not be processed, as it came; the member numbers in "
                "it are in member_ids, by which the row is found and erased.",
            ),
            ref(
                "attributes",
                "json",
                "id",
                "with_row",
                "Meldingens egenskaper fra Pub/Sub (aldri et medlemsnummer: meldingene bærer "
                "bare tekniske egenskaper).",
                "The message's Pub/Sub attributes (never a member number: messages carry only "
                "technical attributes).",
            ),
        ),
        category="technical",
        purpose={
            "nb": "Finne og rette feil: en melding mellom systemene som ikke kunne behandles "
            "(for eksempel et nyhetsbrevvalg), tas vare på så driften kan se hvorfor og "
            "sende den på nytt. Driften ser aldri hvem meldingen gjelder.",
            "en": "Find and fix faults: a message between systems that could not be processed "
            "(for example a newsletter choice) is kept so operations can see why and "
            "send it again. Operations never see whom the message is about.",
        },
        legal_basis="GDPR Art. 6(1)(b) and (f) (delivering what the member asked for, and "
        "keeping the service working)",
        retention={"nb": "30 dager.", "en": "30 days."},
        retention_days=30,
        retention_field="received_at",
        readers=("functions", "operations"),
        provided_by_member=False,
        erase="delete",
        title={
            "nb": "Meldinger som ikke kunne behandles",
            "en": "Messages that could not be processed",
        },
        order_by=("id",),
        export_columns=(
            col("source_function", "Funksjonen som ga opp", "The function that gave up"),
            col("topic", "Emnet meldingen hører til", "The topic the message belongs to"),
            col("reason", "Årsak (kode)", "Reason (code)"),
            col("received_at", "Mottatt", "Received"),
            col("replayed_at", "Sist sendt på nytt", "Last sent again"),
            col("replay_count", "Antall ganger sendt på nytt", "Times sent again"),
            col("discarded_at", "Forkastet", "Discarded"),
        ),
        note={
            "nb": "Selve meldingen vises ikke: en melding til mange kan også nevne andre "
            "medlemmer. Skriv til personvernombudet for innholdet som gjelder deg.",
            "en": "The message itself is not shown: a message to many may name other members "
            "too. Write to the data protection officer for the part about you.",
        },
    ),
    Store(
        name="devices",
        kind="sql",
        member_key="member_id",
        category="device",
        purpose={
            "nb": "Sende varsler til appen på enhetene dine: varseltoken (FCM), plattform, "
            "appversjon og språk per installasjon. Installasjons-ID-en lagres aldri, bare "
            "en nøkkelbasert hash av den (den krypterte ID-en i personvernerklæringen).",
            "en": "Send notifications to the app on your devices: notification token (FCM), "
            "platform, app version and language per installation. The installation ID is "
            "never stored, only a keyed hash of it (the encrypted ID in the privacy policy).",
        },
        legal_basis="GDPR Art. 6(1)(b) (delivering the notifications and messages of the app "
        "the member uses); marketing notifications also need consent, Art. 6(1)(a)",
        retention={
            "nb": "Til du logger ut på enheten, eller 270 dager etter at appen sist meldte seg "
            "på den (da har FCM uansett gitt opp tokenet); slettes med en gang FCM melder "
            "tokenet ugyldig.",
            "en": "Until you log out on the device, or 270 days after the app last checked in on "
            "it (by then FCM has given up the token anyway); deleted at once when FCM "
            "reports the token invalid.",
        },
        retention_days=270,
        retention_field="last_seen_at",
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
        title={"nb": "Enhetene dine for varsler", "en": "Your devices for notifications"},
        order_by=("last_seen_at", "id"),
        export_columns=(
            col(
                "id",
                "Enhetens ID (nøkkelbasert hash av appens installasjons-ID)",
                "The device's id (a keyed hash of the app's installation id)",
            ),
            col("platform", "Plattform", "Platform"),
            col("app_version", "Appversjon", "App version"),
            col("locale", "Språk for varsler", "Language of notifications"),
            col("created_at", "Registrert", "Registered"),
            col("last_seen_at", "Sist sett", "Last seen"),
        ),
        note={
            "nb": "Varseltokenet (FCM) vises ikke: det er en adresse til telefonen din, og "
            "backenden gir det aldri ut.",
            "en": "The notification token (FCM) is not shown: it is an address of your phone, "
            "and the backend never gives it out.",
        },
    ),
    Store(
        name="inbox_items",
        kind="firestore",
        member_key="member_id",
        category="messages",
        purpose={
            "nb": "Vise deg meldingene Lederne har sendt deg i appens innboks, og om du har "
            "lest dem.",
            "en": "Show you the messages Lederne has sent you in the app's inbox, and whether "
            "you have read them.",
        },
        legal_basis="GDPR Art. 6(1)(b) (the member's messages in the app); marketing messages "
        "only with consent, Art. 6(1)(a)",
        retention={
            "nb": "Ett år etter at meldingen ble sendt, eller til du sletter den: et helt "
            "medlemsår (kurs, lønnsundersøkelse, nyheter) kan leses igjen, eldre meldinger "
            "er utdatert.",
            "en": "One year after the message was sent, or until you delete it: a whole "
            "membership year (courses, salary survey, news) can be read again, older "
            "messages are out of date.",
        },
        retention_days=365,
        retention_field="created_at",
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
        title={"nb": "Innboksen din", "en": "Your inbox"},
        export="documents",
        order_by=("created_at",),
        export_columns=(
            col("id", "Meldingens ID i innboksen", "The item's id in the inbox"),
            col("message_id", "Meldingens nummer", "The message's id"),
            col("category", "Kategori", "Category"),
            col("title", "Tittel (bokmål og engelsk)", "Title (Norwegian and English)"),
            col("body", "Tekst (bokmål og engelsk)", "Text (Norwegian and English)"),
            col("deep_link", "Lenke i appen", "Link in the app"),
            col(
                "sensitive",
                "Sensitiv: varselet viste ikke innholdet",
                "Sensitive: the notification did not show the content",
            ),
            col("created_at", "Mottatt", "Received"),
            col("read_at", "Lest", "Read"),
            col("expires_at", "Slettes", "Deleted on"),
        ),
    ),
    Store(
        name="messages",
        kind="sql",
        member_key="member_id",
        category="messages",
        purpose={
            "nb": "Sende meldinger til medlemmer. En direktemelding til deg (for eksempel at en "
            "mentor har takket ja) husker hvem den gikk til; meldinger til mange gjør ikke det.",
            "en": "Send messages to members. A direct message to you (for example that a mentor "
            "accepted) records whom it went to; messages to many do not.",
        },
        legal_basis="GDPR Art. 6(1)(b) (the member's messages in the app)",
        retention={
            "nb": "Ett år etter sending, som innboksen.",
            "en": "One year after sending, like the inbox.",
        },
        retention_days=365,
        retention_field="send_at",
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
        title={"nb": "Direktemeldinger til deg", "en": "Direct messages to you"},
        order_by=("created_at", "id"),
        export_columns=(
            col("id", "Meldingens nummer", "The message's id"),
            col("category", "Kategori", "Category"),
            col("title_nb", "Tittel (bokmål)", "Title (Norwegian)"),
            col("title_en", "Tittel (engelsk)", "Title (English)"),
            col("body_nb", "Tekst (bokmål)", "Text (Norwegian)"),
            col("body_en", "Tekst (engelsk)", "Text (English)"),
            col("deep_link", "Lenke i appen", "Link in the app"),
            col(
                "sensitive",
                "Sensitiv: varselet viser ikke innholdet",
                "Sensitive: the notification does not show the content",
            ),
            col(
                "origin",
                "Fra (editor: en redaktør, system: appen selv)",
                "From (editor, or system: the app itself)",
            ),
            col(
                "concerns",
                "Gjelder (privacy_request: henvendelsen din, membership: "
                "medlemskapet ditt, terms: endrede vilkår): du får den også mens behandlingen "
                "er begrenset",
                "Concerns (privacy_request: your request, membership: your "
                "membership, terms: changed terms): you get it even while processing is "
                "restricted",
            ),
            col("status", "Status", "Status"),
            col("send_at", "Sendes", "Sent at"),
            col("created_at", "Opprettet", "Created"),
        ),
    ),
    Store(
        name="message_recipients",
        kind="sql",
        member_key="member_id",
        category="messages",
        purpose={
            "nb": "Sørge for at en melding når deg én gang, ikke to, og telle for redaktørene "
            "hvor mange den nådde (bare tall, aldri hvem). En melding til mange (alle "
            "medlemmer, et fylke, en interesse) lagres én gang og vises i innboksen din "
            "herfra, med om du har lest eller slettet den.",
            "en": "Make sure a message reaches you once, not twice, and count for the editors "
            "how many it reached (numbers only, never who). A message to many (every member, "
            "a county, an interest) is stored once and shown in your inbox from here, with "
            "whether you have read or deleted it.",
        },
        legal_basis="GDPR Art. 6(1)(b) (delivering the member's messages correctly; the "
        "member's messages in the app)",
        retention={
            "nb": "Ett år etter sending, som innboksen.",
            "en": "One year after sending, like the inbox.",
        },
        retention_days=365,
        retention_field="processed_at",
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
        title={"nb": "Meldinger som er sendt til deg", "en": "Messages sent to you"},
        order_by=("processed_at", "message_id"),
        export_columns=(
            col("message_id", "Meldingens nummer", "The message's id"),
            col(
                "outcome",
                "Utfall (delivered: levert, category_off: kategorien er slått av, "
                "no_consent: mangler samtykke, restricted: behandling begrenset, "
                "not_member: ikke medlem)",
                "Outcome (delivered, category_off, no_consent, restricted, not_member)",
            ),
            col("inbox", "Lagt i innboksen", "Put in the inbox"),
            col("processed_at", "Tidspunkt", "When"),
            col("read_at", "Lest i innboksen", "Read in the inbox"),
            col("hidden_at", "Slettet fra innboksen", "Deleted from the inbox"),
        ),
    ),
    Store(
        name="push_deliveries",
        kind="sql",
        member_key="member_id",
        category="messages",
        purpose={
            "nb": "Sørge for at et varsel sendes én gang til hver enhet, og telle sendte, "
            "feilede og fjernede varsler (bare tall, aldri hvem).",
            "en": "Make sure a push is sent once to each device, and count sent, failed and "
            "pruned pushes (numbers only, never who).",
        },
        legal_basis="GDPR Art. 6(1)(b) (delivering the member's messages correctly)",
        retention={"nb": "30 dager etter sending.", "en": "30 days after sending."},
        retention_days=30,
        retention_field="updated_at",
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
        title={
            "nb": "Varsler sendt til enhetene dine",
            "en": "Push notifications sent to your devices",
        },
        order_by=("updated_at", "message_id", "device_id"),
        export_columns=(
            col("message_id", "Meldingens nummer", "The message's id"),
            col("device_id", "Enhetens ID", "The device's id"),
            col(
                "state",
                "Status (pending: venter, sending: sendes, sent: sendt, "
                "pruned: enheten fjernet, failed: feilet)",
                "State (pending, sending, sent, pruned: device removed, failed)",
            ),
            col("attempts", "Antall forsøk", "Attempts"),
            col(
                "error_code",
                "Feilkode (fra FCM; WITHHELD: ikke sendt fordi du ikke lenger skulle ha varselet)",
                "Error code (from FCM; WITHHELD: not sent because you no longer wanted it)",
            ),
            col("updated_at", "Sist endret", "Last changed"),
        ),
    ),
    # member_ids is an array: the members of one delivery batch of a message to many.
    Store(
        name="message_batches",
        kind="sql",
        member_key="member_ids",
        erase_with="lederappen.notifications.store:scrub_batches",
        category="messages",
        purpose={
            "nb": "Dele en melding til mange inn i grupper på høyst 500 mottakere, og la "
            "utsendingen hente mottakerne fra databasen, ikke fra meldingen mellom "
            "systemene, så ingen kan få en melding som ikke var til dem.",
            "en": "Split a message to many into batches of at most 500 recipients, and let "
            "delivery take the recipients from the database, not from the message between "
            "systems, so nobody can be sent a message that was not for them.",
        },
        legal_basis="GDPR Art. 6(1)(b) (delivering the member's messages correctly)",
        retention={"nb": "30 dager.", "en": "30 days."},
        retention_days=30,
        retention_field="created_at",
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
        title={"nb": "Mottakergrupper for meldinger", "en": "Recipient batches of messages"},
        order_by=("created_at", "message_id", "batch"),
        note={
            "nb": "De andre medlemmene i gruppen vises ikke.",
            "en": "The other members of the batch are not shown.",
        },
        export_columns=(
            col("message_id", "Meldingens nummer", "The message's id"),
            col("batch", "Gruppens nummer", "The batch's number"),
            col("created_at", "Opprettet", "Created"),
        ),
    ),
    Store(
        name="privacy_requests",
        kind="sql",
        member_key="member_id",
        category="privacy_rights",
        purpose={
            "nb": "Behandle det du ber om etter personvernreglene (sletting, begrensning og "
            "oppheving av den), med status du kan følge, og bevise at en sletting ble "
            "utført.",
            "en": "Handle what you ask for under the data protection rules (erasure, "
            "restriction and lifting it), with a status you can follow, and prove that an "
            "erasure was carried out.",
        },
        legal_basis="GDPR Art. 6(1)(c), Art. 12, 17, 18 and 5(2) (handling and documenting "
        "the data subject's requests)",
        retention={
            "nb": "Henvendelser om begrensning: til medlemskapet opphører. Etter en sletting "
            "fjernes medlemsnummeret; kvitteringen (når, hvilke kategorier, hvor mange "
            "elementer) har ingen personopplysninger og beholdes i fem år.",
            "en": "Restriction requests: until membership ends. After an erasure the member "
            "number is removed; the receipt (when, which categories, how many items) "
            "holds no personal data and is kept for five years.",
        },
        retention_days=None,
        readers=("functions", "privacy_officer", "the member"),
        provided_by_member=False,
        erase="delete",
        erase_with="lederappen.privacy.requests:erase_members",
        title={"nb": "Dine henvendelser om personvern", "en": "Your privacy requests"},
        order_by=("received_at", "id"),
        export_columns=(
            col("id", "Referanse", "Reference"),
            col("kind", "Hva du ba om", "What you asked for"),
            col("status", "Status", "Status"),
            col("reason", "Begrunnelsen din", "Your reason"),
            col("rejection_reason", "Begrunnelse for avslag", "Reason for rejection"),
            col("received_at", "Mottatt", "Received"),
            col("decided_at", "Avgjort", "Decided"),
            col("finished_at", "Utført", "Carried out"),
        ),
    ),
    Store(
        name="membership_end_runs",
        kind="sql",
        member_key="cursor",
        category="privacy_rights",
        purpose={
            "nb": "Huske hvor langt den nattlige kontrollen av medlemskap har kommet (det siste "
            "medlemsnummeret som ble sjekket mot medlemsregisteret), så en avbrutt "
            "kjøring fortsetter der den slapp i stedet for å begynne på nytt.",
            "en": "Remember how far the nightly membership check has come (the last member "
            "number compared with the member register), so a run cut short resumes where "
            "it stopped instead of starting over.",
        },
        legal_basis="GDPR Art. 6(1)(c) and Art. 17 (erasure when membership ends)",
        retention={
            "nb": "Bare mens kjøringen pågår, vanligvis noen minutter; tømmes når den er ferdig.",
            "en": "Only while the run is in progress, usually a few minutes; cleared when it "
            "finishes.",
        },
        retention_days=None,
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
        erase_with="lederappen.privacy.membership_end:rewind_cursor",
        title={"nb": "Kontroll av medlemskap", "en": "Membership check"},
        order_by=("started_at", "id"),
        export_columns=(col("started_at", "Kjøringen startet", "The run started"),),
        note={
            "nb": "Står du her, var medlemsnummeret ditt det siste som ble sjekket i en "
            "kjøring som ikke er ferdig ennå.",
            "en": "If you are listed here, your member number was the last one checked by a "
            "run that has not finished yet.",
        },
    ),
    Store(
        name="erasure_tombstones",
        kind="sql",
        member_key="member_pseudonym",
        key_form="pseudonym",
        category="privacy_rights",
        purpose={
            "nb": "Etter en sletting: hindre at en melding som allerede var på vei, skriver "
            "deg inn igjen. Bare et pseudonym og tidspunktet for slettingen.",
            "en": "After an erasure: stop a message that was already on its way from writing "
            "you back. Only a pseudonym and the time of the erasure.",
        },
        legal_basis="GDPR Art. 17 and 5(2) (making the erasure effective)",
        retention={"nb": "30 dager etter slettingen.", "en": "30 days after the erasure."},
        retention_days=30,
        retention_field="erased_at",
        readers=("functions",),
        provided_by_member=False,
        erase="keep",
        title={"nb": "Slettemerke", "en": "Erasure marker"},
        order_by=("erased_at",),
        export_columns=(col("erased_at", "Slettet", "Erased"),),
    ),
    # Outside the databases: logs and backups hold member data for a while too. They cannot
    # be read or erased per member; they age out, and the proof of erasure says when.
    Store(
        name="cloud-logging",
        kind="logging",
        member_key="pseudonym in a log line",
        key_form="pseudonym",
        category="technical",
        purpose={
            "nb": "Drift og feilsøking: hver skyfunksjon skriver strukturerte logglinjer (hva "
            "som skjedde, tall, feilkoder). Et medlem står der bare som pseudonym, "
            "aldri med medlemsnummer, navn, kontaktopplysninger eller andre "
            "profilopplysninger, og aldri med det du har skrevet eller svart.",
            "en": "Operations and fault finding: every cloud function writes structured log "
            "lines (what happened, counts, error codes). A member appears there only as "
            "a pseudonym, never with member number, name, contact details or other "
            "profile data, and never with what you wrote or answered.",
        },
        legal_basis="GDPR Art. 6(1)(f) and Art. 32 (keeping the service secure and working)",
        retention={
            "nb": "30 dager (Cloud Loggings _Default-bøtte, satt i Terraform), så slettes "
            "linjene av Google.",
            "en": "30 days (Cloud Logging's _Default bucket, set in Terraform), then Google "
            "deletes the lines.",
        },
        retention_days=30,
        retention_set_by="log_retention_days",
        erased_after={
            "nb": "30 dager etter den siste logglinjen med pseudonymet ditt (senest 30 dager "
            "etter slettingen).",
            "en": "30 days after the last log line with your pseudonym (at the latest 30 days "
            "after the erasure).",
        },
        readers=("operations",),
        provided_by_member=False,
        erase="expire",
        title={"nb": "Driftslogger", "en": "Operational logs"},
        export="outside",
        export_columns=(
            col(
                "pseudonym",
                "Pseudonymet ditt (HMAC-SHA256, kan ikke regnes tilbake uten nøkkelen)",
                "Your pseudonym (HMAC-SHA256, cannot be reversed without the key)",
            ),
            col("message", "Hva som skjedde (en fast tekst)", "What happened (a fixed text)"),
            col(
                "counts",
                "Tall (for eksempel hvor mange som ble slettet)",
                "Counts (for example how many were erased)",
            ),
        ),
    ),
    Store(
        name="cloud-sql-backups",
        kind="backup",
        member_key="every member key in the database",
        category="technical",
        purpose={
            "nb": "Gjenopprette databasen etter en katastrofe: én automatisk sikkerhetskopi "
            "hver natt av hele databasen, kryptert, i EU. Den brukes aldri til noe annet "
            "og leses ikke av noen så lenge den ikke trengs.",
            "en": "Restore the database after a disaster: one automated backup of the whole "
            "database every night, encrypted, in the EU. It is never used for anything "
            "else and read by nobody unless it is needed.",
        },
        legal_basis="GDPR Art. 32(1)(c) (the ability to restore availability and access)",
        retention={
            "nb": "De 30 siste nattlige kopiene (satt i Terraform); den eldste slettes når en "
            "ny tas.",
            "en": "The last 30 nightly backups (set in Terraform); the oldest is deleted when a "
            "new one is taken.",
        },
        retention_days=30,
        retention_set_by="sql_backup_retained_count",
        erased_after={
            "nb": "Når den siste kopien tatt før slettingen er slettet: senest 31 dager etter "
            "slettingen. Blir databasen gjenopprettet fra en kopi, kjøres kontrollen av "
            "medlemskap straks, og personvernombudet gjentar slettinger fra kvitteringene "
            "etter kopiens tidspunkt.",
            "en": "Once the last backup taken before the erasure is deleted: at the latest 31 "
            "days after the erasure. If the database is ever restored from a backup, the "
            "membership check runs at once, and the privacy officer repeats erasures "
            "whose receipts are newer than the backup.",
        },
        readers=("operations",),
        provided_by_member=False,
        erase="expire",
        title={"nb": "Sikkerhetskopier av databasen", "en": "Database backups"},
        export="outside",
        export_columns=(
            col(
                "tables",
                "Alle tabellene over, slik de var den natten",
                "Every table above, as it was that night",
            ),
        ),
    ),
    Store(
        name="cloud-sql-point-in-time-recovery",
        kind="backup",
        member_key="every member key in the database",
        category="technical",
        purpose={
            "nb": "Gjenopprette databasen til et bestemt tidspunkt etter en feil: loggen over "
            "alle endringer i databasen (write-ahead log).",
            "en": "Restore the database to a given moment after a fault: the log of every "
            "change to the database (write-ahead log).",
        },
        legal_basis="GDPR Art. 32(1)(c) (the ability to restore availability and access)",
        retention={"nb": "7 dager (satt i Terraform).", "en": "7 days (set in Terraform)."},
        retention_days=7,
        retention_set_by="sql_pitr_log_retention_days",
        erased_after={"nb": "7 dager etter slettingen.", "en": "7 days after the erasure."},
        readers=("operations",),
        provided_by_member=False,
        erase="expire",
        title={"nb": "Endringslogg for gjenoppretting", "en": "Change log for recovery"},
        export="outside",
        export_columns=(
            col(
                "changes",
                "Endringene i tabellene over de siste dagene",
                "The changes to the tables above in the last days",
            ),
        ),
    ),
    # Messages in transit (Pub/Sub). Held only until the subscriber acknowledges them (at most
    # the subscription's retention, 7 days); one that keeps failing moves to the dead-letter
    # topic and then into dead_letters. Pub/Sub cannot look messages up by content, so access
    # describes them and erasure relies on the handlers: each re-reads the stored state and
    # drops a message about a member who has been erased or is no longer eligible.
    Store(
        name="newsletter-sync",
        kind="pubsub",
        member_key="member_id",
        category="consent",
        purpose={
            "nb": "Bringe ditt valg om nyhetsbrev (på eller av) til nyhetsbrevsystemet.",
            "en": "Carry your newsletter choice (on or off) to the newsletter system.",
        },
        legal_basis="GDPR Art. 6(1)(a) (the newsletter consent it carries out)",
        retention={
            "nb": "Til meldingen er levert, høyst 7 dager.",
            "en": "Until the message is delivered, at most 7 days.",
        },
        retention_days=7,
        readers=("functions",),
        provided_by_member=False,
        erase="expire",
        title={
            "nb": "Nyhetsbrevvalg på vei til nyhetsbrevsystemet",
            "en": "Newsletter choices on their way to the newsletter system",
        },
        export="in_transit",
        export_columns=(
            col("event_id", "Hendelsens ID", "The event's id"),
            col("subscribed", "Påmeldt nyhetsbrevet", "Subscribed to the newsletter"),
            col("terms_version", "Versjon av vilkårene", "Version of the terms"),
            col("occurred_at", "Tidspunkt for valget", "When you chose"),
        ),
    ),
    Store(
        name="message-fanout",
        kind="pubsub",
        member_key="cursor",
        category="messages",
        purpose={
            "nb": "Dele en melding til mange opp i steg med mottakere. Steget sier hvor i "
            "medlemslisten neste steg begynner, og det kan være ved ditt medlemsnummer.",
            "en": "Split a message to many into steps of recipients. A step says where in the "
            "member list the next step starts, which can be at your member number.",
        },
        legal_basis="GDPR Art. 6(1)(b) (the member's messages in the app); marketing messages "
        "only with consent, Art. 6(1)(a)",
        retention={
            "nb": "Til meldingen er levert, høyst 7 dager.",
            "en": "Until the message is delivered, at most 7 days.",
        },
        retention_days=7,
        readers=("functions",),
        provided_by_member=False,
        erase="expire",
        title={"nb": "Utsending til mange: steg", "en": "Sending to many: steps"},
        export="in_transit",
        export_columns=(
            col("message_id", "Meldingens nummer", "The message's id"),
            col("step", "Stegets nummer", "The step's number"),
        ),
    ),
    Store(
        name="message-delivery",
        kind="pubsub",
        # Messages queued before batches were stored carried the keys in member_ids.
        member_key="member_ids",
        category="messages",
        purpose={
            "nb": "Levere en melding til en gruppe på høyst 500 mottakere, deg blant dem: "
            "innboks og varsel, etter at det er sjekket at du fortsatt skal ha den. "
            "Meldingen sier bare hvilken gruppe; hvem som er i den, står i databasen.",
            "en": "Deliver a message to a batch of at most 500 recipients, you among them: "
            "inbox and push, after checking that you should still get it. The message "
            "names only the batch; who is in it is kept in the database.",
        },
        legal_basis="GDPR Art. 6(1)(b) (the member's messages in the app); marketing messages "
        "only with consent, Art. 6(1)(a)",
        retention={
            "nb": "Til meldingen er levert, høyst 7 dager.",
            "en": "Until the message is delivered, at most 7 days.",
        },
        retention_days=7,
        readers=("functions",),
        provided_by_member=False,
        erase="expire",
        title={"nb": "Utsending: grupper av mottakere", "en": "Sending: batches of recipients"},
        export="in_transit",
        export_columns=(
            col("message_id", "Meldingens nummer", "The message's id"),
            col("batch", "Gruppens nummer", "The batch's number"),
        ),
    ),
    Store(
        name="privacy-jobs",
        kind="pubsub",
        member_key="request_ids",
        category="privacy_rights",
        purpose={
            "nb": "Utføre det du har bedt om (sletting, begrensning eller oppheving av den), "
            "eller slette deg når medlemskapet har opphørt.",
            "en": "Carry out what you asked for (erasure, restriction or lifting it), or erase "
            "you when your membership has ended.",
        },
        legal_basis="GDPR Art. 6(1)(c), Art. 17 and 18",
        retention={
            "nb": "Til jobben er utført, høyst 7 dager.",
            "en": "Until the job is done, at most 7 days.",
        },
        retention_days=7,
        readers=("functions",),
        provided_by_member=False,
        erase="expire",
        title={"nb": "Personvernjobber", "en": "Privacy jobs"},
        export="in_transit",
        export_columns=(
            col(
                "request",
                "Referansen til henvendelsen din (aldri medlemsnummeret: jobben "
                "leser hvem og hva fra henvendelsen)",
                "The reference of your request (never the member number: the job reads whom "
                "and what from the request)",
            ),
        ),
    ),
)


@dataclass(frozen=True)
class PassThrough:
    """Data the backend reads live and shows but never stores (the member register)."""

    name: str
    title: dict[str, str]
    source: dict[str, str]
    category: str
    purpose: dict[str, str]
    legal_basis: str
    retention: dict[str, str]
    readers: tuple[str, ...]
    fields: tuple[Column, ...]


#: The profile (F1): read from the member register on every request, passed through, never
#: stored or logged. Its fields are the profile view's (`lederappen.profile.service.view`);
#: tests/unit/test_privacy_record.py fails when the two differ.
REGISTER = PassThrough(
    name="member_register",
    title={"nb": "Profil (fra medlemsregisteret)", "en": "Profile (from the member register)"},
    source={
        "nb": "Ledernes medlemsregister og MinSide på lederne.no (hentes ved hver visning, "
        "lagres ikke i appen)",
        "en": "Lederne's member register and MinSide at lederne.no (read each time it is "
        "shown, not stored by the app)",
    },
    category="profile",
    purpose={
        "nb": "Administrere medlemsforholdet ditt og vise deg profilen din. Navn, adresse, "
        "telefon, e-post, arbeidsgiver og stilling hentes fra medlemsregisteret når du "
        "ser dem, og lagres ikke av appen. Fødselsnummeret hentes aldri inn i appen.",
        "en": "Administer your membership and show you your profile. Name, address, phone, "
        "e-mail, employer and position are read from the member register when you see "
        "them, and are not stored by the app. The national identity number never "
        "enters the app.",
    },
    legal_basis="GDPR Art. 6(1)(b) (the membership agreement) and Art. 9(2)(d) (a trade "
    "union's processing about its own members)",
    retention={
        "nb": "Lagres ikke i appen. Medlemsregisteret sletter når medlemskapet opphører.",
        "en": "Not stored by the app. The member register deletes when membership ends.",
    },
    readers=("functions", "the member"),
    fields=(
        col("member_id", "Medlemsnummer", "Member number"),
        col("given_name", "Fornavn", "Given name"),
        col("family_name", "Etternavn", "Family name"),
        col("email", "E-post", "E-mail"),
        col("phone", "Telefon", "Phone"),
        col("address", "Postadresse", "Postal address"),
        col("employer", "Arbeidsgiver", "Employer"),
        col("position", "Stilling", "Position"),
        col(
            "membership",
            "Medlemskap (status, medlem siden, avsluttet, kategori)",
            "Membership (status, member since, ended, category)",
        ),
        col(
            "processing_restricted",
            "Om behandlingen av opplysningene dine er begrenset",
            "Whether processing of your data is restricted",
            derived=True,
        ),
        col(
            "source",
            "Hvor opplysningene ble hentet fra",
            "Where the data was read from",
            derived=True,
        ),
        col("retrieved_at", "Når de ble hentet", "When it was read", derived=True),
    ),
)


#: Columns that can look like they name a member (JSON, arrays, bytes, a name like *_by or
#: *owner*) but do not, each with the reason. `accounted_columns` and the schema test read it.
NO_MEMBER_COLUMNS: dict[tuple[str, str], str] = {
    ("audit_events", "actor_kind"): "a constant: member, staff or job",
    ("member_preferences", "interests"): "codes from a fixed vocabulary",
    ("member_preferences", "notification_categories"): "codes from a fixed vocabulary",
    ("member_preferences", "notification_channels"): "codes from a fixed vocabulary",
    ("mentor_engagements", "formats"): "codes from a fixed vocabulary",
    ("mentor_engagements", "languages"): "language codes",
    ("mentor_engagements", "topics"): "codes from a fixed vocabulary",
    ("mentor_proposals", "parts"): "a score per criterion (numbers by criterion code)",
    ("mentor_proposals", "reasons"): "reason codes",
    ("mentor_proposals", "shared_topics"): "codes from a fixed vocabulary",
    ("mentorships", "ended_by"): "a role or cause (mentee, mentor, withdrawal, membership)",
    ("membership_end_runs", "started_by"): "the job's name or a staff subject",
    ("mentor_rounds", "started_by"): "the job's name or a staff subject",
    ("messages", "created_by"): "a staff subject or a feature's name",
    ("privacy_requests", "decided_by"): "a staff subject or the job's name",
    ("privacy_requests", "categories"): "data map category codes (the erasure receipt)",
    ("privacy_requests", "counts"): "items removed per store name (the erasure receipt)",
    ("salary_rounds", "questions"): "question codes",
    ("salary_release_tables", "cells"): "published aggregates over groups of at least the "
    "minimum size, never one answer",
    ("salary_releases", "cell_counts"): "persons per published cell of five or more, never who",
}


def accounted_columns() -> dict[tuple[str, str], str]:
    """Every SQL column the data map accounts for as able to name a member, or not: each
    store's member keys and references, and `NO_MEMBER_COLUMNS`."""
    out = dict(NO_MEMBER_COLUMNS)
    for store in STORES:
        if store.kind != "sql":
            continue
        for key in store.member_keys:
            out[(store.name, key)] = "member key"
        for r in store.references:
            out[(store.name, r.column)] = f"reference ({r.erase})"
    return out


def view(store: Store, r: Reference) -> Store:
    """A reference shown in access (R1) as a store of its own: the rows of `store` that name
    the member in `r.column`, with the reference's columns. Named ``<table>_<column>``."""
    from dataclasses import replace

    return replace(
        store,
        name=f"{store.name}_{r.column}",
        table_name=store.name,
        member_key=r.column,
        other_keys=(),
        key_form=r.key_form,
        key_match=r.match,
        purpose=r.purpose or store.purpose,
        title=r.title,
        export_columns=r.export_columns,
        order_by=r.order_by,
        note=r.note,
        provided_by_member=False,
        references=(),
        erase="delete",
        erase_with=None,
        key_where=None,
    )


def views() -> tuple[Store, ...]:
    """Every reference that access shows (one with `export_columns`), as a store."""
    return tuple(
        view(s, r) for s in STORES if s.kind == "sql" for r in s.references if r.export_columns
    )


def sql_tables() -> dict[str, Store]:
    return {s.name: s for s in STORES if s.kind == "sql"}


def firestore_collections() -> dict[str, Store]:
    return {s.name: s for s in STORES if s.kind == "firestore"}


def outside() -> dict[str, Store]:
    """Logs and backups: stores outside the databases that age out (`retention_set_by`)."""
    return {s.name: s for s in STORES if s.export == "outside"}


def pubsub_topics() -> dict[str, Store]:
    """Topics whose messages carry a member key (data in transit)."""
    return {s.name: s for s in STORES if s.kind == "pubsub"}


def by_name(name: str) -> Store:
    for store in (*STORES, *views()):
        if store.name == name:
            return store
    raise KeyError(name)
