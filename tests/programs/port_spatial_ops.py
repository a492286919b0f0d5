"""Tensor plumbing of vision and NLP code: ``nn.Embedding.from_pretrained(freeze=True,
padding_idx=...)`` (and ``freeze=False`` fine-tuned), ``F.one_hot``, ``F.pad`` in every mode
(constant, reflect, replicate, circular) on 3-d and 4-d inputs, ``F.interpolate`` (nearest,
bilinear with and without align_corners, scale_factor), a spatial transformer (``F.affine_grid``
+ ``F.grid_sample`` with a learned affine matrix), ``nn.PixelShuffle`` / ``F.pixel_unshuffle``
in a sub-pixel upsampler, all trained a few steps so their gradients are compared too."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TOLERANCE = {"stn_losses": (1e-4, 1e-5), "upsampler_losses": (1e-4, 1e-5)}


def init_from_numpy(module, seed, scale=0.3):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for _, p in sorted(module.named_parameters()):
            p.copy_(torch.tensor(rng.uniform(-scale, scale, tuple(p.shape)).astype(np.float32)))


class STN(nn.Module):
    def __init__(self):
        super().__init__()
        self.loc = nn.Sequential(nn.Flatten(), nn.Linear(64, 6))
        self.head = nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")

    def forward(self, x):
        theta = self.loc(x).view(-1, 2, 3) * 0.1 + torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
        grid = F.affine_grid(theta, list(x.size()), align_corners=False)
        warped = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        return self.head(warped).mean((2, 3)), theta


class Upsampler(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1, padding_mode="replicate")
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x):
        return self.shuffle(self.conv(x))


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)

    vectors = torch.tensor(rng.standard_normal((6, 4)).astype(np.float32))
    frozen = nn.Embedding.from_pretrained(vectors, freeze=True, padding_idx=0)
    tuned = nn.Embedding.from_pretrained(vectors.clone(), freeze=False)
    tokens = torch.tensor([[1, 2, 0], [5, 0, 3]])
    bag = tuned(tokens).sum() + frozen(tokens).pow(2).sum()
    bag.backward()
    one_hot = F.one_hot(tokens, num_classes=6)
    one_hot_auto = F.one_hot(torch.tensor([0, 3, 1]))

    x3 = torch.tensor(rng.standard_normal((1, 2, 5)).astype(np.float32))
    x4 = torch.tensor(rng.standard_normal((1, 1, 4, 4)).astype(np.float32), requires_grad=True)
    pads = {}
    for mode in ("constant", "reflect", "replicate", "circular"):
        kw = {"value": -1.0} if mode == "constant" else {}
        p3 = F.pad(x3, (2, 1), mode=mode, **kw)
        p4 = F.pad(x4, (1, 2, 2, 1), mode=mode, **kw)
        (p4 * torch.arange(p4.numel()).view_as(p4)).sum().backward()
        pads[f"pad_{mode}_3d"] = p3.flatten().tolist()
        pads[f"pad_{mode}_4d"] = p4.flatten().tolist()
        pads[f"pad_{mode}_grad"] = x4.grad.flatten().tolist()
        x4.grad = None
    interp = {
        "nearest": F.interpolate(x4, scale_factor=2, mode="nearest"),
        "bilinear": F.interpolate(x4, size=(6, 7), mode="bilinear", align_corners=False),
        "bilinear_ac": F.interpolate(x4, size=(6, 7), mode="bilinear", align_corners=True),
        "linear": F.interpolate(x3, scale_factor=1.5, mode="linear"),
    }
    interp_out = {f"interpolate_{k}": v.detach().flatten().tolist() for k, v in interp.items()}

    stn = STN()
    init_from_numpy(stn, 1)
    optimizer = torch.optim.SGD(stn.parameters(), lr=0.1, momentum=0.9)
    images = torch.tensor(rng.standard_normal((4, 1, 8, 8)).astype(np.float32))
    labels = torch.tensor([0, 1, 1, 0])
    stn_losses = []
    for _ in range(5):
        logits, theta = stn(images)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        stn_losses.append(loss.item())

    up = Upsampler()
    init_from_numpy(up, 2)
    optimizer = torch.optim.Adam(up.parameters(), lr=0.01)
    low = torch.tensor(rng.random((2, 1, 4, 4)).astype(np.float32))
    high = F.interpolate(low, scale_factor=2, mode="bicubic", align_corners=False)
    upsampler_losses = []
    for _ in range(5):
        loss = F.l1_loss(up(low), high)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        upsampler_losses.append(loss.item())
    unshuffled = F.pixel_unshuffle(up(low), 2)
    return {
        **pads,
        **interp_out,
        "frozen_requires_grad": frozen.weight.requires_grad,
        "tuned_grad": tuned.weight.grad.tolist(),
        "padding_row": frozen(torch.tensor([0])).tolist(),
        "one_hot": one_hot.tolist(),
        "one_hot_dtype": str(one_hot.dtype).split(".")[-1],
        "one_hot_auto": one_hot_auto.tolist(),
        "stn_losses": stn_losses,
        "theta": theta.detach().flatten().tolist(),
        "upsampler_losses": upsampler_losses,
        "unshuffled_shape": str(tuple(unshuffled.shape)),
        "bicubic": high.flatten()[:16].tolist(),
    }
