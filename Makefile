# privetl — the two promises of the README: `make demo` and `make test`, on a fresh machine
# with only Python 3.11+, make and git. uv is used from PATH or bootstrapped into .tools/.

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := .tools/bin/uv
endif
RUN := $(UV) run --frozen --no-sync
# PostgreSQL for the second test pass (skipped with a reason when unreachable).
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/privetl
# Under CI (CI=true, as .ci/run is called) nothing is skipped: a missing PostgreSQL server or
# buf fails the run, so a green CI always means the PostgreSQL pass and the buf checks ran.
IN_CI := $(filter true 1 yes,$(CI))
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo test lint gen check-gen test-sqlite test-postgres bench clean

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv>=0.5,<1"

# --compile-bytecode: every `privetl` process would otherwise compile the libraries it imports
# where PYTHONDONTWRITEBYTECODE is set (CI, containers): seconds per process start.
.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode
	@touch $@

setup: .venv/.synced

gen: setup
	$(RUN) python -m privetl.contracts.generate

check-gen: setup
	$(RUN) python -m privetl.contracts.generate --check
	@if command -v npm >/dev/null 2>&1; then \
		[ -x node_modules/.bin/buf ] || npm install --no-save --no-audit --no-fund --loglevel=error || \
			{ echo "check-gen: could not install buf from the npm registry" >&2; exit 1; }; \
		node_modules/.bin/buf lint && \
		node_modules/.bin/buf breaking proto --against tests/contracts/given && \
		echo "buf lint and breaking check (against the given contracts): ok"; \
	elif [ -n "$(IN_CI)" ]; then \
		echo "FAILED: buf lint and breaking check — npm is not installed (CI must run them; .ci/run installs npm)" >&2; \
		exit 1; \
	else \
		echo "SKIPPED: buf lint and breaking check — npm is not installed"; \
	fi

lint: setup
	$(RUN) ruff check .
	$(RUN) lint-imports
	$(RUN) mypy
	$(RUN) privetl makemigrations --check --dry-run

test-sqlite: setup
	$(RUN) pytest -p no:cacheprovider

test-postgres: setup
	@if $(RUN) python -m tests.pg_available "$(PG_TEST_URL)"; then \
		DATABASE_URL="$(PG_TEST_URL)" $(RUN) pytest -p no:cacheprovider -m "not engine_only"; \
	elif [ -n "$(IN_CI)" ]; then \
		echo "FAILED: PostgreSQL pass — no server reachable at $(PG_TEST_URL) (CI must run it; .ci/run installs and starts PostgreSQL)" >&2; \
		exit 1; \
	else \
		echo "SKIPPED: PostgreSQL pass — no server reachable at $(PG_TEST_URL)"; \
	fi

test: lint check-gen test-sqlite test-postgres

demo: setup
	$(RUN) python -m privetl.demo

bench: setup
	$(RUN) python bench/engine_bench.py --rows 1000000
	$(RUN) python bench/getuser_bench.py

clean:
	rm -rf var .pytest_cache .ruff_cache .mypy_cache
