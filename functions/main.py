"""Every Cloud Function's entry point, for functions-framework (`--target NAME`).

Keep this file to one line per function. Each entry point imports its feature lazily, so a
function's cold start pays only for the libraries that feature uses. The list here, the
manifest (manifest.json) and Terraform must agree; tests/unit/test_manifest.py checks it.
"""

from lederappen.core.entry import http_function

meta = http_function("meta", "lederappen.meta.api")
profile = http_function("profile", "lederappen.profile.api")
