"""``handgrad tsne``: a t-SNE (or symmetric SNE) embedding of the digits, as a scatter plot.

    handgrad tsne --data digits --n 1000 --perplexity 30
    handgrad tsne --data digits --kernel both        # t-SNE and symmetric SNE side by side

Embeds ``--n`` digits drawn at random (``numpy.random.default_rng(seed)``, without replacement)
with ``handgrad.manifold.TSNE`` (exact, PCA initialisation) and reports, for each output kernel,
the final KL(P || Q), the trustworthiness of the embedding (scikit-learn's
``sklearn.manifold.trustworthiness`` with 5 neighbours, skipped with a note when scikit-learn
is not installed) and the time. ``--kernel both`` runs the Student-t kernel (t-SNE) and the
Gaussian one (symmetric SNE) on the same points: the second squeezes
the classes together (the crowding problem).

Writes to ``--out``: ``tsne.json`` (settings and numbers), ``tsne_embedding.npz`` (the indices
of the digits, their labels and one embedding per kernel), ``tsne_<kernel>.png`` and, with
``both``, ``tsne_both.png``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ..files import atomic_write
from ..threads import limit_threads
from . import common as util
from .common import CommandError

_EXAGGERATION_ITER = 250  # TSNE's default first stage
_NEIGHBOURS = 5  # trustworthiness' neighbourhood, scikit-learn's default


def _perplexity(text: str) -> float:
    return util.number(text, 1.0, low_open=True, what=" (an effective number of neighbours)")


def _n_iter(text: str) -> int:
    value = util.positive_int(text)
    if value <= _EXAGGERATION_ITER:
        raise argparse.ArgumentTypeError(
            f"must be more than the {_EXAGGERATION_ITER} iterations "
            f"of early exaggeration, got {value}"
        )
    return value


def _learning_rate(text: str) -> str | float:
    if text == "auto":
        return text
    return util.number(text, 0.0, low_open=True, what=" or 'auto'")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    util.add_data_argument(parser)
    parser.add_argument(
        "--n",
        type=util.positive_int,
        default=1000,
        help="number of digits embedded, drawn at random (default: 1000)",
    )
    parser.add_argument(
        "--perplexity",
        type=_perplexity,
        default=30.0,
        help="effective number of neighbours, > 1 and < --n (default: 30)",
    )
    parser.add_argument(
        "--kernel",
        choices=("student-t", "gaussian", "both"),
        default="student-t",
        help="output kernel: student-t (t-SNE), gaussian (symmetric SNE) or both "
        "side by side (default: student-t)",
    )
    parser.add_argument(
        "--n-iter",
        type=_n_iter,
        default=1000,
        help=f"gradient-descent iterations, the first {_EXAGGERATION_ITER} with "
        "early exaggeration (default: 1000)",
    )
    parser.add_argument(
        "--learning-rate",
        type=_learning_rate,
        default="auto",
        help="'auto' (max(N / 48, 50)) or a positive number (default: auto)",
    )
    parser.add_argument(
        "--seed", type=util.seed, default=0, help="draws the subset of digits (default: 0)"
    )
    util.add_output_arguments(parser, "tsne")


def trustworthiness(x: np.ndarray, embedding: np.ndarray) -> float | None:
    """scikit-learn's trustworthiness with 5 neighbours, or None without scikit-learn."""
    try:
        from sklearn.manifold import trustworthiness as sk_trustworthiness
    except ImportError:
        return None
    with limit_threads(1, user_api=None):
        return float(sk_trustworthiness(x, embedding, n_neighbors=_NEIGHBOURS))


def embed(
    x: np.ndarray,
    kernel: str,
    perplexity: float,
    n_iter: int,
    learning_rate: str | float,
    seed: int,
):
    """The fitted ``TSNE``; a diverged run is a ``CommandError`` naming the learning rate."""
    from ..manifold.tsne import TSNE

    model = util.library_call(
        TSNE,
        perplexity=perplexity,
        n_iter=n_iter,
        learning_rate=learning_rate,
        random_state=seed,
        kernel=kernel,
    )
    rate = (
        max(len(x) / model.early_exaggeration / 4.0, 50.0)
        if learning_rate == "auto"
        else learning_rate
    )
    try:
        with np.errstate(all="ignore"):
            util.library_call(model.fit, x)
        finite = np.isfinite(model.embedding_).all() and np.isfinite(model.kl_divergence_)
    except (ZeroDivisionError, FloatingPointError):
        finite = False
    if not finite:
        raise CommandError(
            f"the {kernel} embedding of {len(x)} points diverged at learning rate "
            f"{rate:g}; try a smaller --learning-rate (e.g. 10)"
        )
    return model


