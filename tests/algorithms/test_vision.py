"""handgrad.vision against torch: ResNets loaded from a torchvision-layout state dict (the
reference model is built here in plain torch.nn with torchvision's names, since torchvision
itself does not install beside torch 2.13), the transforms, make_grid/save_image and the
datasets read from torchvision's on-disk layout."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from PIL import Image

import handgrad as hg
from handgrad.data.datasets import write_idx
from handgrad.vision import datasets, models, transforms, utils

torch.set_num_threads(1)


# ---- the reference ResNet in torch, torchvision's layout ----------------------------------------


class TorchBasicBlock(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchResNet(tnn.Module):
    def __init__(self, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], 2)
        self.layer3 = self._make_layer(256, layers[2], 2)
        self.layer4 = self._make_layer(512, layers[3], 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512, num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        down = None
        if stride != 1 or self.inplanes != planes:
            down = tnn.Sequential(
                tnn.Conv2d(self.inplanes, planes, 1, stride, bias=False), tnn.BatchNorm2d(planes)
            )
        layers = [TorchBasicBlock(self.inplanes, planes, stride, down)]
        self.inplanes = planes
        layers += [TorchBasicBlock(planes, planes) for _ in range(1, blocks)]
        return tnn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _randomised_state(model):
    """Non-trivial batch-norm statistics and weights, so that eval mode tests them."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith(("running_mean", "bn1.bias", "bn2.bias")):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
    return model.state_dict()


@pytest.mark.parametrize(
    "name, layers, num_classes", [("resnet18", [2, 2, 2, 2], 1000), ("resnet34", [3, 4, 6, 3], 10)]
)
def test_resnet_loads_a_torchvision_state_dict_and_gives_equal_outputs(name, layers, num_classes):
    torch.manual_seed(0)
    ref = TorchResNet(layers, num_classes)
    sd = _randomised_state(ref)
    ours = getattr(models, name)(num_classes=num_classes)
    assert list(ours.state_dict()) == list(sd)
    assert all(tuple(ours.state_dict()[k].shape) == tuple(v.shape) for k, v in sd.items())
    missing, unexpected = hg.load_torch_state_dict(ours, sd)
    assert not missing and not unexpected
    x = np.random.default_rng(1).standard_normal((2, 3, 64, 64)).astype(np.float32)
    ref.eval()
    ours.eval()
    with torch.no_grad():
        want = ref(torch.tensor(x)).numpy()
    got = ours(hg.tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_resnet18_training_step_matches_torch():
    """In float64: batch norm over 4 samples at layer4's 1 x 1 maps amplifies float32 rounding
    into percent-level gradient differences at conv1, in torch against itself as well."""
    torch.manual_seed(1)
    ref = TorchResNet([2, 2, 2, 2], 5).double()
    ours = models.resnet18(num_classes=5).double()
    hg.load_torch_state_dict(ours, ref.state_dict())
    x = np.random.default_rng(2).standard_normal((4, 3, 32, 32))
    y = np.array([0, 1, 2, 3])
    loss_t = TF.cross_entropy(ref(torch.tensor(x)), torch.tensor(y))
    loss_t.backward()
    loss_h = hg.nn.functional.cross_entropy(ours(hg.tensor(x)), hg.tensor(y))
    loss_h.backward()
    np.testing.assert_allclose(loss_h.item(), loss_t.item(), rtol=1e-10)
    for (n, p), (_, q) in zip(ours.named_parameters(), ref.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-7, atol=1e-9, err_msg=n)
    for k in ("bn1.running_mean", "layer4.1.bn2.running_var"):  # training-mode statistics
        np.testing.assert_allclose(
            ours.state_dict()[k].numpy(), ref.state_dict()[k].numpy(), rtol=1e-10, atol=1e-12
        )


def test_resnet_refuses_pretrained_weights():
    with pytest.raises(RuntimeError, match="never downloads"):
        models.resnet18(weights="IMAGENET1K_V1")
    assert (
        sum(p.numel() for p in models.resnet50().parameters()) == 25557032
    )  # torchvision's resnet50 parameter count (its documentation)


# ---- transforms -------------------------------------------------------------------------------


def _image(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_to_tensor_on_pil_images_scales_and_moves_channels_first():
    rgb, gray = _image((5, 7, 3)), _image((5, 7))
    for a, mode in ((rgb, "RGB"), (gray, "L")):
        t = transforms.ToTensor()(Image.fromarray(a, mode))
        want = torch.tensor(a).reshape(5, 7, -1).permute(2, 0, 1).float().div(255)
        np.testing.assert_array_equal(t.numpy(), want.numpy())
        assert t.dtype == np.float32
    bits = Image.fromarray(gray > 128).convert("1")
    np.testing.assert_array_equal(
        transforms.ToTensor()(bits).numpy()[0], (gray > 128).astype(np.float32)
    )


def test_normalize_after_to_tensor_as_torch():
    a = _image((6, 6, 3))
    t = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.3))]
    )(Image.fromarray(a))
    want = (
        torch.tensor(a).permute(2, 0, 1).float() / 255
        - torch.tensor([0.5, 0.4, 0.3])[:, None, None]
    ) / torch.tensor([0.2, 0.25, 0.3])[:, None, None]
    np.testing.assert_allclose(t.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "size, out", [(20, (20, 26)), ([12], (12, 16)), ((9, 31), (9, 31)), (60, (60, 80))]
)
def test_resize_size_rule_and_pixels(size, out):
    """An int sets the shorter side (the longer is truncated: 40 * 20 / 30 = 26.7 -> 26).
    Tensors agree with torch's antialiased bilinear interpolation, and with the PIL path."""
    a = _image((30, 40, 3))
    pil = transforms.Resize(size)(Image.fromarray(a))
    assert (pil.size[1], pil.size[0]) == out
    x = np.ascontiguousarray(a.transpose(2, 0, 1)).astype(np.float32) / 255
    got = transforms.Resize(size)(hg.tensor(x))
    want = TF.interpolate(
        torch.tensor(x)[None], size=out, mode="bilinear", antialias=True, align_corners=False
    )[0]
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=2e-5)
    # PIL's uint8 kernel uses fixed-point weights: within one grey level of the float result
    np.testing.assert_allclose(
        got.numpy() * 255, np.asarray(pil).transpose(2, 0, 1), atol=1.0 + 1e-4
    )


