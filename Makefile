# The two commands a new user needs: `make run` and `make test`. Everything they need is
# installed here, into .venv; nothing is assumed about the machine beyond Python 3.11+.
PYTHON ?= python3
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test eval bench lint format clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Interlock needs Python 3.11 or newer (set PYTHON=...)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	# Bytecode now: where PYTHONDONTWRITEBYTECODE is set, each hook call would recompile.
	$(PY) -m compileall -q src > /dev/null
	touch $(STAMP)

## run: Interlock's main job on embedded defaults (until the server lands: a guided demo)
run: $(STAMP)
	$(VENV)/bin/interlock demo

## test: lint, type-check and the whole test suite
test: $(STAMP) lint
	$(PY) -m pytest

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

## bench: hook latency against a bare interpreter, in-process decision time
bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
