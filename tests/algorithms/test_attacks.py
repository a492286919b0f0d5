"""hg.attacks: FGSM against PyTorch's input gradient on the same weights, PGD against a PyTorch
loop, the box and the pixel range, accuracy against eps on a trained LeNet, PGD at least as
strong as FGSM, errors, and the ``handgrad attack`` command."""

import json

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

import handgrad as hg
from handgrad import cli, nn, optim
from handgrad.attacks import Normalized, attack, fgsm, input_gradient, pgd, robust_accuracy
from handgrad.models import LeNet

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_blas_thread():
    # Small matrix products with 2 BLAS threads on a loaded machine are 10-100x slower.
    with threadpool_limits(1, user_api="blas"):
        yield


def _mlp_pair():
    hg.manual_seed(3)
    ours = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).double()
    ref = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)
    ).double()
    ref.load_state_dict(hg.to_torch_state_dict(ours))
    return ours, ref


def _cnn_pair():
    hg.manual_seed(4)
    ours = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 10),
    ).double()
    ref = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 4 * 4, 10),
    ).double()
    ref.load_state_dict(hg.to_torch_state_dict(ours))
    return ours, ref


def _batch(n=16, seed=0):
    rng = np.random.default_rng(seed)
    # inside (0.1, 0.9): an eps of 0.05 never reaches the pixel range, so nothing is clipped
    return rng.uniform(0.1, 0.9, (n, 1, 8, 8)), rng.integers(0, 10, n)


def _torch_input_grad(ref, x, y):
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(ref(xt), torch.tensor(y)).backward()
    return xt.grad.numpy()


@pytest.mark.parametrize("pair", [_mlp_pair, _cnn_pair], ids=["mlp", "cnn"])
@pytest.mark.parametrize("targeted", [False, True], ids=["untargeted", "targeted"])
def test_fgsm_perturbation_is_eps_sign_of_torch_input_gradient(pair, targeted):
    ours, ref = pair()
    x, y = _batch()
    eps = 0.05
    g = _torch_input_grad(ref, x, y)
    adv = fgsm(ours, x, y, eps, targeted=targeted).numpy()
    expected = (-eps if targeted else eps) * np.sign(g)
    np.testing.assert_allclose(adv - x, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(np.sign(adv - x), np.sign(expected))
    # the input gradient itself agrees, not only its sign
    np.testing.assert_allclose(input_gradient(ours, x, y).numpy(), g, rtol=1e-10, atol=1e-14)


def test_fgsm_leaves_the_model_alone():
    ours, _ = _mlp_pair()
    x, y = _batch()
    fgsm(ours, x, y, 0.1)
    pgd(ours, x, y, 0.1, 0.02, 3)
    assert all(p.requires_grad and p.grad is None for p in ours.parameters())


def test_pgd_one_full_step_without_random_start_is_fgsm():
    ours, _ = _cnn_pair()
    x, y = _batch()
    a = pgd(ours, x, y, eps=0.1, alpha=0.1, steps=1, random_start=False).numpy()
    np.testing.assert_array_equal(a, fgsm(ours, x, y, 0.1).numpy())


def test_pgd_matches_a_pytorch_loop():
    ours, ref = _cnn_pair()
    x, y = _batch()
    eps, alpha, steps = 0.08, 0.02, 6
    xt0 = torch.tensor(x)
    adv = xt0.clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        torch.nn.functional.cross_entropy(ref(adv), torch.tensor(y)).backward()
        with torch.no_grad():
            adv = adv + alpha * adv.grad.sign()
            adv = torch.min(torch.max(adv, xt0 - eps), xt0 + eps).clamp(0, 1)
    got = pgd(ours, x, y, eps, alpha, steps, random_start=False).numpy()
    np.testing.assert_allclose(got, adv.numpy(), rtol=0, atol=1e-12)


def test_pgd_random_start_is_seeded():
    ours, _ = _mlp_pair()
    x, y = _batch()
    a = pgd(ours, x, y, 0.1, 0.03, 2, generator=hg.Generator(7)).numpy()
    b = pgd(ours, x, y, 0.1, 0.03, 2, generator=hg.Generator(7)).numpy()
    c = pgd(ours, x, y, 0.1, 0.03, 2, generator=hg.Generator(8)).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_perturbations_stay_in_the_box_and_the_pixel_range():
    ours, _ = _cnn_pair()
    rng = np.random.default_rng(1)
    x = (rng.random((12, 1, 8, 8)) > 0.5).astype(np.float64)  # pixels at exactly 0 and 1
    x[:, :, 2:4] = 0.5
    y = rng.integers(0, 10, 12)
    eps = 0.3
    for adv in (
        fgsm(ours, x, y, eps).numpy(),
        pgd(ours, x, y, eps, 0.1, 5).numpy(),
        attack(ours, x, y, eps, "pgd", batch_size=5, alpha=0.1, steps=3).numpy(),
    ):
        assert adv.min() >= 0 and adv.max() <= 1
        assert np.abs(adv - x).max() <= eps + 1e-12
        # the middle band (0.5 +- 0.3) is inside the range: there the full step is taken
        band = np.abs(adv - x)[:, :, 2:4]
        assert band.max() == pytest.approx(eps)
    # clip=None: the box only
    adv = fgsm(ours, x, y, eps, clip=None).numpy()
    assert adv.min() < 0 or adv.max() > 1


def test_attack_in_batches_equals_one_batch():
    ours, _ = _mlp_pair()
    x, y = _batch(20)
    np.testing.assert_array_equal(
        attack(ours, x, y, 0.1, "fgsm", batch_size=6).numpy(), fgsm(ours, x, y, 0.1).numpy()
    )


def test_normalized_sees_pixels():
    ours, _ = _mlp_pair()
    x, y = _batch()
    wrapped = Normalized(ours, mean=0.3, std=0.5)
    with hg.no_grad():
        np.testing.assert_allclose(
            wrapped(hg.tensor(x)).numpy(), ours(hg.tensor((x - 0.3) / 0.5)).numpy()
        )
    # the chain rule's 1/std does not change the sign
    g_inner = input_gradient(ours, (x - 0.3) / 0.5, y).numpy()
    np.testing.assert_allclose(input_gradient(wrapped, x, y).numpy(), g_inner / 0.5, rtol=1e-10)


# ---- a trained model -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_lenet():
    """The demo's LeNet trained for 4 epochs on 1,500 mnist5k digits (a few seconds); the first
    300 test digits (30 per class) to attack."""
    with threadpool_limits(1, user_api="blas"):
        train = hg.data.datasets.mnist5k("train")
        test = hg.data.datasets.mnist5k("test")
        rng = np.random.default_rng(0)
        idx = rng.permutation(len(train))[:1500]
        xt, yt = train.tensors[0].numpy()[idx], train.tensors[1].numpy()[idx]
        hg.manual_seed(0)
        model = LeNet()
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        for _ in range(4):
            for i in range(0, len(xt), 50):
                opt.zero_grad()
                hg.nn.functional.cross_entropy(
                    model(hg.tensor(xt[i : i + 50])), hg.tensor(yt[i : i + 50])
                ).backward()
                opt.step()
        model.eval()
        pick = np.concatenate(
            [np.flatnonzero(test.tensors[1].numpy() == c)[:30] for c in range(10)]
        )
        return model, test.tensors[0].numpy()[pick], test.tensors[1].numpy()[pick]


EPS = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2]


