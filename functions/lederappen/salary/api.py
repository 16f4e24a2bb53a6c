"""HTTP endpoints of the salary function: rounds, the member's own answer, statistics (F6).

There is no route that takes a member id: an answer is always the caller's own, so another
member's answer cannot even be addressed (it is simply not found).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from ..core import db, restriction
from ..core.http import ETAG, Api, Header, Out, Reply, Request, etag, require_if_match
from ..core.problems import Conflict, NotFound, ValidationFailed
from ..core.times import rfc3339
from ..core.validation import Body, field_error
from . import disclosure, service, statistics
from . import vocabulary as v
from .schemas import (
    YEAR_PARAM,
    GetSalaryPositionQuery,
    GetSalaryStatisticsQuery,
    GetSalaryTrendQuery,
    SalaryAnswer,
    SalaryDimensions,
    SalaryDimensionsProblem,
    SalaryPosition,
    SalaryRestrictedProblem,
    SalaryRoundDetail,
    SalaryRoundList,
    SalaryRoundNotOpenProblem,
    SalaryRoundOpenProblem,
    SalaryStatistics,
    SalaryTrend,
)

api = Api()

Choice = Annotated[str, msgspec.Meta(max_length=32)]


class Answer(Body):
    """One round's answer. Ranges and vocabularies are checked by service.validate."""

    notice_acknowledged: bool
    base_monthly_salary: int | None = None
    annual_bonus: int | None = None
    other_annual_pay: int | None = None
    position_level: Choice | None = None
    people_managed: int | None = None
    sector: Choice | None = None
    nace: Choice | None = None
    county: Choice | None = None
    years_experience: int | None = None
    age_band: Choice | None = None
    gender: Choice | None = None
    weekly_hours: float | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _year(raw: str | None, field: str = "year") -> int | None:
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 2000 <= int(raw) <= 2100:
        raise field_error(field, "range", "Må være et årstall.", "Must be a year.")
    return int(raw)


def path_year(request: Request) -> int:
    year = _year(request.params["year"])
    if year is None:
        raise NotFound()
    return year


# ---------------------------------------------------------------------------------------
# Rounds and the member's own answer
# ---------------------------------------------------------------------------------------


@api.get(
    "/v1/salary/rounds",
    operation_id="listSalaryRounds",
    summary=(
        "The salary survey's rounds, newest first, with whether the member has answered each and "
        "whether its statistics are published (F6)."
    ),
    response=SalaryRoundList,
    returns="Rounds and the notice shown before answering",
    errors=(503,),
)
def list_rounds(request: Request) -> Reply:
    now = _now()

    def work(cur):
        rounds = service.list_rounds(cur, now)
        mine = service.answered_years(cur, request.member_id)
        for r in rounds:
            r["answered"] = r["year"] in mine
            r["statistics_available"] = r["status"] == "closed"
        return rounds

    return Reply({"items": db.read(work), "notice": v.NOTICE})


@api.get(
    "/v1/salary/rounds/{year}",
    operation_id="getSalaryRound",
    summary=(
        "One round with its questionnaire: the questions it asks, with labels, allowed values and"
        " ranges, and the notice to show before answering."
    ),
    response=SalaryRoundDetail,
    returns="The round",
    errors={503: None, 422: ("`year` is not a year (type .../validation-failed).", None)},
    path_params={"year": YEAR_PARAM},
)
def get_round(request: Request) -> Reply:
    year, now = path_year(request), _now()

    def work(cur):
        rnd = service.get_round(cur, year, now)
        rnd["answered"] = year in service.answered_years(cur, request.member_id)
        rnd["statistics_available"] = rnd["status"] == "closed"
        rnd["questionnaire"] = service.questionnaire(rnd["questions"])
        rnd["notice"] = v.NOTICE
        return rnd

    return Reply(db.read(work))


def _not_answered() -> NotFound:
    return NotFound(
        {
            "nb": "Du har ikke svart på denne undersøkelsen.",
            "en": "You have not answered this survey.",
        }
    )


@api.get(
    "/v1/salary/rounds/{year}/answer",
    operation_id="getSalaryAnswer",
    summary=(
        "The member's own answer to a round (readable at any time; there is no route to anyone "
        "else's)."
    ),
    response=Out(SalaryAnswer, "The answer", headers=(ETAG,)),
    errors={
        503: None,
        404: ("No such round, or the member has not answered it (type .../not-found).", None),
        422: ("`year` is not a year (type .../validation-failed).", None),
    },
    path_params={"year": YEAR_PARAM},
)
def get_answer(request: Request) -> Reply:
    year = path_year(request)
    answer = db.read(lambda cur: service.get_answer(cur, year, request.member_id))
    if answer is None:
        raise _not_answered()
    return Reply(answer, headers={"ETag": etag(answer["version"])})


