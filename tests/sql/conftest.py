"""Rules that live in SQL (constraints, generated columns, triggers), tested on a real
PostgreSQL cursor without the emulators or the functions.

Every test gets a cursor inside a transaction that is rolled back afterwards, so tests never
see each other's rows and need no cleanup. Run just these with
`.venv/bin/python -m pytest tests/sql`.
"""

# The fixtures `sql_cluster` and `cur` are in tests/support/postgres_only.py (tests/conftest.py).
