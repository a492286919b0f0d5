"""Shared machinery for the side-by-side benchmarks: run each library in its own process, alternate
them, and report the median over rounds of the per-round time ratios.

Why the care (see ../shared/PERFORMANCE.md): the machine is shared and drifts 20-30% between runs,
so only ratios measured close together in time mean anything; PyTorch's OpenMP pool and NumPy's
OpenBLAS pool slow each other down when they live in one process; and a second BLAS thread on a
loaded 2-core machine makes small products collapse. Hence:

- every measurement is a fresh child process (``run_worker``) with one thread per library, forced
  both by the environment (``child_env``) and, inside the worker, by ``limit_threads``;
- the commands of a comparison run in turn, A B A B ... (``compare``), and each round yields one
  ratio; the reported figure is the median of those ratios, which cancels the slow drift.

A worker is any script that prints, as the last line of its standard output, one JSON object whose
``"metrics"`` maps metric names to seconds (anything else in the object is passed through). A new
benchmark (``bench_conv.py``, ...) writes its own worker and calls ``compare`` with its commands:

    table = compare([("handgrad", [sys.executable, "my_worker.py", "--lib", "handgrad"]),
                     ("torch", [sys.executable, "my_worker.py", "--lib", "torch"])], rounds=5)
    table.ratio("handgrad", "torch", "step")      # median over rounds of t_handgrad / t_torch
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "BLIS_NUM_THREADS",
)


def child_env() -> dict[str, str]:
    """The environment for a worker: one thread for every thread pool a library may start."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = "1"
    env["PYTHONHASHSEED"] = "0"
    return env


# ---- inside a worker -----------------------------------------------------------------------------


_limiter: Any = None


def limit_threads(torch_module: Any = None) -> Any:
    """Pin the calling process to one thread per pool, for the rest of the process's life.

    threadpoolctl limits every BLAS and OpenMP pool it can see (NumPy's OpenBLAS, torch's libgomp);
    torch's own intra-op pool (which drives its statically linked MKL) needs set_num_threads.
    """
    import threadpoolctl

    global _limiter
    _limiter = limiter = threadpoolctl.threadpool_limits(1)
    if torch_module is not None:
        torch_module.set_num_threads(1)
        try:
            torch_module.set_num_interop_threads(1)
        except RuntimeError:  # already set, or the pool already started
            pass
    return limiter


def time_fn(fn: Callable[[], Any], *, warmup: int, reps: int, blocks: int) -> dict[str, float]:
    """Seconds per call of ``fn``: ``warmup`` untimed calls, then ``blocks`` timed blocks of
    ``reps`` calls each. Returns the median and the best block (per call)."""
    for _ in range(warmup):
        fn()
    per_call = []
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        per_call.append((time.perf_counter() - t0) / reps)
    return {"median": statistics.median(per_call), "best": min(per_call)}


def median_step(step: Callable[[], Any], steps: int, warmup: int = 3) -> float:
    """Seconds of one call of ``step``: the median of ``steps`` timed calls after ``warmup``."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def library(name: str, threads: str) -> Any:
    """Import ``torch`` or ``handgrad`` in a worker, handgrad with its training entry points'
    allocator setting and its compiled kernels loaded, both pinned to one thread when
    ``threads`` is "1"."""
    if name == "torch":
        import torch as lib
    else:
        import handgrad as lib

        lib.utils.keep_freed_memory()  # as handgrad's training entry points and bench/ do
        # numba's compiled normalization kernels (the ``fast`` extra), loaded now as importing
        # torch loads torch's: their one-time memory is the library's, not a step's
        from handgrad.ops import _compiled

        _compiled.load()
    if threads == "1":
        limit_threads(lib if name == "torch" else None)
    return lib


def reps_for(fn: Callable[[], Any], target_seconds: float, cap: int = 1_000_000) -> int:
    """How many calls of ``fn`` fill about ``target_seconds`` (calibrated on a short trial)."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt > 0.02 or n >= cap:
            return max(1, min(cap, int(target_seconds * n / max(dt, 1e-9))))
        n *= 4


def emit(result: dict[str, Any]) -> None:
    """Print the worker's result as the last line of its standard output."""
    import threadpoolctl

    result.setdefault("threadpool_info", threadpoolctl.threadpool_info())
    result.setdefault("python", sys.version.split()[0])
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


