"""hg.models.autoencoder: problem set 004, question 6 (the reconstruction loss, its hand-derived
gradient checked against the engine, gradient descent and momentum steps against hg.optim.SGD),
the MLP and convolutional autoencoders (gradients against PyTorch on the same weights; they
learn), and errors."""

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

import handgrad as hg
import handgrad.nn.functional as F
from handgrad.exercises.reference import (
    gradient_descent_step,
    momentum_step,
    one_layer_autoencoder,
    one_layer_autoencoder_grad,
)
from handgrad.models.autoencoder import (
    Autoencoder,
    conv_autoencoder,
    fit_autoencoder,
    mlp_autoencoder,
    reconstruct,
    reconstruction_loss,
)

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(1, user_api="blas"):
        yield


def _one_layer(seed=0, n=7, d=6, h=3):
    rng = np.random.default_rng(seed)
    return [
        rng.random((n, d)),
        rng.normal(0, 0.5, (h, d)),
        rng.normal(0, 0.5, h),
        rng.normal(0, 0.5, (d, h)),
        rng.normal(0, 0.5, d),
    ]


def test_reconstruction_loss_is_the_mean_squared_norm():
    rng = np.random.default_rng(0)
    x, xh = rng.random((5, 1, 4, 4)), rng.random((5, 1, 4, 4))
    per = ((x - xh) ** 2).reshape(5, -1).sum(1)
    assert reconstruction_loss(hg.tensor(x), hg.tensor(xh)).item() == pytest.approx(per.mean())
    assert reconstruction_loss(hg.tensor(x), hg.tensor(xh), "sum").item() == pytest.approx(
        per.sum()
    )
    np.testing.assert_allclose(
        reconstruction_loss(hg.tensor(x), hg.tensor(xh), "none").numpy(), per
    )
    # F.mse_loss also divides by the dimension d = 16
    assert reconstruction_loss(hg.tensor(x), hg.tensor(xh)).item() == pytest.approx(
        16 * F.mse_loss(hg.tensor(x), hg.tensor(xh)).item()
    )


@pytest.mark.parametrize("activation", ["sigmoid", "linear"])
def test_hand_derived_gradient_equals_the_engine(activation):
    x, *params = _one_layer()

    def loss(w1, b1, w2, b2):
        return one_layer_autoencoder(hg.tensor(x), w1, b1, w2, b2, activation)

    def formula(g, w1, b1, w2, b2):
        _, grads = one_layer_autoencoder_grad(x, w1, b1, w2, b2, activation)
        return tuple(g * gi for gi in grads)

    report = hg.check_vjp(loss, formula, params)
    assert report, report
    value, _ = one_layer_autoencoder_grad(x, *params, activation=activation)
    assert value == pytest.approx(loss(*(hg.tensor(p) for p in params)).item())


def test_a_wrong_formula_is_caught():
    x, *params = _one_layer()

    def formula(g, w1, b1, w2, b2):  # forgets the sigmoid's derivative
        _, (dw1, db1, dw2, db2) = one_layer_autoencoder_grad(x, w1, b1, w2, b2, "linear")
        return dw1 * g, db1 * g, dw2 * g, db2 * g

    report = hg.check_vjp(lambda *p: one_layer_autoencoder(hg.tensor(x), *p), formula, params)
    assert not report


def test_gradient_descent_and_momentum_steps_are_hg_optim_sgd():
    """Question 6(c, d) by hand, heavy-ball form (v <- mu v - lr g, theta <- theta + v), against
    hg.optim.SGD in PyTorch's form on the engine's gradients: the same iterates."""
    x, *start = _one_layer(seed=1, n=20)
    for mu in (0.0, 0.9):
        params = [hg.tensor(p, requires_grad=True) for p in start]
        opt = hg.optim.SGD(params, lr=0.3, momentum=mu)
        ours, velocity = [p.copy() for p in start], None
        for _ in range(8):
            opt.zero_grad()
            one_layer_autoencoder(hg.tensor(x), *params).backward()
            opt.step()
            _, grads = one_layer_autoencoder_grad(x, *ours)
            if mu == 0:
                ours = gradient_descent_step(ours, grads, 0.3)
            else:
                ours, velocity = momentum_step(ours, grads, velocity, 0.3, mu)
        for a, b in zip(ours, params):
            np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-12, atol=1e-12)
    # and it descends
    before, _ = one_layer_autoencoder_grad(x, *start)
    after, _ = one_layer_autoencoder_grad(x, *ours)
    assert after < before


