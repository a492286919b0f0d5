"""``handgrad kmeans``: k-means on the digits, by Lloyd's algorithm or online, and the centres as
images.

    handgrad kmeans --data digits --k 10
    handgrad kmeans --data digits --k 10 --online                 # rate 1/n_k
    handgrad kmeans --data mnist5k --online --learning-rate 0.05  # a constant rate

Clusters the pixel vectors (in [0, 1]) of the whole data set (or ``--n`` of them drawn at
random). Without ``--online``: ``handgrad.cluster.KMeans`` (k-means++, ``--n-init`` runs, the
lowest inertia kept). With ``--online``: ``handgrad.cluster.OnlineKMeans``, one example per step
(``--batch-size``), ``--passes`` shuffled passes, and the per-centre rate 1/n_k (``inverse``) or
a constant one; it is run a second time with the other kind of rate (a constant 0.05 against
``inverse``, ``inverse`` against a constant) to show that with a constant rate the centres keep
moving while with 1/n_k they converge.

Reports the inertia J = sum_i min_k ||x_i - y_k||^2, scikit-learn's for comparison when it is
installed (``sklearn.cluster.KMeans`` with the same k and number of runs), the purity of the
clusters against the labels, and with ``--online`` the movement of the centres over each pass.
Writes ``kmeans.json``, ``kmeans_centers.png`` and, with ``--online``, ``kmeans_movement.png``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ..cluster.plots import plot_movement
from ..threads import limit_threads
from . import common as util
from .common import CommandError

COMPARISON_RATE = 0.05  # the constant rate compared with 1/n_k when --learning-rate is inverse


def _learning_rate(text: str) -> str | float:
    if text == "inverse":
        return text
    return util.number(text, 0.0, 1.0, low_open=True, what=" or 'inverse'")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    util.add_data_argument(parser)
    parser.add_argument(
        "--k", type=util.positive_int, default=10, help="number of clusters (default: 10)"
    )
    parser.add_argument(
        "--online",
        action="store_true",
        help="online k-means (SGD, one example per step) instead of Lloyd's",
    )
    parser.add_argument(
        "--learning-rate",
        type=_learning_rate,
        default=None,
        help="with --online: 'inverse' (1/n_k for centre k, the running mean) or "
        "a constant in (0, 1] (default: inverse)",
    )
    parser.add_argument(
        "--passes",
        type=util.positive_int,
        default=None,
        help="with --online: passes over the data (default: 20)",
    )
    parser.add_argument(
        "--batch-size",
        type=util.positive_int,
        default=None,
        help="with --online: examples per step (default: 1)",
    )
    parser.add_argument(
        "--n-init",
        type=util.positive_int,
        default=None,
        help="runs from different seeds, the lowest inertia kept (default: 10 for "
        "Lloyd's, 1 online)",
    )
    parser.add_argument(
        "--n",
        type=util.positive_int,
        default=None,
        help="cluster N examples drawn at random (default: all)",
    )
    parser.add_argument("--seed", type=util.seed, default=0, help="default: 0")
    util.add_output_arguments(parser, "kmeans")


def purity(clusters: np.ndarray, labels: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """The share of examples whose cluster's most frequent label is their own, and that label for
    each cluster (-1 for an empty one)."""
    table = np.zeros((k, int(labels.max()) + 1), dtype=np.int64)
    np.add.at(table, (clusters, labels), 1)
    majority = np.where(table.sum(1) > 0, table.argmax(1), -1)
    return float(table.max(1).sum() / len(labels)), majority


def reference_inertia(x: np.ndarray, k: int, n_init: int, seed: int) -> float | None:
    """scikit-learn's KMeans inertia with the same k and number of runs, or None without it."""
    try:
        from sklearn.cluster import KMeans as SkKMeans
    except ImportError:
        return None
    with limit_threads(1, user_api=None):
        return float(SkKMeans(k, n_init=n_init, random_state=seed).fit(x).inertia_)


def _rate_name(rate: str | float) -> str:
    return "1/n_k" if rate == "inverse" else f"{rate:g}"


