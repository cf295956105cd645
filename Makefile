# hivepulse: two set-up commands on a fresh machine: `make demo`, then `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install lint fmt bench lock clean typecheck layers

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock
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

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format src tests benchmarks

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

# Regenerate the hash-pinned lock from pyproject (run after changing dependencies). Versions already in the
# lock are kept unless a changed requirement needs another one; `make lock UPGRADE=1` takes the newest.
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv && .lockvenv/bin/pip install -q uv
	.lockvenv/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
	  --no-header --quiet $(if $(UPGRADE),--upgrade) -o requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) build *.egg-info
