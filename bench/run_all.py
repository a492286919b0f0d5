"""Run every ``bench_*.py`` in this folder, one after the other (never two at once: they would
slow each other down), and say which ones failed.

    python bench/run_all.py [--quick] [--only core,conv] [-- extra args passed to every script]

With ``--quick`` each script gets ``--quick``; a script that does not offer that flag (its source
does not mention it) is skipped rather than run in full.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts(only: list[str] | None = None) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    if only:
        found = [p for p in found if p.stem.removeprefix("bench_") in only]
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="run every bench/bench_*.py in turn")
    ap.add_argument("--quick", action="store_true", help="pass --quick (smoke run) to each script")
    ap.add_argument("--only", default="", help="comma-separated names, e.g. core,conv")
    ap.add_argument("extra", nargs=argparse.REMAINDER, help="after --: arguments for every script")
    args = ap.parse_args(argv)
    extra = [a for a in args.extra if a != "--"]
    only = [s.strip() for s in args.only.split(",") if s.strip()] or None

    failed, skipped = [], []
    for path in scripts(only):
        cmd = [sys.executable, str(path), *extra]
        if args.quick:
            if "--quick" not in path.read_text():
                print(f"=== {path.name}: skipped (no --quick smoke mode)\n", flush=True)
                skipped.append(path.name)
                continue
            cmd.append("--quick")
        print(f"=== {path.name}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(cmd)
        print(f"=== {path.name}: exit {rc} after {time.perf_counter() - t0:.0f} s\n", flush=True)
        if rc != 0:
            failed.append(path.name)
    if skipped:
        print(f"skipped: {', '.join(skipped)}")
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    print("all benchmarks ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
