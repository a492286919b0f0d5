"""Document 001 (001_a838cf123e1d745d.txt): a student's handwritten exam answers. The seed holds
the answers only, so each question is reconstructed from its answer (``questions.json`` marks them
``reconstructed``); where a question needs an instance the seed lacks (the network of Q1 (e)-(h)),
the instance is the one consistent with the student's own numbers, and says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import exercise
from . import layers as L
from .base import Claim, Finding, Result, compare, fmt, render
from .claims import statement_claim, uncheckable_claim
from .formula import parse
from .grading import (
    FAIL,
    PASS,
    Context,
    Slot,
    SlotResult,
    code_slot,
    derivation_slot,
    formula_slot,
    slot_claim,
    text_slot,
    value_slot,
)

STUDENT = "student"

#: the student's answers, as data (the answer file ``handgrad exercises grade`` reads); the
#: document's claims below are these answers judged by the same slots a learner fills in
ANSWER_FILE = Path(__file__).with_name("answers") / "001_student.json"
_ANSWERS = json.loads(ANSWER_FILE.read_text(encoding="utf-8"))["exercises"]


def _join(*parts: str) -> str:
    """Derivation texts written at different indentations, joined as paragraphs."""
    import textwrap

    return "\n".join(textwrap.dedent(p).strip() for p in parts)


def student(ex_id: str, key: str):
    """The student's answer to slot ``key`` of exercise ``ex_id`` (from ``ANSWER_FILE``)."""
    entry = _ANSWERS[ex_id]["slots"][key]
    return entry["answer"] if isinstance(entry, dict) else entry


def _claims(ex_id: str, slots, instance_only=True, labels: dict | None = None) -> list:
    """The student's answers to ``slots`` as claims judged by those slots; ``instance_only``
    (a bool, or the keys it holds for) says which apply only on the document's instance."""
    labels = labels or {}
    only = (
        (lambda k: instance_only)
        if isinstance(instance_only, bool)
        else (lambda k: k in instance_only)
    )
    return [
        slot_claim(
            sl,
            student(ex_id, sl.key),
            STUDENT,
            label=labels.get(sl.key, sl.key),
            instance_only=only(sl.key),
        )
        for sl in slots
        if sl.type != "text" and sl.key in _ANSWERS[ex_id]["slots"]
    ]


def _kernel_slot(question: str, shape: list, finding) -> Slot:
    """A kernel answer: the exercise is solved again with that kernel and judged by
    ``finding``."""

    def judge(ctx: Context, answer) -> SlotResult:
        k = np.asarray(answer, dtype=np.float64)
        if k.shape != tuple(shape):
            raise ValueError(f"expected a kernel of shape {tuple(shape)}, got shape {k.shape}")
        params = {**ctx.params, "kernel": k.tolist()}
        f = finding(ctx.solve(kernel=k.tolist()), params)
        return SlotResult(PASS if f.agree else FAIL, f.evidence)

    return Slot("kernel", "value", question, judge, shape=shape)


def _t(a, grad=False):
    import handgrad as hg

    return hg.tensor(np.asarray(a, dtype=np.float64), dtype=hg.float64, requires_grad=grad)


# ---- Question 1 (a): output shapes -------------------------------------------------------------


def _conv_shape(batch, in_channels, size, out_channels, kernel, stride, padding) -> Result:
    import handgrad as hg
    from handgrad.analysis import conv_output_size

    conv = hg.nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding)
    with hg.no_grad():
        shape = list(conv(hg.zeros(batch, in_channels, size, size)).shape)
    side = conv_output_size(size, kernel, stride, padding)
    return Result(
        shape,
        summary=f"{shape} (floor(({size} + 2*{padding} - {kernel}) / {stride}) + 1 = {side})",
        details={"formula_side": side},
    )


_SHAPE_DERIVATION = """
    out = floor((n + 2p - d (k - 1) - 1) / s) + 1 per spatial axis (PyTorch's formula,
    hg.analysis.conv_output_size); the batch is unchanged and the channels are the number of
    filters. Computed by running hg.nn.Conv2d on a batch of zeros.
"""


@exercise(
    "001-q1-i-conv-shape",
    params=dict(batch=32, in_channels=1, size=28, out_channels=128, kernel=3, stride=1, padding=0),
    claims=[Claim([32, 128, 26, 26], STUDENT)],
    derivation=_SHAPE_DERIVATION + "(28 + 0 - 3) / 1 + 1 = 26.",
)
def conv_shape_i(**p) -> Result:
    return _conv_shape(**p)


@exercise(
    "001-q1-ii-conv-shape",
    params=dict(batch=32, in_channels=1, size=28, out_channels=128, kernel=4, stride=2, padding=1),
    claims=[Claim([32, 128, 14, 14], STUDENT)],
    derivation=_SHAPE_DERIVATION + "floor((28 + 2 - 4) / 2) + 1 = 14.",
)
def conv_shape_ii(**p) -> Result:
    return _conv_shape(**p)


# ---- Question 1 (b)-(d): kernels ---------------------------------------------------------------

ORIENTATIONS = ("horizontal", "vertical", "diagonal \\", "diagonal /")


def edge_images(size: int) -> dict[str, np.ndarray]:
    """Unit step edges through the centre: horizontal (rows above are 1), vertical, along the
    main diagonal (\\) and along the anti-diagonal (/)."""
    i, j = np.indices((size, size))
    c = size // 2
    return {
        "horizontal": (i < c) * 1.0,
        "vertical": (j < c) * 1.0,
        "diagonal \\": (j > i) * 1.0,
        "diagonal /": (i + j < size - 1) * 1.0,
    }


def edge_responses(kernel: np.ndarray, size: int = 24) -> dict:
    """The response energy of ``kernel`` (F.conv2d, PyTorch's cross-correlation) to a unit step
    edge of each orientation, per unit of edge length, and to a constant image."""
    import handgrad.nn.functional as F

    k = _t(np.asarray(kernel, float)[None, None])
    out = {}
    for name, img in edge_images(size).items():
        r = F.conv2d(_t(img[None, None]), k).numpy()[0, 0]
        length = r.shape[1] * (np.sqrt(2.0) if "diagonal" in name else 1.0)
        out[name] = float((r * r).sum() / length)
    flat = F.conv2d(_t(np.ones((1, 1, size, size))), k).numpy()
    out["constant image"] = float(np.abs(flat).max())
    return out


def _kernel_result(kernel, size) -> Result:
    k = np.asarray(kernel, dtype=np.float64)
    resp = edge_responses(k, size)
    strongest = max(ORIENTATIONS, key=lambda o: resp[o])
    i, j = np.indices(k.shape)
    moment = [float((k * i).sum()), float((k * j).sum())]
    return Result(
        {
            "kernel": k,
            "strongest_edge": strongest,
            "responses": resp,
            "kernel_sum": float(k.sum()),
            "first_moment": moment,
        },
        summary=f"strongest response to {strongest} edges; energy per unit edge length "
        + ", ".join(f"{o}: {fmt(resp[o])}" for o in ORIENTATIONS)
        + f"; constant image: {fmt(resp['constant image'])}",
    )


def _detects(orientations: tuple) -> callable:
    def check(r: Result, p: dict) -> Finding:
        v = r.value
        ok = v["strongest_edge"] in orientations and v["responses"]["constant image"] < 1e-12
        return Finding(
            ok,
            f"the kernel responds most to {v['strongest_edge']} edges "
            f"({fmt(v['responses'][v['strongest_edge']])} per unit length) and "
            f"{'not' if v['responses']['constant image'] < 1e-12 else 'also'} to a "
            f"constant image",
        )

    return check


