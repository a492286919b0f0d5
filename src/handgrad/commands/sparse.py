"""``handgrad sparse``: a sparse dictionary learned from the digits, and ISTA against FISTA on a
Lasso problem.

    handgrad sparse --data digits --atoms 32 --alpha 0.3

1. Dictionary learning (``handgrad.sparse.DictionaryLearning``, SVD start) on 8x8 images with
   pixels in [0, 1], centred by subtracting the mean image: the whole digits set (or ``--n`` of
   it, drawn at random), or with ``--data mnist5k`` ``--n`` random 8x8 patches (default 2,000)
   of the 28x28 digits, blank ones skipped. It minimises
   1/2 ||X - U V||^2 + alpha ||U||_1 with unit-norm atoms (the rows of V); reported: the
   relative reconstruction error ||X - U V||^2 / ||X||^2, the share of non-zero codes and the
   mean number of atoms per example.
2. A random Lasso problem min_x 1/2 ||A x - b||^2 + lam ||x||_1 (A 50 x 100 with equicorrelated
   columns, correlation 0.9, which makes it ill-conditioned; b from a 10%-sparse x plus noise;
   lam = 0.1 max |A^T b|), solved by ``ista`` and ``fista`` from 0 with step 1/L for
   ``--lasso-iter`` iterations. Reported: the objective gap F(x_k) - F* at a few k, with F* from
   FISTA run to a gradient-mapping tolerance of 1e-10 (about 9,000 iterations).

Writes ``sparse.json``, ``sparse_atoms.png`` (the atoms, most used first) and
``sparse_lasso.png`` (the gaps per iteration on a log scale, with the O(1/k) and O(1/k^2)
guarantees).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ..sparse.plots import plot_gaps
from ..threads import limit_threads
from . import common as util

PATCH = 8  # side of the images or patches
LASSO_SHAPE = (50, 100)
LASSO_CORRELATION = 0.9
LASSO_LAMBDA = 0.1  # times max |A^T b|, above which x = 0 is the solution
REFERENCE_TOL = 1e-10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    util.add_data_argument(parser, extra=" (cut into random 8x8 patches)")
    parser.add_argument(
        "--atoms",
        type=util.positive_int,
        default=32,
        help="number of atoms in the dictionary (default: 32)",
    )
    parser.add_argument(
        "--alpha",
        type=util.number_type(0.0),
        default=0.3,
        help="weight of the l1 penalty on the codes, >= 0; larger is sparser (default: 0.3)",
    )
    parser.add_argument(
        "--max-iter",
        type=util.positive_int,
        default=30,
        help="alternations of sparse coding and dictionary update (default: 30)",
    )
    parser.add_argument(
        "--n",
        type=util.positive_int,
        default=None,
        help="examples (digits: drawn at random, default all 1797; mnist5k: patches, default 2000)",
    )
    parser.add_argument(
        "--lasso-iter",
        type=util.positive_int,
        default=500,
        help="ISTA and FISTA iterations on the Lasso problem (default: 500)",
    )
    parser.add_argument(
        "--seed",
        type=util.seed,
        default=0,
        help="the examples or patches, the dictionary's redrawn atoms and the "
        "Lasso problem (default: 0)",
    )
    util.add_output_arguments(parser, "sparse")


# ---- the data and the problem, as functions (the tests call them) -----------------------------


def patches(images: np.ndarray, side: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random PATCH x PATCH patches (n, PATCH^2) of the images (N, side^2), each from a
    random image at a random position; all-zero patches are drawn again."""
    pictures = images.reshape(len(images), side, side)
    out = np.empty((0, PATCH * PATCH))
    while len(out) < n:
        want = 2 * (n - len(out))
        i = rng.integers(len(pictures), size=want)
        r, c = rng.integers(side - PATCH + 1, size=(2, want))
        rows = r[:, None] + np.arange(PATCH)
        cols = c[:, None] + np.arange(PATCH)
        cut = pictures[i[:, None, None], rows[:, :, None], cols[:, None, :]]
        cut = cut.reshape(want, -1)
        out = np.vstack([out, cut[cut.any(1)]])
    return out[:n]


def examples(data: str, n: int | None, seed: int) -> np.ndarray:
    """The examples (N, 64) the dictionary is learned from, before centring."""
    x, _, side = util.load_images(data)
    if side == PATCH:
        return x[util.subset(n, len(x), seed, data)]
    return patches(x, side, 2000 if n is None else n, np.random.default_rng(seed))


