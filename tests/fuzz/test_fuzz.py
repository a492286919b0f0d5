"""A fixed, seeded sample of the differential fuzzer (``make fuzz`` runs fresh campaigns): every
mismatch must be a kink/tie convention, an accepted difference or float rounding, never a
defect."""

from __future__ import annotations

from .runner import EXACT_CLOSER, check, generate

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


def test_silu_second_derivative_in_torchs_order():
    """fuzz seed 3438021 (float64 silu, asin, mse_loss): silu's gradient formed as g s (1 + a
    (1 - s)), g s first, as torch's silu_backward and its differentiable form under create_graph;
    formed as g (s (a (1 - s) + 1)) its second derivative overflowed to inf where torch's is
    8.3e307."""
    assert not [f for f in check(generate(3438021)) if f.cls == "defect"]


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


def test_fuzzer_checks_the_backward_without_a_graph(monkeypatch):
    """The gradient a user's loss.backward() takes (no create_graph) is compared too: a batch
    norm whose no-graph fast path reads a wrong saved x^ is found and blamed on batch_norm,
    though with a graph (the first derivative the rest of the fuzzer takes) it is right."""
    import numpy as np

    from handgrad.ops import normalization

    from .runner import Program

    saved = normalization.BatchNorm._saved

    def wrong_when_plain(self, x):
        xhat, rstd = saved(self, x)
        return (xhat * 2, rstd) if not normalization.is_grad_enabled() else (xhat, rstd)

    monkeypatch.setattr(normalization.BatchNorm, "_saved", wrong_when_plain)
    r = np.random.default_rng(0)
    w, b = r.standard_normal(3), r.standard_normal(3)
    prog = Program(
        5,
        "float64",
        "normal",
        r.standard_normal((4, 3)),
        [("F.batch_norm", {"w": w, "wb": b})],  # alone: a later exp's second derivative
    )  # would run batch norm's backward without a graph too (through exp's output)
    (finding,) = check(prog)
    assert (finding.cls, finding.op, finding.what) == ("defect", "F.batch_norm", "grad")
    assert "without create_graph" in finding.reason
    monkeypatch.setattr(normalization.BatchNorm, "_saved", saved)
    assert check(prog) == []


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


def test_remainder_by_zero_behind_fmod_is_a_constant_against_torchs_zero():
    """Seed 22332566: remainder by a divisor 0 (floor(x / 0) = inf in its gradient by the
    divisor) before fmod, whose gradient by its own divisor holds trunc: torch's zero derivative
    of trunc meets that inf (NaN), handgrad's trunc is a constant and it has no gradient. This
    was labelled torch_overflows, though nothing overflows."""
    (finding,) = check(generate(22332566))
    assert (finding.cls, finding.reason) == ("accepted", "zero_gradient_ops_are_constants")


def test_a_piecewise_linear_steps_zero_is_checked_with_torch_not_called_a_constant():
    """Seed 813181448: torch's double backward of leaky_relu forms a zero tensor that meets the
    inf of a pairwise_distance to -inf; leaky_relu is no zero-gradient op, so the finding is the
    one torch itself confirms (its backward frozen), not zero_gradient_ops_are_constants. Since
    handgrad's leaky_relu ties its gradient to x as torch's leaky_relu_backward
    (ops/zero_derivative.py), its zero meets the inf as torch's does: no finding."""
    assert check(generate(813181448)) == []


def test_cancelling_second_derivative_is_judged_against_difference_quotients():
    """sqrt(x) at x = 5e-324 before cos and sqrt: the second derivative's terms are of size
    1 / (8 x) and cancel to -1 / 48 (g u times it): torch -1 / 16, handgrad 0, both noise, and
    moving x by ulps moves neither. The difference quotient of the first-order gradient (both
    agree on it) gives -1 / 48, to which handgrad is as close as torch: rounding. A handgrad
    farther off than 4 times torch's distance stays a defect."""
    import numpy as np

    from .runner import TORCH, Program, _closer_to_difference_quotient, run

    prog = Program(
        3,
        "float64",
        "normal",
        np.array([5e-324, 0.5]),
        [("sqrt", {}), ("cos", {}), ("sqrt", {})],
    )
    t = run(TORCH, prog.x, prog.steps, seed=prog.seed)
    tv = t.grads2[0]
    b = np.array([True, False])
    truth = -1 / 48 * t.grads2[0][0] / -0.0625  # torch's value is -1/16 of g u: rescale
    assert abs(tv[0] / truth - 3) < 1e-6  # torch: 3 times the true value
    near = tv.copy()
    near[0] = 0.0  # handgrad's value: off by 1 truth, torch by 2
    assert _closer_to_difference_quotient(prog, t, 0, b, near, tv)
    far = tv.copy()
    far[0] = truth + 9 * (tv[0] - truth)
    assert not _closer_to_difference_quotient(prog, t, 0, b, far, tv)
    assert [f.cls for f in check(generate(1988574450))] == ["rounding"]


def _pow_exponent_gradient_formed_again(monkeypatch):
    """pow's backward as it was before seed 2113602076: a^b log a with a^b formed again from the
    inputs, not read from the output (its second derivative then reaches the exponent directly,
    where torch's passes through the output)."""
    import handgrad as hg
    from handgrad.ops import elementwise

    def formed_again(self, g):
        a, b = self.inputs
        z = (a == 0) & (b >= 0)
        ga = hg.where(b == 0, 0.0, g * (b * a ** (b - 1)))
        return ga, hg.where(z, 0.0, g * hg.where(z, 0.0, a**b * hg.log(a)))

    monkeypatch.setattr(elementwise.Pow, "backward", formed_again)


def test_inf_against_nan_after_a_few_ulps_is_nonfinite_either_way(monkeypatch):
    """Seed 645037925: linear's gradient is 6 ulps apart in the two libraries (a sum in another
    order), and pow's exponent gradient after huge values ended NaN in handgrad, +-inf in torch:
    which of inf - inf and inf the terms give depends on those last bits. Neither is a number;
    the finding names linear's parting but accepts, instead of a rounding defect. Since pow's
    exponent gradient reads its output, as torch's (seed 2113602076), handgrad gives torch's inf
    there too; the classifier is checked with the old gradient, which formed a^b again."""
    assert check(generate(645037925)) == []
    _pow_exponent_gradient_formed_again(monkeypatch)
    (finding,) = check(generate(645037925))
    assert (finding.cls, finding.op, finding.reason) == (
        "accepted",
        "F.linear",
        "nonfinite_either_way",
    )


def test_an_elementwise_overflow_beside_a_nan_is_from_finite_input():
    """Seed 757807655: celu's second derivative at x = -24.17 under g = -2e27 (float32) is
    -3.9e17 in handgrad (the exact value), -inf in torch (g u / alpha overflows first). The
    element next to it is NaN; an element-wise op's NaN cannot reach it, so the mismatch is
    still torch's overflow from finite input. A reduction's NaN could: it stays a defect."""
    import numpy as np

    from .runner import _finite_in

    x = np.array([[[-24.16746, np.nan]]], np.float32)
    g = np.array([[[-2.03313e27, np.nan]]], np.float32)
    b = np.array([[[True, False]]])
    assert _finite_in("F.celu", {"alpha": 0.5}, x, g, "grad2", 0, b)
    assert not _finite_in("F.celu", {"alpha": 0.5}, x, g, "grad2", 0, ~b)
    assert not _finite_in("sum", {"dim": None}, x, g, "grad", 0, b)


def test_a_loss_without_reduction_is_element_wise_for_finite_input():
    """Seed 2030051301: soft_margin_loss(reduction="none") at x = 7.8e-85, y = 9.5e148 under
    u = -4.3e85 (float64): torch's second derivative g u y^2 e^(-y x) / (1 + e^(-y x))^2 is
    -inf * 0 = NaN, handgrad's the exact -0. A NaN direction at another element cannot reach
    it; with a reduction it could."""
    import numpy as np

    from .runner import _finite_in

    x = np.array([7.817477e-85, 0.0])
    p = {"w": np.array([9.494225e148, 1.0]), "reduction": "none", "u": np.array([-4.3e85, np.nan])}
    b = np.array([True, False])
    g = np.array([0.6, 0.8])
    assert _finite_in("F.soft_margin_loss", p, x, g, "grad2", 0, b)
    assert not _finite_in("F.soft_margin_loss", p, x, g, "grad2", 0, ~b)
    assert not _finite_in("F.soft_margin_loss", {**p, "reduction": "sum"}, x, g, "grad2", 0, b)


