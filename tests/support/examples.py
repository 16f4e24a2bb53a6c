"""How many examples a property test runs: all of them in `make test`, a few in `make unit`.

Hypothesis' own way is a settings profile chosen by the environment; a test that asks for a
number of its own (`@settings(max_examples=examples(300))`) keeps it under the default
"thorough" profile and is capped under "quick", which `make unit` selects
(HYPOTHESIS_PROFILE=quick) so the inner loop stays fast. The full suite and CI run "thorough".
"""

from __future__ import annotations

import os

from hypothesis import settings

QUICK_EXAMPLES = 10
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "thorough")

settings.register_profile("thorough", settings.get_profile("default"))
settings.register_profile("quick", max_examples=QUICK_EXAMPLES, deadline=None)
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """`n` under the thorough profile, at most QUICK_EXAMPLES under the quick one."""
    return n if PROFILE != "quick" else min(n, QUICK_EXAMPLES)
