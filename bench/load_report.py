"""The measuring and reporting half of bench/load_readers.py: CPU of gunicorn and PostgreSQL from /proc,
percentiles, and the printed run and summary (split off to keep the load generator short)."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from pathlib import Path

BASELINE_COMMIT = "0fadc47"  # issue 22: the code before the hot-path work, measured in the same run


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


def print_run(result: dict, name: str, think: tuple[float, float], failures: list[str]) -> None:
    print(f"\n== {name} run: {result['readers']} readers, think {think[0]}-{think[1]} s, {result['wall_s']:.1f} s")
    print(f"   {result['requests']} requests ({result['req_per_s']:.0f}/s), {result['answers_saved']} answers saved "
          f"({result['answers_per_s']:.1f}/s), {result['failures']} failed requests")  # fmt: skip
    for kind, (n, p50, p95, p99) in result["latency"].items():
        print(f"   {kind:12s} n={n:5d}  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms")
    print(f"   CPU (cores busy): gunicorn {result['cpu_gunicorn']:.2f}, PostgreSQL {result['cpu_postgres']:.2f}, "
          f"load generator {result['cpu_loadgen']:.2f} of {result['cores']}")  # fmt: skip
    print(f"   gunicorn CPU per request: {result['server_cpu_ms_per_request']:.1f} ms")
    print(f"   database: {result['rows']} answers; {result['confirmed']} confirmed (reader, case, question) values; "
          f"lost {result['lost']}, duplicated {result['duplicated']}")  # fmt: skip
    for f in failures[:5]:
        print("   failure:", f)


def _summary_row(name: str, r: dict, kind: str) -> str:
    if kind not in r:
        return f"{name:9s} {kind:9s} (not run)"
    x = r[kind]
    lat = x["latency"]
    p95 = max(v[2] for v in lat.values())
    return (f"{name:9s} {kind:9s} p95 save {lat['save'][2]:6.0f}  save&next {lat['save & next'][2]:6.0f}  "
            f"worst kind {p95:6.0f} ms  {x['req_per_s']:5.0f} req/s  "
            f"gunicorn CPU {x['server_cpu_ms_per_request']:5.1f} ms/req  "
            f"lost {x['lost']} dup {x['duplicated']} failed {x['failures']}  "
            f"load {r['load_before']:.1f}->{r['load_after']:.1f}")  # fmt: skip


def print_summary(results: dict, args) -> bool:
    """The summary of every run (ours and the baseline's); True when nothing was lost or duplicated."""
    print(f"\n== summary ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"{args.readers} readers, {args.workers} workers x {args.threads} threads; latencies p95)")  # fmt: skip
    for kind in ("paced", "capacity"):
        for name in results:
            print(_summary_row(name, results[name], kind))
    ok = all(r[k]["lost"] == 0 and r[k]["duplicated"] == 0 for r in results.values() for k in ("paced", "capacity")
             if k in r)  # fmt: skip
    ours = results["ours"]["paced"]["latency"]["save & next"][2]
    print(f"lost/duplicated in every run: {'0/0' if ok else 'NOT ZERO'}; targets: paced p95 < 100 ms, "
          f"capacity >= 250 req/s")  # fmt: skip
    if "capacity" in results["ours"]:
        print(f"ours capacity: {results['ours']['capacity']['req_per_s']:.0f} req/s")
    print(f"ours (p95 save & next, paced): {ours:.1f} ms")
    if "baseline" in results:
        base = results["baseline"]["paced"]["latency"]["save & next"][2]
        print(f"baseline (commit {BASELINE_COMMIT}, same run): {base:.1f} ms")
        print(f"ratio baseline/ours: {base / ours:.2f}x")
    return ok
