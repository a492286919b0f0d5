"""``handgrad.calibration``: a trained classifier's posteriors under a change of class priors.

- ``adjust_to_prior``: Bayes' re-weighting p*(y|x) ∝ p(y|x) p*(y) / p(y) when the new priors
  p*(y) are known;
- ``estimate_prior_em``: the EM procedure of Saerens, Latinne and Decaestecker (2002), which
  estimates unknown new priors from the classifier's outputs on unlabeled data and re-weights;
- ``plots.plot_priors``: the training, true and estimated priors side by side.

    import handgrad as hg
    result = hg.calibration.estimate_prior_em(probs, train_prior)
    result.prior, result.probs.argmax(1)
"""

from .prior_shift import PriorShiftResult, adjust_to_prior, estimate_prior_em, prior_log_likelihood

__all__ = ["PriorShiftResult", "adjust_to_prior", "estimate_prior_em", "prior_log_likelihood"]