_KERNEL_DERIVATION = """
    A kernel k whose entries sum to 0 ignores constant regions; on a step edge with unit normal n
    its response is proportional to m . n, m = sum_ij k_ij (i, j) its first moment, so it
    detects edges perpendicular to m. Experiment: F.conv2d (cross-correlation, as PyTorch) of the
    kernel with unit step edges of four orientations; energy of the response per unit edge length.
"""


Q1B_SLOTS = [
    _kernel_slot(
        "A 3x3 kernel (a list of 3 rows) that detects horizontal edges.",
        [3, 3],
        _detects(("horizontal",)),
    )
]
Q1C_SLOTS = [
    _kernel_slot(
        "A 2x2 kernel (a list of 2 rows) that detects diagonal edges.",
        [2, 2],
        _detects(("diagonal \\", "diagonal /")),
    )
]


@exercise(
    "001-q1b-horizontal-edge-kernel",
    params=dict(kernel=[[1, 1, 1], [0, 0, 0], [-1, -1, -1]], size=24),
    claims=_claims("001-q1b-horizontal-edge-kernel", Q1B_SLOTS),
    slots=Q1B_SLOTS,
    derivation=_join(
        _KERNEL_DERIVATION,
        """
        The student's kernel (Prewitt's) is a difference of row sums across rows: m = (-6, 0),
        normal to horizontal edges; its entries sum to 0.
    """,
    ),
)
def horizontal_kernel(kernel, size) -> Result:
    return _kernel_result(kernel, size)


@exercise(
    "001-q1c-diagonal-edge-kernel",
    params=dict(kernel=[[0, 1], [-1, 0]], size=24),
    claims=_claims("001-q1c-diagonal-edge-kernel", Q1C_SLOTS),
    slots=Q1C_SLOTS,
    derivation=_join(
        _KERNEL_DERIVATION,
        """
        The student's kernel (one of Roberts' cross) computes x[i, j+1] - x[i+1, j], a difference
        along the anti-diagonal: m = (-1, 1), so it responds most to edges running along the main
        diagonal (\\), not at all to edges along the anti-diagonal (/), and half as strongly (in
        energy) to horizontal and vertical edges.
    """,
    ),
)
def diagonal_kernel(kernel, size) -> Result:
    return _kernel_result(kernel, size)


def _shift_finding(r: Result, p: dict) -> Finding:
    v = r.value
    ok = v["is_one_pixel_translation"]
    return Finding(
        ok,
        f"conv2d(x, kernel, padding=1) equals x translated by {v['shift']} "
        f"(max difference {v['max_difference']:.1e})"
        if ok
        else "conv2d(x, kernel, padding=1) is not a one-pixel translation of x",
    )


Q1D_SLOTS = [
    _kernel_slot(
        "A 3x3 kernel whose convolution translates the image by one pixel.", [3, 3], _shift_finding
    )
]


