# Two commands do all the setup on a fresh machine: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements/dev.lock pyproject.toml | sha256sum | cut -c1-12)
PIP    := $(BIN)/python -m pip --disable-pip-version-check
INSTALL := $(PIP) install --quiet --require-hashes --no-deps --no-compile
# Bytecode is compiled up front, on every core (pip would take two minutes on one for the ~24,000 files):
# where PYTHONDONTWRITEBYTECODE is set, nothing would compile it later and every process would pay again.
# Like pip, it goes on past files it cannot compile (torch ships one for a newer Python only).
COMPILE := $(BIN)/python -m compileall -q -j0 $(VENV)/lib >/dev/null || true
# The transformer family's extra (torch CPU build, transformers, the offline MiniLM baseline), on top of the dev set.
XSTAMP := $(VENV)/.transformers-$(shell cat requirements/transformers.lock | sha256sum | cut -c1-12)

.PHONY: help install install-transformers demo test lint typecheck contracts pytest services bench lock clean audit secrets

help:
	@echo "make demo   - run the offline trunk-based story on synthetic demo data"
	@echo "make test   - create .venv from the hash-pinned lock, then lint, type-check, check layers and test"
	@echo "make install-transformers - add the transformer family's pinned extra (CPU torch) to .venv"
	@echo "make lint | typecheck | contracts | pytest | services | bench | lock | clean"

$(STAMP): requirements/dev.lock pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(INSTALL) -r requirements/dev.lock
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	$(COMPILE)
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# torch==2.13.0 is pinned by hash to its CPU wheel. Where no local wheel or index has it, add
# PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu.
$(XSTAMP): $(STAMP) requirements/transformers.lock
	$(INSTALL) -r requirements/transformers.lock
	$(COMPILE)
	$(BIN)/python -m pip check
	rm -f $(VENV)/.transformers-*
	touch $@

install-transformers: $(XSTAMP)

demo: $(STAMP)
	$(BIN)/trunkml demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts docs
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_secrets.py

# Known vulnerabilities in every lock (needs PyPI's vulnerability data: fails, never passes, when unreachable).
LOCKS = requirements/dev.lock requirements/serve.lock requirements/transformers.lock requirements/build.lock \
	environments/inference/requirements.lock
audit: $(STAMP)
	@for lock in $(LOCKS); do echo "pip-audit --strict $$lock"; \
		$(BIN)/pip-audit --strict --require-hashes --disable-pip --progress-spinner off -r $$lock || exit 1; done

# Credential-looking values in any file of the project (make lint checks YAML/TOML/JSON on every run).
secrets: $(STAMP)
	$(BIN)/python scripts/check_secrets.py --all-files

# The transformer family's code imports torch and transformers, so mypy needs that extra installed.
typecheck: $(XSTAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_secrets.py

# The services the scale-out, Spark and status-page tests use: PostgreSQL on 127.0.0.1:5432, a Java runtime
# and headless Chromium.
# On a CI machine (CI=true) missing ones are installed from Debian's packages (needs root); PostgreSQL
# then trusts loopback connections, so this never changes a developer's machine. `make test` runs it
# first with CI=true, so those tests run instead of skipping.
services:
	@test "$(CI)" = "true" || { echo "make services changes system services only with CI=true"; exit 0; }; \
	pg_isready -q -h 127.0.0.1 -p 5432 || { \
		echo "installing and starting PostgreSQL (Debian package)"; \
		apt-get install -y -q postgresql >/dev/null && pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && \
		su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD NULL\"" && \
		sed -i 's/^host\s\+all\s\+all\s\+127.0.0.1\/32\s\+.*/host all all 127.0.0.1\/32 trust/' /etc/postgresql/*/main/pg_hba.conf && \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main reload; }
	@test "$(CI)" = "true" || exit 0; command -v java >/dev/null || { \
		echo "installing a Java runtime for Spark (Debian package)"; apt-get install -y -q default-jre-headless >/dev/null; }
	@test "$(CI)" = "true" || exit 0; command -v chromium >/dev/null || { \
		echo "installing headless Chromium for the status page test (Debian package)"; \
		apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; }
	@pg_isready -h 127.0.0.1 -p 5432; java -version 2>&1 | head -1; command -v chromium || true

pytest: $(XSTAMP) $(if $(filter true,$(CI)),services)
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder

# mypy (one core, about two minutes on a fresh cache) runs beside the tests instead of before them; it
# prints one line at the end, so the two outputs stay readable without --output-sync (which would hold
# back the test progress until the end).
test: lint
	$(MAKE) --no-print-directory -j2 typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/hashing.py
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/gate.py
	$(BIN)/python bench/slices.py
	$(BIN)/python bench/shadow_tasks.py
	$(BIN)/python bench/promotion.py
	$(BIN)/python bench/serving.py
	$(BIN)/python bench/monitoring.py
	$(BIN)/python bench/scoring.py
	$(MAKE) install-transformers
	$(BIN)/python bench/transformer.py

# Re-resolve the pinned, hashed dependency set after changing pyproject.toml.
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra dev \
		--no-emit-index-url --no-emit-find-links \
		-o requirements/dev.lock pyproject.toml
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra server \
		--no-emit-index-url --no-emit-find-links -o requirements/serve.lock pyproject.toml
	cd requirements && ../$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links -o transformers.lock transformers.in
	cd requirements && ../$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links -o build.lock build.in
	cd environments/inference && ../../$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links -o requirements.lock requirements.in

clean:
	rm -rf $(VENV) .trunkml .mypy_cache .pytest_cache .ruff_cache build src/*.egg-info
