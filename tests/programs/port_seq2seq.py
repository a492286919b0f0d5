"""Sequence-to-sequence two ways, as tutorials write them: an encoder GRU and a decoder
``GRUCell`` / ``LSTMCell`` unrolled by hand with teacher forcing (the decoder input the true
previous token on some steps, its own argmax on others), and an ``nn.Transformer`` (batch_first,
dropout 0) fed ``tgt_mask = nn.Transformer.generate_square_subsequent_mask(T)``,
``src_key_padding_mask``, ``tgt_key_padding_mask`` and ``memory_key_padding_mask``, trained
with ``CrossEntropyLoss(ignore_index=PAD)``, then greedy decoding under ``torch.no_grad``.
Weights come from a NumPy generator (the libraries' initialisers draw differently)."""

import numpy as np
import torch
import torch.nn as nn

TOLERANCE = {
    "rnn_losses": (1e-4, 1e-5),
    "transformer_losses": (1e-4, 1e-5),
    "greedy": (0, 0),
    "mask": (0, 0),
}
VOCAB, D, PAD, BOS = 12, 16, 0, 1


def init_from_numpy(module, seed, scale=0.3):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for _, p in sorted(module.named_parameters()):
            p.copy_(torch.tensor(rng.uniform(-scale, scale, tuple(p.shape)).astype(np.float32)))


class Seq2Seq(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D, padding_idx=PAD)
        self.encoder = nn.GRU(D, D, batch_first=True)
        self.cell_type = cell
        self.cell = nn.GRUCell(D, D) if cell == "gru" else nn.LSTMCell(D, D)
        self.out = nn.Linear(D, VOCAB)

    def forward(self, src, tgt, teacher):
        _, h = self.encoder(self.embed(src))
        h = h[0]
        c = torch.zeros_like(h)
        token = torch.full((src.size(0),), BOS, dtype=torch.long)
        logits = []
        for t in range(tgt.size(1)):
            x = self.embed(token)
            if self.cell_type == "gru":
                h = self.cell(x, h)
            else:
                h, c = self.cell(x, (h, c))
            step = self.out(h)
            logits.append(step)
            token = tgt[:, t] if teacher[t] else step.argmax(-1)
        return torch.stack(logits, dim=1)


class TinyTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D)
        self.pos = nn.Parameter(torch.zeros(1, 8, D))
        self.transformer = nn.Transformer(
            d_model=D,
            nhead=2,
            num_encoder_layers=1,
            num_decoder_layers=1,
            dim_feedforward=32,
            dropout=0.0,
            batch_first=True,
        )
        self.out = nn.Linear(D, VOCAB)

    def forward(self, src, tgt):
        T = tgt.size(1)
        tgt_mask = nn.Transformer.generate_square_subsequent_mask(T)
        src_pad = src == PAD
        tgt_pad = tgt == PAD
        h = self.transformer(
            self.embed(src) + self.pos[:, : src.size(1)],
            self.embed(tgt) + self.pos[:, :T],
            tgt_mask=tgt_mask,
            src_key_padding_mask=src_pad,
            tgt_key_padding_mask=tgt_pad,
            memory_key_padding_mask=src_pad,
        )
        return self.out(h)


def batch(rng):
    src = rng.integers(2, VOCAB, (4, 6))
    src[1, 4:] = PAD
    src[3, 3:] = PAD
    tgt = np.flip(src, 1).copy()  # the task: reverse the sequence
    return torch.tensor(src), torch.tensor(tgt)


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    src, tgt = batch(rng)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)

    rnn_losses = []
    for cell in ("gru", "lstm"):
        model = Seq2Seq(cell)
        init_from_numpy(model, 1)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for step in range(5):
            teacher = [bool((step + t) % 2) for t in range(tgt.size(1))]
            logits = model(src, tgt, teacher)
            loss = criterion(logits.reshape(-1, VOCAB), tgt.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            rnn_losses.append(loss.item())

    model = TinyTransformer()
    init_from_numpy(model, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
    dec_in = torch.cat([torch.full((4, 1), BOS, dtype=torch.long), tgt[:, :-1]], dim=1)
    transformer_losses = []
    for _ in range(6):
        logits = model(src, dec_in)
        loss = criterion(logits.reshape(-1, VOCAB), tgt.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        transformer_losses.append(loss.item())

    model.eval()
    with torch.no_grad():
        out = torch.full((4, 1), BOS, dtype=torch.long)
        for _ in range(5):
            next_token = model(src, out)[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, next_token], dim=1)
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    return {
        "rnn_losses": rnn_losses,
        "transformer_losses": transformer_losses,
        "greedy": out.tolist(),
        "mask": torch.where(torch.isinf(mask), -1.0, mask).tolist(),
        "mask_dtype": str(mask.dtype).split(".")[-1],
    }
