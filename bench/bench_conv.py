"""Convolution speed: handgrad beside PyTorch and beside a hand-written NumPy reference.

Workloads (float32, one thread per library):

- ``lenet``: one training step of 1x28x28 -> conv5x5 8 -> ReLU -> maxpool 2 -> conv5x5 16 -> ReLU
  -> maxpool 2 -> linear 10, cross-entropy, SGD with momentum written by hand (in place, under
  no_grad), batch 64. Goals: at most 2.0x PyTorch's time and 1.2x the NumPy reference's.
- ``conv``: conv2d forward and backward (gradients for input, weight and bias; the upstream
  gradient a fixed NCHW array) at 64x3x32x32, 3x3 kernel, padding 1, 32 output channels.
  Goal: at most 2.0x PyTorch's time.

The NumPy reference is the LeNet step written directly in NumPy with the same algorithms as
handgrad (batch-innermost im2col, one matrix product per gradient, strided-slice pooling), so the
ratio to it measures what the framework costs: the graph, the generic code paths, the extra
copies.

Method (shared/PERFORMANCE.md, through bench/harness.py): every (workload, library) runs in its own
process, one thread per library, the libraries in turn A B C A B C ... for ``--rounds`` rounds;
each process warms up and reports the median of ``--steps`` timed steps; the ratio is formed per
round and the median over rounds printed.

Allocator. handgrad's training entry points ask glibc to keep freed memory
(handgrad/utils/allocator.py; the handgrad workers here apply it too); otherwise
every step's peak memory goes back to the kernel and is page-faulted in again on the next step
(measured: half of the LeNet step). ``--allocator shipped`` compares the libraries as they come
(PyTorch and the NumPy reference with glibc's defaults); ``same`` applies handgrad's setting to
every process, which compares the computations alone. ``--profile`` adds a per-phase and
per-primitive breakdown of handgrad's LeNet step.

    python bench/bench_conv.py [--rounds 5] [--steps 30] [--allocator shipped|same|both] [--profile]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

BATCH, LR, MOMENTUM, SEED = 64, 0.01, 0.9, 0
WORKLOADS = {"lenet": ("handgrad", "torch", "numpy"), "conv": ("handgrad", "torch")}


def keep_freed_memory() -> bool:
    """handgrad's allocator setting (handgrad/utils/allocator.py), loaded by path so that the
    PyTorch and NumPy workers apply the same setting without importing handgrad."""
    path = Path(__file__).resolve().parents[1] / "src" / "handgrad" / "utils" / "allocator.py"
    spec = importlib.util.spec_from_file_location("_handgrad_allocator", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.keep_freed_memory()


def lenet_data():
    r = np.random.default_rng(SEED)
    x = r.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    y = r.integers(0, 10, BATCH)
    return x, y


def lenet_init():
    """PyTorch's default initialisation bounds (1 / sqrt(fan_in)), the same numbers for all."""
    r = np.random.default_rng(SEED + 1)
    shapes = [
        ((8, 1, 5, 5), 25),
        ((8,), 25),
        ((16, 8, 5, 5), 200),
        ((16,), 200),
        ((10, 256), 256),
        ((10,), 256),
    ]
    return [r.uniform(-1, 1, s).astype(np.float32) / np.float32(np.sqrt(f)) for s, f in shapes]


def median_ms(step, steps: int, warmup: int = 5) -> float:
    return harness.median_step(step, steps, warmup) * 1e3


# ---- handgrad -----------------------------------------------------------------------------------


def handgrad_lenet():
    import handgrad as hg

    F = hg.nn.functional
    xs, ys = lenet_data()
    x, y = hg.tensor(xs), hg.tensor(ys)
    params = [hg.tensor(a, requires_grad=True) for a in lenet_init()]
    w1, b1, w2, b2, w3, b3 = params
    bufs = [hg.zeros(*p.shape) for p in params]

    def forward():
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2)), 2)
        return F.cross_entropy(F.linear(h.reshape(BATCH, -1), w3, b3), y)

    def backward(loss):
        for p in params:
            p.grad = None
        loss.backward()

    def sgd():
        with hg.no_grad():
            for p, v in zip(params, bufs):
                v.mul_(MOMENTUM).add_(p.grad)
                p.sub_(v, alpha=LR)

    def step():
        backward(forward())
        sgd()

    return step, (forward, backward, sgd)