@exercise(
    "001-q1d-shift-kernel",
    params=dict(kernel=[[0, 0, 0], [0, 0, 1], [0, 0, 0]], size=8, seed=0),
    claims=_claims("001-q1d-shift-kernel", Q1D_SLOTS),
    slots=Q1D_SLOTS,
    derivation="""
        A kernel with a single 1 at offset (a, b) from its centre gives, under cross-correlation
        (F.conv2d, PyTorch), out[i, j] = x[i + a, j + b]: the image moves by (-a, -b). The
        student's 1 sits at (0, +1): the content moves one pixel to the left (to the right under
        a true, flipped convolution). Checked against F.translate by every one-pixel shift.
    """,
)
def shift_kernel(kernel, size, seed) -> Result:
    import handgrad.nn.functional as F

    k = np.asarray(kernel, dtype=np.float64)
    x = np.random.default_rng(seed).standard_normal((1, 1, size, size))
    pad = (k.shape[0] // 2, k.shape[1] // 2)
    out = F.conv2d(_t(x), _t(k[None, None]), padding=pad).numpy()
    best, best_diff = None, np.inf
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if (dy, dx) == (0, 0):
                continue
            d = float(np.abs(F.translate(_t(x), dy, dx).numpy() - out).max())
            if d < best_diff:
                best, best_diff = (dy, dx), d
    ok = best_diff < 1e-12
    names = {(0, -1): "left", (0, 1): "right", (-1, 0): "up", (1, 0): "down"}
    direction = names.get(best, f"by {best}") if ok else "none"
    return Result(
        {
            "is_one_pixel_translation": ok,
            "shift": list(best),
            "direction": direction,
            "max_difference": best_diff,
        },
        summary=(
            f"translates the image one pixel {direction} (shift (dy, dx) = {best}) under "
            f"PyTorch's cross-correlation"
            if ok
            else "not a one-pixel translation"
        ),
    )


# ---- Question 1 (e)-(h): the encoder-decoder network --------------------------------------------

ARCHITECTURE = """
    a: Conv2d(1, 16, 1)                        [10, 16, 32, 32]
    b: Conv2d(16, 32, 3, stride=2, padding=1)  [10, 32, 16, 16]
    c: Conv2d(32, 128, 3, stride=2, padding=1) [10, 128, 8, 8]
    d: Conv2d(128, 16, 3, padding=1)           [10, 16, 8, 8]
    e: ConvTranspose2d(16, 8, 2, stride=2)     [10, 8, 16, 16]
    f: ConvTranspose2d(8, 1, 2, stride=2)      [10, 1, 32, 32]
    (ReLU after a-e)
"""

RECONSTRUCTION_NOTE = (
    "The seed does not contain the network; it is reconstructed as the one consistent with the "
    "student's shapes (e) and receptive fields (h): a 1x1 convolution (receptive field 1, the "
    "student's r_0), two 3x3 stride-2 convolutions, a 3x3 convolution, and two 2x2 stride-2 "
    "transposed convolutions."
)


def build_network(seed: int = 0):
    """The reconstructed layers a-f (module docstring), float64, as a dict name -> module, and
    the Sequential with ReLUs."""
    import handgrad as hg

    hg.manual_seed(seed)
    layers = {
        "a": hg.nn.Conv2d(1, 16, 1),
        "b": hg.nn.Conv2d(16, 32, 3, stride=2, padding=1),
        "c": hg.nn.Conv2d(32, 128, 3, stride=2, padding=1),
        "d": hg.nn.Conv2d(128, 16, 3, padding=1),
        "e": hg.nn.ConvTranspose2d(16, 8, 2, stride=2),
        "f": hg.nn.ConvTranspose2d(8, 1, 2, stride=2),
    }
    for m in layers.values():
        m.double()
    seq = []
    for name in "abcde":
        seq += [layers[name], hg.nn.ReLU()]
    seq.append(layers["f"])
    return layers, hg.nn.Sequential(*seq)


def _outputs(layers: dict, x):
    import handgrad as hg

    outs, h = {}, x
    with hg.no_grad():
        for name in "abcdef":
            h = layers[name](h)
            outs[name] = h
            if name != "f":
                h = h.relu()
    return outs


STUDENT_SHAPES = {
    "a": [10, 16, 32, 32],
    "b": [10, 32, 16, 16],
    "c": [10, 128, 8, 8],
    "d": [10, 16, 8, 8],
    "e": [10, 8, 16, 16],
    "f": [10, 1, 32, 32],
}


@exercise(
    "001-q1e-layer-shapes",
    params=dict(input_shape=[10, 1, 32, 32]),
    claims=[Claim(STUDENT_SHAPES, STUDENT)],
    derivation="""
        Convolutions: out = floor((n + 2p - k) / s) + 1; transposed convolutions:
        out = (n - 1) s - 2p + k. Computed by running the layers and with hg.analysis.summary.
    """
    + ARCHITECTURE,
    note=RECONSTRUCTION_NOTE,
)
def layer_shapes(input_shape) -> Result:
    import handgrad as hg

    layers, _ = build_network()
    outs = _outputs(layers, hg.zeros(*input_shape, dtype=hg.float64))
    shapes = {k: list(v.shape) for k, v in outs.items()}
    return Result(shapes, summary=", ".join(f"{k}: {v}" for k, v in shapes.items()))


@exercise(
    "001-q1f-skip-concat-shape",
    params=dict(input_shape=[10, 1, 32, 32]),
    claims=[Claim([10, 24, 32, 32], STUDENT)],
    derivation="""
        Concatenation along channels adds the channel counts and needs equal spatial sizes:
        layer a gives 16 channels at 32x32, layer e 8 channels at 16x16, brought to 32x32 by
        F.interpolate(scale_factor=2); hg.cat(dim=1) gives 16 + 8 = 24 channels.
    """,
    note=RECONSTRUCTION_NOTE,
)
def skip_concat(input_shape) -> Result:
    import handgrad as hg
    import handgrad.nn.functional as F

    layers, _ = build_network()
    outs = _outputs(layers, hg.zeros(*input_shape, dtype=hg.float64))
    e_up = F.interpolate(outs["e"], size=tuple(outs["a"].shape[2:]))
    shape = list(hg.cat([outs["a"], e_up], dim=1).shape)
    return Result(shape)


def _constant_finding(r: Result, p: dict) -> Finding:
    v = r.value
    ok = v["max_abs_deviation_from_one"] == 0.0
    return Finding(
        ok,
        f"with layer e's weights and bias zero and layer f's bias one, the output "
        f"of {v['inputs_tried']} random inputs is exactly 1 everywhere"
        if ok
        else f"output deviates from 1 by {v['max_abs_deviation_from_one']}",
    )


@exercise(
    "001-q1g-constant-output",
    params=dict(inputs=3, seed=0),
    claims=[
        statement_claim(
            "layer f: bias all ones; layer e: all zeros",
            _constant_finding,
            STUDENT,
            instance_only=True,
        )
    ],
    derivation="""
        If layer e outputs zeros (weights and bias 0, and ReLU(0) = 0), the transposed
        convolution f receives zeros, so its output is its bias everywhere: bias 1 gives all
        ones, whatever f's weights and whatever the input. Experiment: set them on the
        (reconstructed) network and run random inputs. ("Layer f all ones" read as its bias; with
        its weights set to ones instead and the bias left, the output would be f's random bias.)
    """,
    note=RECONSTRUCTION_NOTE,
)
def constant_output(inputs, seed) -> Result:
    import handgrad as hg

    layers, net = build_network(seed)
    with hg.no_grad():
        layers["e"].weight.zero_()
        layers["e"].bias.zero_()
        layers["f"].bias.fill_(1.0)
        rng = np.random.default_rng(seed)
        dev = max(
            float(np.abs(net(_t(rng.standard_normal((2, 1, 32, 32)))).numpy() - 1).max())
            for _ in range(inputs)
        )
    return Result(
        {"max_abs_deviation_from_one": dev, "inputs_tried": inputs},
        summary=f"e = 0 (weights, bias), f.bias = 1: output - 1 = {dev} on {inputs} random batches",
    )


def student_recursion(layers) -> list[int]:
    """The student's r_i = s_{i-1} r_{i-1} + (k_i - s_{i-1}), r_0 = 1, s_0 = 1 (k_i the effective
    kernel d (k - 1) + 1)."""
    r, s_prev, out = 1, 1, []
    for spec in L.parse_all(layers):
        k = spec["dilation"] * (spec["kernel"] - 1) + 1
        r = s_prev * r + (k - s_prev)
        s_prev = spec["stride"]
        out.append(r)
    return out


def smallest_counterexample() -> tuple[list, list, list]:
    """The smallest two-layer stack (kernels >= 2, by k1 + k2 + s1) where the student's recursion
    and the library's receptive field differ: (layers, library, recursion)."""
    cands = sorted(
        ((k1, s1, k2) for k1 in range(2, 6) for k2 in range(2, 6) for s1 in (2, 3)),
        key=lambda c: (c[0] + c[1] + c[2], c),
    )
    for k1, s1, k2 in cands:
        layers = [[k1, s1, 1], [k2, 1, 1]]
        lib = [r.rf[0] for r in L.library_rf(layers, L.min_size(layers))]
        mine = student_recursion(layers)
        if lib != mine:
            return layers, lib, mine
    raise AssertionError("no counterexample found")


def apply_recursion(f, layers) -> list:
    """Run a recursion ``f(r_prev, s_prev, k, jump)`` (a parsed formula; k the effective kernel
    d (k - 1) + 1, jump the product of the strides before the layer) from r_0 = 1, s_0 = 1 over
    ``layers``: the value after each layer."""
    r, s_prev, jump, out = 1.0, 1.0, 1.0, []
    for spec in L.parse_all(layers):
        k = spec["dilation"] * (spec["kernel"] - 1) + 1
        r = float(np.asarray(f(r_prev=r, s_prev=s_prev, k=float(k), jump=jump)))
        s_prev = float(spec["stride"])
        jump *= s_prev
        out.append(int(r) if r == int(r) else r)
    return out


def _two_layer_stacks() -> list:
    cands = sorted(
        ((k1, s1, k2) for k1 in range(2, 6) for k2 in range(2, 6) for s1 in (2, 3)),
        key=lambda c: (c[0] + c[1] + c[2], c),
    )
    return [[[k1, s1, 1], [k2, 1, 1]] for k1, s1, k2 in cands]


def _recursion_judge(ctx: Context, answer) -> SlotResult:
    f = parse(answer, ["r_prev", "s_prev", "k", "jump"])
    lib, rec = ctx.result.value["per_layer"], apply_recursion(f, ctx.params["layers"])
    for i, (a, b) in enumerate(zip(lib, rec)):
        if a != b:
            return SlotResult(
                FAIL,
                f"on these layers the recursion diverges at layer {i + 1}: {fmt(b)} instead of {a}",
            )
    stacks = _two_layer_stacks()
    for layers in stacks:
        lib2 = [r.rf[0] for r in L.library_rf(layers, L.min_size(layers))]
        rec2 = apply_recursion(f, layers)
        if lib2 != rec2:
            width, _ = L.gradient_support_width(layers, L.min_size(layers))
            i = next(i for i, (a, b) in enumerate(zip(lib2, rec2)) if a != b)
            return SlotResult(
                FAIL,
                (
                    f"the recursion gives the right values on these layers ({rec}) but is not the "
                    f"receptive-field recursion: for conv {layers[0][0]}x{layers[0][0]}/stride "
                    f"{layers[0][1]} then conv {layers[1][0]}x{layers[1][0]} it gives {rec2[-1]}, "
                    f"the library {lib2[-1]} (and the engine's input gradient of one unit spans "
                    f"{width} pixels); it diverges at layer {i + 1}"
                ),
            )
    return SlotResult(
        PASS,
        f"equals the library's receptive field on these layers and on all "
        f"{len(stacks)} two-layer stacks with kernels 2..5 and stride 2 or 3",
    )


Q1H_SLOTS = [
    Slot(
        "recursion",
        "formula",
        "The receptive field r after a layer, from the one before: a "
        "formula in r_prev (the receptive field before the layer), s_prev (the stride of the "
        "layer before; 1 for the first), k (this layer's effective kernel d (k - 1) + 1) and "
        "jump (the product of the strides of the layers before), started at r_0 = 1.",
        _recursion_judge,
        variables={
            "r_prev": "receptive field before this layer",
            "s_prev": "stride of the previous layer (1 before the first)",
            "k": "effective kernel size of this layer",
            "jump": "product of the strides of all layers before this one",
        },
    ),
    value_slot(
        "r_b, r_c, r_d",
        "The receptive fields after layers b, c, d.",
        lambda ctx: ctx.result.value["after_b"],
        shape=[3],
    ),
    value_slot(
        "receptive field of layer d",
        "The receptive field of a unit of layer d, in input pixels (one side).",
        lambda ctx: ctx.result.value["receptive_field"],
        shape=[],
    ),
]


@exercise(
    "001-q1h-receptive-field",
    params=dict(layers=[[1, 1, 1, 0], [3, 2, 1, 1], [3, 2, 1, 1], [3, 1, 1, 1]]),
    claims=_claims(
        "001-q1h-receptive-field",
        Q1H_SLOTS,
        instance_only=("r_b, r_c, r_d", "receptive field of layer d"),
    ),
    slots=Q1H_SLOTS,
    derivation="""
        Forward recursion with the jump j (input pixels between neighbouring units):
        r_l = r_{l-1} + (k_l - 1) d_l j_{l-1}, j_l = j_{l-1} s_l. For the reconstructed layers
        a (1x1), b, c (3x3 stride 2), d (3x3): r = 1, 3, 7, 15 with jumps 1, 2, 4, 4.
        Computed with hg.analysis.receptive_field; the engine's input gradient of one unit has
        that support.
    """,
    note=RECONSTRUCTION_NOTE,
)
def receptive_field_d(layers) -> Result:
    size = L.min_size(layers)
    per_layer = [r.rf[0] for r in L.library_rf(layers, size)]
    width, _ = L.gradient_support_width(layers, size)
    return Result(
        {"receptive_field": per_layer[-1], "per_layer": per_layer, "after_b": per_layer[1:]},
        summary=f"{per_layer[-1]} x {per_layer[-1]} (after each layer: {per_layer}); one unit's "
        f"input gradient spans {width} pixels",
        details={"gradient_support_width": width},
    )


# ---- Question 2 ------------------------------------------------------------------------------


@exercise(
    "001-q2a-learning-rate-diagnosis",
    params=dict(lrs=[1.2, 0.1], steps=30, seed=0),
    claims=[
        uncheckable_claim(
            "learning rate A is too high",
            STUDENT,
            "the loss curves A and B are a figure that is not in the seed",
        )
    ],
    derivation="""
        On a quadratic loss with curvature L, gradient descent multiplies the error by
        (1 - lr L) each step: it converges monotonically for lr < 1/L, oscillates for
        1/L < lr < 2/L and diverges for lr > 2/L. A too-high rate therefore shows as a loss that
        oscillates, plateaus high or grows; a too-low one as a smooth but slow decrease.
        Experiment: least squares with hg.nn.Linear and hg.optim.SGD at the given rates.
    """,
)
def learning_rate(lrs, steps, seed) -> Result:
    import handgrad as hg

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 4))
    y = x @ rng.standard_normal(4)
    curvature = float(2 * np.linalg.eigvalsh(x.T @ x / len(x)).max())  # of the MSE loss
    xt, yt = _t(x), _t(y[:, None])
    runs = {}
    for lr in lrs:
        hg.manual_seed(seed)
        model = hg.nn.Linear(4, 1, bias=False).double()
        opt = hg.optim.SGD(model.parameters(), lr=lr)
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = hg.nn.functional.mse_loss(model(xt), yt)
            loss.backward()
            opt.step()
            losses.append(float(loss.item()))
        increases = int(np.sum(np.diff(losses) > 0))
        runs[str(lr)] = {
            "first_loss": losses[0],
            "last_loss": losses[-1],
            "loss_increases": increases,
            "too_high": bool(losses[-1] > losses[0] or increases > 0),
        }

    def verdict(v: dict) -> str:
        return (
            f" (rises {v['loss_increases']} times: too high)" if v["too_high"] else " (decreases)"
        )

    return Result(
        {"curvature": curvature, "runs": runs},
        summary="; ".join(
            f"lr {k}: loss {fmt(v['first_loss'])} -> {fmt(v['last_loss'])}" + verdict(v)
            for k, v in runs.items()
        )
        + f"; 2/L = {fmt(2 / curvature)}",
    )