def test_center_crop_including_an_image_smaller_than_the_crop():
    a = _image((3, 9, 10))
    t = hg.tensor(a)
    np.testing.assert_array_equal(transforms.CenterCrop(4)(t).numpy(), a[:, 2:6, 3:7])
    np.testing.assert_array_equal(transforms.CenterCrop((5, 3))(t).numpy(), a[:, 2:7, 4:7])
    big = transforms.CenterCrop((11, 13))(t).numpy()
    assert big.shape == (3, 11, 13)
    np.testing.assert_array_equal(big[:, 1:10, 1:11], a)  # zeros around: (11-9)//2, (13-10)//2
    assert big.sum() == a.astype(np.int64).sum()
    pil = transforms.CenterCrop(4)(Image.fromarray(a.transpose(1, 2, 0)))
    np.testing.assert_array_equal(np.asarray(pil), a[:, 2:6, 3:7].transpose(1, 2, 0))


def test_random_crop_with_padding_covers_every_window_of_the_padded_image():
    a = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    crop = transforms.RandomCrop(4, padding=1)
    padded = np.pad(a, ((0, 0), (1, 1), (1, 1)))
    seen = set()
    hg.manual_seed(0)
    for _ in range(200):
        out = crop(hg.tensor(a)).numpy()
        hits = [
            (i, j)
            for i in range(3)
            for j in range(3)
            if np.array_equal(padded[:, i : i + 4, j : j + 4], out)
        ]
        assert hits
        seen.add(hits[0])
    assert seen == {(i, j) for i in range(3) for j in range(3)}
    hg.manual_seed(5)
    first = crop(hg.tensor(a)).numpy()
    hg.manual_seed(5)
    np.testing.assert_array_equal(crop(hg.tensor(a)).numpy(), first)
    reflect = transforms.RandomCrop(6, padding=1, padding_mode="reflect")(hg.tensor(a)).numpy()
    np.testing.assert_array_equal(reflect, np.pad(a, ((0, 0), (1, 1), (1, 1)), mode="reflect"))
    grown = transforms.RandomCrop((5, 6), pad_if_needed=True)(Image.fromarray(a[0]))
    assert grown.size == (6, 5)


