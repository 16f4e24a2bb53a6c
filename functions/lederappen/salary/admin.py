"""HTTP endpoints of the salary-admin function: staff run the survey rounds (F6).

Staff create and adjust rounds and see how many have answered, in all and per day since a
round opened (counts from views over the answers, never the answers table). No staff endpoint
reads an answer or when one member answered: staff see the same published statistics as
members, nothing more.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from ..core import db, idempotency
from ..core.http import Api, Reply, Request, etag, require_if_match
from ..core.problems import NotFound
from ..core.validation import Body, Timestamp
from . import service
from .api import path_year

api = Api()

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Question = Annotated[str, msgspec.Meta(max_length=64)]
Year = Annotated[int, msgspec.Meta(ge=2000, le=2100)]


class Title(Body):
    nb: Text
    en: Text


class RoundDraft(Body):
    year: Year
    title: Title
    opens_at: Timestamp
    closes_at: Timestamp
    questions: Annotated[list[Question], msgspec.Meta(max_length=20)]


class RoundChanges(Body):
    title: Title | None = None
    opens_at: Timestamp | None = None
    closes_at: Timestamp | None = None
    questions: Annotated[list[Question], msgspec.Meta(max_length=20)] | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _with_counts(cur, rounds: list[dict]) -> list[dict]:
    counts = service.answer_counts(cur)
    for r in rounds:
        r["answers"] = counts.get(r["year"], 0)
    return rounds


@api.post("/v1/admin/salary-rounds", body=RoundDraft)
def create_round(request: Request) -> Reply:
    d: RoundDraft = request.body

    def work(cur) -> Reply:
        view = service.create_round(
            cur,
            year=d.year,
            title=msgspec.structs.asdict(d.title),
            opens_at=d.opens_at,
            closes_at=d.closes_at,
            questions=d.questions,
            now=_now(),
        )
        return Reply(view, status=201, headers={"ETag": etag(view["version"])})

    return idempotency.run(request, msgspec.json.encode(d), work)


@api.get("/v1/admin/salary-rounds")
def list_rounds(request: Request) -> Reply:
    now = _now()
    return Reply({"items": db.read(lambda cur: _with_counts(cur, service.list_rounds(cur, now)))})


@api.patch("/v1/admin/salary-rounds/{year}", body=RoundChanges)
def update_round(request: Request) -> Reply:
    year = path_year(request)
    c: RoundChanges = request.body
    changes = {k: val for k, val in msgspec.structs.asdict(c).items() if val is not None}
    if c.title is not None:
        changes["title"] = msgspec.structs.asdict(c.title)

    def work(cur):
        cur.execute("SELECT version FROM salary_rounds WHERE year = %s FOR UPDATE", (year,))
        row = cur.fetchone()
        if row is None:
            raise NotFound()
        require_if_match(request, row[0])
        view = service.update_round(cur, year, changes, _now())
        return _with_counts(cur, [view])[0]

    view = db.transaction(work)
    return Reply(view, headers={"ETag": etag(view["version"])})


@api.get("/v1/admin/salary-rounds/{year}/answer-counts")
def answer_counts(request: Request) -> Reply:
    """New answers per day (Norwegian dates) since the round opened, and the running total."""
    year = path_year(request)
    found = db.read(lambda cur: service.answer_days(cur, year, _now()))
    if found is None:
        raise NotFound()
    view, days = found
    return Reply(
        {
            "year": year,
            "opens_at": view["opens_at"],
            "closes_at": view["closes_at"],
            "status": view["status"],
            "time_zone": "Europe/Oslo",
            "total": days[-1]["cumulative"] if days else 0,
            "days": days,
        }
    )
