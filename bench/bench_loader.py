"""DataLoader throughput with 0, 1 and 2 worker processes on a transform-heavy pipeline.

Workload: ``handgrad.vision.datasets.FakeData`` images (PIL, 3 x 128 x 128) through
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

    python bench/bench_loader.py [--rounds 5] [--samples 1536] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

BATCH = 32


def run_epoch(num_workers: int, samples: int) -> dict:
    harness.limit_threads()
    from handgrad.data import DataLoader
    from handgrad.vision import datasets, transforms

    tf = transforms.Compose([transforms.RandomCrop(112, padding=8),
                             transforms.RandomHorizontalFlip(), transforms.Resize(96),
                             transforms.ToTensor(),
                             transforms.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))])
    ds = datasets.FakeData(size=samples, image_size=(3, 128, 128), transform=tf)
    t0, cpu0, before = time.perf_counter(), time.process_time(), os.times()
    seen = 0
    for images, _ in DataLoader(ds, batch_size=BATCH, num_workers=num_workers):
        seen += images.shape[0]
    elapsed = time.perf_counter() - t0
    after = os.times()  # the workers have been joined: their CPU time is counted here
    workers_cpu = (after.children_user + after.children_system
                   - before.children_user - before.children_system)
    assert seen == samples, (seen, samples)
    return {"metrics": {"epoch": elapsed}, "main_cpu": time.process_time() - cpu0,
            "workers_cpu": workers_cpu, "samples": seen}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--samples", type=int, default=1536)
    ap.add_argument("--quick", action="store_true", help="a smoke run: 1 round, 256 samples")
    ap.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker is not None:
        harness.emit(run_epoch(args.worker, args.samples))
        return 0
    if args.quick:
        args.rounds, args.samples = 1, 256
    configs = [(f"{n} worker{'s' if n != 1 else ''}", [sys.executable, __file__, "--worker", str(n),
                                 "--samples", str(args.samples)]) for n in (0, 1, 2)]
    load_before = os.getloadavg()[0]
    cmp = harness.compare(configs, rounds=args.rounds,
                          progress=lambda s: print(s, file=sys.stderr, flush=True))
    load_after = os.getloadavg()[0]
    rows = []
    for label, _ in configs:
        t = cmp.median_time(label, "epoch")
        speedup = cmp.ratio("0 workers", label, "epoch")
        lo, hi = cmp.spread("0 workers", label, "epoch")
        cpu_main = statistics.median(r["main_cpu"] for r in cmp.results[label])
        cpu_workers = statistics.median(r["workers_cpu"] for r in cmp.results[label])
        rows.append([label, f"{t:.3f}", f"{args.samples / t:,.0f}", f"{speedup:.2f}x",
                     f"{lo:.2f}-{hi:.2f}", f"{cpu_main:.2f}", f"{cpu_workers:.2f}"])
    print(f"DataLoader epoch of {args.samples} samples, batch {BATCH}, transform-heavy "
          f"pipeline; median of {args.rounds} rounds; {os.cpu_count()} CPUs, load average "
          f"{load_before:.1f} -> {load_after:.1f}")
    print(harness.format_table(["workers", "epoch s", "samples/s", "speed-up vs 0",
                                "per-round range", "main CPU s", "workers CPU s"], rows))
    print("CPU seconds are medians too: when main + workers CPU is close to the 0-worker CPU, the "
          "workers add little work, and the wall time gains need idle cores.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
