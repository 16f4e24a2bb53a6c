"""Property: for any sequence of gives, withdrawals and (material or not) terms changes, the
state derived from the ledger is what the policy says it must be.

Runs the real service against the real database, each example inside one transaction that is
rolled back, so examples neither see each other nor disturb the shared test stack.
"""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from lederappen.consents import service
from lederappen.core.problems import Conflict

pytestmark = pytest.mark.stack
PURPOSE = "marketing"
MEMBER = "ledger-property-member"

operations = st.lists(
    st.one_of(
        st.just(("give",)),
        st.just(("withdraw",)),
        st.just(("give_old",)),
        st.tuples(st.just("publish"), st.booleans()),
    ),
    max_size=25,
)


@pytest.fixture(scope="module")
def conn(stack):
    c = stack.cluster.connect()
    yield c
    c.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_derived_state_follows_the_policy_for_any_sequence(conn, ops):
    cur = conn.cursor()
    try:
        now = datetime.now(timezone.utc)
        start = service.states(cur, MEMBER, now)[PURPOSE]
        current, required = start.current_terms.version, start.required_version
        status, accepted, rows = "never", None, 0
        for op in ops:
            now += timedelta(seconds=1)
            if op[0] == "publish":
                t = service.publish_terms(
                    cur, purpose=PURPOSE, title={"nb": "t", "en": "t"},
                    text={"nb": f"x{now}", "en": "x"}, changes=None, material=op[1],
                    effective_from=now, now=now)
                current = t.version
                if op[1]:
                    required = t.version
                continue
            terms = service.states(cur, MEMBER, now)[PURPOSE].current_terms
            if op[0] == "give_old":
                if current == 1:
                    continue
                with pytest.raises(Conflict):
                    service.record(cur, MEMBER, purpose=PURPOSE, action="given",
                                   terms_version=current - 1, shown_text_hash=terms.text_hash,
                                   locale="nb", channel="app", app_version=None, now=now)
                continue
            action = "given" if op[0] == "give" else "withdrawn"
            _, changed, _ = service.record(
                cur, MEMBER, purpose=PURPOSE, action=action, terms_version=terms.version,
                shown_text_hash=terms.text_hash, locale="nb", channel="app", app_version=None,
                now=now)
            expected_change = not (
                (action == "given" and status == "given" and accepted == current)
                or (action == "withdrawn" and status in ("withdrawn", "never")))
            assert changed == expected_change
            if changed:
                rows += 1
                status, accepted = action, current
            state = service.states(cur, MEMBER, now)[PURPOSE]
            assert state.status == status and state.accepted_version == accepted
        state = service.states(cur, MEMBER, now)[PURPOSE]
        assert state.current_terms.version == current
        assert state.required_version == required
        assert state.covered == (status == "given" and accepted >= required)
        assert state.needs_reconsent == (status == "given" and accepted < required)
        cur.execute("SELECT count(*) FROM consent_events WHERE member_id = %s", (MEMBER,))
        assert cur.fetchone()[0] == rows
    finally:
        conn.rollback()
