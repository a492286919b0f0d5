"""k-means cost, timed: the illustration of problem set 002, Assignment 8(b).

The exercise ``002-a8b-kmeans-complexity`` judges "an online epoch and a Lloyd iteration are both
O(n m K)" by *counting* distance evaluations (a timing depends on the machine's load and must not
decide a verdict). This script shows the same scaling in wall-clock time: one pass of
hg.cluster.OnlineKMeans and one hg.cluster.KMeans iteration while one of m, K, n doubles, the best
of ``--repeats`` runs each, and the ratio to the smallest size. O(n m K) predicts ratios 2 and 4
where the arithmetic dominates; the per-example Python overhead and the machine's load move them
(one run on the shared 2-core machine, 2026-12-06, repeats 2: online epoch m ratios 1.97 and 12.7,
K 1.06 and 2.03, n 0.23 and 0.26), which is why no verdict rests on them.

    python bench/bench_kmeans.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def best_time(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    from handgrad.cluster import KMeans, OnlineKMeans

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    def online(m, k, n):
        x = rng.standard_normal((m, n))
        km = OnlineKMeans(k, learning_rate="inverse", init=rng.standard_normal((k, n)))
        km.partial_fit(x[:1])
        return best_time(lambda: km.partial_fit(x), args.repeats)

    def lloyd(m, k, n):
        x, init = rng.standard_normal((m, n)), rng.standard_normal((k, n))
        return best_time(lambda: KMeans(k, init=init, n_init=1, max_iter=1).fit(x), args.repeats)

    for name, timer, (m0, k0, n0) in (
        ("online epoch", online, (300, 64, 64)),
        ("Lloyd iteration", lloyd, (4000, 64, 32)),
    ):
        for axis in ("m", "K", "n"):
            times = []
            for s in (1, 2, 4):
                size = {"m": (m0 * s, k0, n0), "K": (m0, k0 * s, n0), "n": (m0, k0, n0 * s)}[axis]
                times.append(timer(*size))
            ratios = ", ".join(f"{t / times[0]:.2f}" for t in times)
            print(
                f"{name:16s} {axis} x1, x2, x4: {', '.join(f'{t * 1e3:.1f} ms' for t in times)}"
                f"  (ratios {ratios})"
            )


if __name__ == "__main__":
    main()
