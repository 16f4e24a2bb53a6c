-- Reserved for issue 17's migration 0012 (salary releases). This branch (issue 18) needs
-- 0013, and the migrator wants versions 1..N without gaps, so this placeholder stands in
-- until the merge. DELETE THIS FILE WHEN MERGING issue 17's 0012.
SELECT 1;
