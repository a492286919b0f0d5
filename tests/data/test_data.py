"""hg.data: datasets, samplers, collate and DataLoader, against torch.utils.data as the oracle.

Batching, collate, drop_last and len must match PyTorch exactly on the same data and the same
index order. Shuffled orders cannot match (NumPy's streams are not PyTorch's), so for those the
tests check determinism per seed, that every epoch is a permutation, and the statistics of
sampling with replacement.
"""

import collections

import numpy as np
import pytest

import handgrad as hg
from handgrad.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    random_split,
)

torch = pytest.importorskip("torch")
tdata = pytest.importorskip("torch.utils.data")

Point = collections.namedtuple("Point", "x y")


def assert_same(ours, theirs, where="batch"):
    """Same structure, container types, dtypes and values as PyTorch's output."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, hg.Tensor), f"{where}: {type(ours).__name__}, not a Tensor"
        expected = theirs.numpy()
        assert ours.dtype == expected.dtype, f"{where}: dtype {ours.dtype} != {expected.dtype}"
        np.testing.assert_array_equal(ours.numpy(), expected, err_msg=where)
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and ours.keys() == theirs.keys(), where
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs), f"{where}: {type(ours)} != {type(theirs)}"
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs, where


def both_loaders(x, y, **kw):
    ours = DataLoader(TensorDataset(hg.from_numpy(x), hg.from_numpy(y)), **kw)
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), **kw)
    return ours, theirs


def xy(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2, 3)).astype(np.float32), rng.integers(0, 10, n)


class ListDataset(Dataset):
    """Samples from a list: forces the item-by-item path of the DataLoader."""

    def __init__(self, items):
        self.items = items

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


# ---- DataLoader parity with PyTorch ---------------------------------------------------------


@pytest.mark.parametrize(
    "n, batch_size, drop_last",
    [
        (10, 3, False),
        (10, 3, True),
        (9, 3, True),
        (9, 3, False),
        (1, 4, False),
        (7, 1, False),
        (7, 10, True),
        (7, 10, False),
    ],
)
def test_tensor_dataset_batches_match_torch(n, batch_size, drop_last):
    x, y = xy(n)
    ours, theirs = both_loaders(x, y, batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    ours_batches, their_batches = list(ours), list(theirs)
    assert len(ours_batches) == len(their_batches) == len(theirs)
    for i, (a, b) in enumerate(zip(ours_batches, their_batches)):
        assert_same(a, b, f"batch {i}")


def test_explicit_sampler_and_batch_sampler_give_torchs_batches():
    x, y = xy(11)
    order = [4, 9, 0, 2, 10, 7, 1, 3, 8, 6, 5]
    ours, theirs = both_loaders(x, y, sampler=order, batch_size=4)
    for a, b in zip(ours, theirs, strict=True):
        assert_same(a, b)
    batches = [[3, 1], [0], [10, 9, 8, 2]]
    ours, theirs = both_loaders(x, y, batch_sampler=batches)
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs, strict=True):
        assert_same(a, b)


def test_batch_size_none_yields_converted_samples_like_torch():
    samples = [(np.arange(3.0) + i, i, {"w": np.float32(i)}) for i in range(4)]
    ours = list(DataLoader(ListDataset(samples), batch_size=None))
    theirs = list(tdata.DataLoader(samples, batch_size=None))
    assert_same(ours, theirs)


@pytest.mark.parametrize(
    "samples",
    [
        [
            (np.array([1.0, 2.0]), 1.5, 3, True, np.float32(0.5), "a"),
            (np.array([3.0, 4.0]), 2.5, 4, False, np.float32(1.5), "b"),
        ],
        [
            {"image": np.ones((2, 2), np.uint8), "label": 1, "name": "x"},
            {"image": np.zeros((2, 2), np.uint8), "label": 0, "name": "y"},
        ],
        [Point(np.int32(1), 2.0), Point(np.int32(3), 4.0)],
        [[1, [2.0, 3]], [4, [5.0, 6]]],
        [np.array(1.5), np.array(2.5)],
        [(hg.tensor([1.0, 2.0]), hg.tensor(3)), (hg.tensor([4.0, 5.0]), hg.tensor(6))],
    ],
    ids=["tuple-of-kinds", "dict", "namedtuple", "nested-list", "0-d-arrays", "tensors"],
)
def test_default_collate_matches_torch(samples):
    def to_torch(s):
        if isinstance(s, hg.Tensor):
            return torch.from_numpy(s.numpy())
        if isinstance(s, tuple) and not hasattr(s, "_fields"):
            return tuple(to_torch(v) for v in s)
        return s

    assert_same(default_collate(samples), tdata.default_collate([to_torch(s) for s in samples]))
    ours = list(DataLoader(ListDataset(samples), batch_size=2))
    theirs = list(tdata.DataLoader([to_torch(s) for s in samples], batch_size=2))
    assert_same(ours, theirs)


def test_default_collate_rejects_what_torch_rejects():
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        default_collate([object(), object()])


def test_tensor_dataset_fast_path_fetches_batches_without_getitem(monkeypatch):
    x, y = xy(50)
    items = [(hg.from_numpy(x[i]), hg.from_numpy(np.asarray(y[i]))) for i in range(50)]
    slow = list(DataLoader(ListDataset(items), batch_size=8, sampler=list(range(49, -1, -1))))

    def no_items(self, index):
        raise AssertionError("the fast path must not fetch samples one by one")

    monkeypatch.setattr(TensorDataset, "__getitem__", no_items)
    ds = TensorDataset(x, y)  # NumPy arrays are accepted and wrapped
    fast = list(DataLoader(ds, batch_size=8, sampler=list(range(49, -1, -1))))
    for a, b in zip(fast, slow, strict=True):
        assert type(a) is list and len(a) == 2
        for t, u in zip(a, b):
            assert t.dtype == u.dtype
            np.testing.assert_array_equal(t.numpy(), u.numpy())
    # A Subset of a TensorDataset takes the fast path too.
    sub = Subset(ds, [5, 3, 1])
    (batch,) = DataLoader(sub, batch_size=3)
    np.testing.assert_array_equal(batch[1].numpy(), y[[5, 3, 1]])


def test_tensors_that_require_grad_take_the_slow_path_and_stay_in_the_graph():
    w = hg.ones(4, 2, requires_grad=True)
    (xb,) = next(iter(DataLoader(TensorDataset(w), batch_size=4)))
    xb.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.ones((4, 2)))


# ---- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_bad_batch_size_is_named(batch_size):
    with pytest.raises(ValueError, match=f"batch_size={batch_size}"):
        DataLoader(TensorDataset(np.zeros(4)), batch_size=batch_size)


def test_mutually_exclusive_options_are_refused():
    ds = TensorDataset(np.zeros(4))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, shuffle=True, sampler=[0, 1])
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=2, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_samples=0"):
        RandomSampler(ds, num_samples=0)
    with pytest.raises(ValueError, match="replacement=1"):
        RandomSampler(ds, replacement=1)
    with pytest.raises(ValueError, match="drop_last=None"):
        BatchSampler(range(3), 2, None)
    with pytest.raises(ValueError, match=r"size mismatch .*\(3,\), \(4,\)"):
        TensorDataset(np.zeros(3), np.zeros(4))


# ---- shuffling: determinism, permutations ---------------------------------------------------


def epoch_orders(loader, epochs):
    return [np.concatenate([yb.numpy() for _, yb in loader]) for _ in range(epochs)]


def test_seeded_shuffle_is_the_same_run_after_run_and_each_epoch_is_a_permutation():
    n = 103
    ds = TensorDataset(np.zeros((n, 2)), np.arange(n))
    first = epoch_orders(DataLoader(ds, batch_size=10, shuffle=True, generator=hg.Generator(7)), 3)
    again = epoch_orders(DataLoader(ds, batch_size=10, shuffle=True, generator=hg.Generator(7)), 3)
    other = epoch_orders(DataLoader(ds, batch_size=10, shuffle=True, generator=hg.Generator(8)), 1)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    for order in first:
        np.testing.assert_array_equal(np.sort(order), np.arange(n))
    assert not np.array_equal(first[0], first[1]), "each epoch draws a new permutation"
    assert not np.array_equal(first[0], other[0])


def test_without_generator_the_global_seed_fixes_the_order():
    ds = TensorDataset(np.zeros(50), np.arange(50))
    loader = DataLoader(ds, batch_size=7, shuffle=True)
    hg.manual_seed(3)
    a = epoch_orders(loader, 2)
    hg.manual_seed(3)
    b = epoch_orders(loader, 2)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_random_split_lengths_match_torch_and_the_parts_partition_the_data():
    for n, lengths in [(31, [0.3, 0.3, 0.4]), (5, [0.5, 0.5]), (10, [3, 7]), (7, [0.1, 0.9])]:
        ours = random_split(range(n), lengths, generator=hg.Generator(0))
        theirs = tdata.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        assert sorted(i for s in ours for i in s) == list(range(n))
    again = random_split(range(31), [0.3, 0.3, 0.4], generator=hg.Generator(0))
    assert [list(s) for s in again] == [
        list(s) for s in random_split(range(31), [0.3, 0.3, 0.4], generator=hg.Generator(0))
    ]
    with pytest.raises(ValueError, match="sum to 9, but the dataset has 10"):
        random_split(range(10), [4, 5])


# ---- samplers -------------------------------------------------------------------------------


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (3, 5, True)])
def test_batch_and_sequential_samplers_match_torch(n, batch_size, drop_last):
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = tdata.BatchSampler(tdata.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_random_sampler_with_replacement_draws_uniformly():
    # 200,000 draws over 10 bins: each count is Binomial(200000, 0.1), sd ~134; 5 sd bounds.
    n, k = 10, 200_000
    draws = np.fromiter(
        RandomSampler(range(n), replacement=True, num_samples=k, generator=hg.Generator(1)),
        dtype=np.int64,
    )
    assert len(draws) == k and draws.min() >= 0 and draws.max() < n
    counts = np.bincount(draws, minlength=n)
    sd = np.sqrt(k * 0.1 * 0.9)
    assert np.all(np.abs(counts - k / n) < 5 * sd), counts
    # One epoch of n = 1000 draws with replacement repeats points: about 1/e are never drawn.
    epoch = list(RandomSampler(range(1000), replacement=True, generator=hg.Generator(2)))
    missed = 1 - len(set(epoch)) / 1000
    assert abs(missed - np.exp(-1)) < 5 * np.sqrt(np.exp(-1) * (1 - np.exp(-1)) / 1000)


def test_random_sampler_without_replacement_chains_permutations_for_more_samples():
    s = RandomSampler(range(6), num_samples=15, generator=hg.Generator(0))
    idx = list(s)
    assert len(s) == len(idx) == 15
    assert sorted(idx[:6]) == sorted(idx[6:12]) == list(range(6))
    assert len(set(idx[12:])) == 3


def test_subset_and_weighted_samplers():
    indices = [10, 20, 30, 40]
    got = list(SubsetRandomSampler(indices, generator=hg.Generator(0)))
    assert sorted(got) == indices
    w = [0.0, 1.0, 3.0]
    draws = np.array(list(WeightedRandomSampler(w, 40_000, generator=hg.Generator(0))))
    counts = np.bincount(draws, minlength=3)
    assert counts[0] == 0
    assert abs(counts[2] / 40_000 - 0.75) < 5 * np.sqrt(0.75 * 0.25 / 40_000)
    with pytest.raises(ValueError, match="without replacement from 2 non-zero weights"):
        WeightedRandomSampler(w, 3, replacement=False)


def test_concat_dataset_indexes_like_torch():
    parts = [list(range(3)), list(range(10, 12)), list(range(20, 24))]
    ours, theirs = ConcatDataset(parts), tdata.ConcatDataset(parts)
    assert len(ours) == len(theirs) == 9
    assert [ours[i] for i in range(-9, 9)] == [theirs[i] for i in range(-9, 9)]
    with pytest.raises(IndexError):
        ours[9]
    assert len(ListDataset([1, 2]) + ListDataset([3])) == 3