STUDENT_LOOP = student("001-q2b-zero-grad", "corrected loop")


def _zero_grad_finding(r: Result, p: dict) -> Finding:
    v = r.value
    ok = (
        v["with_zero_grad_equals_batch_gradient"]
        and not v["without_zero_grad_equals_batch_gradient"]
    )
    return Finding(
        ok,
        f"without zero_grad the gradient of step 2 is the sum of both batches' "
        f"(difference from the fresh gradient {fmt(v['accumulation_error'])}); with "
        f"zero_grad before backward it is the fresh batch gradient",
    )


def _listing_finding(r: Result, p: dict) -> Finding:
    problems = r.value["listing_problems"]
    return Finding(
        not problems,
        "the listing as transcribed does not run: " + "; ".join(problems)
        if problems
        else "the listing runs",
    )


def listing_problems(listing: str, seed: int = 0) -> list[str]:
    """Why a training-loop listing does not run: compiled (never executed), its names inspected,
    and its loss call tried on hg.nn.CrossEntropyLoss with a batch of the shapes it names."""
    import handgrad as hg

    problems = []
    try:
        code = compile(listing, "<answer>", "exec")
    except SyntaxError as e:
        text = (e.text or "").strip()
        hint = (
            " (for ... = ... instead of for ... in)"
            if " = " in text and text.startswith("for ")
            else ""
        )
        problems.append(f"SyntaxError at '{text}'{hint}")
        fixed = listing.replace(" = train_loader", " in train_loader")
        try:
            code = compile(fixed, "<answer>", "exec")
        except SyntaxError:
            return problems
    names = code.co_names
    if "image" in names and "images" in names:
        problems.append("model(image) uses an undefined name (the batch is 'images')")
    if "loss_fun(labels, preds)" in " ".join(listing.split()):
        rng = np.random.default_rng(seed)
        model = hg.nn.Linear(5, 3).double()
        x, y = _t(rng.standard_normal((8, 5))), hg.tensor(rng.integers(0, 3, 8))
        try:
            hg.nn.CrossEntropyLoss()(y, model(x))
        except (ValueError, RuntimeError, TypeError) as e:
            problems.append(
                f"loss_fun(labels, preds) swaps (input, target): CrossEntropyLoss "
                f"raises '{str(e).splitlines()[0]}'"
            )
    return problems


def _listing_judge(ctx: Context, answer: str) -> SlotResult:
    problems = listing_problems(answer, ctx.params["seed"])
    if problems:
        return SlotResult(FAIL, "the listing as transcribed does not run: " + "; ".join(problems))
    return SlotResult(
        PASS,
        "the listing compiles, its names are defined and its loss call has "
        "CrossEntropyLoss's (input, target) order",
    )


Q2B_SLOTS = [
    text_slot("fix", "Where does the fix go, and why?"),
    code_slot(
        "corrected loop",
        "The corrected training loop (Python; compiled and inspected, never run).",
        _listing_judge,
    ),
]