def lasso_problem(seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(A, b, lam) of the module docstring's random Lasso problem."""
    rng = np.random.default_rng(seed)
    m, n = LASSO_SHAPE
    rho = LASSO_CORRELATION
    a = np.sqrt(1 - rho**2) * rng.standard_normal((m, n)) + rho * rng.standard_normal((m, 1))
    x = rng.standard_normal(n) * (rng.random(n) < 0.1)
    b = a @ x + 0.01 * rng.standard_normal(m)
    return a, b, LASSO_LAMBDA * float(np.abs(a.T @ b).max())


def compare_solvers(a: np.ndarray, b: np.ndarray, lam: float, iterations: int) -> dict:
    """The objective gaps F(x_k) - F* of ISTA and FISTA (k = 0..iterations), F* the lowest
    objective seen by a long FISTA run, and the two guarantees L ||x*||^2 / (2k) and
    2 L ||x*||^2 / (k + 1)^2 (from x_0 = 0)."""
    from ..sparse.proximal import fista, ista, lipschitz_constant

    reference = fista(a, b, lam, max_iter=200_000, tol=REFERENCE_TOL)
    runs = {
        "ISTA": ista(a, b, lam, max_iter=iterations, tol=0),
        "FISTA": fista(a, b, lam, max_iter=iterations, tol=0),
    }
    best = min(reference.objective.min(), *(r.objective.min() for r in runs.values()))
    scale = lipschitz_constant(a) * float((reference.x**2).sum())
    return {
        "optimum": best,
        "reference_iterations": reference.n_iter,
        "reference_converged": reference.converged,
        "lam": lam,
        "lipschitz": lipschitz_constant(a),
        "gaps": {name: r.objective - best for name, r in runs.items()},
        "bounds": {"ISTA": scale, "FISTA": 2 * scale},
    }


def run(args: argparse.Namespace) -> int:
    from ..sparse.dictionary import DictionaryLearning

    out = util.output_folder(args.out)
    raw = examples(args.data, args.n, args.seed)
    mean = raw.mean(0)
    x = raw - mean
    with limit_threads(1):
        started = time.perf_counter()
        model = util.library_call(
            DictionaryLearning,
            args.atoms,
            alpha=args.alpha,
            max_iter=args.max_iter,
            random_state=args.seed,
        )
        util.library_call(model.fit, x)
        seconds = time.perf_counter() - started
        lasso = compare_solvers(*lasso_problem(args.seed), args.lasso_iter)
    codes, atoms = model.code_, model.components_
    relative_error = float(((x - codes @ atoms) ** 2).sum() / (x**2).sum())
    nonzero = codes != 0
    usage = nonzero.sum(0)
    dictionary = {
        "objective": float(model.error_[-1]),
        "objective_start": float(model.error_[0]),
        "n_iter": model.n_iter_,
        "seconds": seconds,
        "relative_error": relative_error,
        "nonzero_share": float(nonzero.mean()),
        "atoms_per_example": float(nonzero.sum(1).mean()),
        "atom_usage": usage.tolist(),
    }

    what = (
        f"{len(x)} images of digits"
        if args.data == "digits"
        else f"{len(x)} random 8x8 patches of {args.data}"
    )
    print(
        f"dictionary learning on {what} (centred), {args.atoms} atoms, alpha {args.alpha:g}, "
        f"{model.n_iter_} iterations in {seconds:.1f} s"
    )
    print(
        f"  objective 1/2 ||X - U V||^2 + alpha ||U||_1: {dictionary['objective_start']:.2f} "
        f"-> {dictionary['objective']:.2f}"
    )
    print(f"  relative reconstruction error ||X - U V||^2 / ||X||^2 = {relative_error:.4f}")
    print(
        f"  sparsity: {100 * dictionary['nonzero_share']:.1f}% of the codes are non-zero, "
        f"{dictionary['atoms_per_example']:.2f} atoms per example on average; "
        f"{int((usage == 0).sum())} atoms unused"
    )
    m, n = LASSO_SHAPE
    print(
        f"Lasso, A {m}x{n} (columns correlated {LASSO_CORRELATION:g}), lam {lasso['lam']:.4g}: "
        f"F* = {lasso['optimum']:.6f} (FISTA, {lasso['reference_iterations']} iterations)"
    )
    print(f"  {'k':>6}{'ISTA gap':>13}{'FISTA gap':>13}")
    checkpoints = sorted(
        {k for k in (10, 50, 100, 200, 500, 1000, args.lasso_iter) if k <= args.lasso_iter}
    )
    for k in checkpoints:
        print(f"  {k:>6}{lasso['gaps']['ISTA'][k]:>13.3e}{lasso['gaps']['FISTA'][k]:>13.3e}")

    files: dict[str, str] = {}
    if not args.no_plots:
        files.update(util.plots_or_note(lambda: _pictures(atoms, usage, lasso, what, args, out)))
    report = {
        "config": {k: v for k, v in vars(args).items() if k != "command"},
        "examples": len(x),
        "dictionary": dictionary,
        "lasso": {
            "shape": [m, n],
            "correlation": LASSO_CORRELATION,
            "lam": lasso["lam"],
            "optimum": lasso["optimum"],
            "reference_iterations": lasso["reference_iterations"],
            "lipschitz": lasso["lipschitz"],
            "gaps": {k: v.tolist() for k, v in lasso["gaps"].items()},
        },
    }
    util.write_report(out, "sparse.json", report, files)
    return 0


def _pictures(atoms, usage, lasso, what, args, out) -> dict[str, str]:
    order = np.argsort(-usage, kind="stable")
    files = {
        "atoms": str(
            util.image_grid(
                atoms[order],
                [f"used by {usage[k]}" for k in order],
                out / "sparse_atoms.png",
                f"{len(atoms)} atoms learned from {what}, alpha {args.alpha:g} (most used first; "
                f"red > 0 > blue)",
                cmap="RdBu_r",
                symmetric=True,
                columns=8,
            )
        )
    }
    files["ISTA vs FISTA"] = str(plot_gaps(lasso, out / "sparse_lasso.png", LASSO_SHAPE))
    return files