def run(args: argparse.Namespace) -> int:

    out = util.output_folder(args.out)
    x_all, y_all, _ = util.load_images(args.data)
    index = util.subset(args.n, len(x_all), args.seed, args.data)
    x, labels = x_all[index], y_all[index]
    if args.perplexity >= len(x):
        raise CommandError(
            f"--perplexity {args.perplexity:g} must be less than the number of points --n {len(x)}"
        )
    kernels = ["student-t", "gaussian"] if args.kernel == "both" else [args.kernel]
    names = {"student-t": "t-SNE (Student-t)", "gaussian": "symmetric SNE (Gaussian)"}

    results, embeddings = {}, {}
    with limit_threads(1):
        for kernel in kernels:
            started = time.perf_counter()
            model = embed(x, kernel, args.perplexity, args.n_iter, args.learning_rate, args.seed)
            seconds = time.perf_counter() - started
            y = model.embedding_
            embeddings[kernel] = y
            results[kernel] = {
                "kl_divergence": model.kl_divergence_,
                "trustworthiness": trustworthiness(x, y),
                "seconds": seconds,
                "n_iter": model.n_iter_,
                "learning_rate": model.learning_rate_,
                "extent": float(np.abs(y - y.mean(0)).max()),
            }

    print(
        f"{' and '.join(names[k] for k in kernels)} of {len(x)} images of {args.data} "
        f"({x.shape[1]} pixels), perplexity {args.perplexity:g}, {args.n_iter} iterations"
    )
    print(f"  {'kernel':<26}{'KL(P||Q)':>9}{'trustworthiness':>17}{'extent':>9}{'time':>9}")
    for kernel, r in results.items():
        trust = "n/a" if r["trustworthiness"] is None else f"{r['trustworthiness']:.4f}"
        print(
            f"  {names[kernel]:<26}{r['kl_divergence']:>9.4f}{trust:>17}{r['extent']:>9.1f}"
            f"{r['seconds']:>8.1f}s"
        )
    if any(r["trustworthiness"] is None for r in results.values()):
        print("  (trustworthiness needs scikit-learn: pip install scikit-learn)")
    else:
        print(
            f"  (trustworthiness: {_NEIGHBOURS} neighbours, 1 = every embedding neighbour is a "
            f"neighbour in pixel space; extent: largest coordinate about the centre)"
        )

    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    with atomic_write(out / "tsne_embedding.npz") as f:
        np.savez(
            f,
            indices=index,
            labels=labels,
            **{kernel.replace("-", "_"): y for kernel, y in embeddings.items()},
        )
    files["embedding"] = str(out / "tsne_embedding.npz")
    if not args.no_plots:
        files.update(
            util.plots_or_note(lambda: _pictures(embeddings, labels, results, names, args, out))
        )
    report = {
        "config": {k: v for k, v in vars(args).items() if k != "command"},
        "points": len(x),
        "features": int(x.shape[1]),
        "trustworthiness_neighbours": _NEIGHBOURS,
        "results": results,
    }
    util.write_report(out, "tsne.json", report, files)
    return 0


def _pictures(embeddings, labels, results, names, args, out) -> dict[str, str]:
    from ..manifold.plots import plot_embedding, plot_side_by_side

    files = {}
    for kernel, y in embeddings.items():
        files[f"{kernel} scatter"] = str(
            plot_embedding(
                y,
                labels,
                out / f"tsne_{kernel}.png",
                title=_title(names[kernel], results[kernel], len(y), args),
            )
        )
    if len(embeddings) == 2:
        files["side by side"] = str(
            plot_side_by_side(
                embeddings,
                labels,
                out / "tsne_both.png",
                [_title(names[k], results[k], len(labels), args) for k in embeddings],
            )
        )
    return files


def _title(name: str, result: dict, n: int, args) -> str:
    trust = result["trustworthiness"]
    extra = "" if trust is None else f", trustworthiness {trust:.3f}"
    return (
        f"{name}: {n} images of {args.data}, perplexity {args.perplexity:g}\n"
        f"KL {result['kl_divergence']:.3f}{extra}"
    )
