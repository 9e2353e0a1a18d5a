# MTM Collect — the newcomer's commands. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | md5sum | cut -c1-12)

# The real services for `make test-services` (here and on CI: trust auth, no passwords).
SERVICES_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mtm
SERVICES_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install browser demo run serve worker test test-services bench lint clean

install: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@
	@mkdir -p var

## make demo: set up, load the demo, serve on http://127.0.0.1:8000 (with REDIS_URL: plus a Celery worker)
demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@$(MAKE) --no-print-directory run

run: install
	@mkdir -p var
	@set -e; \
	if [ -n "$$REDIS_URL" ]; then \
	  $(PY) -m celery -A mtm worker --beat --loglevel INFO --schedule var/celerybeat-schedule & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	fi; \
	echo "MTM Collect on http://127.0.0.1:8000/admin/  (admin/admin, supervisor/supervisor)"; \
	$(PY) manage.py runserver 127.0.0.1:8000

## make serve: gunicorn as in production (mtm/gunicorn.conf.py), after collectstatic
serve: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) -m gunicorn mtm.wsgi -c mtm/gunicorn.conf.py

## make worker: a Celery worker (and the beat scheduler) for DATABASE_URL + REDIS_URL
worker: install
	@test -n "$$REDIS_URL" || { echo "REDIS_URL is not set: without it tasks run in-process"; exit 2; }
	$(PY) -m celery -A mtm worker --beat --loglevel INFO --schedule var/celerybeat-schedule

## make test: the whole suite on the embedded default (SQLite, eager tasks)
test: install
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest

## make browser: Debian's chromium + chromedriver for the end-to-end tests (installed where missing; needs root)
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "Installing Debian's chromium and chromium-driver for the end-to-end tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver \
	    || echo "Could not install chromium: the browser tests will be skipped"; \
	fi

## make test-services: the suite on PostgreSQL + Redis with a real Celery worker started by the suite
test-services: install browser
	@$(PY) -c "import psycopg; psycopg.connect('$(SERVICES_DATABASE_URL)'.rsplit('/',1)[0] + '/postgres').close()" \
	  || { echo "PostgreSQL is not reachable at $(SERVICES_DATABASE_URL)"; exit 2; }
	@$(PY) -c "import redis; redis.Redis.from_url('$(SERVICES_REDIS_URL)').ping()" \
	  || { echo "Redis is not reachable at $(SERVICES_REDIS_URL)"; exit 2; }
	DATABASE_URL=$(SERVICES_DATABASE_URL) REDIS_URL=$(SERVICES_REDIS_URL) $(PY) -m pytest -p no:cacheprovider

## make bench: the benchmarks in bench/ (not part of make test)
bench: install
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
