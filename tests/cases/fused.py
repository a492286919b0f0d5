"""Parity cases for the fused primitives of issue 13: the recurrent cell steps (``lstm_cell``,
``gru_cell``) against ``torch.lstm_cell`` / ``torch.gru_cell`` (the same call on both sides), and
the normalizations (``batch_norm``, ``layer_norm``) against torch.nn.functional."""

from __future__ import annotations

from hypothesis import strategies as st

from .common import Case, rng, values


def _lstm_fn(lib, x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    return lib.stack(lib.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh))


def _gru_fn(lib, x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    return lib.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh)


def _cell_draw(kind):
    gates = {"lstm": 4, "gru": 3}[kind]

    def draw(data):
        r = rng(data)
        n = data.draw(st.integers(1, 3), label="batch")
        i = data.draw(st.integers(1, 3), label="input")
        hs = data.draw(st.integers(1, 3), label="hidden")
        arrays = [values(r, (n, i)), values(r, (n, hs))]
        if kind == "lstm":
            arrays.append(values(r, (n, hs)))
        arrays += [values(r, (gates * hs, i)), values(r, (gates * hs, hs))]
        if data.draw(st.booleans(), label="bias"):
            arrays += [values(r, (gates * hs,)), values(r, (gates * hs,))]
        return arrays, {}

    return draw


def _lstm_layer_fn(lib, xw, h, c, w):
    if lib.__name__ != "torch":
        return lib.ops.rnn_cell.lstm_layer(xw, h, c, w)
    steps = []  # torch has no such function: the cell unrolled over time, as torch's LSTM does
    for t in range(xw.shape[0]):
        i, f, g, o = (xw[t] + h @ w.T).chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        steps.append(lib.stack([h, c]))
    return lib.stack(steps)


def _lstm_layer_draw(data):
    r = rng(data)
    steps = data.draw(st.integers(1, 4), label="steps")
    n = data.draw(st.integers(1, 3), label="batch")
    hs = data.draw(st.integers(1, 3), label="hidden")
    return [values(r, (steps, n, 4 * hs)), values(r, (n, hs)), values(r, (n, hs)),
            values(r, (4 * hs, hs))], {}


CASES = {
    "lstm_layer": [Case(_lstm_layer_fn, _lstm_layer_draw)],
    "lstm_cell": [Case(_lstm_fn, _cell_draw("lstm"), tol32=(1e-4, 1e-5))],
    "gru_cell": [Case(_gru_fn, _cell_draw("gru"), tol32=(1e-4, 1e-5))],
}
