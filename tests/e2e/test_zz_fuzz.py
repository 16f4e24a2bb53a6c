"""Fuzzing in the suite: a bounded, seeded schemathesis run of the served OpenAPI document.

As a member and as each staff role, every operation that identity may call is fuzzed with all
schemathesis checks (server errors, status codes, content types, headers and bodies against
the document, positive data accepted, negative data rejected, auth enforced). It must find no
failure. The same runner with more examples is `make fuzz` (figures in the README).

Named test_zz_ and moved last by conftest: staff operations change shared state (publish
terms, send messages, run matching), which no other test may see.
"""

import pytest

from tests.support import fuzz

pytestmark = [pytest.mark.stack, pytest.mark.fuzz]
#: Per operation and identity; sized to keep the whole run near a minute.
EXAMPLES = 2
SEED = 20


@pytest.mark.parametrize("auth,who", fuzz.IDENTITIES, ids=[a for a, _ in fuzz.IDENTITIES])
def test_fuzzing_finds_no_server_error_and_no_conformance_failure(stack, auth, who):
    outcome = fuzz.run_one(
        stack.urls["gateway"],
        stack.urls["lederne"],
        auth,
        who,
        examples=EXAMPLES,
        seed=SEED,
        workers=1,
    )
    assert outcome.operations > 0 and outcome.cases > 0, outcome.output[-3000:]
    assert outcome.returncode == 0, outcome.output[-15000:]
    print(
        f"{auth}: {outcome.operations} operations, {outcome.cases} cases, {outcome.seconds:.1f} s"
    )
