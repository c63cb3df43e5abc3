# Two commands: `make run` starts everything, `make test` runs the whole suite.
# Both create .venv with Python 3.10, install the project, migrate the database,
# load the demo catalogue and train the Rasa model when its data changed.

VENV   := .venv
PY     := $(VENV)/bin/python
ANXIN  := $(VENV)/bin/anxin
STAMP  := $(VENV)/.installed

.PHONY: run test setup install lint bench clean

run: install
	$(ANXIN) run

test: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

setup: install
	$(ANXIN) setup

install: $(STAMP)

$(PY):
	@PYTHON310=$$(scripts/python310) || exit 1; \
	echo "creating $(VENV) with $$PYTHON310"; \
	"$$PYTHON310" -m venv $(VENV)

# Reinstall whenever the pinned dependencies change.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: install
	$(ANXIN) bench booking --write docs/benchmarks.md

clean:
	rm -rf $(VENV) var models .rasa
