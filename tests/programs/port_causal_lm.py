"""A minimal GPT as tutorials write it: token and position embeddings, pre-norm blocks whose
attention calls F.scaled_dot_product_attention(is_causal=True) on (B, heads, T, d) views made by
view/transpose, a GELU MLP, the output head tied to the embedding (``lm_head.weight =
tok.weight``), Adam with a cosine schedule and two micro-batches accumulated per step, then
greedy generation under torch.no_grad with torch.cat. Weights come from a NumPy generator."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TOLERANCE = {"losses": (1e-4, 1e-5), "lrs": (1e-9, 1e-12), "generated": (0, 0)}

VOCAB, D, HEADS, CTX = 12, 16, 2, 8


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.qkv = nn.Linear(D, 3 * D)
        self.proj = nn.Linear(D, D)
        self.mlp = nn.Sequential(nn.Linear(D, 4 * D), nn.GELU(), nn.Linear(4 * D, D))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=2)
        q, k, v = (z.view(b, t, HEADS, c // HEADS).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, D)
        self.pos = nn.Embedding(CTX, D)
        self.blocks = nn.ModuleList([Block(), Block()])
        self.ln = nn.LayerNorm(D)
        self.lm_head = nn.Linear(D, VOCAB, bias=False)
        self.lm_head.weight = self.tok.weight  # weight tying

    def forward(self, idx, targets=None):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(t))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln(x))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))


def main():
    model = GPT()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.normal(0, 0.2, tuple(p.shape)), dtype=torch.float32))
    assert len(list(model.parameters())) == 2 + 2 * 12 + 2  # the tied weight counted once
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)
    data = torch.tensor(np.tile(np.arange(VOCAB), 8))  # a periodic sequence to learn
    losses, lrs = [], []
    for step in range(5):
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for micro in range(2):
            starts = rng.integers(0, len(data) - CTX - 1, 4)
            x = torch.stack([data[s : s + CTX] for s in starts])
            y = torch.stack([data[s + 1 : s + 1 + CTX] for s in starts])
            _, loss = model(x, y)
            (loss / 2).backward()
            total += loss.item() / 2
        opt.step()
        sched.step()
        losses.append(total)
        lrs.append(sched.get_last_lr()[0])
    model.eval()
    idx = torch.tensor([[0, 1]])
    with torch.no_grad():
        for _ in range(4):
            logits, _ = model(idx[:, -CTX:])
            nxt = logits[:, -1, :].argmax(dim=-1, keepdim=True)
            idx = torch.cat((idx, nxt), dim=1)
    assert math.isfinite(losses[-1])
    return {"losses": losses, "lrs": lrs, "generated": idx[0].tolist()}
