"""The demo's training, handgrad beside PyTorch: throughput and final accuracy.

Both sides train the same LeNet (conv5x5 8 - ReLU - maxpool 2 - conv5x5 16 - ReLU - maxpool 2 -
linear 10) from the same initial weights (PyTorch's initialisation, copied into handgrad), on the
same batches (4,000 mnist5k digits, batch 32, one NumPy permutation per epoch), with the same SGD
(lr 0.02, momentum 0.9, cosine schedule over 15 epochs), float32, one thread each.

1. Throughput: each library runs in its own process (never both in one: OpenMP and OpenBLAS slow
   each other down), alternated A B A B ..., ``--pairs`` rounds (default 5), through
   ``harness.compare``; each process trains ``--epochs`` epochs (default 2) after a 10-batch
   warm-up and reports seconds per sample. The figure is the median over rounds of the time ratio
   handgrad / torch, i.e. how many times longer handgrad takes. Goal: at most 2.5.
2. Accuracy: the full demo schedule once in each library (again separate processes); the test
   accuracies on the 1,000 test digits must agree within 1 point.

    python bench/bench_train.py [--pairs 5] [--epochs 2] [--skip-accuracy]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import blas_summary, compare, emit, limit_threads, run_worker  # noqa: E402

LR, MOMENTUM, BATCH, FULL_EPOCHS, SEED = 0.02, 0.9, 32, 15, 0
HERE = Path(__file__).resolve().parent


# ---- shared by both workers ------------------------------------------------------------------


def load_arrays():
    """mnist5k train/test, standardised with the training pixels' mean and std (as the demo)."""
    from handgrad.data import datasets

    xt, yt = (np.asarray(t) for t in datasets.mnist5k("train").tensors)
    xv, yv = (np.asarray(t) for t in datasets.mnist5k("test").tensors)
    mean, std = np.float32(xt.mean(dtype=np.float64)), np.float32(xt.std(dtype=np.float64))
    return (xt - mean) / std, yt, (xv - mean) / std, yv


