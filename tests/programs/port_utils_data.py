"""``torch.utils.data`` under its own paths: a ``Dataset`` subclass, ``TensorDataset``,
``Subset``, ``ConcatDataset``, samplers from ``torch.utils.data.sampler``, ``DataLoader`` with a
custom ``collate_fn``, and ``random_split``'s sizes (its shuffle depends on the generator)."""

import numpy as np
import torch
import torch.utils.data
from torch.utils.data import ConcatDataset, DataLoader, Subset, TensorDataset, random_split
from torch.utils.data.dataset import Dataset
from torch.utils.data.sampler import BatchSampler, SequentialSampler


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return torch.tensor([float(i), float(i * i)]), i % 3


def collate_sum(batch):
    xs, ys = zip(*batch)
    return torch.stack(xs).sum(0), torch.tensor(ys)


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    features = torch.tensor(rng.standard_normal((10, 3)).astype(np.float32))
    labels = torch.tensor(rng.integers(0, 2, 10))
    tensors = TensorDataset(features, labels)
    combined = ConcatDataset([Subset(tensors, [9, 0, 4]), Subset(tensors, range(5, 8))])

    batch_sums = []
    for xb, yb in DataLoader(combined, batch_size=4, shuffle=False):
        batch_sums.append(xb.sum().item() + yb.sum().item())

    loader = torch.utils.data.DataLoader(Squares(7), batch_size=3, collate_fn=collate_sum)
    collated = [x.tolist() + y.tolist() for x, y in loader]

    batches = list(BatchSampler(SequentialSampler(range(10)), batch_size=4, drop_last=False))
    sampler_loader = DataLoader(
        tensors,
        batch_sampler=BatchSampler(SequentialSampler(tensors), batch_size=3, drop_last=True),
    )
    drop_last_sizes = [float(len(yb)) for _, yb in sampler_loader]

    train, val = random_split(tensors, [0.7, 0.3], generator=torch.Generator().manual_seed(0))
    covered = sorted(list(train.indices) + list(val.indices))
    return {
        "batch_sums": batch_sums,
        "collated": [v for b in collated for v in b],
        "batch_sampler": [float(i) for b in batches for i in b],
        "drop_last_sizes": drop_last_sizes,
        "split_sizes": [float(len(train)), float(len(val))],
        "split_covers": float(covered == list(range(10))),
        "len": float(len(combined)),
    }
