-- Privacy rights (R3, R5, S2): requests for erasure and restriction, run as Pub/Sub jobs with a
-- visible state, and what is kept after an erasure.

-- A request, from the member (erasure, restriction, lifting it), or opened by the
-- membership-end job. After an erasure has run, member_id is cleared: the row that remains is
-- the pseudonymous receipt (when, which categories and stores, how many items), with no
-- personal data.
CREATE TABLE privacy_requests (
    id              uuid        PRIMARY KEY,
    member_id       text        CHECK (member_id <> ''),
    kind            text        NOT NULL CHECK (kind IN ('erasure', 'restriction', 'lift_restriction')),
    origin          text        NOT NULL CHECK (origin IN ('member', 'membership_end')),
    status          text        NOT NULL CHECK (status IN ('received', 'rejected', 'queued',
                                    'running', 'failed', 'done')),
    reason          text        CHECK (reason IS NULL OR length(reason) <= 1000),
    decided_by      text,                      -- staff subject, or the job's name
    decided_at      timestamptz,
    rejection_reason text       CHECK (rejection_reason IS NULL OR length(rejection_reason) <= 1000),
    received_at     timestamptz NOT NULL,
    started_at      timestamptz,
    finished_at     timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,                      -- an error class, never data
    categories      text[],                    -- what the erasure covered (receipt)
    counts          jsonb,                     -- items removed per store (receipt)
    CHECK (status <> 'done' OR kind <> 'erasure' OR member_id IS NULL),
    CHECK (status = 'done' OR member_id IS NOT NULL)
);
-- One request of a kind in progress per member.
CREATE UNIQUE INDEX privacy_requests_open ON privacy_requests (member_id, kind)
    WHERE status IN ('received', 'queued', 'running', 'failed');
CREATE INDEX privacy_requests_status ON privacy_requests (status, received_at);
CREATE INDEX privacy_requests_member ON privacy_requests (member_id) WHERE member_id IS NOT NULL;

-- Erased members, pseudonymised, for a short while: a message already on its way (in Pub/Sub
-- or the outbox) when the member was erased is dropped by its handler instead of writing
-- the member back.
CREATE TABLE erasure_tombstones (
    member_pseudonym text        PRIMARY KEY,
    erased_at        timestamptz NOT NULL
);

-- Erasure takes a member's key out of delivery batches in the outbox (payload member_ids).
CREATE INDEX outbox_payload_members ON outbox USING gin ((payload -> 'member_ids') jsonb_path_ops);
