"""``handgrad.commands``: the command line's commands, one module each, and the helpers they share
(``common``). ``handgrad.cli`` parses the command name and dispatches here; a command module
exposes two functions:

    add_arguments(parser: argparse.ArgumentParser) -> None
    run(args: argparse.Namespace) -> int            # the exit code

A command parses, calls the library (``handgrad.train``, ``handgrad.attacks``, ...), prints and
writes its report; the algorithms and their plots stay in their packages, which never import
this one. Modules are imported only when their command runs, so ``handgrad summary`` does not pay
for matplotlib.
"""

from __future__ import annotations

from .common import CommandError

COMMANDS: dict[str, str] = {
    "train": "handgrad.commands.train",
    "summary": "handgrad.commands.summary",
    "exercises": "handgrad.commands.exercises",
    "attack": "handgrad.commands.attack",
    "vae": "handgrad.commands.vae",
    "tsne": "handgrad.commands.tsne",
    "kmeans": "handgrad.commands.kmeans",
    "prior-shift": "handgrad.commands.prior_shift",
    "sparse": "handgrad.commands.sparse",
}
"""Command name -> the module that implements it (``add_arguments`` and ``run``)."""

HELP: dict[str, str] = {
    "train": "train a classifier on digits; writes a checkpoint, metrics JSON and plots",
    "summary": "print the per-layer table of a model (shapes, parameters, receptive field)",
    "exercises": "run the problem sets as executable exercises",
    "attack": "adversarial examples against a trained classifier",
    "vae": "train and sample a variational autoencoder",
    "tsne": "embed the digits with t-SNE (or symmetric SNE) and plot them",
    "kmeans": "cluster the digits with k-means (Lloyd or online) and draw the centres",
    "prior-shift": "re-weight a classifier to a shifted class prior, known or estimated by EM",
    "sparse": "dictionary learning on the digits, and ISTA vs FISTA on a Lasso problem",
}

__all__ = ["COMMANDS", "HELP", "CommandError"]
