# The two commands of the README: `make demo` (the end-to-end demo) and `make test` (the whole suite).
# Both set up what they need first (scripts/setup.sh).
VENV ?= .venv
PYTHON := $(VENV)/bin/python
export VENV

.PHONY: demo test bench setup clean

demo:
	@scripts/setup.sh
	$(PYTHON) -m simdask demo

test:
	@scripts/setup.sh --system
	@scripts/slurm-up.sh || echo "make test: no Slurm (reason above): the Slurm and PBS tests will be skipped"
	$(PYTHON) -m pytest $(PYTEST_ARGS)

bench:
	@scripts/setup.sh --system
	$(PYTHON) benchmarks/bench_client.py

setup:
	@scripts/setup.sh --system

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis .simdask