@exercise(
    "001-q2b-zero-grad",
    params=dict(seed=0),
    claims=[
        statement_claim(
            "place optim.zero_grad() before the backward pass",
            _zero_grad_finding,
            STUDENT,
            label="fix",
        ),
        *_claims("001-q2b-zero-grad", Q2B_SLOTS),
    ],
    slots=Q2B_SLOTS,
    derivation="""
        backward() accumulates into .grad (so that several losses can contribute); without
        zero_grad, step t uses the sum of the gradients of all batches so far. Calling
        optimizer.zero_grad() once per iteration, before loss.backward(), makes every step use
        its own batch's gradient. Experiment with hg.nn.Linear and hg.optim.SGD; the student's
        listing is run through Python's compiler and hg.nn.CrossEntropyLoss.
    """,
)
def zero_grad(seed) -> Result:
    import handgrad as hg

    rng = np.random.default_rng(seed)
    batches = [
        (_t(rng.standard_normal((8, 5))), hg.tensor(rng.integers(0, 3, 8))) for _ in range(2)
    ]
    hg.manual_seed(seed)
    model = hg.nn.Linear(5, 3).double()
    loss_fn = hg.nn.CrossEntropyLoss()

    def fresh(x, y):
        model.zero_grad()
        loss_fn(model(x), y).backward()
        return model.weight.grad.numpy().copy()

    g2 = fresh(*batches[1])
    model.zero_grad()
    for x, y in batches:  # the buggy loop (lr 0: only the gradients matter)
        loss_fn(model(x), y).backward()
    without = model.weight.grad.numpy().copy()
    model.zero_grad()
    for x, y in batches:  # the fixed loop
        model.zero_grad()
        loss_fn(model(x), y).backward()
    with_zg = model.weight.grad.numpy().copy()

    problems = listing_problems(student("001-q2b-zero-grad", "corrected loop"), seed)
    return Result(
        {
            "accumulation_error": float(np.abs(without - g2).max()),
            "without_zero_grad_equals_batch_gradient": bool(np.allclose(without, g2)),
            "with_zero_grad_equals_batch_gradient": bool(np.allclose(with_zg, g2)),
            "listing_problems": problems,
        },
        summary="call optimizer.zero_grad() before loss.backward() in every iteration; without "
        "it the gradients of all batches accumulate",
    )


@exercise(
    "001-q3-multiple-choice",
    params={},
    claims=[
        uncheckable_claim("C and D", STUDENT, "the question and its options are not in the seed")
    ],
    derivation="The seed contains only the student's answer; there is nothing to compute.",
)
def multiple_choice() -> Result:
    return Result(None, summary="(the question is not in the seed)")


# ---- Question 4 ------------------------------------------------------------------------------


def _one_hot_finding(r: Result, p: dict, table) -> Finding:
    ok, ev = compare(r.value, table)
    if ok:
        return Finding(True, "equals the computed encoding")
    words = p["sentence"].split()
    bad = sorted({i for i, (a, b) in enumerate(zip(r.value, table)) if a != b})
    named = ", ".join(f"row {i + 1} ('{words[i]}')" for i in bad)
    return Finding(
        False,
        f"{named} of the student's table have no 1 (the table is unfinished): "
        f"{ev}; the repeated 'exam' must repeat row 2's column",
    )


Q4_SLOTS = [
    value_slot(
        "table",
        "The one-hot encoding of the sentence: one row per word, one "
        "column per vocabulary entry (words in order of first appearance).",
        lambda ctx: ctx.result.value,
        shape=[6, 5],
    )
]


@exercise(
    "001-q4-one-hot",
    params=dict(sentence="This exam is a midterm exam"),
    slots=Q4_SLOTS,
    note="The question is not in the document (only the sentence and the student's table are): "
    "no claim is judged; the student's table is compared with the encoding as a note.",
    derivation="""
        The vocabulary is the set of distinct words in order of first appearance
        (This, exam, is, a, midterm: 5 entries); each word is the row of the identity for its
        index, so the repeated 'exam' gets the same column as the first. Computed with
        hg.nn.functional.one_hot.
    """,
)
def one_hot(sentence) -> Result:
    import handgrad as hg
    import handgrad.nn.functional as F

    words = sentence.split()
    vocab = list(dict.fromkeys(words))
    idx = hg.tensor([vocab.index(w) for w in words])
    m = F.one_hot(idx, len(vocab)).numpy()
    notes = []
    if sentence == "This exam is a midterm exam":
        table = student("001-q4-one-hot", "table")
        f = _one_hot_finding(Result(m.tolist()), {"sentence": sentence}, table)
        notes.append(f"observation (not a judged claim): {f.evidence}")
    return Result(
        m.tolist(),
        summary=f"vocabulary {vocab}; rows " + ", ".join(f"{w}->{vocab.index(w)}" for w in words),
        details={"vocabulary": vocab},
        notes=notes,
    )


# ---- Question 7: preconditioned SGD on one equation --------------------------------------------


def _fit(x, y, make_opt, steps):
    """Minimise (y - x . theta)^2 from theta = 0 with the optimizer ``make_opt(params)``."""

    theta = _t(np.zeros(len(x)), True)
    opt = make_opt([theta])
    xt = _t(x)
    for _ in range(steps):
        opt.zero_grad()
        ((y - (xt * theta).sum()) ** 2).backward()
        opt.step()
    return theta.detach().numpy(), opt, theta


_Q7_DERIV = """
    On f(theta) = (y - x . theta)^2 the gradient is -2 (y - x . theta) x, always along x; with a
    fixed diagonal M every step is along M x. From theta_0 = 0 the iterates stay on the line
    t M x, and the limit solves x . theta = y there: theta* = y M x / (x^T M x).
"""


def _theta_sample(rng, params) -> dict:
    return {"theta": rng.standard_normal(3)}


def _gradient_lines_slot(key: str, what: str) -> Slot:
    return derivation_slot(
        key,
        f"The lines of your computation of {what}, each an expression in "
        "theta (a 3-vector) equal to the one before (lead a line with '=' or "
        "'<='); numbers as in the question.",
        {"theta": "the parameters"},
        _theta_sample,
        lambda ctx: {"theta": np.zeros(3)},
    )


Q7A_SLOTS = [
    value_slot(
        "theta",
        "The vector theta SGD converges to (numbers, or an expression "
        "of numbers such as '[1, 2, 3] / 4').",
        lambda ctx: ctx.result.value,
        shape=[3],
        rtol=1e-6,
    ),
    _gradient_lines_slot("gradient lines", "the gradient of f_t"),
]


@exercise(
    "001-q7a-sgd-limit",
    params=dict(x=[1, 0.1, 0.01], y=1.0, steps=300),
    claims=_claims("001-q7a-sgd-limit", Q7A_SLOTS),
    slots=Q7A_SLOTS,
    derivation=_join(
        _Q7_DERIV,
        """
        M = I: theta* = y x / ||x||^2, the minimum-norm solution. Computed with hg.optim.SGD.
        (The student's intermediate line replaces x x^T theta by ||x||^2 theta, true only on the
        line theta = t x, which is where the iterates stay.)
    """,
    ),
)
def sgd_limit(x, y, steps) -> Result:
    import handgrad as hg

    x = np.asarray(x, float)
    theta, _, _ = _fit(x, y, lambda ps: hg.optim.SGD(ps, lr=0.25 / float(x @ x)), steps)
    return Result(theta.tolist(), summary=f"{render(theta.tolist())} = x / ||x||^2 (hg.optim.SGD)")


