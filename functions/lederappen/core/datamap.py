"""The data map: every place the backend keeps anything about a member, and why.

The policy promises that the app stores only salary data, preferences and mentor engagement,
and that everything else it keeps is there for a stated purpose, on a legal basis, for a
limited time. Each table, Firestore collection and message type that can hold a member key
is declared here once. Access export (R1, R6), erasure (R3, R5), retention (R7) and the
processing record are driven from this list, and `tests/integration/test_datamap.py` fails
when the database holds a table with a member key column that is not declared, so a new
feature cannot store member data that escapes export and erasure.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Column / field names that hold a member key. A table with one of them must be declared.
#: ``member_ids`` is an array column (dead_letters): erasure matches ``%s = ANY(member_ids)``.
MEMBER_KEY_COLUMNS = ("member_id", "owner", "member_ids", "mentee_id", "mentor_id",
                      "member_pseudonym")

#: Tables that hold no member data (checked by the same test, so they are listed on purpose).
NOT_MEMBER_DATA = frozenset({"schema_migrations"})
#: Tables without a member key, listed so reviewers see they were considered.
NO_MEMBER_KEY = frozenset({"consent_terms", "processed_events", "salary_rounds", "mentor_rounds",
                           "salary_statistic_runs", "salary_statistic_tables",
                           "salary_answer_counts"})


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
    erase: str  # how erasure removes it: "delete" (rows/documents by member key)
    #: "module:function(cur, member_id)" that erases instead of a plain delete, when erasing
    #: must also throw away something derived (for example published salary figures).
    erase_with: str | None = None
    #: Further columns holding a member key (a row about two members: a mentoring pair).
    #: Erasing either member removes the row.
    other_keys: tuple[str, ...] = ()

    @property
    def member_keys(self) -> tuple[str, ...]:
        return (self.member_key, *self.other_keys)


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
        readers=("functions",),
        provided_by_member=True,
        erase="delete",
        erase_with="lederappen.salary.service:erase_member",
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
    ),
    Store(
        name="mentor_proposals",
        kind="sql",
        member_key="mentee_id",
        other_keys=("mentor_id",),
        category="mentoring",
        purpose={
            "nb": 'Mentorforslag: hvem du er foreslått sammen med, hvorfor (poeng og grunner) og hva dere har svart, så et par bare foreslås én gang.',
            "en": 'Mentor proposals: whom you were proposed with, why (score and reasons) and what you both answered, so a pair is proposed only once.',
        },
        legal_basis='GDPR Art. 6(1)(a) (the voluntary mentor engagement) and Art. 9(2)(d)',
        retention={"nb": 'Ett år etter at forslaget ble avsluttet, til du trekker deg, eller medlemskapet opphører.', "en": 'One year after the proposal closed, until you withdraw, or membership ends.'},
        retention_days=365,
        readers=('functions', 'the other member of the pair (without contact details)'),
        provided_by_member=False,
        erase="delete",
    ),
    Store(
        name="mentorships",
        kind="sql",
        member_key="mentee_id",
        other_keys=("mentor_id",),
        category="mentoring",
        purpose={
            "nb": 'Mentorskap: at du og en annen har sagt ja til hverandre, og når det startet og sluttet. Brukes til kapasitet og til å vise dere kontaktopplysningene.',
            "en": "Mentorships: that you and another member said yes to each other, and when it started and ended. Used for capacity and to show you each other's contact details.",
        },
        legal_basis='GDPR Art. 6(1)(a) (the voluntary mentor engagement) and Art. 9(2)(d)',
        retention={"nb": 'Ett år etter at mentorskapet sluttet, eller medlemskapet opphører.', "en": 'One year after the mentorship ended, or membership ends.'},
        retention_days=365,
        readers=('functions', 'the other member of the pair'),
        provided_by_member=False,
        erase="delete",
    ),
    Store(
        name="mentorship_feedback",
        kind="sql",
        member_key="member_id",
        category="mentoring",
        purpose={
            "nb": 'Din private tilbakemelding på et mentorskap (karakter og kommentar). Ingen andre ser den; Lederne ser bare gjennomsnitt for å forbedre programmet.',
            "en": 'Your private feedback on a mentorship (rating and comment). Nobody else sees it; Lederne sees only averages, to improve the programme.',
        },
        legal_basis='GDPR Art. 6(1)(a) (voluntary)',
        retention={"nb": 'Ett år etter at mentorskapet sluttet, eller medlemskapet opphører.', "en": 'One year after the mentorship ended, or membership ends.'},
        retention_days=365,
        readers=('functions',),
        provided_by_member=True,
        erase="delete",
    ),
    Store(
        name="audit_events",
        kind="sql",
        member_key="member_pseudonym",
        category="audit",
        purpose={
            "nb": 'Revisjonsspor: når ansatte, jobber eller andre medlemmer har fått se eller behandlet opplysninger om deg, hvilken kategori og hvorfor. Du er pseudonymisert; selve opplysningene lagres aldri her.',
            "en": 'Audit trail: when staff, jobs or other members saw or processed data about you, which category and why. You are pseudonymised; the data itself is never stored here.',
        },
        legal_basis='GDPR Art. 5(2) and Art. 32 (accountability and security of processing)',
        retention={"nb": 'To år.', "en": 'Two years.'},
        retention_days=2 * 366,
        readers=('privacy_officer', 'the member'),
        provided_by_member=False,
        erase="delete",
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
    ),
    Store(
        name="idempotency_keys",
        kind="sql",
        member_key="owner",
        category="technical",
        purpose={
            "nb": "Sørge for at en forespørsel som sendes på nytt, ikke utføres to ganger.",
            "en": "Make sure a request that is sent again is not carried out twice.",
        },
        legal_basis="GDPR Art. 6(1)(b) (delivering the service correctly)",
        retention={"nb": "24 timer.", "en": "24 hours."},
        retention_days=1,
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
    ),
    Store(
        name="outbox",
        kind="sql",
        member_key="member_id",
        category="technical",
        purpose={
            "nb": "Levere meldinger om dine endringer (for eksempel nyhetsbrevvalg) til andre systemer.",
            "en": "Deliver messages about your changes (for example newsletter choices) to other systems.",
        },
        legal_basis="GDPR Art. 6(1)(a)/(b) (the choice it carries out)",
        retention={"nb": "7 dager etter levering.", "en": "7 days after delivery."},
        retention_days=7,
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
    ),
    # member_ids is an array (the keys in a payload's member_id / member_ids fields): erasure
    # deletes the rows WHERE %s = ANY(member_ids).
    Store(
        name="dead_letters",
        kind="sql",
        member_key="member_ids",
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
        readers=("functions", "operations"),
        provided_by_member=False,
        erase="delete",
    ),
    Store(
        name="devices",
        kind="firestore",
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
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
    ),
    Store(
        name="device_index",
        kind="firestore",
        member_key="document id",
        category="device",
        purpose={
            "nb": "Finne enhetene dine raskt når en melding sendes: en kopi av varseltoken, "
                  "plattform og språk per enhet, oppdatert sammen med registreringen.",
            "en": "Find your devices quickly when a message is sent: a copy of the notification "
                  "token, platform and language per device, updated together with the "
                  "registration.",
        },
        legal_basis="GDPR Art. 6(1)(b) (delivering the notifications of the app the member uses)",
        retention={
            "nb": "Som registreringene: slettes når den siste enheten din fjernes.",
            "en": "As the registrations: deleted when your last device is removed.",
        },
        retention_days=270,
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
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
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
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
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
    ),
    Store(
        name="message_recipients",
        kind="sql",
        member_key="member_id",
        category="messages",
        purpose={
            "nb": "Sørge for at en melding når deg én gang, ikke to, og telle for redaktørene "
                  "hvor mange den nådde (bare tall, aldri hvem).",
            "en": "Make sure a message reaches you once, not twice, and count for the editors "
                  "how many it reached (numbers only, never who).",
        },
        legal_basis="GDPR Art. 6(1)(b) (delivering the member's messages correctly)",
        retention={"nb": "90 dager etter sending.", "en": "90 days after sending."},
        retention_days=90,
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
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
        readers=("functions",),
        provided_by_member=False,
        erase="delete",
    ),
)


def sql_tables() -> dict[str, Store]:
    return {s.name: s for s in STORES if s.kind == "sql"}


def firestore_collections() -> dict[str, Store]:
    return {s.name: s for s in STORES if s.kind == "firestore"}
