# The two commands a new user needs: `make run` and `make test`. Everything they need is
# installed here, into .venv; nothing is assumed about the machine beyond Python 3.11+.
PYTHON ?= python3
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test eval bench lint format clean venv e2e-clients browser postgres

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Interlock needs Python 3.11 or newer (set PYTHON=...)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	# Bytecode now: where PYTHONDONTWRITEBYTECODE is set, each hook call would recompile.
	$(PY) -m compileall -q src > /dev/null
	touch $(STAMP)

## run: Interlock's main job on embedded defaults: the approval server and dashboard on
## 127.0.0.1:8470, state (SQLite, audit log) in .interlock/ (kept between runs)
run: $(STAMP)
	$(VENV)/bin/interlock serve

## test: lint, type-check and the whole test suite, the real agent CLIs included (docs/e2e.md)
test: $(STAMP) lint e2e-clients browser postgres
	INTERLOCK_E2E=require INTERLOCK_E2E_DIR=$(E2E_DIR) $(PY) -m pytest --durations=5

# The agent CLIs the end-to-end suite runs, pinned in tests/e2e/clients.txt, installed with npm
# into $(E2E_DIR) (git-ignored) once per version.
E2E_DIR ?= $(CURDIR)/.cache/e2e
e2e-clients:
	@command -v npm > /dev/null || { echo "the end-to-end suite needs node and npm (https://nodejs.org)" >&2; exit 1; }
	@grep -v '^#' tests/e2e/clients.txt | while read -r name package version bin; do \
	  [ -n "$$name" ] || continue; \
	  dir="$(E2E_DIR)/$$name-$$version"; \
	  [ -x "$$dir/node_modules/.bin/$$bin" ] && continue; \
	  echo "installing $$package@$$version into $$dir"; \
	  npm install --prefix "$$dir" --no-audit --no-fund --loglevel=error "$$package@$$version" || exit 1; \
	done

# Dashboard tests drive Debian's Chromium through Playwright (no browser download).
browser:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the dashboard tests"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium > /dev/null; }

# Tests that need a database use a real PostgreSQL: the machine's, else a private cluster.
postgres:
	@sh scripts/ensure-postgres.sh

lint: $(STAMP)
	$(PY) -m ruff check src tests eval bench
	$(PY) -m ruff format --check src tests eval bench
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format src tests eval bench
	$(PY) -m ruff check --fix src tests eval bench

## eval: recall and false-positive rate on the labelled corpus
eval: $(STAMP)
	$(PY) eval/run.py

## bench: hook latency against a bare interpreter, in-process decision time; the approval
## server's throughput and round trip against its /health baseline; the gateway's added
## latency against direct calls; vault backup, restore and verify on a >= 1 GB pgbench
## database against bare pg_dump -Fc and pg_restore (needs PostgreSQL; the database is made
## once, about a minute)
bench: $(STAMP) postgres
	$(PY) bench/run.py
	$(PY) bench/approvals.py
	$(PY) bench/gateway.py
	$(PY) bench/vault.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
