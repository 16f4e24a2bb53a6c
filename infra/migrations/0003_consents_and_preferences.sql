-- Terms of each purpose that rests on consent (R8). A version is immutable once published;
-- `material` versions need a new consent, others do not. `effective_from` is when the text
-- applies: new terms apply only once communicated (policy section 7).
CREATE TABLE consent_terms (
    purpose        text        NOT NULL CHECK (purpose IN
                                 ('newsletter', 'marketing', 'personalisation', 'mentor_contact_sharing')),
    version        integer     NOT NULL CHECK (version > 0),
    title_nb       text        NOT NULL,
    title_en       text        NOT NULL,
    text_nb        text        NOT NULL,
    text_en        text        NOT NULL,
    changes_nb     text,
    changes_en     text,
    text_hash      text        NOT NULL,         -- sha256 of the exact texts shown (see consents.service)
    material       boolean     NOT NULL,
    effective_from timestamptz NOT NULL,
    published_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (purpose, version)
);

-- The consent ledger (F3, R4, R8): giving or withdrawing appends a row; nothing is updated.
-- The current state per purpose is derived from the latest row, never kept as a flag.
CREATE TABLE consent_events (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id     text        NOT NULL CHECK (member_id <> ''),
    purpose       text        NOT NULL,
    terms_version integer     NOT NULL,
    text_hash     text        NOT NULL,
    action        text        NOT NULL CHECK (action IN ('given', 'withdrawn')),
    locale        text        NOT NULL CHECK (locale IN ('nb', 'en')),
    channel       text        NOT NULL CHECK (channel IN ('app', 'web', 'member_service')),
    app_version   text,
    occurred_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (purpose, terms_version) REFERENCES consent_terms (purpose, version)
);
CREATE INDEX consent_events_member ON consent_events (member_id, purpose, id DESC);

-- Preferences and interests (F8): voluntary; a missing row means defaults. `version` is the
-- ETag, so two devices cannot overwrite each other.
CREATE TABLE member_preferences (
    member_id              text        PRIMARY KEY CHECK (member_id <> ''),
    language               text        CHECK (language IN ('nb', 'en')),
    notification_categories text[],
    notification_channels  text[],
    interests              text[]      NOT NULL DEFAULT '{}',
    version                integer     NOT NULL DEFAULT 1,
    updated_at             timestamptz NOT NULL DEFAULT now()
);

-- Newsletter consent as the newsletter system has confirmed it (F3): the member sees whether
-- the latest change has reached it.
CREATE TABLE newsletter_sync (
    member_id     text        PRIMARY KEY,
    event_id      uuid        NOT NULL,
    subscribed    boolean     NOT NULL,
    terms_version integer     NOT NULL,
    requested_at  timestamptz NOT NULL,
    confirmed_at  timestamptz
);

-- The first published terms of each purpose, in force from 2026-01-01.
INSERT INTO consent_terms (purpose, version, title_nb, title_en, text_nb, text_en, text_hash,
                           material, effective_from) VALUES
('newsletter', 1, 'Nyhetsbrev fra Lederne', 'Newsletter from Lederne',
 'Jeg vil motta Ledernes nyhetsbrev på e-post. E-postadressen hentes fra medlemsregisteret. Du kan trekke samtykket når som helst under Profil i appen.',
 'I want to receive Lederne''s newsletter by e-mail. The address is taken from the member register. You can withdraw this consent at any time under Profile in the app.',
 '', true, '2026-01-01T00:00:00Z'),
('marketing', 1, 'Tilbud og markedsføring', 'Offers and marketing',
 'Lederne kan sende meg tilbud om kurs, arrangementer og medlemsfordeler som push-varsel og e-post. Du kan trekke samtykket når som helst under Profil i appen.',
 'Lederne may send me offers of courses, events and member benefits by push notification and e-mail. You can withdraw this consent at any time under Profile in the app.',
 '', true, '2026-01-01T00:00:00Z'),
('personalisation', 1, 'Tilpasset innhold', 'Personalised content',
 'Lederne kan bruke interessene jeg oppgir til å tilpasse artikler, kurs og tilbud i appen. Interessene brukes ikke til noe annet.',
 'Lederne may use the interests I give to tailor articles, courses and offers in the app. The interests are used for nothing else.',
 '', true, '2026-01-01T00:00:00Z'),
('mentor_contact_sharing', 1, 'Deling av kontaktinformasjon i mentorprogrammet', 'Sharing contact details in the mentor programme',
 'Når både jeg og en mentor eller mentee har takket ja til hverandre, kan Lederne vise mitt navn, e-post og telefonnummer til denne ene personen. Opplysningene hentes fra medlemsregisteret og deles ikke med andre.',
 'When both I and a mentor or mentee have accepted each other, Lederne may show my name, e-mail and phone number to that one person. The details are read from the member register and shared with no one else.',
 '', true, '2026-01-01T00:00:00Z');

-- Fill the hashes from the texts, the same canonical form the service uses:
-- sha256 over title_nb, title_en, text_nb, text_en joined by a unit separator.
UPDATE consent_terms SET text_hash = encode(sha256(convert_to(
    title_nb || chr(31) || title_en || chr(31) || text_nb || chr(31) || text_en, 'UTF8')), 'hex');