@api.put(
    "/v1/salary/rounds/{year}/answer",
    body=Answer,
    operation_id="putSalaryAnswer",
    summary=(
        "Give or replace the member's answer while the round is open. Voluntary; used only for "
        "the statistics."
    ),
    response=Out(SalaryAnswer, "Replaced the earlier answer", headers=(ETAG,)),
    responses={
        201: Out(SalaryAnswer, "Answered (the first answer to this round)", headers=(ETAG,))
    },
    errors={
        412: None,
        428: None,
        503: None,
        404: ("No round for that year (type .../not-found).", None),
        409: (
            (
                "The round is not open for answers (type .../conflict); `round_status` says "
                "whether it is upcoming or closed."
            ),
            SalaryRoundNotOpenProblem,
        ),
    },
    headers=(
        Header(
            "If-Match",
            (
                'Optional: the ETag you read (`"0"` before the first answer); when the answer '
                "changed since, 412."
            ),
        ),
    ),
    path_params={"year": YEAR_PARAM},
)
def put_answer(request: Request) -> Reply:
    """The body is the whole answer. `notice_acknowledged` must be true. Every invalid field is
    named at once in the 422's `errors` (field, code, message). If-Match is optional: when
    sent (the answer's ETag, `"0"` before the first answer) a change from another device
    since gives 412. An upcoming or closed round gives 409 with `round_status`; a closed
    round's answer can still be read and deleted.
    """
    year, body, now = path_year(request), request.body, _now()
    if not body.notice_acknowledged:
        raise field_error(
            "notice_acknowledged",
            "required",
            "Du må bekrefte at du har lest hva svarene brukes til.",
            "Please confirm that you have read what the answers are used for.",
        )
    answer = {f: getattr(body, f) for f in service.FIELDS}

    def work(cur):
        if request.headers.get("If-Match") is not None:
            require_if_match(request, service.current_version(cur, year, request.member_id))
        return service.put_answer(cur, year, request.member_id, answer, now)

    view, created = db.transaction(work)
    return Reply(view, status=201 if created else 200, headers={"ETag": etag(view["version"])})


@api.delete(
    "/v1/salary/rounds/{year}/answer",
    operation_id="deleteSalaryAnswer",
    summary=(
        "Delete the member's answer to a round, at any time. A release of a closed round already "
        "published stays as it is (it identifies no one); later releases are made without the "
        "answer."
    ),
    response=None,
    returns="Deleted (or there was nothing to delete)",
    errors={503: None, 422: ("`year` is not a year (type .../validation-failed).", None)},
    path_params={"year": YEAR_PARAM},
)
def delete_answer(request: Request) -> Reply:
    """Idempotent: 204 also when there was no answer."""
    year = path_year(request)
    db.transaction(lambda cur: service.delete_answer(cur, year, request.member_id))
    return Reply(status=204)


# ---------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------


def _allowed() -> list[str]:
    return [v.table_key(t) for t in v.TABLES]


def parse_dimensions(raw: str | None) -> tuple[str, ...]:
    names = [d.strip() for d in (raw or "").split(",") if d.strip()]
    unknown = [d for d in names if d not in v.DIMENSIONS]
    dims = v.canonical(names) if not unknown else ()
    if unknown or len(set(names)) != len(names) or dims not in v.TABLES:
        allowed = _allowed()
        raise ValidationFailed(
            {
                "nb": "Denne kombinasjonen av grupperinger publiseres ikke.",
                "en": "This combination of groupings is not published.",
            },
            errors=[
                {
                    "field": "dimensions",
                    "code": "not_published",
                    "message": {
                        "nb": "Tillatte kombinasjoner: tom (hele undersøkelsen), "
                        + "; ".join(a for a in allowed if a)
                        + ".",
                        "en": "Allowed combinations: empty (the whole survey), "
                        + "; ".join(a for a in allowed if a)
                        + ".",
                    },
                }
            ],
            allowed_dimensions=allowed,
        )
    return dims


