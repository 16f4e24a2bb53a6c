-- Mentor matching (F7, R9): rounds, proposals with both sides' answers, mentorships, private
-- feedback; and the audit trail (S2) that every sharing of a member's data outside their own
-- view appends to. No name or contact detail is stored: they are read live from the register
-- when shown, and only the fact that they were shown is kept (pseudonymised).

-- One run of the matcher, by schedule or by staff. Counts only: nobody can be read out of it.
CREATE TABLE mentor_rounds (
    id              bigserial   PRIMARY KEY,
    trigger         text        NOT NULL CHECK (trigger IN ('schedule', 'staff')),
    started_by      text        NOT NULL,     -- staff subject or the job's name
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    mentees_in_pool integer,
    mentors_in_pool integer,
    free_slots      integer,
    proposed        integer,
    mean_score      real
);

CREATE TABLE mentor_proposals (
    id                 uuid        PRIMARY KEY,
    round_id           bigint      NOT NULL REFERENCES mentor_rounds (id),
    mentee_id          text        NOT NULL CHECK (mentee_id <> ''),
    mentor_id          text        NOT NULL CHECK (mentor_id <> ''),
    score              real        NOT NULL CHECK (score BETWEEN 0 AND 1),
    parts              jsonb       NOT NULL,     -- {"topics": 0.4, ...} weighted contributions
    reasons            text[]      NOT NULL,     -- stable codes, biggest contribution first
    shared_topics      text[]      NOT NULL,
    status             text        NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'accepted', 'declined', 'expired', 'withdrawn')),
    mentee_answer      text        CHECK (mentee_answer IN ('accepted', 'declined')),
    mentor_answer      text        CHECK (mentor_answer IN ('accepted', 'declined')),
    mentee_answered_at timestamptz,
    mentor_answered_at timestamptz,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    closed_at          timestamptz,
    CHECK (mentee_id <> mentor_id),
    CHECK ((status = 'open') = (closed_at IS NULL))
);
-- A mentee has at most one open proposal; a pair is proposed once, ever (declined, expired or
-- accepted pairs are not offered again).
CREATE UNIQUE INDEX mentor_proposals_open_mentee ON mentor_proposals (mentee_id)
    WHERE status = 'open';
CREATE UNIQUE INDEX mentor_proposals_pair ON mentor_proposals (mentee_id, mentor_id);
CREATE INDEX mentor_proposals_mentor ON mentor_proposals (mentor_id, status);
CREATE INDEX mentor_proposals_expiry ON mentor_proposals (expires_at) WHERE status = 'open';

-- An accepted proposal becomes a mentorship; it ends when either side ends it.
CREATE TABLE mentorships (
    id          uuid        PRIMARY KEY,      -- the proposal's id
    mentee_id   text        NOT NULL,
    mentor_id   text        NOT NULL,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    ended_by    text        CHECK (ended_by IN ('mentee', 'mentor', 'withdrawal', 'membership')),
    CHECK ((ended_at IS NULL) = (ended_by IS NULL))
);
CREATE UNIQUE INDEX mentorships_active_mentee ON mentorships (mentee_id) WHERE ended_at IS NULL;
CREATE INDEX mentorships_mentor ON mentorships (mentor_id) WHERE ended_at IS NULL;

-- A member's private word on a mentorship: seen by nobody else; staff see only averages.
CREATE TABLE mentorship_feedback (
    mentorship_id uuid        NOT NULL REFERENCES mentorships (id) ON DELETE CASCADE,
    member_id     text        NOT NULL,
    rating        smallint    NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment       text        CHECK (comment IS NULL OR length(comment) <= 1000),
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (mentorship_id, member_id)
);

-- The audit trail (S2, R9): who touched which member's data, what category, why, when. The
-- member is a pseudonym (HMAC-SHA256 under PSEUDONYM_KEY), never the data itself.
CREATE TABLE audit_events (
    id               bigserial   PRIMARY KEY,
    at               timestamptz NOT NULL DEFAULT now(),
    member_pseudonym text        NOT NULL,
    actor_kind       text        NOT NULL CHECK (actor_kind IN ('member', 'staff', 'job')),
    actor            text        NOT NULL,   -- member pseudonym, staff subject, or job name
    category         text        NOT NULL,
    action           text        NOT NULL,
    purpose          text        NOT NULL
);
CREATE INDEX audit_events_member ON audit_events (member_pseudonym, at DESC);
CREATE INDEX audit_events_at ON audit_events (at);