def test_random_horizontal_flip():
    a = _image((2, 3, 5))
    np.testing.assert_array_equal(
        transforms.RandomHorizontalFlip(1.0)(hg.tensor(a)).numpy(), torch.tensor(a).flip(-1).numpy()
    )
    np.testing.assert_array_equal(transforms.RandomHorizontalFlip(0.0)(hg.tensor(a)).numpy(), a)
    img = Image.fromarray(a[0])
    np.testing.assert_array_equal(
        np.asarray(transforms.RandomHorizontalFlip(1.0)(img)), a[0, :, ::-1]
    )
    hg.manual_seed(0)
    flips = sum(
        transforms.RandomHorizontalFlip()(hg.tensor(a)).numpy()[0, 0, 0] != a[0, 0, 0]
        for _ in range(400)
    )
    assert 140 < flips < 260  # p = 0.5 (a 6-sigma band)


# ---- make_grid / save_image -------------------------------------------------------------------


def _torch_make_grid(
    tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0
):
    """torchvision.utils.make_grid (torchvision 0.20), the reference."""
    if isinstance(tensor, list):
        tensor = torch.stack(tensor, dim=0)
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        if tensor.size(0) == 1:
            tensor = torch.cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = torch.cat((tensor, tensor, tensor), 1)
    if normalize:
        tensor = tensor.clone()

        def norm_ip(img, low, high):
            img.clamp_(min=low, max=high)
            img.sub_(low).div_(max(high - low, 1e-5))

        def norm_range(t, value_range):
            if value_range is not None:
                norm_ip(t, value_range[0], value_range[1])
            else:
                norm_ip(t, float(t.min()), float(t.max()))

        if scale_each:
            for t in tensor:
                norm_range(t, value_range)
        else:
            norm_range(tensor, value_range)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(np.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    grid = tensor.new_full(
        (tensor.size(1), height * ymaps + padding, width * xmaps + padding), pad_value
    )
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid.narrow(1, y * height + padding, height - padding).narrow(
                2, x * width + padding, width - padding
            ).copy_(tensor[k])
            k = k + 1
    return grid


@pytest.mark.parametrize(
    "shape, kw",
    [
        ((10, 1, 5, 6), {}),
        ((5, 3, 4, 4), {"nrow": 2, "padding": 1, "pad_value": 0.5}),
        ((7, 3, 4, 4), {"normalize": True}),
        ((3, 1, 4, 4), {"normalize": True, "scale_each": True}),
        ((4, 3, 4, 4), {"normalize": True, "value_range": (-1.0, 1.0), "padding": 0}),
        ((1, 3, 4, 4), {}),
        ((1, 4, 4), {}),
        ((4, 4), {}),
    ],
)
def test_make_grid_as_torchvision(shape, kw):
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    got = utils.make_grid(hg.tensor(x), **kw)
    want = _torch_make_grid(torch.tensor(x), **kw)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)
    if len(shape) == 4:
        listed = utils.make_grid([hg.tensor(im) for im in x], **kw)
        np.testing.assert_allclose(listed.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


def test_save_image_writes_the_grid_pixels(tmp_path):
    x = np.random.default_rng(4).random((6, 3, 5, 5)).astype(np.float32)
    path = tmp_path / "grid.png"
    utils.save_image(hg.tensor(x), path, nrow=3)
    grid = _torch_make_grid(torch.tensor(x), nrow=3)
    want = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()
    np.testing.assert_array_equal(np.asarray(Image.open(path)), want)
    buf = io.BytesIO()
    utils.save_image(hg.tensor(x), buf, format="png", nrow=3)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(buf.getvalue()))), want)


# ---- datasets ---------------------------------------------------------------------------------


def _mnist_layout(root: Path, name: str, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    raw = root / name / "raw"
    raw.mkdir(parents=True)
    images, labels = _image((n, 28, 28), seed=5), np.arange(n, dtype=np.uint8) % 10
    write_idx(raw / "t10k-images-idx3-ubyte.gz", images)
    write_idx(raw / "t10k-labels-idx1-ubyte", labels)
    return images, labels


@pytest.mark.parametrize("cls", [datasets.MNIST, datasets.FashionMNIST])
def test_mnist_from_torchvisions_layout(tmp_path, cls):
    images, labels = _mnist_layout(tmp_path, cls.__name__)
    ds = cls(str(tmp_path), train=False, download=True)  # the files are there: no network
    assert len(ds) == len(images) and ds.data.dtype == np.uint8
    img, target = ds[3]
    assert isinstance(img, Image.Image) and img.mode == "L" and target == labels[3]
    np.testing.assert_array_equal(np.asarray(img), images[3])
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    ds = cls(str(tmp_path), train=False, transform=tf, target_transform=lambda y: y + 100)
    x, y = ds[3]
    want = (torch.tensor(images[3]).float()[None] / 255 - 0.1307) / 0.3081
    np.testing.assert_allclose(x.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)
    assert y == labels[3] + 100
    batch = next(iter(hg.data.DataLoader(ds, batch_size=4)))
    assert tuple(batch[0].shape) == (4, 1, 28, 28)


def test_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match=r"never downloads.*train-images-idx3-ubyte"
        r".*MNIST/raw",
    ):
        datasets.MNIST(str(tmp_path), train=True, download=True)
    with pytest.raises(FileNotFoundError, match=r"data_batch_1.*cifar-10-batches-py"):
        datasets.CIFAR10(str(tmp_path), download=True)


