#!/usr/bin/env bash
# Makes the Dockerfile's base image (BASE_IMAGE, default python:3.11-slim-bookworm) on a machine that
# cannot reach Docker Hub: kept if the tag exists, pulled if the registry answers, otherwise built from
# Debian's own packages with debootstrap (bookworm's Python 3.11, the same Python as the official image)
# and imported under that tag. Needs root for debootstrap.
set -euo pipefail
tag="${BASE_IMAGE:-python:3.11-slim-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag: present"
  exit 0
fi
if timeout "${PULL_TIMEOUT:-60}" docker pull -q "$tag" >/dev/null 2>&1; then
  echo "base image $tag: pulled"
  exit 0
fi
echo "base image $tag: registry unreachable, building it with debootstrap from $mirror"
command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
root="$(mktemp -d /var/tmp/base-image.XXXXXX)"
trap 'rm -rf "$root"' EXIT
# minbase + what the official slim image has that we need: python3.11 with venv/ensurepip, CA bundle.
debootstrap --variant=minbase \
  --include=python3,python3-venv,python-is-python3,ca-certificates \
  bookworm "$root" "$mirror" >/dev/null
# Updates and security updates for what the Dockerfile installs later (debootstrap writes only the release).
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
  "$mirror" "$mirror" >"$root/etc/apt/sources.list"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* "$root"/tmp/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/*
tar -C "$root" --numeric-owner -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' \
  --message "debootstrap bookworm minbase + python3.11 (made by docker/base-image.sh)" - "$tag" >/dev/null
echo "base image $tag: imported ($(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec))"
