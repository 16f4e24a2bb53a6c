"""The answers of the salary feature's routes, and their query parameters, as msgspec types.

The HTTP edge checks every JSON answer against its route's declared type (core/http.py), and
infra/scripts/openapi.py makes the OpenAPI document's schemas from these types."""

from __future__ import annotations

import datetime
import enum
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from ..core.problems import ProblemDocument
from ..core.schemas import Localised
from ..core.validation import Timestamp

#: The `year` path parameter of the salary routes (the routes check it themselves: 422).
YEAR_PARAM = Annotated[int, msgspec.Meta(description="The round's year.", ge=2000, le=2100)]


class SalaryAgeBand(enum.StrEnum):
    """Age band."""

    under_30 = "under_30"
    v_30_39 = "30_39"
    v_40_49 = "40_49"
    v_50_59 = "50_59"
    v_60_plus = "60_plus"


class SalaryAnswer(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The member's own answer to one round. Readable only by the member."""

    year: int
    base_monthly_salary: Annotated[
        int,
        msgspec.Meta(
            description="Fixed monthly salary before tax (base pay). NOK/month.",
            ge=5000,
            le=1000000,
        ),
    ]
    annual_bonus: Annotated[
        Annotated[int, msgspec.Meta(ge=0, le=20000000)] | None,
        msgspec.Meta(
            description=(
                "Bonus and performance pay, last 12 months. NOK/year. Optional; only "
                "when the round asks it."
            )
        ),
    ]
    other_annual_pay: Annotated[
        Annotated[int, msgspec.Meta(ge=0, le=20000000)] | None,
        msgspec.Meta(
            description=(
                "Other regular pay per year (for example car, overtime). NOK/year. "
                "Optional; only when the round asks it."
            )
        ),
    ]
    position_level: SalaryPositionLevel
    people_managed: Annotated[
        Annotated[int, msgspec.Meta(ge=0, le=100000)] | None,
        msgspec.Meta(
            description=("Number of people you manage. Optional; only when the round asks it.")
        ),
    ]
    sector: SalarySector
    nace: SalaryNaceSection
    county: SalaryCounty
    years_experience: Annotated[
        Annotated[int, msgspec.Meta(ge=0, le=60)] | None,
        msgspec.Meta(description="Years as a manager. Optional; only when the round asks it."),
    ]
    age_band: SalaryAgeBand | None
    gender: SalaryGender | None
    weekly_hours: Annotated[
        Annotated[float, msgspec.Meta(ge=1, le=100, multiple_of=0.5)] | None,
        msgspec.Meta(
            description=(
                "Contracted working hours per week. Optional; only when the round asks it."
            )
        ),
    ]
    total_annual_pay: Annotated[
        int,
        msgspec.Meta(
            description=("12 x base_monthly_salary + annual_bonus + other_annual_pay (NOK/year).")
        ),
    ]
    version: Annotated[int, msgspec.Meta(ge=1)]
    updated_at: Timestamp


class SalaryAnswerCountsDaysItem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    date: datetime.date
    answers: Annotated[int, msgspec.Meta(ge=0)]
    cumulative: Annotated[int, msgspec.Meta(ge=0)]


class SalaryAnswerCounts(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Answers to a round over time: counts per day only."""

    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    opens_at: Timestamp
    closes_at: Timestamp
    status: SalaryRoundStatus
    time_zone: Literal["Europe/Oslo"]
    total: Annotated[int, msgspec.Meta(ge=0)]
    days: list[SalaryAnswerCountsDaysItem]


class SalaryBand(enum.StrEnum):
    """Where a value lies among the published quantiles; coarser (e.g. `below_median`) when
    some are withheld.
    """

    below_p10 = "below_p10"
    p10_p25 = "p10_p25"
    below_p25 = "below_p25"
    p25_median = "p25_median"
    below_median = "below_median"
    at_median = "at_median"
    above_median = "above_median"
    median_p75 = "median_p75"
    above_p75 = "above_p75"
    p75_p90 = "p75_p90"
    above_p90 = "above_p90"


class SalaryCell(msgspec.Struct):
    """One group of a published table, published or suppressed."""

    openapi_schema = {
        "description": "One group of a published table, published or suppressed.",
        "oneOf": [
            {"$ref": "#/components/schemas/SalaryPublishedCell"},
            {"$ref": "#/components/schemas/SalarySuppressedCell"},
        ],
        "unevaluatedProperties": False,
    }


class SalaryCorrectionProblem(ProblemDocument, kw_only=True):
    compared_with: (
        Annotated[
            int,
            msgspec.Meta(
                description=("The earlier release the new one would differ from by 1-4 persons.")
            ),
        ]
        | UnsetType
    ) = UNSET
    cells: Annotated[int, msgspec.Meta(description="How many cells would.")] | UnsetType = UNSET
    tables: (
        Annotated[list[str], msgspec.Meta(description="The tables they are in (table keys).")]
        | UnsetType
    ) = UNSET


class SalaryCounty(enum.StrEnum):
    """County (fylke), by its official county number (the 15 counties from 1 January 2024)."""

    v_03 = "03"
    v_11 = "11"
    v_15 = "15"
    v_18 = "18"
    v_31 = "31"
    v_32 = "32"
    v_33 = "33"
    v_34 = "34"
    v_39 = "39"
    v_40 = "40"
    v_42 = "42"
    v_46 = "46"
    v_50 = "50"
    v_55 = "55"
    v_56 = "56"


class SalaryDimension(enum.StrEnum):
    """A grouping the statistics are broken down by. `experience`, `people_managed` and
    `working_time` are bands derived from the numeric answers.
    """

    position_level = "position_level"
    sector = "sector"
    nace = "nace"
    county = "county"
    experience = "experience"
    age_band = "age_band"
    gender = "gender"
    people_managed = "people_managed"
    working_time = "working_time"


class SalaryDimensionsDimensionsItem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: SalaryDimension
    label: Localised
    values: list[SalaryLabelledValue]


class SalaryDimensions(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    tables: Annotated[
        list[Annotated[list[SalaryDimension], msgspec.Meta(max_length=2)]],
        msgspec.Meta(
            description=(
                "The published tables: `[]` (the whole round), each dimension alone, "
                "and position_level with one other dimension. Any other combination is "
                "refused with 422."
            )
        ),
    ]
    dimensions: list[SalaryDimensionsDimensionsItem]


class SalaryDimensionsProblem(ProblemDocument, kw_only=True):
    allowed_dimensions: (
        Annotated[
            list[str],
            msgspec.Meta(
                description=(
                    "Present when `dimensions` is not a published table: the allowed values"
                    ' of `dimensions`, comma-separated in canonical order (`""`: the whole '
                    "round)."
                ),
                examples=[["", "position_level", "sector", "position_level,sector"]],
            ),
        ]
        | UnsetType
    ) = UNSET


class SalaryExperienceBand(enum.StrEnum):
    """Band of years as a manager (from `years_experience`)."""

    v_0_4 = "0_4"
    v_5_9 = "5_9"
    v_10_19 = "10_19"
    v_20_29 = "20_29"
    v_30_plus = "30_plus"


class SalaryFigures(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Published figures of one measure in NOK, rounded (monthly to 1,000, annual to 10,000).
    null: withheld (see the cell's `withheld`).
    """

    p10: Annotated[int | None, msgspec.Meta(description="10th percentile; needs 21 persons.")]
    p25: Annotated[int | None, msgspec.Meta(description="Lower quartile; needs 9 persons.")]
    median: Annotated[
        int | None, msgspec.Meta(description="Median; published in every published cell.")
    ]
    p75: Annotated[int | None, msgspec.Meta(description="Upper quartile; needs 9 persons.")]
    p90: Annotated[int | None, msgspec.Meta(description="90th percentile; needs 21 persons.")]
    mean: Annotated[
        int | None,
        msgspec.Meta(
            description=(
                "Mean; withheld when the two largest answers make up more than half of "
                "the total (dominance)."
            )
        ),
    ]


class SalaryGender(enum.StrEnum):
    """Gender (optional question)."""

    female = "female"
    male = "male"
    other = "other"


class SalaryGroup(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The group a cell describes: one value per dimension of its table; `{}` is the whole
    round.
    """

    position_level: SalaryPositionLevel | UnsetType = UNSET
    sector: SalarySector | UnsetType = UNSET
    nace: SalaryNaceSection | UnsetType = UNSET
    county: SalaryCounty | UnsetType = UNSET
    experience: SalaryExperienceBand | UnsetType = UNSET
    age_band: SalaryAgeBand | UnsetType = UNSET
    gender: SalaryGender | UnsetType = UNSET
    people_managed: SalaryPeopleManagedBand | UnsetType = UNSET
    working_time: SalaryWorkingTime | UnsetType = UNSET


class SalaryLabelledValue(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: str
    label: Localised


class SalaryNaceSection(enum.StrEnum):
    """Industry: NACE Rev. 2 section (SN2007), A to U."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"
    I = "I"
    J = "J"
    K = "K"
    L = "L"
    M = "M"
    N = "N"
    O = "O"
    P = "P"
    Q = "Q"
    R = "R"
    S = "S"
    T = "T"
    U = "U"


class SalaryPeopleManagedBand(enum.StrEnum):
    """Band of the number of people managed (from `people_managed`)."""

    none = "none"
    v_1_4 = "1_4"
    v_5_9 = "5_9"
    v_10_49 = "10_49"
    v_50_plus = "50_plus"


class SalaryPersons(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How many persons a published cell has, as a band (inclusive): never the exact count, so
    that all tables of a release read together cannot be solved for the size of a hidden
    group.
    """

    min: Annotated[int, msgspec.Meta(ge=5)]
    max: Annotated[int | None, msgspec.Meta(description="null: open-ended.")]


class SalaryPosition(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """With `available: true`, also dimensions, group, persons, release and both measures; with
    `available: false`, a `reason`.
    """

    openapi_extra = {
        "if": {"properties": {"available": {"const": True}}},
        "then": {
            "required": [
                "dimensions",
                "group",
                "persons",
                "base_monthly_salary",
                "total_annual_pay",
                "release",
            ],
            "not": {"required": ["reason"]},
        },
        "else": {
            "required": ["reason"],
            "properties": {
                "dimensions": False,
                "group": False,
                "base_monthly_salary": False,
                "total_annual_pay": False,
                "persons": False,
                "release": False,
            },
        },
    }

    year: Annotated[int, msgspec.Meta(description="The round of the member's answer.")]
    statistics_year: Annotated[
        int | None,
        msgspec.Meta(
            description=(
                "The closed round compared with: the latest closed round up to `year` "
                "(so an answer to an open round is compared with the previous round's "
                "figures); null when none has closed."
            )
        ),
    ]
    available: bool
    reason: (
        Annotated[
            Literal["no_statistics_yet", "too_few"],
            msgspec.Meta(
                description=(
                    "Only when not available: no round has closed yet, or no comparison "
                    "group of the member's is published."
                )
            ),
        ]
        | UnsetType
    ) = UNSET
    dimensions: (
        Annotated[list[SalaryDimension], msgspec.Meta(description="The comparison group's table.")]
        | UnsetType
    ) = UNSET
    group: SalaryGroup | UnsetType = UNSET
    base_monthly_salary: SalaryPositionMeasure | UnsetType = UNSET
    total_annual_pay: SalaryPositionMeasure | UnsetType = UNSET
    persons: SalaryPersons | UnsetType = UNSET
    release: (
        Annotated[
            int, msgspec.Meta(description="The release of `statistics_year` compared with.", ge=1)
        ]
        | UnsetType
    ) = UNSET


class SalaryPositionLevel(enum.StrEnum):
    """Position level: first-line manager, middle manager, senior manager (manages managers),
    chief executive.
    """

    first_line = "first_line"
    middle = "middle"
    senior = "senior"
    executive = "executive"


class SalaryPositionMeasure(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    your_value: Annotated[
        int, msgspec.Meta(description="The member's own value (exact, as answered).")
    ]
    band: SalaryBand | None
    band_label: Localised | None
    figures: SalaryFigures


class SalaryPublishedCellWithheld(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Per measure, the statistics withheld and why; a measure with nothing withheld is absent
    (`{}` when nothing is).
    """

    base_monthly_salary: SalaryWithheldStatistics | UnsetType = UNSET
    total_annual_pay: SalaryWithheldStatistics | UnsetType = UNSET


class SalaryPublishedCell(msgspec.Struct, kw_only=True):
    """A published cell (at least 5 persons)."""

    group: SalaryGroup
    published: Literal[True]
    base_monthly_salary: Annotated[
        SalaryFigures,
        msgspec.Meta(
            description=(
                "Fixed monthly salary before tax (NOK/month), rounded to the nearest 1,000."
            )
        ),
    ]
    total_annual_pay: Annotated[
        SalaryFigures,
        msgspec.Meta(
            description=(
                "Total annual pay: 12 x the monthly salary + bonus + other regular pay "
                "(NOK/year), rounded to the nearest 10,000."
            )
        ),
    ]
    withheld: Annotated[
        SalaryPublishedCellWithheld,
        msgspec.Meta(
            description=(
                "Per measure, the statistics withheld and why; a measure with nothing "
                "withheld is absent (`{}` when nothing is)."
            )
        ),
    ]
    persons: SalaryPersons


class SalaryQuestion(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A question of the form: `values` for choices, `min`/`max` (and `unit` for amounts) for
    numbers.
    """

    id: SalaryQuestionId
    required: bool
    type: Annotated[
        Literal["integer", "number", "choice"],
        msgspec.Meta(
            description=(
                "`integer` and `number` (weekly hours, in steps of 0.5) take a JSON "
                "number; `choice` one of `values`."
            )
        ),
    ]
    label: Localised
    values: list[SalaryLabelledValue] | UnsetType = UNSET
    min: float | UnsetType = UNSET
    max: float | UnsetType = UNSET
    unit: Literal["NOK/month", "NOK/year"] | UnsetType = UNSET


class SalaryQuestionId(enum.StrEnum):
    """A question of the survey. Required in every round: base_monthly_salary, position_level,
    sector, nace, county; the others are optional, chosen per round by staff.
    """

    base_monthly_salary = "base_monthly_salary"
    annual_bonus = "annual_bonus"
    other_annual_pay = "other_annual_pay"
    position_level = "position_level"
    people_managed = "people_managed"
    sector = "sector"
    nace = "nace"
    county = "county"
    years_experience = "years_experience"
    age_band = "age_band"
    gender = "gender"
    weekly_hours = "weekly_hours"


class SalaryRelease(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    year: int
    release: Annotated[int, msgspec.Meta(ge=1)]
    released_at: Timestamp
    kind: Annotated[
        Literal["first", "correction"],
        msgspec.Meta(
            description=(
                "`first`: published when the round closed; `correction`: a new release "
                "made by the survey manager."
            )
        ),
    ]
    reason: Annotated[
        Localised | None,
        msgspec.Meta(description="Why a correction was made (null for the first release)."),
    ]
    method: Annotated[
        str, msgspec.Meta(description="The disclosure control the release was made with.")
    ]


class SalaryReleaseListItemsItem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    release: Annotated[int, msgspec.Meta(ge=1)]
    released_at: Timestamp
    kind: Annotated[
        Literal["first", "correction"],
        msgspec.Meta(
            description=(
                "`first`: published when the round closed; `correction`: a new release "
                "made by the survey manager."
            )
        ),
    ]
    reason: Annotated[
        Localised | None,
        msgspec.Meta(description="Why a correction was made (null for the first release)."),
    ]
    method: Annotated[
        str, msgspec.Meta(description="The disclosure control the release was made with.")
    ]


class SalaryReleaseList(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    year: int
    items: Annotated[
        list[SalaryReleaseListItemsItem],
        msgspec.Meta(description="Oldest first; members read the last."),
    ]


class SalaryReleaseStatisticsRounding(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Rounding step per measure, NOK."""

    base_monthly_salary: Literal[1000]
    total_annual_pay: Literal[10000]


class SalaryReleaseStatisticsThresholds(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fewest persons each statistic needs."""

    count_median_mean: Literal[5]
    quartiles: Literal[9]
    p10_p90: Literal[21]


class SalaryReleaseStatisticsReasons(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Explanation of each reason code, in both languages, for the app to show."""

    too_few: Localised
    protects_other_cells: Localised
    round_too_small: Localised
    quartiles_need_9: Localised
    deciles_need_21: Localised
    dominance: Localised


class SalaryReleaseStatistics(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    year: Annotated[int, msgspec.Meta(description="The round the figures are of.")]
    dimensions: Annotated[
        list[SalaryDimension],
        msgspec.Meta(description="The table, in canonical order (`[]`: the whole round)."),
    ]
    cells: Annotated[
        list[SalaryCell],
        msgspec.Meta(
            description=(
                "Every group of the table (empty groups included, as suppressed), "
                "narrowed by the filters."
            )
        ),
    ]
    rounding: Annotated[
        SalaryReleaseStatisticsRounding, msgspec.Meta(description="Rounding step per measure, NOK.")
    ]
    thresholds: Annotated[
        SalaryReleaseStatisticsThresholds,
        msgspec.Meta(description="Fewest persons each statistic needs."),
    ]
    reasons: Annotated[
        SalaryReleaseStatisticsReasons,
        msgspec.Meta(
            description=("Explanation of each reason code, in both languages, for the app to show.")
        ),
    ]
    release: Annotated[int, msgspec.Meta(description="The release shown.", ge=1)]
    released_at: Annotated[Timestamp, msgspec.Meta(description="When the release was published.")]
    person_bands: Annotated[
        list[SalaryPersons],
        msgspec.Meta(description="The bands a published cell's persons are told in."),
    ]
    kind: Annotated[
        Literal["first", "correction"],
        msgspec.Meta(
            description=(
                "`first`: published when the round closed; `correction`: a new release "
                "made by the survey manager."
            )
        ),
    ]
    reason: Annotated[
        Localised | None,
        msgspec.Meta(description="Why a correction was made (null for the first release)."),
    ]
    method: Annotated[
        str, msgspec.Meta(description="The disclosure control the release was made with.")
    ]


class SalaryRestrictedProblem(ProblemDocument, kw_only=True):
    restricted: Literal[True]


class SalaryRound(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A survey round (one per year)."""

    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    title: Localised
    opens_at: Timestamp
    closes_at: Timestamp
    status: SalaryRoundStatus
    questions: Annotated[
        list[SalaryQuestionId],
        msgspec.Meta(
            description=(
                "The questions the round asks: the required ones and the optional ones "
                "chosen for it."
            )
        ),
    ]
    version: Annotated[int, msgspec.Meta(ge=1)]


class SalaryRoundAdmin(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A survey round as staff see it: with how many have answered, never an answer."""

    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    title: Localised
    opens_at: Timestamp
    closes_at: Timestamp
    status: SalaryRoundStatus
    questions: Annotated[
        list[SalaryQuestionId],
        msgspec.Meta(
            description=(
                "The questions the round asks: the required ones and the optional ones "
                "chosen for it."
            )
        ),
    ]
    version: Annotated[int, msgspec.Meta(ge=1)]
    answers: Annotated[int, msgspec.Meta(description="Number of answers (a count only).", ge=0)]


class SalaryRoundDetail(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    title: Localised
    opens_at: Timestamp
    closes_at: Timestamp
    status: SalaryRoundStatus
    questions: Annotated[
        list[SalaryQuestionId],
        msgspec.Meta(
            description=(
                "The questions the round asks: the required ones and the optional ones "
                "chosen for it."
            )
        ),
    ]
    version: Annotated[int, msgspec.Meta(ge=1)]
    answered: Annotated[
        bool, msgspec.Meta(description="Whether the member has answered this round.")
    ]
    statistics_available: Annotated[
        bool,
        msgspec.Meta(description="True when the round is closed: its statistics are published."),
    ]
    questionnaire: Annotated[
        list[SalaryQuestion],
        msgspec.Meta(
            description=("The round's questions, in order, with labels, allowed values and ranges.")
        ),
    ]
    notice: Annotated[
        Localised,
        msgspec.Meta(
            description=(
                "What the member is told before answering: voluntary, used only for the"
                " statistics, readable by nobody else."
            )
        ),
    ]


class SalaryRoundNotOpenProblem(ProblemDocument, kw_only=True):
    round_status: Literal["upcoming", "closed"]


class SalaryRoundOpenProblem(ProblemDocument, kw_only=True):
    closes_at: Annotated[
        Timestamp,
        msgspec.Meta(description="When the round closes and its statistics are published."),
    ]


class SalaryRoundStatus(enum.StrEnum):
    """From opens_at and closes_at: upcoming before opens_at, open until closes_at, closed from
    then on.
    """

    upcoming = "upcoming"
    open = "open"
    closed = "closed"


class SalaryRoundSummary(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    title: Localised
    opens_at: Timestamp
    closes_at: Timestamp
    status: SalaryRoundStatus
    questions: Annotated[
        list[SalaryQuestionId],
        msgspec.Meta(
            description=(
                "The questions the round asks: the required ones and the optional ones "
                "chosen for it."
            )
        ),
    ]
    version: Annotated[int, msgspec.Meta(ge=1)]
    answered: Annotated[
        bool, msgspec.Meta(description="Whether the member has answered this round.")
    ]
    statistics_available: Annotated[
        bool,
        msgspec.Meta(description="True when the round is closed: its statistics are published."),
    ]


class SalarySector(enum.StrEnum):
    """Sector: private, public, or other (non-profit, organisation)."""

    private = "private"
    public = "public"
    other = "other"


class SalaryStatisticsRounding(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Rounding step per measure, NOK."""

    base_monthly_salary: Literal[1000]
    total_annual_pay: Literal[10000]


class SalaryStatisticsThresholds(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fewest persons each statistic needs."""

    count_median_mean: Literal[5]
    quartiles: Literal[9]
    p10_p90: Literal[21]


class SalaryStatisticsReasons(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Explanation of each reason code, in both languages, for the app to show."""

    too_few: Localised
    protects_other_cells: Localised
    round_too_small: Localised
    quartiles_need_9: Localised
    deciles_need_21: Localised
    dominance: Localised


class SalaryStatistics(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    year: Annotated[int, msgspec.Meta(description="The round the figures are of.")]
    dimensions: Annotated[
        list[SalaryDimension],
        msgspec.Meta(description="The table, in canonical order (`[]`: the whole round)."),
    ]
    cells: Annotated[
        list[SalaryCell],
        msgspec.Meta(
            description=(
                "Every group of the table (empty groups included, as suppressed), "
                "narrowed by the filters."
            )
        ),
    ]
    rounding: Annotated[
        SalaryStatisticsRounding, msgspec.Meta(description="Rounding step per measure, NOK.")
    ]
    thresholds: Annotated[
        SalaryStatisticsThresholds, msgspec.Meta(description="Fewest persons each statistic needs.")
    ]
    reasons: Annotated[
        SalaryStatisticsReasons,
        msgspec.Meta(
            description=("Explanation of each reason code, in both languages, for the app to show.")
        ),
    ]
    release: Annotated[
        int,
        msgspec.Meta(
            description=(
                "The release of the round shown: the latest. A release never changes; a"
                " correction is a new release."
            ),
            ge=1,
        ),
    ]
    released_at: Annotated[Timestamp, msgspec.Meta(description="When the release was published.")]
    person_bands: Annotated[
        list[SalaryPersons],
        msgspec.Meta(description="The bands a published cell's persons are told in."),
    ]


class SalarySuppressedCell(msgspec.Struct, kw_only=True):
    """A suppressed cell: no figures, not even how many persons."""

    group: SalaryGroup
    published: Literal[False]
    reason: SalarySuppressionReason
    persons: None


class SalarySuppressionReason(enum.StrEnum):
    """Why a cell is not published: `too_few` (fewer than 5 persons, or none: an empty group
    looks the same) or `protects_other_cells` (complementary suppression, so that no group
    can be worked out by subtraction), or `round_too_small` (the round is too small for any
    figure to be shown safely; says nothing about a cell's count).
    """

    too_few = "too_few"
    protects_other_cells = "protects_other_cells"
    round_too_small = "round_too_small"


class SalaryTrendRounding(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Rounding step per measure, NOK."""

    base_monthly_salary: Literal[1000]
    total_annual_pay: Literal[10000]


class SalaryTrendThresholds(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fewest persons each statistic needs."""

    count_median_mean: Literal[5]
    quartiles: Literal[9]
    p10_p90: Literal[21]


class SalaryTrendReasons(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Explanation of each reason code, in both languages, for the app to show."""

    too_few: Localised
    protects_other_cells: Localised
    round_too_small: Localised
    quartiles_need_9: Localised
    deciles_need_21: Localised
    dominance: Localised


class SalaryTrend(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    dimensions: list[SalaryDimension]
    group: SalaryGroup
    points: Annotated[
        list[SalaryTrendPoint], msgspec.Meta(description="One per closed round, oldest first.")
    ]
    rounding: Annotated[
        SalaryTrendRounding, msgspec.Meta(description="Rounding step per measure, NOK.")
    ]
    thresholds: Annotated[
        SalaryTrendThresholds, msgspec.Meta(description="Fewest persons each statistic needs.")
    ]
    reasons: Annotated[
        SalaryTrendReasons,
        msgspec.Meta(
            description=("Explanation of each reason code, in both languages, for the app to show.")
        ),
    ]
    person_bands: Annotated[
        list[SalaryPersons],
        msgspec.Meta(description="The bands a published cell's persons are told in."),
    ]


class SalaryTrendPoint(msgspec.Struct, kw_only=True):
    """The group's cell in the latest release of one closed round, with its year and release;
    only those when the round has no such cell.
    """

    openapi_extra = {
        "oneOf": [
            {"$ref": "#/components/schemas/SalaryPublishedCell"},
            {"$ref": "#/components/schemas/SalarySuppressedCell"},
            {"not": {"required": ["group"]}},
        ],
        "unevaluatedProperties": False,
    }

    year: int
    release: Annotated[int, msgspec.Meta(description="The round's latest release.", ge=1)]


class SalaryWithheldStatistics(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The statistics of one measure that are withheld (null), each with its reason."""

    p10: Literal["deciles_need_21"] | UnsetType = UNSET
    p25: Literal["quartiles_need_9"] | UnsetType = UNSET
    p75: Literal["quartiles_need_9"] | UnsetType = UNSET
    p90: Literal["deciles_need_21"] | UnsetType = UNSET
    mean: Literal["dominance"] | UnsetType = UNSET


class SalaryWorkingTime(enum.StrEnum):
    """Full time (35 hours a week or more) or part time (from `weekly_hours`)."""

    full_time = "full_time"
    part_time = "part_time"


class SalaryRoundList(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[SalaryRoundSummary]
    notice: Annotated[
        Localised, msgspec.Meta(description="What the member is told before answering.")
    ]


class GetSalaryPositionQuery(msgspec.Struct, kw_only=True):
    """The query parameters of getSalaryPosition."""

    dimensions: (
        Annotated[
            str,
            msgspec.Meta(
                description=(
                    "Compare within this table only (as in GET /v1/salary/statistics); else"
                    " the most specific published one."
                ),
                examples=["position_level", "position_level,county"],
            ),
        ]
        | UnsetType
    ) = UNSET


class SalaryCellQuery(msgspec.Struct, kw_only=True):
    """The query parameters that choose a table and its cells (statistics, trend, release)."""

    dimensions: (
        Annotated[
            str,
            msgspec.Meta(
                description=(
                    "The table: dimension names, comma-separated, in any order; missing or "
                    "empty for the whole round. Only the tables of GET "
                    "/v1/salary/statistics/dimensions are published (each dimension alone, "
                    "or position_level with one other); any other combination gives 422 "
                    "with `allowed_dimensions`."
                ),
                examples=["", "position_level", "position_level,county"],
            ),
        ]
        | UnsetType
    ) = UNSET
    position_level: (
        Annotated[
            SalaryPositionLevel,
            msgspec.Meta(
                description=(
                    "Only the cells with this position_level (must be one of `dimensions`, "
                    "else 422 `not_in_dimensions`)."
                )
            ),
        ]
        | UnsetType
    ) = UNSET
    sector: (
        Annotated[
            SalarySector,
            msgspec.Meta(
                description=(
                    "Only the cells with this sector (must be one of `dimensions`, else 422"
                    " `not_in_dimensions`)."
                )
            ),
        ]
        | UnsetType
    ) = UNSET
    nace: (
        Annotated[
            SalaryNaceSection,
            msgspec.Meta(
                description=(
                    "Only the cells with this nace (must be one of `dimensions`, else 422 "
                    "`not_in_dimensions`)."
                )
            ),
        ]
        | UnsetType
    ) = UNSET
    county: (
        Annotated[
            SalaryCounty,
            msgspec.Meta(
                description=(
                    "Only the cells with this county (must be one of `dimensions`, else 422"
                    " `not_in_dimensions`)."
                )
            ),
        ]
        | UnsetType
    ) = UNSET
    experience: (
        Annotated[
            SalaryExperienceBand,
            msgspec.Meta(
                description=(
                    "Only the cells with this experience (must be one of `dimensions`, else"
                    " 422 `not_in_dimensions`)."
                )
            ),
        ]
        | UnsetType
    ) = UNSET
    age_band: (
        Annotated[
            SalaryAgeBand,
            msgspec.Meta(
                description=(
                    "Only the cells with this age_band (must be one of `dimensions`, else "
                    "422 `not_in_dimensions`)."
                )
            ),
        ]
        | UnsetType
    ) = UNSET
    gender: (
        Annotated[
            SalaryGender,
            msgspec.Meta(
                description=(
                    "Only the cells with this gender (must be one of `dimensions`, else 422"
                    " `not_in_dimensions`)."
                )
            ),
        ]
        | UnsetType
    ) = UNSET
    people_managed: (
        Annotated[
            SalaryPeopleManagedBand,
            msgspec.Meta(
                description=(
                    "Only the cells with this people_managed (must be one of `dimensions`, "
                    "else 422 `not_in_dimensions`)."
                )
            ),
        ]
        | UnsetType
    ) = UNSET
    working_time: (
        Annotated[
            SalaryWorkingTime,
            msgspec.Meta(
                description=(
                    "Only the cells with this working_time (must be one of `dimensions`, "
                    "else 422 `not_in_dimensions`)."
                )
            ),
        ]
        | UnsetType
    ) = UNSET


class GetSalaryStatisticsQuery(SalaryCellQuery, kw_only=True):
    """The query parameters of getSalaryStatistics."""

    year: (
        Annotated[
            int,
            msgspec.Meta(description="The round; default the latest closed one.", ge=2000, le=2100),
        ]
        | UnsetType
    ) = UNSET


class GetSalaryTrendQuery(SalaryCellQuery, kw_only=True):
    """The query parameters of getSalaryTrend."""


class SalaryRoundAdminList(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[SalaryRoundAdmin]


class GetSalaryReleaseStatisticsQuery(SalaryCellQuery, kw_only=True):
    """The query parameters of getSalaryReleaseStatistics."""
