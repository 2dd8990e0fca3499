"""`make mutation`: mutation score of the pure cores, one module at a time.

For each module below, `mutmut run "<module>.*"` mutates that module only and runs, for every mutant, the
tests that cover the mutated function (mutmut's own selection, restricted to the fast database-free test
files named in pyproject's [tool.mutmut]). The score counts a timeout as a kill and leaves out only the
survivors listed in mutation/equivalents.txt, each matched by its mutant name AND by a fragment of its
mutated line, so an entry that no longer describes the same mutation (the code moved) stops excluding it.

    python mutation/run.py                 # run every module, then print the table
    python mutation/run.py --score-only    # print the table from the last run (mutants/*.meta)
    python mutation/run.py --module analysis/core/metrics.py --survivors   # one module, list its survivors
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = Path(__file__).resolve().parent / "equivalents.txt"
MODULES = [
    "analysis/core/metrics.py",
    "analysis/core/forgettability.py",
    "pruning/engine/pies.py",
    "pruning/engine/prune.py",
    "readerstudy/design.py",
    "analysis/core/perception/paper.py",
    "analysis/core/perception/effects.py",
    "analysis/core/perception/text.py",
    "analysis/core/perception/mixed_reml.py",
]
TARGET = 90.0
# mutmut's exit codes (mutmut/stats.py): 1 and 3 are test failures, 24/-24/152/255/36 CPU-time limits,
# 0 a survivor, 33 a mutant no selected test reaches (counted as a survivor).
KILLED, TIMEOUT, SURVIVED = {1, 3, 37}, {24, -24, 152, 255, 36}, {0}


def dotted(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


def load_equivalents() -> dict[str, tuple[str, str]]:
    """{mutant name: (fragment of the mutated line, reason)} from 'name | fragment | reason' lines."""
    out = {}
    for n, line in enumerate(EQUIVALENTS.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" | ")]
        if len(parts) != 3:
            sys.exit(f"{EQUIVALENTS.name}:{n}: expected 'mutant | fragment | reason', got {line!r}")
        out[parts[0]] = (parts[1], parts[2])
    return out


def diff_of(name: str, module: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    return get_diff_for_mutant(name, path=Path(module))


def added_lines(diff: str) -> str:
    return "\n".join(line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++"))


def score(module: str, equivalents: dict[str, tuple[str, str]], show_survivors: bool) -> tuple[float, str] | None:
    meta = ROOT / "mutants" / f"{module}.meta"
    if not meta.exists():
        return None
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    counts, survivors, excluded, stale = Counter(), [], 0, []
    for name, code in sorted(codes.items()):
        if code in KILLED:
            counts["killed"] += 1
        elif code in TIMEOUT:
            counts["timeout"] += 1
        elif code in SURVIVED and name in equivalents and equivalents[name][0] in added_lines(diff_of(name, module)):
            excluded += 1
        else:
            counts[{0: "survived", 33: "no tests"}.get(code, f"other({code})")] += 1
            survivors.append(name)
        if name in equivalents and code not in SURVIVED:
            stale.append(name)
    total = sum(counts.values())
    pct = 100.0 * (counts["killed"] + counts["timeout"]) / total if total else 100.0
    line = (
        f"{module:34s} {len(codes):5d} mutants  {counts['killed']:4d} killed  {counts['timeout']:3d} timeout  "
        f"{excluded:3d} listed  {total - counts['killed'] - counts['timeout']:3d} survived  {pct:5.1f}%"
    )
    for name in stale:
        line += f"\n    stale entry in {EQUIVALENTS.name} (killed now): {name}"
    for name in (n for n in equivalents if n.startswith(dotted(module) + ".") and n in codes):
        if codes[name] in SURVIVED and equivalents[name][0] not in added_lines(diff_of(name, module)):
            line += f"\n    entry in {EQUIVALENTS.name} no longer matches its mutant (not excluded): {name}"
    if show_survivors:
        for name in survivors:
            line += f"\n--- {name} (exit {codes[name]})\n{diff_of(name, module)}"
    return pct, line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--module", action="append", choices=MODULES, help="only this module (repeatable)")
    parser.add_argument("--score-only", action="store_true", help="do not run mutmut; score the last run")
    parser.add_argument("--survivors", action="store_true", help="print the diff of every unlisted survivor")
    parser.add_argument("--max-children", type=int, default=int(os.environ.get("MUTATION_JOBS", "2")))
    args = parser.parse_args()
    os.chdir(ROOT)
    modules = args.module or MODULES
    if not args.score_only:
        mutmut = Path(sys.executable).with_name("mutmut")
        # mutmut collects "which test covers which function" once and then only for NEW tests: a function
        # added since (or a call moved into it) would count as untested. Start each run from fresh stats.
        (ROOT / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
        for module in MODULES:
            # A module copied there unmutated by an earlier configuration looks "already mutated" to mutmut
            # (its copy is newer than the source) and would get no mutants: drop such copies.
            if not (ROOT / "mutants" / f"{module}.meta").exists():
                (ROOT / "mutants" / module).unlink(missing_ok=True)
        for module in modules:
            print(f"== mutmut: {module}", flush=True)
            # The names given on the command line are always re-run, so each module is scored afresh.
            cmd = [str(mutmut), "run", "--max-children", str(args.max_children), f"{dotted(module)}.*"]
            done = subprocess.run(cmd, stdout=subprocess.DEVNULL)
            if done.returncode:
                print(f"mutmut failed on {module} (exit {done.returncode}); rerun: {' '.join(cmd)}")
                return done.returncode
    equivalents = load_equivalents()
    sys.path.insert(0, str(ROOT))
    ok = True
    print(f"\nMutation score (timeouts count as kills; survivors in {EQUIVALENTS.name} left out; target {TARGET}%)")
    for module in modules:
        result = score(module, equivalents, args.survivors)
        if result is None:
            print(f"{module:34s} not run yet")
            ok = False
            continue
        pct, line = result
        print(line)
        ok &= pct >= TARGET
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