def test_a_reduction_overflow_beside_an_inf_in_another_slice_is_from_finite_input():
    """Seed 2030166749: var over dim 0 (two elements) under g = -8.6e37: torch's second
    derivative g (u_i - mean u) is NaN, -inf (it forms g u_i = 4.9e38 first), handgrad's the
    exact 2.4e38; another slice holds an inf, which cannot reach this one. Over all dims
    (dim=None) it could: not from finite input then."""
    import numpy as np

    from .runner import _finite_in

    x = np.array([[1.967812, np.inf], [-0.531368, 0.0]], np.float32)
    u = np.array([[-5.720514, np.nan], [-0.057949, 1.0]], np.float32)
    g = np.array([-8.569228e37, 1.0], np.float32)
    b = np.array([[True, False], [True, False]])
    p = {"dim": 0, "keepdim": False, "correction": 0, "u": u}
    assert _finite_in("var", p, x, g, "grad2", 0, b)
    assert not _finite_in("var", p, x, g, "grad2", 0, ~b)
    assert not _finite_in("var", {**p, "dim": None}, x, g, "grad2", 0, b)
    assert not _finite_in("var", {**p, "keepdim": True}, x, g, "grad2", 0, b)  # g's shape


def test_a_normalization_overflow_beside_a_nonfinite_group_is_from_finite_input():
    """Seeds 21324175 and 443440412: a normalization's groups (batch_norm's channels) are
    independent, so an inf in another group cannot reach the mismatching one; an inf in its
    own group can."""
    import numpy as np

    from .runner import _finite_in

    x = np.array([[[0.5, np.inf], [0.47, 0.84]]])  # instance_norm: groups are the rows
    g = np.ones_like(x)
    b = np.array([[[False, False], [True, True]]])
    assert _finite_in("F.instance_norm", {}, x, g, "grad2", 0, b)
    assert not _finite_in("F.instance_norm", {}, x, g, "grad2", 0, ~b)
    xb = np.array([[1.0, 2.0], [np.inf, 3.0]])  # batch_norm: channels are the columns
    cb = np.array([[False, True], [False, True]])
    assert _finite_in("F.batch_norm", {}, xb, np.ones_like(xb), "grad", 0, cb)
    assert not _finite_in("F.batch_norm", {}, xb, np.ones_like(xb), "grad", 0, ~cb)


def test_an_rms_norm_overflow_beside_a_nonfinite_row_is_from_finite_input():
    """Seed 263201974: rms_norm of [0, -1.41, 0.156] under g of up to 7.9e307 (float64): the
    exact second derivative (mpmath) is [1.62e308, 2.0759114170244593e307,
    3.9887914958074093e307]; handgrad gives inf and the last two to 15 digits, torch NaN, -inf,
    inf. Its rows along the last dim are independent: the inf in another row's g cannot reach
    this one, so the mismatch is torch's overflow from finite input; one in its own row can."""
    import numpy as np

    from .runner import _finite_in

    x = np.array([[0.0, -1.408748965855208, 0.15615722798586731], [0.27, -1.4, 0.49]])
    g = np.array([[1.37e307, -7.86e307, 2.75e307], [-np.inf, 4.1e307, 8.2e305]])
    p = {"w": np.array([0.437, -1.474, 0.243]), "u": np.ones_like(x)}
    b = np.array([[True, True, True], [False, False, False]])
    assert _finite_in("F.rms_norm", p, x, g, "grad2", 0, b)
    assert not _finite_in("F.rms_norm", p, x, g, "grad2", 0, ~b)


def test_a_cosine_overflow_beside_a_nonfinite_row_is_from_finite_input():
    """Seed 2030070078: cosine_similarity along a dim of one element; torch's second derivative
    by w = 5e-324 overflows (1 / |w|), handgrad's is torch's own value at w = 2e-302; the NaN
    is in the other row of x, which cannot reach w's element. A w broadcast over both rows can."""
    import numpy as np

    from .runner import _finite_in

    x = np.array([[np.nan], [-0.71]])
    g = np.array([1.0, 1.0])
    b = np.array([[False], [True]])
    p = {"w": np.array([[-1.71], [5e-324]]), "dim": -1}
    assert _finite_in("F.cosine_similarity", p, x, g, "grad2", 1, b)
    assert not _finite_in("F.cosine_similarity", p, x, g, "grad2", 1, ~b)
    p1 = {"w": np.array([[5e-324]]), "dim": -1}
    assert not _finite_in("F.cosine_similarity", p1, x, g, "grad2", 1, np.array([[True]]))


def test_a_plain_gradient_that_agrees_in_float64_is_rounding():
    """Seed 2094433834: layer_norm of the float32 row [1, 1, 1, 1.0000479] (its mean rounds by
    0.5% of its spread) after exp; the weight gradients without create_graph differ by 0.6%,
    no single step differs, and in float64 they agree: rounding, as localise judges it. (Since
    the row kernel corrects its mean by the mean of the residuals, seed 922836319, handgrad's
    mean is torch's there and the program agrees: no finding, or that rounding one.)"""
    findings = check(generate(2094433834))
    assert all(f.cls == "rounding" and f.what == "grad" for f in findings)


def test_a_correctly_rounded_norm_torch_rounds_on_the_way_is_rounding():
    """Seed 232822832: norm(p=3) of one float64 element x = -2.1325e30; torch forms
    pow(pow(|x|, 3), 1/3) = 2.1325087867028168e30 (a few ulps off), handgrad the exact |x|,
    which mpmath confirms; sin() after it amplifies the ulps: rounding, not a defect."""
    import numpy as np

    from .runner import Program, _correctly_rounded

    x = np.array(-2.132508786702825e30)
    p = {"dim": -1, "keepdim": True, "p": 3.0}
    steps = [("norm", p), ("prod", {"dim": 0, "keepdim": True}), ("sin", {})]
    (finding,) = check(Program(232822832, "float64", "wide", x, steps))
    assert (finding.cls, finding.op, finding.what) == ("rounding", "norm", "forward")
    b = np.array(True)
    assert _correctly_rounded("norm", p, x, np.array(2.132508786702825e30), b)
    assert not _correctly_rounded("norm", p, x, np.array(2.1325087867028168e30), b)


def test_a_plain_gradient_that_is_torchs_own_with_a_graph_is_accepted():
    """Seed 196103326: group_norm over one-element groups, whose fused kernel without a graph
    leaves -3.8e-6 where the derivative (and torch's with a graph) is 0, below any step's
    tolerance; asin's infinite derivative at 1 after it makes torch's plain gradient inf, its
    graph's 0 * inf NaN. handgrad's plain gradient is the graph's: accepted, not a defect."""
    (finding,) = check(generate(196103326))
    assert (finding.cls, finding.reason) == ("accepted", "torch_plain_backward_differs")


def test_accepted_elements_beside_a_last_bit_difference_where_the_runs_part():
    """Seed 757779896: the runs part at mish's forward, where torch's vectorised kernel flushes
    the subnormal x e^x at x = -744.44 to -0 (torch_sigmoid_exp_overflows; a later x ** 2.5
    tells them apart) and rounds mish(0.9232) an ulp off the correctly rounded value handgrad
    gives. The accepted elements explain it; the ulp elsewhere is no defect."""
    (finding,) = check(generate(757779896))
    assert (finding.cls, finding.op, finding.reason) == (
        "accepted",
        "F.mish",
        "torch_sigmoid_exp_overflows",
    )


def test_a_cancelling_sum_over_broadcast_dims_is_rounding():
    """Seed 1227375939: clamp's upper bound (shape (2, 1, 1)) receives the sum of ten upstream
    gradients, 8 g and 2 (-4 g) with g = 3.9e168: exactly 0. torch gives 0 and -3.4e153,
    handgrad -1.7e153 twice, both the noise of eps times the terms; a later division by 1e-170
    amplifies it. torch moves that much when g moves by a few ulps: rounding."""
    (finding,) = check(generate(1227375939))
    assert (finding.cls, finding.op) == ("rounding", "clamp_tensor")


def test_a_second_derivative_that_cancels_is_rounding_when_g_and_u_move():
    """Seed 21269641: logcumsumexp of one element is x, its second derivative exactly 0; both
    libraries form it as g u e^z - g u e^(log e^z), which rounds. torch gives 0 at this g and u,
    handgrad 2.4e24; moving x alone does not show torch's noise, moving g and u by a few ulps
    does (torch 1e25 and more): rounding."""
    import numpy as np

    from .runner import HG, TORCH, Program, _ill_conditioned, run

    x = np.array([-1.24276145e-11], np.float32)
    g = np.array([-0.164333642], np.float32)
    kw = {"vs": [np.array([1.72286069e32], np.float32)], "g_leaf": True}
    step = ("logcumsumexp", {"dim": -1})
    h, t = (run(L, x, [step], g=g, seed=21269641, **kw) for L in (HG, TORCH))
    hv, tv = h.grads2[0], t.grads2[0]
    assert tv[0] == 0 and abs(hv[0]) > 1e24
    prog = Program(21269641, "float32", "wide", x, [step])
    b = np.array([True])
    assert _ill_conditioned(prog, *step, x, g, "grad2", 0, hv, tv, b, kw)


