"""Data loading with ``torch.utils.data``'s names: datasets, samplers, the DataLoader, image
transforms, datasets read from local files, and ``epoch_coverage`` (what sampling with
replacement leaves out of an epoch).

    import handgrad as hg
    from handgrad.data import DataLoader, datasets
    train = DataLoader(datasets.mnist5k("train"), batch_size=64, shuffle=True,
                       generator=hg.Generator(0))
    for images, labels in train:  # float32 (64, 1, 28, 28), int64 (64,)
        ...
"""

from . import datasets, transforms
from .coverage import CoverageResult, epoch_coverage
from .dataloader import DataLoader, default_collate, default_convert
from .dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .worker import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "CoverageResult",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "datasets",
    "default_collate",
    "default_convert",
    "epoch_coverage",
    "random_split",
    "transforms",
    "WorkerInfo",
    "get_worker_info",
]
