-- Dead-lettered Pub/Sub messages, drained from the <dead-letter-topic>-inspect subscriptions
-- by the dead-letters function (lederappen/deadletters/store.py) so operations staff can see
-- what failed and why, replay a message to its source topic once the cause is fixed, or
-- discard it. A row is stored (and committed) before its Pub/Sub message is acknowledged, so
-- a crash loses nothing; a redelivered message finds its row through the unique key.
--
-- The payload may name members: `member_ids` holds the member keys found in its top-level
-- `member_id` / `member_ids` fields, so erasure finds and deletes the row (data map:
-- `dead_letters`). Staff never see those keys: the API shows counts and "<redacted>".
CREATE TABLE dead_letters (
    id              bigserial   PRIMARY KEY,
    subscription    text        NOT NULL,            -- the -inspect subscription it came from
    source_function text,                            -- the pubsub function that gave up on it
    topic           text,                            -- where a replay is published (its topic)
    message_id      text        NOT NULL,            -- the dead-letter message's Pub/Sub id
    reason          text        NOT NULL,            -- a constant code, never a data value
    attributes      jsonb       NOT NULL DEFAULT '{}',
    payload         bytea       NOT NULL,
    member_ids      text[]      NOT NULL DEFAULT '{}',
    received_at     timestamptz NOT NULL DEFAULT now(),  -- when it reached the dead-letter topic
    replayed_at     timestamptz,                     -- the latest replay
    replay_count    integer     NOT NULL DEFAULT 0 CHECK (replay_count >= 0),
    discarded_at    timestamptz,
    UNIQUE (subscription, message_id)
);
CREATE INDEX dead_letters_received_at ON dead_letters (received_at);
CREATE INDEX dead_letters_member_ids ON dead_letters USING gin (member_ids);
CREATE INDEX dead_letters_source ON dead_letters (source_function, id DESC);