def test_a_forward_value_the_program_amplifies_from_last_bits_is_rounding():
    """Seed 21274099 (float64): poisson_nll_loss (handgrad's e^x - y x correctly rounded,
    torch's an ulp off), exp, cosh and 2 ** x agree within their tolerance and reach 4.2e18,
    whose ulp is 512; fmod by 1.23 then gives 0.366 in handgrad and 0.738 in torch. Moving the
    input by a few ulps moves torch's output as much: rounding, not a defect."""
    (finding,) = check(generate(21274099))
    # (which step it is named at depends on which of torch's kernels is an ulp off on this CPU:
    # none on the machine the seed was found on, rpow on a Xeon model 207 VM)
    assert (finding.cls, finding.what) == ("rounding", "forward")


def test_a_gradient_that_cancels_is_rounding_when_g_moves():
    """Seed 21239142 (float64): linear interpolation from one element to three sums the three
    upstream gradients, which cancel (exactly 2.8e-17, 0, 0 in the first row): handgrad gives
    2.8e-17, 0, -1.4e-17, torch 2.4e-17, 6e-18, 5e-19, both eps |g| apart from the truth; x
    moved by ulps does not move torch's value, g moved by ulps does: rounding."""
    (finding,) = check(generate(21239142))
    assert (finding.cls, finding.op) == ("rounding", "F.interpolate")


def test_steps_over_an_empty_input_keep_torchs_second_derivative():
    """Seed 130558623: remainder by 5e-324 (x / w overflows, floor is inf), topk(k=0), then
    avg_pool1d, xlogy and amax over nothing. torch's double backwards of avg_pool1d and xlogy
    still send zeros back, and remainder's gradient by w makes -0 * inf = NaN of them. handgrad
    had no such edge (its recorded gradients through empty nodes were constants: no second
    derivative, 0; accepted as torch_zero_second_derivative_meets_nonfinite); they keep torch's
    graph now, and the second derivatives are torch's, the NaN included: no finding."""
    assert check(generate(130558623)) == []


def test_local_response_norm_of_nothing_is_its_input():
    """Seed 300309259: remainder by a w whose x / w is infinite, narrow to nothing, then
    local_response_norm. torch returns an empty input itself (gradient g, no graph to it);
    handgrad's composition tied its recorded gradient to the input, and a second derivative's
    zeros reached remainder's gradient by w: -0 * inf = NaN where torch has 0."""
    assert check(generate(300309259)) == []


def test_a_reductions_derivative_by_its_upstream_gradient_is_a_sum_that_rounds():
    """Seed 1281064902 (abs, l1_loss, clamp0_sqrt, xlogy, fmod, fmod): the mismatch it shows now
    is the first fmod's divisor, whose second derivative handgrad does not have (trunc in
    -g trunc(x / w) is a constant) and torch gives NaN (trunc's zero derivative meets a NaN).
    torch with the fmods' backwards frozen gives none either: zero_gradient_ops_are_constants
    at fmod. (It was named a rounding of l1_loss's sum of sign(x - w) u, 7.5e-15 apart, which
    cannot give NaN against no gradient.)"""
    (finding,) = check(generate(1281064902))
    assert (finding.cls, finding.op, finding.reason) == (
        "accepted",
        "fmod",
        "zero_gradient_ops_are_constants",
    )


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


def test_a_graph_edge_torch_lacks_is_named():
    """Seed 160934471: conv_transpose1d over an empty batch, then the NaN mean of nothing and
    softmin. torch's weight gradient there is a constant (no edge back to its upstream
    gradient), handgrad's keeps an edge whose zeros meet softmin's NaN in the second derivative:
    NaN against torch's none. The localiser names the step (until conv's backward returns a
    constant there, when the program is clean)."""
    found = check(generate(160934471))
    assert found == [] or [(f.cls, f.op, f.reason) for f in found] == [
        ("defect", "F.conv_transpose1d", "a graph edge torch lacks")
    ]


def test_a_steps_operand_gradient_is_judged_under_the_steps_own_upstream_gradient():
    """Seed 1884928890: layer_norm over one element (x^ = 0 exactly in handgrad, -3e-14 in
    torch's fused x a + b) then gelu and rsqrt, whose gradient 2.5e5 reaches layer_norm. Its
    weight gradient sum(g x^) is 0 against torch's -3e-9: beyond the program's floor (its output
    gradient is about 1), within that of the step's own upstream gradient, where layer_norm
    alone gives the same two values."""
    (finding,) = check(generate(1884928890))
    assert (finding.cls, finding.op) == ("rounding", "F.layer_norm")


def test_an_error_after_the_runs_part_is_named_at_the_parting_step():
    """Seed 1778834452: softshrink's -0.0 (torch's vectorised kernel: +0.0), median, then 1 / x
    gives -inf against inf, hardswish NaN against inf, and binary_cross_entropy refuses the NaN
    (torch refuses it too, run on from handgrad's value). The localiser names softshrink, whose
    sign of zero is an accepted difference."""
    (finding,) = check(generate(1778834452))
    assert (finding.cls, finding.what, finding.op, finding.reason) == (
        "accepted",
        "error",
        "F.softshrink",
        "softshrink_zero_sign",
    )


def test_nll_loss_is_linear_in_its_input_for_the_frozen_rerun():
    """Seed 1778745634: einsum of a NaN input, then nll_loss (mean, weighted). nll_loss is
    linear in its input (its weight is a constant), but torch's double backward forms its zero
    second derivative as a tensor, which meets einsum's NaN input in the weight's second
    derivative; torch with nll_loss's backward frozen gives handgrad's finite value."""
    (finding,) = check(generate(1778745634))
    assert (finding.cls, finding.op, finding.reason) == (
        "accepted",
        "F.nll_loss",
        "torch_zero_second_derivative_meets_nonfinite",
    )


def test_a_linear_pool_is_frozen_with_the_piecewise_linear_steps():
    """Seed 1778791221: conv_transpose1d of an inf, leaky_relu, adaptive_avg_pool1d. Both
    leaky_relu's and the pool's torch double backwards form zeros_like of their input, which meet
    the inf in the conv weight's second derivative (torch NaN); torch with both frozen gives
    handgrad's former 0.2203654. Since handgrad's leaky_relu and adaptive pool tie their
    gradients to their inputs as torch's (ops/zero_derivative.py), it gives torch's NaN: no
    finding."""
    assert check(generate(1778791221)) == []


def test_pairwise_distance_p1_is_frozen_with_the_piecewise_linear_steps():
    """Seed 1856643 (float64): mse_loss (none), pairwise_distance(p=1), kl_div (sum), cumprod,
    cumprod. pairwise_distance is torch's norm of x - w + eps, sum |.| for p = 1: piecewise
    linear, as norm(p=1) (seed 1337346712). Its torch double backward forms the zero derivative
    of sgn(d) g (sgn's backward of a cotangent 2 (x - w1) u = inf: inf - inf) and sends the NaN
    back into mse_loss; handgrad's sign has no such edge. Here with the seed's values at one
    element, x = 0.219 against the mse target inf: the exact second derivative is 2 u g_a,
    g_a = sgn(d) (-w3 g) (kl_div's gradient by its input), handgrad's -0.99211, torch NaN, and
    torch with pairwise_distance's backward frozen (its exact derivative) gives handgrad's."""
    import numpy as np

    from .runner import HG, TORCH, Program, _zero_second_derivative_step, run

    x = np.array([[5e-324, 0.21904940427485203]])
    steps = [
        ("F.mse_loss", {"w": np.array([[0.22637203342529957, np.inf]]), "reduction": "none"}),
        (
            "F.pairwise_distance",
            {"w": np.array([[-1.2125459710059467, -1.110074669461874]]), "p": 1.0},
        ),
        (
            "F.kl_div",
            {"w": np.array([0.8906982915677912]), "reduction": "sum", "log_target": False},
        ),
    ]
    prog = Program(1856643, "float64", "edge", x, steps)
    t = run(TORCH, x, steps, seed=prog.seed, trace=True)
    h = run(HG, x, steps, seed=prog.seed)
    g, u = float(t.inter[2][1]), t.vs[0][0, 1]
    exact = 2 * u * (-0.8906982915677912 * g)  # sgn(d) = 1: d = inf
    hv, tv = h.grads2[0], t.grads2[0]
    assert np.isnan(tv[0, 1]) and hv[0, 1] == exact  # -0.99211387
    assert hv[0, 0] == tv[0, 0]
    b = np.array([[False, True]])
    assert _zero_second_derivative_step(prog, hv, tv, b, 0, t) == 1
    (finding,) = check(generate(1856643))
    assert (finding.cls, finding.op, finding.reason) == (
        "accepted",
        "F.pairwise_distance",
        "torch_zero_second_derivative_meets_nonfinite",
    )


