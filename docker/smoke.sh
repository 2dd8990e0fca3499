#!/usr/bin/env bash
# make docker-smoke: build the images and run the app's services in Docker against this machine's
# PostgreSQL and Redis, end to end, then tear everything down (on failure too).
#  1. docker and docker-compose installed (Debian packages) and dockerd running;
#  2. a canary docker/.env and data files planted (where none exist), then docker/build.sh (base image by
#     debootstrap where Docker Hub is out of reach; layer cache: seconds when nothing changed);
#  3. docker/image_files.py lists both images' files: no secret, no data file, no canary text;
#  4. compose.host.yaml, profile cpu, with HTTPS=1 and an ALLOWED_HOSTS without localhost: migrate, then
#     web + worker-cpu + beat (host networking; their own database and Redis db, made and dropped here);
#  5. /healthz (301 to https without the proxy header, 200 with it), a static file, the services started
#     after migrate finished, the tiny demo dataset rendered by the worker image, a DEMO_SCALE=tiny
#     experiment queued from the web container (no torch there) and run by the worker, its artifacts
#     checked (docker/smoke_check.py), and every service's own healthcheck healthy.
# Variables: SMOKE_ADMIN_DATABASE_URL (postgres://postgres@127.0.0.1:5432/test: where the smoke database
# is created), SMOKE_DB (prunecxr_smoke), SMOKE_BROKER_URL (redis://127.0.0.1:6379/15, flushed at the
# end), SMOKE_KEEP=1 leaves the stack running. docker/build.sh's variables apply to the build.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
say() { echo "docker-smoke [$(($(date +%s) - t0)) s] $*"; }

