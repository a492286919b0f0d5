"""``handgrad prior-shift``: a classifier trained on balanced digits, applied to a test set whose
class priors have changed, re-weighted to the new priors known or estimated by EM.

    handgrad prior-shift --data digits --skew 0.5

1. Trains softmax regression (``handgrad.models.softmax_regression``, pixels in [0, 1]) on the
   training split with handgrad: ``--steps`` full-batch Adam steps on the cross-entropy, with
   weight decay (which keeps the posteriors from becoming over-confident; EM relies on them).
2. Draws new priors p*(y) proportional to (1 - skew)^r, r = 0, 1, ..., K-1 the rank of class y
   in a random order (``--seed``): skew 0 keeps the classes balanced, skew 0.5 gives the first
   class about half of the examples. The test split is resampled to ``--size`` examples with
   these priors: class counts from a multinomial, examples drawn with replacement within each
   class (the digits' test split has only about 36 of each).
3. Reports the accuracy on the resampled set of the classifier as it is (argmax of p(y|x)),
   adjusted to the true new priors (``adjust_to_prior``) and adjusted to the priors estimated
   by EM from the unlabeled predictions (``estimate_prior_em``), and the error of the estimate.

Writes ``prior_shift.json`` and ``prior_shift.png`` (training, true and estimated priors as
bars).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ..calibration.plots import plot_priors
from ..threads import limit_threads
from . import common as util
from .common import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    util.add_data_argument(parser)
    parser.add_argument(
        "--skew",
        type=util.number_type(0.0, 1.0, high_open=True),
        default=0.5,
        help="in [0, 1): new priors proportional to (1 - skew)^rank (default: 0.5)",
    )
    parser.add_argument(
        "--size",
        type=util.positive_int,
        default=1000,
        help="examples in the resampled test set (default: 1000)",
    )
    parser.add_argument(
        "--steps",
        type=util.positive_int,
        default=300,
        help="full-batch Adam steps of training (default: 300)",
    )
    parser.add_argument(
        "--lr",
        type=util.number_type(0.0, low_open=True),
        default=0.05,
        help="Adam's learning rate (default: 0.05)",
    )
    parser.add_argument(
        "--weight-decay",
        type=util.number_type(0.0),
        default=1e-3,
        help="L2 penalty on the weights (default: 0.001)",
    )
    parser.add_argument(
        "--seed",
        type=util.seed,
        default=0,
        help="the initial weights, the new priors and the resampling (default: 0)",
    )
    util.add_output_arguments(parser, "prior-shift")


# ---- the steps, as functions (the tests call them) --------------------------------------------


def train_classifier(
    x: np.ndarray,
    y: np.ndarray,
    classes: int,
    steps: int,
    lr: float,
    weight_decay: float,
    seed: int,
):
    """Softmax regression fitted by ``steps`` full-batch Adam steps on the mean cross-entropy;
    the initial weights come from ``handgrad.manual_seed(seed)``. Returns (model, final loss)."""
    from .. import optim
    from .._tensor import Tensor
    from ..autograd import no_grad
    from ..models import softmax_regression
    from ..nn import functional as F
    from ..random import manual_seed

    manual_seed(seed)
    model = softmax_regression(x.shape[1], classes)
    optimizer = optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    inputs, targets = Tensor._wrap(x.astype(np.float32)), Tensor._wrap(y.astype(np.int64))
    for _ in range(steps):
        loss = F.cross_entropy(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with no_grad():
        final = float(F.cross_entropy(model(inputs), targets).item())
    return model.eval(), final


def posteriors(model, x: np.ndarray) -> np.ndarray:
    """p(y|x) (N, K) as float64, rows summing to 1."""
    from .._tensor import Tensor
    from ..autograd import no_grad
    from ..ops import softmax

    with no_grad():
        p = softmax(model(Tensor._wrap(x.astype(np.float32))), dim=1).numpy()
    p = p.astype(np.float64)
    return p / p.sum(1, keepdims=True)


def skewed_prior(skew: float, classes: int, rng: np.random.Generator) -> np.ndarray:
    """p*(y) proportional to (1 - skew)^rank(y), the ranks a random permutation of the classes."""
    prior = np.empty(classes)
    prior[rng.permutation(classes)] = (1.0 - skew) ** np.arange(classes)
    return prior / prior.sum()


def resample(
    labels: np.ndarray, prior: np.ndarray, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Indices of ``size`` examples with class proportions drawn from ``prior``: counts from a
    multinomial, examples drawn with replacement within each class."""
    counts = rng.multinomial(size, prior)
    return np.concatenate(
        [rng.choice(np.flatnonzero(labels == c), counts[c]) for c in range(len(prior)) if counts[c]]
    )