def test_fmod_is_frozen_with_the_piecewise_linear_steps():
    """Seed 1778749567: poisson_nll_loss's NaN mean over an empty batch, relu, fmod by a leaf.
    fmod is linear in x and w between its jumps, but torch's backward by w forms -g trunc(x / w),
    whose formed zero derivative by x meets the NaN (torch NaN in the linear bias's second
    derivative); torch with relu and fmod frozen gives handgrad's former 0.92020321. Since
    handgrad's relu ties its gradient to its result as torch's threshold_backward
    (ops/zero_derivative.py), its zero meets the NaN as torch's does: no finding."""
    assert check(generate(1778749567)) == []


def test_normalize_one_element_noise_inside_a_program():
    """Seeds 1778832219 and 1778829917: the second pass's cotangents part at F.normalize of a
    0-d value (handgrad 1.2e24 and -8192, torch 0, both within the noise of its cancelling
    terms, scaled by the direction there); the steps before amplify the difference."""
    for seed in (1778832219, 1778829917):
        (finding,) = check(generate(seed))
        assert (finding.cls, finding.op, finding.reason) == (
            "accepted",
            "F.normalize",
            "normalize_one_element_noise",
        )


def test_cotangents_that_part_within_the_rounding_of_a_cancelling_sum_are_rounding():
    """Seed 1778747667: atan, reciprocal, logsumexp over two elements, one dominant. There the
    second pass sums logsumexp's 1.9e94-sized terms, which cancel, and reciprocal's -8.85e46:
    handgrad keeps it (the exact second derivative, 1.65e142 by mpmath), torch's order loses
    it (8.85e46). The parting is below the rounding of the cotangent summed there."""
    (finding,) = check(generate(1778747667))
    assert (finding.cls, finding.op) == ("rounding", "logsumexp")


def test_a_plain_gradient_that_only_the_whole_program_shows_is_judged_whole():
    """logit after mT at x = -0.0 (fuzz seed 232802487): torch's gradient without a graph is
    +inf on the program's transposed intermediate and -inf with a graph (and alone, contiguous);
    handgrad's is -inf either way. No single step differs, the whole program's values are
    judged by the accepted differences."""
    assert [f.cls for f in check(generate(232802487))] == ["accepted"]


def test_logsumexp_of_one_element_absorbing_the_cotangent_before_it_is_rounding():
    """Seed 232797574: log1p, rsqrt, logsumexp of one float64 element, x = 6.6e-169. The
    second derivative is g v f''(x) = -2.4e419 (mpmath): -inf, handgrad's value. torch's
    logsumexp double backward adds rsqrt's cotangent 2.6e167 into its own 1.05e251-sized
    terms, which cancel exactly, and loses it: torch -1.06e251. Rounding, not a defect."""
    import numpy as np

    from .runner import Program

    x = np.array(6.583281222019483e-169)
    steps = [("log1p", {}), ("rsqrt", {}), ("logsumexp", {"dim": -1, "keepdim": True})]
    (finding,) = check(Program(232797574, "float64", "wide", x, steps))
    assert (finding.cls, finding.op, finding.what) == ("rounding", "logsumexp", "grad2")


def test_a_shrink_of_a_nan_on_torchs_scalar_path_is_accepted_whole():
    """Seed 1312314823: log of negatives makes NaNs, chunk, softshrink (8 float64 elements:
    torch's scalar path passes g at NaN, handgrad's 0 is its vectorised body's), maximum; the
    finite leaves before the NaNs get torch's g / x against handgrad's 0. No single step
    differs; torch run with softshrink on whole vector blocks gives handgrad's values."""
    import numpy as np

    from .runner import Program

    nan, inf, tiny = np.nan, np.inf, 4.9406564584124654e-324
    x = np.array(
        [
            [
                [tiny, 0.0],
                [0.23024545638170135, -1.0479476401196233],
                [-0.34973007649496557, -2.0380488936595824e-4],
            ],
            [
                [-0.4051602790897198, -0.8744978274474935],
                [-0.5470162582664462, -tiny],
                [-0.20629640031894167, -2.241444180625586],
            ],
            [
                [0.7361909131845682, -0.6849438757825327],
                [0.7693403206786743, -tiny],
                [0.73655526806626, -1.310067469463366],
            ],
            [
                [0.05192696882679413, -inf],
                [nan, 0.28493294442650707],
                [0.5495099500270535, -1.997745517467863],
            ],
        ]
    )
    w = np.array(
        [
            [
                [-1.8057175861682819, 4.4942328371557893e307],
                [-0.88569107281463266, -0.88067269964493977],
            ]
        ]
    )
    steps = [("log", {}), ("chunk", {"c": 2, "d": 1}), ("F.softshrink", {"lambd": 1.0})]
    findings = check(Program(1312314823, "float64", "edge", x, steps + [("maximum", {"w": w})]))
    assert findings and all(f.cls == "accepted" for f in findings)
    assert "torch_shrink_nan_gradient_path" in {f.reason for f in findings}


def test_a_plain_gradient_every_step_of_which_is_torchs_own_is_rounding(monkeypatch):
    """Seed 63147521: silu, logcumsumexp, normalize(p=1), layer_norm (float32, a row reaching
    1e27). On the NumPy passes layer_norm's plain input gradient is a few ulps from torch's,
    normalize's gradient at the row's largest element then 9.6e-35 where torch's cancels to 0,
    and logcumsumexp's backward (exp(a + log g - out) with out = 1e27, torch's formula too) turns
    that into 1. Given handgrad's upstream gradient, torch's own backward of every step gives
    handgrad's values: rounding that a step amplifies (a planted wrong plain backward stays a
    defect: test_fuzzer_checks_the_backward_without_a_graph). numba's compiled kernels sum the
    rows in float64, and the program then agrees with torch."""
    from handgrad.ops import _compiled

    if _compiled.kernels() is not None:
        assert check(generate(63147521)) == []
    monkeypatch.setattr(_compiled, "_kernels", False)  # the NumPy passes
    (finding,) = check(generate(63147521))
    assert (finding.cls, finding.what) == ("rounding", "grad")


def test_zero_signs_that_two_shrinks_pass_along_are_accepted_as_a_chain():
    """Seed 63162929: softshrink twice, then diagonal, rsqrt, sum, reciprocal (float32, 120
    elements). handgrad's softshrink gives -0.0 for a small negative x, torch's vectorised loop
    +0.0; torch's second softshrink turns even handgrad's -0.0 into +0.0, so neither step alone
    on torch's input explains the 1 / (inf + -inf) that follows. Each step parts only by zero
    signs, on its own input, as the accepted softshrink_zero_sign."""
    (finding,) = check(generate(63162929))
    assert (finding.cls, finding.reason) == ("accepted", "softshrink_zero_sign")


def test_a_zero_sign_parting_carried_on_by_atan2_is_accepted_as_a_chain():
    """Seed 907685193: pad, softshrink, atan2, softshrink, atan2, logaddexp (float32).
    softshrink's -0.0 against torch's +0.0 (accepted) becomes -pi against pi in atan2, and the
    second pair does it again: every step, run by torch on handgrad's input, gives handgrad's
    output to 2 ulps but for the zeros softshrink signs otherwise."""
    (finding,) = check(generate(907685193))
    assert (finding.cls, finding.reason) == ("accepted", "softshrink_zero_sign")