def test_accuracy_drops_monotonically_with_eps_and_pgd_is_stronger(trained_lenet):
    model, x, y = trained_lenet
    acc_fgsm = robust_accuracy(model, x, y, EPS, "fgsm")
    acc_pgd = robust_accuracy(
        model, x, y, EPS, "pgd", alpha=lambda e: 2.5 * e / 10, steps=10, generator=hg.Generator(0)
    )
    print("eps", EPS, "\nFGSM", acc_fgsm, "\nPGD-10", acc_pgd)
    assert acc_fgsm[0] > 0.9  # the model works before the attack
    assert all(b <= a for a, b in zip(acc_fgsm, acc_fgsm[1:])), acc_fgsm
    assert all(b <= a for a, b in zip(acc_pgd, acc_pgd[1:])), acc_pgd
    assert acc_fgsm[-1] < acc_fgsm[0] - 0.3
    assert acc_pgd[0] == acc_fgsm[0]
    assert all(p <= f for p, f in zip(acc_pgd, acc_fgsm)), (acc_pgd, acc_fgsm)
    assert acc_pgd[-1] < acc_fgsm[-1] - 0.1  # measured: 0.107 against 0.273 at eps 0.2


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda m, x, y: fgsm(m, x, y, -0.1), "fgsm: eps must be a finite number >= 0, got -0.1"),
        (lambda m, x, y: fgsm(m, x, y, float("nan")), "fgsm: eps must be a finite number >= 0"),
        (
            lambda m, x, y: fgsm(m, x, y[:-1], 0.1),
            "fgsm: x holds 16 examples but y holds 15 labels",
        ),
        (lambda m, x, y: pgd(m, x, y[:3], 0.1, 0.01, 3), "pgd: x holds 16 examples but y holds 3"),
        (
            lambda m, x, y: pgd(m, x, y, -1, 0.01, 3),
            "pgd: eps must be a finite number >= 0, got -1",
        ),
        (
            lambda m, x, y: pgd(m, x, y, 0.1, 0.0, 3),
            "pgd: alpha must be a finite number > 0, got 0.0",
        ),
        (lambda m, x, y: pgd(m, x, y, 0.1, 0.01, 0), "pgd: steps must be an int >= 1, got 0"),
        (
            lambda m, x, y: fgsm(m, x + 1, y, 0.1),
            "fgsm: x has values in [1.1, 1.9], outside the valid range clip=(0, 1)",
        ),
        (lambda m, x, y: fgsm(m, x, y, 0.1, clip=(1, 0)), "fgsm: clip must satisfy low < high"),
        (
            lambda m, x, y: fgsm(m, x, y.astype(float), 0.1),
            "fgsm: y must be a 1-d array of class indices",
        ),
        (lambda m, x, y: fgsm(m, x.astype(np.int64), y, 0.1), "fgsm: x must hold floating-point"),
        (
            lambda m, x, y: fgsm(lambda t: t.sum(), x, y, 0.1),
            "fgsm: the model must return class scores (N, classes)",
        ),
        (
            lambda m, x, y: attack(m, x, y, 0.1, "cw"),
            "attack: method must be one of ('fgsm', 'pgd')",
        ),
        (
            lambda m, x, y: attack(m, x, y, 0.1, batch_size=0),
            "attack: batch_size must be an int >= 1",
        ),
        (lambda m, x, y: Normalized(m, std=0), "Normalized: std must be a positive number, got 0"),
    ],
)
def test_bad_inputs_name_the_function_and_the_values(call, fragment):
    model, _ = _mlp_pair()
    x, y = _batch()
    with pytest.raises((ValueError, TypeError)) as info:
        call(model, x, y)
    assert fragment in str(info.value)


