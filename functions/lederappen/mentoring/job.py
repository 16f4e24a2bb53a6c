"""The mentor-matching job: every morning, expire what ran out and propose new pairs (F7).

Cloud Scheduler calls it once a day; it runs the same round as the coordinator's button
(`admin.run_round`), so a sign-up waits at most a day for a proposal and an expired proposal
frees its mentor's place for the next morning. Safe to run twice: the second round finds the
pool already proposed to (one open proposal per mentee, slots taken by open proposals).
"""

from __future__ import annotations

from ..core.http import Api, Reply, Request
from . import rounds
from .admin import run_round

api = Api()


@api.post("/jobs/mentor-matching")
def run(request: Request) -> Reply:
    return Reply(run_round(request.settings, trigger="schedule", started_by=rounds.JOB))
