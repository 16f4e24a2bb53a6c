"""The salary-statistics job: computes the figures of every closed round that lacks them.

Runs on a schedule (Cloud Scheduler), so a round's statistics are ready soon after it closes
and again soon after a deletion threw them away; a member request that finds them missing
computes them itself. Idempotent: a round with current figures is skipped.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..core import db
from ..core.http import Api, Reply, Request
from . import statistics

api = Api()


@api.post("/jobs/salary-statistics")
def run(request: Request) -> Reply:
    now = datetime.now(timezone.utc)
    due = [r[0] for r in db.fetch_all(
        "SELECT r.year FROM salary_rounds r LEFT JOIN salary_statistic_runs s USING (year) "
        "WHERE r.closes_at <= %s AND s.year IS NULL ORDER BY r.year", (now,))]
    for year in due:  # one transaction per round: a failure keeps the rounds already done
        db.transaction(lambda cur, y=year: statistics.ensure(cur, y, now))
    return Reply({"computed": due})
