# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8080
# pip is quiet while it installs; the first run would otherwise say nothing for half a minute.
INSTALLING := Installing the Python packages into $(VENV) (first run only, about 30-45 s)...

.PHONY: run test check lint bench mutants clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-installed: requirements.txt requirements-local.txt | $(BIN)/python
	@echo "$(INSTALLING)"
	$(BIN)/pip install --quiet -r requirements-local.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-local.txt requirements-dev.txt | $(BIN)/python
	@echo "$(INSTALLING)"
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/.bench-installed: requirements.txt requirements-local.txt requirements-dev.txt requirements-bench.txt | $(BIN)/python
	@echo "$(INSTALLING)"
	$(BIN)/pip install --quiet -r requirements-bench.txt
	touch $@

## Run the broker on 127.0.0.1:$(PORT) with its embedded local AWS (moto, IAM enforced).
run: $(VENV)/.run-installed
	PORT=$(PORT) $(BIN)/python -m broker

# The suite waits on its local AWS and on servers far more than it computes, so it runs in more
# processes than there are cores, each with a local AWS of its own; a module whose tests share a
# server is kept on one (xdist_group).
TEST_WORKERS ?= 4
PARALLEL := -n $(TEST_WORKERS) --dist loadgroup

## Run the linter and the whole test suite.
test: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PARALLEL)

## The edit loop: the linter and the fast tier (pure unit tests; no server, no local AWS).
check: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PARALLEL) tests/unit

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

## Measure latency against the floor, AWS calls, concurrency and the broker under gunicorn; print a table.
bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench

## Mutation testing of the policy, parameter and settings modules (not part of `make test`; about 6 minutes).
## Lists the mutants that survived: each one is a missing test unless pyproject.toml lists it as equivalent.
mutants: $(VENV)/.dev-installed
	$(BIN)/mutmut run
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV)
