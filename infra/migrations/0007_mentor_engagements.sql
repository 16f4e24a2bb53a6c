-- Mentor engagement (F7): a member's voluntary sign-up as mentor and/or mentee, in their own
-- words. One of the three kinds of data the app stores (the policy's section 8), so it holds
-- only what matching needs and is deleted when the member withdraws.
CREATE TABLE mentor_engagements (
    member_id        text        NOT NULL CHECK (member_id <> ''),
    role             text        NOT NULL CHECK (role IN ('mentor', 'mentee')),
    topics           text[]      NOT NULL CHECK (cardinality(topics) BETWEEN 1 AND 10),
    industry         text,                        -- NACE section letter
    county           text,                        -- county number
    position_level   text        CHECK (position_level IN ('first_line', 'middle', 'senior',
                                                          'executive')),
    years_as_manager integer     CHECK (years_as_manager BETWEEN 0 AND 60),
    formats          text[]      NOT NULL CHECK (cardinality(formats) >= 1),
    languages        text[]      NOT NULL CHECK (cardinality(languages) >= 1),
    capacity         integer     CHECK ((role = 'mentor') = (capacity IS NOT NULL)
                                        AND (capacity IS NULL OR capacity BETWEEN 1 AND 10)),
    presentation     text        CHECK (presentation IS NULL OR length(presentation) <= 1000),
    version          integer     NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, role)
);
CREATE INDEX mentor_engagements_role ON mentor_engagements (role, member_id);
