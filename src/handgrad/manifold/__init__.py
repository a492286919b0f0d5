"""``handgrad.manifold``: t-SNE and symmetric SNE, exact, with hand-derived gradients.

- ``TSNE``: the estimator (``fit_transform``, ``embedding_``, ``kl_divergence_``), Student-t
  output kernel, or ``kernel='gaussian'`` for symmetric SNE;
- ``joint_probabilities``, ``conditional_probabilities``: input affinities calibrated to a
  perplexity by bisection, vectorised over points;
- ``tsne_kl``, ``sne_kl``: the costs KL(P || Q) as handgrad expressions of a tensor Y, so the
  engine's autodiff can check the hand-derived ``tsne_grad`` and ``symmetric_sne_grad``;
- ``plot_embedding``: a scatter plot PNG coloured by label.

    import handgrad as hg
    y = hg.manifold.TSNE(perplexity=30, random_state=0).fit_transform(x)
    hg.manifold.plot_embedding(y, labels, "tsne.png")
"""

from .affinities import conditional_probabilities, joint_probabilities
from .costs import sne_kl, symmetric_sne_grad, tsne_grad, tsne_kl
from .plots import plot_embedding
from .tsne import TSNE

__all__ = [
    "TSNE",
    "conditional_probabilities",
    "joint_probabilities",
    "plot_embedding",
    "sne_kl",
    "symmetric_sne_grad",
    "tsne_grad",
    "tsne_kl",
]
