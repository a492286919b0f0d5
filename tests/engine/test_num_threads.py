"""hg.set_num_threads / hg.get_num_threads, against torch's names and behaviour."""

import os
import subprocess
import sys
import threading

import pytest
import threadpoolctl

import handgrad as hg
from handgrad.ops import blas

from nn_helpers import blas_pool


def _blas_threads():
    return [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]


def test_set_num_threads_sets_the_blas_pool_and_get_reads_it():
    before = hg.get_num_threads()
    assert before >= 1
    try:
        hg.set_num_threads(1)
        assert hg.get_num_threads() == 1
        assert _blas_threads() and all(n == 1 for n in _blas_threads())
        hg.set_num_threads(2)
        assert hg.get_num_threads() == 2
    finally:
        hg.set_num_threads(before)
    assert hg.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_refuses_what_is_not_a_positive_int(bad):
    with pytest.raises(ValueError, match="set_num_threads"):
        hg.set_num_threads(bad)


def test_one_blas_thread_runs_its_block_on_one_thread_and_restores():
    before = hg.get_num_threads()
    try:
        hg.set_num_threads(2)
        with hg.threads.one_blas_thread():
            assert all(n == 1 for n in _blas_threads())
        assert hg.get_num_threads() == 2
    finally:
        hg.set_num_threads(before)


def test_the_core_runs_without_threadpoolctl():
    # threadpoolctl is an extra: without it an LSTM still runs (its time loop keeps the pool as it
    # is) and set_num_threads warns instead of failing, so ported programs still run.
    code = (
        "import sys, warnings\n"
        "sys.modules['threadpoolctl'] = None\n"
        "import handgrad as hg\n"
        "out, _ = hg.nn.LSTM(3, 4, batch_first=True)(hg.randn(2, 5, 3))\n"
        "out.sum().backward()\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    hg.set_num_threads(1)\n"
        "assert any('threadpoolctl' in str(w.message) for w in caught), caught\n"
        "print(hg.get_num_threads() >= 1)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


_SPIN = (
    "import os, numpy as np, handgrad as hg\n"
    "from handgrad.ops import blas\n"
    "libs = [c for c in blas.blas_libs() if c.internal_api == 'openblas'\n"
    "        and c.threading_layer == 'pthreads' and hasattr(c.dynlib, 'blas_thread_shutdown_')]\n"
    "if not libs:\n"
    "    print('skip'); raise SystemExit\n"
    "hg.set_num_threads(2)\n"
    "a = np.random.default_rng(0).random((300, 300))\n"
    "before = a @ a  # a threaded product: OpenBLAS's workers run\n"
    "blas.each_part(lambda lo, hi: None, 2, 2)\n"
    "after = a @ a  # the workers restarted\n"
    "assert np.array_equal(before, after)\n"
    "assert blas.blas_threads() == 2 and ('OPENBLAS_THREAD_TIMEOUT' in os.environ) == USER\n"
    "print(libs[0].dynlib.openblas_thread_timeout())\n"
)


@pytest.mark.parametrize("user", [None, "12"])
def test_handgrads_threads_make_openblas_workers_sleep_when_idle(user):
    # OpenBLAS's workers spin about 0.1 s after a threaded product; a part handgrad then ran on
    # its own thread shared a core with one (2026-12-07: two halves of five exp passes over 4 MiB
    # took 3.3 ms after a product, 1.5 ms after a pause, 1.9 ms on one thread). The first time
    # handgrad shares work among its threads, OpenBLAS's workers restart with a short spin,
    # unless the user chose one (OPENBLAS_THREAD_TIMEOUT, kept as it is)
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if user is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = user
    code = _SPIN.replace("USER", str(user is not None))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    if proc.stdout.strip() == "skip":
        pytest.skip("NumPy's BLAS is not OpenBLAS with its own threads")
    assert proc.stdout.strip() == ("4" if user is None else user)


@pytest.mark.parametrize("threads", [1, 2])
def test_wavefront_runs_each_chunk_after_the_stage_below(threads):
    """``blas.wavefront``: every stage's chunks in order, stage k's chunk c after stage k - 1's;
    with two threads the stages alternate between the caller and the pool thread."""
    log, lock = [], threading.Lock()

    def stage(k):
        def chunk(c):
            with lock:
                log.append((k, c, threading.current_thread().name))

        return chunk

    with blas_pool(threads):
        blas.wavefront([stage(k) for k in range(3)], 4)
    assert sorted((k, c) for k, c, _ in log) == [(k, c) for k in range(3) for c in range(4)]
    at = {(k, c): i for i, (k, c, _) in enumerate(log)}
    assert all(at[k, c] < at[k, c + 1] for k in range(3) for c in range(3))
    assert all(at[k - 1, c] < at[k, c] for k in range(1, 3) for c in range(4))
    names = {k: {n for kk, _, n in log if kk == k} for k in range(3)}
    if threads == 1:
        assert names == {k: {threading.current_thread().name} for k in range(3)}
    else:  # stages 0 and 2 on the caller, stage 1 on the pool's thread
        assert names[0] == names[2] == {threading.current_thread().name}
        assert len(names[1]) == 1 and names[1] != names[0]


@pytest.mark.parametrize("failing", [0, 1])
def test_wavefront_raises_a_stages_error_without_leaving_the_other_waiting(failing):
    """A stage that raises (on the caller's thread or on the pool's) releases the chunks it did
    not do, so the other thread finishes, and the error comes out of ``wavefront``."""
    done = []

    def stage(k):
        def chunk(c):
            if k == failing and c == 1:
                raise ZeroDivisionError(f"stage {k} chunk {c}")
            done.append((k, c))

        return chunk

    with blas_pool(2), pytest.raises(ZeroDivisionError, match=f"stage {failing} chunk 1"):
        blas.wavefront([stage(k) for k in range(3)], 3)
    assert (failing, 0) in done and (failing, 2) not in done
