"""hg.set_num_threads / hg.get_num_threads, against torch's names and behaviour."""

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
