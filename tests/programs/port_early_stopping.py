"""A classification training loop as course notebooks write it: ``random_split`` with a seeded
``torch.Generator`` (sizes compared; the split itself comes from each library's generator, so the
training split is fixed by NumPy), a ``WeightedRandomSampler`` balancing an imbalanced training
set (its draws compared through class frequencies), a custom ``collate_fn`` building a dict with
``default_collate``, BatchNorm and an Adam loop with validation after every epoch, early stopping
that keeps ``copy.deepcopy(model.state_dict())`` of the best epoch and restores it, and metrics
without torchmetrics: a confusion matrix by ``torch.bincount``, per-class recall, top-2 accuracy
by ``topk``."""

import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import (
    DataLoader,
    Dataset,
    Subset,
    WeightedRandomSampler,
    default_collate,
    random_split,
)

TOLERANCE = {"balanced_fraction": (0, 0.08), "sampled_count": (0, 0)}
CLASSES = 3


class Blobs(Dataset):
    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        self.y = rng.choice(CLASSES, size=n, p=[0.6, 0.3, 0.1])
        centres = np.array([[0, 0], [2, 1], [-1, 2]], np.float32)
        self.x = (centres[self.y] + rng.standard_normal((n, 2)) * 0.8).astype(np.float32)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return torch.tensor(self.x[i]), int(self.y[i])


def collate(batch):
    features, labels = default_collate(batch)
    return {"features": features, "labels": labels, "count": len(batch)}


def init_from_numpy(module, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for _, p in sorted(module.named_parameters()):
            p.copy_(torch.tensor(rng.uniform(-scale, scale, tuple(p.shape)).astype(np.float32)))


def evaluate(model, loader):
    model.eval()
    total, correct, top2, loss_sum = 0, 0, 0, 0.0
    confusion = torch.zeros(CLASSES, CLASSES, dtype=torch.long)
    with torch.no_grad():
        for batch in loader:
            logits = model(batch["features"])
            y = batch["labels"]
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            pred = logits.argmax(dim=1)
            correct += (pred == y).sum().item()
            top2 += (logits.topk(2, dim=1).indices == y.unsqueeze(1)).any(dim=1).sum().item()
            total += batch["count"]
            confusion += torch.bincount(y * CLASSES + pred, minlength=CLASSES**2).view(
                CLASSES, CLASSES
            )
    model.train()
    return loss_sum / total, correct / total, top2 / total, confusion


def main():
    torch.set_num_threads(1)
    full = Blobs(240, 0)
    generator = torch.Generator().manual_seed(42)
    train_part, val_part, test_part = random_split(full, [0.6, 0.2, 0.2], generator=generator)
    split_sizes = [len(train_part), len(val_part), len(test_part)]
    order = np.random.default_rng(1).permutation(len(full))
    train_set = Subset(full, order[:144].tolist())
    val_set = Subset(full, order[144:192].tolist())

    train_labels = torch.tensor([full.y[i] for i in train_set.indices])
    class_counts = torch.bincount(train_labels, minlength=CLASSES)
    weights = (1.0 / class_counts.float())[train_labels]
    sampler = WeightedRandomSampler(weights, num_samples=600, replacement=True)
    drawn = torch.tensor([int(train_labels[i]) for i in sampler])
    balanced_fraction = (torch.bincount(drawn, minlength=CLASSES).float() / len(drawn)).tolist()

    train_loader = DataLoader(train_set, batch_size=16, shuffle=False, collate_fn=collate)
    val_loader = DataLoader(val_set, batch_size=32, collate_fn=collate)
    # no bias before BatchNorm, as is usual: its exact gradient is 0, and Adam would turn the
    # rounding noise each library leaves there into steps of size lr
    model = nn.Sequential(
        nn.Linear(2, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, CLASSES)
    )
    init_from_numpy(model, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    criterion = nn.CrossEntropyLoss(weight=class_counts.sum() / (CLASSES * class_counts.float()))
    best_loss, best_state, best_epoch, patience, bad = float("inf"), None, -1, 2, 0
    history = []
    for epoch in range(12):
        for batch in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(batch["features"]), batch["labels"])
            loss.backward()
            optimizer.step()
        val_loss, val_acc, _, _ = evaluate(model, val_loader)
        history.append([loss.item(), val_loss, val_acc])
        if val_loss < best_loss - 1e-4:
            best_loss, best_epoch, bad = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad += 1
            if bad >= patience:
                break
    last_weight = model[0].weight.detach().clone()
    model.load_state_dict(best_state)
    restored_differs = float((model[0].weight - last_weight).abs().max()) > 0 or best_epoch == epoch
    val_loss, val_acc, val_top2, confusion = evaluate(model, val_loader)
    recall = (confusion.diag().float() / confusion.sum(1).clamp(min=1).float()).tolist()
    return {
        "split_sizes": split_sizes,
        "class_counts": class_counts.tolist(),
        "sampled_count": len(drawn),
        "balanced_fraction": balanced_fraction,
        "history": history,
        "stopped_epoch": epoch,
        "best_epoch": best_epoch,
        "restored_differs": restored_differs,
        "best_val_loss": val_loss,
        "val_accuracy": val_acc,
        "val_top2": val_top2,
        "confusion": confusion.tolist(),
        "recall": recall,
        "running_var": model[1].running_var.tolist(),
        "batches_tracked": int(model[1].num_batches_tracked),
    }