admin_url="${SMOKE_ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
db="${SMOKE_DB:-prunecxr_smoke}"
export DATABASE_URL="${admin_url%/*}/$db"
export CELERY_BROKER_URL="${SMOKE_BROKER_URL:-redis://127.0.0.1:6379/15}"
export COMPOSE_PROJECT_NAME=prunecxr-smoke
export SECRET_KEY="smoke-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export HTTPS=1 ALLOWED_HOSTS=prunecxr.example PORT="${SMOKE_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
logs="$(mktemp -d /tmp/docker-smoke.XXXXXX)"
export DATA_ROOT="$logs/data" BUILD_LOG_DIR="$logs"
mkdir -p "$DATA_ROOT"
dc() { docker-compose -f docker/compose.host.yaml --profile cpu "$@"; }
cid() { docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" --filter "label=com.docker.compose.service=$1" | head -1; }
in_image() { docker run --rm --network host prunecxr:web python -c "$@"; }

# 1. Docker itself.
if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null || ! command -v debootstrap >/dev/null; then
  say "installing docker.io, docker-compose and debootstrap"
  (apt-get install -y -q docker.io docker-compose debootstrap || (apt-get update -q && apt-get install -y -q \
    docker.io docker-compose debootstrap)) >"$logs/apt.log" 2>&1 || { tail -20 "$logs/apt.log"; exit 1; }
fi
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd"
  (setsid dockerd >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -20 /var/log/dockerd.log; exit 1; }
fi

canary="canary-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
planted=()
stack_up=""
teardown() {
  status=$?
  set +e
  if [ -n "$stack_up" ]; then
    if [ "$status" -ne 0 ]; then
      for s in migrate web worker-cpu beat; do echo "--- $s (last lines)"; dc logs --no-color --tail 40 "$s"; done
    fi
    if [ "${SMOKE_KEEP:-0}" = 1 ]; then
      say "SMOKE_KEEP=1: stack left running ($COMPOSE_PROJECT_NAME)"
    else
      dc down -v --remove-orphans -t 10 >"$logs/down.log" 2>&1
      in_image "import psycopg, sys; psycopg.connect(sys.argv[1], autocommit=True).execute('DROP DATABASE IF EXISTS $db WITH (FORCE)')" "$admin_url"
      in_image "import redis, sys; redis.Redis.from_url(sys.argv[1]).flushdb()" "$CELERY_BROKER_URL"
    fi
  fi
  for f in "${planted[@]}"; do rm -f "$f"; rmdir -p --ignore-fail-on-non-empty "$(dirname "$f")" 2>/dev/null; done
  [ "$status" -eq 0 ] && rm -rf "$logs" || echo "docker-smoke: logs kept in $logs"
  say "$([ "$status" -eq 0 ] && echo passed || echo FAILED) (wall $(($(date +%s) - t0)) s)"
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# 2. Canaries where a careless .dockerignore would let them in, then the build.
for f in docker/.env data/canary-labels.csv docker/data/canary-labels.csv var/canary.env; do
  [ -e "$f" ] && continue
  mkdir -p "$(dirname "$f")" && echo "PRUNECXR_SMOKE_CANARY=$canary" >"$f" && planted+=("$f")
done
say "building (docker/build.sh)"
bash docker/build.sh

# 3. What is inside the images.
python3 docker/image_files.py --canary "$canary" prunecxr:web prunecxr:worker

# 4. The stack, on its own database and Redis db.
in_image "import psycopg, sys; c = psycopg.connect(sys.argv[1], autocommit=True)
c.execute('DROP DATABASE IF EXISTS $db WITH (FORCE)'); c.execute('CREATE DATABASE $db')" "$admin_url"
in_image "import redis, sys; redis.Redis.from_url(sys.argv[1]).flushdb()" "$CELERY_BROKER_URL"
stack_up=1
say "compose up: migrate, then web, worker-cpu, beat (web on 127.0.0.1:$PORT)"
dc up -d --no-build >"$logs/up.log" 2>&1 || { cat "$logs/up.log"; exit 1; }

wait_healthy() {  # service, seconds
  local state=""
  for _ in $(seq "$2"); do
    state="$(docker inspect -f '{{.State.Health.Status}}' "$(cid "$1")" 2>/dev/null || true)"
    [ "$state" = healthy ] && return 0
    sleep 1
  done
  echo "$1 is not healthy after $2 s: $state"
  docker inspect -f '{{json .State.Health}}' "$(cid "$1")"
  return 1
}
wait_healthy web 240
say "web healthy (its healthcheck passed with HTTPS=1 and ALLOWED_HOSTS=$ALLOWED_HOSTS)"

# 5. From outside, as a TLS proxy and a browser would see it.
code() { curl -s -o /dev/null -w '%{http_code}' -H "Host: $ALLOWED_HOSTS" "$@"; }
[ "$(code "http://127.0.0.1:$PORT/healthz")" = 301 ] || { echo "HTTPS=1 but /healthz did not redirect"; exit 1; }
body="$(curl -sf -H "Host: $ALLOWED_HOSTS" -H 'X-Forwarded-Proto: https' "http://127.0.0.1:$PORT/healthz")"
[ "$body" = '{"status": "ok", "database": "ok", "broker": "ok"}' ] || { echo "/healthz: $body"; exit 1; }
[ "$(code -H 'X-Forwarded-Proto: https' "http://127.0.0.1:$PORT/static/css/base.css")" = 200 ] \
  || { echo "static file not served"; exit 1; }
say "/healthz: $body; static files served"

migrated="$(docker inspect -f '{{.State.ExitCode}} {{.State.FinishedAt}}' "$(cid migrate)")"
[ "${migrated%% *}" = 0 ] || { echo "migrate exited ${migrated%% *}"; exit 1; }
for s in web worker-cpu beat; do
  started="$(docker inspect -f '{{.State.StartedAt}}' "$(cid "$s")")"
  [[ "$started" > "${migrated#* }" ]] || { echo "$s started at $started, before migrate finished"; exit 1; }
done
say "web, worker-cpu and beat started after migrate finished (${migrated#* })"

read -r n size arch img seeds epochs bs < <(docker exec "$(cid web)" python -c "
from analysis.demo_scales import SCALES; s = SCALES['tiny']
print(s.n_images, s.render_size, s.arch, s.image_size, ','.join(map(str, s.seeds)), s.epochs, s.batch_size)")
say "DEMO_SCALE=tiny: $n images at ${size}px, $arch net, seeds $seeds, $epochs epoch(s)"
docker exec "$(cid worker-cpu)" python manage.py make_synthetic --n "$n" --size "$size" \
  --out /var/lib/prunecxr/artifacts/datasets/smoke-tiny --register smoke-tiny >"$logs/dataset.log" 2>&1 \
  || { tail -20 "$logs/dataset.log"; exit 1; }
docker exec "$(cid web)" python manage.py experiment --dataset smoke-tiny --name docker-smoke --arch "$arch" \
  --init random --seeds "$seeds" --epochs "$epochs" --image-size "$img" --batch-size "$bs" \
  --wait --timeout "${SMOKE_EXPERIMENT_TIMEOUT:-900}" >"$logs/experiment.log" 2>&1 \
  || { tail -c 3000 "$logs/experiment.log"; exit 1; }
say "experiment done through the worker; checking its artifacts"
docker exec -i "$(cid web)" python - docker-smoke <docker/smoke_check.py

if docker logs "$(cid worker-cpu)" 2>&1 | grep -q 'does not exist'; then
  echo "the worker saw a missing table:"; docker logs "$(cid worker-cpu)" 2>&1 | grep 'does not exist' | head -3; exit 1
fi
wait_healthy worker-cpu 180
wait_healthy beat 300
for s in web worker-cpu beat; do
  printf '%s: restart=%s health=%s\n' "$s" "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' "$(cid "$s")")" \
    "$(docker inspect -f '{{.State.Health.Status}}' "$(cid "$s")")"
done
