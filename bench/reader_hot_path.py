"""Claim: the reader hot path costs <= 4 ms of server CPU per request (issue 22; about 13 ms before).

In-process, one client, no contention: Django's test client drives the WSGI handler of one source tree on a
fresh PostgreSQL database. Each reader reads whole cases the way the reading page does: next case, "viewed",
three autosaves (one answer each), "save & next" (which returns the next case and starts its clock), and the
image of the case. CPU time of this process per request (time.process_time, so the machine's load barely
moves it; PostgreSQL's own CPU is another process and not counted) is printed per kind, for the baseline tree
(commit 0fadc47, exported with `git archive`, or --baseline-root) and for this tree, in the same run; the
ratio is last. With Redis on 127.0.0.1:6379 (and no --no-redis), sessions come from it (CACHE_URL), as
deployed. Each tree's `config.wsgi` is imported after the set-up, as gunicorn's workers do (ours then freezes
the start-up objects out of the garbage collector). The client's own work (building the request) is inside
both figures. Full garbage collections land on whichever request triggers them, so one kind can carry them
all in one run; the mean over the mix is the fair summary.

    .venv/bin/python bench/reader_hot_path.py [--readers 4] [--cases 12] [--rounds 2]

Needs PostgreSQL on 127.0.0.1:5432 (trust; BENCH_PG_URL overrides); creates and drops its own databases.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_COMMIT = "0fadc47"
KINDS = ("next", "viewed", "autosave", "save & next", "image")
ANSWERS = {"agree_label": "yes", "quality": 3, "difficulty": 2}


def _setup(tree: Path, pg_url: str, dbname: str, work: Path) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    os.environ.update(
        DATABASE_URL=f"{pg_url.rsplit('/', 1)[0]}/{dbname}",
        VAR_DIR=str(work / "var"),
        SECRET_KEY="hot-path-bench-" + "x" * 40,
        DEBUG="0",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
        ALLOWED_HOSTS="testserver,127.0.0.1",
    )
    for name in ("TEST_RUN_ID", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    os.environ["CELERY_BROKER_KEY_PREFIX"] = f"hot-path-bench-{os.getpid()}:"  # the cache's key prefix too
    sys.path.insert(0, str(tree))
    os.chdir(tree)


def _build(n_readers: int, n_cases: int, work: Path):
    import django

    django.setup()
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from PIL import Image

    from config.roles import READERS
    from readerstudy import builder, services
    from readerstudy.design import Candidate

    call_command("migrate", verbosity=0, interactive=False)
    group = Group.objects.get_or_create(name=READERS)[0]
    readers = []
    for i in range(n_readers):
        u = get_user_model().objects.create(username=f"hot{i:03d}")
        u.groups.add(group)
        readers.append(u)
    rng = np.random.default_rng(0)
    src = work / "src"
    src.mkdir()
    candidates = []
    for k in range(2 * n_cases):
        path = src / f"c{k:05d}.png"
        Image.fromarray(rng.integers(0, 255, (256, 256), dtype=np.uint8), mode="L").save(path)
        candidates.append(Candidate(path, f"c{k:05d}", k < n_cases, 0.5, "bench", ["Effusion"], {}))
    study = builder.study_create_from_candidates(
        title="Hot path", candidates=candidates, n_forms=1, cases_per_form=n_cases, readers_per_form=n_readers,
        readers=readers, seed=1,
    )  # fmt: skip
    services.study_open(study=study)
    return study, readers


def worker(tree: Path, n_readers: int, n_cases: int, pg_url: str) -> dict:
    """Runs inside a fresh interpreter with `tree` first on sys.path; returns CPU/wall ms per request kind."""
    work = Path(tempfile.mkdtemp(prefix="hot-path-"))
    dbname = f"hotpath_{os.getpid()}"
    _setup(tree, pg_url, dbname, work)
    try:
        study, readers = _build(n_readers, n_cases, work)
        from django.db import connections
        from django.test import Client

        import config.wsgi  # noqa: F401 (the tree's own WSGI start-up, as gunicorn runs it; ours freezes the GC)
        from readerstudy.models import Assignment

        cpu, wall, statuses = defaultdict(list), defaultdict(list), defaultdict(int)

        def timed(kind, fn, *args, **kwargs):
            c0, w0 = time.process_time(), time.perf_counter()
            r = fn(*args, **kwargs)
            if kind == "image":
                b"".join(r.streaming_content) if r.streaming else r.content
            cpu[kind].append(time.process_time() - c0)
            wall[kind].append(time.perf_counter() - w0)
            statuses[(kind, r.status_code)] += 1
            return r

        pk = study.pk
        for reader in readers:
            client = Client()
            client.force_login(reader)
            client.get(f"/study/api/studies/{pk}/next/")  # warm-up: first request of the session
            assignment = Assignment.objects.get(study=study, reader=reader).pk
            for _ in range(n_cases):
                case = timed("next", client.get, f"/study/api/studies/{pk}/next/").json()
                if case.get("finished"):
                    break
                token, pos = case["case"]["id"], case["position"]
                timed("viewed", client.post, f"/study/api/studies/{pk}/cases/{pos}/viewed/")
                for key, value in ANSWERS.items():
                    body = {"case": token, "assignment": assignment, "answers": {key: value}, "active_ms": 900}
                    timed("autosave", client.post, "/study/api/answers/", body, content_type="application/json")
                body = {"case": token, "assignment": assignment, "answers": ANSWERS, "complete": True}
                timed("save & next", client.post, "/study/api/answers/", body, content_type="application/json")
                timed("image", client.get, case["case"]["image_url"])
        connections.close_all()
        bad = {f"{k} {s}": n for (k, s), n in statuses.items() if s != 200}
        return {
            "cpu_ms": {k: 1000 * sum(v) / len(v) for k, v in cpu.items()},
            "wall_ms": {k: 1000 * sum(v) / len(v) for k, v in wall.items()},
            "n": {k: len(v) for k, v in cpu.items()},
            "non_200": bad,
        }
    finally:
        import psycopg

        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


def _run_tree(tree: Path, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(tree), "--readers", str(args.readers),
           "--cases", str(args.cases)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tree)
    if out.returncode != 0:
        raise SystemExit(f"bench worker failed on {tree}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _redis_up() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


def _mean_all(result: dict) -> float:
    """Mean CPU per request over the whole mix (weighted by how often each kind ran)."""
    total = sum(result["cpu_ms"][k] * result["n"][k] for k in result["n"])
    return total / sum(result["n"].values())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--readers", type=int, default=4)
    p.add_argument("--cases", type=int, default=12, help="cases per reader")
    p.add_argument("--rounds", type=int, default=2, help="baseline and ours alternate this many times")
    p.add_argument("--baseline-root", type=Path, help="a source tree of the baseline (default: git archive)")
    p.add_argument("--no-redis", action="store_true", help="sessions in the database only, as without Redis")
    p.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    pg_url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if args.worker:
        print(json.dumps(worker(args.worker, args.readers, args.cases, pg_url)))
        return 0
    import psycopg

    try:
        psycopg.connect(pg_url, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"skipped: this benchmark needs PostgreSQL ({pg_url}: {exc}); set BENCH_PG_URL")
        return 0
    if not args.no_redis and _redis_up():
        os.environ["CACHE_URL"] = "redis://127.0.0.1:6379/1"  # sessions from Redis (the baseline ignores it)
    else:
        os.environ.pop("CACHE_URL", None)
    print(f"sessions: {'Redis-cached (CACHE_URL)' if os.environ.get('CACHE_URL') else 'database only'}")
    tmp = None
    base = args.baseline_root
    if base is None:
        tmp = Path(tempfile.mkdtemp(prefix="hot-path-base-"))
        archive = subprocess.run(["git", "archive", BASELINE_COMMIT], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
        base = tmp
    try:
        runs = {"baseline": [], "ours": []}
        for _ in range(args.rounds):
            for name, tree in (("baseline", base), ("ours", ROOT)):
                runs[name].append(_run_tree(tree, args))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    print(f"{args.readers} readers x {args.cases} cases, {args.rounds} rounds; CPU ms per request (best round)")
    print(f"{'request':14s} {'baseline':>9s} {'ours':>9s} {'ratio':>6s}")
    best = {name: min(rs, key=_mean_all) for name, rs in runs.items()}
    for kind in KINDS:
        b, o = best["baseline"]["cpu_ms"].get(kind), best["ours"]["cpu_ms"].get(kind)
        if b is not None and o is not None:
            print(f"{kind:14s} {b:9.2f} {o:9.2f} {b / o:5.1f}x")
    for name, rs in runs.items():
        if rs[0]["non_200"]:
            print(f"{name}: non-200 responses {rs[0]['non_200']}")
    b, o = _mean_all(best["baseline"]), _mean_all(best["ours"])
    print(f"worst hot-path kind, ours: {max(best['ours']['cpu_ms'].values()):.2f} ms (target <= 4 ms)")
    print(f"baseline (commit {BASELINE_COMMIT}), mean CPU per request over the mix: {b:.2f} ms")
    print(f"ours, mean CPU per request over the mix: {o:.2f} ms")
    print(f"ratio baseline/ours: {b / o:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
