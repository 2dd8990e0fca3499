# The two commands the README leads with. Both do all their own set-up on a fresh machine.
#   make demo   install, migrate, demo accounts, a Celery worker and the web server, then the demo chain (DEMO_SCALE)
#   make test   install, then run the whole test suite (PostgreSQL/Redis when DATABASE_URL/CELERY_BROKER_URL are set)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: demo test install browser lint format bench mutation clean docker-smoke

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --upgrade pip
	$(PY) -m pip install -qq -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the browser tests (never `playwright install`: no downloads here).
browser:
	@command -v chromium >/dev/null || (apt-get install -y -q chromium >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) || \
	  (echo "Could not install Debian's chromium (needs root: apt-get install chromium)"; exit 1)

# DEBUG off (DEMO=1): the site's own 404/500 pages. `exec`: the shell becomes the demo process, so the SIGTERM
# make forwards to its child reaches it and it stops the server, worker and beat (no orphan keeps the port).
DEMO_ARGS ?=
demo: $(STAMP)
	exec env DEMO=1 $(PY) manage.py demo --host $(HOST) --port $(PORT) $(DEMO_ARGS)

# Each pytest run gets its own test database, broker folder and artifact root (tests/isolation.py).
test: $(STAMP) browser
	$(PY) -m pytest
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

bench: $(STAMP)
	for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Mutation score per pure-core module (mutmut, fast database-free tests only; ~30 min on 2 cores, not part
# of `make test`). Equivalent and message-only survivors are listed in mutation/equivalents.txt.
mutation: $(STAMP)
	nice -n 10 $(PY) mutation/run.py

# Builds the Docker images (base image by debootstrap where Docker Hub is out of reach; layer-cached) and runs
# web + worker + beat against this machine's PostgreSQL and Redis: migrate, /healthz, a DEMO_SCALE=tiny
# experiment through the worker, its artifacts, then tears it all down (docker/smoke.sh; needs root).
docker-smoke:
	bash docker/smoke.sh

clean:
	rm -rf var/