# ---- the command -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("attack") / "run"
    with threadpool_limits(1, user_api="blas"):
        assert (
            cli.main(
                [
                    "train",
                    "--model",
                    "softmax",
                    "--data",
                    "digits",
                    "--epochs",
                    "3",
                    "--quiet",
                    "--no-plots",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
    return out


def test_attack_command_prints_the_table_and_writes_the_pictures(checkpoint, tmp_path, capsys):
    capsys.readouterr()
    code = cli.main(
        [
            "attack",
            "--checkpoint",
            str(checkpoint / "checkpoint.npz"),
            "--eps",
            "0.05,0.2",
            "--steps",
            "3",
            "--limit",
            "150",
            "--out",
            str(tmp_path),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert "FGSM" in text and "PGD-3" in text and "0.200" in text
    for name in ("attack_accuracy.png", "attack_examples.png", "attack.json"):
        assert (tmp_path / name).stat().st_size > 0
    report = json.loads((tmp_path / "attack.json").read_text())
    assert report["eps"] == [0.0, 0.05, 0.2] and report["examples"] == 150
    fg, pg = report["accuracy"]["FGSM"], report["accuracy"]["PGD-3"]
    assert fg[0] == pg[0] and fg[2] < fg[0] and all(p <= f for p, f in zip(pg, fg))


def test_attack_command_defaults_to_the_checkpoint_folder(checkpoint, capsys):
    assert (
        cli.main(
            [
                "attack",
                "--checkpoint",
                str(checkpoint),
                "--eps",
                "0.1",
                "--method",
                "fgsm",
                "--limit",
                "50",
                "--no-plots",
            ]
        )
        == 0
    )
    assert (checkpoint / "attack.json").is_file()


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--checkpoint", "nowhere/checkpoint.npz"], "no checkpoint at nowhere/checkpoint.npz"),
        (["--eps", "0.1,-0.2"], "each eps must be in [0, 1]"),
        (["--eps", "a,b"], "expected comma-separated numbers"),
        (["--model", "lenet"], "does not fit --model lenet"),
        (["--steps", "0"], "must be a positive integer"),
    ],
)
def test_attack_command_errors_are_one_line(argv, fragment, checkpoint, capsys):
    if "--checkpoint" not in argv:
        argv = ["--checkpoint", str(checkpoint), *argv]
    capsys.readouterr()
    assert cli.main(["attack", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("handgrad attack: error:") and fragment in err, err
    assert "\n" not in err