def _m_judge(ctx: Context, answer) -> SlotResult:
    """The diagonal of M, judged up to a common factor against the optimizer's."""
    if isinstance(answer, str):
        answer = parse(answer, ())()
    m = np.asarray(answer, dtype=np.float64)
    x = np.asarray(ctx.params["x"], float)
    if m.shape != x.shape:
        raise ValueError(f"expected the {x.size} diagonal entries of M, got shape {m.shape}")
    lib = np.asarray(ctx.result.value["M_normalized"])
    mx = m * x
    shown = f"diag{tuple(float(f'{v:.4g}') for v in lib)}"
    if m[0] != 0 and np.allclose(m / m[0], lib, rtol=1e-4):
        return SlotResult(
            PASS,
            f"proportional to the optimizer's M = {shown} = diag(1/|x_i|): "
            f"M x = {render(mx.tolist())}, all of one size",
        )
    return SlotResult(
        FAIL,
        f"this M gives M x = {render(mx.tolist())}, not proportional to "
        f"[1, 1, 1]; the optimizer's M is proportional to {shown} = "
        f"diag(1/|x_i|), which does",
    )


Q7B_SLOTS = [
    value_slot(
        "theta",
        "The vector theta the preconditioned SGD converges to.",
        lambda ctx: ctx.result.value["theta"],
        shape=[3],
        rtol=1e-6,
    ),
    Slot(
        "M",
        "value",
        "The diagonal of M_t (3 numbers; the common factor does not matter).",
        _m_judge,
        shape=[3],
        part="derivation",
    ),
    _gradient_lines_slot("gradient lines", "the gradient of f_t"),
    _gradient_lines_slot("preconditioned gradient lines", "M_t times the gradient"),
]


@exercise(
    "001-q7b-preconditioned-limit",
    params=dict(x=[1, 0.1, 0.01], y=1.0, lr=0.01, steps=3000),
    claims=_claims("001-q7b-preconditioned-limit", Q7B_SLOTS),
    slots=Q7B_SLOTS,
    derivation=_join(
        _Q7_DERIV,
        """
        The mean squared gradient of coordinate i is 4 (y - x . theta)^2 x_i^2, so
        M = diag(1/|x_i|) up to a common factor and M x = sign(x): theta* = y sign(x) / sum |x_i|
        = [1, 1, 1] / 1.11. Computed with hg.optim.PreconditionedSGD('rms', eps=0), the running
        version of the per-epoch M (with one data point an epoch is one step).
    """,
    ),
)
def preconditioned_limit(x, y, lr, steps) -> Result:
    import handgrad as hg

    x = np.asarray(x, float)
    theta, opt, p = _fit(
        x, y, lambda ps: hg.optim.PreconditionedSGD(ps, lr=lr, preconditioner="rms", eps=0.0), steps
    )
    diag = opt.diagonal(p)
    normalized = diag / diag[0]
    closed = y * np.sign(x) / np.abs(x).sum()
    return Result(
        {
            "theta": theta.tolist(),
            "M_normalized": normalized.tolist(),
            "closed_form": closed.tolist(),
        },
        summary=f"theta = {render(theta.tolist())} = y sign(x) / sum|x_i|; M proportional to "
        f"diag{tuple(float(f'{v:.4g}') for v in normalized)}",
    )


def _rescaled_finding(r: Result, p: dict) -> Finding:
    claimed = np.array([1, 100, 1000]) / 3
    ok, ev = compare(r.value["theta"], claimed.tolist(), 1e-6, 1e-9)
    resid = float(np.dot(p["x"], claimed))
    return Finding(
        ok,
        ev + f"; the claimed theta gives x . theta = {fmt(resid)}, not {fmt(p['y'])}"
        if not ok
        else ev,
        claimed.tolist(),
    )


def _residual_note(ctx: Context, answer) -> str:
    resid = float(np.dot(ctx.params["x"], np.asarray(answer, dtype=np.float64)))
    return f"this theta gives x . theta = {fmt(resid)}, not {fmt(ctx.params['y'])}"


Q7C_SLOTS = [
    value_slot(
        "thetabar",
        "The solution thetabar of the rescaled problem.",
        lambda ctx: ctx.result.value["thetabar"],
        shape=[3],
        rtol=1e-6,
    ),
    value_slot(
        "theta",
        "The final answer theta (mapped back from thetabar).",
        lambda ctx: ctx.result.value["theta"],
        shape=[3],
        rtol=1e-6,
        explain=_residual_note,
    ),
]


@exercise(
    "001-q7c-rescaled-limit",
    params=dict(x=[1, 0.1, 0.01], y=1.0, steps=300),
    claims=_claims("001-q7c-rescaled-limit", Q7C_SLOTS),
    slots=Q7C_SLOTS,
    derivation="""
        Rescaled features xt = [1, 1, 1] with thetabar_i = x_i theta_i; plain SGD from 0 gives
        the minimum-norm thetabar = y [1, 1, 1] / 3, so theta_i = thetabar_i / x_i
        = [1/3, 10/3, 100/3] (the same as preconditioning with M = diag(1/x_i^2)). Computed with
        hg.optim.SGD on the rescaled problem, mapped back.
    """,
)
def rescaled_limit(x, y, steps) -> Result:
    import handgrad as hg

    x = np.asarray(x, float)
    ones = np.ones_like(x)
    thetabar, _, _ = _fit(ones, y, lambda ps: hg.optim.SGD(ps, lr=0.25 / len(x)), steps)
    theta = thetabar / x
    return Result(
        {"thetabar": thetabar.tolist(), "theta": theta.tolist()},
        summary=f"thetabar = {render(thetabar.tolist())}, theta = thetabar / x = "
        f"{render(theta.tolist())}",
    )


