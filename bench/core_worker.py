"""One library, one workload, one process: the worker behind ``bench_core.py``.

    python bench/core_worker.py --lib {handgrad,torch,numpy} --workload {mlp,matmul,overhead}
                                [--dtype float32|float64] [--quick]

Prints one JSON line (see ``harness.emit``) with the seconds per call of each metric (best of 7
timing blocks of about 0.1 s after a warm-up). The NumPy worker imports neither handgrad nor torch;
the torch worker never times NumPy. Each process is limited to one thread per pool before anything
is timed.

Workloads
- ``mlp``: one training step of a 784-256-256-10 ReLU MLP, cross-entropy (mean), batch 128:
  forward, backward, SGD with momentum 0.9 in PyTorch's form (v <- mu v + g, buffer starts at g;
  theta <- theta - lr v). Same initial weights and batch in every library (NumPy's generator, seed
  0), so the first losses can be compared across processes as a check that all three compute the
  same thing. Metric ``step``.
- ``matmul``: ``a @ b`` for 1024x1024 float32 (handgrad, also with a recorded graph) or
  ``np.matmul(a, b)``. Metrics ``matmul`` and (handgrad) ``matmul_recorded``.
- ``overhead``: 10x10 float32 tensors. ``chain_fb``: a 20-op element-wise chain (mul, add, tanh,
  sub, relu, four times) from a leaf that requires grad, then ``sum`` and ``backward()``;
  ``chain_f``: the same without ``backward()``; ``one_fb`` / ``one_f``: the 1-op graph ``x.sum()``
  with and without ``backward()``. Derived: ``node`` = (chain_fb - one_fb) / 20, the
  forward+backward cost of one recorded op in a chain; ``node_f`` = (chain_f - one_f) / 20, its
  forward (recording) share; ``backward_fixed`` = one_fb - one_f, the cost of a backward() call on
  a 1-op graph.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

SIZES = (784, 256, 256, 10)
BATCH = 128
LR, MOMENTUM = 0.01, 0.9
CHECK_STEPS = 5  # losses of the first steps, compared across libraries
CHAIN = 20


def timing(quick: bool) -> dict:
    if quick:
        return {"warmup": 2, "blocks": 2, "seconds": 0.03}
    return {"warmup": 10, "blocks": 7, "seconds": 0.1}


def measure(fn, quick: bool) -> float:
    """Seconds per call: the best of several timing blocks of many calls each (the machine is
    shared; the best block is the one least disturbed by other processes, and each block is long
    enough to include the library's own steady costs such as garbage collection)."""
    t = timing(quick)
    for _ in range(t["warmup"]):
        fn()
    reps = harness.reps_for(fn, t["seconds"])
    return harness.time_fn(fn, warmup=0, reps=reps, blocks=t["blocks"])["best"]


# ---- MLP data shared by the three implementations ----------------------------------------------


def mlp_init(dtype: str) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Weights (out, in) and biases with PyTorch's nn.Linear bounds U(-1/sqrt(in), 1/sqrt(in)),
    a standard-normal batch and integer targets; deterministic."""
    rng = np.random.default_rng(0)
    params = []
    for fan_in, fan_out in itertools.pairwise(SIZES):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(dtype))
        params.append(rng.uniform(-bound, bound, (fan_out,)).astype(dtype))
    x = rng.standard_normal((BATCH, SIZES[0])).astype(dtype)
    y = rng.integers(0, SIZES[-1], BATCH).astype(np.int64)
    return params, x, y


# ---- handgrad --------------------------------------------------------------------------------


def build_handgrad_mlp(dtype: str):
    """The handgrad training step as a function ``step(check=False) -> loss``."""
    import handgrad as hg
    import handgrad.nn.functional as F

    arrays, xa, ya = mlp_init(dtype)
    params = [hg.tensor(a, requires_grad=True) for a in arrays]
    x, y = hg.tensor(xa), hg.tensor(ya)
    opt = hg.optim.SGD(params, lr=LR, momentum=MOMENTUM)  # the library's optimizer, as torch's
    w1, b1, w2, b2, w3, b3 = params

    def step(check: bool = False) -> float:
        h1 = F.linear(x, w1, b1).relu()
        h2 = F.linear(h1, w2, b2).relu()
        logits = F.linear(h2, w3, b3)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if check:  # float32 stays float32 end to end (float64 stays float64)
            want = np.dtype(dtype)
            named = {"h1": h1, "h2": h2, "logits": logits, "loss": loss}
            named |= {f"param{i}": p for i, p in enumerate(params)}
            named |= {f"grad{i}": p.grad for i, p in enumerate(params)}
            named |= {f"momentum{i}": opt.state[p]["momentum_buffer"] for i, p in enumerate(params)}
            wrong = {k: str(t.dtype) for k, t in named.items() if t.dtype != want}
            if wrong:
                raise AssertionError(f"handgrad MLP step: expected {want} throughout, got {wrong}")
        return loss.item()

    return step


def handgrad_mlp(dtype: str, quick: bool) -> dict:
    step = build_handgrad_mlp(dtype)
    losses = [step(check=True) for _ in range(CHECK_STEPS)]
    return {"metrics": {"step": measure(step, quick)}, "losses": losses, "dtype_check": "ok"}


def handgrad_matmul(quick: bool) -> dict:
    import handgrad as hg

    rng = np.random.default_rng(0)
    a = hg.tensor(rng.standard_normal((1024, 1024)).astype(np.float32))
    b = hg.tensor(rng.standard_normal((1024, 1024)).astype(np.float32))
    ar = hg.tensor(a._data, requires_grad=True)
    assert (a @ b).dtype == np.float32
    return {
        "metrics": {
            "matmul": measure(lambda: a @ b, quick),
            "matmul_recorded": measure(lambda: ar @ b, quick),
        }
    }


def build_overhead(lib):
    """The four timed functions of the ``overhead`` workload for handgrad or torch (the module)."""
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((10, 10)).astype(np.float32), requires_grad=True)
    w = lib.tensor(rng.uniform(0.5, 1.5, (10, 10)).astype(np.float32))
    b = lib.tensor(rng.uniform(-0.1, 0.1, (10, 10)).astype(np.float32))

    def chain():
        y = x
        for _ in range(CHAIN // 5):
            y = (((y * w) + b).tanh() - b).relu()
        return y.sum()

    def chain_fb():
        x.grad = None
        chain().backward()

    def chain_f():
        x.grad = None
        chain()

    def one_fb():
        x.grad = None
        x.sum().backward()

    def one_f():
        x.grad = None
        x.sum()

    return {"chain_fb": chain_fb, "chain_f": chain_f, "one_fb": one_fb, "one_f": one_f}


def handgrad_overhead(quick: bool) -> dict:
    import handgrad as hg

    return {"metrics": overhead_metrics(build_overhead(hg), quick)}


def overhead_metrics(fns: dict, quick: bool) -> dict:
    m = {name: measure(fn, quick) for name, fn in fns.items()}
    m["node"] = (m["chain_fb"] - m["one_fb"]) / CHAIN
    m["node_f"] = (m["chain_f"] - m["one_f"]) / CHAIN
    m["backward_fixed"] = m["one_fb"] - m["one_f"]
    return m


# ---- PyTorch ---------------------------------------------------------------------------------


def torch_mlp(torch, dtype: str, quick: bool) -> dict:
    import torch.nn.functional as F

    arrays, xa, ya = mlp_init(dtype)
    params = [torch.tensor(a, requires_grad=True) for a in arrays]
    x, y = torch.from_numpy(xa), torch.from_numpy(ya)
    opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM)
    w1, b1, w2, b2, w3, b3 = params

    def step() -> float:
        h1 = F.linear(x, w1, b1).relu()
        h2 = F.linear(h1, w2, b2).relu()
        loss = F.cross_entropy(F.linear(h2, w3, b3), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    losses = [step() for _ in range(CHECK_STEPS)]
    return {"metrics": {"step": measure(step, quick)}, "losses": losses}


def torch_overhead(torch, quick: bool) -> dict:
    return {"metrics": overhead_metrics(build_overhead(torch), quick)}


# ---- the hand-written NumPy reference ----------------------------------------------------------


class NumpyMLP:
    """The same step written directly in NumPy with a hand-derived backward, as a competent NumPy
    programmer would: buffers allocated once, matrix products and ReLU written with ``out=``, the
    softmax gradient computed in place, no gradient for the input batch.

    Backward: with p = softmax(z3), dL/dz3 = (p - onehot(y)) / N; for a layer z = h W^T + b,
    dL/dW = dz^T h, dL/db = sum_n dz, dL/dh = dz W; through ReLU, dz = dh [h > 0].
    """

    def __init__(self, arrays: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
        self.params, self.x, self.y = arrays, x, y
        n, dt = x.shape[0], x.dtype
        self.rows = np.arange(n)
        self.h1 = np.empty((n, SIZES[1]), dt)
        self.h2 = np.empty((n, SIZES[2]), dt)
        self.z3 = np.empty((n, SIZES[3]), dt)
        self.p = np.empty((n, SIZES[3]), dt)
        self.dh1 = np.empty_like(self.h1)
        self.dh2 = np.empty_like(self.h2)
        self.mask1 = np.empty(self.h1.shape, bool)
        self.mask2 = np.empty(self.h2.shape, bool)
        self.grads = [np.empty_like(a) for a in arrays]
        self.bufs = [np.empty_like(a) for a in arrays]
        self.tmps = [np.empty_like(a) for a in arrays]
        self.started = False
        self.inv_n = 1.0 / n

    def step(self) -> float:
        loss = self.forward()
        self.backward()
        self.update()
        return loss

    def forward(self) -> float:
        w1, b1, w2, b2, w3, b3 = self.params
        x, y, rows = self.x, self.y, self.rows
        h1, h2, z3, p = self.h1, self.h2, self.z3, self.p
        np.matmul(x, w1.T, out=h1)
        h1 += b1
        np.maximum(h1, 0, out=h1)
        np.matmul(h1, w2.T, out=h2)
        h2 += b2
        np.maximum(h2, 0, out=h2)
        np.matmul(h2, w3.T, out=z3)
        z3 += b3
        # cross-entropy: loss = mean_n (log sum_c e^(z_nc - m_n) + m_n - z_{n,y_n})
        m = z3.max(axis=1, keepdims=True)
        np.subtract(z3, m, out=p)
        np.exp(p, out=p)
        s = p.sum(axis=1, keepdims=True)
        p /= s  # softmax, kept for the backward
        return float(np.mean(np.log(s[:, 0]) + m[:, 0] - z3[rows, y]))

    def backward(self) -> None:
        _, _, w2, _, w3, _ = self.params
        gw1, gb1, gw2, gb2, gw3, gb3 = self.grads
        h1, h2, p, dh1, dh2 = self.h1, self.h2, self.p, self.dh1, self.dh2
        p[self.rows, self.y] -= 1
        p *= self.inv_n  # p is now dL/dz3
        np.matmul(p.T, h2, out=gw3)
        np.sum(p, axis=0, out=gb3)
        np.matmul(p, w3, out=dh2)
        np.greater(h2, 0, out=self.mask2)
        dh2 *= self.mask2
        np.matmul(dh2.T, h1, out=gw2)
        np.sum(dh2, axis=0, out=gb2)
        np.matmul(dh2, w2, out=dh1)
        np.greater(h1, 0, out=self.mask1)
        dh1 *= self.mask1
        np.matmul(dh1.T, self.x, out=gw1)
        np.sum(dh1, axis=0, out=gb1)

    def update(self) -> None:
        """SGD with momentum, PyTorch's form."""
        for w, g, v, tmp in zip(self.params, self.grads, self.bufs, self.tmps):
            if self.started:
                v *= MOMENTUM
                v += g
            else:
                v[...] = g
            np.multiply(v, LR, out=tmp)
            w -= tmp
        self.started = True


def numpy_mlp(dtype: str, quick: bool) -> dict:
    arrays, x, y = mlp_init(dtype)
    model = NumpyMLP(arrays, x, y)
    losses = [model.step() for _ in range(CHECK_STEPS)]
    want = np.dtype(dtype)
    for a in [model.h1, model.h2, model.z3, model.p, *arrays, *model.grads, *model.bufs]:
        assert a.dtype == want, (a.dtype, want)
    return {"metrics": {"step": measure(model.step, quick)}, "losses": losses}


def numpy_matmul(quick: bool) -> dict:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024)).astype(np.float32)
    b = rng.standard_normal((1024, 1024)).astype(np.float32)
    return {"metrics": {"matmul": measure(lambda: np.matmul(a, b), quick)}}


