-- The audit trail (S2) records that the salary-statistics job read a member's answer. A round's
-- figures are computed again after every change that affects them (an erasure, a restriction),
-- which at 175,000 members could be daily: an entry per answer per computation would bury the
-- member's trail in copies of the same fact. Instead the answer remembers when its use in the
-- statistics was last audited; a computation audits the answers it reads that were never
-- audited, or not within the last year, so the trail (kept two years) always shows the use for
-- as long as it goes on, and once a year at most per answer.
ALTER TABLE salary_answers ADD COLUMN statistics_audited_at timestamptz;

-- Setting that mark is not a change to the answer: the figures stay current. The update
-- trigger now compares each row before and after, leaving the mark out, instead of
-- throwing the round's figures away on any UPDATE.
CREATE FUNCTION salary_statistics_invalidate_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    years integer[];
BEGIN
    -- (year, member_id) is the primary key; an UPDATE that changes it changes both rounds,
    -- seen as an old row without a new one and a new row without an old one.
    SELECT array_agg(DISTINCT coalesce(o.year, n.year)) INTO years
        FROM old_rows o FULL JOIN new_rows n USING (year, member_id)
        WHERE o.year IS NULL OR n.year IS NULL
           OR to_jsonb(o) - 'statistics_audited_at' IS DISTINCT FROM
              to_jsonb(n) - 'statistics_audited_at';
    IF years IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(74612360, y)
        FROM (SELECT unnest(years) AS y ORDER BY 1) affected;
    DELETE FROM salary_statistic_runs WHERE year = ANY (years);
    RETURN NULL;
END $$;

DROP TRIGGER salary_answers_updated ON salary_answers;
CREATE TRIGGER salary_answers_updated AFTER UPDATE ON salary_answers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION salary_statistics_invalidate_changed();

-- A restriction stops the use of the answers and lifting it starts it again: either way the
-- mark is cleared, so the first computation after the lifting is audited as a new use.
CREATE OR REPLACE FUNCTION salary_statistics_invalidate_members() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(74612360, y) FROM (SELECT DISTINCT a.year AS y
        FROM salary_answers a JOIN changed_rows c ON c.member_id = a.member_id ORDER BY 1) affected;
    DELETE FROM salary_statistic_runs WHERE year IN
        (SELECT a.year FROM salary_answers a JOIN changed_rows c ON c.member_id = a.member_id);
    UPDATE salary_answers SET statistics_audited_at = NULL
        WHERE member_id IN (SELECT member_id FROM changed_rows)
          AND statistics_audited_at IS NOT NULL;
    RETURN NULL;
END $$;
