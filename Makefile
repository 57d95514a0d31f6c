# Two commands on a fresh machine: `make run` and `make test`. Everything else is installed from here.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: install
	$(BIN)/python manage.py run_demo

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Both linters run even when the first one finds something; configuration in pyproject.toml.
lint: install
	@status=0; $(BIN)/ruff check . || status=1; $(BIN)/lint-imports --no-logo || status=1; exit $$status

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var *.egg-info