def _cifar_layout(root: Path) -> tuple[np.ndarray, list]:
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(6)
    data = rng.integers(0, 256, (10, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, 10).tolist()
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)]):
        raw = pickle.dumps(
            {
                "batch_label": name,
                "labels": labels[2 * i : 2 * i + 2],
                "data": data[2 * i : 2 * i + 2],
                "filenames": [b"a.png", b"b.png"],
            },
            protocol=2,
        )
        # the published files name NumPy 1's module, numpy.core.multiarray
        (folder / name).write_bytes(
            raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
        )
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"labels": labels[:3], "data": data[:3]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)], "num_vis": 3072}, f)
    return data, labels


def test_cifar10_from_torchvisions_layout(tmp_path):
    data, labels = _cifar_layout(tmp_path)
    ds = datasets.CIFAR10(tmp_path, train=True, download=True)
    assert len(ds) == 10 and ds.data.shape == (10, 32, 32, 3) and ds.targets == labels
    img, target = ds[7]
    assert img.mode == "RGB" and target == labels[7]
    np.testing.assert_array_equal(np.asarray(img), data[7].reshape(3, 32, 32).transpose(1, 2, 0))
    assert ds.classes[2] == "class2" and len(datasets.CIFAR10(tmp_path, train=False)) == 3
    x, _ = datasets.CIFAR10(tmp_path, transform=transforms.ToTensor())[7]
    np.testing.assert_allclose(x.numpy() * 255, data[7].reshape(3, 32, 32), atol=1e-4)


class _Evil:
    def __reduce__(self):
        import os

        return os.system, ("echo should-not-run",)


def test_cifar10_pickles_cannot_run_code(tmp_path):
    _cifar_layout(tmp_path)
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump({"labels": [1], "data": _Evil()}, f)
    with pytest.raises(
        pickle.UnpicklingError,
        match=r"refusing to load the global "
        r"(posix|os)\.system",
    ):
        datasets.CIFAR10(tmp_path, train=False)


def test_fake_data_is_repeatable():
    ds = datasets.FakeData(
        size=5, image_size=(3, 8, 6), num_classes=4, transform=transforms.ToTensor()
    )
    x, y = ds[2]
    assert tuple(x.shape) == (3, 8, 6) and 0 <= y < 4
    np.testing.assert_array_equal(ds[2][0].numpy(), x.numpy())
    assert not np.array_equal(ds[3][0].numpy(), x.numpy())
    with pytest.raises(IndexError):
        ds[5]