def test_the_exact_normalization_derivatives_match_torch_on_well_conditioned_groups():
    """The mpmath reference of _closer_to_exact: on ordinary float64 groups (no cancellation)
    every leaf's gradient and second derivative, the upstream gradient's included, is torch's
    to 1e-12 (torch's None where s does not depend on the bias: the exact 0)."""
    import numpy as np

    from .runner import TORCH, _exact_norm_derivative, run

    r = np.random.default_rng(0)
    cases = [
        (
            "F.group_norm",
            {"g": 2, "w": r.standard_normal(4), "wb": r.standard_normal(4)},
            (2, 4, 3),
        ),
        (
            "F.layer_norm",
            {"n": 2, "w": r.standard_normal((2, 3)), "wb": r.standard_normal((2, 3))},
            (2, 2, 3),
        ),
        ("F.instance_norm", {}, (2, 2, 3)),
        ("F.batch_norm", {"w": r.standard_normal(2), "wb": r.standard_normal(2)}, (3, 2, 2)),
    ]
    for name, p, shape in cases:
        x, g = r.standard_normal(shape), r.standard_normal(shape)
        vs = [
            r.standard_normal(shape),
            *(r.standard_normal(p[k].shape) for k in ("w", "wb") if k in p),
        ]
        t = run(TORCH, x, [(name, p)], g=g, vs=vs, g_leaf=True)
        assert t.error is None, t.error
        for what, got in (("grad", t.grads), ("grad2", t.grads2)):
            for i, a in enumerate(got):
                shape_i = x.shape if i in (0, len(vs)) else p["w"].shape
                a = np.zeros(shape_i) if a is None else a
                exact = _exact_norm_derivative(name, p, x, g, what, i, np.ones(shape_i, bool), vs)
                e = np.array([float(v) for v in exact]).reshape(shape_i)
                np.testing.assert_allclose(
                    e, a, rtol=1e-12, atol=1e-12, err_msg=f"{name} {what} {i}"
                )


def test_a_normalization_gradient_nearer_the_exact_value_than_torchs_is_rounding():
    """Seeds 656006422 (reciprocal, stack, group_norm, stack: the gradient) and 656079235
    (conv_transpose1d, mish, group_norm, relu, local_response_norm: the second derivative by
    group_norm's upstream gradient), float64 groups whose values lie 1e100 and more apart.
    Their gradients cancel; torch's kernel loses digits (656079235: torch -1.37387 where the
    exact value is -1.4918171326654666, handgrad's within 2 ulps; 656006422: torch 4.18e-111
    for the exact 8.6137778942422068e-111, handgrad within 6 ulps everywhere, and torch an ulp
    nearer only at elements where handgrad is within 2 ulps)."""

    for seed, what in ((656006422, "grad"), (656079235, "grad2")):
        (finding,) = check(generate(seed))
        assert (finding.cls, finding.what, finding.op) == ("rounding", what, "F.group_norm")
        assert finding.reason == EXACT_CLOSER


def test_a_normalization_gradient_farther_from_the_exact_value_stays_a_defect():
    """_closer_to_exact is no blanket: a value 8 ulps off the exact one, against the exact one
    rounded, is judged rounding only when it is torch's."""
    import numpy as np

    from .runner import _closer_to_exact, _exact_norm_derivative

    r = np.random.default_rng(1)
    p = {"g": 1, "w": r.standard_normal(2), "wb": r.standard_normal(2)}
    x, g = r.standard_normal((2, 2, 3)), r.standard_normal((2, 2, 3))
    b = np.ones(x.shape, bool)
    exact = _exact_norm_derivative("F.group_norm", p, x, g, "grad", 0, b, None)
    near = np.array([float(v) for v in exact]).reshape(x.shape)
    far = near + 8 * np.spacing(near)
    assert _closer_to_exact("F.group_norm", p, x, g, "grad", 0, near, far, b, None)
    assert _closer_to_exact("F.group_norm", p, x, g, "grad", 0, far, near, b, None) is None


def test_a_float32_norm_gradient_within_the_noise_of_its_cancelling_terms_is_rounding():
    """Seed 683970125: layer_norm of the float32 row [1.6e9, 1.8e-29]; its input gradient is an
    exact 4.3e-33 from terms of about 1e-9 (g w / sigma), handgrad 6.8e-26, torch 0 and -5.6e-17,
    which celu's second derivative then amplifies. Within 4 eps of the terms that cancel, as
    the exact value (mpmath) shows: rounding."""
    (finding,) = check(generate(683970125))
    assert finding.cls == "rounding" and finding.reason == EXACT_CLOSER


def test_an_instance_norm_derivative_by_g_within_the_noise_of_its_cancelling_terms():
    """Seed 5597189 (float64): instance_norm of groups that each hold one value far above the
    rest (5.0e21 beside 5.7e-114, 0, -1.3e-120; 1.4e26 beside 2.1e-76), whose second derivative
    by the upstream gradient is A u (A = d xhat / d x) in the direction u of -3.6e182 and
    7.5e193 at the large values: terms of u / sigma, 2.2e161 and 1.6e168, that cancel to the
    exact 1.0e113 and -9.6e110 (mpmath). torch gives -8.9e144 and 0, handgrad -2.2e141 and
    -2.2e148: both within 4 eps of the terms, as the first derivative's rule allows, so
    rounding (torch's 0 is the nearer in the second group)."""
    import numpy as np

    from .runner import HG, TORCH, _closer_to_exact, _exact_norm_derivative, run

    x = np.array(
        [
            [[0.0, 5.7236810472832976e-114, 0.0, 0.0], [4.9993153565708832e21, 0, -1.3e-120, 0]],
            [
                [1.3904367135864294e26, -2.093551434182161e-76, 0, 0],
                [4.7e-123, 3.7e-253, 6e-101, 0],
            ],
        ]
    ).reshape(2, 1, 2, 4)
    u = np.array(
        [
            [[1.3e-164, -4.1340543226463784e47, 0, 0], [-3.6108652961915004e182, 0, 9.4e40, 0]],
            [[7.484486879188042e193, 1.5121134956098312e85, 0, 0], [-3.4e38, 0, -4.3e60, 0]],
        ]
    ).reshape(x.shape)
    g, b, name = np.zeros(x.shape), np.ones(x.shape, bool), "F.instance_norm"
    kw = {"g": g, "vs": [u], "g_leaf": True}
    hv, tv = (run(L, x, [(name, {})], **kw).grads2[1] for L in (HG, TORCH))
    exact = _exact_norm_derivative(name, {}, x, g, "grad2", 1, b, [u])
    e = np.array([float(v) for v in exact]).reshape(x.shape)
    assert np.all(np.abs(e) < 1e114)  # far below both libraries' values
    hd, td = np.abs(hv - e), np.abs(tv - e)
    assert (hd[0] < td[0]).all() and (hd[1] > td[1]).any()  # each the nearer in one group
    assert _closer_to_exact(name, {}, x, g, "grad2", 1, hv, tv, b, [u])
    far = e + 1e147  # beyond 4 eps of the first group's terms (2.2e161)
    assert _closer_to_exact(name, {}, x, g, "grad2", 1, far, tv, b, [u]) is None
    (finding,) = check(generate(5597189))
    assert (finding.cls, finding.op, finding.reason) == ("rounding", name, EXACT_CLOSER)


def test_the_exact_rms_norm_derivatives_match_torch_on_well_conditioned_rows():
    """The mpmath reference of _closer_to_exact for rms_norm: on rows of 3 and 5 ordinary
    float64 values its closed forms of the input gradient and of the second derivative by the
    input are torch's to 1e-12."""
    import numpy as np

    from .runner import TORCH, _exact_rms_norm_derivative, run

    r = np.random.default_rng(0)
    for shape in ((2, 3), (3, 2, 5)):
        n = shape[-1]
        x, g, p = r.standard_normal(shape), r.standard_normal(shape), {"w": r.standard_normal(n)}
        vs = [r.standard_normal(shape), r.standard_normal(n)]
        t = run(TORCH, x, [("F.rms_norm", p)], g=g, vs=vs, g_leaf=True)
        assert t.error is None, t.error
        b = np.ones(shape, bool)
        for what, got in (("grad", t.grads[0]), ("grad2", t.grads2[0])):
            exact = _exact_rms_norm_derivative(p, x, g, what, 0, b, vs)
            e = np.array([float(v) for v in exact]).reshape(shape)
            np.testing.assert_allclose(e, got, rtol=1e-12, atol=1e-12, err_msg=f"{shape} {what}")


