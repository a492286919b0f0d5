"""``python -m tests.fuzz``: a fuzz campaign. ``FUZZ_MINUTES`` (default 1) bounds its length,
``FUZZ_SEED`` replays a campaign (fresh seeds by default), ``FUZZ_PROGRAMS`` caps the count."""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections import Counter

from .runner import Finding, check, generate


def campaign(
    first_seed: int, minutes: float, max_programs: int | None = None, out=sys.stdout
) -> tuple[int, Counter, dict]:
    deadline = time.monotonic() + 60 * minutes
    counts: Counter = Counter()
    by_key: dict = {}
    n = 0
    while time.monotonic() < deadline and (max_programs is None or n < max_programs):
        seed = first_seed + n
        n += 1
        if n % 500 == 0:  # progress on stderr: a native crash still leaves the last seed known
            print(
                f"fuzz: {n} programs, now seed {seed}: {dict(counts)}", file=sys.stderr, flush=True
            )
        prog = generate(seed)
        try:
            found = check(prog)
        except Exception as e:  # noqa: BLE001 - a fuzzer bug is a finding, not the campaign's end
            why = f"the fuzzer itself raised {type(e).__name__}: {e}"
            found = [Finding("defect", "error", None, None, None, why, prog, "fuzzer error")]
        for f in found:
            counts[f.cls] += 1
            by_key.setdefault(f.key(), []).append(f)
            if f.cls == "defect":  # at once: a campaign cut short still names its defects
                print(
                    f"fuzz: defect at seed {seed}: {f.op} ({f.what})", file=sys.stderr, flush=True
                )
    return n, counts, by_key


def report(first_seed: int, n: int, counts: Counter, by_key: dict, out=sys.stdout) -> None:
    print(
        f"fuzz: {n} programs from seed {first_seed}; mismatches by class: "
        f"kink {counts['kink']}, accepted {counts['accepted']}, rounding {counts['rounding']}, "
        f"defect {counts['defect']}",
        file=out,
    )
    for cls in ("accepted", "kink", "rounding"):
        keys = sorted(k for k in by_key if k[0] == cls)
        for k in keys:
            fs = by_key[k]
            print(f"  [{cls}] {k[2]} ({k[1]}) x{len(fs)}: {fs[0].reason}", file=out)
    for k in sorted(k for k in by_key if k[0] == "defect"):
        fs = by_key[k]
        f = fs[0]
        print(
            f"\n[defect] {k[2]} ({k[1]}) x{len(fs)}, replay with FUZZ_SEED={f.program.seed} "
            f"FUZZ_PROGRAMS=1 ({f.reason})",
            file=out,
        )
        if len(fs) > 1:  # every program of the key, to replay each (up to 20)
            print("  seeds: " + " ".join(str(x.program.seed) for x in fs[:20]), file=out)
        print("  " + f.repro().replace("\n", "\n  "), file=out)
        print("  in program: " + f.program.describe().replace("\n", "\n  "), file=out)


def main() -> int:
    seed_env = os.environ.get("FUZZ_SEED")
    first = int(seed_env) if seed_env else secrets.randbelow(2**31)
    minutes = float(os.environ.get("FUZZ_MINUTES", "1"))
    cap = os.environ.get("FUZZ_PROGRAMS")
    print(f"fuzz: campaign from seed {first}", file=sys.stderr, flush=True)
    n, counts, by_key = campaign(first, minutes, int(cap) if cap else None)
    report(first, n, counts, by_key)
    return 1 if counts["defect"] else 0


if __name__ == "__main__":
    sys.exit(main())
