"""A sentence classifier as PyTorch tutorials write it for variable-length text: nn.Embedding
with padding_idx=0, pack_padded_sequence(enforce_sorted=False) on unsorted lengths, a
bidirectional 2-layer LSTM on the PackedSequence, the final hidden states of both directions of
the top layer concatenated (each sequence's own last step forward, its first step backward), a
linear head and a few Adam steps; then pad_packed_sequence of the outputs. Weights come from a
NumPy generator (the libraries' initialisers draw differently)."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

TOLERANCE = {"losses": (1e-4, 1e-5), "logits": (1e-3, 1e-4), "padded_outputs": (1e-3, 1e-4)}

VOCAB, EMB, HIDDEN, LEN, CLASSES, PAD = 30, 8, 12, 9, 4, 0


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, EMB, padding_idx=PAD)
        self.lstm = nn.LSTM(EMB, HIDDEN, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(2 * HIDDEN, CLASSES)

    def forward(self, tokens, lengths):
        packed = pack_padded_sequence(
            self.embed(tokens), lengths, batch_first=True, enforce_sorted=False
        )
        out, (h_n, c_n) = self.lstm(packed)
        final = torch.cat([h_n[-2], h_n[-1]], dim=1)  # the top layer, forward and backward
        return self.head(final), out


def batch(rng, n):
    lengths = rng.integers(1, LEN + 1, n)
    tokens = np.zeros((n, LEN), np.int64)
    for i, length in enumerate(lengths):
        tokens[i, :length] = rng.integers(1, VOCAB, length)
    return torch.tensor(tokens), torch.tensor(lengths), torch.tensor(rng.integers(0, CLASSES, n))


def main():
    model = Classifier()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.normal(0, 0.3, tuple(p.shape)), dtype=torch.float32))
        model.embed.weight[PAD].zero_()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        tokens, lengths, labels = batch(rng, 6)
        logits, _ = model(tokens, lengths)
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    tokens, lengths, _ = batch(rng, 4)
    with torch.no_grad():
        logits, out = model(tokens, lengths)
        padded, out_lengths = pad_packed_sequence(out, batch_first=True)
    return {
        "losses": losses,
        "logits": logits.numpy().tolist(),
        "padded_outputs": padded.numpy().tolist(),
        "lengths": out_lengths.tolist(),
        "batch_sizes": out.batch_sizes.tolist(),
        "embedding_pad_row": float(model.embed.weight[PAD].abs().sum()),
    }
