-- Device registrations (F9) move from Firestore (`devices`, and the sender's copy
-- `device_index`) to PostgreSQL: one row per app installation, owned by the devices feature
-- (devices/store.py). `id` is HMAC-SHA256 of the app's installation id under
-- INSTALLATION_ID_KEY, base64url without padding (43 characters; the last carries 4 bits, so
-- it is one of A, E, I, ..., w); the installation id itself is never stored. The invariants
-- the Firestore transactions kept by hand are the table's: one installation per FCM token
-- (UNIQUE), one member per installation (the primary key). At most 10 per member is kept by
-- the registering transaction (it takes an advisory lock per member first, devices/store.py).
CREATE TABLE devices (
    id            text        PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$'),
    member_id     text        NOT NULL CHECK (member_id <> ''),
    fcm_token     text        NOT NULL UNIQUE CHECK (fcm_token <> ''),
    platform      text        NOT NULL CHECK (platform IN ('ios', 'android')),
    app_version   text        NOT NULL,
    locale        text        NOT NULL CHECK (locale IN ('nb', 'en')),
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL
);
-- The member's devices (list, the limit, the sender's lookup, erasure and access by key,
-- least recently seen first); retention sweeps by last_seen_at.
CREATE INDEX devices_member ON devices (member_id, last_seen_at);
CREATE INDEX devices_last_seen ON devices (last_seen_at);
