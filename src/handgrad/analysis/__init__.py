"""``handgrad.analysis``: the arithmetic of networks, computed and checked.

- ``shapes``: output sizes of convolutions, transposed convolutions and pooling;
- ``receptive``: receptive field, jump and start of every layer, and the exact input support of a
  unit;
- ``summary``: a per-layer table (shapes, parameters, multiply-adds, receptive fields);
- ``equivariance``: how far a function is from commuting with sub-pixel translations.
"""

from .activations import LayerStats, activation_stats, format_stats  # noqa: F401
from .equivariance import EquivarianceReport, equivariance  # noqa: F401
from .receptive import LayerRF, ReceptiveField, layers_of, receptive_field  # noqa: F401
from .shapes import (  # noqa: F401
    conv_output_size,
    conv_transpose_output_size,
    pool_output_size,
)
from .summary import Summary, SummaryRow, summary  # noqa: F401
