"""A fixed, seeded sample of the differential fuzzer (``make fuzz`` runs fresh campaigns): every
mismatch must be a kink/tie convention, an accepted difference or float rounding, never a
defect."""

from __future__ import annotations

from .runner import check, generate

SEEDS = range(0, 300)


def test_fuzz_sample_has_no_defect():
    defects = []
    for seed in SEEDS:
        for f in check(generate(seed)):
            if f.cls == "defect":
                defects.append(
                    f"seed {seed}: {f.op or '<program>'} ({f.what}, {f.reason})\n  {f.repro()}"
                )
    assert not defects, f"{len(defects)} defects:\n" + "\n".join(defects)


def test_fuzzer_finds_a_planted_defect(monkeypatch):
    """The fuzzer is not blind: relu's old multiplying backward (0 * inf = NaN under sqrt) is
    found, shrunk to relu and classified as a defect."""
    import numpy as np

    import handgrad as hg
    from handgrad.ops import elementwise

    from .runner import Program

    def multiplying_backward(self, g):
        return g * hg.Tensor._wrap((self.out > 0).astype(self.out.dtype))

    monkeypatch.setattr(elementwise.Relu, "backward", multiplying_backward)
    prog = Program(
        7,
        "float64",
        "normal",
        np.array([-1.0, 0.5, 2.0]),
        [("relu", {}), ("sqrt", {}), ("sum", {"dim": None, "keepdim": False})],
    )
    (finding,) = check(prog)
    assert (finding.cls, finding.op, finding.what) == ("defect", "relu", "grad")


def test_fuzzer_blames_the_step_whose_rounding_error_a_program_amplifies(monkeypatch):
    """exp off by 1e-10 (relative) passes when run alone, as does fmod on its input; an fmod
    by a tiny divisor amplifies the error beyond the tolerance. The shrinker finds where the two
    runs part (exp's output, from the same input) and, as torch does not move that much when its
    input moves by a few ulps, calls it a defect of exp; exact exp is clean."""
    import numpy as np

    from handgrad.ops import elementwise

    from .runner import Program

    prog = Program(
        11,
        "float64",
        "normal",
        np.array([30.0, 29.5]),
        [("exp", {}), ("fmod", {"w": np.array([1e-3, 1e-3])})],
    )
    assert check(prog) == []
    monkeypatch.setattr(elementwise.Exp, "forward", lambda self, a: np.exp(a) * (1 + 1e-10))
    (finding,) = check(prog)
    assert (finding.cls, finding.op, finding.what) == ("defect", "exp", "forward")


def test_a_constant_against_torchs_zero_explains_nan_before_a_rounding_difference():
    """Seed 22419224: an infinite target gives binary_cross_entropy_with_logits an infinite
    gradient, which meets fmod's gradient by its divisor, -g trunc(x / w): torch's trunc has the
    derivative 0 (0 * inf = NaN), handgrad's is a constant. The shrinker named a 1e-15 rounding
    difference of the loss's gradient, earlier in its list, which cannot give NaN."""
    from .runner import generate

    (finding,) = check(generate(22419224))
    assert (finding.cls, finding.op, finding.reason) == (
        "accepted",
        "fmod",
        "zero_gradient_ops_are_constants",
    )


def test_a_finite_value_is_never_close_to_an_inf():
    """|h - inf| <= rtol * |inf| holds for every finite h: the comparison must still tell a
    finite result from torch's inf (hardswish(1e38) in float32: torch inf, handgrad 1e38)."""
    import numpy as np

    from .runner import bad_positions

    h = np.array([1e38, np.inf, -np.inf, 2.0], np.float32)
    t = np.array([np.inf, np.inf, np.inf, 2.0], np.float32)
    assert bad_positions(h, t, 2e-3).tolist() == [True, False, True, False]
    assert bad_positions(t, h, 2e-3).tolist() == [True, False, True, False]


def test_a_float32_rounding_no_worse_than_torchs_is_not_a_defect():
    """Where a float32 step's two results part beyond torch's noise, torch's float64 result on
    the same input is the reference: handgrad's value as close to it as torch's is rounding,
    a value further from it than torch's is not."""
    import numpy as np

    from .runner import Program, _closer_to_float64

    x = np.array([0.3, -1.7, 2.9], np.float32)
    prog = Program(seed=1, dtype="float32", mode="normal", x=x, steps=[("exp", {})])
    exact = np.exp(x.astype(np.float64)).astype(np.float32)
    off = np.nextafter(np.nextafter(exact, np.inf), np.inf)  # two ulps away
    b = np.ones(3, bool)
    assert _closer_to_float64(prog, 0, x, None, "forward", 0, exact, off, b, {})
    assert not _closer_to_float64(prog, 0, x, None, "forward", 0, off, exact, b, {})
    prog64 = Program(seed=1, dtype="float64", mode="normal", x=x.astype(np.float64))
    prog64.steps = [("exp", {})]
    assert not _closer_to_float64(prog64, 0, x, None, "forward", 0, exact, off, b, {})