# ---- in the driver -------------------------------------------------------------------------------


class WorkerError(RuntimeError):
    pass


def env_for(threads: str) -> dict[str, str]:
    """A worker's environment: one thread per pool (``child_env``) for "1", else the thread
    variables left to the libraries' defaults."""
    if threads == "1":
        return child_env()
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env["PYTHONHASHSEED"] = "0"
    return env


def run_worker(
    argv: Sequence[str], timeout: float = 900, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run one worker process and return its JSON result (the last line it printed). ``env``
    defaults to ``child_env()`` (one thread per pool)."""
    proc = subprocess.run(
        list(argv),
        check=False,
        env=env if env is not None else child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        raise WorkerError(
            f"worker {' '.join(argv)} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        raise WorkerError(
            f"worker {' '.join(argv)}: last line of output is not JSON: {lines[-1][:500]!r}"
        ) from None


@dataclass
class Comparison:
    """The results of ``compare``: per label, one worker result per round, in round order."""

    labels: list[str]
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def times(self, label: str, metric: str) -> list[float]:
        return [r["metrics"][metric] for r in self.results[label]]

    def median_time(self, label: str, metric: str) -> float:
        return statistics.median(self.times(label, metric))

    def ratios(self, num: str, den: str, metric: str, den_metric: str | None = None) -> list[float]:
        """Per-round ratios t_num / t_den (the two ran next to each other in each round)."""
        den_metric = den_metric or metric
        return [
            a / b for a, b in zip(self.times(num, metric), self.times(den, den_metric), strict=True)
        ]

    def ratio(self, num: str, den: str, metric: str, den_metric: str | None = None) -> float:
        """Median over rounds of t_num / t_den: how many times longer ``num`` takes."""
        return statistics.median(self.ratios(num, den, metric, den_metric))

    def spread(self, num: str, den: str, metric: str) -> tuple[float, float]:
        r = self.ratios(num, den, metric)
        return min(r), max(r)

    def first(self, label: str) -> dict[str, Any]:
        return self.results[label][0]

    def ratio_table(self, metric: str) -> dict[tuple[str, str], float]:
        """Median ratio for every ordered pair of labels that report ``metric``."""
        have = [lb for lb in self.labels if metric in self.results[lb][0]["metrics"]]
        return {(a, b): self.ratio(a, b, metric) for a in have for b in have if a != b}


def compare(
    commands: Sequence[tuple[str, Sequence[str]]],
    rounds: int = 5,
    progress: Callable[[str], None] | None = None,
    timeout: float = 900,
    env: dict[str, str] | None = None,
) -> Comparison:
    """Run every (label, argv) command once per round, in turn (A B A B ...), each in a fresh
    process, and collect the results. Ratios are then taken within each round and the median over
    rounds reported (``Comparison.ratio`` / ``ratio_table``)."""
    labels = [label for label, _ in commands]
    if len(set(labels)) != len(labels):
        raise ValueError(f"compare: labels must be distinct, got {labels}")
    if rounds < 1:
        raise ValueError(f"compare: rounds must be at least 1, got {rounds}")
    cmp = Comparison(labels, {label: [] for label in labels})
    for i in range(rounds):
        for label, argv in commands:
            if progress:
                progress(f"round {i + 1}/{rounds}: {label}")
            cmp.results[label].append(run_worker(argv, timeout=timeout, env=env))
    return cmp


# ---- reporting -----------------------------------------------------------------------------------


def blas_summary(info: list[dict[str, Any]]) -> str:
    """One line per thread pool in a worker's ``threadpool_info``."""
    parts = []
    for pool in info:
        desc = f"{pool.get('internal_api')} {pool.get('version') or ''}".strip()
        if pool.get("architecture"):
            desc += f" kernel={pool['architecture']}"
        desc += f" threads={pool.get('num_threads')}"
        desc += f" ({os.path.basename(pool.get('filepath', ''))})"
        parts.append(desc)
    return "; ".join(parts) if parts else "(no BLAS/OpenMP pool found)"


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table (first column left-aligned, the rest right-aligned)."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))
        )

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)