def test_an_rms_norm_second_derivative_over_one_element_is_noise_in_both():
    """Seed 1841797 (float64): matmul by [-1.3e44, 7.3e154, -2.2e-10], rms_norm, rms_norm, both
    over a last dim of one element. The second rms_norm's input [0, -0, NaN, 0.554]; at 0.554,
    under the direction u = -5.6e58, its second derivative by x is vw g eps r^3 - 3 u g w x eps
    r^5 (r = 1 / sqrt(x^2 + eps)), the exact 5.8689e42 (mpmath), from terms of 1.6e58 that
    cancel to eps of them. Both libraries form it as those terms: handgrad 4.878e42, torch
    5.575e42, each a step of 7e41 (an ulp of the terms) from the other, and both move from
    4.2e42 to 8.4e42 as the inputs move by ulps. Within 4 eps of the terms: rounding."""
    import numpy as np

    from .runner import HG, TORCH, _closer_to_exact, _exact_rms_norm_derivative, run

    x = np.array([[0.0], [-0.0], [np.nan], [0.5540980175490774]])
    g = np.array(
        [
            [-0.19983942904456567],
            [-0.08934572398335003],
            [-0.4433935726117349],
            [-0.09954924964973165],
        ]
    )
    p = {"w": np.array([-0.14991174446770902])}
    u = np.array([[np.nan], [np.nan], [np.nan], [-5.565007404050613e58]])
    vs = [u, np.array([-2.0975983578911115])]
    kw = {"g": g, "vs": vs, "g_leaf": True}
    hv, tv = (run(L, x, [("F.rms_norm", p)], **kw).grads2[0] for L in (HG, TORCH))
    b = np.array([[False], [False], [False], [True]])
    sizes: list = []
    (exact,) = _exact_rms_norm_derivative(p, x, g, "grad2", 0, b, vs, sizes)
    assert float(exact) == 5.868870006000341e42 and 1.6e58 < float(sizes[0]) < 1.7e58
    eps = np.finfo(np.float64).eps
    for v in (hv[3, 0], tv[3, 0]):  # each off the exact value, within 4 eps of the terms
        assert 1e40 < abs(v - float(exact)) <= 4 * eps * float(sizes[0])
    assert _closer_to_exact("F.rms_norm", p, x, g, "grad2", 0, hv, tv, b, vs)
    far = np.where(b, float(exact) + 1.5e43, hv)  # beyond 4 eps of the terms (1.44e43)
    assert _closer_to_exact("F.rms_norm", p, x, g, "grad2", 0, far, tv, b, vs) is None
    (finding,) = check(generate(1841797))
    assert (finding.cls, finding.op, finding.reason) == ("rounding", "F.rms_norm", EXACT_CLOSER)


def test_a_forward_mismatchs_step_is_judged_with_the_directions_it_drew():
    """Seed 683984405: the program parts in its forward (a remainder by 2e-26); lp_pool2d alone
    (kernel 1) differs in its second derivative under the random directions its re-run draws,
    which the accepted lp_pool_one_element_noise must see (it scales with u)."""
    (finding,) = check(generate(683984405))
    assert (finding.cls, finding.reason) == ("accepted", "lp_pool_one_element_noise")


def test_a_plain_difference_the_graph_has_too_is_left_to_the_graph_comparison():
    """Seed 684013968: logit, abs, smooth_l1_loss. smooth_l1_loss's gradient at NaN (torch NaN,
    handgrad 0, accepted) is the same with and without a graph in both libraries, so it is not
    what the plain comparison is after; the plain difference is logit's at -0.0 (torch's plain
    path +inf, its graph and handgrad -inf)."""
    (finding,) = check(generate(684013968))
    assert (finding.cls, finding.op) == ("accepted", "logit")


def test_linears_bias_gradient_sees_only_g():
    """Seed 684015658: F.linear's bias gradient sums 45 terms of +-1e307 to the exact
    -7.97e307 (handgrad), torch's order overflows to -inf; x holds a NaN, which the bias
    gradient never reads: torch overflows from finite input. So does the weight gradient's
    element (2, 0), exact 5.84e307 (handgrad's, summed again in float64 where the BLAS's
    order overflowed), torch inf: it reads column 0 of x, which holds no NaN."""
    import numpy as np

    from .runner import _finite_in

    (finding,) = check(generate(684015658))
    assert (finding.cls, finding.op, finding.what) == ("accepted", "F.linear", "grad")
    x = np.array([[1.0, np.nan], [2.0, 3.0]])
    g, w = np.ones((2, 3)), np.ones((3, 2))
    b = np.zeros((3, 2), bool)
    b[2, 0] = True
    assert _finite_in("F.linear", {"w": w}, x, g, "grad", 1, b)
    assert not _finite_in("F.linear", {"w": w}, x, g, "grad", 1, b[:, ::-1])


def test_a_program_that_crashes_torch_is_run_safely():
    """Seed 684019248: torch 2.13's conv1d segfaults on a permuted (5, 2, 1) input under kernel
    1, stride 2, padding 1, dilation 2; the fuzzer hands torch such an input contiguous. Run in
    a child process, so that a crash fails this test instead of ending the suite."""
    import subprocess
    import sys

    code = "from tests.fuzz.runner import check, generate; check(generate(684019248))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode()[-2000:]


def test_a_normalization_group_beside_a_nonfinite_one_is_judged_exactly():
    """Seed 600950195: group_norm over a float64 group of values 1e132 apart beside a group of
    -inf; the finite group's gradient cancels, handgrad within 5 ulps of the exact value
    (mpmath), torch 6.5e19 ulps off. The -inf group cannot reach it."""
    (finding,) = check(generate(600950195))
    assert (finding.cls, finding.reason) == ("rounding", EXACT_CLOSER)


def test_a_plain_difference_is_judged_on_the_elements_the_graph_does_not_share():
    """Seed 600982248: group_norm over one-element groups; torch's plain kernel gives -2.1e6
    where its graph and handgrad give 0 (torch_plain_backward_differs), beside an element where
    torch's graph gives 4.2e6 as well (the graph comparison's to judge)."""
    (finding,) = check(generate(600982248))
    assert (finding.cls, finding.reason) == ("accepted", "torch_plain_backward_differs")


def test_normalize_over_one_element_as_the_first_step_is_judged_at_the_leaf(monkeypatch):
    """Seed 600946374: normalize(p=1) of one float64 -2.1e-115, then cummin, rpow, log. The
    second derivative is exactly 0; both libraries leave noise of terms of 1e229 (handgrad
    -7.6e6, torch -5.3e6). The cotangent at normalize's input is the leaf's second derivative.
    Since rpow's exponent gradient reads its output (seed 2113602076) handgrad's noise is
    torch's, -5288293.3; the classifier is checked with the old gradient."""
    assert check(generate(600946374)) == []
    _pow_exponent_gradient_formed_again(monkeypatch)
    (finding,) = check(generate(600946374))
    assert (finding.cls, finding.reason) == ("accepted", "normalize_one_element_noise")


def test_accepted_elements_beside_a_last_bit_difference_in_one_step():
    """Seed 1625040009: huber_loss's gradient at NaN inputs (nan_input_gradient) beside a
    subnormal g times 0.55, where handgrad's order rounds to 2 of the least float32 subnormal
    and torch's to 1: the last bit where the accepted elements are judged, as in _diverges."""
    (finding,) = check(generate(1625040009))
    assert (finding.cls, finding.reason) == ("accepted", "nan_input_gradient")


def test_matmuls_weight_gradient_sees_its_columns_only():
    """Seed 1709558793: the weight gradient of x @ w sums terms near 1e308 whose exact sums are
    finite (handgrad's), torch's order overflows to -inf; a NaN in another column of x reaches
    only another row of the gradient: torch overflows from finite input."""
    (finding,) = check(generate(1709558793))
    assert (finding.cls, finding.op, finding.what) == ("accepted", "matmul", "grad")


def test_a_sum_beside_a_slice_of_inf_keeps_its_subnormal_terms():
    """Seed 1709526685: handgrad's mean of [-5e-324, 0] is -0.0 again, as torch's, beside a
    slice whose sum is -inf."""
    assert check(generate(1709526685)) == []


def test_a_conv_weight_gradient_near_the_largest_float_is_its_exact_value():
    """Seed 1521067179: conv1d's weight gradient over a float32 input holding 3.4e38; its exact
    sums (Fractions) are -1.9e38 at one element, beyond the largest float at others. handgrad's
    float32 product met inf - inf (NaN); summed in float64 and rounded once it is the exact value
    (torch's -1.9e38, and a finite -3.2e38 where torch's order overflows to -inf)."""
    assert [f.cls for f in check(generate(1521067179))] == ["accepted"]


def test_hypots_second_derivative_noise_is_judged_without_underflow():
    """Seed 1337286796: hypot(x, w) with w = -4e-170 broadcast over rows where x = +-0; the exact
    second derivative g (v x^2 - u x w) / r^3 is 0 there, but r^3 underflows to 0 (0 / 0). Formed
    as ratios of at most 1 over r, the noise bound accepts handgrad's 3.4e153 against terms of
    1e169 (torch 0)."""
    (finding,) = check(generate(1337286796))
    assert (finding.cls, finding.reason) == ("accepted", "hypot_second_derivative_noise")


