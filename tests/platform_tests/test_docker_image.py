"""The Docker image's guards: no secret or data file inside it, and a web health check that passes
whatever HTTPS and ALLOWED_HOSTS say. `make docker-smoke` runs the same checks on the built images."""

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client, override_settings

DOCKER_DIR = Path(__file__).resolve().parents[2] / "docker"


def load(name: str):
    """docker/ is not a package (a package named docker would shadow the Docker SDK), so load by path."""
    spec = importlib.util.spec_from_file_location(f"docker_{name}", DOCKER_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


image_files = load("image_files")
healthcheck = load("healthcheck")

# What a clean image holds: the app, its collected static files, a venv whose packages ship CA bundles
# and keys of their own, the system's CA certificates (with the build's extra one).
CLEAN = [
    "/app/",
    "/app/manage.py",
    "/app/pruning/engine/data.py",
    "/app/static/img/logo.png",
    "/app/docker/healthcheck.py",
    "/var/lib/prunecxr/",
    "/var/lib/prunecxr/artifacts/",
    "/var/lib/prunecxr/broker/queue/",
    "/var/lib/prunecxr/static/css/base.css",
    "/opt/venv/lib/python3.11/site-packages/certifi/cacert.pem",
    "/opt/venv/lib/python3.11/site-packages/pip/_vendor/certifi/cacert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/usr/local/share/ca-certificates/build-ca.crt",
    "/usr/share/keyrings/debian-archive-keyring.gpg",
]
PLANTED = {
    "/app/docker/.env": "secret file",
    "/app/.env.production": "secret file",
    "/home/app/.ssh/id_ed25519": "secret file",
    "/root/.ssh/authorized_keys": "secret file",
    "/app/certs/server.key": "secret file",
    "/app/data/": "state, data or development folder in the app",
    "/app/data/images/00000001_000.png": "state, data or development folder in the app",
    "/app/var/db.sqlite3": "data file",
    "/app/.git/config": "state, data or development folder in the app",
    "/app/scratch/preds.npz": "data file",
    "/var/lib/prunecxr/secret_key": "secret file",
    "/var/lib/prunecxr/celerybeat-schedule": "state baked into the image (the artifact volume mounts here)",
    "/var/lib/prunecxr/artifacts/experiments/1/seed-0/best.pt": "data file",
}


def test_image_file_rules_pass_a_clean_listing():
    assert image_files.forbidden(CLEAN) == []


def test_image_file_rules_flag_every_planted_secret_and_data_file_with_its_reason():
    found = dict(image_files.forbidden(CLEAN + list(PLANTED)))
    assert found == PLANTED


def docker_image(tag: str) -> str:
    if not shutil.which("docker"):
        pytest.skip("no docker client")
    if subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode:
        pytest.skip(f"{tag} is not built here (make docker-smoke builds it and runs this check too)")
    return tag


@pytest.mark.parametrize("tag", ["prunecxr:web", "prunecxr:worker"])
def test_built_image_holds_the_app_and_no_secret_or_data_file(tag):
    paths = image_files.list_files(docker_image(tag))
    assert "/app/manage.py" in paths and "/app/config/settings.py" in paths
    assert image_files.forbidden(paths) == []


def test_web_image_has_no_torch_and_no_cuda():
    paths = image_files.list_files(docker_image("prunecxr:web"))
    assert not [p for p in paths if "/site-packages/torch/" in p or "/site-packages/nvidia/" in p]


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("localhost,127.0.0.1", "localhost"),
        ("prunecxr.example.org", "prunecxr.example.org"),
        (".example.org,127.0.0.1", "example.org"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_healthcheck_host_is_one_that_allowed_hosts_accepts(allowed, host):
    assert healthcheck.healthcheck_host(allowed) == host


@pytest.mark.django_db
@override_settings(
    ALLOWED_HOSTS=["prunecxr.example.org"],
    SECURE_SSL_REDIRECT=True,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
def test_web_healthcheck_request_reaches_healthz_behind_https_without_localhost_in_allowed_hosts():
    env = {"ALLOWED_HOSTS": "prunecxr.example.org", "HTTPS": "1"}
    headers = healthcheck.web_request_headers(env)
    client = Client()
    # What the old check sent: a 301 to https (nobody listens there), or a 400 for the host.
    assert client.get("/healthz", headers={"Host": "prunecxr.example.org"}).status_code == 301
    assert client.get("/healthz", headers={"Host": "localhost", "X-Forwarded-Proto": "https"}).status_code == 400
    resp = client.get("/healthz", headers=headers)
    assert resp.status_code == 200
    assert json.loads(resp.content)["status"] == "ok"
