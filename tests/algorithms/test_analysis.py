"""hg.analysis checked empirically: output sizes against PyTorch's layers, receptive fields
against the support of real gradients (and of real perturbations, for max pooling) in random
networks, the problem sets' layer lists, summary tables, and the equivariance measurement."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import handgrad as hg
from handgrad import analysis as A
from handgrad import nn

torch.set_num_threads(1)


def _relu():
    return nn.ReLU() if hasattr(nn, "ReLU") else _ReLU()


class _ReLU(nn.Module):
    def forward(self, x):
        return hg.relu(x)


# ---- output sizes -----------------------------------------------------------------------------


@given(st.data())
def test_output_size_formulas_match_torch_layers(data):
    n = data.draw(st.integers(1, 12))
    k, s, d = (data.draw(st.integers(1, 4)) for _ in range(3))
    p = data.draw(st.integers(0, 2))
    x = torch.zeros(1, 1, n)
    try:
        want = torch.nn.Conv1d(1, 1, k, s, p, d)(x).shape[-1]
    except RuntimeError:
        with pytest.raises(ValueError, match="conv_output_size: no output along axis 0"):
            A.conv_output_size(n, k, s, p, d)
    else:
        assert A.conv_output_size(n, k, s, p, d) == want
    q = data.draw(st.integers(0, max(s, d) - 1))
    try:
        want = torch.nn.ConvTranspose1d(1, 1, k, s, p, q, dilation=d)(x).shape[-1]
    except RuntimeError:
        with pytest.raises(ValueError, match="conv_transpose_output_size: no output"):
            A.conv_transpose_output_size(n, k, s, p, q, d)
    else:
        assert A.conv_transpose_output_size(n, k, s, p, q, d) == want
    p = min(p, k // 2)
    ceil = data.draw(st.booleans())
    try:
        want = torch.nn.MaxPool1d(k, s, p, d, ceil_mode=ceil)(x).shape[-1]
    except RuntimeError:
        with pytest.raises(ValueError, match="pool_output_size: no output"):
            A.pool_output_size(n, k, s, p, d, ceil)
    else:
        assert A.pool_output_size(n, k, s, p, d, ceil) == want


def test_output_sizes_of_the_seed_001_question_1():
    """(i) a 3x3 convolution and (ii) a 4x4 stride-2 convolution with padding 1 on 28x28."""
    x = torch.zeros(32, 3, 28, 28)
    assert A.conv_output_size((28, 28), 3) == torch.nn.Conv2d(3, 128, 3)(x).shape[2:]
    assert A.conv_output_size((28, 28), 4, 2, 1) == torch.nn.Conv2d(3, 128, 4, 2, 1)(x).shape[2:]


def test_output_size_errors():
    with pytest.raises(
        ValueError,
        match=r"kernel \(5 taps, dilation 1, extent 5\) is larger "
        r"than the padded input \(2 \+ 1 \+ 1 = 4\)",
    ):
        A.conv_output_size(2, 5, padding=1)
    with pytest.raises(ValueError, match="padding 2 must be at most half the kernel size 3"):
        A.pool_output_size(8, 3, padding=2)
    with pytest.raises(ValueError, match="output_padding 2 must be smaller than the stride 2"):
        A.conv_transpose_output_size(4, 3, 2, output_padding=2)
    with pytest.raises(ValueError, match=r"stride=\(1, 2, 3\) has 3 entries but size"):
        A.conv_output_size((8, 8), 3, stride=(1, 2, 3))


# ---- receptive fields, measured ---------------------------------------------------------------


@st.composite
def _stacks(draw, pools=("avg",), transposed=True):
    """A random stack of 2-D layers with one or two channels (padding layers and convolutions
    that pad by reflection, replication or wrapping among them)."""
    layers, c = [], 1
    for _ in range(draw(st.integers(1, 4))):
        kinds = (
            ["conv", "conv", "relu", "pad", "padconv"]
            + list(pools)
            + (["transposed"] if transposed else [])
        )
        kind = draw(st.sampled_from(kinds))
        c_out = draw(st.integers(1, 2))
        if kind == "pad":
            cls = draw(
                st.sampled_from(
                    [nn.ZeroPad2d, nn.ReflectionPad2d, nn.ReplicationPad2d, nn.CircularPad2d]
                )
            )
            layers.append(cls(tuple(draw(st.integers(0, 2)) for _ in range(4))))
        elif kind == "padconv":
            k, s = draw(st.integers(1, 3)), draw(st.integers(1, 2))
            mode = draw(st.sampled_from(["reflect", "replicate", "circular"]))
            layers.append(nn.Conv2d(c, c_out, k, s, draw(st.integers(0, 2)), padding_mode=mode))
            c = c_out
        elif kind == "conv":
            k, s, d = (draw(st.integers(1, m)) for m in (4, 3, 3))
            layers.append(nn.Conv2d(c, c_out, k, s, draw(st.integers(0, 2)), d))
            c = c_out
        elif kind == "transposed":
            k, s = draw(st.integers(1, 3)), draw(st.integers(1, 2))
            q = draw(st.integers(0, s - 1))
            layers.append(nn.ConvTranspose2d(c, c_out, k, s, draw(st.integers(0, k // 2)), q))
            c = c_out
        elif kind == "relu":
            layers.append(_relu())
        else:
            k, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            p, ceil = draw(st.integers(0, k // 2)), draw(st.booleans())
            layers.append(
                nn.AvgPool2d(k, s, p, ceil)
                if kind == "avg"
                else nn.MaxPool2d(k, s, p, 1, ceil_mode=ceil)
            )
    return layers


def _smallest_input(layers, extra):
    for n in range(1, 40):
        try:
            A.receptive_field(layers, (1, 1, n, n))
        except ValueError:
            continue
        return (1, 1, n + extra[0], n + extra[1])
    return None  # strides multiply up: too large to measure quickly


def _positive(layers):
    """Weights and biases in [0.5, 1.5], double precision: no cancellation can hide a
    dependency and every ReLU passes its input."""
    r = np.random.default_rng(0)
    for layer in layers:
        for p in getattr(layer, "parameters", list)():
            p.data = hg.tensor(r.uniform(0.5, 1.5, p.shape))
    return nn.Sequential(*layers)


def _units(shape):
    h, w = shape[2:]
    return {(0, 0), (h // 2, w // 2), (h - 1, w - 1), (h - 1, 0)}


def _check_formula(record, index, support, has_transposed, mirrored=False):
    """Where the textbook field lies inside the input, the exact support spans it (holes from
    dilation or strides aside); elsewhere the support stays inside it, unless the padding copies
    pixels from inside the image (reflect, replicate, circular: then a border unit reads
    mirrored or wrapped pixels outside its textbook field)."""
    for axis, (lo, hi) in enumerate(record.region(index)):
        idx = support[axis]
        n = record._support[axis].shape[1]
        if len(idx) == 0:  # a unit that reads only padding
            continue
        if has_transposed:
            assert mirrored or (lo <= idx[0] and idx[-1] <= hi)
        elif lo >= 0 and hi <= n - 1:
            assert (idx[0], idx[-1]) == (lo, hi)
        elif not mirrored:
            assert lo <= idx[0] and idx[-1] <= hi


@given(_stacks(), st.tuples(st.integers(0, 5), st.integers(0, 5)))
def test_receptive_field_is_the_support_of_the_input_gradient(layers, extra):
    """Back-propagate from single output units of a random network with positive weights and
    inputs: the non-zero set of the input gradient is exactly the analysed support, and it lies
    in (or, for an interior unit, spans) the textbook field start + i jump +- (rf - 1) / 2."""
    shape = _smallest_input(layers, extra)
    assume(shape is not None)
    records = A.receptive_field(layers, shape)
    net = _positive(layers)
    x = hg.tensor(np.random.default_rng(1).uniform(0.5, 1.5, shape), requires_grad=True)
    out = net(x)
    assert out.shape == records[-1].output_shape
    transposed = any(r.kind == "transposed" for r in records)
    mirrored = any(
        getattr(m, "padding_mode", "zeros") != "zeros"
        or getattr(m, "_mode", "constant") != "constant"
        for m in layers
    )
    for unit in _units(out.shape):
        (g,) = hg.grad(out[0, 0][unit], x, retain_graph=True)
        measured = np.abs(g.numpy()[0]).sum(0) > 0
        np.testing.assert_array_equal(
            measured, records[-1].support_mask(unit), err_msg=f"unit {unit} of {layers} on {shape}"
        )
        _check_formula(records[-1], unit, records[-1].support(unit), transposed, mirrored)


@given(_stacks(pools=("max",), transposed=False), st.tuples(st.integers(0, 4), st.integers(0, 4)))
def test_receptive_field_with_max_pooling_is_what_perturbations_reach(layers, extra):
    """Max pooling passes the gradient to one input per window, so measure dependence directly:
    raise one input pixel at a time (one batch element each) by far more than any other value;
    the output unit changes exactly for the pixels in the analysed support."""
    shape = _smallest_input(layers, extra)
    assume(shape is not None)
    records = A.receptive_field(layers, shape)
    net = _positive(layers)
    h, w = shape[2:]
    base = np.random.default_rng(2).uniform(0.5, 1.5, shape)
    bumped = np.repeat(base, h * w, axis=0)
    bumped.reshape(h * w, h * w)[np.arange(h * w), np.arange(h * w)] += 1e4
    with hg.no_grad():
        y0 = net(hg.tensor(base)).numpy()
        y = net(hg.tensor(bumped)).numpy()
    for unit in _units(y0.shape):
        # A bumped pixel moves the unit by thousands; batch size may change the rounding.
        changed = (np.abs(y[:, 0][(slice(None),) + unit] - y0[0, 0][unit]) > 1).reshape(h, w)
        np.testing.assert_array_equal(
            changed, records[-1].support_mask(unit), err_msg=f"unit {unit} of {layers} on {shape}"
        )


def _measured_extent(layers, shape):
    """The receptive field size of the centre output unit, measured: the extent of the non-zero
    set of its input gradient."""
    net = _positive(list(layers))
    x = hg.tensor(np.ones(shape), requires_grad=True)
    out = net(x)
    centre = (out.shape[2] // 2, out.shape[3] // 2)
    (g,) = hg.grad(out[0, 0][centre], x)
    rows, cols = np.nonzero(np.abs(g.numpy()[0]).sum(0))
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def test_seed_000_assignment_4b_receptive_field():
    """conv 5x5, conv 3x3 dilation 2, conv 3x3 stride 2, no padding: the analysis and the
    measured gradient support agree (11 x 11)."""
    layers = [nn.Conv2d(1, 1, 5), nn.Conv2d(1, 1, 3, dilation=2), nn.Conv2d(1, 1, 3, stride=2)]
    last = A.receptive_field(layers, (1, 1, 32, 32))[-1]
    assert last.rf == _measured_extent(layers, (1, 1, 32, 32))
    assert last.jump == (2, 2)


def test_seed_001_question_1_layer_list():
    """The seed gives the answer's shapes for layers a-f ([10,1,32,32] -> [10,16,32,32] ->
    [10,32,16,16] -> [10,128,8,8] -> [10,16,8,8] -> [10,8,16,16] -> [10,1,32,32]) and its
    receptive fields 3, 7, 15; the kernels below (3x3, then 5x5 stride 2 twice, 1x1, and two
    stride-2 transposed convolutions) reproduce those shapes. The fields are checked against the
    measured gradient support of each prefix of the stack, not against the numbers."""
    layers = [
        nn.Conv2d(1, 16, 3, padding=1),
        nn.Conv2d(16, 32, 5, stride=2, padding=2),
        nn.Conv2d(32, 128, 5, stride=2, padding=2),
        nn.Conv2d(128, 16, 1),
        nn.ConvTranspose2d(16, 8, 2, stride=2),
        nn.ConvTranspose2d(8, 1, 2, stride=2),
    ]
    table = A.summary(layers, (10, 1, 32, 32))
    assert [r.output_shape for r in table] == [
        (10, 16, 32, 32),
        (10, 32, 16, 16),
        (10, 128, 8, 8),
        (10, 16, 8, 8),
        (10, 8, 16, 16),
        (10, 1, 32, 32),
    ]
    x = hg.zeros(10, 1, 32, 32)
    for row, depth in zip(table, range(1, 7)):
        x = layers[depth - 1](x)
        assert row.output_shape == x.shape
        if row.kind == "conv":  # a transposed layer's field depends on the unit's position
            assert row.rf == _measured_extent(layers[:depth], (1, 1, 32, 32))
        assert row.params == sum(p.numel() for p in layers[depth - 1].parameters())


def test_transposed_convolution_receptive_field():
    """Each output of a stride-2, 3-tap transposed convolution reads one or two inputs, within
    half a pixel of its position o / 2: the field is 2 wide, the jump half a pixel."""
    layer = nn.ConvTranspose1d(1, 1, 3, stride=2, padding=1)
    rec = A.receptive_field([layer], (1, 1, 6))[-1]
    assert (rec.rf, rec.jump, rec.start) == (2, 0.5, 0)
    assert [list(rec.support(i)) for i in range(4)] == [[0], [0, 1], [1], [1, 2]]
    assert [rec.region(i) for i in range(3)] == [(-0.5, 0.5), (0, 1), (0.5, 1.5)]


# ---- summary ----------------------------------------------------------------------------------


def test_summary_table_rows_and_text():
    layers = [
        nn.Conv2d(3, 8, 3, padding=1),
        _relu(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, stride=2, dilation=2, groups=2),
        nn.ConvTranspose2d(16, 4, 4, stride=2, padding=1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 10),
    ]
    model = nn.Sequential(*layers)
    table = A.summary(model, (2, 3, 32, 32))
    assert len(table) == len(layers)
    ref = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, stride=2, dilation=2, groups=2),
        torch.nn.ConvTranspose2d(16, 4, 4, stride=2, padding=1),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 10),
    )
    x = torch.zeros(2, 3, 32, 32)
    for row, layer in zip(table, ref):
        x = layer(x)
        assert row.output_shape == tuple(x.shape)
        assert row.params == sum(p.numel() for p in layer.parameters())
    assert table.total_params == sum(p.numel() for p in ref.parameters())
    conv = table[3]
    assert conv.macs == math.prod(conv.output_shape) * (8 // 2) * 9
    assert table[4].macs == math.prod(table[3].output_shape) * 4 * 16
    assert table[7].macs == 2 * 4 * 10 and table[1].macs == 0
    assert (table[2].rf, table[2].jump, table[2].start) == ((4, 4), (2, 2), (0.5, 0.5))
    assert table[6].jump is None or table[6].jump == (None, None)
    text = str(table)
    assert "ConvTranspose2d" in text and "mult-adds" in text and "total:" in text
    assert text.count("\n") == len(layers) + 3


def test_summary_of_1d_layers_gives_numbers():
    table = A.summary([nn.Conv1d(1, 4, 5, stride=2), nn.MaxPool1d(3, 2)], (1, 1, 50))
    assert (table[1].rf, table[1].jump, table[1].start) == (9, 4, 4)


def test_unknown_shape_changing_layer_is_reported():
    class Crop(nn.Module):
        def forward(self, x):
            return x[..., 1:, 1:]

    with pytest.raises(
        ValueError,
        match=r"layer Crop \(input shape \(1, 1, 8, 8\)\): an "
        r"unrecognised layer changed the spatial shape",
    ):
        A.receptive_field([nn.Conv2d(1, 1, 1), Crop()], (1, 1, 8, 8))
    with pytest.raises(
        ValueError,
        match=r"layer Conv2d \(input shape \(1, 1, 2, 2\)\): "
        r"conv_output_size: no output",
    ):
        A.receptive_field([nn.Conv2d(1, 1, 3)], (1, 1, 2, 2))


# ---- equivariance -----------------------------------------------------------------------------


def test_convolutions_are_equivariant_to_sub_pixel_shifts():
    hg.manual_seed(0)
    x = hg.randn(2, 3, 24, 24).double()
    net = nn.Sequential(nn.Conv2d(3, 4, 5, padding=2), nn.Conv2d(4, 2, 3, dilation=2)).double()
    for shift in [(0.3, -0.45), (1.7, 2.25), (-0.5, 0.0)]:
        report = A.equivariance(net, x, shift)
        assert report.max_rel < 1e-12, str(report)
    assert A.equivariance(nn.Conv2d(3, 4, 3), x.float(), 0.4).max_rel < 1e-5


def test_max_pooling_with_stride_2_is_not_equivariant():
    hg.manual_seed(1)
    x = hg.randn(2, 3, 24, 24).double()
    report = A.equivariance(nn.MaxPool2d(2), x, (0.5, 0.5))
    assert report.out_shift == (0.25, 0.25)
    assert report.max_rel > 0.1, str(report)


def test_equivariance_of_a_plain_function_and_an_explicit_border():
    x = hg.randn(1, 1, 16, 16).double()
    w = hg.randn(1, 1, 3, 3).double()
    report = A.equivariance(lambda t: hg.nn.functional.conv2d(t, w, padding=1), x, 0.25, border=3)
    assert report.interior == ((3, 12), (3, 12)) and report.max_abs < 1e-12


def test_three_dimensional_layers_are_refused_clearly():
    with pytest.raises(
        ValueError,
        match=r"Conv3d \(input shape \(1, 8, 8, 8\)\): a 3-D layer on "
        r"an input with 2 spatial dims",
    ):
        A.summary(nn.Sequential(nn.Conv3d(1, 2, 3)), (1, 8, 8, 8))


def test_padding_layers_shift_the_start():
    records = A.receptive_field(
        [nn.ReflectionPad2d((1, 2, 3, 0)), nn.Conv2d(1, 1, 3)], (1, 1, 8, 8)
    )
    assert records[0].start == (-3, -1) and records[0].rf == (1, 1)
    assert records[1].output_shape == (1, 1, 9, 9) and records[1].rf == (3, 3)
