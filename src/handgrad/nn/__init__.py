"""``handgrad.nn``: what a PyTorch user expects under ``torch.nn``."""

from . import functional  # noqa: F401
from .module import Module, Parameter  # noqa: F401
from .container import (  # noqa: F401
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from . import init, utils  # noqa: F401,E402
from .activation import *  # noqa: F401,F403,E402
from .dropout import Dropout, Dropout1d, Dropout2d  # noqa: F401,E402
from .flatten import Flatten, Unflatten  # noqa: F401,E402
from .linear import Bilinear, Identity, LazyLinear, Linear, NormalizedLinear  # noqa: F401,E402
from .loss import *  # noqa: F401,F403,E402
from .normalization import (  # noqa: F401,E402
    BatchNorm1d,
    BatchNorm2d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    LayerNorm,
    LocalResponseNorm,
    RMSNorm,
)
from .distance import CosineSimilarity, PairwiseDistance  # noqa: F401,E402
from .pixelshuffle import PixelShuffle, PixelUnshuffle  # noqa: F401,E402
from .sparse import Embedding, EmbeddingBag  # noqa: F401,E402
from .conv import (  # noqa: F401,E402
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
)
from .pooling import *  # noqa: F401,F403,E402
from .upsampling import *  # noqa: F401,F403,E402
from .fold import Fold, Unfold  # noqa: F401,E402
from .rnn import *  # noqa: F401,F403,E402
from .attention import MultiheadAttention  # noqa: F401,E402
from .transformer import *  # noqa: F401,F403,E402
from .padding import *  # noqa: F401,F403,E402
from .channelshuffle import ChannelShuffle  # noqa: F401,E402
from . import parallel  # noqa: F401,E402
from .parallel import DataParallel  # noqa: F401,E402
