"""Recurrent layers: ``RNNCell``, ``LSTMCell``, ``GRUCell`` and the sequence layers ``RNN``,
``LSTM``, ``GRU``, with torch.nn's arguments, parameter names (``weight_ih_l0``,
``bias_hh_l1_reverse``, ...), gate order and initialisation U(-1/sqrt(H), 1/sqrt(H)).

A recurrent layer is a scan: h_t = f(x_t, h_{t-1}). The input projections W_ih x_t of all steps
are one matrix product before the loop. An LSTM layer is then one node for the whole sequence (the
LSTM cell scanned over time, ``lstm_layer`` in ops/rnn_cell.py), and a one-directional stack of
them, without dropout between the layers, one node for the stack (``lstm_layers``, whose layers
run side by side on two threads, each a few steps behind the one below); a bidirectional layer's
two directions are one node (``lstm_directions``, side by side); a GRU layer is one node too
(``gru_layer``, a bidirectional one ``gru_directions``), and an Elman RNN layer (``rnn_layer``);
the cells (``RNNCell`` ...) stay a node or a small graph per step. The primitives'
backward is derived by hand; back-propagation through time visits the steps in reverse:
dL/dh_{t-1} = (dL/dh_t + dL/dy_{t-1}) d h_t / d h_{t-1}, the reversed scan of problem
set 000's first assignment with the Jacobian of the cell in place of the identity. Gradients of
gradients come with the primitives.

The sequence layers also take a ``PackedSequence`` (nn/utils/rnn.py), as torch's: each sequence
runs for its own length (``_RNNBase._forward_packed``: the padded scans with per-sequence
reversal and final states gathered at each sequence's last step).

The cells (N = batch, H = hidden size; W_i* act on x_t, W_h* on h_{t-1}, each with a bias):

    RNN:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)            (or relu)
    LSTM: i, f, g, o = split(W_ih x + b_ih + W_hh h + b_hh)    (in that order)
          c' = sigmoid(f) c + sigmoid(i) tanh(g);  h' = sigmoid(o) tanh(c')
    GRU:  r, z, n_x = split(W_ih x + b_ih);  r_h, z_h, n_h = split(W_hh h + b_hh)
          r = sigmoid(r + r_h);  z = sigmoid(z + z_h);  n = tanh(n_x + r n_h)
          h' = (1 - z) n + z h
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from .._tensor import Tensor, get_default_dtype, lift
from ..ops.rnn_cell import (
    gru_cell_step,
    gru_directions,
    gru_layer,
    lstm_cell_step,
    lstm_directions,
    lstm_layer,
    lstm_layers,
    rnn_layer,
)
from . import functional as F
from . import init
from .module import Module, Parameter
from .utils.rnn import PackedSequence, _index, _pack_rows, _padded_sorted

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _step(
    mode: str, xw: Tensor, h: Tensor, c: Tensor | None, w_hh: Tensor, b_hh: Tensor | None
) -> tuple[Tensor, Tensor | None]:
    """One cell update from the input projection xw = W_ih x + b_ih (for an LSTM, b_hh is folded
    into xw by the caller and ``b_hh`` is None). LSTM and GRU steps are one fused primitive each
    (ops/rnn_cell.py); an unbatched (H,) state runs as a batch of one."""
    if mode == "LSTM" or mode == "GRU":
        if h.ndim == 1:
            h1, c1 = _step(
                mode,
                xw.unsqueeze(0),
                h.unsqueeze(0),
                None if c is None else c.unsqueeze(0),
                w_hh,
                b_hh,
            )
            return h1[0], (None if c1 is None else c1[0])
        if mode == "LSTM":
            assert c is not None  # an LSTM step always has its cell state
            return lstm_cell_step(xw, h, c, w_hh)
        return gru_cell_step(xw, h, w_hh, b_hh), None
    hw = F.linear(h, w_hh, b_hh)
    if mode == "RNN_TANH":
        return ops.tanh(xw + hw), None
    return ops.relu(xw + hw), None


def _biases(mode: str, b_ih: Tensor | None, b_hh: Tensor | None) -> tuple:
    """(the bias of the input projection, the bias left for the step). An LSTM adds b_hh to every
    step's gates unchanged, so it joins b_ih (one node per layer instead of one per step); a GRU's
    reset gate multiplies its h-side bias, so the step needs it."""
    if mode == "LSTM" and b_hh is not None:
        return b_ih + b_hh, None
    return b_ih, b_hh


def _init_params(module: Module, hidden_size: int) -> None:
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


class _CellBase(Module):
    _mode = ""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        nonlinearity: str = "tanh",
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if self._mode.startswith("RNN"):
            if nonlinearity not in ("tanh", "relu"):
                raise ValueError(
                    f"{name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
                )
            self.nonlinearity = nonlinearity
            self._mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}: {what} must be a positive int, got {v!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        dt = np.dtype(dtype) if dtype is not None else get_default_dtype()
        g = _GATES[self._mode] * hidden_size
        self.weight_ih = Parameter(np.empty((g, input_size), dt))
        self.weight_hh = Parameter(np.empty((g, hidden_size), dt))
        if bias:
            self.bias_ih = Parameter(np.empty(g, dt))
            self.bias_hh = Parameter(np.empty(g, dt))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init_params(self, self.hidden_size)

    def _state(self, x: Tensor, hx: Any) -> tuple[Tensor, bool]:
        name = type(self).__name__
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected input (N, {self.input_size}) or "
                f"({self.input_size},), got shape {x.shape}"
            )
        batched = x.ndim == 2
        want = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        if hx is None:
            return Tensor._wrap(np.zeros(want, x.dtype)), batched
        h = lift(hx, x)
        if h.shape != want:
            raise ValueError(f"{name}: expected hidden state of shape {want}, got {h.shape}")
        return h, batched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s if self.bias else s + ", bias=False"


class RNNCell(_CellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (``nonlinearity='relu'``: relu)."""

    _mode = "RNN_TANH"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, dtype=dtype, nonlinearity=nonlinearity)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x = lift(input)
        h, _ = self._state(x, hx)
        xw = F.linear(x, self.weight_ih, self.bias_ih)
        return _step(self._mode, xw, h, None, self.weight_hh, self.bias_hh)[0]