def parse_filters(query, dims: tuple[str, ...]) -> dict[str, str]:
    filters: dict[str, str] = {}
    errors = []
    for d in v.DIMENSIONS:
        value = query.get(d)
        if value is None:
            continue
        if d not in dims:
            errors.append(
                {
                    "field": d,
                    "code": "not_in_dimensions",
                    "message": {
                        "nb": "Kan bare filtrere på en gruppering i `dimensions`.",
                        "en": "Can only filter on a grouping in `dimensions`.",
                    },
                }
            )
        elif value not in v.DIMENSIONS[d]["values"]:
            allowed = ", ".join(v.DIMENSIONS[d]["values"])
            errors.append(
                {
                    "field": d,
                    "code": "enum",
                    "message": {
                        "nb": f"Ukjent verdi. Gyldige verdier: {allowed}.",
                        "en": f"Unknown value. Allowed values: {allowed}.",
                    },
                }
            )
        else:
            filters[d] = value
    if errors:
        raise ValidationFailed({"nb": "Ugyldig filter.", "en": "Invalid filter."}, errors=errors)
    return filters


_ONE_ROUND = statistics.ONE_ROUND
_ROUND = statistics.ROUND
_CLOSED_ROUNDS = statistics.CLOSED_ROUNDS

#: A round's latest release: its number, when it was released, and the cells of each table.
Release = tuple[int, datetime, dict[tuple[str, ...], list[dict]]]


def published_tables(
    which: str, params: tuple, tables: list[tuple[str, ...]], now: datetime
) -> dict[int, Release]:
    """Per round `which` selects (SQL over `r`, salary_rounds): its latest release and the
    cells of each of `tables`, in one query. A closed round not released yet is released
    first; one not closed yet is a 409."""
    keys = {v.table_key(dims): dims for dims in tables}
    rows = db.read(lambda cur: statistics.latest_release_tables(cur, which, params, list(keys)))
    out: dict[int, Release] = {}
    for year, opens_at, closes_at, release, released_at, key, cells in rows:
        if service.status(opens_at, closes_at, now) != "closed":
            raise Conflict(
                {
                    "nb": "Statistikken publiseres når undersøkelsen er stengt.",
                    "en": "Statistics are published when the survey has closed.",
                },
                closes_at=rfc3339(closes_at),
            )
        found = out.setdefault(year, (release, released_at, {}))[2]
        if key is not None:
            found[keys[key]] = cells
    for year in [y for y, (number, _, _) in out.items() if number is None]:

        def work(cur, y=year) -> Release:
            number, at = statistics.ensure(cur, y, now)
            return (
                number,
                at,
                {dims: statistics.read_table(cur, y, number, dims) for dims in tables},
            )

        out[year] = db.transaction(work)
    return out


def published_table(
    year: int | None, dims: tuple[str, ...], now: datetime
) -> tuple[int, int, datetime, list[dict]]:
    """A closed round's table in its latest release (the latest closed round's for no year)."""
    rounds = published_tables(_ONE_ROUND, (year, now), [dims], now)
    if not rounds:
        if year is None:
            raise NotFound(
                {
                    "nb": "Ingen lønnsstatistikk er publisert ennå.",
                    "en": "No salary statistics have been published yet.",
                }
            )
        raise NotFound(
            {
                "nb": "Ingen lønnsundersøkelse for dette året.",
                "en": "No salary survey for that year.",
            }
        )
    [(found_year, (release, released_at, cells))] = rounds.items()
    return found_year, release, released_at, cells[dims]


_META = {
    "rounding": dict(disclosure.MEASURES),
    "person_bands": [{"min": lo, "max": hi} for lo, hi in disclosure.COUNT_BANDS],
    "thresholds": {
        "count_median_mean": disclosure.MIN_PERSONS,
        "quartiles": disclosure.QUARTILE_MIN,
        "p10_p90": disclosure.DECILE_MIN,
    },
    "reasons": disclosure.REASONS,
}