def handgrad_conv():
    import handgrad as hg

    r = np.random.default_rng(SEED)
    x = hg.tensor(r.standard_normal((64, 3, 32, 32)).astype(np.float32), requires_grad=True)
    w = hg.tensor(r.standard_normal((32, 3, 3, 3)).astype(np.float32) * 0.2, requires_grad=True)
    b = hg.tensor(np.zeros(32, np.float32), requires_grad=True)
    g = hg.tensor(r.standard_normal((64, 32, 32, 32)).astype(np.float32))

    def step():
        for t in (x, w, b):
            t.grad = None
        hg.nn.functional.conv2d(x, w, b, padding=1).backward(g)

    return step


# ---- PyTorch ------------------------------------------------------------------------------------


def torch_lenet():
    import torch

    F = torch.nn.functional
    xs, ys = lenet_data()
    x, y = torch.from_numpy(xs), torch.from_numpy(ys)
    params = [torch.tensor(a, requires_grad=True) for a in lenet_init()]
    w1, b1, w2, b2, w3, b3 = params
    bufs = [torch.zeros_like(p) for p in params]

    def step():
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2)), 2)
        loss = F.cross_entropy(F.linear(h.reshape(BATCH, -1), w3, b3), y)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p, v in zip(params, bufs):
                v.mul_(MOMENTUM).add_(p.grad)
                p.sub_(v, alpha=LR)

    return step


def torch_conv():
    import torch

    r = np.random.default_rng(SEED)
    x = torch.tensor(r.standard_normal((64, 3, 32, 32)).astype(np.float32), requires_grad=True)
    w = torch.tensor(r.standard_normal((32, 3, 3, 3)).astype(np.float32) * 0.2, requires_grad=True)
    b = torch.zeros(32, requires_grad=True)
    g = torch.tensor(r.standard_normal((64, 32, 32, 32)).astype(np.float32))

    def step():
        for t in (x, w, b):
            t.grad = None
        torch.nn.functional.conv2d(x, w, b, padding=1).backward(g)

    return step


# ---- the NumPy reference ------------------------------------------------------------------------


