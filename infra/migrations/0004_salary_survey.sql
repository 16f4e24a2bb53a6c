-- Salary survey (F6). One round per year; staff choose which optional questions it asks.
-- No member data in this table.
CREATE TABLE salary_rounds (
    year        integer     PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
    title_nb    text        NOT NULL,
    title_en    text        NOT NULL,
    opens_at    timestamptz NOT NULL,
    closes_at   timestamptz NOT NULL,
    questions   text[]      NOT NULL,
    version     integer     NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (closes_at > opens_at)
);

-- A member's voluntary answer to one round: salary data for statistics only. Keyed by the
-- member key and never stored beside profile fields. The bands the statistics group by are
-- generated from the answer, so the grouping can never disagree with what was answered.
CREATE TABLE salary_answers (
    year               integer     NOT NULL REFERENCES salary_rounds (year),
    member_id          text        NOT NULL CHECK (member_id <> ''),
    base_monthly       integer     NOT NULL CHECK (base_monthly BETWEEN 5000 AND 1000000),
    bonus_annual       integer     CHECK (bonus_annual BETWEEN 0 AND 20000000),
    other_annual       integer     CHECK (other_annual BETWEEN 0 AND 20000000),
    position_level     text        NOT NULL CHECK (position_level IN
                                     ('first_line', 'middle', 'senior', 'executive')),
    people_managed     integer     CHECK (people_managed BETWEEN 0 AND 100000),
    sector             text        NOT NULL CHECK (sector IN ('private', 'public', 'other')),
    nace               text        NOT NULL CHECK (nace ~ '^[A-U]$'),
    county             text        NOT NULL CHECK (county ~ '^[0-9]{2}$'),
    experience_years   integer     CHECK (experience_years BETWEEN 0 AND 60),
    age_band           text        CHECK (age_band IN ('under_30', '30_39', '40_49', '50_59', '60_plus')),
    gender             text        CHECK (gender IN ('female', 'male', 'other')),
    weekly_hours       numeric(4, 1) CHECK (weekly_hours BETWEEN 1 AND 100),
    total_annual       integer     GENERATED ALWAYS AS
                         (base_monthly * 12 + coalesce(bonus_annual, 0) + coalesce(other_annual, 0)) STORED,
    experience         text        GENERATED ALWAYS AS (CASE
                         WHEN experience_years IS NULL THEN NULL
                         WHEN experience_years < 5 THEN '0_4'
                         WHEN experience_years < 10 THEN '5_9'
                         WHEN experience_years < 20 THEN '10_19'
                         WHEN experience_years < 30 THEN '20_29'
                         ELSE '30_plus' END) STORED,
    managed            text        GENERATED ALWAYS AS (CASE
                         WHEN people_managed IS NULL THEN NULL
                         WHEN people_managed = 0 THEN 'none'
                         WHEN people_managed < 5 THEN '1_4'
                         WHEN people_managed < 10 THEN '5_9'
                         WHEN people_managed < 50 THEN '10_49'
                         ELSE '50_plus' END) STORED,
    working_time       text        GENERATED ALWAYS AS (CASE
                         WHEN weekly_hours IS NULL THEN NULL
                         WHEN weekly_hours >= 35 THEN 'full_time'
                         ELSE 'part_time' END) STORED,
    version            integer     NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (year, member_id)
);
CREATE INDEX salary_answers_member ON salary_answers (member_id);

-- Published statistics of a closed round, computed with disclosure control (salary/disclosure.py).
-- Aggregates only: no member key, no single answer. A run row says the figures are current;
-- deleting an answer of that round (or restricting its owner) deletes the run and its tables
-- in the same transaction, so no published figure ever still contains it.
CREATE TABLE salary_statistic_runs (
    year         integer     PRIMARY KEY REFERENCES salary_rounds (year),
    computed_at  timestamptz NOT NULL,
    method       text        NOT NULL
);

CREATE TABLE salary_statistic_tables (
    year         integer     NOT NULL REFERENCES salary_statistic_runs (year) ON DELETE CASCADE,
    dimensions   text        NOT NULL,            -- canonical, comma-separated; '' is the whole round
    cells        jsonb       NOT NULL,
    PRIMARY KEY (year, dimensions)
);

-- What staff may see of the answers: how many there are per round. The salary-admin function
-- is granted this view, not the answers table.
CREATE VIEW salary_answer_counts AS
    SELECT year, count(*)::integer AS answers FROM salary_answers GROUP BY year;

-- No published figure may still contain an answer that was deleted or changed, or one whose
-- owner's processing is now restricted. Rather than trusting every code path (the member's
-- delete, erasure, the membership-end job, retention, a restriction) to remember, any change
-- to the answers or the restrictions throws away the affected rounds' figures in the same
-- transaction; they are computed again without it. Statement-level, so a bulk load pays once.
-- A computation holds pg_advisory_xact_lock(74612360, year) (salary/statistics.py) and these
-- triggers its shared form, so a deletion waits for a computation in progress and then throws
-- its result away, and a computation waits for a deletion to commit and then leaves it out.
CREATE FUNCTION salary_statistics_invalidate_years() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(74612360, y)
        FROM (SELECT DISTINCT year AS y FROM changed_rows ORDER BY 1) affected;
    DELETE FROM salary_statistic_runs WHERE year IN (SELECT year FROM changed_rows);
    RETURN NULL;
END $$;

CREATE FUNCTION salary_statistics_invalidate_members() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(74612360, y) FROM (SELECT DISTINCT a.year AS y
        FROM salary_answers a JOIN changed_rows c ON c.member_id = a.member_id ORDER BY 1) affected;
    DELETE FROM salary_statistic_runs WHERE year IN
        (SELECT a.year FROM salary_answers a JOIN changed_rows c ON c.member_id = a.member_id);
    RETURN NULL;
END $$;

CREATE TRIGGER salary_answers_inserted AFTER INSERT ON salary_answers
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION salary_statistics_invalidate_years();
CREATE TRIGGER salary_answers_updated AFTER UPDATE ON salary_answers
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION salary_statistics_invalidate_years();
CREATE TRIGGER salary_answers_deleted AFTER DELETE ON salary_answers
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION salary_statistics_invalidate_years();
CREATE TRIGGER processing_restricted AFTER INSERT ON processing_restrictions
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION salary_statistics_invalidate_members();
CREATE TRIGGER processing_restriction_lifted AFTER DELETE ON processing_restrictions
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION salary_statistics_invalidate_members();
