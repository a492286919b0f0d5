"""hg.set_num_threads / hg.get_num_threads, against torch's names and behaviour."""

import subprocess
import sys

import pytest
import threadpoolctl

import handgrad as hg


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
