"""handgrad.models.classic: shapes, parameter counts and forward outputs equal to the same
networks in PyTorch (weights copied through the state dict)."""

import numpy as np
import pytest

import handgrad as hg
from handgrad import nn
from handgrad.models import LeNet, build_model, mlp, softmax_regression

torch = pytest.importorskip("torch")


def _torch_lenet(padding=0, features=256):
    tnn = torch.nn

    class TorchLeNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.relu1 = tnn.Conv2d(1, 8, 5, padding=padding), tnn.ReLU()
            self.pool1 = tnn.MaxPool2d(2)
            self.conv2, self.relu2 = tnn.Conv2d(8, 16, 5, padding=padding), tnn.ReLU()
            self.pool2 = tnn.MaxPool2d(2)
            self.flatten, self.fc = tnn.Flatten(), tnn.Linear(features, 10)

        def forward(self, x):
            x = self.pool1(self.relu1(self.conv1(x)))
            x = self.pool2(self.relu2(self.conv2(x)))
            return self.fc(self.flatten(x))

    return TorchLeNet()


def _copy_and_compare(model, ref, shape):
    hg.load_torch_state_dict(model, ref.state_dict())
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    out = model(hg.tensor(x))
    with torch.no_grad():
        want = ref(torch.from_numpy(x)).numpy()
    assert out.shape == want.shape
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-4, atol=1e-5)
    return out


def test_lenet_arithmetic_and_parity():
    model = LeNet()
    # 28 -conv5-> 24 -pool-> 12 -conv5-> 8 -pool-> 4: 16 * 4 * 4 = 256 features.
    assert model.fc.in_features == 256
    ref = _torch_lenet()
    assert list(model.state_dict()) == list(ref.state_dict())
    n = sum(p.numel() for p in model.parameters())
    assert n == sum(p.numel() for p in ref.parameters()) == 5994
    _copy_and_compare(model, ref, (5, 1, 28, 28))


def test_lenet_backward_matches_pytorch():
    model, ref = LeNet(), _torch_lenet()
    hg.load_torch_state_dict(model, ref.state_dict())
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 6)
    nn.functional.cross_entropy(model(hg.tensor(x)), hg.tensor(y)).backward()
    torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    grads = dict(model.named_parameters())
    for name, p in ref.named_parameters():
        np.testing.assert_allclose(
            grads[name].grad.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name
        )


def test_lenet_applies_its_children_in_order():
    # handgrad summary relies on it: Sequential(named_children()) is the same function.
    from collections import OrderedDict

    model = LeNet()
    chain = nn.Sequential(OrderedDict(model.named_children()))
    x = hg.randn(2, 1, 28, 28)
    np.testing.assert_array_equal(chain(x).detach().numpy(), model(x).detach().numpy())


def test_lenet_for_8x8_digits_pads():
    model = build_model("lenet", (1, 8, 8))
    # 8 -conv5 pad2-> 8 -pool-> 4 -conv5 pad2-> 4 -pool-> 2: 16 * 2 * 2 = 64 features.
    assert model.fc.in_features == 64
    _copy_and_compare(model, _torch_lenet(padding=2, features=64), (3, 1, 8, 8))


def test_softmax_regression_and_mlp_match_pytorch():
    tnn = torch.nn
    _copy_and_compare(
        softmax_regression(784, 10),
        tnn.Sequential(tnn.Flatten(), tnn.Linear(784, 10)),
        (4, 1, 28, 28),
    )
    ref = tnn.Sequential(
        tnn.Flatten(),
        tnn.Linear(64, 32),
        tnn.ReLU(),
        tnn.Linear(32, 16),
        tnn.ReLU(),
        tnn.Linear(16, 10),
    )
    _copy_and_compare(mlp(64, (32, 16), 10), ref, (4, 1, 8, 8))
    assert len(mlp(64, (32,), 10, dropout=0.5)) == 5  # Flatten, Linear, ReLU, Dropout, Linear


@pytest.mark.parametrize("name,params", [("softmax", 7850), ("mlp", 269322), ("lenet", 5994)])
def test_build_model_by_name(name, params):
    model = build_model(name, (1, 28, 28), 10)
    assert sum(p.numel() for p in model.parameters()) == params
    assert model(hg.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_build_model_errors():
    with pytest.raises(ValueError, match="unknown model 'vgg'; choose one of softmax, mlp, lenet"):
        build_model("vgg")
    with pytest.raises(ValueError, match="shrinks to nothing"):
        LeNet(input_size=10)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        build_model("lenet", (28, 28))