@api.get(
    "/v1/salary/statistics",
    operation_id="getSalaryStatistics",
    summary=(
        "Published salary statistics of a closed round, for one table (the whole round, one "
        "dimension, or position level with one other), optionally narrowed to some groups."
    ),
    response=SalaryStatistics,
    returns="The table's cells",
    errors={
        503: None,
        404: (
            (
                "No round for that year, or (without `year`) no round has closed yet (type "
                ".../not-found)."
            ),
            None,
        ),
        409: (
            (
                "The round is not closed: statistics are published when it closes (type "
                ".../conflict, with `closes_at`)."
            ),
            SalaryRoundOpenProblem,
        ),
        422: (
            (
                "Invalid content (type .../validation-failed): `dimensions` not a published table"
                " (with `allowed_dimensions`), a filter not in `dimensions` (`not_in_dimensions`)"
                " or with an unknown value (`enum`), or `year` not a year."
            ),
            SalaryDimensionsProblem,
        ),
    },
    query=GetSalaryStatisticsQuery,
)
def get_statistics(request: Request) -> Reply:
    """Figures of closed rounds only, with statistical disclosure control so that no figure
    singles anyone out (published once per round as a release, from the answers of members
    whose processing is not restricted at that moment):  1. **Minimum persons.** A group is
    published only with at least 5 persons: then its band of persons (`persons`, never the
    exact count), median and mean. Quartiles need 9 persons, P10/P90 need 21; a statistic
    below its threshold is null and named in `withheld`. 2. **Dominance (2, 50 %).** A mean
    is withheld when the two largest answers make up more than half of the group's total.
    Totals are never published. 3. **Rounding.** Monthly amounts to the nearest NOK 1,000,
    annual amounts to the nearest NOK 10,000. 4. **No differencing.** Only fixed tables are
    published: the whole round, each dimension alone, and position level crossed with one
    other dimension (a star around position level; see GET
    /v1/salary/statistics/dimensions). A group is published only if every coarser group
    containing it is; and when the persons of a published group who are not in its published
    subgroups along a dimension (suppressed subgroups, or no answer, such as an unstated
    gender) would number 1 to 4, the smallest published subgroup is suppressed as well
    (complementary suppression, reason `protects_other_cells`). So no subtraction of
    published counts isolates fewer than 5 persons. 5. **Nothing solvable.** All tables of a
    release read together tie the counts of their cells to each other. The bands are chosen,
    and more cells hidden where needed, so that the exact integer programme over every table
    of every release of a round can neither pin the count of any hidden group nor prove a
    `too_few` group non-empty.  A suppressed group shows no count (an empty group and a
    group of 1 to 4 look the same). Open rounds publish nothing (409 with `closes_at`):
    figures that moved as members answered would reveal each new answer. A closed round is
    published once, as a release, and never changes: deleting an answer, erasure, the end of
    a membership, retention or a restriction afterwards deletes or stops using the answers
    but does not republish the round, because a table that changed when one person left
    would identify that person. A correction by the survey manager is a new release
    (`release`), refused while any cell would differ from an earlier release by 1 to 4
    persons.
    """
    dims = parse_dimensions(request.query.get("dimensions"))
    filters = parse_filters(request.query, dims)
    year, release, released_at, cells = published_table(
        _year(request.query.get("year")), dims, _now()
    )
    return Reply(
        {
            "year": year,
            "release": release,
            "released_at": rfc3339(released_at),
            "dimensions": list(dims),
            "cells": statistics.select(cells, filters),
            **_META,
        }
    )


@api.get(
    "/v1/salary/statistics/trend",
    operation_id="getSalaryTrend",
    summary="One group's published figures in every closed round, oldest first.",
    response=SalaryTrend,
    returns="The group's cell per closed round",
    errors={
        503: None,
        422: (
            (
                "Invalid content (type .../validation-failed): `dimensions` not a published table"
                " (with `allowed_dimensions`), a filter not in `dimensions` (`not_in_dimensions`)"
                " or with an unknown value (`enum`), or a dimension without a filter "
                "(`required`)."
            ),
            SalaryDimensionsProblem,
        ),
    },
    query=GetSalaryTrendQuery,
)
def get_trend(request: Request) -> Reply:
    """The group is given by `dimensions` and one filter per dimension in it (each required; no
    `dimensions` for the whole round). Each point is that group's cell in one round, under
    the same disclosure control as GET /v1/salary/statistics.
    """
    dims = parse_dimensions(request.query.get("dimensions"))
    filters = parse_filters(request.query, dims)
    missing = [d for d in dims if d not in filters]
    if missing:
        raise ValidationFailed(
            {
                "nb": "En utvikling gjelder én gruppe: oppgi en verdi for hver gruppering.",
                "en": "A trend is for one group: give a value for every grouping.",
            },
            errors=[
                {
                    "field": d,
                    "code": "required",
                    "message": {"nb": "Må fylles ut.", "en": "Required."},
                }
                for d in missing
            ],
        )
    now = _now()
    points = []
    for year, (release, _, tables) in published_tables(_CLOSED_ROUNDS, (now,), [dims], now).items():
        cell = statistics.select(tables[dims], filters)
        points.append(
            {"year": year, "release": release, **cell[0]}
            if cell
            else {"year": year, "release": release}
        )
    return Reply({"dimensions": list(dims), "group": filters, "points": points, **_META})