def _instance(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    p = rng.random(n) + 0.2
    p /= p.sum()
    theta_star = X.T @ np.linalg.solve(X @ X.T, rng.standard_normal(n))
    return X, p, theta_star, X @ theta_star


def _xt_finding(r: Result, p: dict) -> Finding:
    v = r.value
    ok = v["max_difference"] < 1e-10
    return Finding(
        ok,
        f"E f_t(theta) (weighted loss through the engine) and the quadratic form "
        f"with Xt = diag(sqrt(p)) X differ by at most {v['max_difference']:.1e} "
        f"at {v['points']} random theta",
    )


def _xt_judge(ctx: Context, answer) -> SlotResult:
    """Xt is right when Xt^T Xt = sum_i p_i x_i x_i^T (Xt is unique only up to a rotation)."""
    f = parse(answer, ["p", "X"])
    rng = np.random.default_rng(ctx.params["seed"])
    tried = [("the instance", *_instance(ctx.params["n"], ctx.params["d"], ctx.params["seed"])[:2])]
    for i in range(4):
        n = int(rng.integers(1, 5))
        X = rng.standard_normal((n, n + int(rng.integers(1, 3))))
        p = rng.random(n) + 0.2
        tried.append((f"random instance {i + 1}", X, p / p.sum()))
    for label, X, p in tried:
        xt = np.asarray(f(p=p, X=X), dtype=np.float64)
        want = (X.T * p) @ X
        if xt.ndim != 2 or xt.shape[1] != X.shape[1]:
            return SlotResult(
                FAIL,
                f"on {label} Xt has shape {xt.shape}; it needs "
                f"{X.shape[1]} columns (X is {X.shape[0]}x{X.shape[1]})",
            )
        got = xt.T @ xt
        if not np.allclose(got, want, rtol=1e-9, atol=1e-12):
            return SlotResult(
                FAIL,
                f"on {label} Xt^T Xt differs from sum_i p_i x_i x_i^T by "
                f"{fmt(float(np.abs(got - want).max()))} (largest entry)",
            )
    return SlotResult(
        PASS,
        f"Xt^T Xt = sum_i p_i x_i x_i^T on {len(tried)} instances, so "
        f"E f_t(theta) = (theta - theta*)^T Xt^T Xt (theta - theta*)",
    )


Q7DI_SLOTS = [
    Slot(
        "Xt",
        "formula",
        "Xt as a formula in p (the sampling probabilities, a "
        "vector) and X (the data, one row per point) such that E f_t(theta) = "
        "(theta - theta*)^T Xt^T Xt (theta - theta*).",
        _xt_judge,
        variables={"p": "sampling probabilities (n)", "X": "data matrix (n x d)"},
    )
]


@exercise(
    "001-q7d-i-weighted-quadratic",
    params=dict(n=4, d=6, points=5, seed=0),
    claims=[
        statement_claim("Xt = rows sqrt(p_i) x_i^T", _xt_finding, STUDENT, label="experiment"),
        *_claims("001-q7d-i-weighted-quadratic", Q7DI_SLOTS, instance_only=False),
    ],
    slots=Q7DI_SLOTS,
    derivation="""
        lambda(theta) = sum_i p_i (y_i - x_i^T theta)^2 = sum_i p_i (x_i^T (theta* - theta))^2
        = (theta - theta*)^T (sum_i p_i x_i x_i^T) (theta - theta*), and
        sum_i p_i x_i x_i^T = Xt^T Xt with Xt = diag(sqrt(p)) X.
    """,
)
def weighted_quadratic(n, d, points, seed) -> Result:

    X, p, theta_star, y = _instance(n, d, seed)
    xt = np.sqrt(p)[:, None] * X
    rng = np.random.default_rng(seed + 1)
    diffs = []
    for _ in range(points):
        theta = rng.standard_normal(d)
        expected = float(((_t(y) - _t(X) @ _t(theta)) ** 2 * _t(p)).sum().item())
        e = theta - theta_star
        diffs.append(abs(expected - float(e @ xt.T @ xt @ e)))
    return Result(
        {"Xt": "diag(sqrt(p)) X", "max_difference": max(diffs), "points": points},
        summary=f"Xt = diag(sqrt(p)) X: E f_t = quadratic form to {max(diffs):.1e}",
    )


def one_step_terms(X, p, theta_star, theta, alpha):
    """E[J(theta_{t+1}) | theta_t] exactly (a sum over the data points of one hg.optim.SGD step
    each), with J(theta) = e^T H e, H = Xt^T Xt, e = theta - theta*; returns (J, E[A], E[B])
    with E[A] = -4 alpha e^T H^2 e and E[B] = E[J_{t+1}] - J - E[A]."""
    import handgrad as hg

    H = (X.T * p) @ X
    y = X @ theta_star
    e = theta - theta_star
    J = float(e @ H @ e)
    expected_next = 0.0
    for i in range(len(p)):
        th = _t(theta.copy(), True)
        opt = hg.optim.SGD([th], lr=alpha)
        ((y[i] - (_t(X[i]) * th).sum()) ** 2).backward()
        opt.step()
        e1 = th.detach().numpy() - theta_star
        expected_next += p[i] * float(e1 @ H @ e1)
    ea = -4 * alpha * float(e @ H @ H @ e)
    return J, ea, expected_next - J - ea, H


def _bound_finding(r: Result, p: dict) -> Finding:
    v = r.value
    ok = v["EB_over_student_bound"] <= 1 + 1e-9
    return Finding(
        ok,
        (
            f"on the instance E[B] = {fmt(v['EB'])} but the claimed bound "
            f"lambda_max max||x_i||^2 alpha^2 J = {fmt(v['student_bound'])}: ratio "
            f"{fmt(v['EB_over_student_bound'])}; the bound with the factor 4 "
            f"({fmt(v['correct_bound'])}) holds, with equality for one data point. "
            f"(The line before also writes alpha^2 twice.)"
        )
        if not ok
        else f"E[B] = {fmt(v['EB'])} <= {fmt(v['student_bound'])}",
    )


def _ea_finding(r: Result, p: dict) -> Finding:
    v = r.value
    ok = v["EA"] <= v["EA_bound"] + 1e-12
    return Finding(
        ok,
        f"E[A] = {fmt(v['EA'])} <= -4 alpha lambda J = {fmt(v['EA_bound'])} with "
        f"lambda the smallest non-zero eigenvalue of Xt^T Xt "
        f"({fmt(v['lambda_min_nonzero'])}); "
        f"for d > n the smallest eigenvalue itself is 0, and e stays in the row "
        f"space of X, so that is the one that counts",
    )


_BOUND_VARS = {
    "lambda_min": "smallest non-zero eigenvalue of Xt^T Xt",
    "lambda_max": "largest eigenvalue of Xt^T Xt",
    "max_norm2": "max_i ||x_i||^2",
    "alpha": "the step size",
    "J": "J(theta_t) = (theta_t - theta*)^T Xt^T Xt (theta_t - theta*)",
}


def _contraction_instances(ctx: Context, count: int = 5) -> list:
    """(label, X, p, alpha, theta): the document's instance, then random ones (n < d)."""
    P = ctx.params
    out = [
        (
            "the document's instance",
            np.asarray(P["X"], float),
            np.asarray(P["p"], float),
            float(P["alpha"]),
            np.asarray(P["theta"], float),
        )
    ]
    rng = np.random.default_rng(1)
    for i in range(count):
        n = int(rng.integers(1, 4))
        d = n + int(rng.integers(1, 3))
        p = rng.random(n) + 0.2
        out.append(
            (
                f"random instance {i + 1}",
                rng.standard_normal((n, d)),
                p / p.sum(),
                float(rng.uniform(0.01, 0.2)),
                rng.standard_normal(d),
            )
        )
    return out


def _terms(X, p, alpha, theta) -> dict:
    p = p / p.sum()
    theta_star = X.T @ np.linalg.solve(X @ X.T, np.ones(len(X)))
    J, ea, eb, H = one_step_terms(X, p, theta_star, theta, alpha)
    eig = np.linalg.eigvalsh(H)
    lmax = float(eig.max())
    return {
        "J": J,
        "EA": ea,
        "EB": eb,
        "lambda_max": lmax,
        "alpha": alpha,
        "lambda_min": float(eig[eig > 1e-12 * lmax].min()),
        "max_norm2": float((X * X).sum(1).max()),
    }


def _bound_slot(key: str, term: str, question: str) -> Slot:
    def judge(ctx: Context, answer) -> SlotResult:
        f = parse(answer, _BOUND_VARS)
        insts = _contraction_instances(ctx)
        for label, X, p, alpha, theta in insts:
            t = _terms(X, p, alpha, theta)
            bound = float(np.asarray(f(**{k: t[k] for k in _BOUND_VARS})))
            if not t[term] <= bound + 1e-12 * max(1.0, abs(bound)):
                ratio = f"; ratio {fmt(t[term] / bound)}" if bound else ""
                return SlotResult(
                    FAIL,
                    f"on {label} {term[0]}[{term[1]}] = {fmt(t[term])} but "
                    f"the bound gives {fmt(bound)}{ratio} (J = {fmt(t['J'])}, "
                    f"lambda_max = {fmt(t['lambda_max'])}, max ||x_i||^2 = "
                    f"{fmt(t['max_norm2'])}, alpha = {fmt(alpha)})",
                )
        return SlotResult(
            PASS,
            f"{term[0]}[{term[1]}] <= the bound on {len(insts)} instances "
            f"(E[J_t+1] computed exactly, one hg.optim.SGD step per point)",
        )

    return Slot(key, "formula", question, judge, variables=dict(_BOUND_VARS))


def _ea_sample(rng, params) -> dict:
    n = int(rng.integers(1, 3))
    d = n + int(rng.integers(1, 3))
    X = rng.standard_normal((n, d))
    p = rng.random(n) + 0.2
    p /= p.sum()
    return _ea_point(X, p, float(rng.uniform(0.01, 0.2)), X.T @ rng.standard_normal(n))


def _ea_point(X, p, alpha, e) -> dict:
    xt = np.sqrt(p)[:, None] * X
    H = xt.T @ xt
    eig = np.linalg.eigvalsh(H)
    return {
        "e": e,
        "Xt": xt,
        "H": H,
        "alpha": alpha,
        "J": float(e @ H @ e),
        "lambda_min": float(eig[eig > 1e-12 * eig.max()].min()),
    }


def _ea_instance(ctx: Context) -> dict:
    X, p = np.asarray(ctx.params["X"], float), np.asarray(ctx.params["p"], float)
    theta_star = X.T @ np.linalg.solve(X @ X.T, np.ones(len(X)))
    return _ea_point(
        X,
        p / p.sum(),
        float(ctx.params["alpha"]),
        np.asarray(ctx.params["theta"], float) - theta_star,
    )


Q7DII_SLOTS = [
    _bound_slot(
        "E[A] bound",
        "EA",
        "An upper bound of E[A | theta_t] in lambda_min, lambda_max, max_norm2, alpha, J.",
    ),
    _bound_slot(
        "E[B] bound",
        "EB",
        "An upper bound of E[B | theta_t] in lambda_min, lambda_max, max_norm2, alpha, J.",
    ),
    derivation_slot(
        "E[A] lines",
        "The lines from E[A | theta_t] to its bound, in e = theta_t - "
        "theta*, Xt, H = E[x_I x_I^T] = Xt^T Xt, alpha, lambda_min, J ('=' or '<=' "
        "before a line).",
        {
            "e": "theta_t - theta* (d)",
            "Xt": "n x d",
            "H": "Xt^T Xt (d x d)",
            "alpha": "step size",
            "lambda_min": "smallest non-zero eigenvalue of H",
            "J": "e^T H e",
        },
        _ea_sample,
        _ea_instance,
    ),
]


@exercise(
    "001-q7d-ii-contraction-bound",
    params=dict(X=[[1, 0.1, 0.01]], p=[1.0], alpha=0.1, theta=[0, 0, 0]),
    claims=_claims("001-q7d-ii-contraction-bound", Q7DII_SLOTS, instance_only=False),
    slots=Q7DII_SLOTS,
    note="The E[A] line is transcribed as written, (theta_t - theta*)^T Xt + Xt^T E[x x^T] "
    "(theta_t - theta*), which is not a well-formed product; read as (theta_t - theta*)^T "
    "Xt^T Xt E[x x^T] (theta_t - theta*), the student's lines that follow hold.",
    derivation="""
        SGD step on point i: e' = (I - 2 alpha x_i x_i^T) e (e = theta - theta*,
        y_i = x_i^T theta*). With H = Xt^T Xt = E[x x^T]:
        J(e') = J - 4 alpha e^T x x^T H e + 4 alpha^2 e^T x x^T H x x^T e,
        so E[A] = -4 alpha e^T H^2 e <= -4 alpha lambda_min+ J and
        E[B] = 4 alpha^2 e^T E[x x^T H x x^T] e <= 4 alpha^2 lambda_max max||x_i||^2 J:
        the constant is c = 4 lambda_max max_i ||x_i||^2, with equality for a single data point
        (x^T H x = lambda_max ||x||^2 then). E[J_{t+1}] computed exactly with one hg.optim.SGD
        step per data point; the default instance is Q7's single equation.
    """,
)
def contraction_bound(X, p, alpha, theta) -> Result:
    X = np.asarray(X, float)
    p = np.asarray(p, float) / np.sum(p)
    theta_star = X.T @ np.linalg.solve(X @ X.T, np.ones(len(X)))
    J, ea, eb, H = one_step_terms(X, p, theta_star, np.asarray(theta, float), alpha)
    eig = np.linalg.eigvalsh(H)
    lmax = float(eig.max())
    lmin = float(eig[eig > 1e-12 * lmax].min())
    m = float((X * X).sum(1).max())
    student = lmax * m * alpha**2 * J
    return Result(
        {
            "J": J,
            "EA": ea,
            "EB": eb,
            "EA_bound": -4 * alpha * lmin * J,
            "lambda_min_nonzero": lmin,
            "student_bound": student,
            "correct_bound": 4 * student,
            "EB_over_student_bound": eb / student,
            "c": "4 lambda_max max_i ||x_i||^2",
        },
        summary=f"c = 4 lambda_max max||x_i||^2: E[B] = {fmt(eb)} = {fmt(eb / student)} x "
        f"(lambda_max max||x||^2 alpha^2 J)",
    )


def _min_norm_finding(r: Result, p: dict) -> Finding:
    v = r.value
    ok = v["distance_to_min_norm"] < 1e-6
    return Finding(
        ok,
        f"SGD with sampling probabilities {render(p['p'])} ends at distance "
        f"{v['distance_to_min_norm']:.1e} from X^T (X X^T)^-1 y (and "
        f"{fmt(v['residual'])} from solving X theta = y)",
    )


def _q7e_sample(rng, params) -> dict:
    n = int(rng.integers(1, 4))
    return {"X": rng.standard_normal((n, n + int(rng.integers(1, 4)))), "y": rng.standard_normal(n)}


Q7E_SLOTS = [
    formula_slot(
        "theta*",
        "The solution SGD converges to, as a formula in X (n x d, d > n, full row rank) and y.",
        {"X": "data (n x d)", "y": "targets (n)"},
        lambda v: np.linalg.pinv(v["X"]) @ v["y"],
        _q7e_sample,
        lambda ctx: {"X": ctx.result.context["X"], "y": ctx.result.context["y"]},
        rtol=1e-6,
    )
]


@exercise(
    "001-q7e-nonuniform-sampling",
    params=dict(n=3, d=5, p=[0.6, 0.3, 0.1], lr=0.05, steps=4000, seed=0),
    claims=[
        statement_claim(
            "theta* = X^T (X X^T)^-1 y, the minimum-norm solution",
            _min_norm_finding,
            STUDENT,
            label="experiment",
        ),
        *_claims("001-q7e-nonuniform-sampling", Q7E_SLOTS, instance_only=False),
    ],
    slots=Q7E_SLOTS,
    derivation="""
        Every SGD step adds a multiple of some x_i, so from theta_0 = 0 the iterates stay in the
        row space of X; the only solution of X theta = y there is the minimum-norm one,
        X^T (X X^T)^-1 y, whatever the (positive) sampling probabilities. Simulated with
        hg.optim.SGD on points drawn by hg.data.WeightedRandomSampler.
    """,
)
def nonuniform_sampling(n, d, p, lr, steps, seed) -> Result:
    import handgrad as hg
    from handgrad.data import WeightedRandomSampler

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    theta = _t(np.zeros(d), True)
    opt = hg.optim.SGD([theta], lr=lr)
    sampler = WeightedRandomSampler(p, steps, generator=hg.Generator().manual_seed(seed))
    for i in sampler:
        opt.zero_grad()
        ((y[i] - (_t(X[i]) * theta).sum()) ** 2).backward()
        opt.step()
    th = theta.detach().numpy()
    min_norm = X.T @ np.linalg.solve(X @ X.T, y)
    return Result(
        {
            "theta": th.tolist(),
            "distance_to_min_norm": float(np.linalg.norm(th - min_norm)),
            "residual": float(np.linalg.norm(X @ th - y)),
        },
        summary=f"the minimum-norm solution X^T (X X^T)^-1 y (SGD ends "
        f"{np.linalg.norm(th - min_norm):.1e} from it)",
        context={"X": X, "y": y},
    )