def run(args: argparse.Namespace) -> int:
    from ..calibration.prior_shift import adjust_to_prior, estimate_prior_em

    out = util.output_folder(args.out)
    x_train, y_train, _ = util.load_images(args.data, "train")
    x_test, y_test, _ = util.load_images(args.data, "test")
    classes = int(max(y_train.max(), y_test.max())) + 1
    missing = [c for c in range(classes) if not (y_test == c).any() or not (y_train == c).any()]
    if missing:
        raise CommandError(
            f"class {missing[0]} of {args.data} has no example in the training or test split"
        )

    with limit_threads(1):
        started = time.perf_counter()
        model, loss = train_classifier(
            x_train, y_train, classes, args.steps, args.lr, args.weight_decay, args.seed
        )
        seconds = time.perf_counter() - started
        test_probs = posteriors(model, x_test)
    if not np.isfinite(test_probs).all():
        raise CommandError(f"training diverged (loss {loss:.3g}); try a smaller --lr")
    train_prior = np.bincount(y_train, minlength=classes) / len(y_train)
    rng = np.random.default_rng(args.seed)
    new_prior = skewed_prior(args.skew, classes, rng)
    pick = resample(y_test, new_prior, args.size, rng)
    probs, labels = test_probs[pick], y_test[pick]
    sample_prior = np.bincount(labels, minlength=classes) / len(labels)

    def accuracy(p: np.ndarray) -> float:
        return float((p.argmax(1) == labels).mean())

    balanced = float((test_probs.argmax(1) == y_test).mean())
    before = accuracy(probs)
    known = accuracy(adjust_to_prior(probs, train_prior, new_prior))
    em = estimate_prior_em(probs, train_prior)
    estimated = accuracy(em.probs)
    error = {
        "max_abs": float(np.abs(em.prior - new_prior).max()),
        "l1": float(np.abs(em.prior - new_prior).sum()),
        "max_abs_vs_sample": float(np.abs(em.prior - sample_prior).max()),
    }

    top = int(new_prior.argmax())
    print(
        f"softmax regression on the {args.data} training split ({len(y_train)} images of "
        f"{x_train.shape[1]} pixels), {args.steps} full-batch Adam steps in {seconds:.1f} s: "
        f"training loss {loss:.4f}, accuracy {100 * balanced:.2f}% on the test split "
        f"({len(y_test)} images)"
    )
    print(
        f"test split resampled to {len(labels)} examples with a skewed prior (skew "
        f"{args.skew:g}: class {top} has {100 * new_prior[top]:.1f}%, the rarest "
        f"{100 * new_prior.min():.2f}%)"
    )
    print("  accuracy on the resampled test set")
    print(f"  {'as trained (training prior)':<46}{100 * before:>7.2f}%")
    print(f"  {'adjusted to the true new prior':<46}{100 * known:>7.2f}%")
    print(
        f"  {'adjusted to the prior estimated by EM':<46}{100 * estimated:>7.2f}%   "
        f"({em.n_iter} EM iterations{', converged' if em.converged else ', NOT converged'})"
    )
    print(
        f"  prior error of the EM estimate: max |p_EM - p*| = {error['max_abs']:.4f}, "
        f"sum |p_EM - p*| = {error['l1']:.4f} (max {error['max_abs_vs_sample']:.4f} against "
        f"the sample's own class shares)"
    )

    files: dict[str, str] = {}
    if not args.no_plots:
        files.update(
            util.plots_or_note(
                lambda: {
                    "priors": str(
                        plot_priors(
                            train_prior,
                            new_prior,
                            em.prior,
                            out / "prior_shift.png",
                            f"{args.data}, skew {args.skew:g}: accuracy {100 * before:.1f}% as trained, "
                            f"{100 * known:.1f}% with p*, {100 * estimated:.1f}% with p_EM",
                        )
                    )
                }
            )
        )
    report = {
        "config": {k: v for k, v in vars(args).items() if k != "command"},
        "train_examples": len(y_train),
        "test_examples": len(y_test),
        "train_loss": loss,
        "train_seconds": seconds,
        "balanced_test_accuracy": balanced,
        "train_prior": train_prior,
        "true_prior": new_prior,
        "sample_prior": sample_prior,
        "estimated_prior": em.prior,
        "em_iterations": em.n_iter,
        "em_converged": em.converged,
        "resampled_examples": len(labels),
        "accuracy": {"before": before, "true_prior": known, "estimated_prior": estimated},
        "prior_error": error,
    }
    util.write_report(out, "prior_shift.json", report, files)
    return 0
