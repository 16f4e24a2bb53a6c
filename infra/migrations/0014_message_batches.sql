-- Delivery batches (F9): the members of each batch the fan-out formed, written in the same
-- transaction that queues the batch. The message-delivery Pub/Sub message carries only
-- (message_id, batch); the handler reads the members from here, so a forged or replayed
-- message can at most deliver a message again to the members the fan-out chose for it
-- (and delivery is once per member anyway).
CREATE TABLE message_batches (
    message_id  uuid        NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    batch       integer     NOT NULL CHECK (batch >= 0),
    member_ids  text[]      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, batch)
);
-- Erasure and access find a member's batches by key; retention sweeps by age.
CREATE INDEX message_batches_members ON message_batches USING gin (member_ids);
CREATE INDEX message_batches_created ON message_batches (created_at);

-- A fan-out step is carried out as its outbox row says (cursor, release time), found by
-- message and step: a forged step that was never queued does nothing.
CREATE INDEX outbox_fanout_steps ON outbox ((payload->>'message_id'), ((payload->>'step')::int))
    WHERE topic = 'message-fanout';
