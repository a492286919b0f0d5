"""Message passing without a graph library, as GNN tutorials write it: an ``edge_index`` of
(source, target) pairs, messages ``x[src]`` through a Linear layer, aggregated at the targets
with ``Tensor.scatter_reduce`` ("mean" and "amax", ``include_self=False``) and
``index_add_``, degrees by ``torch.bincount``; a two-layer network (mean and max aggregators
concatenated, GraphSAGE style) trained for node classification with Adam."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

N, FEATURES, CLASSES = 30, 6, 3


def graph(seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, N)
    edges = []
    for i in range(N):
        for j in range(N):
            p = 0.25 if labels[i] == labels[j] else 0.03
            if i != j and rng.random() < p:
                edges.append((i, j))
    x = (rng.standard_normal((N, FEATURES)) + labels[:, None] * 0.5).astype(np.float32)
    return torch.tensor(x), torch.tensor(np.array(edges).T), torch.tensor(labels)


class SAGELayer(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.message = nn.Linear(d_in, d_out)
        self.update = nn.Linear(d_in + 2 * d_out, d_out)

    def forward(self, x, edge_index):
        src, dst = edge_index
        messages = self.message(x[src])
        index = dst.unsqueeze(1).expand_as(messages)
        zeros = torch.zeros(x.size(0), messages.size(1))
        mean = zeros.scatter_reduce(0, index, messages, reduce="mean", include_self=False)
        peak = zeros.scatter_reduce(0, index, messages, reduce="amax", include_self=False)
        return self.update(torch.cat([x, mean, peak], dim=1))


class SAGE(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = SAGELayer(FEATURES, 16)
        self.layer2 = SAGELayer(16, CLASSES)

    def forward(self, x, edge_index):
        return self.layer2(F.relu(self.layer1(x, edge_index)), edge_index)


def main():
    torch.set_num_threads(1)
    x, edge_index, labels = graph()
    degree = torch.bincount(edge_index[1], minlength=N)
    summed = torch.zeros(N, FEATURES).index_add_(0, edge_index[1], x[edge_index[0]])
    neighbour_mean = summed / degree.clamp(min=1).unsqueeze(1)
    model = SAGE()
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=5e-4)
    train = torch.arange(N) % 3 != 0
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        logits = model(x, edge_index)
        loss = F.cross_entropy(logits[train], labels[train])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        accuracy = (model(x, edge_index).argmax(1)[~train] == labels[~train]).float().mean()
    return {
        "edges": edge_index.size(1),
        "degree": degree.tolist(),
        "neighbour_mean": neighbour_mean[:4].flatten().tolist(),
        "losses": losses,
        "test_accuracy": accuracy.item(),
        "update_grad": model.layer1.update.weight.grad.flatten()[:10].tolist(),
    }
