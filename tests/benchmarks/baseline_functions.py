"""Bare functions-framework functions: the floors the benchmark measures against.

Nothing here authenticates, validates or logs. `constant` is the cold-start floor; `same_sql`
runs exactly the SQL the profile endpoint runs; `same_io` runs that SQL and makes the same
member-register call, so the ratio against it isolates what the backend's own layers cost.
"""

import os

import flask
import pg8000.dbapi
import urllib3

_conn = None
_http = None
SQL = "SELECT 1 FROM processing_restrictions WHERE member_id = %s"


def constant(request):
    return flask.jsonify({"ok": True})


def _db():
    global _conn
    if _conn is None:
        _conn = pg8000.dbapi.connect(
            user=os.environ["DB_USER"],
            password=os.environ["DB_PASSWORD"],
            host=os.environ["DB_HOST"],
            port=int(os.environ["DB_PORT"]),
            database=os.environ["DB_NAME"],
        )
        _conn.autocommit = True  # one round trip per query, as the backend's reads do
    return _conn


def _query(member_id):
    conn = _db()
    cur = conn.cursor()
    cur.execute(SQL, (member_id,))
    return cur.fetchone()


def same_sql(request):
    return flask.jsonify({"restricted": _query(request.args.get("m", "1000001")) is not None})


def same_io(request):
    global _http
    member_id = request.args.get("m", "1000001")
    restricted = _query(member_id) is not None
    if _http is None:
        _http = urllib3.PoolManager()
    resp = _http.request(
        "GET",
        f"{os.environ['LEDERNE_API_URL']}/api/members/{member_id}",
        headers={"Authorization": f"Bearer {os.environ['LEDERNE_API_KEY']}"},
    )
    # Pass the register's answer straight through: same I/O, none of the backend's layers.
    return flask.Response(
        resp.data, content_type="application/json", headers={"X-Restricted": str(restricted)}
    )