@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_autoencoder_gradients_match_pytorch(kind):
    hg.manual_seed(0)
    if kind == "mlp":
        ours = mlp_autoencoder(64, (16,), 4).double()
        enc = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)
        )
        dec = torch.nn.Sequential(
            torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 64), torch.nn.Sigmoid()
        )
    else:
        ours = conv_autoencoder(1, (4, 6), input_size=8).double()
        enc = torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3, 2, 1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(4, 6, 3, 2, 1),
            torch.nn.ReLU(),
        )
        dec = torch.nn.Sequential(
            torch.nn.ConvTranspose2d(6, 4, 3, 2, 1, 1),
            torch.nn.ReLU(),
            torch.nn.ConvTranspose2d(4, 1, 3, 2, 1, 1),
            torch.nn.Sigmoid(),
        )
    ref = torch.nn.ModuleDict({"encoder": enc, "decoder": dec}).double()
    ref.load_state_dict(hg.to_torch_state_dict(ours))
    x = np.random.default_rng(0).random((5, 1, 8, 8))
    ours.loss(hg.tensor(x)).backward()
    xt = torch.tensor(x)
    loss = ((xt - ref["decoder"](ref["encoder"](xt)).reshape(xt.shape)) ** 2).sum((1, 2, 3)).mean()
    loss.backward()
    assert ours.loss(hg.tensor(x)).item() == pytest.approx(loss.item(), rel=1e-12)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(),
            dict(ref.named_parameters())[name].grad.numpy(),
            rtol=1e-9,
            atol=1e-12,
            err_msg=name,
        )


@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_autoencoders_learn_with_momentum_sgd(kind):
    from handgrad.data.datasets import digits

    x = digits("train").tensors[0].numpy()[::3]  # 478 of the 8x8 digits
    hg.manual_seed(0)
    model = (
        mlp_autoencoder(64, (32,), 8)
        if kind == "mlp"
        else conv_autoencoder(1, (8, 16), input_size=8)
    )
    losses = fit_autoencoder(
        model,
        x,
        epochs=6,
        lr=0.05 if kind == "mlp" else 0.02,
        momentum=0.9,
        batch_size=32,
        generator=hg.Generator(0),
    )
    print(kind, [round(v, 3) for v in losses])
    assert losses[-1] < 0.6 * losses[0]
    out = reconstruct(model, x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert reconstruction_loss(hg.tensor(x), hg.tensor(out)).item() < losses[0]


@pytest.mark.parametrize(
    "call, fragment",
    [
        (
            lambda: reconstruction_loss(hg.zeros(2, 3), hg.zeros(2, 4)),
            "reconstruction_loss: x has shape (2, 3) but the reconstruction x_hat has shape (2, 4)",
        ),
        (
            lambda: reconstruction_loss(hg.zeros(2, 3), hg.zeros(2, 3), "avg"),
            "reconstruction_loss: reduction must be one of",
        ),
        (
            lambda: one_layer_autoencoder_grad(
                np.zeros((4, 6)), np.zeros((3, 5)), np.zeros(3), np.zeros((6, 3)), np.zeros(6)
            ),
            "one_layer_autoencoder_grad: shapes do not fit x (N, d) = (4, 6)",
        ),
        (
            lambda: one_layer_autoencoder_grad(*_one_layer(), activation="relu"),
            "one_layer_autoencoder_grad: activation must be one of ('sigmoid', 'linear'), got 'relu'",
        ),
        (
            lambda: gradient_descent_step([np.zeros(3)], [np.zeros(4)], 0.1),
            "gradient_descent_step: parameter 0 has shape (3,) but its gradient has shape (4,)",
        ),
        (
            lambda: momentum_step([np.zeros(3)], [np.zeros(3), np.zeros(2)], None, 0.1, 0.9),
            "momentum_step: got 1 parameters but 2 gradients",
        ),
        (
            lambda: momentum_step([np.zeros(3)], [np.zeros(3)], None, -0.1, 0.9),
            "momentum_step: learning rate lr must be >= 0, got -0.1",
        ),
        (
            lambda: momentum_step([np.zeros(3)], [np.zeros(3)], None, 0.1, -0.5),
            "momentum_step: momentum must be >= 0, got -0.5",
        ),
        (
            lambda: conv_autoencoder(input_size=30),
            "conv_autoencoder: input_size 30 must be divisible by 4",
        ),
        (lambda: mlp_autoencoder(activation="swish"), "mlp_autoencoder: activation must be one of"),
        (
            lambda: mlp_autoencoder(latent=0),
            "mlp_autoencoder: latent must be a positive int, got 0",
        ),
        (
            lambda: fit_autoencoder(
                mlp_autoencoder(4, (3,), 2), np.zeros((5, 4), np.float32), epochs=0
            ),
            "fit_autoencoder: epochs must be a positive int, got 0",
        ),
        (
            lambda: fit_autoencoder(mlp_autoencoder(4, (3,), 2), np.zeros((5, 4), np.int64)),
            "fit_autoencoder: data must be a non-empty floating-point batch",
        ),
        (
            lambda: Autoencoder(hg.nn.Linear(4, 2), hg.nn.Linear(2, 3))(hg.zeros(5, 4)),
            "Autoencoder: the decoder returned shape (5, 3) for an input of shape (5, 4)",
        ),
    ],
)
def test_bad_inputs_name_the_function_and_the_values(call, fragment):
    with pytest.raises(ValueError) as info:
        call()
    assert fragment in str(info.value)