def numpy_lenet():
    """The LeNet step by hand: arrays are (C, H, W, N) inside (batch innermost), im2col through
    sliding_window_view, one matrix product each for the forward and both gradients, col2im by
    slice additions, 2x2 max pooling through strided slices with PyTorch's first-maximum rule."""
    from numpy.lib.stride_tricks import sliding_window_view

    xs, ys = lenet_data()
    w1, b1, w2, b2, w3, b3 = params = lenet_init()
    bufs = [np.zeros_like(p) for p in params]
    n = BATCH

    def im2col(xc, k):
        c, h, w, _ = xc.shape
        ho, wo = h - k + 1, w - k + 1
        win = sliding_window_view(xc, (k, k), axis=(1, 2))  # (C, Ho, Wo, N, k, k)
        return win.transpose(0, 4, 5, 1, 2, 3).reshape(c * k * k, ho * wo * n), ho, wo

    def col2im(cols, c, k, ho, wo):
        cols = cols.reshape(c, k, k, ho, wo, n)
        out = np.zeros((c, ho + k - 1, wo + k - 1, n), np.float32)
        for i in range(k):
            for j in range(k):
                out[:, i : i + ho, j : j + wo] += cols[:, i, j]
        return out

    def pool(x):
        views = [x[:, a::2, b::2] for a in (0, 1) for b in (0, 1)]
        out = np.maximum(views[0], views[1])
        np.maximum(out, views[2], out=out)
        np.maximum(out, views[3], out=out)
        arg = np.full(out.shape, 3, np.uint8)
        for t in (2, 1, 0):
            np.copyto(arg, t, where=views[t] == out)
        return out, arg

    def unpool(g, arg, shape):
        gx = np.empty(shape, np.float32)
        hit = np.empty(arg.shape, bool)
        for t, (a, b) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
            np.equal(arg, t, out=hit)
            np.multiply(g, hit, out=gx[:, a::2, b::2])
        return gx

    def step():
        x = np.ascontiguousarray(xs.transpose(1, 2, 3, 0))  # (1, 28, 28, N)
        cols1, h1, v1 = im2col(x, 5)
        a1 = (w1.reshape(8, -1) @ cols1 + b1[:, None]).reshape(8, h1, v1, n)
        r1 = np.maximum(a1, 0)
        p1, arg1 = pool(r1)
        cols2, h2, v2 = im2col(p1, 5)
        a2 = (w2.reshape(16, -1) @ cols2 + b2[:, None]).reshape(16, h2, v2, n)
        r2 = np.maximum(a2, 0)
        p2, arg2 = pool(r2)
        flat = p2.transpose(3, 0, 1, 2).reshape(n, -1)  # PyTorch's flatten order (C, H, W)
        logits = flat @ w3.T + b3
        z = logits - logits.max(1, keepdims=True)
        e = np.exp(z)
        prob = e / e.sum(1, keepdims=True)
        # backward: d loss / d logits = (softmax - onehot) / n
        gl = prob
        gl[np.arange(n), ys] -= 1
        gl /= n
        g3, gb3 = gl.T @ flat, gl.sum(0)
        gp2 = (gl @ w3).reshape(n, 16, 4, 4).transpose(1, 2, 3, 0)
        ga2 = unpool(gp2, arg2, r2.shape)
        ga2 *= a2 > 0
        ga2 = ga2.reshape(16, -1)
        g2, gb2 = (ga2 @ cols2.T).reshape(w2.shape), ga2.sum(1)
        gp1 = col2im(w2.reshape(16, -1).T @ ga2, 8, 5, h2, v2)
        ga1 = unpool(gp1, arg1, r1.shape)
        ga1 *= a1 > 0
        ga1 = ga1.reshape(8, -1)
        g1, gb1 = (ga1 @ cols1.T).reshape(w1.shape), ga1.sum(1)
        for p, v, g in zip(params, bufs, (g1, gb1, g2, gb2, g3, gb3)):
            v *= MOMENTUM
            v += g
            p -= LR * v

    return step


# ---- workers and driver -------------------------------------------------------------------------


def profile_handgrad(steps: int) -> dict:
    """Per-phase (forward, backward, optimizer) medians and per-primitive totals of handgrad's
    LeNet step (each primitive's forward timed, including those its backward formulas run)."""
    import handgrad as hg

    step, (forward, backward, sgd) = handgrad_lenet()
    for _ in range(5):
        step()
    phases = {"forward": [], "backward": [], "sgd": []}
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = forward()
        t1 = time.perf_counter()
        backward(loss)
        t2 = time.perf_counter()
        sgd()
        t3 = time.perf_counter()
        for k, a, b in (("forward", t0, t1), ("backward", t1, t2), ("sgd", t2, t3)):
            phases[k].append(b - a)
    spent: dict = {}
    originals = {}
    for name, cls in hg.PRIMITIVES.items():
        originals[cls] = cls.forward

        def timed(self, *a, _f=cls.forward, _n=name, **k):
            t = time.perf_counter()
            out = _f(self, *a, **k)
            spent[_n] = spent.get(_n, 0.0) + time.perf_counter() - t
            return out

        cls.forward = timed
    t = time.perf_counter()
    for _ in range(steps):
        step()
    total = (time.perf_counter() - t) / steps
    for cls, f in originals.items():
        cls.forward = f
    prims = {k: v / steps * 1e3 for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}
    return {
        "phases_ms": {k: statistics.median(v) * 1e3 for k, v in phases.items()},
        "primitives_ms": prims,
        "step_ms": total * 1e3,
        "outside_primitives_ms": total * 1e3 - sum(prims.values()),
    }


