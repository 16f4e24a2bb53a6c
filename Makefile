# One command to run the backend, one to run the tests. Both install what they need first.
.PHONY: venv run test unit lint lock fuzz openapi bench bench-salary bench-matching bench-erasure bench-push bench-load migrate bootstrap clean

PY := .venv/bin/python
LINT := .venv/bin/ruff check --quiet . && .venv/bin/ruff format --check --quiet . && .venv/bin/mypy
PORT_BASE ?= 8080

bootstrap:
	@bash infra/scripts/bootstrap.sh

venv:
	@bash infra/scripts/bootstrap.sh --python-only

## make run: the whole backend on localhost (PostgreSQL, emulators, stand-ins, every function)
run: bootstrap
	@$(PY) -m infra.local.stack up --port-base $(PORT_BASE)

## make test: lint (ruff, mypy), then unit, integration and end-to-end tests against a real local stack
test: bootstrap
	@$(LINT)
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$rc

## make unit: the unit tests, in seconds: needs only .venv (no database, emulator or browser);
## property tests run a few examples each (the hypothesis "quick" profile) and tests marked slow
## (solvers, generated data sets) are left out; make test runs all of them in full
unit: venv
	@env -u PYTHONDONTWRITEBYTECODE HYPOTHESIS_PROFILE=quick $(PY) -m pytest -q -p no:faker -p no:schemathesis -n 2 -m "not slow" tests/unit

## make lint: ruff (rules and formatting, pyproject.toml) and mypy on functions/; part of make test
lint: venv
	@$(LINT)

## make lock: recompile the dependency locks (requirements.txt, requirements-dev.txt: every
## transitive version pinned, with hashes) from requirements.in and requirements-dev.in
lock: bootstrap
	@.venv/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes --no-strip-markers --custom-compile-command "make lock" requirements.in -o requirements.txt
	@.venv/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes --no-strip-markers --custom-compile-command "make lock" requirements-dev.in -o requirements-dev.txt

## make fuzz: the long schemathesis run (all checks, member and every staff role) on a fresh stack
fuzz: bootstrap
	@$(PY) -m tests.support.fuzz --examples 50

## make openapi: regenerate functions/openapi.json from the code's msgspec types and the manifest
openapi: bootstrap
	@$(PY) -m infra.scripts.openapi

## make bench: cold-start and warm-latency benchmark (prints ratios against baselines)
bench: bootstrap
	@$(PY) -m tests.benchmarks.bench_http

## make bench-salary: salary statistics at 10x size (1M answers) against raw SQL percentiles
bench-salary: bootstrap
	@$(PY) -m tests.benchmarks.bench_salary

## make bench-matching: a mentor-matching round (5,000 mentees, 2,000 mentors) against the bare solver
bench-matching: bootstrap
	@$(PY) -m tests.benchmarks.bench_matching

## make bench-erasure: erase 10,000 ended memberships end to end against a bulk DELETE of the same rows
bench-erasure: bootstrap
	@$(PY) -m tests.benchmarks.bench_erasure

## make bench-push: one editor's message to 200,000 devices end to end against the FCM stand-in's ceiling
bench-push: bootstrap
	@$(PY) -m tests.benchmarks.bench_push --devices 200000

## make bench-load: 200 clients on the member GET routes through the gateway, also with another benchmark running (0 errors expected)
bench-load: bootstrap
	@$(PY) -m tests.benchmarks.bench_load --clients 200 --seconds 30
	@$(PY) -m tests.benchmarks.bench_load --clients 200 --seconds 30 --busy

## make migrate: apply pending migrations to the database in DB_* / CLOUD_SQL_INSTANCE
migrate: bootstrap
	@$(PY) -m infra.migrate

clean:
	rm -rf .local
