"""Training steps of three models beyond toy sizes, handgrad beside PyTorch (issue 13).

The models are written once, against the PyTorch API; the same source runs with ``lib`` = ``torch``
or ``handgrad``:

- ``resnet``: a small ResNet on 3x32x32 (stem conv 3x3 16 + BatchNorm2d + ReLU, three residual
  blocks 16-16, 16-32 and 32-64 with BatchNorm2d, the last two with stride 2 and a 1x1 projection
  shortcut, adaptive average pool, linear 10);
- ``lstm``: a 2-layer LSTM, input 32, hidden 128, sequence 35, batch_first, a linear classifier on
  the last step;
- ``transformer``: a 2-layer TransformerEncoder, d_model 128, 4 heads, feed-forward 256, sequence
  64, batch_first, no dropout, mean over the sequence, linear classifier.

One step = forward, cross-entropy, backward, SGD with momentum 0.9, float32, batch 32 (unless
``--batch``/``--width`` say otherwise).

Method (shared/PERFORMANCE.md, through bench/harness.py): every (model, library) runs in its own
process; the libraries alternate (A B A B ...) for ``--rounds`` rounds; each process warms up and
reports the median of ``--steps`` timed steps; the ratio handgrad / PyTorch is formed per round
and the median over rounds printed with its range. ``--threads 1`` pins both libraries to one
thread (threadpoolctl and torch.set_num_threads(1)); ``--threads default`` leaves both at their
defaults. Memory: each worker reports its peak resident set (ru_maxrss) and the growth of the peak
over the resident set measured just before the first step, i.e. what the steps themselves needed.

    python bench/bench_models.py [--rounds 5] [--steps 10] [--models resnet,lstm,transformer]
                                 [--threads 1,default] [--scaling] [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

MODELS = ("resnet", "lstm", "transformer")
LR, MOMENTUM, SEED = 0.01, 0.9, 0


# ---- the models, written once against the PyTorch API --------------------------------------------


def resnet(lib, width: int = 16):
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = None
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + (x if self.shortcut is None else self.shortcut(x)))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            w = width
            self.stem = nn.Sequential(
                nn.Conv2d(3, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU()
            )
            self.blocks = nn.Sequential(Block(w, w, 1), Block(w, 2 * w, 2), Block(2 * w, 4 * w, 2))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(4 * w, 10)

        def forward(self, x):
            return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))

    return ResNet()


def lstm(lib, width: int = 128):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(32, width, num_layers=2, batch_first=True)
            self.fc = nn.Linear(width, 10)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.fc(out[:, -1])

    return Net()


def transformer(lib, width: int = 128):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(width, 4, 2 * width, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2)
            self.fc = nn.Linear(width, 10)

        def forward(self, x):
            return self.fc(self.encoder(x).mean(1))

    return Net()


def inputs(model: str, batch: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    r = np.random.default_rng(SEED)
    shape = {
        "resnet": (batch, 3, 32, 32),
        "lstm": (batch, 35, 32),
        "transformer": (batch, 64, width),
    }[model]
    return r.standard_normal(shape).astype(np.float32), r.integers(0, 10, batch)


def make_step(lib, model: str, batch: int, width: int):
    lib.manual_seed(SEED)
    net = {"resnet": resnet, "lstm": lstm, "transformer": transformer}[model](lib, width)
    net.train()
    opt = lib.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    xs, ys = inputs(model, batch, width)
    x, y = lib.tensor(xs), lib.tensor(ys)

    def step():
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


# ---- worker and driver ---------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker(spec: str, steps: int, threads: str) -> dict:
    model, library, batch, width = spec.split(":")
    lib = harness.library(library, threads)
    step = make_step(lib, model, int(batch), int(width))
    before = rss_bytes()
    median = harness.median_step(step, steps)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "metrics": {"step": median},
        "peak_rss": peak,
        "step_rss": max(peak - before, 0),
        "threads": threads,
    }


def command(spec: str, steps: int, threads: str) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        spec,
        "--steps",
        str(steps),
        "--threads",
        threads,
    ]


def compare(model: str, batch: int, width: int, rounds: int, steps: int, threads: str):
    cmds = [
        (lib, command(f"{model}:{lib}:{batch}:{width}", steps, threads))
        for lib in ("handgrad", "torch")
    ]
    return harness.compare(cmds, rounds=rounds, env=harness.env_for(threads))


def row(label: str, cmp) -> list[str]:
    lo, hi = cmp.spread("handgrad", "torch", "step")
    mh = statistics.median(r["step_rss"] for r in cmp.results["handgrad"]) / 2**20
    mt = statistics.median(r["step_rss"] for r in cmp.results["torch"]) / 2**20
    return [
        label,
        f"{cmp.median_time('handgrad', 'step') * 1e3:.1f}",
        f"{cmp.median_time('torch', 'step') * 1e3:.1f}",
        f"{cmp.ratio('handgrad', 'torch', 'step'):.2f}",
        f"{lo:.2f}-{hi:.2f}",
        f"{mh:.0f} / {mt:.0f}",
        f"{mh / mt:.2f}" if mt else "-",
    ]


HEADER = [
    "workload",
    "handgrad ms",
    "torch ms",
    "ratio",
    "range",
    "step memory MiB (hg / torch)",
    "memory ratio",
]
WIDTHS = {"resnet": 16, "lstm": 128, "transformer": 128}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--threads", default="1,default")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="also batch 8/32/128 and half/double width, at 1 thread",
    )
    parser.add_argument("--quick", action="store_true", help="1 round, 2 steps: a smoke run")
    parser.add_argument("--worker")
    args = parser.parse_args()
    if args.worker:
        harness.emit(worker(args.worker, args.steps, args.threads))
        return 0
    if args.quick:
        args.rounds, args.steps = 1, 2
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    info = harness.run_worker(command("lstm:handgrad:2:8", 1, "1")).get("threadpool_info", [])
    print(
        f"BLAS: {harness.blas_summary(info)}; {args.rounds} rounds of alternated processes, "
        f"{args.steps} timed steps each; ratio = handgrad time / PyTorch time (median over "
        f"rounds, and its range); {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for threads in args.threads.split(","):
        print(
            f"\n== {'1 thread per library' if threads == '1' else 'default threads'}, "
            f"batch {args.batch} ==",
            flush=True,
        )
        rows = [
            row(m, compare(m, args.batch, WIDTHS[m], args.rounds, args.steps, threads))
            for m in models
        ]
        print(harness.format_table(HEADER, rows), flush=True)
    if args.scaling:
        print("\n== scaling, 1 thread per library ==", flush=True)
        rows = []
        for m in models:
            for b in (8, 32, 128):
                rows.append(
                    row(f"{m} batch {b}", compare(m, b, WIDTHS[m], args.rounds, args.steps, "1"))
                )
            for w in (WIDTHS[m] // 2, WIDTHS[m] * 2):
                rows.append(
                    row(f"{m} width {w}", compare(m, args.batch, w, args.rounds, args.steps, "1"))
                )
        print(harness.format_table(HEADER, rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
