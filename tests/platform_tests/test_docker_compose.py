"""docker/compose.yaml and docker/compose.host.yaml, resolved the way compose resolves `extends` (one
level, from docker/services.yaml): what every service must have. `make docker-smoke` runs the host file."""

import re
from pathlib import Path

import pytest
import yaml

DOCKER_DIR = Path(__file__).resolve().parents[2] / "docker"
APP_SERVICES = {"migrate", "web", "beat", "worker-cpu", "worker", "worker-gpu"}


def resolved(name: str) -> dict:
    """Services of a compose file with `extends` applied: the base service, then the local keys over it
    (mappings such as environment merged key by key, as compose does)."""
    services = yaml.safe_load((DOCKER_DIR / name).read_text())["services"]
    out = {}
    for svc_name, svc in services.items():
        svc = dict(svc)
        if ext := svc.pop("extends", None):
            base = dict(yaml.safe_load((DOCKER_DIR / ext["file"]).read_text())["services"][ext["service"]])
            for key, value in svc.items():
                base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
            svc = base
        out[svc_name] = svc
    return out


@pytest.fixture(params=["compose.yaml", "compose.host.yaml"])
def services(request) -> dict:
    return resolved(request.param)


def test_every_app_service_is_defined_with_one_of_two_tags_of_one_image_name(services):
    assert set(services) >= APP_SERVICES
    assert {services[s]["image"] for s in APP_SERVICES} == {"prunecxr:web", "prunecxr:worker"}
    assert {s for s in APP_SERVICES if services[s]["image"] == "prunecxr:web"} == {"migrate", "web", "beat"}


def test_every_service_has_a_restart_policy_and_every_server_a_healthcheck(services):
    for name, svc in services.items():
        assert svc.get("restart") in {"unless-stopped", "on-failure", "always"}, name
        if name != "migrate":  # a job: its exit status is its health, and the others wait on it
            assert svc["healthcheck"]["test"], name


def test_services_start_only_after_migrate_succeeded(services):
    for name in APP_SERVICES - {"migrate"}:
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}, name


def test_cpu_profile_runs_one_worker_on_both_queues_and_gpu_profile_splits_them(services):
    profiles = {name: tuple(services[name].get("profiles", ())) for name in APP_SERVICES}
    assert profiles["worker-cpu"] == ("cpu",) and profiles["worker"] == profiles["worker-gpu"] == ("gpu",)
    queues = {n: re.search(r"-Q \"([^\"]+)\"", services[n]["command"][-1]).group(1) for n in ("worker-cpu", "worker")}
    assert queues["worker-cpu"] == "$${JOBS_QUEUE_PREFIX}default,$${JOBS_QUEUE_PREFIX}gpu"
    assert queues["worker"] == "$${JOBS_QUEUE_PREFIX}default"
    assert "deploy" not in services["worker-cpu"]  # no NVIDIA device: it starts on a host without a GPU


def test_no_secret_is_written_in_a_compose_file(services):
    for name, svc in services.items():
        env = svc.get("environment", {})
        for key, value in env.items():
            if any(word in key for word in ("SECRET", "PASSWORD")):
                assert str(value).startswith("${"), f"{name}: {key} is not taken from the environment"
        for key in ("DATABASE_URL", "CELERY_BROKER_URL"):
            userinfo = re.search(r"://[^/@:]*:([^@]*)@", str(env.get(key, "")))
            password = userinfo.group(1) if userinfo else ""
            assert password == "" or re.fullmatch(r"\$\{[^}]*\}", password), f"{name}: password in {key}"


def test_bundled_redis_requires_the_password_from_the_environment():
    redis = resolved("compose.yaml")["redis"]
    assert redis["environment"]["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?")
    assert "--requirepass" in redis["command"][-1]
    assert (
        resolved("compose.yaml")["web"]["environment"]["CELERY_BROKER_URL"]
        == "redis://:${REDIS_PASSWORD:-}@redis:6379/0"
    )
