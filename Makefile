# Two commands on a fresh machine: `make run` and `make test`. Everything else is installed from here.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint docs bench kills soak clean

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

# Every check runs even when an earlier one finds something; configuration in pyproject.toml.
lint: install
	@status=0; $(BIN)/ruff check . || status=1; $(BIN)/ruff format --check . || status=1; \
	$(BIN)/lint-imports --no-logo || status=1; $(BIN)/mypy || status=1; \
	$(MAKE) --no-print-directory docs || status=1; exit $$status

# Links in the Markdown files (README.md, docs/): relative paths and #anchors, offline (web links are not
# fetched: [tool.md_dead_link_check] in pyproject.toml). --untrack: new pages count before `git add`.
docs: install
	$(BIN)/md-dead-link-check --untrack --no-color

bench: install
	$(BIN)/python bench/run_all.py

# Fault checks (not in `make test` or `make bench`; loopback only): qcluster SIGKILLs beside CPU hogs (~3 min),
# and the soak: web/qcluster kills, a PostgreSQL and a Redis restart (private instances), MINUTES long.
MINUTES ?= 30
kills: install
	$(BIN)/python bench/kills.py

soak: install
	$(BIN)/python bench/soak.py --minutes $(MINUTES)

clean:
	rm -rf $(VENV) var *.egg-info
