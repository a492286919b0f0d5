"""hg.metrics against scikit-learn on random data, and the documented tie rule."""

import numpy as np
import pytest
from sklearn import metrics as skm

import handgrad as hg
from handgrad import metrics


@pytest.mark.parametrize("seed", range(5))
def test_topk_accuracy_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, c = 200, 7
    scores = rng.normal(size=(n, c)).astype(np.float32)  # continuous: no ties
    target = rng.integers(0, c, n)
    got = metrics.topk_accuracy(hg.tensor(scores), hg.tensor(target), k=tuple(range(1, c + 1)))
    for k, acc in zip(range(1, c), got):  # sklearn warns at k = c (trivially 1)
        want = skm.top_k_accuracy_score(target, scores, k=k, labels=np.arange(c))
        assert acc == pytest.approx(want, abs=1e-12)
    assert got[-1] == 1.0
    err = metrics.topk_error(scores, target, k=3)
    assert err == pytest.approx(
        1 - skm.top_k_accuracy_score(target, scores, k=3, labels=np.arange(c))
    )


def test_topk_int_and_tuple_forms():
    scores = np.array([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05]])
    target = np.array([2, 0])
    assert metrics.topk_accuracy(scores, target, k=1) == 0.5
    assert metrics.topk_accuracy(scores, target, k=(1, 2)) == (0.5, 1.0)
    assert metrics.topk_error(scores, target, k=(1, 2)) == (0.5, 0.0)


def test_ties_break_towards_lower_index_like_argmax():
    # A constant output ranks class j at position j: right at k for targets 0..k-1 only.
    scores = np.zeros((4, 4), dtype=np.float32)
    target = np.arange(4)
    assert metrics.ranks(scores, target).tolist() == [0, 1, 2, 3]
    assert metrics.topk_accuracy(scores, target, k=(1, 2, 4)) == (0.25, 0.5, 1.0)
    # top-1 always equals argmax accuracy, ties included.
    rng = np.random.default_rng(0)
    s = rng.integers(0, 3, size=(300, 5)).astype(np.float32)  # many ties
    y = rng.integers(0, 5, 300)
    assert metrics.topk_accuracy(s, y, k=1) == metrics.accuracy(s, y)
    assert metrics.accuracy(s, y) == float((s.argmax(1) == y).mean())
    # Partial tie at the boundary: scores (1, 2, 2), target 2 loses to class 1 at k=1.
    assert metrics.ranks(np.array([[1.0, 2.0, 2.0]]), np.array([2])).tolist() == [1]
    assert metrics.ranks(np.array([[1.0, 2.0, 2.0]]), np.array([1])).tolist() == [0]


def test_accuracy_from_predictions_or_scores():
    assert metrics.accuracy(np.array([1, 2, 3]), np.array([1, 2, 0])) == pytest.approx(2 / 3)
    assert metrics.accuracy(hg.tensor([[0.0, 1.0], [2.0, 1.0]]), hg.tensor([1, 1])) == 0.5


@pytest.mark.parametrize("seed", range(3))
def test_confusion_matrix_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 6, 500)
    p = rng.integers(0, 6, 500)
    got = metrics.confusion_matrix(hg.tensor(p), hg.tensor(y), num_classes=6)
    np.testing.assert_array_equal(got, skm.confusion_matrix(y, p, labels=np.arange(6)))
    assert got.sum() == 500 and got.dtype == np.int64
    # Scores are reduced by argmax first.
    scores = rng.normal(size=(500, 6))
    np.testing.assert_array_equal(
        metrics.confusion_matrix(scores, y, 6),
        skm.confusion_matrix(y, scores.argmax(1), labels=np.arange(6)),
    )


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="k must be an int in"):
        metrics.topk_accuracy(np.zeros((2, 3)), np.array([0, 1]), k=4)
    with pytest.raises(ValueError, match="out of range"):
        metrics.topk_accuracy(np.zeros((2, 3)), np.array([0, 3]), k=1)
    with pytest.raises(ValueError, match="2 rows but target has 3"):
        metrics.accuracy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="NaN"):
        metrics.topk_accuracy(np.array([[np.nan, 1.0]]), np.array([0]))
    with pytest.raises(ValueError, match="outside"):
        metrics.confusion_matrix(np.array([0, 5]), np.array([0, 1]), num_classes=3)
