"""``handgrad.attacks``: adversarial examples against a trained classifier.

- ``fgsm``: the fast gradient sign method, the exact solution of the linearised attack in the
  L-infinity box;
- ``pgd``: projected gradient descent in the same box, with a seeded random start;
- ``attack``, ``robust_accuracy``: a whole data set in batches, accuracy against eps;
- ``Normalized``: a classifier trained on standardised inputs, seen from pixel space;
- ``plots``: accuracy against eps, and original and perturbed digits with predictions.

The ``handgrad attack`` command is ``handgrad.commands.attack``.

    import handgrad as hg
    x_adv = hg.attacks.fgsm(model.eval(), images, labels, eps=0.1)
"""

from .gradient import ATTACKS, Normalized, attack, fgsm, input_gradient, pgd, robust_accuracy

__all__ = ["ATTACKS", "Normalized", "attack", "fgsm", "input_gradient", "pgd", "robust_accuracy"]
