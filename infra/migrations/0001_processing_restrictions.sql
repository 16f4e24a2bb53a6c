-- Restriction of processing (GDPR Art. 18). A row means: keep this member's data, but use it
-- for nothing (statistics, matching, personalisation, marketing) until the row is removed.
-- Holds the member key and when; never a reason in free text (that stays with the request).
CREATE TABLE processing_restrictions (
    member_id        text        PRIMARY KEY CHECK (member_id <> ''),
    restricted_since timestamptz NOT NULL DEFAULT now(),
    request_ref      uuid
);

COMMENT ON TABLE processing_restrictions IS
    'Members whose processing is restricted (R3). Declared in lederappen.core.datamap.';
