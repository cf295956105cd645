# hivepulse: two set-up commands on a fresh machine: `make demo`, then `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install lint fmt bench lock clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/hivepulse metrics --events data/sample --since 2026-04-27 --until 2026-05-25
	$(BIN)/hivepulse retro

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/python -m pytest -n 2 -q -m "not timing"
	$(BIN)/python -m pytest -q -m timing

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks

fmt: $(STAMP)
	$(BIN)/ruff format src tests benchmarks

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

# Regenerate the pinned lock from pyproject (run after changing dependencies).
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv && .lockvenv/bin/pip install -q --upgrade pip
	.lockvenv/bin/pip install -q -e '.[dev]'
	.lockvenv/bin/pip freeze --exclude-editable | grep -v '^hivepulse' > requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) build *.egg-info
