"""Where handgrad's time goes in the core workloads: a diagnostic to go with ``bench_core.py``.

    python bench/profile_core.py {mlp32,mlp64,chain,backward} [--top 25] [--steps N]

One process, one thread, no PyTorch (so the NumPy reference may run beside handgrad here: both are
NumPy). Prints, for the MLP, the step split into forward / backward / optimizer for handgrad and
for the NumPy reference, the minor page faults per step (fresh memory from the OS: the cost of
allocating large temporaries anew every step), and the framework overhead alone (the same step on
a tiny 8-8-8-4 MLP, batch 4, where the arithmetic is negligible); then a cProfile of handgrad
sorted by own time. Figures here are for diagnosis, not for the goals: those come from
bench_core.py.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import core_worker as cw
import harness


def minflt() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def phases_handgrad(dtype: str):
    """The handgrad MLP step with a clock between forward, backward and the optimizer."""
    import handgrad as hg
    import handgrad.nn.functional as F

    arrays, xa, ya = cw.mlp_init(dtype)
    params = [hg.tensor(a, requires_grad=True) for a in arrays]
    x, y = hg.tensor(xa), hg.tensor(ya)
    bufs: list = [None] * len(params)
    w1, b1, w2, b2, w3, b3 = params
    acc = np.zeros(3)
    faults = np.zeros(3)
    clock = time.perf_counter

    def step() -> None:
        f0, t0 = minflt(), clock()
        h1 = F.linear(x, w1, b1).relu()
        h2 = F.linear(h1, w2, b2).relu()
        loss = F.cross_entropy(F.linear(h2, w3, b3), y)
        for p in params:
            p.grad = None
        t1, f1 = clock(), minflt()
        loss.backward()
        t2, f2 = clock(), minflt()
        with hg.no_grad():
            for i, p in enumerate(params):
                if bufs[i] is None:
                    bufs[i] = p.grad.clone()
                else:
                    bufs[i].mul_(cw.MOMENTUM).add_(p.grad)
                p.sub_(bufs[i], alpha=cw.LR)
        acc[:] += (t1 - t0, t2 - t1, clock() - t2)
        faults[:] += (f1 - f0, f2 - f1, minflt() - f2)

    step.faults = faults

    return step, acc


def phases_numpy(dtype: str):
    """NumpyMLP's step, with a clock between its forward, backward and update."""
    model = cw.NumpyMLP(*cw.mlp_init(dtype))
    acc = np.zeros(3)
    clock = time.perf_counter

    def step() -> None:
        t0 = clock()
        model.forward()
        t1 = clock()
        model.backward()
        t2 = clock()
        model.update()
        acc[:] += (t1 - t0, t2 - t1, clock() - t2)

    return step, acc


def run_mlp(dtype: str, steps: int, top: int) -> None:
    hg_step, hg_acc = phases_handgrad(dtype)
    np_step, np_acc = phases_numpy(dtype)
    for _ in range(20):
        hg_step()
        np_step()
    hg_acc[:] = 0
    hg_step.faults[:] = 0
    np_acc[:] = 0
    f0 = minflt()
    for _ in range(steps):
        hg_step()
    f1 = minflt()
    for _ in range(steps):
        np_step()
    f2 = minflt()
    hg_us, np_us = hg_acc / steps * 1e6, np_acc / steps * 1e6
    print(f"MLP 784-256-256-10, batch 128, {dtype}, {steps} steps each, 1 thread")
    print(
        f"  handgrad  : forward {hg_us[0]:7.0f} us  backward {hg_us[1]:7.0f} us  "
        f"optimizer {hg_us[2]:6.0f} us  total {hg_us.sum():7.0f} us  "
        f"page faults/step {(f1 - f0) / steps:6.0f}"
    )
    fl = hg_step.faults / steps
    print(
        f"  handgrad page faults/step by phase: forward {fl[0]:.0f}, backward {fl[1]:.0f}, "
        f"optimizer {fl[2]:.0f}"
    )
    print(
        f"  numpy ref : forward {np_us[0]:7.0f} us  backward {np_us[1]:7.0f} us  "
        f"optimizer {np_us[2]:6.0f} us  total {np_us.sum():7.0f} us  "
        f"page faults/step {(f2 - f1) / steps:6.0f}"
    )
    print(
        f"  handgrad / numpy: forward {hg_us[0] / np_us[0]:.2f}x, backward "
        f"{hg_us[1] / np_us[1]:.2f}x, optimizer {hg_us[2] / np_us[2]:.2f}x, step "
        f"{hg_us.sum() / np_us.sum():.2f}x (same process: for diagnosis only)"
    )

    sizes, batch = cw.SIZES, cw.BATCH
    cw.SIZES, cw.BATCH = (8, 8, 8, 4), 4
    try:
        tiny_hg = cw.build_handgrad_mlp(dtype)
        tiny_np = cw.NumpyMLP(*cw.mlp_init(dtype))
        t_hg = harness.time_fn(tiny_hg, warmup=50, reps=500, blocks=5)["best"]
        t_np = harness.time_fn(tiny_np.step, warmup=50, reps=500, blocks=5)["best"]
    finally:
        cw.SIZES, cw.BATCH = sizes, batch
    print(
        f"  framework overhead (same step on an 8-8-8-4 MLP, batch 4): handgrad "
        f"{t_hg * 1e6:.0f} us, numpy ref {t_np * 1e6:.0f} us"
    )
    profile(hg_step, steps, top)


def run_overhead(which: str, steps: int, top: int) -> None:
    import handgrad as hg

    fns = cw.build_overhead(hg)
    for name, fn in fns.items():
        t = harness.time_fn(fn, warmup=200, reps=harness.reps_for(fn, 0.1), blocks=5)["best"]
        print(f"  {name:9s} {t * 1e6:8.1f} us")
    fn = fns["chain_fb"] if which == "chain" else fns["one_fb"]
    profile(fn, steps, top)


def profile(fn, n: int, top: int) -> None:
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(n):
        fn()
    pr.disable()
    print(f"\ncProfile of {n} calls, by own time (cProfile itself slows small calls 2-3x):")
    pstats.Stats(pr, stream=sys.stdout).strip_dirs().sort_stats("tottime").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description="profile handgrad on the core workloads")
    ap.add_argument("workload", choices=["mlp32", "mlp64", "chain", "backward"])
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--steps", type=int, default=0, help="calls to time and profile")
    args = ap.parse_args()
    harness.limit_threads()
    import handgrad

    handgrad.utils.keep_freed_memory()  # as the training entry points and bench_core's workers
    if args.workload.startswith("mlp"):
        run_mlp("float32" if args.workload == "mlp32" else "float64", args.steps or 200, args.top)
    else:
        run_overhead(args.workload, args.steps or 5000, args.top)


if __name__ == "__main__":
    main()
