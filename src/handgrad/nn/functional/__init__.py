"""``handgrad.nn.functional`` (import as ``F``): activations, losses and layers as functions, with
PyTorch's names, signatures and defaults. Most are compositions of primitives, so their gradients
(and second derivatives) come from the primitives' hand-derived rules.

One module per kind, as torch's documentation groups them: ``activation``, ``loss``, ``conv``,
``pooling``, ``normalization``, ``distance``, ``dropout``, ``linear``, ``sparse`` (embedding,
one_hot), ``attention`` and ``vision`` (padding, resampling, pixel shuffles, grid sampling).
This package imports only the engine (``handgrad.ops``, ``handgrad.composed``, the Tensor): the
layers in ``handgrad.nn`` import it, never the reverse. (``F.dropout`` and ``F.linear`` are the
functions;
their modules are ``handgrad.nn.functional.dropout``/``.linear`` in ``sys.modules``.)
"""

from .activation import (
    celu,
    elu,
    gelu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softshrink,
    softsign,
    tanh,
    tanhshrink,
    threshold,
)
from .attention import scaled_dot_product_attention
from .conv import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    fold,
    unfold,
)
from .distance import cosine_similarity, pairwise_distance
from .dropout import dropout, dropout1d, dropout2d
from .linear import bilinear, linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    cross_entropy,
    gaussian_nll_loss,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    mse_loss,
    nll_loss,
    poisson_nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from .normalization import (
    batch_norm,
    group_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
    normalize,
    rms_norm,
)
from .pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    lp_pool1d,
    lp_pool2d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool2d,
)
from .sparse import embedding, one_hot
from .vision import (
    affine_grid,
    channel_shuffle,
    grid_sample,
    interpolate,
    pad,
    pixel_shuffle,
    pixel_unshuffle,
    translate,
)

__all__ = [
    "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "gelu", "silu", "elu", "logsigmoid",
    "softmax", "log_softmax", "pad", "linear", "dropout", "one_hot", "nll_loss", "cross_entropy",
    "mse_loss", "l1_loss", "binary_cross_entropy_with_logits", "binary_cross_entropy", "kl_div",
    "hardtanh", "relu6", "selu", "celu", "softsign", "hardsigmoid", "hardswish", "mish", "softmin",
    "tanhshrink", "softshrink", "hardshrink", "threshold", "glu", "prelu", "normalize",
    "cosine_similarity", "pairwise_distance", "group_norm", "instance_norm", "smooth_l1_loss",
    "huber_loss", "pixel_shuffle", "pixel_unshuffle", "batch_norm", "layer_norm", "embedding",
    "rms_norm", "bilinear", "dropout1d", "dropout2d", "soft_margin_loss", "margin_ranking_loss",
    "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss",
    "gaussian_nll_loss", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d",
    "max_pool2d", "avg_pool1d", "avg_pool2d", "lp_pool1d", "lp_pool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "interpolate",
    "translate", "unfold", "fold", "scaled_dot_product_attention", "affine_grid", "grid_sample",
    "channel_shuffle", "local_response_norm", "max_unpool2d", "conv3d", "conv_transpose3d",
    "max_pool3d", "avg_pool3d",
]
