"""``handgrad attack``: accuracy of a trained classifier under FGSM and PGD, as a table, a plot
and a grid of perturbed digits.

    handgrad train --model lenet --out runs/lenet
    handgrad attack --checkpoint runs/lenet --eps 0.05,0.1,0.2

The checkpoint is what ``handgrad train`` writes (``hg.train.save_checkpoint``): the model's
state dict, and in ``meta`` the model and data names and the mean and standard deviation the
inputs were standardised with. The attack works in pixel space ([0, 1], eps in pixel units)
on ``Normalized(model, mean, std)``, on the test split of the data set.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from ..files import write_json
from ..threads import limit_threads
from .common import CommandError, comma_list, output_error, output_folder
from .common import positive_float as _positive_float
from .common import positive_int as _positive_int


def _eps_list(text: str) -> list[float]:
    values = comma_list(text, float, "numbers", "expected at least one value of eps")
    bad = [v for v in values if not (math.isfinite(v) and 0 <= v <= 1)]
    if bad:
        raise argparse.ArgumentTypeError(f"each eps must be in [0, 1] (pixel units), got {bad[0]}")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..models import MODELS

    parser.add_argument(
        "--checkpoint",
        required=True,
        metavar="PATH",
        help="a checkpoint written by `handgrad train` (the .npz file or its folder)",
    )
    parser.add_argument(
        "--model",
        choices=MODELS,
        default=None,
        help="the architecture (default: the one named in the checkpoint)",
    )
    parser.add_argument(
        "--data",
        default=None,
        metavar="{mnist5k,digits,mnist:PATH,...}",
        help="data set whose test split is attacked (default: the checkpoint's)",
    )
    parser.add_argument(
        "--eps",
        type=_eps_list,
        default=[0.05, 0.1, 0.2],
        help="comma-separated L-infinity budgets in pixel units (default: 0.05,0.1,0.2)",
    )
    parser.add_argument(
        "--method", choices=("fgsm", "pgd", "both"), default="both", help="default: both"
    )
    parser.add_argument(
        "--steps", type=_positive_int, default=10, help="PGD iterations (default: 10)"
    )
    parser.add_argument(
        "--alpha",
        type=_positive_float,
        default=None,
        help="PGD step in pixel units (default: 2.5 eps / steps)",
    )
    parser.add_argument(
        "--limit", type=_positive_int, default=None, help="attack the first N test examples only"
    )
    parser.add_argument(
        "--examples",
        type=_positive_int,
        default=10,
        help="columns of the picture of perturbed digits (default: 10)",
    )
    parser.add_argument("--seed", type=int, default=0, help="PGD's random start (default: 0)")
    parser.add_argument(
        "--out",
        default=None,
        help="folder for attack.json and the PNGs (default: the checkpoint's)",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG files")


def _load(args: argparse.Namespace):
    """The classifier in pixel space, the test images in [0, 1] and their labels."""
    from ..attacks.gradient import Normalized
    from ..models import build_model
    from ..train.checkpoint import CHECKPOINT_NAME, read_checkpoint
    from ..train.job import JobError, load_data

    path = Path(args.checkpoint)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    try:
        state = read_checkpoint(path)
    except (FileNotFoundError, ValueError) as e:
        raise CommandError(str(e)) from None
    meta = dict(state.get("meta") or {})
    model_name = args.model or meta.get("model")
    data_name = args.data or meta.get("data")
    if model_name is None or data_name is None:
        raise CommandError(
            f"checkpoint {path} does not name its model and data; pass --model and --data"
        )
    try:
        data = load_data(data_name)
    except JobError as e:
        raise CommandError(str(e)) from None
    try:
        model = build_model(model_name, data.input_shape, len(data.class_names))
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, ValueError) as e:
        raise CommandError(
            f"checkpoint {path} does not fit --model {model_name} on {data_name}: {e}"
        ) from None
    x_std, y = (t.numpy() for t in data.test.tensors)
    # load_data hands out standardised images; undo its standardisation to get pixels back.
    x = np.clip(x_std * np.float32(data.std) + np.float32(data.mean), 0.0, 1.0)
    if args.limit is not None:
        x, y = x[: args.limit], y[: args.limit]
    mean, std = meta.get("mean", 0.0), meta.get("std", 1.0)
    classifier = Normalized(model, mean, std).eval()
    return path, classifier, x.astype(np.float32), y, model_name, data_name, data.class_names


def run(args: argparse.Namespace) -> int:
    path, model, x, y, model_name, data_name, class_names = _load(args)
    out = output_folder(args.out if args.out is not None else path.parent)
    try:
        return _attack(args, path, model, x, y, model_name, data_name, class_names, out)
    except OSError as e:
        err = output_error(out, e)
        if err is None:
            raise
        raise err from None


def _attack(args, path, model, x, y, model_name, data_name, class_names, out) -> int:
    from ..attacks.gradient import robust_accuracy
    from ..random import Generator

    eps = sorted(set([0.0, *args.eps]))
    methods = ["fgsm", "pgd"] if args.method == "both" else [args.method]
    labels = {"fgsm": "FGSM", "pgd": f"PGD-{args.steps}"}

    def pgd_kwargs() -> dict:
        alpha = args.alpha if args.alpha is not None else (lambda e: 2.5 * e / args.steps)
        return {"alpha": alpha, "steps": args.steps, "generator": Generator(args.seed)}

    with limit_threads(1):
        accuracy = {
            labels[m]: robust_accuracy(model, x, y, eps, m, **(pgd_kwargs() if m == "pgd" else {}))
            for m in methods
        }

        print(f"{model_name} on the {data_name} test split ({len(y)} digits), checkpoint {path}")
        print(f"{'eps':>7}" + "".join(f"{name:>10}" for name in accuracy))
        for i, e in enumerate(eps):
            print(f"{e:>7.3f}" + "".join(f"{100 * acc[i]:>9.2f}%" for acc in accuracy.values()))

        files: dict[str, str] = {}
        out.mkdir(parents=True, exist_ok=True)
        if not args.no_plots:
            files.update(
                _pictures(
                    args,
                    model,
                    x,
                    y,
                    eps,
                    methods,
                    labels,
                    accuracy,
                    out,
                    model_name,
                    class_names,
                    pgd_kwargs,
                )
            )
    report = {
        "checkpoint": str(path),
        "model": model_name,
        "data": data_name,
        "examples": int(len(y)),
        "eps": eps,
        "accuracy": accuracy,
        "pgd": {"steps": args.steps, "alpha": args.alpha or "2.5 eps / steps", "seed": args.seed}
        if "pgd" in methods
        else None,
    }
    files["metrics"] = str(write_json(out / "attack.json", report))
    for key, name in files.items():
        print(f"  {key + ':':<22} {name}")
    return 0


def _pictures(
    args, model, x, y, eps, methods, labels, accuracy, out, model_name, class_names, pgd_kwargs
) -> dict[str, str]:
    from ..attacks.gradient import _predict as predict
    from ..attacks.gradient import attack
    from ..attacks.plots import plot_accuracy_vs_eps, plot_adversarial_examples

    try:
        files = {
            "accuracy vs eps": str(
                plot_accuracy_vs_eps(
                    eps,
                    accuracy,
                    out / "attack_accuracy.png",
                    title=f"{model_name} under attack ({len(y)} test digits)",
                )
            )
        }
    except ImportError as e:
        print(f"no plots: {e}")
        return {}
    # Examples the model gets right, one per class first, so the picture shows what changes.
    clean = predict(model, x, 256)
    right = np.flatnonzero(clean == y)
    firsts = [right[y[right] == c][0] for c in np.unique(y[right])]
    rest = [i for i in right if i not in set(firsts)]
    pick = np.array((firsts + rest)[: args.examples], dtype=np.int64)
    rows, preds = {}, {"original": clean[pick]}
    for m in methods:
        for e in eps[1:]:
            kw = pgd_kwargs() if m == "pgd" else {}
            if callable(kw.get("alpha")):
                kw["alpha"] = kw["alpha"](e)
            adv = attack(model, x[pick], y[pick], e, m, **kw).numpy()
            label = f"{labels[m]} eps={e:g}"
            rows[label], preds[label] = adv, predict(model, adv, 256)
    files["perturbed digits"] = str(
        plot_adversarial_examples(
            x[pick],
            rows,
            preds,
            y[pick],
            out / "attack_examples.png",
            class_names=[n.split(" - ")[0] for n in class_names],
        )
    )
    return files
