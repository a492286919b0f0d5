"""handgrad.multiprocessing: tensors and modules in shared memory, updated in place by forked and
spawned processes; torch's spawn with its error reporting."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import handgrad as hg
import handgrad.multiprocessing as mp


def _add_rank(rank, tensor, model):
    tensor.data[rank : rank + 1].add_(rank + 1.0)  # a view: the shared bytes change
    with hg.no_grad():
        for p in model.parameters():
            p.add_(rank + 1.0)


def _fail(rank):
    if rank == 1:
        raise ValueError(f"rank {rank} refuses")


def test_standard_library_names_are_there():
    import multiprocessing

    for name in (
        "Process",
        "Queue",
        "Pool",
        "get_context",
        "set_start_method",
        "cpu_count",
        "Event",
        "Lock",
        "SimpleQueue",
        "Manager",
    ):
        assert getattr(mp, name) is getattr(multiprocessing, name)
    assert mp.get_sharing_strategy() in mp.get_all_sharing_strategies()


def test_share_memory_moves_data_and_keeps_values():
    t = hg.arange(6.0).reshape(2, 3)
    want = t.numpy().copy()
    assert not t.is_shared()
    assert t.share_memory_() is t and t.is_shared()
    np.testing.assert_array_equal(t.numpy(), want)
    assert t[1].is_shared()  # a view into shared memory is shared
    assert not pickle.loads(pickle.dumps(t)).is_shared()  # plain pickling still copies
    model = hg.nn.BatchNorm1d(3)
    assert model.share_memory() is model
    assert all(x.is_shared() for x in list(model.parameters()) + list(model.buffers()))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_processes_update_the_same_weights(method):
    ctx = mp.get_context(method)
    t = hg.zeros(2).share_memory_()
    model = hg.nn.Linear(3, 2)
    model.share_memory()
    before = [p.detach().numpy().copy() for p in model.parameters()]
    procs = [ctx.Process(target=_add_rank, args=(rank, t, model)) for rank in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0]
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    for p, b in zip(model.parameters(), before):
        np.testing.assert_allclose(p.detach().numpy(), b + 3.0, rtol=1e-6)


def test_spawn_runs_every_rank_and_reports_a_failure():
    t = hg.zeros(2).share_memory_()
    model = hg.nn.Linear(1, 1).share_memory()
    mp.spawn(_add_rank, args=(t, model), nprocs=2)
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    with pytest.raises(mp.ProcessRaisedException, match=r"(?s)Process 1 terminated.*refuses"):
        mp.spawn(_fail, nprocs=2)


def _blobs(n=600, seed=0):
    r = np.random.default_rng(seed)
    y = r.integers(0, 3, n)
    x = r.standard_normal((n, 5)) + 1.5 * r.standard_normal((3, 5))[y]
    return hg.tensor(x.astype(np.float32)), hg.tensor(y)


def _train(rank, model, x, y, epochs):
    hg.manual_seed(10 + rank)
    loader = hg.data.DataLoader(hg.data.TensorDataset(x, y), batch_size=16, shuffle=True)
    opt = hg.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            hg.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()


def _accuracy(model, x, y):
    with hg.no_grad():
        return float((model(x).argmax(1) == y).float().mean().item())


def test_hogwild_two_processes_reach_the_single_process_accuracy():
    x, y = _blobs()
    hogwild = hg.nn.Linear(5, 3)
    single = hg.nn.Linear(5, 3)
    single.load_state_dict(hogwild.state_dict())
    chance = _accuracy(hogwild, x, y)
    hogwild.share_memory()
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_train, args=(rank, hogwild, x, y, 1)) for rank in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    _train(0, single, x, y, 2)  # the same number of steps in one process
    a_hog, a_one = _accuracy(hogwild, x, y), _accuracy(single, x, y)
    assert [p.exitcode for p in procs] == [0, 0]
    assert a_one > chance + 0.2 and abs(a_hog - a_one) < 0.05, (chance, a_hog, a_one)


def test_module_to_device_or_same_dtype_keeps_shared_memory():
    import torch

    model = hg.nn.Linear(2, 3).share_memory()
    for args in ((hg.device("cpu"),), ("cpu",), (hg.float32,), ("cpu", hg.float32)):
        assert model.to(*args) is model and model.weight.is_shared(), args
    assert model.to(hg.float64).weight.dtype == np.float64  # a real cast copies, as torch
    ref = torch.nn.Linear(2, 3).to(torch.device("cpu"), torch.float64)
    assert str(model.weight.dtype) == str(ref.weight.dtype).replace("torch.", "")