@api.get(
    "/v1/salary/statistics/dimensions",
    operation_id="getSalaryDimensions",
    summary=(
        "The dimensions the statistics group by, their values with labels, and the published "
        "tables (the allowed `dimensions`)."
    ),
    response=SalaryDimensions,
    returns="Dimensions and tables",
    errors=(503,),
)
def get_dimensions(request: Request) -> Reply:
    return Reply(
        {
            "tables": [list(t) for t in v.TABLES],
            "dimensions": [
                {
                    "id": d,
                    "label": spec["label"],
                    "values": [{"id": k, "label": label} for k, label in spec["values"].items()],
                }
                for d, spec in v.DIMENSIONS.items()
            ],
        }
    )


@api.get(
    "/v1/salary/rounds/{year}/position",
    operation_id="getSalaryPosition",
    summary=(
        "Where the member's answer stands in their comparison group: the band among the group's "
        "published quantiles, for monthly salary and total annual pay."
    ),
    response=SalaryPosition,
    returns="The position, or `available: false` with the reason",
    errors={
        503: None,
        404: ("No such round, or the member has not answered it (type .../not-found).", None),
        409: (
            (
                "The member's processing is restricted, so the answer is not used for comparison "
                "(type .../conflict, `restricted: true`)."
            ),
            SalaryRestrictedProblem,
        ),
        422: (
            (
                "Invalid content (type .../validation-failed): `dimensions` not a published table"
                " (with `allowed_dimensions`), a filter not in `dimensions` (`not_in_dimensions`)"
                " or with an unknown value (`enum`), or `year` not a year."
            ),
            SalaryDimensionsProblem,
        ),
    },
    path_params={"year": YEAR_PARAM},
    query=GetSalaryPositionQuery,
)
def get_position(request: Request) -> Reply:
    """Compared with the latest closed round up to `year` (`statistics_year`). Without
    `dimensions` the most specific published group of the member's is used: position level
    with industry, then with sector, then with county, then position level alone, then the
    whole round. Only published figures are used, so the comparison reveals nothing the
    statistics do not. When no group is published, or no round has closed, 200 with
    `available: false` and a `reason`. While the member's processing is restricted their
    answer is not used: 409 with `restricted: true`.
    """
    year, now = path_year(request), _now()
    requested = request.query.get("dimensions")
    candidates = (
        [parse_dimensions(requested)]
        if requested is not None
        else list(statistics.COMPARISON_TABLES)
    )

    def read(cur):
        if restriction.is_restricted_in(cur, request.member_id):
            raise Conflict(
                {
                    "nb": "Behandlingen av dine opplysninger er begrenset, så svaret ditt "
                    "brukes ikke til sammenligning.",
                    "en": "Processing of your data is restricted, so your answer is not "
                    "used for comparison.",
                },
                restricted=True,
            )
        answer = service.get_answer(cur, year, request.member_id)
        return answer, service.latest_closed_year(cur, now, year)

    answer, stats_year = db.read(read)
    if answer is None:
        raise _not_answered()
    if stats_year is None:
        return Reply(
            {
                "year": year,
                "statistics_year": None,
                "available": False,
                "reason": "no_statistics_yet",
            }
        )
    answer_groups = {d: _band_value(answer, d) for d in v.DIMENSIONS}
    usable = [dims for dims in candidates if all(answer_groups[d] is not None for d in dims)]
    release, _, tables = published_tables(_ROUND, (stats_year,), usable, now)[stats_year]
    for dims in usable:
        group = {d: answer_groups[d] for d in dims}
        cell = statistics.select(tables[dims], group)
        if not cell or not cell[0]["published"]:
            continue
        return Reply({**_position(answer, year, stats_year, dims, cell[0]), "release": release})
    return Reply(
        {"year": year, "statistics_year": stats_year, "available": False, "reason": "too_few"}
    )


def _band_value(answer: dict[str, Any], dim: str) -> str | None:
    if dim == "experience":
        return v.experience_band(answer["years_experience"])
    if dim == "people_managed":
        return v.managed_band(answer["people_managed"])
    if dim == "working_time":
        return v.working_time(answer["weekly_hours"])
    return answer.get(dim)


def _position(answer, year, stats_year, dims, cell) -> dict[str, Any]:
    mine = {
        "base_monthly_salary": answer["base_monthly_salary"],
        "total_annual_pay": answer["total_annual_pay"],
    }
    out: dict[str, Any] = {
        "year": year,
        "statistics_year": stats_year,
        "available": True,
        "dimensions": list(dims),
        "group": cell["group"],
        "persons": cell["persons"],
    }
    for measure, value in mine.items():
        b = statistics.band(value, cell[measure])
        out[measure] = {
            "your_value": value,
            "band": b,
            "band_label": statistics.BANDS[b] if b else None,
            "figures": cell[measure],
        }
    return out
