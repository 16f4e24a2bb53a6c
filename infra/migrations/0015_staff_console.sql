-- The staff console (issue 23).
--
-- Answers per day of a salary round, for the survey manager's chart of answers over time
-- (GET /v1/admin/salary-rounds/{year}/answer-counts). Like salary_answer_counts (0004), a
-- view over the answers that staff functions are granted instead of the answers table: it
-- holds counts only, never a member key, an answer or one answer's timestamp. The day is the
-- date in Norway of the answer's first submission (created_at; a change keeps it), so a
-- deleted answer leaves its day's count.
CREATE VIEW salary_answer_days AS
    SELECT year, (created_at AT TIME ZONE 'Europe/Oslo')::date AS day, count(*)::integer AS answers
    FROM salary_answers GROUP BY year, (created_at AT TIME ZONE 'Europe/Oslo')::date;

-- Staff console sessions ended by signing out (console/revocation.py): the session cookie is
-- signed, not stored, so a copy taken before sign-out is refused only because its id is
-- here, until the session would have expired anyway. A hash of the id; no member data.
CREATE TABLE console_revoked_sessions (
    session_hash text        PRIMARY KEY CHECK (session_hash ~ '^[0-9a-f]{64}$'),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX console_revoked_sessions_expiry ON console_revoked_sessions (expires_at);
