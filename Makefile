# The two commands of the README: `make demo` (the end-to-end demo) and `make test` (the whole suite).
# Both set up what they need first (scripts/setup.sh).
VENV ?= .venv
PYTHON := $(VENV)/bin/python
export VENV

.PHONY: demo test lint bench docs setup clean

SOURCES := simdask tests benchmarks examples compat/python

demo:
	@scripts/setup.sh --demo
	$(PYTHON) -m simdask demo

test:
	@scripts/setup.sh --system
	@scripts/slurm-up.sh || echo "make test: no Slurm (reason above): the Slurm and PBS tests will be skipped"
	@$(MAKE) --no-print-directory lint
	$(PYTHON) -m pytest $(PYTEST_ARGS)

# Style held by CI: lint, formatting and types (make test runs this first).
lint:
	$(VENV)/bin/ruff check $(SOURCES)
	$(VENV)/bin/ruff format --check $(SOURCES)
	$(VENV)/bin/mypy simdask compat/python/smartredis

# The documentation site (Sphinx), warnings as errors: build/docs/index.html
docs:
	@scripts/setup.sh
	$(PYTHON) -m sphinx -W --keep-going -b html docs build/docs

bench:
	@scripts/setup.sh --system
	$(PYTHON) benchmarks/bench_client.py

setup:
	@scripts/setup.sh --system

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis .simdask demo-output
