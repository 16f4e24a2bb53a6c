"""Salary statistics at 10x Lederne's size, as ratios to the raw SQL percentile query, in one run.

    .venv/bin/python -m tests.benchmarks.bench_salary [--members 237000] [--requests 1000]

Starts PostgreSQL, the lederne.no stand-in and the salary function from the local stack, loads
the demo generator's answers for `--members` members over five rounds (237,000 members give
about 1M answers: members who joined late or left early answer fewer rounds), then measures:

* precompute: publishing one closed round's release, every table with disclosure control and
  the audit that nothing in it can be solved for (what the scheduled job pays once per round);
* a statistics request with disclosure control: p50/p99 of sequential keep-alive
  `GET /v1/salary/statistics` for one cell and for a whole table, authenticated, through
  functions-framework;
* the baseline: the raw SQL percentile query for the same cell and for the same table
  (percentile_cont over the answers, no disclosure control), from Python over pg8000;
* the first request after a deletion (a release never changes, so nothing is recomputed).

Targets (issue #5): p50 <= 100 ms and <= 1.5x the raw SQL query.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT))

from infra.local import demo_data, postgres, salary_demo
from infra.local import stack as stack_mod

CELL = {"position_level": "middle", "nace": "C"}
CELL_SQL = (
    "SELECT count(*), percentile_cont(ARRAY[0.1, 0.25, 0.5, 0.75, 0.9]) WITHIN GROUP "
    "(ORDER BY base_monthly), percentile_cont(ARRAY[0.1, 0.25, 0.5, 0.75, 0.9]) WITHIN GROUP "
    "(ORDER BY total_annual) FROM salary_answers "
    "WHERE year = %s AND position_level = %s AND nace = %s"
)
TABLE_SQL = (
    "SELECT position_level, nace, count(*), percentile_cont(ARRAY[0.1, 0.25, 0.5, 0.75, 0.9]) "
    "WITHIN GROUP (ORDER BY base_monthly), percentile_cont(ARRAY[0.1, 0.25, 0.5, 0.75, 0.9]) "
    "WITHIN GROUP (ORDER BY total_annual) FROM salary_answers WHERE year = %s "
    "GROUP BY position_level, nace"
)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _http(port: int, path: str, headers: dict, n: int) -> tuple[float, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    for i in range(n + 5):
        t = time.perf_counter()
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise SystemExit(f"GET {path}: {resp.status}")
        if i >= 5:  # warm-up
            times.append(time.perf_counter() - t)
    conn.close()
    return _percentiles(times)


def _sql(conn, sql: str, params: tuple, n: int) -> tuple[float, float]:
    cur = conn.cursor()
    times = []
    for i in range(n + 2):
        t = time.perf_counter()
        cur.execute(sql, params)
        cur.fetchall()
        conn.commit()
        if i >= 2:
            times.append(time.perf_counter() - t)
    return _percentiles(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=237_000)
    parser.add_argument("--requests", type=int, default=1000, help="HTTP requests per target")
    parser.add_argument("--queries", type=int, default=100, help="raw SQL queries per baseline")
    args = parser.parse_args(argv)

    state = Path(tempfile.mkdtemp(prefix="lederappen-bench-salary-"))
    stack = stack_mod.Stack(state, port_base=None, functions=["salary"])
    print("starting PostgreSQL, the lederne.no stand-in and the salary function ...", flush=True)
    stack.start()
    try:
        conn = stack.cluster.connect(postgres.APP_ROLE, timeout=600)
        cur = conn.cursor()
        today = dt.date.today()
        years = list(range(today.year - 4, today.year + 1))
        cur.execute(
            "TRUNCATE salary_release_tables, salary_releases, "
            "salary_statistics_uses, salary_answers"
        )
        salary_demo.ensure_rounds(conn, years, today)
        conn.commit()

        t = time.perf_counter()
        members = demo_data.generate_members(args.members)
        loaded = salary_demo.load(conn, salary_demo.generate_answers(members, years))
        conn.commit()
        cur.execute("ANALYZE salary_answers")
        conn.commit()
        load_s = time.perf_counter() - t
        cur.execute("SELECT year, count(*) FROM salary_answers GROUP BY year ORDER BY year")
        per_year = dict(cur.fetchall())
        year = today.year - 1  # the latest closed round
        print(
            f"\nloaded {loaded:,} answers for {args.members:,} members in {load_s:.1f} s "
            f"(per round: {', '.join(f'{y}: {c:,}' for y, c in per_year.items())})"
        )

        from lederappen.core import log
        from lederappen.salary import statistics as stats

        log.configure(base64.b64decode(stack.env["PSEUDONYM_KEY"]))  # a computation audits (S2)

        t = time.perf_counter()
        stats.publish(cur, year, dt.datetime.now(dt.UTC))
        conn.commit()
        precompute_s = time.perf_counter() - t
        print(
            f"precompute of round {year} ({per_year[year]:,} answers, every table, disclosure "
            f"control): {precompute_s:.2f} s"
        )

        token = stack_mod.fetch_token(stack.urls["lederne"], demo_data.DEMO_MEMBER_ID)
        auth = {"Authorization": f"Bearer {token}"}
        port = stack.ports[stack_mod.fn_component("salary")]
        cell_path = (
            f"/v1/salary/statistics?year={year}&dimensions=position_level,nace"
            f"&position_level={CELL['position_level']}&nace={CELL['nace']}"
        )
        table_path = f"/v1/salary/statistics?year={year}&dimensions=position_level,nace"

        print(f"\n{args.queries} raw SQL queries and {args.requests} HTTP requests per target")
        raw_cell = _sql(conn, CELL_SQL, (year, CELL["position_level"], CELL["nace"]), args.queries)
        raw_table = _sql(conn, TABLE_SQL, (year,), max(10, args.queries // 5))
        api_cell = _http(port, cell_path, auth, args.requests)
        api_table = _http(port, table_path, auth, args.requests)

        # a deletion after the release: the release stays, so this is an ordinary read
        cur.execute(
            "DELETE FROM salary_answers WHERE year = %s AND member_id = "
            "(SELECT min(member_id) FROM salary_answers WHERE year = %s)",
            (year, year),
        )
        conn.commit()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        t = time.perf_counter()
        c.request("GET", cell_path, headers=auth)
        c.getresponse().read()
        after_delete = time.perf_counter() - t
        c.close()

        rows = [
            ("raw SQL: one cell's percentiles (baseline)", raw_cell, raw_cell[0]),
            ("raw SQL: the whole table's percentiles (baseline)", raw_table, raw_table[0]),
            ("GET statistics, one cell, with disclosure control", api_cell, raw_cell[0]),
            (
                "GET statistics, whole table (84 cells), with disclosure control",
                api_table,
                raw_table[0],
            ),
        ]
        print(f"  {'target':<66} {'p50':>9} {'p99':>9}   p50 vs its raw SQL")
        for label, (p50, p99), base in rows:
            print(f"  {label:<66} {p50 * 1000:7.2f}ms {p99 * 1000:7.2f}ms   {p50 / base:5.2f}x")
        print(f"  first request after a deletion (the release stays): {after_delete * 1000:.1f} ms")
        print("\nsummary (targets: p50 <= 100 ms and <= 1.5x raw SQL)")
        print(
            f"  one cell:    p50 {api_cell[0] * 1000:.2f} ms = {api_cell[0] / raw_cell[0]:.2f}x raw SQL"
        )
        print(
            f"  whole table: p50 {api_table[0] * 1000:.2f} ms = "
            f"{api_table[0] / raw_table[0]:.2f}x raw SQL"
        )
        conn.close()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
