-- A message to many (every member, a county, an interest) is stored once, in `messages`, and
-- no longer copied into each member's Firestore inbox: the member's inbox lists it from
-- `message_recipients` (the row delivery writes anyway, once per member, for idempotency and
-- the editors' counts). Per-member state exists only where the member acts on an item:
-- `read_at` when they open it, `hidden_at` when they delete it (the row stays, so a
-- redelivered batch does not put it back). Direct messages (to one member) still live in
-- Firestore `inbox_items`.
ALTER TABLE message_recipients ADD COLUMN read_at timestamptz;
ALTER TABLE message_recipients ADD COLUMN hidden_at timestamptz;

-- The member's inbox, newest first: replaces the index on member_id alone (erasure and
-- access still find a member's rows by its leading column), so a delivery writes no more
-- index entries than before.
CREATE INDEX message_recipients_member_inbox ON message_recipients (member_id, processed_at DESC);
DROP INDEX message_recipients_member;
