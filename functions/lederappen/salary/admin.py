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
from ..core.http import (
    ETAG,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    Api,
    Out,
    Reply,
    Request,
    etag,
    require_if_match,
)
from ..core.problems import NotFound
from ..core.validation import Body, Timestamp
from . import service
from .api import path_year
from .schemas import (
    YEAR_PARAM,
    SalaryAnswerCounts,
    SalaryRound,
    SalaryRoundAdmin,
    SalaryRoundAdminList,
)

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


@api.post(
    "/v1/admin/salary-rounds",
    body=RoundDraft,
    operation_id="createSalaryRound",
    summary=(
        "Survey manager: create the round of a year, with its dates and the optional questions it"
        " asks."
    ),
    response=Out(SalaryRound, "Created", headers=(ETAG,)),
    status=201,
    errors={503: None, 409: ("There is already a round for that year (type .../conflict).", None)},
    headers=(IDEMPOTENCY_KEY,),
)
def create_round(request: Request) -> Reply:
    """Needs a staff token with role `survey_manager`. Staff never see an answer: only how many
    there are, and the same published statistics as members.
    """
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


@api.get(
    "/v1/admin/salary-rounds",
    operation_id="listSalaryRoundsAdmin",
    summary=(
        "Survey manager: every round, newest first, with how many have answered (a count only)."
    ),
    response=SalaryRoundAdminList,
    returns="All rounds",
    errors=(503,),
)
def list_rounds(request: Request) -> Reply:
    now = _now()
    return Reply({"items": db.read(lambda cur: _with_counts(cur, service.list_rounds(cur, now)))})


@api.patch(
    "/v1/admin/salary-rounds/{year}",
    body=RoundChanges,
    operation_id="updateSalaryRound",
    summary=(
        "Survey manager: change a round that has not closed: its title and closing time, and "
        "before it opens also its opening time and questions."
    ),
    response=Out(SalaryRoundAdmin, "Changed", headers=(ETAG,)),
    errors={
        412: None,
        428: None,
        503: None,
        409: (
            (
                "The round is closed, or opens_at or questions change after it opened (type "
                ".../conflict)."
            ),
            None,
        ),
    },
    headers=(IF_MATCH,),
    path_params={"year": YEAR_PARAM},
)
def update_round(request: Request) -> Reply:
    """Needs If-Match with the round's ETag. A closed round's figures are final: 409. Changing
    opens_at or questions once the round has opened: 409.
    """
    year = path_year(request)
    c: RoundChanges = request.body
    changes = {k: val for k, val in msgspec.structs.asdict(c).items() if val is not None}
    if c.title is not None:
        changes["title"] = msgspec.structs.asdict(c.title)

    def work(cur):
        version = service.lock_round(cur, year)
        if version is None:
            raise NotFound()
        require_if_match(request, version)
        view = service.update_round(cur, year, changes, _now())
        return _with_counts(cur, [view])[0]

    view = db.transaction(work)
    return Reply(view, headers={"ETag": etag(view["version"])})


@api.get(
    "/v1/admin/salary-rounds/{year}/answer-counts",
    operation_id="getSalaryRoundAnswerCounts",
    summary=(
        "Survey manager: new answers per day since the round opened, and the running total "
        "(counts only)."
    ),
    response=SalaryAnswerCounts,
    returns="Answers per day",
    errors=(
        422,
        503,
    ),
    path_params={"year": YEAR_PARAM},
)
def answer_counts(request: Request) -> Reply:
    """Needs a staff token with role `survey_manager`. Days are dates in Norway (Europe/Oslo),
    from the opening day to the closing day or today, whichever comes first (none for an
    upcoming round); an answer counts on the day it was first submitted, while it exists. No
    answer and no one member's time is shown.
    """
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
