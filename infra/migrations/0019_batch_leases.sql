-- A delivery batch is leased as a whole, and its push rows are written once, with their
-- outcome (issue 22). Before, each push row was inserted leased ('sending') before the send
-- and updated with its outcome after it: two writes per push, the update touching every index
-- of push_deliveries. Now the attempt that holds the batch's lease sends, then inserts each
-- push's row with its outcome in one statement; a push that failed retryably is written
-- 'pending' and sent again by a later attempt (pending rows are updated, final ones never).
-- Two copies of a batch delivered at once: the one without the lease asks Pub/Sub to try
-- again later. A crash between FCM's answers and the insert leaves no rows: the next attempt,
-- once the lease has run out, sends those pushes again (the one window for a second push,
-- as before, which the collapse key hides on the device). While an attempt sends, its lease
-- says how many pushes are on their way, so the editors' figures count them as pending.
CREATE TABLE message_batch_leases (
    message_id  uuid        NOT NULL,
    batch       integer     NOT NULL,
    lease_until timestamptz NOT NULL,
    pushes      integer     NOT NULL DEFAULT 0 CHECK (pushes >= 0), -- on their way to FCM
    PRIMARY KEY (message_id, batch),
    FOREIGN KEY (message_id, batch) REFERENCES message_batches ON DELETE CASCADE
);

-- Whether the member's outcome had the push channel: a later attempt sends the pushes an
-- earlier one left unsent only to those members, to the devices they had then.
ALTER TABLE message_recipients ADD COLUMN push boolean NOT NULL DEFAULT false;