def test_image_folder(tmp_path):
    for cls, n in (("dog", 2), ("cat", 3)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            Image.fromarray(_image((4, 5, 3), seed=i)).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    ds = datasets.ImageFolder(tmp_path, transform=transforms.ToTensor())
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert ds.targets == [0, 0, 0, 1, 1] and len(ds.imgs) == 5
    x, y = ds[4]
    assert y == 1 and tuple(x.shape) == (3, 4, 5)
    np.testing.assert_allclose(
        x.numpy() * 255, _image((4, 5, 3), seed=1).transpose(2, 0, 1), atol=1e-4
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes empty"):
        datasets.ImageFolder(tmp_path)


REAL_MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"


@pytest.mark.skipif(
    not (REAL_MNIST / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"the real MNIST test split is not at {REAL_MNIST}",
)
def test_real_mnist_test_split_through_a_torchvision_layout(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in REAL_MNIST.glob("t10k-*"):
        (raw / f.name).symlink_to(f)
    ds = datasets.MNIST(tmp_path, train=False, download=True, transform=transforms.ToTensor())
    assert len(ds) == 10000 and ds[0][1] == int(ds.targets[0].item())


def test_random_resized_crop_windows_and_fallback():
    a = np.arange(20 * 30, dtype=np.float32).reshape(1, 20, 30)
    hg.manual_seed(0)
    for _ in range(50):
        i, j, h, w = transforms.RandomResizedCrop.get_params(a, (0.08, 1.0), (3 / 4, 4 / 3))
        assert 0 <= i <= 20 - h and 0 <= j <= 30 - w
        assert 0.08 * 600 * 0.9 <= h * w <= 600 and 3 / 4 * 0.8 <= w / h <= 4 / 3 * 1.25
    # an aspect ratio no window of the image can have: the central crop of clamped ratio
    # (w = 30, h = round(30 / 3) = 10, centred)
    assert transforms.RandomResizedCrop.get_params(a, (0.9, 1.0), (3.0, 4.0)) == (5, 0, 10, 30)
    out = transforms.RandomResizedCrop(8)(hg.tensor(a))
    assert tuple(out.shape) == (1, 8, 8)
    assert transforms.RandomResizedCrop((6, 9))(Image.fromarray(_image((20, 30, 3)))).size == (9, 6)


def test_grayscale_as_pil_and_torchvisions_weights():
    a = _image((5, 6, 3))
    gray = transforms.Grayscale()(Image.fromarray(a))
    np.testing.assert_array_equal(np.asarray(gray), np.asarray(Image.fromarray(a).convert("L")))
    x = torch.tensor(a).permute(2, 0, 1).float() / 255
    want = (0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2])[None].repeat(3, 1, 1)
    got = transforms.Grayscale(3)(hg.tensor(x.numpy()))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


def test_cifar100_layout(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    data = np.random.default_rng(7).integers(0, 256, (4, 3072), dtype=np.uint8)
    for name, rows in (("train", data), ("test", data[:1])):
        with open(folder / name, "wb") as f:
            pickle.dump(
                {
                    "fine_labels": list(range(len(rows))),
                    "coarse_labels": [0] * len(rows),
                    "data": rows,
                },
                f,
            )
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [f"c{i}" for i in range(100)]}, f)
    ds = datasets.CIFAR100(tmp_path)
    assert len(ds) == 4 and ds.targets == [0, 1, 2, 3] and len(ds.classes) == 100
    assert len(datasets.CIFAR100(tmp_path, train=False)) == 1


def test_transforms_functional_is_the_classes_kernels():
    import handgrad.vision.transforms.functional as TF

    a = _image((3, 9, 10))
    t = hg.tensor(a)
    np.testing.assert_array_equal(TF.hflip(t).numpy(), a[..., ::-1])
    np.testing.assert_array_equal(TF.vflip(t).numpy(), a[:, ::-1])
    np.testing.assert_array_equal(TF.crop(t, 2, 3, 4, 5).numpy(), a[:, 2:6, 3:8])
    np.testing.assert_array_equal(TF.center_crop(t, 4).numpy(), transforms.CenterCrop(4)(t).numpy())
    assert TF.get_image_size(t) == [10, 9] and TF.get_dimensions(t) == [3, 9, 10]
    img = TF.to_pil_image(t)
    assert img.size == (10, 9) and TF.get_dimensions(img) == [3, 9, 10]
    np.testing.assert_array_equal(TF.pil_to_tensor(img).numpy(), a)
    np.testing.assert_allclose(TF.to_tensor(img).numpy(), a / np.float32(255), rtol=1e-6)
    assert tuple(TF.resized_crop(t, 0, 0, 6, 6, [3, 3]).shape) == (3, 3, 3)
    assert tuple(TF.pad(t, [1, 2]).shape) == (3, 13, 12)
    assert transforms.functional is TF


def test_resize_of_integer_tensors_rounds_and_max_size_caps_the_longer_side():
    a = _image((3, 30, 40))
    got = transforms.Resize(17)(hg.tensor(a))
    want = TF.interpolate(
        torch.tensor(a, dtype=torch.float32)[None],
        size=(17, 22),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )[0]
    assert got.dtype == np.uint8
    np.testing.assert_allclose(got.numpy(), want.round().clamp(0, 255).numpy(), atol=1)
    # 20 on the shorter side would make the longer 26 > 24: the longer side is capped at 24
    assert tuple(transforms.Resize(20, max_size=24)(hg.tensor(a)).shape) == (3, 18, 24)
    with pytest.raises(ValueError, match="max_size"):
        transforms.Resize((20, 30), max_size=40)(hg.tensor(a))
