"""Property: for any sequence of gives, withdrawals and (material or not) terms changes, the
state derived from the ledger is what the policy says it must be.

Runs the real service against the real database, each example inside one transaction that is
rolled back, so examples neither see each other nor disturb the shared test stack.
"""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lederappen.consents import service
from lederappen.core.problems import Conflict

from tests.support.examples import examples

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


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=operations)
def test_derived_state_follows_the_policy_for_any_sequence(conn, ops):
    cur = conn.cursor()
    try:
        now = datetime.now(UTC)
        start = service.states(cur, MEMBER, now)[PURPOSE]
        current, required = start.current_terms.version, start.required_version
        status, accepted, rows = "never", None, 0
        for op in ops:
            now += timedelta(seconds=1)
            if op[0] == "publish":
                t, _ = service.publish_terms(
                    cur,
                    purpose=PURPOSE,
                    title={"nb": "t", "en": "t"},
                    text={"nb": f"x{now}", "en": "x"},
                    changes={"nb": "c", "en": "c"},
                    material=op[1],
                    effective_from=now,
                    now=now,
                    notice_days=0,
                )
                current = t.version
                if op[1]:
                    required = t.version
                continue
            terms = service.states(cur, MEMBER, now)[PURPOSE].current_terms
            if op[0] == "give_old":
                if current == 1:
                    continue
                with pytest.raises(Conflict):
                    service.record(
                        cur,
                        MEMBER,
                        purpose=PURPOSE,
                        action="given",
                        terms_version=current - 1,
                        shown_text_hash=terms.text_hash,
                        locale="nb",
                        channel="app",
                        app_version=None,
                        now=now,
                    )
                continue
            action = "given" if op[0] == "give" else "withdrawn"
            _, changed, _ = service.record(
                cur,
                MEMBER,
                purpose=PURPOSE,
                action=action,
                terms_version=terms.version,
                shown_text_hash=terms.text_hash,
                locale="nb",
                channel="app",
                app_version=None,
                now=now,
            )
            expected_change = not (
                (action == "given" and status == "given" and accepted == current)
                or (action == "withdrawn" and status in ("withdrawn", "never"))
            )
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


def test_covered_members_agrees_with_covers_for_every_member(conn):
    """The sender's bulk check (one query for a batch) says what the per-member check says:
    latest choice given for the terms in force, not restricted, material changes respected."""
    cur = conn.cursor()
    try:
        now = datetime.now(UTC)
        members = [f"bulk-covers-{i}" for i in range(6)]
        terms = service.states(cur, members[0], now)[PURPOSE].current_terms

        def act(member, action, at):
            service.record(
                cur,
                member,
                purpose=PURPOSE,
                action=action,
                terms_version=service.states(cur, member, at)[PURPOSE].current_terms.version,
                shown_text_hash=service.states(cur, member, at)[PURPOSE].current_terms.text_hash,
                locale="nb",
                channel="app",
                app_version=None,
                now=at,
            )

        act(members[0], "given", now)  # covered until the change
        act(members[1], "given", now)
        act(members[1], "withdrawn", now)  # withdrawn
        act(members[2], "given", now)  # restricted below
        cur.execute("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (members[2],))
        act(members[3], "given", now)  # before a material change
        later = now + timedelta(seconds=5)
        service.publish_terms(
            cur,
            purpose=PURPOSE,
            title={"nb": "t", "en": "t"},
            text={"nb": f"material {later}", "en": "x"},
            changes={"nb": "c", "en": "c"},
            material=True,
            effective_from=later,
            now=later,
            notice_days=0,
        )
        act(members[4], "given", later)  # after it: covered
        # members[5]: never
        assert terms.version >= 1
        check = later + timedelta(seconds=1)
        bulk = service.covered_members(cur, members, PURPOSE, check)
        assert bulk == {m for m in members if service.covers(cur, m, PURPOSE, check)}
        assert bulk == {members[4]}  # the material change ended the older consents
        before = service.covered_members(cur, members, PURPOSE, now)
        assert before == {members[0], members[3], members[4]}
    finally:
        conn.rollback()
