"""A character-level language model as the classic char-RNN tutorials write it: a vocabulary
from ``sorted(set(text))``, ``nn.Embedding`` + a 2-layer ``nn.LSTM(batch_first=True,
dropout=0)`` + ``nn.Linear``, truncated backpropagation through time with the hidden state
carried across batches and cut by ``tuple(h.detach() for h in hidden)``, ``clip_grad_norm_``,
a ``StepLR``, perplexity by ``math.exp``, then generation with ``torch.multinomial`` over
``softmax(logits / temperature)`` (the draws compared through their shape and range, the
greedy continuation exactly)."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TOLERANCE = {"losses": (1e-4, 1e-5), "greedy": (0, 0)}
TEXT = (
    "the quick brown fox jumps over the lazy dog. "
    "pack my box with five dozen liquor jugs. "
    "how vexingly quick daft zebras jump! "
) * 3


class CharRNN(nn.Module):
    def __init__(self, vocab, hidden=24):
        super().__init__()
        self.embed = nn.Embedding(vocab, 12)
        self.lstm = nn.LSTM(12, hidden, num_layers=2, batch_first=True, dropout=0.0)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, hidden=None):
        out, hidden = self.lstm(self.embed(x), hidden)
        return self.head(out), hidden

    def init_hidden(self, batch):
        shape = (self.lstm.num_layers, batch, self.lstm.hidden_size)
        return torch.zeros(shape), torch.zeros(shape)


def main():
    torch.set_num_threads(1)
    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in TEXT], dtype=torch.long)
    batch, seq = 4, 10
    usable = (len(data) - 1) // (batch * seq) * batch * seq
    inputs = data[:usable].view(batch, -1)
    targets = data[1 : usable + 1].view(batch, -1)

    model = CharRNN(len(chars))
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.copy_(torch.tensor(rng.uniform(-0.2, 0.2, tuple(p.shape)).astype(np.float32)))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.8)
    losses, perplexities = [], []
    for epoch in range(2):
        hidden = model.init_hidden(batch)
        total = 0.0
        for start in range(0, inputs.size(1), seq):
            x = inputs[:, start : start + seq]
            y = targets[:, start : start + seq]
            hidden = tuple(h.detach() for h in hidden)
            logits, hidden = model(x, hidden)
            loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            losses.append(loss.item())
            total += loss.item()
        perplexities.append(math.exp(total / (inputs.size(1) // seq)))
        scheduler.step()

    model.eval()
    with torch.no_grad():
        prompt = torch.tensor([[stoi[c] for c in "the "]])
        logits, hidden = model(prompt)
        greedy = []
        token = logits[:, -1].argmax(-1, keepdim=True)
        for _ in range(12):
            greedy.append(int(token))
            logits, hidden = model(token, hidden)
            token = logits[:, -1].argmax(-1, keepdim=True)
        probs = F.softmax(logits[:, -1] / 0.8, dim=-1)
        sampled = torch.multinomial(probs, num_samples=5, replacement=True)
    return {
        "vocab": len(chars),
        "losses": losses,
        "perplexities": perplexities,
        "greedy": greedy,
        "greedy_text": "".join(chars[i] for i in greedy),
        "sampled_shape": str(tuple(sampled.shape)),
        "sampled_in_range": bool(((sampled >= 0) & (sampled < len(chars))).all()),
        "hidden_shapes": str([tuple(h.shape) for h in hidden]),
    }
