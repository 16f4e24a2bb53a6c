-- Messages to members (F9): what editors (and features, for direct messages) send, who it
-- reached, and what happened to each push. The text itself is the same for every recipient:
-- no message carries personal data, so a push payload cannot leak any.

CREATE TABLE messages (
    id              uuid        PRIMARY KEY,
    category        text        NOT NULL CHECK (category IN ('course_reminders', 'news',
                                    'survey_invitations', 'mentor_updates', 'marketing')),
    title_nb        text        NOT NULL,
    title_en        text        NOT NULL,
    body_nb         text        NOT NULL,
    body_en         text        NOT NULL,
    deep_link       text,
    sensitive       boolean     NOT NULL DEFAULT false,
    audience_kind   text        NOT NULL CHECK (audience_kind IN ('all', 'interest', 'county', 'member')),
    audience_value  text,                            -- topic id or county number; NULL otherwise
    member_id       text        CHECK ((audience_kind = 'member') = (member_id IS NOT NULL)),
    send_at         timestamptz NOT NULL,
    status          text        NOT NULL DEFAULT 'scheduled'
                                CHECK (status IN ('scheduled', 'sending', 'sent', 'cancelled')),
    origin          text        NOT NULL DEFAULT 'editor' CHECK (origin IN ('editor', 'system')),
    created_by      text        NOT NULL,            -- staff subject, or the feature (origin 'system')
    created_at      timestamptz NOT NULL DEFAULT now(),
    outbox_id       bigint,                          -- the queued fan-out start (cancel deletes it)
    cancelled_at    timestamptz,
    started_at      timestamptz,
    audience_size   integer,                         -- set when the fan-out has listed everyone
    fanned_out_at   timestamptz,
    CHECK (audience_kind NOT IN ('interest', 'county') OR audience_value IS NOT NULL)
);
CREATE INDEX messages_created ON messages (origin, created_at DESC, id DESC);
CREATE INDEX messages_member ON messages (member_id) WHERE member_id IS NOT NULL;

-- One row per (message, member) the fan-out reached, written at send time with the outcome of
-- the eligibility check. It makes delivery idempotent per member (a redelivered batch, or an
-- inbox item the member deleted, is not written again) and gives the editors' figures.
CREATE TABLE message_recipients (
    message_id   uuid        NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    member_id    text        NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('delivered', 'category_off',
                                 'no_consent', 'restricted', 'not_member')),
    inbox        boolean     NOT NULL DEFAULT false,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, member_id)
);
CREATE INDEX message_recipients_member ON message_recipients (member_id);
CREATE INDEX message_recipients_processed ON message_recipients (processed_at);

-- One row per (message, device) a push was due to: the idempotency record of the sender.
-- A sender takes rows by moving them from 'pending' to 'sending' with a short lease, so two
-- copies of one batch delivered at the same moment never both send; a device whose row is
-- 'sent', 'pruned' or 'failed' is never sent this message again, however often its batch is
-- delivered or replayed. A crash between FCM's answer and the update leaves the row
-- 'sending' until its lease ends and a redelivery sends it again: the one window for a
-- second push, which the collapse key (one notification per message on the device) hides.
CREATE TABLE push_deliveries (
    message_id  uuid        NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    device_id   text        NOT NULL,
    member_id   text        NOT NULL,
    state       text        NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'sending', 'sent', 'pruned', 'failed')),
    lease_until timestamptz,                        -- 'sending': a sender holds it until then
    attempts    integer     NOT NULL DEFAULT 0,
    error_code  text,                               -- FCM's error code, never a token
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, device_id)
);
CREATE INDEX push_deliveries_member ON push_deliveries (member_id);
CREATE INDEX push_deliveries_updated ON push_deliveries (updated_at);

-- Scheduled sending rides on the outbox: a row with not_before is published by the outbox
-- relay once that time has come (and cancelling deletes the row before it is published).
ALTER TABLE outbox ADD COLUMN not_before timestamptz;

-- Targeting by interest reads member_preferences.interests.
CREATE INDEX member_preferences_interests ON member_preferences USING gin (interests);
