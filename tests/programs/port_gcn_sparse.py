"""A two-layer graph convolutional network (Kipf & Welling) on a sparse normalised adjacency:
torch.sparse_coo_tensor, torch.sparse.mm, Adam with weight decay, full-batch training on a
stochastic block model graph. Weights start from a NumPy generator, so both libraries follow
the same trajectory."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

TOLERANCE = {"train_accuracy": (0, 0.02), "test_accuracy": (0, 0.02), "adjacency_nnz": (0, 0)}


def make_graph(n=300, classes=3, features=16, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    same = labels[:, None] == labels[None, :]
    upper = np.triu(rng.random((n, n)) < np.where(same, 0.04, 0.004), 1)
    adj = upper | upper.T
    centres = rng.standard_normal((classes, features))
    x = rng.standard_normal((n, features)) + 0.6 * centres[labels]
    return adj, x.astype(np.float32), labels


def normalized_adjacency(adj):
    """D^-1/2 (A + I) D^-1/2 as a sparse COO tensor."""
    a = adj | np.eye(len(adj), dtype=bool)
    rows, cols = np.nonzero(a)
    deg = a.sum(1)
    values = 1.0 / np.sqrt(deg[rows] * deg[cols])
    indices = torch.tensor(np.stack([rows, cols]), dtype=torch.long)
    return torch.sparse_coo_tensor(
        indices, torch.tensor(values, dtype=torch.float32), (len(adj), len(adj))
    )


class GraphConvolution(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x, adj):
        return torch.sparse.mm(adj, torch.mm(x, self.weight)) + self.bias


class GCN(nn.Module):
    def __init__(self, nfeat, nhid, nclass):
        super().__init__()
        self.gc1 = GraphConvolution(nfeat, nhid)
        self.gc2 = GraphConvolution(nhid, nclass)

    def forward(self, x, adj):
        x = F.relu(self.gc1(x, adj))
        return F.log_softmax(self.gc2(x, adj), dim=1)


def main():
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    adj, features, labels = make_graph()
    adj_t = normalized_adjacency(adj).to(device)
    x = torch.tensor(features).to(device)
    y = torch.tensor(labels, dtype=torch.long, device=device)
    train, test = torch.arange(0, 180), torch.arange(180, 300)
    model = GCN(16, 32, 3).to(device)
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, tuple(p.shape)), dtype=torch.float32))
    optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    losses = []
    for epoch in range(100):
        model.train()
        optimizer.zero_grad()
        output = model(x, adj_t)
        loss = F.nll_loss(output[train], y[train])
        loss.backward()
        optimizer.step()
        if epoch % 20 == 0 or epoch == 99:
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        pred = model(x, adj_t).argmax(dim=1)
    return {
        "losses": losses,
        "train_accuracy": (pred[train] == y[train]).float().mean().item(),
        "test_accuracy": (pred[test] == y[test]).float().mean().item(),
        "adjacency_nnz": float(adj_t._nnz()),
    }
