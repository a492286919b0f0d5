"""Hogwild training as in PyTorch's mnist_hogwild example: the model's weights in shared
memory (model.share_memory()), two processes started with the spawn method, each training the
same weights with its own optimizer and data order, without locks. The accuracy of the shared
model after training is compared with a single process doing the same total work.

Data: the first 4,000 real MNIST test digits to train, the last 2,000 to evaluate (skipped when
PORT_DATA has no MNIST)."""

import gzip
import os
from pathlib import Path

# One thread per process: two processes on a small shared machine, as Hogwild setups do.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torch.optim as optim  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

# Hogwild interleaves the two processes' updates differently on every run: accuracies agree
# between the libraries, and between hogwild and one process, to about a percent (the
# program checks |hogwild - single| < 0.03).
TOLERANCE = {
    "accuracy_hogwild": (0, 0.03),
    "accuracy_single": (0, 0.03),
    "hogwild_matches_single": (0, 0),
    "weights_changed_in_parent": (0, 0),
}
SLOW = True


def read_idx(path):
    raw = gzip.decompress(path.read_bytes())
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(x.view(-1, 784)))), dim=1)


def train(rank, model, dataset, epochs, seed):
    torch.manual_seed(seed + rank)
    loader = DataLoader(dataset, batch_size=32, shuffle=True)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            optimizer.step()


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def fresh_model():
    model = Net()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.normal(0, 0.05, tuple(p.shape)), dtype=torch.float32))
    return model


def main():
    mnist = Path(os.environ.get("PORT_DATA", "")) / "mnist"
    if not (mnist / "t10k-images-idx3-ubyte.gz").is_file():
        return {"skipped": f"no MNIST test split in {mnist}"}
    images = read_idx(mnist / "t10k-images-idx3-ubyte.gz").astype(np.float32) / 255
    labels = read_idx(mnist / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    x, y = torch.tensor((images - 0.1307) / 0.3081), torch.tensor(labels)
    train_set = TensorDataset(x[:4000], y[:4000])
    x_test, y_test = x[8000:], y[8000:]

    mp.set_start_method("spawn", force=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = fresh_model().to(device)
    model.share_memory()  # gradients are allocated lazily, so they are not shared here
    before = model.fc1.weight.detach().clone()
    processes = []
    for rank in range(2):
        p = mp.Process(target=train, args=(rank, model, train_set, 1, 1))
        p.start()
        processes.append(p)
    for p in processes:
        p.join()
    exit_codes = [p.exitcode for p in processes]
    changed = float(not torch.equal(before, model.fc1.weight.detach()))
    hogwild = accuracy(model, x_test, y_test)

    single = fresh_model()
    train(0, single, train_set, 2, 1)  # the same number of steps as both processes together
    alone = accuracy(single, x_test, y_test)
    return {
        "exit_codes": [float(c) for c in exit_codes],
        "weights_changed_in_parent": changed,
        "accuracy_hogwild": hogwild,
        "accuracy_single": alone,
        "hogwild_matches_single": float(abs(hogwild - alone) < 0.03),
    }