# ---- entry -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", required=True, choices=["handgrad", "torch", "numpy"])
    ap.add_argument("--workload", required=True, choices=["mlp", "matmul", "overhead"])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)

    if args.lib == "torch":
        import torch

        harness.limit_threads(torch)
        torch.manual_seed(0)
        if args.workload == "mlp":
            result = torch_mlp(torch, args.dtype, args.quick)
        elif args.workload == "overhead":
            result = torch_overhead(torch, args.quick)
        else:
            raise SystemExit("core_worker: matmul is timed for handgrad and numpy only")
        result["torch_threads"] = torch.get_num_threads()
    else:
        harness.limit_threads()
        if args.lib == "handgrad":
            import handgrad

            handgrad.utils.keep_freed_memory()  # the setting handgrad's training entry points use
            run = {
                "mlp": lambda: handgrad_mlp(args.dtype, args.quick),
                "matmul": lambda: handgrad_matmul(args.quick),
                "overhead": lambda: handgrad_overhead(args.quick),
            }[args.workload]
        else:
            if args.workload == "overhead":
                raise SystemExit("core_worker: overhead is timed for handgrad and torch only")
            run = {
                "mlp": lambda: numpy_mlp(args.dtype, args.quick),
                "matmul": lambda: numpy_matmul(args.quick),
            }[args.workload]
        result = run()
        if args.lib == "numpy":
            assert "torch" not in sys.modules and "handgrad" not in sys.modules
    if args.lib != "torch":
        assert "torch" not in sys.modules, "torch must not be loaded next to NumPy timings"
    result.update(lib=args.lib, workload=args.workload, dtype=args.dtype)
    harness.emit(result)


if __name__ == "__main__":
    main()