def run(args: argparse.Namespace) -> int:
    from ..cluster.kmeans import KMeans
    from ..cluster.online import OnlineKMeans

    out = util.output_folder(args.out)
    if not args.online:
        for name in ("learning_rate", "passes", "batch_size"):
            if getattr(args, name) is not None:
                raise CommandError(
                    f"--{name.replace('_', '-')} applies to online k-means only; add --online"
                )
    args.passes = 20 if args.passes is None else args.passes
    args.batch_size = 1 if args.batch_size is None else args.batch_size
    x_all, y_all, _ = util.load_images(args.data)
    index = util.subset(args.n, len(x_all), args.seed, args.data)
    x, labels = x_all[index], y_all[index]
    if args.k > len(x):
        raise CommandError(f"--k {args.k} is more than the {len(x)} examples to cluster")
    n_init = args.n_init if args.n_init is not None else (1 if args.online else 10)
    rate = args.learning_rate if args.learning_rate is not None else "inverse"

    runs: dict[str, dict] = {}
    with limit_threads(1):
        started = time.perf_counter()
        if args.online:
            model = util.library_call(
                OnlineKMeans,
                args.k,
                learning_rate=rate,
                batch_size=args.batch_size,
                max_iter=args.passes,
                n_init=n_init,
                random_state=args.seed,
            )
        else:
            model = util.library_call(KMeans, args.k, n_init=n_init, random_state=args.seed)
        util.library_call(model.fit, x)
        seconds = time.perf_counter() - started
        if args.online:
            other = COMPARISON_RATE if rate == "inverse" else "inverse"
            twin = OnlineKMeans(
                args.k,
                learning_rate=other,
                batch_size=args.batch_size,
                max_iter=args.passes,
                n_init=n_init,
                random_state=args.seed,
            ).fit(x)
            for r, m in ((rate, model), (other, twin)):
                runs[_rate_name(r)] = {
                    "learning_rate": r,
                    "inertia": m.inertia_,
                    "epoch_shifts": m.epoch_shifts_.tolist(),
                }
        reference = reference_inertia(x, args.k, n_init, args.seed)

    score, majority = purity(model.labels_, labels, args.k)
    sizes = np.bincount(model.labels_, minlength=args.k)
    if args.online:
        how = (
            f"online k-means, rate {_rate_name(rate)}, {args.batch_size} example"
            f"{'s' if args.batch_size > 1 else ''} per step, {model.n_iter_} passes"
        )
    else:
        how = f"k-means (Lloyd's, k-means++), {model.n_iter_} iterations"
    print(
        f"{how}, {n_init} run{'s' if n_init > 1 else ''}, on {len(x)} images of {args.data} "
        f"({x.shape[1]} pixels in [0, 1]), k={args.k}, {seconds:.1f} s"
    )
    print(
        f"  inertia {model.inertia_:.2f} (mean squared distance to the centre "
        f"{model.inertia_ / len(x):.4f})"
    )
    if reference is not None:
        print(
            f"  scikit-learn KMeans, {n_init} run{'s' if n_init > 1 else ''}: inertia "
            f"{reference:.2f} (ours / scikit-learn = {model.inertia_ / reference:.4f})"
        )
    print(f"  purity {score:.3f} (share of examples whose cluster's majority label is theirs)")
    if args.online:
        names = list(runs)
        print(
            f"  movement of the centres over each pass (norm of the change of all centres); "
            f"final inertia {' vs '.join(format(runs[n]['inertia'], '.2f') for n in names)}"
        )
        print(f"  {'pass':>6}" + "".join(f"{'rate ' + n:>14}" for n in names))
        shifts = [runs[n]["epoch_shifts"] for n in names]
        for i in range(max(len(s) for s in shifts)):
            print(
                f"  {i + 1:>6}"
                + "".join(f"{s[i]:>14.3g}" if i < len(s) else f"{'':>14}" for s in shifts)
            )

    files: dict[str, str] = {}
    if not args.no_plots:
        files.update(
            util.plots_or_note(lambda: _pictures(model, sizes, majority, runs, how, args, out))
        )
    report = {
        "config": {k: v for k, v in vars(args).items() if k != "command"},
        "examples": len(x),
        "features": int(x.shape[1]),
        "algorithm": "online" if args.online else "lloyd",
        "n_init": n_init,
        "learning_rate": rate if args.online else None,
        "inertia": model.inertia_,
        "n_iter": model.n_iter_,
        "seconds": seconds,
        "sklearn_inertia": reference,
        "purity": score,
        "cluster_sizes": sizes.tolist(),
        "cluster_majority_label": majority.tolist(),
        "epoch_shifts": model.epoch_shifts_.tolist() if args.online else None,
        "rates": runs or None,
    }
    util.write_report(out, "kmeans.json", report, files)
    return 0


def _pictures(model, sizes, majority, runs, how, args, out) -> dict[str, str]:
    titles = [
        f"#{i}: n={sizes[i]}" + (f", '{majority[i]}'" if majority[i] >= 0 else "")
        for i in range(args.k)
    ]
    files = {
        "centres": str(
            util.image_grid(
                model.cluster_centers_,
                titles,
                out / "kmeans_centers.png",
                f"{args.k} centres of {how} on {args.data} (n: examples; majority label)",
            )
        )
    }
    if runs:
        files["centre movement"] = str(
            plot_movement(
                runs, out / "kmeans_movement.png", f"online k-means on {args.data}, k={args.k}"
            )
        )
    return files
