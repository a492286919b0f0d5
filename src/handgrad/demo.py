"""``make demo``: the main job. For now, softmax regression on scikit-learn's bundled 8x8 digits,
trained with the engine alone (hand-written SGD with momentum)."""

from __future__ import annotations

import time

import numpy as np

import handgrad as hg
import handgrad.nn.functional as F


def main() -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    train, test = order[:1500], order[1500:]
    hg.manual_seed(0)
    w = hg.zeros(10, 64, requires_grad=True)
    b = hg.zeros(10, requires_grad=True)
    velocity = [hg.zeros(10, 64), hg.zeros(10)]
    lr, mu, batch = 0.5, 0.9, 64
    start = time.perf_counter()
    for epoch in range(20):
        perm = rng.permutation(train)
        for i in range(0, len(perm), batch):
            idx = perm[i : i + batch]
            loss = F.cross_entropy(F.linear(hg.tensor(x[idx]), w, b), hg.tensor(y[idx]))
            w.grad = b.grad = None
            loss.backward()
            with hg.no_grad():
                for p, v in zip((w, b), velocity):
                    v.mul_(mu).add_(p.grad)  # PyTorch's momentum: v <- mu v + g
                    p.sub_(v, alpha=lr)  # theta <- theta - lr v
    with hg.no_grad():
        pred = F.linear(hg.tensor(x[test]), w, b).argmax(1).numpy()
    acc = float((pred == y[test]).mean())
    print(f"softmax regression on 8x8 digits: test accuracy {acc:.3f} "
          f"({len(test)} test digits, {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
