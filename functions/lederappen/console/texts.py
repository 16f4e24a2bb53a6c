"""Every word the console shows, in bokmål and English."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")

SIGNED_OUT = {
    "nb": "Du er ikke logget inn, eller økten er utløpt. Logg inn på nytt.",
    "en": "You are not signed in, or your session has expired. Please sign in again.",
}
NO_ACCESS = {
    "nb": "Innloggingen din gir ikke tilgang til denne siden.",
    "en": "Your sign-in does not give access to this page.",
}
BAD_CSRF = {
    "nb": "Skjemaet er utløpt eller kom ikke fra konsollen. Last siden på nytt og prøv igjen.",
    "en": "The form has expired or did not come from the console. Reload the page and try again.",
}

#: The header's links: (path, text key); each shows only to users whose roles open it.
NAV = (
    ("/staff/home", "nav.home"),
    ("/staff/privacy/requests", "nav.requests"),
    ("/staff/privacy/membership-end", "nav.membership_end"),
    ("/staff/privacy/record", "nav.record"),
    ("/staff/privacy/audit", "nav.audit"),
    ("/staff/messages", "nav.messages"),
    ("/staff/dead-letters", "nav.dead_letters"),
    ("/staff/mentoring", "nav.mentoring"),
    ("/staff/salary-rounds", "nav.salary_rounds"),
)

T: dict[str, dict[str, str]] = {
    "app.name": {"nb": "Lederappen – stabskonsoll", "en": "Lederappen – staff console"},
    "skip": {"nb": "Hopp til innholdet", "en": "Skip to content"},
    "lang.switch": {"nb": "English", "en": "Norsk (bokmål)"},
    "lang.label": {"nb": "Language: English", "en": "Språk: norsk"},
    "signed_in_as": {"nb": "Innlogget som {user}", "en": "Signed in as {user}"},
    "roles": {"nb": "Roller", "en": "Roles"},
    "sign_out": {"nb": "Logg ut", "en": "Sign out"},
    "sign_in": {"nb": "Logg inn", "en": "Sign in"},
    "signed_out.title": {"nb": "Du er logget ut", "en": "You have signed out"},
    "signing_in": {"nb": "Du er logget inn. Går videre …", "en": "You are signed in. Continuing …"},
    "continue": {"nb": "Fortsett", "en": "Continue"},
    "nav.label": {"nb": "Hovedmeny", "en": "Main menu"},
    "nav.home": {"nb": "Oversikt", "en": "Overview"},
    "nav.requests": {"nb": "Personvernhenvendelser", "en": "Privacy requests"},
    "nav.membership_end": {"nb": "Sletting ved utmelding", "en": "Erasure at membership end"},
    "nav.record": {"nb": "Behandlingsprotokoll", "en": "Processing record"},
    "nav.audit": {"nb": "Revisjonsspor", "en": "Audit trail"},
    "nav.messages": {"nb": "Meldinger", "en": "Messages"},
    "nav.dead_letters": {"nb": "Feilede meldinger", "en": "Dead letters"},
    "nav.mentoring": {"nb": "Mentorordning", "en": "Mentoring"},
    "nav.salary_rounds": {"nb": "Lønnsundersøkelser", "en": "Salary surveys"},
    "home.title": {"nb": "Oversikt", "en": "Overview"},
    "home.intro": {
        "nb": "Sidene du ser, følger rollene dine hos Lederne.",
        "en": "The pages you see follow your roles at Lederne.",
    },
    "home.none": {
        "nb": "Innloggingen din har ingen rolle som gir sider her.",
        "en": "Your sign-in has no role that opens pages here.",
    },
    "role.privacy_officer": {"nb": "Personvernombud", "en": "Privacy officer"},
    "role.editor": {"nb": "Redaktør", "en": "Editor"},
    "role.member_service": {"nb": "Medlemsservice", "en": "Member service"},
    "role.survey_manager": {"nb": "Ansvarlig for lønnsundersøkelsen", "en": "Survey manager"},
    "role.operations": {"nb": "Drift", "en": "Operations"},
    "role.mentor_coordinator": {"nb": "Mentorkoordinator", "en": "Mentor coordinator"},
    "error.back": {"nb": "Tilbake til oversikten", "en": "Back to the overview"},
    "error.fields": {"nb": "Dette må rettes:", "en": "Please correct:"},
    "done": {"nb": "Utført.", "en": "Done."},
    "done.approved": {
        "nb": "Henvendelsen er godkjent og satt i kø.",
        "en": "The request was approved and queued.",
    },
    "done.rejected": {
        "nb": "Henvendelsen er avslått. Medlemmet ser begrunnelsen.",
        "en": "The request was rejected. The member sees the reason.",
    },
    "done.run": {"nb": "Kjøringen er startet.", "en": "The run has started."},
    "done.sent": {
        "nb": "Meldingen er lagret og sendes.",
        "en": "The message is saved and on its way.",
    },
    "done.cancelled": {"nb": "Meldingen er avlyst.", "en": "The message was cancelled."},
    "done.replayed": {"nb": "Meldingen er spilt av på nytt.", "en": "The message was replayed."},
    "done.discarded": {"nb": "Meldingen er forkastet.", "en": "The message was discarded."},
    "done.round": {"nb": "Matchingrunden er kjørt.", "en": "The matching round has run."},
    "done.created": {"nb": "Runden er opprettet.", "en": "The round was created."},
    "done.updated": {"nb": "Runden er endret.", "en": "The round was changed."},
    "none": {"nb": "Ingen.", "en": "None."},
    "yes": {"nb": "Ja", "en": "Yes"},
    "no": {"nb": "Nei", "en": "No"},
    "next_page": {"nb": "Neste side", "en": "Next page"},
    "filter": {"nb": "Vis", "en": "Show"},
    "status": {"nb": "Status", "en": "Status"},
    "all": {"nb": "Alle", "en": "All"},
    # privacy requests
    "req.title": {"nb": "Personvernhenvendelser", "en": "Privacy requests"},
    "req.intro": {
        "nb": "Sletting og begrensning som medlemmer har bedt om. Hver visning "
        "loggføres i medlemmets innsynslogg.",
        "en": "Erasure and restriction requests from members. Every view is "
        "recorded in the member's audit trail.",
    },
    "req.member": {"nb": "Medlemsnummer", "en": "Member number"},
    "req.kind": {"nb": "Type", "en": "Kind"},
    "req.received": {"nb": "Mottatt", "en": "Received"},
    "req.reason": {"nb": "Medlemmets begrunnelse", "en": "Member's reason"},
    "req.actions": {"nb": "Behandling", "en": "Decision"},
    "req.approve": {"nb": "Godkjenn", "en": "Approve"},
    "req.reject": {"nb": "Avslå", "en": "Reject"},
    "req.reject_reason": {
        "nb": "Begrunnelse for avslag (medlemmet ser den)",
        "en": "Reason for rejecting (the member sees it)",
    },
    "req.rejection": {"nb": "Begrunnelse for avslag", "en": "Reason for rejection"},
    "req.erased": {"nb": "(slettet)", "en": "(erased)"},
    "kind.erasure": {"nb": "Sletting", "en": "Erasure"},
    "kind.restriction": {"nb": "Begrensning", "en": "Restriction"},
    "kind.lift_restriction": {"nb": "Oppheve begrensning", "en": "Lift restriction"},
    "st.received": {"nb": "Mottatt", "en": "Received"},
    "st.rejected": {"nb": "Avslått", "en": "Rejected"},
    "st.queued": {"nb": "I kø", "en": "Queued"},
    "st.running": {"nb": "Pågår", "en": "Running"},
    "st.failed": {"nb": "Feilet (prøves igjen)", "en": "Failed (will retry)"},
    "st.done": {"nb": "Utført", "en": "Done"},
    # membership end
    "me.title": {"nb": "Sletting ved utmelding (R5)", "en": "Erasure at membership end (R5)"},
    "me.intro": {
        "nb": "Prøvekjøringen sammenligner lagrede medlemsnøkler med medlemsregisteret "
        "uten å slette noe. Kjøringen sletter alt om medlemmer som har gått ut.",
        "en": "The dry run compares stored member keys with the member register and "
        "deletes nothing. A run deletes everything about members who have left.",
    },
    "me.preview": {"nb": "Prøvekjøring (første side)", "en": "Dry run (first page)"},
    "me.checked": {"nb": "Kontrollert", "en": "Checked"},
    "me.active": {"nb": "Aktive", "en": "Active"},
    "me.would_forget": {"nb": "Ville blitt slettet", "en": "Would be erased"},
    "me.why": {"nb": "Grunn", "en": "Why"},
    "me.runs": {"nb": "Siste kjøringer", "en": "Recent runs"},
    "me.start": {"nb": "Start en kjøring nå", "en": "Start a run now"},
    "me.started": {"nb": "Startet", "en": "Started"},
    "me.finished": {"nb": "Ferdig", "en": "Finished"},
    "me.trigger": {"nb": "Startet av", "en": "Started by"},
    "me.figures": {"nb": "Tall", "en": "Figures"},
    # processing record
    "rec.title": {
        "nb": "Protokoll over behandlingsaktiviteter (art. 30)",
        "en": "Record of processing activities (Art. 30)",
    },
    "rec.intro": {
        "nb": "Laget fra appens dataoversikt i koden som kjører nå; samme innhold som "
        "API-ets offentlige protokoll.",
        "en": "Generated from the data map in the code running now; the same as the "
        "API's public record.",
    },
    "rec.markdown": {"nb": "Som Markdown", "en": "As Markdown"},
    "rec.controller": {"nb": "Behandlingsansvarlig", "en": "Controller"},
    "rec.activity": {"nb": "Aktivitet", "en": "Activity"},
    "rec.category": {"nb": "Kategori", "en": "Category"},
    "rec.purpose": {"nb": "Formål", "en": "Purpose"},
    "rec.basis": {"nb": "Rettslig grunnlag", "en": "Legal basis"},
    "rec.retention": {"nb": "Lagringstid", "en": "Retention"},
    "rec.recipients": {"nb": "Hvem har tilgang", "en": "Who has access"},
    "rec.erasure": {"nb": "Sletting", "en": "Erasure"},
    "rec.security": {"nb": "Sikkerhetstiltak (art. 32)", "en": "Security measures (Art. 32)"},
    # audit trail
    "audit.title": {"nb": "Revisjonsspor for ett medlem", "en": "Audit trail of one member"},
    "audit.intro": {
        "nb": "Hvem som har sett eller behandlet opplysninger om medlemmet, slik "
        "medlemmet selv ser det i innsynet. Oppslaget ditt loggføres også.",
        "en": "Who saw or processed data about the member, as the member sees it "
        "in their access view. Your look-up is recorded too.",
    },
    "audit.find": {"nb": "Finn", "en": "Find"},
    "audit.when": {"nb": "Tidspunkt", "en": "When"},
    "audit.who": {"nb": "Hvem", "en": "Who"},
    "audit.what": {"nb": "Hva", "en": "What"},
    "audit.why": {"nb": "Hvorfor", "en": "Why"},
    "audit.total": {"nb": "{total} oppføringer", "en": "{total} entries"},
    # messages
    "msg.title": {"nb": "Meldinger til medlemmer", "en": "Messages to members"},
    "msg.new": {"nb": "Skriv en ny melding", "en": "Write a new message"},
    "msg.list": {"nb": "Sendte og planlagte meldinger", "en": "Sent and scheduled messages"},
    "msg.category": {"nb": "Kategori", "en": "Category"},
    "msg.title_nb": {"nb": "Tittel (bokmål)", "en": "Title (Norwegian)"},
    "msg.title_en": {"nb": "Tittel (engelsk)", "en": "Title (English)"},
    "msg.body_nb": {"nb": "Tekst (bokmål)", "en": "Text (Norwegian)"},
    "msg.body_en": {"nb": "Tekst (engelsk)", "en": "Text (English)"},
    "msg.deep_link": {"nb": "Lenke i appen (valgfri)", "en": "Link in the app (optional)"},
    "msg.audience": {"nb": "Mottakere", "en": "Audience"},
    "msg.audience_value": {"nb": "Interesse eller fylkesnummer", "en": "Interest or county number"},
    "msg.member_id": {
        "nb": "Medlemsnummer (for ett medlem)",
        "en": "Member number (for one member)",
    },
    "msg.sensitive": {
        "nb": "Sensitiv (bare nøytral tekst på låseskjermen)",
        "en": "Sensitive (only a neutral text on the lock screen)",
    },
    "msg.sensitive.auto": {
        "nb": "Automatisk (sensitiv for ett medlem)",
        "en": "Automatic (sensitive for one member)",
    },
    "msg.send_at": {"nb": "Send (tom: nå; norsk tid)", "en": "Send at (empty: now; Oslo time)"},
    "msg.send": {"nb": "Send", "en": "Send"},
    "msg.cancel": {"nb": "Avlys", "en": "Cancel"},
    "msg.preview": {"nb": "Forhåndsvisning", "en": "Preview"},
    "msg.preview.update": {"nb": "Oppdater forhåndsvisningen", "en": "Update the preview"},
    "msg.lock_screen": {"nb": "Låseskjerm", "en": "Lock screen"},
    "msg.inbox": {"nb": "Innboksen i appen", "en": "Inbox in the app"},
    "msg.push_size": {
        "nb": "Største varsel: {size} av {limit} byte",
        "en": "Largest push: {size} of {limit} bytes",
    },
    "msg.too_large": {
        "nb": "For stort for FCM – kort ned teksten.",
        "en": "Too large for FCM – shorten the text.",
    },
    "msg.audience_size": {
        "nb": "Hvor mange meldingen vil nå hvis den går ut nå: aktive medlemmer i "
        "målgruppen som har kategorien slått på, har gitt samtykket som trengs og ikke "
        "har begrenset behandlingen. Under 5 vises bare som «færre enn 5».",
        "en": "How many the message would reach if it went out now: active members of the "
        "audience who have the category switched on, have given the consent it needs and "
        "have not restricted processing. Below 5 it shows only as \u201cfewer than 5\u201d.",
    },
    "msg.count": {"nb": "Tell mottakerne", "en": "Count the audience"},
    "msg.recipients": {"nb": "Mottakere nå: {count}", "en": "Recipients now: {count}"},
    "msg.fewer_than": {
        "nb": "Mottakere nå: færre enn {n}",
        "en": "Recipients now: fewer than {n}",
    },
    "msg.counted_at": {"nb": "talt {at}", "en": "counted {at}"},
    "msg.fill": {
        "nb": "Fyll ut tittel og tekst for å se forhåndsvisningen.",
        "en": "Fill in title and text to see the preview.",
    },
    "msg.sent_at": {"nb": "Sendes", "en": "Sends"},
    "msg.created": {"nb": "Opprettet", "en": "Created"},
    "msg.figures": {"nb": "Tall", "en": "Figures"},
    "msg.outcomes": {"nb": "Utfall per mottaker", "en": "Outcome per recipient"},
    "msg.pushes": {"nb": "Varsler", "en": "Pushes"},
    "msg.opened": {"nb": "Åpnet i innboksen", "en": "Opened in the inbox"},
    "msg.details": {"nb": "Detaljer", "en": "Details"},
    "aud.all": {"nb": "Alle medlemmer", "en": "Every member"},
    "aud.interest": {"nb": "En interesse", "en": "An interest"},
    "aud.county": {"nb": "Et fylke", "en": "A county"},
    "aud.member": {"nb": "Ett medlem", "en": "One member"},
    "cat.course_reminders": {"nb": "Kurspåminnelser", "en": "Course reminders"},
    "cat.news": {"nb": "Nyheter", "en": "News"},
    "cat.survey_invitations": {"nb": "Undersøkelser", "en": "Survey invitations"},
    "cat.mentor_updates": {"nb": "Mentorordningen", "en": "Mentoring"},
    "cat.marketing": {"nb": "Markedsføring", "en": "Marketing"},
    "out.delivered": {"nb": "Levert", "en": "Delivered"},
    "out.category_off": {"nb": "Kategori slått av", "en": "Category off"},
    "out.no_consent": {"nb": "Mangler samtykke", "en": "No consent"},
    "out.restricted": {"nb": "Begrenset", "en": "Restricted"},
    "out.not_member": {"nb": "Ikke medlem", "en": "Not a member"},
    "push.sent": {"nb": "Sendt", "en": "Sent"},
    "push.failed": {"nb": "Feilet", "en": "Failed"},
    "push.pruned": {"nb": "Død token fjernet", "en": "Dead token pruned"},
    "push.pending": {"nb": "Venter", "en": "Pending"},
    "mst.scheduled": {"nb": "Planlagt", "en": "Scheduled"},
    "mst.queued": {"nb": "I kø", "en": "Queued"},
    "mst.sending": {"nb": "Sendes", "en": "Sending"},
    "mst.sent": {"nb": "Sendt", "en": "Sent"},
    "mst.cancelled": {"nb": "Avlyst", "en": "Cancelled"},
    # dead letters
    "dl.title": {"nb": "Feilede meldinger (dead letters)", "en": "Dead letters"},
    "dl.intro": {
        "nb": "Meldinger en funksjon ga opp. Medlemsnøkler vises aldri, bare antall.",
        "en": "Messages a function gave up on. Member keys are never shown, only their number.",
    },
    "dl.source": {"nb": "Fra funksjon", "en": "From function"},
    "dl.reason": {"nb": "Årsak", "en": "Reason"},
    "dl.members": {"nb": "Medlemmer nevnt", "en": "Members named"},
    "dl.received": {"nb": "Mottatt", "en": "Received"},
    "dl.state": {"nb": "Tilstand", "en": "State"},
    "dl.inspect": {"nb": "Se nærmere", "en": "Inspect"},
    "dl.replay": {"nb": "Spill av på nytt", "en": "Replay"},
    "dl.discard": {"nb": "Forkast", "en": "Discard"},
    "dl.payload": {"nb": "Innhold (medlemsnøkler skjult)", "en": "Payload (member keys redacted)"},
    "dl.attributes": {"nb": "Attributter", "en": "Attributes"},
    "dl.topic": {"nb": "Emne", "en": "Topic"},
    "dl.replays": {"nb": "Avspilt", "en": "Replayed"},
    "dls.open": {"nb": "Åpen", "en": "Open"},
    "dls.replayed": {"nb": "Spilt av", "en": "Replayed"},
    "dls.discarded": {"nb": "Forkastet", "en": "Discarded"},
    # mentoring
    "mt.title": {"nb": "Mentorordningen", "en": "Mentoring"},
    "mt.run": {"nb": "Kjør en matchingrunde nå", "en": "Run a matching round now"},
    "mt.pool": {"nb": "Utvalget", "en": "The pool"},
    "mt.mentors": {"nb": "Mentorer", "en": "Mentors"},
    "mt.mentees": {"nb": "Mentees", "en": "Mentees"},
    "mt.capacity": {"nb": "Plasser", "en": "Places"},
    "mt.waiting": {"nb": "Mentees som venter", "en": "Mentees waiting"},
    "mt.proposals": {"nb": "Forslag", "en": "Proposals"},
    "mt.acceptance": {"nb": "Andel godtatt", "en": "Acceptance rate"},
    "mt.mentorships": {
        "nb": "Mentorskap (aktive / avsluttet)",
        "en": "Mentorships (active / ended)",
    },
    "mt.rating": {
        "nb": "Snittvurdering (vises fra fem vurderinger)",
        "en": "Average rating (shown from five ratings)",
    },
    "mt.rounds": {"nb": "Siste runder", "en": "Recent rounds"},
    "mt.proposed": {"nb": "Foreslått", "en": "Proposed"},
    "mt.match_rate": {"nb": "Matchandel", "en": "Match rate"},
    "mt.last": {"nb": "Runden som nettopp ble kjørt", "en": "The round just run"},
    "ps.open": {"nb": "Åpne", "en": "Open"},
    "ps.accepted": {"nb": "Godtatt", "en": "Accepted"},
    "ps.declined": {"nb": "Avslått", "en": "Declined"},
    "ps.expired": {"nb": "Utløpt", "en": "Expired"},
    "ps.withdrawn": {"nb": "Trukket", "en": "Withdrawn"},
    # salary rounds
    "sr.title": {"nb": "Lønnsundersøkelser", "en": "Salary surveys"},
    "sr.intro": {
        "nb": "Ingen side her viser et svar; du ser antall svar per runde.",
        "en": "No page here shows an answer; you see the number of answers per round.",
    },
    "sr.releases": {"nb": "Utgaver av statistikken", "en": "Releases of the statistics"},
    "sr.not_released": {
        "nb": "Ikke publisert ennå: jobben publiserer runden kort tid etter at den stengte.",
        "en": "Not published yet: the job publishes the round shortly after it closed.",
    },
    "sr.kind.first": {"nb": "første utgave", "en": "first release"},
    "sr.kind.correction": {"nb": "rettelse", "en": "correction"},
    "sr.corrections": {
        "nb": "En utgave endres aldri. En rettelse er en ny utgave, laget med "
        "POST /v1/admin/salary-rounds/{år}/releases (funksjonen "
        "salary-releases, den eneste som leser svarene, og bare for å "
        "summere dem); den avvises hvis den ville skille seg fra en tidligere "
        "utgave med 1–4 personer i en gruppe.",
        "en": "A release never changes. A correction is a new release, made with "
        "POST /v1/admin/salary-rounds/{year}/releases (the salary-releases "
        "function, the only one that reads the answers, and only to sum "
        "them); it is refused if it would differ from an earlier release by "
        "1–4 persons in a group.",
    },
    "sr.year": {"nb": "År", "en": "Year"},
    "sr.name": {"nb": "Tittel", "en": "Title"},
    "sr.opens": {"nb": "Åpner", "en": "Opens"},
    "sr.closes": {"nb": "Stenger", "en": "Closes"},
    "sr.answers": {"nb": "Svar", "en": "Answers"},
    "sr.questions": {"nb": "Spørsmål", "en": "Questions"},
    "sr.create": {"nb": "Opprett runde", "en": "Create round"},
    "sr.new": {"nb": "Ny runde", "en": "New round"},
    "sr.save": {"nb": "Lagre endringer", "en": "Save changes"},
    "sr.close_now": {"nb": "Steng nå", "en": "Close now"},
    "sr.adjust": {"nb": "Juster", "en": "Adjust"},
    "sr.title_nb": {"nb": "Tittel (bokmål)", "en": "Title (Norwegian)"},
    "sr.title_en": {"nb": "Tittel (engelsk)", "en": "Title (English)"},
    "sr.chart": {"nb": "Svar per runde", "en": "Answers per round"},
    "sr.over_time": {"nb": "Svar over tid", "en": "Answers over time"},
    "sr.per_day": {"nb": "nye svar per dag", "en": "new answers per day"},
    "sr.cumulative": {"nb": "svar i alt", "en": "answers in all"},
    "sr.day": {"nb": "Dag", "en": "Day"},
    "sr.days_table": {"nb": "Tallene per dag", "en": "The figures per day"},
    "srs.upcoming": {"nb": "Kommer", "en": "Upcoming"},
    "srs.open": {"nb": "Åpen", "en": "Open"},
    "srs.closed": {"nb": "Stengt", "en": "Closed"},
}


def t(key: str, locale: str, **kw: Any) -> str:
    entry = T.get(key)
    if entry is None:
        return key
    text = entry.get(locale) or entry["en"]
    return text.format(**kw) if kw else text


def when(value: Any) -> str:
    """An RFC 3339 time (or datetime) as Oslo local time, 'YYYY-MM-DD HH:MM'."""
    if not value:
        return "–"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is not None:
        value = value.astimezone(OSLO)
    return value.strftime("%Y-%m-%d %H:%M")


def number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    return f"{value:,}".replace(",", "\u202f")
