"""HTTP endpoints of the salary-releases function: the releases of a round's statistics (F6).

The survey manager lists a closed round's releases, reads every table of any of them (earlier
releases stay readable for the audit; members read the latest), and makes a correction: a new
release from the answers as they are now, refused with 409 while it would differ from any
earlier release by 1..4 persons in a cell (statistics.publish). This is the only staff function
that reads answers, and only to aggregate them, which is why it is a function of its own: the
salary-admin function is not granted the answers table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from ..core import db, idempotency
from ..core.http import IDEMPOTENCY_KEY, Api, Reply, Request
from ..core.problems import Conflict, NotFound
from ..core.times import rfc3339
from ..core.validation import Body
from . import service, statistics
from .api import _META, parse_dimensions, parse_filters, path_year
from .schemas import (
    YEAR_PARAM,
    GetSalaryReleaseStatisticsQuery,
    SalaryCorrectionProblem,
    SalaryDimensionsProblem,
    SalaryRelease,
    SalaryReleaseList,
    SalaryReleaseStatistics,
)

api = Api()

Reason = Annotated[str, msgspec.Meta(min_length=10, max_length=500)]


class ReleaseReason(Body):
    nb: Reason
    en: Reason


class ReleaseCorrection(Body):
    """Why the round is published again (members and the audit read it)."""

    reason: ReleaseReason


def _now() -> datetime:
    return datetime.now(UTC)


def _release_view(row) -> dict:
    release, released_at, kind, reason_nb, reason_en, method = row
    return {
        "release": release,
        "released_at": rfc3339(released_at),
        "kind": kind,
        "reason": {"nb": reason_nb, "en": reason_en} if reason_nb else None,
        "method": method,
    }


def _closed_round(cur, year: int, now: datetime) -> None:
    rnd = service.get_round(cur, year, now)
    if rnd["status"] != "closed":
        raise Conflict(
            {
                "nb": "Runden er ikke stengt, så den har ingen utgaver.",
                "en": "The round has not closed, so it has no releases.",
            },
            round_status=rnd["status"],
        )


@api.get(
    "/v1/admin/salary-rounds/{year}/releases",
    operation_id="listSalaryReleases",
    summary="Survey manager: the releases of a closed round's statistics.",
    response=SalaryReleaseList,
    returns="The releases",
    errors={
        422: None,
        503: None,
        409: ("The round has not closed (type .../conflict, with `round_status`).", None),
    },
    path_params={"year": YEAR_PARAM},
)
def list_releases(request: Request) -> Reply:
    """Needs a staff token with role `survey_manager`. Releases never change; members read the
    latest.
    """
    year, now = path_year(request), _now()

    def work(cur):
        _closed_round(cur, year, now)
        return [_release_view(r) for r in statistics.releases(cur, year)]

    return Reply({"year": year, "items": db.read(work)})


@api.post(
    "/v1/admin/salary-rounds/{year}/releases",
    body=ReleaseCorrection,
    operation_id="correctSalaryRelease",
    summary=(
        "Survey manager: publish a correction of a closed round as a new release, from its "
        "answers as they are now."
    ),
    response=SalaryRelease,
    returns="Published",
    status=201,
    errors={
        503: None,
        409: (
            (
                "The round has not closed or has no release yet, or the correction would differ "
                "from an earlier release by 1 to 4 persons in some cell (type .../conflict, with "
                "`compared_with`, `cells` and `tables`)."
            ),
            SalaryCorrectionProblem,
        ),
    },
    headers=(IDEMPOTENCY_KEY,),
    path_params={"year": YEAR_PARAM},
)
def correct(request: Request) -> Reply:
    """The new release is kept beside the earlier ones and members read it from then on. It is
    refused (409) while any cell a member could read differently would differ from the same
    cell of any earlier release by 1 to 4 persons: comparing the two would single those
    persons out. Change at least 5 answers in every affected group, or none.
    """
    year, now = path_year(request), _now()
    body: ReleaseCorrection = request.body

    def work(cur) -> Reply:
        _closed_round(cur, year, now)
        number = statistics.publish(cur, year, now, msgspec.structs.asdict(body.reason))
        [row] = statistics.releases(cur, year, number)
        return Reply({"year": year, **_release_view(row)}, status=201)

    return idempotency.run(request, msgspec.json.encode(body), work)


@api.get(
    "/v1/admin/salary-rounds/{year}/releases/{release}/statistics",
    operation_id="getSalaryReleaseStatistics",
    summary="Survey manager: a table of any release of a round, for the audit.",
    response=SalaryReleaseStatistics,
    returns="The table's cells in that release",
    errors={
        503: None,
        422: (
            (
                "Invalid content (type .../validation-failed): `dimensions` not a published table"
                " (with `allowed_dimensions`), a filter not in `dimensions` (`not_in_dimensions`)"
                " or with an unknown value (`enum`), or `year` not a year."
            ),
            SalaryDimensionsProblem,
        ),
    },
    path_params={
        "year": YEAR_PARAM,
        "release": Annotated[int, msgspec.Meta(ge=1)],
    },
    query=GetSalaryReleaseStatisticsQuery,
)
def release_statistics(request: Request) -> Reply:
    """The same table members read, as it was published in that release."""
    year = path_year(request)
    raw = request.params["release"]
    if not raw.isdigit() or len(raw) > 6:
        raise NotFound()
    release = int(raw)
    dims = parse_dimensions(request.query.get("dimensions"))
    filters = parse_filters(request.query, dims)

    def work(cur):
        row = next(iter(statistics.releases(cur, year, release)), None)
        if row is None:
            raise NotFound(
                {
                    "nb": "Ingen slik utgave av statistikken.",
                    "en": "No such release of the statistics.",
                }
            )
        return row, statistics.read_table(cur, year, release, dims)

    row, cells = db.read(work)
    return Reply(
        {
            "year": year,
            **_release_view(row),
            "dimensions": list(dims),
            "cells": statistics.select(cells, filters),
            **_META,
        }
    )
