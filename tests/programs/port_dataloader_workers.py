"""A DataLoader with two worker processes over a dataset whose samples cost Python work (a
transform pipeline per sample), and an IterableDataset that splits its stream between the
workers with get_worker_info(): the batches, their order, which worker loaded each, the
worker_init_fn calls and persistent workers across epochs."""

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info


class Jittered(Dataset):
    """Sample i: a 16 x 16 image made from i, blurred and normalised in NumPy (deterministic)."""

    def __init__(self, n):
        self.n = n
        self.offset = 0  # set in each worker by init_worker

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        rng = np.random.default_rng(i)
        img = rng.random((16, 16)).astype(np.float32)
        for _ in range(3):
            img = (img + np.roll(img, 1, 0) + np.roll(img, 1, 1)) / 3
        img = (img - img.mean()) / (img.std() + 1e-6)
        info = get_worker_info()
        return torch.from_numpy(img).unsqueeze(0), i % 10, info.id if info else -1, self.offset


class Ranges(IterableDataset):
    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.start, self.end))
        per_worker = -(-(self.end - self.start) // info.num_workers)
        lo = self.start + info.id * per_worker
        return iter(range(lo, min(lo + per_worker, self.end)))


def init_worker(worker_id):
    get_worker_info().dataset.offset = 100 * (worker_id + 1)


def main():
    torch.manual_seed(0)
    loader = DataLoader(
        Jittered(100),
        batch_size=8,
        num_workers=2,
        worker_init_fn=init_worker,
        persistent_workers=True,
    )
    sums, workers, labels, offsets = [], [], [], []
    for epoch in range(2):
        for img, label, worker, offset in loader:
            sums.append(img.abs().sum().item())
            labels.append(float(label.sum()))
            workers.append(float(worker[0]))
            offsets.append(float(offset[0]))
    stream = DataLoader(Ranges(3, 20), batch_size=4, num_workers=2)
    streamed = [float(v) for batch in stream for v in batch.tolist()]
    one_process = [x for x in DataLoader(Ranges(3, 20), batch_size=4)]
    return {
        "batches": float(len(sums)),
        "sums": sums,
        "labels": labels,
        "workers": workers,
        "offsets_from_worker_init_fn": offsets,
        "streamed": streamed,
        "stream_batches": float(len(one_process)),
        "main_process_has_no_worker_info": float(get_worker_info() is None),
    }
