"""A graph convolutional network on a sparse adjacency: handgrad beside PyTorch.

Workload: a Cora-sized graph (2,708 nodes, about 10,500 edges plus self loops, symmetric
normalisation D^-1/2 (A + I) D^-1/2 held as a sparse COO tensor), 1,433 dense float32 input
features, two graph convolutions (1,433 -> 16 -> 7) with ReLU, log-softmax and NLL on 140
labelled nodes, Adam; one step = forward, backward and the optimizer step. Both libraries run
the same program (``sparse_coo_tensor``, ``sparse.mm``), with the same initial weights.

Method (bench/harness.py): each library in its own process with one thread, in turn, for
``--rounds`` rounds; each process warms up and reports the median of ``--steps`` timed steps;
the per-round ratio handgrad / torch is formed and its median printed.

    python bench/bench_gcn.py [--rounds 5] [--steps 20] [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

NODES, FEATURES, HIDDEN, CLASSES, EDGES, LABELLED = 2708, 1433, 16, 7, 5278, 140


def graph() -> tuple:
    rng = np.random.default_rng(0)
    src, dst = rng.integers(0, NODES, (2, EDGES))
    rows = np.concatenate([src, dst, np.arange(NODES)])
    cols = np.concatenate([dst, src, np.arange(NODES)])
    deg = np.bincount(rows, minlength=NODES).astype(np.float64)
    values = (1 / np.sqrt(deg[rows] * deg[cols])).astype(np.float32)
    x = (rng.random((NODES, FEATURES)) < 0.0127).astype(np.float32)  # Cora's bag of words
    labels = rng.integers(0, CLASSES, NODES)
    w1 = rng.normal(0, 0.05, (FEATURES, HIDDEN)).astype(np.float32)
    w2 = rng.normal(0, 0.3, (HIDDEN, CLASSES)).astype(np.float32)
    return np.stack([rows, cols]), values, x, labels, w1, w2


def run(lib_name: str, steps: int) -> dict:
    if lib_name == "torch":
        import torch as lib

        harness.limit_threads(lib)
    else:
        import handgrad as lib

        harness.limit_threads()
    F = lib.nn.functional
    indices, values, x_np, labels, w1_np, w2_np = graph()
    adj = lib.sparse_coo_tensor(lib.tensor(indices), lib.tensor(values), (NODES, NODES))
    x, y = lib.tensor(x_np), lib.tensor(labels)
    w1 = lib.tensor(w1_np, requires_grad=True)
    w2 = lib.tensor(w2_np, requires_grad=True)
    opt = lib.optim.Adam([w1, w2], lr=0.01, weight_decay=5e-4)
    train = lib.arange(LABELLED)

    def step() -> float:
        opt.zero_grad()
        h = F.relu(lib.sparse.mm(adj, x @ w1))
        out = F.log_softmax(lib.sparse.mm(adj, h @ w2), dim=1)
        loss = F.nll_loss(out[train], y[train])
        loss.backward()
        opt.step()
        return loss.item()

    first = step()
    timing = harness.time_fn(step, warmup=2, reps=1, blocks=steps)
    return {"metrics": {"step": timing["median"]}, "first_loss": first}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="a smoke run: 1 round, 3 steps")
    ap.add_argument("--worker", choices=["torch", "handgrad"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        harness.emit(run(args.worker, args.steps))
        return 0
    if args.quick:
        args.rounds, args.steps = 1, 3
    commands = [
        (lib, [sys.executable, __file__, "--worker", lib, "--steps", str(args.steps)])
        for lib in ("handgrad", "torch")
    ]
    cmp = harness.compare(
        commands, rounds=args.rounds, progress=lambda s: print(s, file=sys.stderr, flush=True)
    )
    losses = {lib: cmp.first(lib)["first_loss"] for lib, _ in commands}
    print(
        f"GCN step on a {NODES}-node sparse graph, median of {args.rounds} rounds x "
        f"{args.steps} steps, one thread (first losses: handgrad {losses['handgrad']:.6f}, "
        f"torch {losses['torch']:.6f})"
    )
    lo, hi = cmp.spread("handgrad", "torch", "step")
    print(
        harness.format_table(
            ["library", "step ms", "handgrad / torch", "per-round range"],
            [
                [
                    "handgrad",
                    f"{cmp.median_time('handgrad', 'step') * 1e3:.2f}",
                    f"{cmp.ratio('handgrad', 'torch', 'step'):.2f}x",
                    f"{lo:.2f}-{hi:.2f}",
                ],
                ["torch", f"{cmp.median_time('torch', 'step') * 1e3:.2f}", "", ""],
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