def worker(spec: str, steps: int, same_allocator: bool, profile: bool) -> dict:
    workload, library = spec.split(":")
    # handgrad's workers always apply the setting (as its training entry points do); the others
    # only when asked to compare the computations alone
    kept = keep_freed_memory() if same_allocator or library == "handgrad" else None
    torch = None
    if library == "torch":
        import torch
    harness.limit_threads(torch)
    if profile:
        return profile_handgrad(steps)
    make = {
        "lenet": {
            "handgrad": lambda: handgrad_lenet()[0],
            "torch": torch_lenet,
            "numpy": numpy_lenet,
        },
        "conv": {"handgrad": handgrad_conv, "torch": torch_conv},
    }[workload][library]
    return {"metrics": {"step": median_ms(make(), steps) / 1e3}, "kept_memory": kept}


def command(spec: str, steps: int, same_allocator: bool, profile: bool = False) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", spec, "--steps", str(steps)]
    if same_allocator:
        cmd.append("--same-allocator")
    if profile:
        cmd.append("--profile-worker")
    return cmd


def report(rounds: int, steps: int, same_allocator: bool) -> None:
    label = (
        "same allocator setting in every process"
        if same_allocator
        else "as shipped (handgrad keeps freed memory; PyTorch, NumPy: glibc defaults)"
    )
    print(f"\n== allocator: {label} ==")
    rows = []
    for workload, libs in WORKLOADS.items():
        cmp = harness.compare(
            [(lib, command(f"{workload}:{lib}", steps, same_allocator)) for lib in libs],
            rounds=rounds,
        )
        for lib in libs[1:]:
            lo, hi = cmp.spread("handgrad", lib, "step")
            rows.append(
                [
                    workload,
                    f"handgrad / {lib}",
                    f"{cmp.median_time('handgrad', 'step') * 1e3:.2f}",
                    f"{cmp.median_time(lib, 'step') * 1e3:.2f}",
                    f"{cmp.ratio('handgrad', lib, 'step'):.2f}",
                    f"{lo:.2f}-{hi:.2f}",
                ]
            )
    print(
        harness.format_table(
            ["workload", "ratio of", "handgrad ms", "other ms", "median ratio", "range"], rows
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--allocator", choices=("shipped", "same", "both"), default="both")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--worker")
    parser.add_argument("--same-allocator", action="store_true")
    parser.add_argument("--profile-worker", action="store_true")
    args = parser.parse_args()
    if args.worker:
        harness.emit(worker(args.worker, args.steps, args.same_allocator, args.profile_worker))
        return 0
    info = harness.run_worker(command("lenet:handgrad", 3, False)).get("threadpool_info", [])
    print(
        f"BLAS: {harness.blas_summary(info)}; {args.rounds} rounds of alternated processes, "
        f"{args.steps} timed steps each; ratio = handgrad time / other time (median over "
        "rounds, and its range)"
    )
    modes = {"shipped": [False], "same": [True], "both": [False, True]}[args.allocator]
    for same in modes:
        report(args.rounds, args.steps, same)
    if args.profile:
        prof = harness.run_worker(command("lenet:handgrad", args.steps, False, profile=True))
        print(f"\nhandgrad LeNet step: {prof['step_ms']:.2f} ms per step (profiled run)")
        print(
            "  phases (median ms): "
            + ", ".join(f"{k} {v:.2f}" for k, v in prof["phases_ms"].items())
        )
        print(
            "  primitives (ms per step; the forward of every primitive call, including those "
            "the backward formulas make):"
        )
        for k, v in prof["primitives_ms"].items():
            if v >= 0.01:
                print(f"    {k:22s} {v:6.2f}")
        print(f"    {'(outside primitives)':22s} {prof['outside_primitives_ms']:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