def test_a_plain_gradient_parting_at_an_accepted_step_is_accepted():
    """Seed 1111040564: nan_to_num of an inf under a NaN upstream gradient (torch NaN by its
    mask, handgrad the selected 0), then cumprod across a zero: its plain path keeps handgrad's
    0 past the zero, its graph path gives NaN in both libraries, so only the gradient without
    create_graph differs; judged where the plain runs part, at nan_to_num."""
    (finding,) = check(generate(1111040564))
    assert (finding.cls, finding.op, finding.what) == ("accepted", "nan_to_num", "grad")
    assert finding.reason == "torch_multiplies_by_mask"


def test_a_second_derivative_within_the_rounding_of_its_cancelling_terms_is_rounding():
    """Seed 907704600: logit, amin, sigmoid in float32 at x = 6.9e-19; sigmoid(logit(x)) = x,
    so the second derivative is 0: logit's terms of 2.8e18 cancel, torch 0, handgrad 1.89, far
    below their rounding (1e11). Seed 2122181778: where's operand w through reciprocal and
    rdiv, W / (1 / w) linear in w: terms of 2e188 at reciprocal, torch -2.0e172, handgrad
    -0.067 (the exact 0). A gap of a term's own size stays a defect."""
    import numpy as np

    from .runner import HG, TORCH, _within_cancellation_rounding, compare, run, tolerance

    for seed, op in ((907704600, "logit"), (2122181778, "reciprocal")):
        (finding,) = check(generate(seed))
        assert (finding.cls, finding.what, finding.op) == ("rounding", "grad2", op)
    prog = generate(907704600)
    t = run(TORCH, prog.x, prog.steps, seed=prog.seed, trace=True)
    h = run(HG, prog.x, prog.steps, seed=prog.seed, trace=True)
    ((what, i, b),) = compare(h, t, tolerance(prog.dtype))
    hv, tv = h.grads2[i], t.grads2[i]
    assert _within_cancellation_rounding(prog, t, h, i, b, hv, tv) == 0
    wrong = hv + np.where(b, np.float32(2.8e18), np.float32(0))  # a term too many
    assert _within_cancellation_rounding(prog, t, h, i, b, wrong, tv) is None


def test_a_second_derivative_torch_overflows_where_its_terms_do_is_rounding():
    """Seed 1558866452: reciprocal then rdiv (W / (1 / x), linear in x: exact 0), add, diff,
    remainder, float64: the second pass's terms pass 1e308 at one element, where torch's value is
    inf and handgrad's 5.8e292; beside it 4.1e291 against 2.7e291, within the terms' rounding.
    Where torch's value is finite there, or handgrad's is not, it stays a defect."""
    import numpy as np

    from .runner import HG, TORCH, _within_cancellation_rounding, compare, run, tolerance

    prog = generate(1558866452)
    (finding,) = check(prog)
    assert (finding.cls, finding.what) == ("rounding", "grad2")
    t = run(TORCH, prog.x, prog.steps, seed=prog.seed, trace=True)
    h = run(HG, prog.x, prog.steps, seed=prog.seed, trace=True)
    ((what, i, b),) = compare(h, t, tolerance(prog.dtype))
    hv, tv = h.grads2[i], t.grads2[i]
    assert np.isinf(tv[b]).any() and np.isfinite(hv[b]).all()
    assert _within_cancellation_rounding(prog, t, h, i, b, hv, tv) is not None
    finite_t = np.where(np.isinf(tv), 1e300, tv)  # torch finite and far off: not explained
    assert _within_cancellation_rounding(prog, t, h, i, b, hv, finite_t) is None
    inf_h = np.where(b & np.isinf(tv), np.inf, hv)
    assert _within_cancellation_rounding(prog, t, h, i, b, inf_h, tv) is None


def test_a_std_second_derivative_noise_is_judged_per_slice():
    """Seed 1925116402: std (correction 0) of two float64 values 3.5e-6 apart, whose second
    derivative is exactly 0 (|x1 - x0| / 2 is linear). The noise, one ulp of x - mean over sigma
    times g u / sigma, lands on one element of the slice in torch ((-5.7e-5, 9.2e-7); as x
    moves by ulps, +-5.7e-5 or 6e-11) and on both in handgrad ((-2.9e-5, -2.7e-5))."""
    (finding,) = check(generate(1925116402))
    assert (finding.cls, finding.what, finding.op) == ("rounding", "grad2", "std")


def test_a_float32_second_derivative_closer_to_torchs_float64_is_rounding():
    """Seed 287063735: clamp_min, expm1, cumprod in float32. cumprod's double backward forms
    terms of size g u / e for e = 1.6e-12 whose exact sum is -0.12744196 (mpmath): handgrad's
    float32 gives it, torch's float32 0, and in float64 both are 1.2e-4 off it (torch
    -0.12742615, handgrad -0.1274267), so the float64 runs do not agree to float64's tolerance.
    handgrad's float32 value is within float32's tolerance of torch's float64 one and closer to
    it than torch's own float32 value: rounding."""
    (finding,) = check(generate(287063735))
    assert (finding.cls, finding.what) == ("rounding", "grad2")
    assert "float32" in finding.reason


def test_a_plain_gradient_parting_at_an_operand_is_judged_there():
    """Seed 287049559: pow(x, w) with x = 0 in one row and w >= 0, then cumprod, log, hypot,
    ...: without a graph the upstream gradient at pow is NaN in that row only, and w's gradient
    there is torch's g * 0 = NaN against handgrad's selected 0 (torch_multiplies_by_mask); with
    a graph NaN reaches w from every row in both. The runs part at pow's operand w, not its
    input, which the search for the parting step now looks at."""
    (finding,) = check(generate(287049559))
    assert (finding.cls, finding.op, finding.reason) == (
        "accepted",
        "pow",
        "torch_multiplies_by_mask",
    )


def test_an_error_after_a_last_bit_parting_is_rounding():
    """Seed 1956665697: smooth_l1_loss, sqrt, unsqueeze, cos, pow, binary_cross_entropy in
    float32: torch's sqrt of 1.9283121e28 is an ulp above the correctly rounded value (NumPy's,
    handgrad's), cos of 1.39e14 parts by 1.5, pow makes NaN and binary_cross_entropy refuses
    it; torch refuses it too when run on from handgrad's sqrt. A parting of the last bits,
    amplified: rounding, named at sqrt."""
    import numpy as np
    import torch

    findings = check(generate(1956665697))
    x = np.array([1.9283121e28], np.float32)
    if torch.sqrt(torch.from_numpy(x)).numpy()[0] == np.sqrt(x)[0]:
        # torch's sqrt is correctly rounded on this CPU (a Xeon model 207 VM, 2026-12-07): the
        # runs do not part, and the program agrees
        assert findings == []
        return
    (finding,) = findings
    assert (finding.cls, finding.what, finding.op) == ("rounding", "error", "sqrt")


def test_softshrink_zero_signs_chosen_by_torchs_loop_inside_a_program():
    """Seed 831771010: hardtanh, logsigmoid, narrow, softshrink, atan2, tanhshrink, movedim,
    binary_cross_entropy_with_logits (float64). On narrow's view torch's softshrink gives +0.0
    for some small negative x, the step alone on a fresh copy (and handgrad) -0.0; atan2 turns
    that into pi against -pi and the loss into 0.527 against 0.616. torch run with softshrink on
    its scalar loop (element by element) gives handgrad's intermediates and 0.616: accepted as
    softshrink_zero_sign."""
    (finding,) = check(generate(831771010))
    assert (finding.cls, finding.op, finding.reason) == (
        "accepted",
        "F.softshrink",
        "softshrink_zero_sign",
    )


def test_remainder_nans_of_torchs_vectorised_body_inside_a_program_are_accepted():
    """Seed 5566856 (float64): lp_pool1d, movedim, remainder by w holding -5e-324, rms_norm.
    On movedim's view torch's remainder runs 8 elements at a time (its vectorised body), where
    a / b overflows to inf and gives NaN; on a fresh copy, or one element, it takes its scalar
    loop and gives the exact 0 (every double is a multiple of 5e-324), as handgrad does. The
    step alone agrees, so the whole program is judged: torch with remainder on its scalar loop
    gives handgrad's run, and the NaNs are fmod_quotient_overflows."""
    import numpy as np
    import torch

    import handgrad as hg

    a = torch.tensor([[3.456472167507858, 2.531984863013225]] * 8, dtype=torch.float64)
    w = torch.full((8, 1), -5e-324, dtype=torch.float64)
    on_view = torch.remainder(a.T.contiguous().T, w)  # strides (1, 8): 8 elements per vector
    assert torch.isnan(on_view).all() and (torch.remainder(a[:1, :1], w[:1]) == 0).all()
    h = hg.remainder(hg.tensor(a.numpy()), hg.tensor(w.numpy())).numpy()
    assert (h == 0).all() and not np.signbit(h).any()  # torch's scalar loop: +0.0
    (finding,) = check(generate(5566856))
    assert (finding.cls, finding.op, finding.reason) == (
        "accepted",
        "remainder",
        "fmod_quotient_overflows",
    )


