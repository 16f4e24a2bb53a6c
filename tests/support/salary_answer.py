"""One complete, valid salary answer, as the app sends it (tests of the salary API)."""

ANSWER = {
    "notice_acknowledged": True,
    "base_monthly_salary": 64_500,
    "annual_bonus": 40_000,
    "position_level": "middle",
    "people_managed": 12,
    "sector": "private",
    "nace": "C",
    "county": "03",
    "years_experience": 8,
    "age_band": "40_49",
    "gender": "female",
    "weekly_hours": 37.5,
}
