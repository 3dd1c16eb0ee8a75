# Two commands from a fresh clone: `make demo` and `make test`. Only Python 3.11+ and make assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format stop seed-large serve bench load clean browser-deps node-deps install-pgbouncer

install: $(STAMP)

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

# PLATFORM_REPLICA=1 reads the platform from a streaming standby; PGBOUNCER=1 goes through
# PgBouncer in transaction mode (installed here when asked for). See SCALING.md.
demo: install $(if $(filter 1 true yes,$(PGBOUNCER)),install-pgbouncer)
	$(BIN)/python manage.py demo

test: install lint browser-deps node-deps install-pgbouncer
	$(BIN)/pytest

# Debian's Chromium and ChromeDriver for tests/browser (no browser download). Skipped when both
# are on PATH. A failed install (no root) does not stop `make test` (the leading -): the browser
# tests then skip with the reason, or fail under CI=true, where a skip would hide a broken set-up.
browser-deps:
	-command -v chromium >/dev/null && command -v chromedriver >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver)

# axe-core for the browser tests' accessibility checks, exactly as package-lock.json pins it
# (npm ci, from the npm registry; nothing is fetched when the tests run). Node and npm come from
# Debian when missing (root). Re-run when the lock file changes.
node-deps: node_modules/.package-lock.json

node_modules/.package-lock.json: package-lock.json
	command -v npm >/dev/null || (apt-get update && apt-get install -y --no-install-recommends nodejs npm)
	npm ci --no-audit --no-fund
	touch $@

# Debian's PgBouncer (backoffice/pgbouncer.py runs it: PGBOUNCER=1, tests/replica). Pinned to the
# 1.18 series of Debian 12 (tested: 1.18.0-1+deb12u1); security updates of that series still
# install. Skipped when pgbouncer is installed. As for the browser: a failed install (no root)
# does not stop `make test`; the PgBouncer tests then skip, or fail under CI=true.
PGBOUNCER_VERSION := 1.18.*
install-pgbouncer:
	-command -v pgbouncer >/dev/null || test -x /usr/sbin/pgbouncer || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends 'pgbouncer=$(PGBOUNCER_VERSION)')

# mypy's Django plugin loads the test settings, which start nothing on import (the embedded
# PostgreSQL starts with the first connection). Configuration: pyproject.toml, [tool.mypy].
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The production way, locally: gunicorn (gthread), whitenoise with hashed static files, JSON logs,
# DEBUG off. Uses the embedded cluster unless DATABASE_URL/PLATFORM_DATABASE_URL are set.
serve: install
	DJANGO_DEBUG=false $(BIN)/python manage.py collectstatic --noinput -v0
	DJANGO_DEBUG=false LOG_FORMAT=json $(BIN)/python manage.py migrate --noinput -v0
	DJANGO_DEBUG=false LOG_FORMAT=json DJANGO_SETTINGS_MODULE=backoffice.settings.local $(BIN)/gunicorn backoffice.wsgi -c gunicorn.conf.py

# Benchmarks (run them on the large seed): medians and ratios, then a bounded load run. Our own
# database is migrated first (the benches log in staff), so a fresh clone needs only seed-large.
bench: install install-pgbouncer
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py bench_export
	$(BIN)/python manage.py bench_changelists
	$(BIN)/python manage.py bench_changelists --all
	$(BIN)/python manage.py bench_audit
	$(BIN)/python manage.py bench_trail
	$(BIN)/python manage.py bench_alerts
	$(BIN)/python manage.py bench_stream
	$(BIN)/python manage.py bench_fanout
	$(BIN)/python manage.py bench_palette

# Through PgBouncer (transaction mode) to the streaming standby, as production reads the platform.
load: install install-pgbouncer
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-bench.txt
	benchmarks/load.sh

# The large reference cluster (10M+ audit rows, 5M analytics events, audit logs partitioned by month), for benchmarks.
seed-large: install
	$(BIN)/python manage.py cluster_seed --scale large --fresh --partitioned

stop: install
	$(BIN)/python -c 'from pathlib import Path; from backoffice.embedded import stop_server; print("stopped" if stop_server(Path("var")) else "not running")'

clean:
	rm -rf $(VENV) var node_modules
