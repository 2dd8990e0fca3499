"""Claim: 50 radiologists reading at once lose nothing, and saves stay fast (issue 10).

Starts gunicorn (several sync workers) on a fresh PostgreSQL database on loopback, then simulates N readers
(default 50), each logging in and reading a whole form through the same HTTP API the reading page uses:
autosave of each answer, "save & next", back-navigation with an answer change, and racing double submits
(the same "save & next" sent twice at once, as a double click does). Two runs:

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
database. Prints ours (p95 of "save & next" in the paced run), the baseline (the issue's measurement of the
code before it: p95 208 ms for the next case) and the ratio last.
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
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BASELINE_NEXT_P95_MS = 208.0  # issue 10: p95 of the next case at 50 paced readers, before the changes
PASSWORD = "load-bench-password-1"
ANSWERS = {"agree_label": ["yes", "no"], "quality": [1, 2, 3, 4, 5], "difficulty": [1, 2, 3, 4, 5]}


# --- set-up: a database, a study, readers ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_environment(work: Path, pg_url: str, dbname: str) -> dict:
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


# --- measuring ------------------------------------------------------------------------------------


def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pids, fields: tuple[int, int] = (11, 12)) -> float:
    """User + system CPU of `pids` (fields 13, 14: what they collected from children that exited)."""
    ticks = sum(int(stat[f]) for pid in pids if (stat := proc_stat(pid)) for f in fields)
    return ticks / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid, *map(int, out)]


def postgres_cpu_seconds(dbname: str) -> float:
    """CPU of PostgreSQL: the live backends of `dbname`, plus what the postmaster has collected from children
    that exited (cutime + cstime; any database's, but on a quiet machine that is ours), so a connection
    closed mid-run still counts. Live backends alone went negative when connections were recycled."""
    backends, postmasters = [], set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith("postgres:") and f" {dbname} " in cmd and (stat := proc_stat(int(proc.name))):
                backends.append(int(proc.name))
                postmasters.add(int(stat[1]))  # the parent
    return cpu_seconds(backends) + cpu_seconds(postmasters, fields=(13, 14))


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


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
    print(f"\n== {name} run: {len(usernames)} readers, think {think[0]}-{think[1]} s, {wall:.1f} s")
    print(f"   {stats.requests} requests ({result['req_per_s']:.0f}/s), {stats.answers_saved} answers saved "
          f"({result['answers_per_s']:.1f}/s), {len(stats.failures)} failed requests")  # fmt: skip
    for kind, (n, p50, p95, p99) in result["latency"].items():
        print(f"   {kind:12s} n={n:5d}  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms")
    print(f"   CPU (cores busy): gunicorn {result['cpu_gunicorn']:.2f}, PostgreSQL {result['cpu_postgres']:.2f}, "
          f"load generator {result['cpu_loadgen']:.2f} of {cores}")  # fmt: skip
    print(f"   gunicorn CPU per request: {server_cpu_ms:.1f} ms")
    print(f"   database: {rows} answers; {len(stats.expected)} confirmed (reader, case, question) values; "
          f"lost {lost}, duplicated {dup}")  # fmt: skip
    for f in stats.failures[:5]:
        print("   failure:", f)
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--readers", type=int, default=50)
    p.add_argument("--cases", type=int, default=20, help="cases per form (each reader reads one whole form)")
    p.add_argument("--per-form", type=int, default=5, help="readers per form")
    p.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    p.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"))
    p.add_argument("--max-seconds", type=float, default=240, help="bound on each run")
    p.add_argument("--skip-capacity", action="store_true")
    args = p.parse_args()
    args.readers = max(1, min(args.readers, 200))

    pg_url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    dbname = f"loadbench_{os.getpid()}"
    import psycopg

    try:
        psycopg.connect(pg_url, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"skipped: this benchmark needs PostgreSQL ({pg_url}: {exc}); set BENCH_PG_URL")
        return 0
    work = Path(tempfile.mkdtemp(prefix="load-readers-"))
    env = setup_environment(work, pg_url, dbname)
    gunicorn = None
    try:
        t0 = time.monotonic()
        studies = build_studies(args.readers, args.cases, args.per_form, work)
        print(
            f"set-up: {args.readers} readers, 2 studies x {args.cases} cases per form ({time.monotonic() - t0:.0f} s)"
        )
        port = free_port()
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--timeout", "120", "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        import requests

        for _ in range(100):
            try:
                if requests.get(base + "/healthz", timeout=2).status_code in (200, 503):
                    break
            except requests.RequestException:
                time.sleep(0.2)
        usernames = [f"load{i:03d}" for i in range(args.readers)]
        print(f"gunicorn: {args.workers} sync workers on {base}, PostgreSQL database {dbname}")
        paced = run("paced", base, studies[0]["pk"], usernames, tuple(args.think), args.max_seconds, gunicorn.pid,
                    dbname)  # fmt: skip
        capacity = None
        if not args.skip_capacity:
            capacity = run("capacity", base, studies[1]["pk"], usernames, (0.0, 0.0), args.max_seconds, gunicorn.pid,
                           dbname)  # fmt: skip
            busy = {k: capacity[f"cpu_{k}"] for k in ("gunicorn", "postgres", "loadgen")}
            top = max(busy, key=busy.get)
            print(f"   saturation: {capacity['answers_per_s']:.0f} answers/s, "
                  f"save & next p95 {capacity['latency']['save & next'][2]:.0f} ms; the busiest is {top} "
                  f"({busy[top]:.2f} of {capacity['cores']} cores; all three share them)")  # fmt: skip
        ok = all(r is None or (r["lost"] == 0 and r["duplicated"] == 0) for r in (paced, capacity))
        ours = paced["latency"]["save & next"][2]
        print(
            f"\nlost/duplicated in both runs: {'0/0' if ok else 'NOT ZERO'}; "
            f"paced p95: save {paced['latency']['save'][2]:.0f} ms, save & next {ours:.0f} ms (target < 100 ms)"
        )
        print(f"ours (p95 save & next, paced): {ours:.1f} ms")
        print(f"baseline (p95 next case before issue 10, from the issue): {BASELINE_NEXT_P95_MS:.1f} ms")
        print(f"ratio baseline/ours: {BASELINE_NEXT_P95_MS / ours:.2f}x")
        return 0 if ok else 1
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


if __name__ == "__main__":
    raise SystemExit(main())
