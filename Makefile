# The two set-up commands of the README: `make demo` and `make test`. Both create .venv if it
# is missing and install the package into it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench docs install clean fuzz

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m handgrad.demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow"

# The static checks alone (they also run inside `make test`, in tests/test_checks.py).
lint: $(STAMP)
	$(BIN)/python -m ruff check src tests bench
	$(BIN)/python -m mypy

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

docs: $(STAMP)
	$(BIN)/python -m handgrad.exercises docs

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info

# A differential fuzz campaign against PyTorch (tests/fuzz/): FUZZ_MINUTES (default 1), fresh seeds
# unless FUZZ_SEED replays one; prints the mismatches by class and every shrunk defect.
fuzz: $(STAMP)
	FUZZ_MINUTES=$${FUZZ_MINUTES:-1} $(BIN)/python -m tests.fuzz
