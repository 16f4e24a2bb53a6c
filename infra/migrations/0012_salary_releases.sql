-- Salary statistics are published as releases that never change (F6, R9).
--
-- Until now a closed round's figures were thrown away and computed again whenever one answer
-- left the round (the member's delete, an erasure, the membership-end job, retention, a
-- restriction), so a table read before and after showed the difference of exactly one person.
-- Now a closed round is published once, as release 1; deleting, erasing, restricting or
-- retaining answers afterwards deletes the answers but does not republish. A correction is a
-- new release made by the survey manager, kept beside the earlier ones and refused while any
-- of its cells would differ from an earlier release's by 1..4 persons (salary/statistics.py).
-- A release holds aggregates only: no member key, no single answer.

DROP TRIGGER salary_answers_inserted ON salary_answers;
DROP TRIGGER salary_answers_updated ON salary_answers;
DROP TRIGGER salary_answers_deleted ON salary_answers;
DROP TRIGGER processing_restricted ON processing_restrictions;
DROP TRIGGER processing_restriction_lifted ON processing_restrictions;
DROP FUNCTION salary_statistics_invalidate_years();
DROP FUNCTION salary_statistics_invalidate_members();
DROP TABLE salary_statistic_tables;
DROP TABLE salary_statistic_runs;

-- A restriction stops the use of the answers in later releases and lifting it starts it
-- again: either way the audit marks (migration 0011) go, so the first release that uses the
-- answers after the lifting is audited as a new use.
CREATE FUNCTION salary_statistics_forget_uses() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    DELETE FROM salary_statistics_uses WHERE member_id IN (SELECT member_id FROM changed_rows);
    RETURN NULL;
END $$;

CREATE TRIGGER processing_restricted AFTER INSERT ON processing_restrictions
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION salary_statistics_forget_uses();
CREATE TRIGGER processing_restriction_lifted AFTER DELETE ON processing_restrictions
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION salary_statistics_forget_uses();

CREATE TABLE salary_releases (
    year         integer     NOT NULL REFERENCES salary_rounds (year),
    release      integer     NOT NULL CHECK (release >= 1),
    released_at  timestamptz NOT NULL,
    method       text        NOT NULL,
    -- 'first' (the round closed) or 'correction' (the survey manager, with a reason)
    kind         text        NOT NULL CHECK (kind IN ('first', 'correction')),
    reason_nb    text        CHECK (reason_nb <> ''),
    reason_en    text        CHECK (reason_en <> ''),
    -- Exact persons of every cell with at least five (cell key -> count). Never served: only
    -- the audit of a later correction reads it. Cells of 1..4 are not stored at all.
    cell_counts  jsonb       NOT NULL,
    PRIMARY KEY (year, release),
    CHECK ((kind = 'first') = (reason_nb IS NULL) AND (reason_nb IS NULL) = (reason_en IS NULL))
);

CREATE TABLE salary_release_tables (
    year         integer     NOT NULL,
    release      integer     NOT NULL,
    dimensions   text        NOT NULL,            -- canonical, comma-separated; '' is the whole round
    cells        jsonb       NOT NULL,
    PRIMARY KEY (year, release, dimensions),
    FOREIGN KEY (year, release) REFERENCES salary_releases (year, release)
);
