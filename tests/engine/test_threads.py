"""Grad mode and anomaly mode are per thread, as in PyTorch (issue 11): ``no_grad()`` in one
thread does not stop another from recording, and threads training separate models at once get
the same weights as training them one after the other."""

from __future__ import annotations

import threading

import numpy as np

import handgrad as hg
from handgrad import nn


def _run_threads(targets: list) -> list:
    results: list = [None] * len(targets)
    errors: list = []

    def run(i: int, fn) -> None:
        try:
            results[i] = fn()
        except BaseException as e:  # noqa: BLE001  (re-raised in the main thread by the assert)
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


def test_no_grad_in_one_thread_does_not_switch_recording_off_in_another():
    inside = threading.Event()
    checked = threading.Event()

    def quiet() -> bool:
        with hg.no_grad():
            inside.set()
            assert checked.wait(30)  # stay inside no_grad until the other thread has recorded
            return hg.is_grad_enabled()

    def recording() -> tuple[bool, bool]:
        assert inside.wait(30)
        x = hg.ones(2, requires_grad=True)
        y = x * 2
        checked.set()
        return hg.is_grad_enabled(), y.requires_grad

    quiet_mode, (mode, recorded) = _run_threads([quiet, recording])
    assert quiet_mode is False
    assert mode is True and recorded is True
    assert hg.is_grad_enabled()  # the main thread was never touched


def test_set_grad_enabled_and_anomaly_mode_are_per_thread():
    ready = threading.Barrier(2, timeout=30)
    done = threading.Barrier(2, timeout=30)

    def switcher() -> None:
        hg.set_grad_enabled(False)  # as a plain call: stays off in this thread
        hg.autograd.set_detect_anomaly(True)
        ready.wait()
        done.wait()
        hg.set_grad_enabled(True)
        hg.autograd.set_detect_anomaly(False)

    def observer() -> tuple[bool, bool]:
        ready.wait()
        seen = (hg.is_grad_enabled(), hg.autograd.is_anomaly_enabled())
        done.wait()
        return seen

    _, seen = _run_threads([switcher, observer])
    assert seen == (True, False)


def test_new_threads_start_with_recording_on():
    with hg.no_grad():
        (mode,) = _run_threads([hg.is_grad_enabled])
    assert mode is True


def _setup(seed: int) -> tuple:
    # Made in the main thread: the initialisers draw from the global generator, which threads share.
    hg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = hg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = hg.tensor(rng.standard_normal((32, 6)).astype(np.float32))
    y = hg.tensor(rng.integers(0, 3, 32))
    return model, opt, x, y


def _train(setup: tuple, start: threading.Barrier | None = None) -> list[np.ndarray]:
    model, opt, x, y = setup
    if start is not None:
        start.wait()  # every thread trains at the same time
    for _ in range(40):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()  # runs under no_grad: with one global switch it would stop the others' graphs
        with hg.no_grad():
            model(x)  # an evaluation in between, as a training loop does
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_threads_training_separate_models_match_sequential_training():
    seeds = [0, 1, 2, 3]
    sequential = [_train(_setup(s)) for s in seeds]
    setups = [_setup(s) for s in seeds]
    start = threading.Barrier(len(seeds), timeout=60)
    concurrent = _run_threads([lambda st=st: _train(st, start) for st in setups])
    for seq, con in zip(sequential, concurrent):
        for a, b in zip(seq, con):
            np.testing.assert_array_equal(a, b)


def test_inference_mode_switches_recording_off_as_torch():
    import torch

    for lib in (hg, torch):
        x = lib.ones(2, requires_grad=True)
        with lib.inference_mode():
            assert not (x * 2).requires_grad
        with lib.inference_mode(False):
            assert (x * 2).requires_grad

        @lib.inference_mode()
        def f(t):
            return t * 2

        assert not f(x).requires_grad
        assert (x * 2).requires_grad


def test_the_count_of_threads_with_recording_off_returns_to_zero():
    """The primitives skip the thread-local lookup while no thread has recording off: the count
    must come back to 0 after every way of switching it (including an exception inside)."""
    from handgrad.autograd import grad_mode

    assert len(grad_mode._grad_off_threads) == 0
    with hg.no_grad():
        assert len(grad_mode._grad_off_threads) == 1
        with hg.no_grad(), hg.enable_grad(), hg.inference_mode():
            assert len(grad_mode._grad_off_threads) == 1
        assert len(grad_mode._grad_off_threads) == 1
    try:
        with hg.set_grad_enabled(False):
            raise ValueError
    except ValueError:
        pass

    @hg.no_grad()
    def f():
        return len(grad_mode._grad_off_threads)

    assert f() == 1
    x = hg.ones(2, requires_grad=True)
    (x * 2).sum().backward()  # the engine switches recording off while it runs
    _run_threads([lambda: hg.no_grad().__call__(f)() for _ in range(4)])
    assert len(grad_mode._grad_off_threads) == 0
    assert (x * 2).requires_grad


def test_threads_running_stacked_lstms_at_once_get_their_sequential_results():
    """Each stacked LSTM (``lstm_layers``) runs its layers as a wavefront on the one pool thread
    that handgrad's parts share: user threads running such stacks at once wait for the pool,
    never for each other, and each gets the results it gets alone. (The models are made before
    the threads start: the random generator is one for the process, as torch's.)"""
    from nn_helpers import blas_pool

    def make(seed: int) -> tuple:
        hg.manual_seed(seed)
        return nn.LSTM(3, 6, num_layers=3), hg.randn(13, 4, 3, requires_grad=True)

    def run(lstm, x, start=None) -> list:
        if start is not None:
            start.wait()
        for _ in range(5):
            out, (h, c) = lstm(x)
            (out.sum() + h.sum() + c.sum()).backward()
        return [t.detach().numpy().copy() for t in [out, x.grad, *lstm.parameters()]] + [
            p.grad.numpy().copy() for p in lstm.parameters()
        ]

    with blas_pool(2):
        alone = [run(*make(s)) for s in range(3)]
        setups = [make(s) for s in range(3)]
        start = threading.Barrier(3, timeout=60)
        together = _run_threads([lambda st=st: run(*st, start) for st in setups])
    for a, b in zip(alone, together):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
