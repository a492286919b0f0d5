"""Layers beyond the three models of bench_models.py, handgrad beside PyTorch: one forward and
backward of each layer, written once against the PyTorch API (``lib`` = ``torch`` or
``handgrad``), float32, batch 32, the input requiring its gradient:

- ``gru``, ``rnn``, ``bilstm``: 2-layer GRU, tanh RNN and bidirectional LSTM, input 32, hidden
  128, sequence 35, batch_first, a linear head on the last step (bench_models.py's LSTM sizes);
- ``gelu_block``: Linear(256, 1024), exact GELU, Linear(1024, 256), LayerNorm(256) on
  (32, 64, 256), a Transformer's feed-forward block;
- ``depthwise``: Conv2d(64, 64, 3, padding=1, groups=64) on (32, 64, 16, 16), a MobileNet layer;
- ``groupnorm``: GroupNorm(8, 64) on (32, 64, 16, 16);
- ``conv1d``: Conv1d(64, 64, 3, padding=1) on (32, 64, 128);
- ``maxpool``: MaxPool2d(2) on (32, 32, 32, 32);
- ``embedding``: Embedding(10000, 128) and Linear(128, 10000) on (32, 35) token ids;
- ``silu``, ``leaky_relu``: SiLU and LeakyReLU(0.2) on (32, 64, 32, 32);
- ``upsample``: Upsample(scale_factor=2) (nearest) then Conv2d(32, 16, 3, padding=1) on
  (32, 32, 16, 16), a decoder's step.

The loss is the sum of the output (of the head's output for the recurrent layers); one step is
the forward, that sum and the backward. Method as bench_models.py (bench/harness.py): one process
per library and round, the libraries alternated for ``--rounds`` rounds, each process times every
layer (median of ``--steps`` steps after 3 warm-up steps); the ratio handgrad / PyTorch is formed
per round and its median over rounds printed with its range. ``--threads 1`` pins both libraries
to one thread, ``default`` leaves both at their defaults.

    python bench/bench_layers.py [--rounds 5] [--steps 10] [--layers gru,depthwise,...]
                                 [--threads 1,default] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

SEED = 0


def _recurrent(lib, kind: str):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            if kind == "gru":
                self.rnn = nn.GRU(32, 128, num_layers=2, batch_first=True)
            elif kind == "rnn":
                self.rnn = nn.RNN(32, 128, num_layers=2, batch_first=True)
            else:
                self.rnn = nn.LSTM(32, 128, num_layers=2, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(256 if kind == "bilstm" else 128, 10)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.fc(out[:, -1])

    return Net()


def layer(lib, name: str):
    """(module, input) of one layer, built with ``lib``'s seeded generator."""
    nn = lib.nn
    lib.manual_seed(SEED)
    r = np.random.default_rng(SEED)

    def randn(*shape):
        return lib.tensor(r.standard_normal(shape).astype(np.float32), requires_grad=True)

    if name in ("gru", "rnn", "bilstm"):
        return _recurrent(lib, name), randn(32, 35, 32)
    if name == "gelu_block":
        block = nn.Sequential(
            nn.Linear(256, 1024), nn.GELU(), nn.Linear(1024, 256), nn.LayerNorm(256)
        )
        return block, randn(32, 64, 256)
    if name == "depthwise":
        return nn.Conv2d(64, 64, 3, padding=1, groups=64), randn(32, 64, 16, 16)
    if name == "groupnorm":
        return nn.GroupNorm(8, 64), randn(32, 64, 16, 16)
    if name == "conv1d":
        return nn.Conv1d(64, 64, 3, padding=1), randn(32, 64, 128)
    if name == "maxpool":
        return nn.MaxPool2d(2), randn(32, 32, 32, 32)
    if name == "silu":
        return nn.SiLU(), randn(32, 64, 32, 32)
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2), randn(32, 64, 32, 32)
    if name == "upsample":
        up = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(32, 16, 3, padding=1))
        return up, randn(32, 32, 16, 16)
    if name == "embedding":
        ids = lib.tensor(r.integers(0, 10000, (32, 35)))
        return nn.Sequential(nn.Embedding(10000, 128), nn.Linear(128, 10000)), ids
    raise ValueError(f"bench_layers: unknown layer {name!r}; known: {', '.join(LAYERS)}")


LAYERS = (
    "gru",
    "rnn",
    "bilstm",
    "gelu_block",
    "depthwise",
    "groupnorm",
    "conv1d",
    "maxpool",
    "embedding",
    "silu",
    "leaky_relu",
    "upsample",
)


def make_step(lib, name: str):
    module, x = layer(lib, name)
    module.train()

    def step():
        module.zero_grad()
        if x.requires_grad:
            x.grad = None
        loss = module(x).sum()
        loss.backward()
        return loss

    return step


# ---- worker and driver ---------------------------------------------------------------------------


def worker(library: str, names: list[str], steps: int, threads: str) -> dict:
    lib = harness.library(library, threads)
    metrics = {name: harness.median_step(make_step(lib, name), steps) for name in names}
    return {"metrics": metrics, "threads": threads}


def command(library: str, names: list[str], steps: int, threads: str) -> list[str]:
    here = str(Path(__file__).resolve())
    argv = [sys.executable, here, "--worker", library, "--layers", ",".join(names)]
    return argv + ["--steps", str(steps), "--threads", threads]


HEADER = ["layer (forward + backward)", "handgrad ms", "torch ms", "ratio", "range"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--layers", default=",".join(LAYERS))
    parser.add_argument("--threads", default="1")
    parser.add_argument("--quick", action="store_true", help="1 round, 2 steps: a smoke run")
    parser.add_argument("--worker")
    args = parser.parse_args()
    names = [n.strip() for n in args.layers.split(",") if n.strip()]
    unknown = sorted(set(names) - set(LAYERS))
    if unknown:
        parser.error(f"unknown layers {unknown}; known: {', '.join(LAYERS)}")
    if args.worker:
        harness.emit(worker(args.worker, names, args.steps, args.threads))
        return 0
    if args.quick:
        args.rounds, args.steps = 1, 2
    print(
        f"{args.rounds} rounds of alternated processes, {args.steps} timed steps each; ratio = "
        f"handgrad time / PyTorch time (median over rounds, and its range); "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for threads in args.threads.split(","):
        cmds = [(lib, command(lib, names, args.steps, threads)) for lib in ("handgrad", "torch")]
        cmp = harness.compare(cmds, rounds=args.rounds, env=harness.env_for(threads))
        print(
            f"\n== {'1 thread per library' if threads == '1' else 'default threads'} ==\n"
            f"BLAS: {harness.blas_summary(cmp.first('handgrad').get('threadpool_info', []))}",
            flush=True,
        )
        rows = []
        for name in names:
            lo, hi = cmp.spread("handgrad", "torch", name)
            rows.append(
                [
                    name,
                    f"{cmp.median_time('handgrad', name) * 1e3:.2f}",
                    f"{cmp.median_time('torch', name) * 1e3:.2f}",
                    f"{cmp.ratio('handgrad', 'torch', name):.2f}",
                    f"{lo:.2f}-{hi:.2f}",
                ]
            )
        print(harness.format_table(HEADER, rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
