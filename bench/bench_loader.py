"""DataLoader throughput with 0, 1 and 2 worker processes on a transform-heavy pipeline.

Workload ``cpu``: ``handgrad.vision.datasets.FakeData`` images (PIL, 3 x 128 x 128) through
``RandomCrop(112, padding=8)`` - ``RandomHorizontalFlip()`` - ``Resize(96)`` - ``ToTensor()`` -
``Normalize``, batch 32, one full epoch of ``--samples`` samples (default 1,536). The time
includes starting the workers and the first batch: what a user waits for an epoch.

Method (bench/harness.py): each configuration runs in its own fresh process with one thread per
thread pool, the configurations in turn (0, 1, 2, 0, 1, 2, ...) for ``--rounds`` rounds (at least
5); per round the speed-up t(0 workers) / t(N workers) is formed, and the median over rounds is
printed with the median epoch times, samples per second and the CPU seconds spent in the main
process and in the workers. Workers only shorten the epoch when cores are free: on a machine
shared with other jobs the wall-clock figures move with its load (the load average is printed
beside them), while the CPU seconds show what the workers cost. (On Linux with
``sched_autogroup_enabled``, every process started from one terminal session shares that
session's slice of a busy machine: more worker processes then get no more CPU in total.)

Workload ``io``: samples that each wait 4 ms (``SlowReads``): it shows that the workers run
side by side even where the CPUs are taken.

    python bench/bench_loader.py [--rounds 5] [--samples 1536] [--workload cpu|io|both] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

BATCH = 32


class SlowReads:
    """The ``io`` workload: each sample waits ``IO_WAIT`` seconds (a file on a slow disk or a
    network share) and is then a small array; waiting needs no CPU, so workers overlap it
    whatever the machine's load: the check that the workers really run side by side."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        import numpy as np

        time.sleep(IO_WAIT)
        return np.full((3, 8, 8), i, np.float32), i % 10


IO_WAIT = 0.004


def run_epoch(num_workers: int, samples: int, workload: str = "cpu") -> dict:
    harness.limit_threads()
    from handgrad.data import DataLoader
    from handgrad.vision import datasets, transforms

    if workload == "io":
        ds: Any = SlowReads(samples)
        return _epoch(DataLoader(ds, batch_size=BATCH, num_workers=num_workers), samples)
    tf = transforms.Compose(
        [
            transforms.RandomCrop(112, padding=8),
            transforms.RandomHorizontalFlip(),
            transforms.Resize(96),
            transforms.ToTensor(),
            transforms.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
        ]
    )
    ds = datasets.FakeData(size=samples, image_size=(3, 128, 128), transform=tf)
    return _epoch(DataLoader(ds, batch_size=BATCH, num_workers=num_workers), samples)


def _epoch(loader: Any, samples: int) -> dict:
    t0, cpu0, before = time.perf_counter(), time.process_time(), os.times()
    seen = 0
    for images, _ in loader:
        seen += images.shape[0]
    elapsed = time.perf_counter() - t0
    after = os.times()  # the workers have been joined: their CPU time is counted here
    workers_cpu = (
        after.children_user + after.children_system - before.children_user - before.children_system
    )
    assert seen == samples, (seen, samples)
    return {
        "metrics": {"epoch": elapsed},
        "main_cpu": time.process_time() - cpu0,
        "workers_cpu": workers_cpu,
        "samples": seen,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--samples", type=int, default=1536)
    ap.add_argument("--quick", action="store_true", help="a smoke run: 1 round, 256 samples")
    ap.add_argument("--workload", choices=["cpu", "io", "both"], default="both")
    ap.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker is not None:
        harness.emit(run_epoch(args.worker, args.samples, args.workload))
        return 0
    if args.quick:
        args.rounds, args.samples = 1, 256
    for workload in ["cpu", "io"] if args.workload == "both" else [args.workload]:
        report(workload, args.rounds, args.samples)
    return 0


def report(workload: str, rounds: int, samples: int) -> None:
    configs = [
        (
            f"{n} worker{'s' if n != 1 else ''}",
            [
                sys.executable,
                __file__,
                "--worker",
                str(n),
                "--samples",
                str(samples),
                "--workload",
                workload,
            ],
        )
        for n in (0, 1, 2)
    ]
    load_before = os.getloadavg()[0]
    cmp = harness.compare(
        configs, rounds=rounds, progress=lambda s: print(s, file=sys.stderr, flush=True)
    )
    load_after = os.getloadavg()[0]
    rows = []
    for label, _ in configs:
        t = cmp.median_time(label, "epoch")
        speedup = cmp.ratio("0 workers", label, "epoch")
        lo, hi = cmp.spread("0 workers", label, "epoch")
        cpu_main = statistics.median(r["main_cpu"] for r in cmp.results[label])
        cpu_workers = statistics.median(r["workers_cpu"] for r in cmp.results[label])
        rows.append(
            [
                label,
                f"{t:.3f}",
                f"{samples / t:,.0f}",
                f"{speedup:.2f}x",
                f"{lo:.2f}-{hi:.2f}",
                f"{cpu_main:.2f}",
                f"{cpu_workers:.2f}",
            ]
        )
    what = (
        "transform-heavy pipeline"
        if workload == "cpu"
        else f"samples that wait {IO_WAIT * 1e3:.0f} ms each (slow reads)"
    )
    print(
        f"\n[{workload}] DataLoader epoch of {samples} samples, batch {BATCH}, {what}; "
        f"median of {rounds} rounds; {os.cpu_count()} CPUs, load average "
        f"{load_before:.1f} -> {load_after:.1f}"
    )
    print(
        harness.format_table(
            [
                "workers",
                "epoch s",
                "samples/s",
                "speed-up vs 0",
                "per-round range",
                "main CPU s",
                "workers CPU s",
            ],
            rows,
        )
    )
    print(
        "CPU seconds are medians too: when main + workers CPU is close to the 0-worker CPU, the "
        "workers add little work, and the wall time gains need idle cores."
    )


if __name__ == "__main__":
    sys.exit(main())
