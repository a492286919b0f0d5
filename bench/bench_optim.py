"""Optimizer steps, handgrad beside PyTorch: seconds per ``step()`` of every torch.optim
optimizer handgrad has, on one float32 parameter set of about a million numbers (a 1000 x 1000
matrix and a 1000 vector), the gradients fixed, one thread each.

Each library runs in its own process, alternated A B A B ... (``harness.compare``), ``--rounds``
rounds (default 3); the figure per optimizer is the median over rounds of the time ratio
handgrad / torch (how many times longer handgrad's step takes). torch runs its default
single-tensor path on the CPU (``foreach`` left to torch's choice). LBFGS is left out: its step
is dominated by the closure.

    python bench/bench_optim.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import compare, emit, format_table, limit_threads, reps_for, time_fn  # noqa: E402

CONFIGS = {
    "SGD(momentum)": ("SGD", dict(lr=0.01, momentum=0.9)),
    "Adam": ("Adam", dict(lr=1e-3)),
    "AdamW": ("AdamW", dict(lr=1e-3)),
    "RMSprop": ("RMSprop", dict(lr=1e-3)),
    "Adagrad": ("Adagrad", dict(lr=1e-2)),
    "Adadelta": ("Adadelta", dict()),
    "Adamax": ("Adamax", dict()),
    "NAdam": ("NAdam", dict()),
    "RAdam": ("RAdam", dict()),
    "ASGD": ("ASGD", dict()),
    "Rprop": ("Rprop", dict()),
    "Adafactor": ("Adafactor", dict()),
}


def worker(lib_name: str) -> None:
    if lib_name == "torch":
        import torch as lib

        limit_threads(lib)
    else:
        import handgrad as lib

        limit_threads()
    rng = np.random.default_rng(0)
    shapes = [(1000, 1000), (1000,)]
    metrics = {}
    for label, (name, kw) in CONFIGS.items():
        params = [
            lib.nn.Parameter(lib.tensor(rng.standard_normal(s).astype(np.float32))) for s in shapes
        ]
        for p in params:
            p.grad = lib.tensor(rng.standard_normal(p.shape).astype(np.float32))
        opt = getattr(lib.optim, name)(params, **kw)
        reps = reps_for(opt.step, 0.3, cap=200)
        metrics[label] = time_fn(opt.step, warmup=3, reps=reps, blocks=5)["median"]
    emit({"metrics": metrics})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", choices=["handgrad", "torch"])
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    me = [sys.executable, __file__, "--worker"]
    table = compare(
        [("handgrad", me + ["handgrad"]), ("torch", me + ["torch"])],
        rounds=args.rounds,
        progress=lambda s: print(s, file=sys.stderr),
    )
    rows = []
    for label in CONFIGS:
        h, t = table.median_time("handgrad", label), table.median_time("torch", label)
        lo, hi = table.spread("handgrad", "torch", label)
        rows.append(
            [
                label,
                f"{h * 1e3:.2f}",
                f"{t * 1e3:.2f}",
                f"{table.ratio('handgrad', 'torch', label):.2f}",
                f"{lo:.2f}-{hi:.2f}",
            ]
        )
    print(format_table(["optimizer", "handgrad ms", "torch ms", "ratio", "spread"], rows))


if __name__ == "__main__":
    main()
