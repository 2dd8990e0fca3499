"""Claim: 50 radiologists reading at once lose nothing, and saves stay fast (issue 10).

Starts gunicorn (as the Docker image does: 2 gthread workers x 4 threads; --workers, --threads) on a fresh
PostgreSQL database on loopback, then simulates N readers (default 50), each logging in and reading a whole
form through the same HTTP API the reading page uses: autosave of each answer, "save & next", back-navigation
with an answer change, and racing double submits (the same "save & next" sent twice at once, as a double click
does). Two runs:

1. paced: a think time drawn from 1-3 s (--think) between a reader's actions on a case, about ten times
   faster than a radiologist; reports throughput and p50/p95/p99 of "save" (autosave), "save & next"
   (which returns the next case) and "get case" (back-navigation and resume);
2. capacity: no think time, every reader as fast as the server answers: the saturation throughput
   (answers/s), the p95 at saturation, and the CPU taken by gunicorn, PostgreSQL and this load generator
   (they share the machine's cores), which says what saturates.

After each run the database must hold exactly one answer per (reader, case, question), equal to the last
value that reader had confirmed (HTTP 200) for it; the lost and duplicated counts are printed.

    .venv/bin/python bench/load_readers.py [--readers 50] [--cases 20] [--workers 4] [--think 1 3]

Needs PostgreSQL on 127.0.0.1:5432 (trust auth; BENCH_PG_URL overrides) where it creates and drops its own
database. Runs the code before issue 22 (commit 0fadc47, exported with `git archive`) and this tree one after
the other, and prints both, with the load average around each, then ours (p95 of "save & next", paced), the
baseline's from the same run and the ratio last (--no-baseline skips it). Sessions come from Redis
(--cache-url, default redis://127.0.0.1:6379/2; the baseline ignores it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # load_report, next to this file
from load_report import (  # noqa: E402
    BASELINE_COMMIT,
    children,
    cpu_seconds,
    pct,
    postgres_cpu_seconds,
    print_run,
    print_summary,
)

# --tree DIR: the source tree whose code is served and set up (this file's own tree unless given).
TREE = Path(sys.argv[sys.argv.index("--tree") + 1]).resolve() if "--tree" in sys.argv else ROOT
sys.path.insert(0, str(TREE))
PASSWORD = "load-bench-password-1"
ANSWERS = {"agree_label": ["yes", "no"], "quality": [1, 2, 3, 4, 5], "difficulty": [1, 2, 3, 4, 5]}


# --- set-up: a database, a study, readers ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_environment(work: Path, pg_url: str, dbname: str, cache_url: str = "") -> dict:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    base = pg_url.rsplit("/", 1)[0]
    env = {
        **os.environ,
        "DATABASE_URL": f"{base}/{dbname}",
        "VAR_DIR": str(work / "var"),
        "SECRET_KEY": "load-bench-" + "x" * 50,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("CELERY_BROKER_URL", None)
    env.pop("TEST_RUN_ID", None)
    env.pop("CACHE_URL", None)
    if cache_url:  # sessions from Redis (a tree without CACHE_URL support ignores it)
        env["CACHE_URL"] = cache_url
        env["CELERY_BROKER_KEY_PREFIX"] = f"{dbname}:"
    os.environ.update(env)
    return env


def build_studies(n_readers: int, n_cases: int, per_form: int, work: Path) -> list[dict]:
    """Two open studies (paced, capacity) read by the same N readers, `per_form` readers per form."""
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
    User = get_user_model()
    readers = []
    for i in range(n_readers):
        u = User(username=f"load{i:03d}")
        u.set_password(PASSWORD)
        u.save()
        u.groups.add(group)
        readers.append(u)
    n_forms = -(-n_readers // per_form)
    half = n_forms * n_cases // 2 + 1
    rng = np.random.default_rng(0)
    studies = []
    for name in ("paced", "capacity"):
        src = work / f"src-{name}"
        src.mkdir()
        candidates = []
        for k in range(2 * half):
            path = src / f"{name}{k:05d}.png"
            Image.fromarray(rng.integers(0, 255, (96, 96), dtype=np.uint8), mode="L").save(path)
            candidates.append(Candidate(path, f"{name}{k:05d}", k < half, 0.5, "bench", ["Effusion"], {}))
        study = builder.study_create_from_candidates(
            title=f"Load {name}",
            candidates=candidates,
            n_forms=n_forms,
            cases_per_form=n_cases,
            readers_per_form=per_form,
            readers=readers,
            seed=1,
        )
        services.study_open(study=study)
        studies.append({"pk": study.pk, "name": name})
    return studies


# --- the simulated reader -------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.failures: list[str] = []
        self.expected: dict[tuple[str, str, str], object] = {}
        self.answers_saved = 0
        self.requests = 0

    def record(self, kind: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.requests += 1
            self.latency[kind].append(seconds)
            if not ok:
                self.failures.append(f"{kind}: {detail}")


class Reader(threading.Thread):
    def __init__(self, base: str, username: str, study: int, stats: Stats, think: tuple[float, float], seed: int,
                 deadline: float):  # fmt: skip
        super().__init__(daemon=True)
        self.base, self.username, self.study, self.stats = base, username, study, stats
        self.think, self.rng, self.deadline = think, random.Random(seed), deadline

    def pause(self) -> None:
        lo, hi = self.think
        if hi > 0:
            time.sleep(self.rng.uniform(lo, hi) / 4)  # a case's think time, spread over its ~4 actions

    def call(self, kind: str, method: str, path: str, session=None, **kwargs):
        import requests

        session = session or self.session
        headers = {"X-CSRFToken": session.cookies.get("csrftoken", ""), "Referer": self.base + "/"}
        t0 = time.perf_counter()
        try:
            r = session.request(method, self.base + path, headers=headers, timeout=60, **kwargs)
        except requests.RequestException as exc:
            self.stats.record(kind, time.perf_counter() - t0, False, str(exc))
            return None
        self.stats.record(kind, time.perf_counter() - t0, r.ok, f"{r.status_code} {r.text[:200]}")
        return r if r.ok else None

    def login(self) -> bool:
        import requests

        self.session = requests.Session()
        page = self.session.get(self.base + "/accounts/login/", timeout=60)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        r = self.session.post(
            self.base + "/accounts/login/",
            data={"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": self.base + "/accounts/login/"},
            timeout=60,
            allow_redirects=False,
        )
        return r.status_code == 302

    def submit(self, token: str, answers: dict, complete: bool, race: bool = False):
        body = {"case": token, "assignment": self.assignment, "answers": answers, "complete": complete,
                "active_ms": self.rng.randint(500, 4000)}  # fmt: skip
        kind = "save & next" if complete else "save"
        if not race:
            r = self.call(kind, "POST", "/study/api/answers/", json=body)
            results = [r]
        else:  # a double click: the same request twice at once, from two connections of one login
            import requests

            twin = requests.Session()
            twin.cookies.update(self.session.cookies)
            results = [None, None]

            def send(i, s):
                results[i] = self.call(kind, "POST", "/study/api/answers/", session=s, json=body)

            threads = [threading.Thread(target=send, args=(i, s)) for i, s in enumerate((self.session, twin))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        ok = [r for r in results if r is not None]
        if ok:
            with self.stats.lock:
                for key, value in answers.items():
                    self.stats.expected[(self.username, token, key)] = value
                self.stats.answers_saved += len(answers)
        return ok[0].json() if ok else None

    def run(self) -> None:
        if not self.logged_in:
            self.stats.failures.append(f"{self.username}: login failed")
            return
        page = self.call("get case", "GET", f"/study/{self.study}/read/")
        if page is None:
            return
        boot = json.loads(re.search(r'id="rs-bootstrap" type="application/json">(.*?)</script>', page.text, re.S)[1])
        self.assignment = boot["reader"]["assignment"]
        case = boot["case"]
        self.call("viewed", "POST", f"/study/api/studies/{self.study}/cases/{case['position']}/viewed/")
        while case is not None and time.monotonic() < self.deadline:
            token, position = case["case"]["id"], case["position"]
            answers = {k: self.rng.choice(v) for k, v in ANSWERS.items()}
            for key, value in answers.items():  # autosave, one answer at a time
                self.pause()
                self.submit(token, {key: value}, complete=False)
            if self.rng.random() < 0.2:  # a change of mind before moving on
                key = self.rng.choice(list(ANSWERS))
                answers[key] = self.rng.choice(ANSWERS[key])
                self.submit(token, {key: answers[key]}, complete=False)
            self.pause()
            data = self.submit(token, answers, complete=True, race=self.rng.random() < 0.1)
            if data is None:
                return
            if position > 1 and self.rng.random() < 0.15:  # back to the previous case, change an answer, resume
                back = self.call("get case", "GET", f"/study/api/studies/{self.study}/cases/{position - 1}/")
                if back is not None:
                    prev = back.json()
                    self.call("viewed", "POST", f"/study/api/studies/{self.study}/cases/{position - 1}/viewed/")
                    key = self.rng.choice(list(ANSWERS))
                    self.pause()
                    self.submit(prev["case"]["id"], {key: self.rng.choice(ANSWERS[key])}, complete=False)
                    nxt = self.call("get case", "GET", f"/study/api/studies/{self.study}/next/")
                    data = {"next": None if nxt is None or nxt.json()["finished"] else nxt.json()}
                    if data["next"]:
                        pos = data["next"]["position"]
                        self.call("viewed", "POST", f"/study/api/studies/{self.study}/cases/{pos}/viewed/")
            case = data.get("next")


def verify(stats: Stats, study_pk: int) -> tuple[int, int, int]:
    """(rows, lost, duplicated): lost = a confirmed answer missing or holding another value."""
    from django.db.models import Count

    from readerstudy.models import Answer

    rows = Answer.objects.filter(case__study_id=study_pk)
    dup = sum(r["n"] - 1 for r in rows.values("reader", "case", "question").annotate(n=Count("id")) if r["n"] > 1)
    stored = {(a["reader__username"], a["case__token"], a["question__key"]): a["value"]
              for a in rows.values("reader__username", "case__token", "question__key", "value")}  # fmt: skip
    lost = sum(1 for key, value in stats.expected.items() if stored.get(key) != value)
    return rows.count(), lost, dup


def run(name, base, study, usernames, think, max_seconds, gunicorn_pid, dbname) -> dict:
    stats = Stats()
    deadline = time.monotonic() + max_seconds
    readers = [Reader(base, u, study, stats, think, seed=i, deadline=deadline) for i, u in enumerate(usernames)]
    # Log everyone in first (password hashing is deliberately slow and not what this measures).
    logins = [threading.Thread(target=lambda r=r: setattr(r, "logged_in", r.login())) for r in readers]
    for t in logins:
        t.start()
    for t in logins:
        t.join()
    server_pids = children(gunicorn_pid)
    cpu0 = (cpu_seconds(server_pids), postgres_cpu_seconds(dbname), time.process_time())
    t0 = time.monotonic()
    for r in readers:
        r.start()
        time.sleep(0.02)
    for r in readers:
        r.join()
    wall = time.monotonic() - t0
    cpu1 = (cpu_seconds(server_pids), postgres_cpu_seconds(dbname), time.process_time())
    rows, lost, dup = verify(stats, study)
    cores = os.cpu_count() or 1
    server_cpu_ms = 1000 * (cpu1[0] - cpu0[0]) / max(1, stats.requests)
    result = {
        "server_cpu_ms_per_request": server_cpu_ms,
        "run": name,
        "readers": len(usernames),
        "wall_s": wall,
        "requests": stats.requests,
        "req_per_s": stats.requests / wall,
        "answers_saved": stats.answers_saved,
        "answers_per_s": stats.answers_saved / wall,
        "failures": len(stats.failures),
        "rows": rows,
        "confirmed": len(stats.expected),
        "lost": lost,
        "duplicated": dup,
        "cpu_gunicorn": (cpu1[0] - cpu0[0]) / wall,
        "cpu_postgres": (cpu1[1] - cpu0[1]) / wall,
        "cpu_loadgen": (cpu1[2] - cpu0[2]) / wall,
        "cores": cores,
        "latency": {k: (len(v), pct(v, 50), pct(v, 95), pct(v, 99)) for k, v in sorted(stats.latency.items())},
    }
    print_run(result, name, think, stats.failures)
    return result


def one_tree(args) -> dict:
    """Both runs (paced, capacity) against the code of TREE; returns the figures for the summary."""
    pg_url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    dbname = f"loadbench_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="load-readers-"))
    env = setup_environment(work, pg_url, dbname, args.cache_url)
    gunicorn = None
    try:
        t0 = time.monotonic()
        studies = build_studies(args.readers, args.cases, args.per_form, work)
        print(
            f"set-up: {args.readers} readers, 2 studies x {args.cases} cases per form ({time.monotonic() - t0:.0f} s)"
        )
        port = free_port()
        cmd = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(args.workers), "--timeout", "120", "--log-level", "warning"]  # fmt: skip
        if args.threads > 1:
            cmd += ["--worker-class", "gthread", "--threads", str(args.threads)]
        gunicorn = subprocess.Popen(cmd, cwd=TREE, env=env, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        import requests

        for _ in range(100):
            try:
                if requests.get(base + "/healthz", timeout=2).status_code in (200, 503):
                    break
            except requests.RequestException:
                time.sleep(0.2)
        usernames = [f"load{i:03d}" for i in range(args.readers)]
        print(f"gunicorn: {args.workers} workers x {args.threads} threads on {base}, PostgreSQL database {dbname}")
        out = {"load_before": os.getloadavg()[0]}
        out["paced"] = run("paced", base, studies[0]["pk"], usernames, tuple(args.think), args.max_seconds,
                           gunicorn.pid, dbname)  # fmt: skip
        if not args.skip_capacity:
            out["capacity"] = run("capacity", base, studies[1]["pk"], usernames, (0.0, 0.0), args.max_seconds,
                                  gunicorn.pid, dbname)  # fmt: skip
        out["load_after"] = os.getloadavg()[0]
        return out
    finally:
        if gunicorn is not None:
            os.killpg(gunicorn.pid, signal.SIGTERM)
            gunicorn.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        import psycopg

        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--readers", type=int, default=50)
    p.add_argument("--cases", type=int, default=20, help="cases per form (each reader reads one whole form)")
    p.add_argument("--per-form", type=int, default=5, help="readers per form")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default: the Docker image's)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker (>1: the gthread worker class)")
    p.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"))
    p.add_argument("--max-seconds", type=float, default=240, help="bound on each run")
    p.add_argument("--skip-capacity", action="store_true")
    p.add_argument("--no-baseline", action="store_true", help=f"skip the run of commit {BASELINE_COMMIT}")
    p.add_argument("--cache-url", default="redis://127.0.0.1:6379/2", help="CACHE_URL for sessions ('' for none)")
    p.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--json-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    args.readers = max(1, min(args.readers, 200))
    if args.tree:
        result = one_tree(args)
        args.json_out.write_text(json.dumps(result))
        return 0
    pg_url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    import psycopg

    try:
        psycopg.connect(pg_url, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"skipped: this benchmark needs PostgreSQL ({pg_url}: {exc}); set BENCH_PG_URL")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="load-readers-base-"))
    try:
        trees = [("ours", ROOT)]
        if not args.no_baseline:
            archive = subprocess.run(["git", "archive", BASELINE_COMMIT], cwd=ROOT, capture_output=True, check=True)
            (tmp / "tree").mkdir()
            subprocess.run(["tar", "-x", "-C", str(tmp / "tree")], input=archive.stdout, check=True)
            trees.insert(0, ("baseline", tmp / "tree"))
        results = {}
        passthrough = [a for a in sys.argv[1:]]
        for name, tree in trees:
            print(f"\n##### {name}: {tree}")
            out = tmp / f"{name}.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), *passthrough, "--tree", str(tree), "--json-out",
                   str(out)]  # fmt: skip
            subprocess.run(cmd, check=True, cwd=tree)  # cwd: Celery's Django fixup puts os.getcwd() first on sys.path
            results[name] = json.loads(out.read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ok = print_summary(results, args)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