class LSTMCell(_CellBase):
    """One LSTM step (gates i, f, g, o): returns (h', c')."""

    _mode = "LSTM"

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple[Tensor, Tensor]:
        x = lift(input)
        h, _ = self._state(x, None if hx is None else hx[0])
        c, _ = self._state(x, None if hx is None else hx[1])
        b_x, b_hh = _biases("LSTM", self.bias_ih, self.bias_hh)
        h, c_next = _step("LSTM", F.linear(x, self.weight_ih, b_x), h, c, self.weight_hh, b_hh)
        assert c_next is not None  # an LSTM step always returns its cell state
        return h, c_next


class GRUCell(_CellBase):
    """One GRU step (gates r, z, n): returns h'."""

    _mode = "GRU"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x = lift(input)
        h, _ = self._state(x, hx)
        xw = F.linear(x, self.weight_ih, self.bias_ih)
        return _step("GRU", xw, h, None, self.weight_hh, self.bias_hh)[0]


class _RNNBase(Module):
    _mode = ""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
        *,
        nonlinearity: str = "tanh",
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if self._mode.startswith("RNN"):
            if nonlinearity not in ("tanh", "relu"):
                raise ValueError(
                    f"{name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
                )
            self.nonlinearity = nonlinearity
            self._mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        for what, v in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}: {what} must be a positive int, got {v!r}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size={proj_size} is not supported")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        dt = np.dtype(dtype) if dtype is not None else get_default_dtype()
        g = _GATES[self._mode] * hidden_size
        dirs = 2 if bidirectional else 1
        for layer in range(num_layers):
            n_in = input_size if layer == 0 else hidden_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                setattr(self, "weight_ih" + sfx, Parameter(np.empty((g, n_in), dt)))
                setattr(self, "weight_hh" + sfx, Parameter(np.empty((g, hidden_size), dt)))
                if bias:
                    setattr(self, "bias_ih" + sfx, Parameter(np.empty(g, dt)))
                    setattr(self, "bias_hh" + sfx, Parameter(np.empty(g, dt)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init_params(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """A no-op: torch packs the weights into one cuDNN buffer; the CPU needs no packing."""

    def _weights(self, layer: int, d: int) -> tuple:
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        get = lambda k: getattr(self, k + sfx, None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _check_state(self, h: Any, want: tuple, what: str, x: Tensor) -> Tensor:
        if h is None:
            return Tensor._wrap(np.zeros(want, x.dtype))
        h = lift(h, x)
        if h.shape != want:
            raise ValueError(
                f"{type(self).__name__}: expected {what} of shape {want}, got {h.shape}"
            )
        return h

    def forward(self, input: Tensor | PackedSequence, hx: Any = None) -> tuple:
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        x = lift(input)
        name = type(self).__name__
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected input (L, N, {self.input_size}) "
                f"{'(batch_first: (N, L, H_in)) ' if self.batch_first else ''}or "
                f"(L, {self.input_size}), got shape {x.shape}"
            )
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        steps, n = x.shape[0], x.shape[1]
        if steps == 0:
            raise ValueError(f"{name}: the input sequence is empty (shape {lift(input).shape})")
        dirs = 2 if self.bidirectional else 1
        want = (self.num_layers * dirs, n, self.hidden_size)
        lstm = self._mode == "LSTM"
        if lstm:
            h0, c0 = (None, None) if hx is None else hx
        else:
            h0, c0 = hx, None
        if not batched:
            h0 = None if h0 is None else lift(h0, x).unsqueeze(1)
            c0 = None if c0 is None else lift(c0, x).unsqueeze(1)
        h_init = self._check_state(h0, want, "h_0" if lstm else "hx", x)
        c_init = self._check_state(c0, want, "c_0", x) if lstm else None

        x, h_last, c_last = self._layers(x, h_init, c_init, lambda v: v.flip(0), lambda v: v[-1])
        h_n = ops.stack(h_last, 0)
        out = x
        if not batched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if lstm:
            c_n = ops.stack(c_last, 0)
            return out, (h_n, c_n.squeeze(1) if not batched else c_n)
        return out, h_n

    def _layers(
        self, x: Tensor, h_init: Tensor, c_init: Tensor | None, reverse: Any, final: Any
    ) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        """Every layer and direction over the time-major x (T, N, H_in): (the last layer's
        outputs, each layer's and direction's final h, and c for an LSTM). ``reverse(v)`` turns
        a (T, N, .) sequence around for the reverse direction (its own inverse) and
        ``final(v)`` takes each sequence's last step: flip(0) and v[-1] for padded input, the
        per-length gathers of a PackedSequence."""
        dirs = 2 if self.bidirectional else 1
        if c_init is not None and dirs == 1 and self.num_layers > 1 and x.shape[0]:
            if not (self.dropout and self.training):  # (dropout acts between the layers)
                return self._stacked_lstm(x, h_init, c_init, final)
        h_last: list[Tensor] = []
        c_last: list[Tensor] = []  # (LSTM only)
        for layer in range(self.num_layers):
            outs = []
            paired = dirs == 2 and self._mode in ("LSTM", "GRU")  # two directions, one node
            if paired:  # (run side by side)
                k, xr = 2 * layer, reverse(x)
                if c_init is not None:
                    ws = self._lstm_weights(layer, 0) + self._lstm_weights(layer, 1)
                    hc = lstm_directions(x, xr, h_init[k : k + 2], c_init[k : k + 2], *ws)
                    both = hc[:, :, 0]  # (2, T, N, H), each direction in its own order
                    c_last += [final(hc[d, :, 1]) for d in range(2)]
                else:
                    ws = [w for d in range(2) for w in self._weights(layer, d) if w is not None]
                    both = gru_directions(x, xr, h_init[k : k + 2], *ws)
                for d in range(2):
                    h_last.append(final(both[d]))
                    outs.append(reverse(both[d]) if d else both[d])
            for d in range(0 if paired else dirs):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                k = layer * dirs + d
                xd = reverse(x) if d else x  # (each layer node projects its input inside)
                if c_init is not None:  # an LSTM: the whole layer is one node (LSTMLayer)
                    b_x, _ = _biases(self._mode, b_ih, b_hh)
                    hc = lstm_layer(xd, h_init[k], c_init[k], w_ih, w_hh, b_x)  # (T, 2, N, H)
                    ys = hc[:, 0]
                    c_last.append(final(hc[:, 1]))
                elif self._mode == "GRU":  # the whole layer one node (GRULayer)
                    ys = gru_layer(xd, h_init[k], w_ih, w_hh, b_ih, b_hh)
                else:  # an Elman RNN: one node too (RNNLayer)
                    act = "relu" if self._mode == "RNN_RELU" else "tanh"
                    ys = rnn_layer(xd, h_init[k], w_ih, w_hh, b_ih, b_hh, act)
                h_last.append(final(ys))
                outs.append(reverse(ys) if d else ys)
            x = outs[0] if dirs == 1 else ops.cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, h_last, c_last

    def _lstm_weights(self, layer: int, d: int) -> list[Tensor]:
        """An LSTM layer's direction as its node takes it: w_ih, w_hh and b_ih + b_hh (if any)."""
        w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
        b_x, _ = _biases("LSTM", b_ih, b_hh)
        return [w_ih, w_hh] + ([b_x] if b_x is not None else [])

    def _stacked_lstm(
        self, x: Tensor, h_init: Tensor, c_init: Tensor, final: Any
    ) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        """``_layers`` for a stack of one-directional LSTM layers: one node for all of them
        (``lstm_layers``), whose layers run side by side on two threads, each a span of steps
        behind the one below."""
        weights: list[Tensor] = []
        for layer in range(self.num_layers):
            weights += self._lstm_weights(layer, 0)
        hc = lstm_layers(x, h_init, c_init, *weights)  # (K, T, 2, N, H)
        layers = range(self.num_layers)
        return (
            hc[-1, :, 0],
            [final(hc[k, :, 0]) for k in layers],
            [final(hc[k, :, 1]) for k in layers],
        )

    def _forward_packed(self, packed: PackedSequence, hx: Any) -> tuple:
        """The layers on a PackedSequence, as torch: each sequence runs for its own length, so
        its final state is its state at its last valid step, and a reverse direction starts at that
        step. The packed batch is unpacked to a time-major padded tensor in its sorted order and
        run through the padded scans; positions past a sequence's end compute values that nothing
        reads (the forward scan is causal, the reverse one runs on each sequence reversed within
        its length by a gather, then gathered back), final states are gathered at step
        length - 1, and the last layer is packed again. hx and h_n are in the caller's
        (unsorted) order, as torch's."""
        name = type(self).__name__
        data = lift(packed.data)
        if data.ndim != 2 or data.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected packed data of shape (N, {self.input_size}), got {data.shape}"
            )
        x, lengths = _padded_sorted(packed)
        steps, n = x.shape[0], x.shape[1]
        dirs = 2 if self.bidirectional else 1
        want = (self.num_layers * dirs, n, self.hidden_size)
        lstm = self._mode == "LSTM"
        h0, c0 = (None, None) if hx is None else (hx if lstm else (hx, None))
        h_init = self._check_state(h0, want, "h_0" if lstm else "hx", x)
        c_init = self._check_state(c0, want, "c_0", x) if lstm else None
        if packed.sorted_indices is not None:  # the user's order -> the packed (sorted) order
            h_init = h_init.index_select(1, packed.sorted_indices)
            c_init = None if c_init is None else c_init.index_select(1, packed.sorted_indices)
        # Gathers on the time-major flattening (row t * n + b): each sequence reversed within its
        # length (steps past the end stay put; the map is its own inverse), and each last step.
        t, b = np.arange(steps)[:, None], np.arange(n)[None, :]
        rev = _index((np.where(t < lengths, lengths - 1 - t, t) * n + b).reshape(-1))
        last = _index((lengths - 1) * n + np.arange(n))

        def gather(v: Tensor, rows: Tensor, shape: tuple) -> Tensor:
            return v.reshape((steps * n, v.shape[-1])).index_select(0, rows).reshape(shape)

        x, h_last, c_last = self._layers(
            x,
            h_init,
            c_init,
            lambda v: gather(v, rev, v.shape),
            lambda v: gather(v, last, (n, v.shape[-1])),
        )
        rows = _index(_pack_rows(lift(packed.batch_sizes)._data, n))
        out = PackedSequence(
            x.reshape((steps * n, x.shape[-1])).index_select(0, rows),
            packed.batch_sizes,
            packed.sorted_indices,
            packed.unsorted_indices,
        )
        states = [ops.stack(h_last, 0)] + ([ops.stack(c_last, 0)] if lstm else [])
        if packed.unsorted_indices is not None:  # back to the user's order
            states = [s.index_select(1, packed.unsorted_indices) for s in states]
        return (out, (states[0], states[1])) if lstm else (out, states[0])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for k, default in (
            ("bias", True),
            ("batch_first", False),
            ("dropout", 0.0),
            ("bidirectional", False),
        ):
            if getattr(self, k) != default:
                s += f", {k}={getattr(self, k)}"
        return s


class RNN(_RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu), stacked
    ``num_layers`` deep, optionally bidirectional. Returns (output, h_n)."""

    _mode = "RNN_TANH"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype=dtype,
            nonlinearity=nonlinearity,
        )


class LSTM(_RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber 1997, with a forget gate). Returns
    (output, (h_n, c_n))."""

    _mode = "LSTM"


class GRU(_RNNBase):
    """Gated recurrent unit (Cho et al. 2014). Returns (output, h_n)."""

    _mode = "GRU"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("proj_size"):
            raise ValueError("GRU: proj_size is an LSTM option")
        super().__init__(*args, **kwargs)


__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"]
