#!/usr/bin/env bash
# Builds prunecxr:web and prunecxr:worker (docker/Dockerfile) the way this project's machines can:
#  - the base image comes from docker/base-image.sh (debootstrap where Docker Hub is out of reach);
#  - pip reads the machine's local package mirrors (/opt/pypi-more, /opt/pypi: torch and the CUDA wheels
#    are there), served over 127.0.0.1 for the build, before PyPI; without them, PyPI alone;
#  - the machine's extra CA certificates (a TLS-intercepting proxy's) go in as the CA_CERT build arg.
# Layer caching makes a second run with unchanged requirements take seconds. Every knob is a variable:
#   IMAGE (prunecxr), BASE_IMAGE, LOCAL_MIRRORS ("/opt/pypi-more /opt/pypi"), CA_CERT_FILES
#   (/usr/local/share/ca-certificates/*.crt), LOCAL_MIRROR_PORT (37169), TORCH_INDEX_URL, TARGETS ("web worker"), and the pip variables
#   PIP_INDEX_URL / PIP_EXTRA_INDEX_URL / PIP_TRUSTED_HOST, which win over the local mirrors.
set -euo pipefail
cd "$(dirname "$0")/.."
image="${IMAGE:-prunecxr}"
export BASE_IMAGE="${BASE_IMAGE:-python:3.11-slim-bookworm}"
export DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}"  # the classic builder: no buildx plugin needed

bash docker/base-image.sh

server_pid=""
cleanup() { [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; rm -rf "${mirror_dir:-}"; }
trap cleanup EXIT

extra_index=()
mirrors=()
for m in ${LOCAL_MIRRORS-/opt/pypi-more /opt/pypi}; do [ -d "$m/simple" ] && mirrors+=("$m"); done
if [ -z "${PIP_INDEX_URL:-}" ] && [ "${#mirrors[@]}" -gt 0 ]; then
  mirror_dir="$(mktemp -d)"
  for m in "${mirrors[@]}"; do ln -s "$m" "$mirror_dir/$(basename "$m")"; done
  # A fixed port: the index URL is a build arg, and build args are part of the layer cache's key.
  port="${LOCAL_MIRROR_PORT:-37169}"
  if ! python3 -c 'import socket, sys; socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null; then
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    echo "build: port ${LOCAL_MIRROR_PORT:-37169} is taken, serving the mirrors on $port (the pip layers rebuild)"
  fi
  python3 -m http.server --bind 127.0.0.1 --directory "$mirror_dir" "$port" >/dev/null 2>&1 &
  server_pid=$!
  for _ in $(seq 50); do python3 - "$port" <<'PY' && break || sleep 0.2
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
PY
  done 2>/dev/null
  # Local mirrors first: pip takes the first of equal candidates, so torch and CUDA come from disk.
  for m in "${mirrors[@]}"; do extra_index+=("http://127.0.0.1:$port/$(basename "$m")/simple"); done
  PIP_INDEX_URL="${extra_index[0]}"
  PIP_EXTRA_INDEX_URL="${PIP_EXTRA_INDEX_URL:-${extra_index[*]:1} https://pypi.org/simple}"
  PIP_TRUSTED_HOST="${PIP_TRUSTED_HOST:-127.0.0.1}"
  echo "build: pip reads ${mirrors[*]} (served on 127.0.0.1:$port), then PyPI"
fi

ca_cert=""
for f in ${CA_CERT_FILES-/usr/local/share/ca-certificates/*.crt}; do [ -f "$f" ] && ca_cert+="$(cat "$f")"$'\n'; done

for target in ${TARGETS:-web worker}; do
  start=$(date +%s)
  docker build --network host -f docker/Dockerfile --target "$target" -t "$image:$target" \
    --build-arg BASE_IMAGE="$BASE_IMAGE" \
    --build-arg PIP_INDEX_URL="${PIP_INDEX_URL:-}" \
    --build-arg PIP_EXTRA_INDEX_URL="${PIP_EXTRA_INDEX_URL:-}" \
    --build-arg PIP_TRUSTED_HOST="${PIP_TRUSTED_HOST:-}" \
    --build-arg TORCH_INDEX_URL="${TORCH_INDEX_URL:-}" \
    --build-arg CA_CERT="$ca_cert" \
    . > "${BUILD_LOG_DIR:-/tmp}/docker-build-$target.log" 2>&1 \
    || { tail -40 "${BUILD_LOG_DIR:-/tmp}/docker-build-$target.log"; exit 1; }
  size="$(docker image inspect -f '{{.Size}}' "$image:$target" | numfmt --to=iec --format='%.2f')"
  echo "build: $image:$target in $(( $(date +%s) - start )) s, $size"
done
