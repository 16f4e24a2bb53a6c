"""The salary-statistics job: publishes the first release of every closed round without one.

Runs on a schedule (Cloud Scheduler), so a round's statistics are ready soon after it closes;
a member request that finds a closed round unpublished publishes it itself. Idempotent: a
round with a release is skipped (releases never change; corrections are the survey manager's).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from ..core import db
from ..core.http import Api, Reply, Request
from . import statistics

api = Api()


@api.post("/jobs/salary-statistics")
def run(request: Request) -> Reply:
    now = datetime.now(UTC)
    due = db.read(lambda cur: statistics.rounds_to_release(cur, now))
    for year in due:  # one transaction per round: a failure keeps the rounds already done
        db.transaction(functools.partial(statistics.ensure, year=year, now=now))
    return Reply({"computed": due})
