"""The parity suite catches a wrong derivative: a deliberately wrong primitive, registered for
the length of one test, must fail the torch comparison, the finite-difference check and the
"every primitive has a case" rule. A suite that passed it would be a suite that cannot fail."""

from __future__ import annotations

import numpy as np
import pytest

import handgrad as hg
from handgrad.autograd import PRIMITIVES, Function

import test_parity
from cases.common import Case


def _register(name, backward):
    """A primitive computing ``a ** 2`` whose backward is ``backward(self, g)``."""
    cls = type(
        name.title().replace("_", ""),
        (Function,),
        {
            "name": name,
            "__doc__": "out = a^2, with a backward that the self-test gets wrong on purpose.",
            "forward": lambda self, a: a * a,
            "backward": backward,
        },
    )
    return cls


@pytest.fixture
def wrong_primitive():
    """Yields a function registering a wrong ``square`` variant; unregisters afterwards."""
    made = []

    def make(name, backward):
        made.append(name)
        return _register(name, backward)

    yield make
    for name in made:
        PRIMITIVES.pop(name, None)


def _case(cls):
    return Case(
        fn=lambda lib, a: cls.apply(a) if lib is hg else a * a,
        draw=lambda data: ([np.linspace(-1.5, 2.0, 6).reshape(2, 3)], {}),
    )


def test_a_wrong_first_derivative_fails_against_torch_and_finite_differences(wrong_primitive):
    cls = wrong_primitive("selftest_missing_factor", lambda self, g: g * self.inputs[0])
    case = _case(cls)
    arrays, params = case.draw(None)
    with pytest.raises(AssertionError, match="gradient of input 0"):
        test_parity._check("selftest_missing_factor", case, arrays, params, np.float64)
    x = hg.tensor(arrays[0], requires_grad=True)
    assert not hg.gradcheck(lambda t: cls.apply(t), [x])


def test_a_backward_outside_the_graph_fails_at_second_order(wrong_primitive):
    # Right first derivative, but computed in NumPy: gradients of gradients come out as zero.
    def numpy_backward(self, g):
        return hg.tensor(2 * self.inputs[0].detach().numpy() * g.detach().numpy())

    cls = wrong_primitive("selftest_numpy_backward", numpy_backward)
    case = _case(cls)
    arrays, params = case.draw(None)
    with pytest.raises(AssertionError, match="second derivative"):
        test_parity._check("selftest_numpy_backward", case, arrays, params, np.float64)


def test_a_primitive_without_a_case_fails_the_registry_rule(wrong_primitive):
    wrong_primitive("selftest_without_case", lambda self, g: 2 * g * self.inputs[0])
    with pytest.raises(AssertionError, match="selftest_without_case"):
        test_parity.test_every_primitive_has_a_parity_case()


def test_the_right_primitive_passes(wrong_primitive):
    # The control: the same machinery accepts the correct derivative, so the failures above
    # come from the wrong rules and not from the harness.
    cls = wrong_primitive("selftest_right", lambda self, g: 2 * g * self.inputs[0])
    case = _case(cls)
    arrays, params = case.draw(None)
    test_parity._check("selftest_right", case, arrays, params, np.float64)
    x = hg.tensor(arrays[0], requires_grad=True)
    assert hg.gradcheck(lambda t: cls.apply(t), [x])