def test_program_noise_that_stays_put_under_the_first_moves_is_rounding():
    """Seed 300337490 (float64): tril(k=-1) zeroes x, so linear gives its bias 2.26e-150, then
    reciprocal and softsign, x / (1 + |x|) in both libraries, whose first derivative at 4.4e149
    cancels to eps-sized noise (both -2.65e133 for the exact -1.616) and whose second derivative
    by the bias, exactly 2 (g0 + g1) v / (1 + b)^3 = -6.388, is 6.51e283 in torch and 6.22e283
    in handgrad. torch's own value stays put under the first three moves of the inputs by ulps
    and ranges over +-2e283 to 1.7e284 under the next: rounding, not a defect."""
    findings = check(generate(300337490))
    if not findings:  # another CPU's torch may round the noise as handgrad does
        return
    (finding,) = findings
    assert (finding.cls, finding.what, finding.op) == ("rounding", "grad2", None)
    assert "moved by ulps" in finding.reason


def test_sort_ties_that_carry_the_direction_to_swapped_places_are_unstable_sort_ties():
    """Seed 5586674 (float64): flatten, sort(descending) of 54 values with ties (three 5e-324,
    two 0.0 and a -0.0), selu, cumsum, matmul. torch's default sort leaves the ties in an order
    of its own (27, 13, 3 where handgrad's stable sort keeps 3, 13, 27), so sort's second
    derivative by its upstream gradient, the direction u at the sorted positions, differs at
    those positions only: unstable_sort_ties, as for its first derivative."""
    import torch

    from .runner import TORCH, _scan, run

    prog = generate(5586674)
    assert all(f.cls != "defect" for f in check(prog))
    x = torch.tensor(prog.x.reshape(-1))
    if torch.equal(x.sort(descending=True).indices, x.sort(descending=True, stable=True).indices):
        return  # this CPU's torch kernel keeps the ties' order: nothing to judge
    t = run(TORCH, prog.x, prog.steps, seed=prog.seed, trace=True)
    found = _scan(prog, t, t.inter, "grad2")
    assert ("sort", "accepted", "unstable_sort_ties") in [(f.op, f.cls, f.reason) for f in found]


def test_soft_margin_second_derivative_where_one_plus_z_squared_overflows_is_accepted():
    """Seed 1875642779 (float32): soft_margin_loss at x = -78.57, y = 1: z = e^(-y x) = 1.3e34
    is finite but (1 + z)^2 is not, and torch's quotient rule meets inf - inf = NaN; handgrad's
    second derivative is the tiny finite y^2 z / (1 + z)^2 times its cotangent, -6.5e-31."""
    (finding,) = check(generate(1875642779))
    assert (finding.cls, finding.op, finding.reason) == (
        "accepted",
        "F.soft_margin_loss",
        "soft_margin_double_backward_overflows",
    )


def test_pnorm_gradient_that_torch_underflows_is_accepted():
    """Seed 1875645711 (float64): norm p = 3 over one element 5.9e95 under g = 9.2e-193: the
    gradient is g exactly, and torch's g / norm^2, formed first, is below the smallest float (0)."""
    (finding,) = check(generate(1875645711))
    assert (finding.cls, finding.op, finding.reason) == (
        "accepted",
        "norm",
        "torch_pnorm_grad_overflows",
    )


def test_a_plain_norm_gradient_nearer_the_exact_value_is_rounding():
    """Seed 1875712138 (float32): group_norm of a group whose values lie an ulp apart (about
    -1.5707964); torch's float32 statistics are noise there (its weight gradient without a graph
    differs from its own with one), handgrad's is the exact value's nearer: rounding, named at
    group_norm, found on the plain (no create_graph) path."""
    (finding,) = check(generate(1875712138))
    assert (finding.cls, finding.what, finding.op) == ("rounding", "grad", "F.group_norm")
    assert finding.reason == EXACT_CLOSER


def test_matmul_zero_sign_of_an_underflowing_product_is_accepted():
    """Seed 2113492753 (float64): matmul of 4.9e-316 by -4.9e-324: torch's fused multiply-add
    gives -0.0, NumPy's BLAS +0.0, and a later remainder tells them apart; accepted as
    matmul_fma_zero_sign (where torch's BLAS does not fuse it, nothing parts)."""
    findings = check(generate(2113492753))
    assert all(
        (f.cls, f.op, f.reason) == ("accepted", "matmul", "matmul_fma_zero_sign") for f in findings
    )


def test_repeat_gradient_torch_overflows_beside_a_nan_input_is_accepted():
    """Seed 2113594363 (float32): repeat's gradient sums the copies of g (up to 3.0e38); the
    exact sum, -2.56e38, is handgrad's, torch's order overflows to -inf. x holds a NaN (acos of
    a value beyond 1) at those elements, which a gradient of repeat never reads."""
    (finding,) = check(generate(2113594363))
    assert (finding.cls, finding.op) == ("accepted", "repeat")
    assert finding.reason.startswith("torch overflows")


def test_pow_second_derivative_through_its_output_stays_in_range():
    """Seed 2113602076 (float64): rpow, pow(w=-0.39), matmul by a w holding -4.5e307. The
    second derivative by x was -inf for torch's -8.12e307: pow's exponent gradient formed 2^x
    again instead of reading its output, so a term that keeps the cotangent at 2^x in range
    (-1.77e308) went to x directly (test_edges: pow's exponent gradient from the output)."""
    assert check(generate(2113602076)) == []


def test_group_norm_second_derivative_by_its_weight_has_no_overflowing_cotangent():
    """Seed 2113513418 (float32): fmod, group_norm(groups=1) with a weight, rms_norm. The
    second derivative by group_norm's weight was -inf for torch's -8.44e31: the weight was
    multiplied after the fused node, whose float64 backward then cast the cotangent of g w
    (-3.8e38) to float32 (test_edges: group_norm's second derivative by its weight). What
    remains is rms_norm's second derivative by its input, which torch's own moves as much when
    its input moves by a few ulps (rounding)."""
    assert [f.cls for f in check(generate(2113513418))] in ([], ["rounding"])


def test_torchs_inf_where_the_exact_normalization_derivative_is_finite_is_rounding():
    """Seed 1907312885 (float64): mT, elu, batch_norm, then a product with -4.5e307. Channel 2
    of batch_norm's second derivative by its weight: handgrad 1.94192e307, torch inf, while
    the exact value (mpmath) is finite and handgrad's within 2 ulps of it: an intermediate of
    torch's formula overflowed. Another channel's NaN input cannot reach it. A finite handgrad
    value away from the exact one beside torch's inf stays a defect."""
    import numpy as np

    from .runner import _closer_to_exact, _exact_norm_derivative

    r = np.random.default_rng(5)
    x = r.standard_normal((4, 2))
    x[0, 0] = np.nan  # channel 0 only
    g = r.standard_normal((4, 2)) * 1e300
    p = {"w": np.array([0.7, -1.3]), "wb": np.array([0.2, 0.4])}
    vs = [r.standard_normal((4, 2)), r.standard_normal(2), r.standard_normal(2)]
    b = np.array([False, True])
    (exact,) = _exact_norm_derivative("F.batch_norm", p, x, g, "grad2", 1, b, vs)
    near = np.array([np.nan, float(exact)])
    torch_inf = np.array([np.nan, np.inf])
    assert _closer_to_exact("F.batch_norm", p, x, g, "grad2", 1, near, torch_inf, b, vs)
    far = np.array([np.nan, float(exact) * 1.001])
    assert _closer_to_exact("F.batch_norm", p, x, g, "grad2", 1, far, torch_inf, b, vs) is None
    (finding,) = check(generate(1907312885))
    assert (finding.cls, finding.op) == ("rounding", "F.batch_norm")


def test_a_plain_gradient_cut_by_floor_is_the_accepted_constant():
    """Seed 4134211: ... conv_transpose2d, cumprod, max, add, floor, interpolate, sqrt(relu(x))
    (float64). floor cuts handgrad's graph, so backward() leaves no gradient (None, zeros),
    where torch's zero gradient meets sqrt's infinite derivative at 0 as NaN. The plain-gradient
    check read the None as an array and stopped with an error; it is now the accepted
    zero_gradient_ops_are_constants, as the check with a graph judges it."""
    (finding,) = check(generate(4134211))
    assert (finding.cls, finding.reason) == ("accepted", "zero_gradient_ops_are_constants")
