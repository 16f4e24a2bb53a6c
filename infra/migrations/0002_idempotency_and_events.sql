-- Idempotency-Key on creating POSTs (core/idempotency.py): the first request's response is
-- kept 24 hours so a retry gets it back instead of doing the work again.
CREATE TABLE idempotency_keys (
    owner       text        NOT NULL,            -- the caller: a member key, staff or job subject
    key         text        NOT NULL,
    fingerprint text        NOT NULL,            -- sha256 of the request body
    status      integer,
    body        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Events a Pub/Sub handler has already applied (core/events.py claim()): a redelivered
-- message finds its row and changes nothing. Holds event ids only, no member data.
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_key    text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_key)
);
CREATE INDEX processed_events_processed_at ON processed_events (processed_at);

-- Transactional outbox: a message to publish is written in the same transaction as the change
-- that causes it, published right after the commit, and re-published by the outbox relay if
-- that publish was lost. So a change is never committed without its message, or vice versa.
CREATE TABLE outbox (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic        text        NOT NULL,
    member_id    text,                          -- whose change it is (erasure drops unsent rows)
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL;
CREATE INDEX outbox_member ON outbox (member_id);