class EpochBatches:
    """Index batches, a fresh NumPy permutation per epoch: the same sequence in both libraries."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n, self.batch_size = n, batch_size
        self.rng = np.random.default_rng(seed)

    def __iter__(self):
        order = self.rng.permutation(self.n)
        return iter([order[i : i + self.batch_size] for i in range(0, self.n, self.batch_size)])

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size


def torch_lenet():
    import torch

    tnn = torch.nn

    class LeNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.relu1, self.pool1 = tnn.Conv2d(1, 8, 5), tnn.ReLU(), tnn.MaxPool2d(2)
            self.conv2, self.relu2, self.pool2 = tnn.Conv2d(8, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2)
            self.flatten, self.fc = tnn.Flatten(), tnn.Linear(256, 10)

        def forward(self, x):
            x = self.pool1(self.relu1(self.conv1(x)))
            x = self.pool2(self.relu2(self.conv2(x)))
            return self.fc(self.flatten(x))

    torch.manual_seed(SEED)
    return LeNet()


# ---- workers ---------------------------------------------------------------------------------


def worker_handgrad(epochs: int, schedule_epochs: int) -> dict:
    import handgrad as hg
    from handgrad import nn, optim, train
    from handgrad.data import DataLoader, TensorDataset
    from handgrad.models import LeNet

    limiter = limit_threads()  # noqa: F841 - keep the limit alive
    hg.utils.keep_freed_memory()  # as handgrad's training entry points do
    xt, yt, xv, yv = load_arrays()
    model = LeNet()
    hg.load_torch_state_dict(model, torch_lenet().state_dict())
    sys.modules.pop("torch", None)  # imported only to initialise; nothing of it runs below
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=schedule_epochs)
    train_loader = DataLoader(
        TensorDataset(xt, yt), batch_sampler=EpochBatches(len(yt), BATCH, SEED)
    )
    test_loader = DataLoader(TensorDataset(xv, yv), batch_size=1000)
    # Warm-up: 10 batches on a copy of the state, then restore, so timing starts warm.
    warm = DataLoader(TensorDataset(xt[:320], yt[:320]), batch_size=BATCH)
    saved = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    train.train_one_epoch(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0), warm)
    model.load_state_dict(saved)
    history = train.fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        train_loader,
        epochs=epochs,
        scheduler=sched,
        progress=False,
    )
    acc = train.evaluate(model, test_loader)["accuracy"]
    samples, seconds = sum(history["samples"]), sum(history["time"])
    return {
        "library": "handgrad",
        "metrics": {"seconds_per_sample": seconds / samples},
        "samples_per_s": samples / seconds,
        "test_accuracy": acc,
        "final_train_loss": history.last["train_loss"],
    }


def worker_torch(epochs: int, schedule_epochs: int) -> dict:
    import torch

    limiter = limit_threads(torch)  # noqa: F841 - keep the limit alive
    xt, yt, xv, yv = load_arrays()
    model = torch_lenet()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=schedule_epochs)
    loss_fn = torch.nn.CrossEntropyLoss()
    batches = EpochBatches(len(yt), BATCH, SEED)

    def one_epoch(index_batches, optimizer):
        # The same work per batch as handgrad's train_one_epoch: index the arrays, forward,
        # loss, backward, step, loss.item(), and count correct predictions.
        model.train()
        n, loss_sum, correct = 0, 0.0, 0
        for b in index_batches:
            x, y = torch.from_numpy(xt[b]), torch.from_numpy(yt[b])
            optimizer.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            optimizer.step()
            value = loss.item()
            n += len(b)
            loss_sum += value * len(b)
            correct += int((out.detach().argmax(1) == y).sum())
        return n, loss_sum / n

    saved = {k: v.clone() for k, v in model.state_dict().items()}
    one_epoch(
        [np.arange(i, i + BATCH) for i in range(0, 320, BATCH)],
        torch.optim.SGD(model.parameters(), lr=0.0),
    )
    model.load_state_dict(saved)
    samples, seconds, last_loss = 0, 0.0, float("nan")
    for _ in range(epochs):
        start = time.perf_counter()
        n, last_loss = one_epoch(batches, opt)
        seconds += time.perf_counter() - start
        samples += n
        sched.step()
    model.eval()
    with torch.no_grad():
        acc = float((model(torch.from_numpy(xv)).argmax(1).numpy() == yv).mean())
    return {
        "library": "torch",
        "metrics": {"seconds_per_sample": seconds / samples},
        "samples_per_s": samples / seconds,
        "test_accuracy": acc,
        "final_train_loss": last_loss,
    }


# ---- driver ----------------------------------------------------------------------------------


def worker_argv(library: str, epochs: int, schedule_epochs: int) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        library,
        "--epochs",
        str(epochs),
        "--schedule-epochs",
        str(schedule_epochs),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--schedule-epochs", type=int, default=FULL_EPOCHS)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--worker", choices=("handgrad", "torch"))
    args = parser.parse_args()
    if args.worker:
        work = worker_handgrad if args.worker == "handgrad" else worker_torch
        emit(work(args.epochs, args.schedule_epochs))
        return 0

    print(
        f"throughput: LeNet, batch {BATCH}, {args.epochs} epochs of 4,000 digits per process, "
        f"1 thread, {args.pairs} alternated rounds"
    )
    table = compare(
        [
            (lib, worker_argv(lib, args.epochs, args.schedule_epochs))
            for lib in ("handgrad", "torch")
        ],
        rounds=args.pairs,
    )
    print(f"BLAS (handgrad worker): {blas_summary(table.first('handgrad')['threadpool_info'])}")
    print(f"BLAS (torch worker):    {blas_summary(table.first('torch')['threadpool_info'])}")
    ratios = table.ratios("handgrad", "torch", "seconds_per_sample")
    for i, (h, t, r) in enumerate(zip(table.results["handgrad"], table.results["torch"], ratios)):
        print(
            f"  round {i + 1}: handgrad {h['samples_per_s']:8,.0f} samples/s   torch "
            f"{t['samples_per_s']:8,.0f} samples/s   handgrad takes {r:.2f}x torch's time"
        )
    ratio = statistics.median(ratios)
    rate = {
        lib: statistics.median(r["samples_per_s"] for r in table.results[lib])
        for lib in ("handgrad", "torch")
    }
    print(
        f"median: handgrad {rate['handgrad']:,.0f} samples/s, torch {rate['torch']:,.0f} "
        f"samples/s; handgrad/torch time ratio {ratio:.2f} "
        f"(goal <= 2.5: {'met' if ratio <= 2.5 else 'NOT met'})"
    )
    if args.skip_accuracy:
        return 0
    print(
        f"accuracy: the full demo schedule ({FULL_EPOCHS} epochs), same initial weights and batches"
    )
    full = {
        lib: run_worker(worker_argv(lib, FULL_EPOCHS, FULL_EPOCHS)) for lib in ("handgrad", "torch")
    }
    for lib, r in full.items():
        print(
            f"  {lib:<8} test accuracy {100 * r['test_accuracy']:.2f}%   final train loss "
            f"{r['final_train_loss']:.5f}   {r['samples_per_s']:,.0f} samples/s"
        )
    gap = 100 * abs(full["handgrad"]["test_accuracy"] - full["torch"]["test_accuracy"])
    print(f"accuracy gap {gap:.2f} points (goal <= 1: {'met' if gap <= 1 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
