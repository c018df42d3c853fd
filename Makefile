# Local development and CI. Everything installs from PyPI into .venv; the stack's
# state (PostgreSQL data, Temporal's SQLite file, logs, demo tokens) lives in var/.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PIP := $(PY) -m pip --disable-pip-version-check --no-input
PYTEST_ARGS ?=

.PHONY: install compiled run test test-fast clean lock

install: $(STAMP)

# Re-run only when the dependency declarations change.
$(STAMP): pyproject.toml requirements.lock tests/support/axe/package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -r requirements.lock
	$(PIP) install -q --no-deps -e '.[dev,test]'
	$(PY) -m referrals.devstack.oidc_provider install
	npm ci --prefix tests/support/axe --no-audit --no-fund --loglevel=error
	touch $(STAMP)

# Our code compiled to bytecode ahead, every time (a second when nothing changed): where PYTHONDONTWRITEBYTECODE is set,
# as on the CI machines, each Python process the stack and the tests start (API, worker, document maker, command)
# would otherwise compile every module it imports again (half a second of the API's start).
compiled: install
	$(PY) -m compileall -q -j0 referrals bench tests > /dev/null

# make run OIDC=1 also starts an OpenID provider on loopback, and the desk signs in there.
OIDC ?=
run: compiled
	OIDC=$(OIDC) $(PY) -m referrals.devstack

# The fast tier, under a minute: lint, formatting, types, and every rule of the domain without a server. (The fuzz
# module holds no unit test, and collecting it builds a test per operation: half a minute.) mypy checks beside the unit
# tier, each on a core of its own, and says what it found after the tier's verdict.
test-fast: compiled
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@mkdir -p var
	@echo "$(VENV)/bin/mypy (beside the unit tier) & $(PY) -m pytest -q -m unit --ignore=tests/test_openapi_fuzz.py"
	@$(VENV)/bin/mypy > var/mypy.log 2>&1 & types=$$!; \
	$(PY) -m pytest -q -m unit --ignore=tests/test_openapi_fuzz.py; unit=$$?; \
	wait $$types; types=$$?; echo "mypy:"; cat var/mypy.log; \
	[ $$unit -eq 0 ] && [ $$types -eq 0 ]

# Everything: the fast tier first (stopping there on a failure), then the workflow, stack and browser tiers, in two
# processes at once, each with servers of its own: the browser tests with the drills and benchmarks (which mostly
# wait, on Chromium and on stacks of their own) and then the schema's fuzzing, beside the rest. The first's output
# follows the second's. The fuzzing runs in two processes at once, each half the operations (FUZZ_SHARD): one process
# spent 38 s of its 157 (alone) making its boundary cases before its first request, and fuzzed on one core while the
# other idled once the rest had ended. (pytest's exit code 5: PYTEST_ARGS chose no test of that half. With PYTEST_ARGS naming
# tests, the fuzz module runs with the rest, if named.)
SIDE := -m "browser or stack_run" --ignore=tests/test_openapi_fuzz.py
# Each half names its slowest tests, so that the suite's time can be kept to (README, "Tests").
SLOWEST := --durations=12 --durations-min=5
FUZZ_APART := $(if $(PYTEST_ARGS),,--ignore=tests/test_openapi_fuzz.py)
test: test-fast
	@mkdir -p var
	@{ $(PY) -m pytest -q $(SLOWEST) $(SIDE) $(PYTEST_ARGS); side=$$?; fuzz=0; \
	   if [ -n "$(FUZZ_APART)" ]; then \
	     FUZZ_SHARD=1/2 $(PY) -m pytest -q -m "not unit" -rs tests/test_openapi_fuzz.py > var/fuzz-1.log 2>&1 & one=$$!; \
	     FUZZ_SHARD=2/2 $(PY) -m pytest -q -m "not unit" -rs tests/test_openapi_fuzz.py > var/fuzz-2.log 2>&1; two=$$?; \
	     wait $$one; one=$$?; \
	     echo "--- the fuzzing, first half of the operations:"; cat var/fuzz-1.log; \
	     echo "--- the fuzzing, second half:"; cat var/fuzz-2.log; \
	     [ $$one -eq 0 ] && [ $$two -eq 0 ]; fuzz=$$?; \
	   fi; \
	   { [ $$side -eq 0 ] || [ $$side -eq 5 ]; } && [ $$fuzz -eq 0 ]; \
	 } > var/test-browser-and-drills.log 2>&1 & side=$$!; \
	$(PY) -m pytest -q $(SLOWEST) -m "not unit and not browser and not stack_run" $(FUZZ_APART) $(PYTEST_ARGS); main=$$?; \
	wait $$side; side=$$?; \
	echo "--- the browser tests, drills and benchmarks, then the fuzzing (var/test-browser-and-drills.log):"; \
	cat var/test-browser-and-drills.log; \
	{ [ $$main -eq 0 ] || [ $$main -eq 5 ]; } && [ $$side -eq 0 ]

clean:
	rm -rf var/

# Regenerate requirements.lock after changing the pins in pyproject.toml.
lock:
	$(PYTHON) tools/lock.py
