-- The audit trail (S2) records that the salary-statistics job read a member's answer. A round's
-- figures are computed again after every change that affects them (an erasure, a restriction),
-- which at 175,000 members could be daily: an entry per answer per computation would bury the
-- member's trail in copies of the same fact. Instead this table remembers when each answer's
-- use was last audited; a computation audits the answers it reads that were never audited,
-- or not within the last year, so the trail (kept two years) shows the use for as long as it
-- goes on, once a year at most per answer.
--
-- Its own narrow table rather than a column of salary_answers: marking 212,000 answers then
-- costs an insert of three narrow columns (1.4 s) instead of rewriting every wide answer row
-- and teaching the statistics triggers that this UPDATE changes nothing (5.2 s), and the
-- answers and their triggers stay as they were. It goes with its answer (ON DELETE CASCADE).
CREATE TABLE salary_statistics_uses (
    year        integer     NOT NULL,
    member_id   text        NOT NULL,
    audited_at  timestamptz NOT NULL,
    PRIMARY KEY (year, member_id),
    FOREIGN KEY (year, member_id) REFERENCES salary_answers (year, member_id) ON DELETE CASCADE
);
CREATE INDEX salary_statistics_uses_member ON salary_statistics_uses (member_id);

-- A restriction stops the use of the answers and lifting it starts it again: either way the
-- marks go, so the first computation after the lifting is audited as a new use.
CREATE OR REPLACE FUNCTION salary_statistics_invalidate_members() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(74612360, y) FROM (SELECT DISTINCT a.year AS y
        FROM salary_answers a JOIN changed_rows c ON c.member_id = a.member_id ORDER BY 1) affected;
    DELETE FROM salary_statistic_runs WHERE year IN
        (SELECT a.year FROM salary_answers a JOIN changed_rows c ON c.member_id = a.member_id);
    DELETE FROM salary_statistics_uses WHERE member_id IN (SELECT member_id FROM changed_rows);
    RETURN NULL;
END $$;
