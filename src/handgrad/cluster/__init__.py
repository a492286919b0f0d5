"""``handgrad.cluster``: k-means, in batch and online.

- ``inertia``: the objective J = sum_i min_k ||x_i - y_k||^2;
- ``KMeans``: Lloyd's algorithm with k-means++ seeding;
- ``OnlineKMeans``: SGD with one example per step and the per-centre rate 1/n_k, a constant rate
  for comparison, and mini-batches (``batch_size``);
- ``kmeans_plusplus``: the seeding on its own;
- ``plots.plot_movement``: how far the centres move over each pass.

The estimators follow scikit-learn (``fit``, ``partial_fit``, ``predict``, ``transform``,
``score``, ``cluster_centers_``, ``labels_``, ``inertia_``) and take NumPy arrays or tensors.

    import handgrad as hg
    km = hg.cluster.KMeans(10, random_state=0).fit(x)
    km.inertia_, km.predict(x_new)
"""

from .kmeans import KMeans, inertia, kmeans_plusplus
from .online import OnlineKMeans

__all__ = ["KMeans", "OnlineKMeans", "inertia", "kmeans_plusplus"]
