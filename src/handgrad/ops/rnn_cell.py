"""Fused recurrent primitives: the cell steps ``lstm_cell`` and ``gru_cell`` (one node per time
step), ``lstm_layer`` (the LSTM cell scanned over a whole sequence, one node per layer),
``lstm_layers`` (a stack of such layers as one node, the layers side by side on two threads),
``lstm_directions`` (a bidirectional layer's two directions as one node, side by side) and
``gru_layer`` (the GRU cell scanned over a sequence, one node per layer).

Composed from primitives, one LSTM step records about fifteen small nodes (a matmul, adds, four
slices, three sigmoids, two tanh, products), and at a hidden size of 128 the per-node cost, not the
arithmetic, dominated a training step (issue 13). Here the step is one primitive: all gates come
from one matrix product, and the backward of the whole cell is derived by hand below.

The cell steps take the input projection already computed, ``xw = x W_ih^T + b_ih`` (a recurrent
layer computes it for all time steps with one matrix product; ``lstm_layer`` does so inside), so
a step itself is ``z = xw + h W_hh^T (+ b_hh)`` followed by the gate arithmetic.

Double backward. The backward formulas are written with handgrad operations. They read the gate
activations; when no graph of the gradient is being built (the usual ``loss.backward()``) those
are the values saved by the forward, wrapped as constants; when one is (``create_graph=True``)
they are recomputed from the inputs with differentiable operations, so the gradient is a function
of the inputs the engine can differentiate again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled, set_grad_enabled
from . import _compiled
from ._max_zero import relu_array
from .blas import one_blas_thread, side_by_side, two_threads, wavefront
from .elementwise import sigmoid, tanh
from .linalg import linear
from .shape import Permute, cat, chunk, stack

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor

_wrap = Tensor._wrap


def _sigmoid_(a: np.ndarray) -> np.ndarray:
    """sigmoid(a) = (1 + tanh(a / 2)) / 2, in place: no overflow for any a, no temporaries."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _check_2d(op: str, **arrays: np.ndarray) -> None:
    for what, a in arrays.items():
        if a.ndim != 2:
            raise ValueError(f"{op}: {what} must be 2-D (batch, features), got shape {a.shape}")


def _check_layer(op: str, gates: int, x, h0, w_ih, w_hh, b_ih, b_hh) -> None:
    """A GRU's or an RNN's layer inputs: x (L, N, I), h0 (N, H), w_ih (G H, I), w_hh (G H, H)
    with G gates, and b_ih, b_hh (G H,) both or neither."""
    _check_2d(op, h0=h0, w_ih=w_ih, w_hh=w_hh)
    n, hs = h0.shape
    g = gates * hs
    if (
        x.ndim != 3
        or x.shape[1] != n
        or w_hh.shape != (g, hs)
        or w_ih.shape != (g, x.shape[2])
        or (b_ih is None) != (b_hh is None)
        or any(b is not None and b.shape != (g,) for b in (b_ih, b_hh))
    ):
        gh = f"{gates}H" if gates > 1 else "H"
        raise ValueError(
            f"{op}: shapes do not fit: x {x.shape} (want (L, N, I)), h0 {h0.shape} (want (N, H)), "
            f"w_ih {w_ih.shape} (want ({gh}, I)), w_hh {w_hh.shape} (want ({gh}, H)), b_ih "
            f"{None if b_ih is None else b_ih.shape} and b_hh {None if b_hh is None else b_hh.shape} "
            f"(want ({gh},) both or neither)"
        )


def _paired_biases(op: str, b_ih: Tensor | None, b_hh: Tensor | None) -> tuple[Tensor, ...]:
    """(b_ih, b_hh), or () for neither: a layer takes both or neither."""
    if (b_ih is None) != (b_hh is None):
        raise ValueError(f"{op}: b_ih and b_hh go together (both or neither)")
    return () if b_ih is None or b_hh is None else (b_ih, b_hh)


def _outer(dz: Tensor, h: Tensor) -> Tensor:
    """dz^T h: the weight gradient of z = h W^T summed over the batch."""
    return Permute.apply(dz, dims=(1, 0)) @ h


class LSTMCell(Function):
    """One LSTM step (gates in PyTorch's order i, f, g, o) for xw (N, 4H), h and c (N, H),
    w_hh (4H, H); returns (h', c') stacked as one (2, N, H) array.

    Forward:

        z = xw + h W^T,   [z_i, z_f, z_g, z_o] = z split in four
        i = s(z_i), f = s(z_f), o = s(z_o), u = tanh(z_g)          (s = sigmoid)
        c' = f c + i u,   h' = o tanh(c')

    Backward, for the incoming gradients G_h = dL/dh' and G_c = dL/dc' (the two halves of g):
    c' reaches the loss directly and through h', so its total gradient is

        dc' = G_c + G_h o (1 - tanh^2 c')

    and then, by the product rule on c' = f c + i u and h' = o tanh(c'), and s' = s (1 - s),
    tanh' = 1 - tanh^2:

        dz_i = dc' u i (1 - i)     dz_f = dc' c f (1 - f)
        dz_g = dc' i (1 - u^2)     dz_o = G_h tanh(c') o (1 - o)
        dL/dc = dc' f              dL/dxw = dz = [dz_i, dz_f, dz_g, dz_o]
        dL/dh = dz W               dL/dW = dz^T h

    (the last two are the matmul rule for z = h W^T). Four gate gradients, one matrix product
    each for dL/dh and dL/dW: the whole cell in one node.
    """

    name = "lstm_cell"

    def forward(self, xw, h, c, w):
        _check_2d("lstm_cell", xw=xw, h=h, c=c, w=w)
        n, hs = h.shape
        if xw.shape != (n, 4 * hs) or c.shape != (n, hs) or w.shape != (4 * hs, hs):
            raise ValueError(
                f"lstm_cell: shapes do not fit: xw {xw.shape} (want (N, 4H)), h {h.shape}, "
                f"c {c.shape} (want (N, H)), w_hh {w.shape} (want (4H, H))"
            )
        acts = np.matmul(h, w.T)
        acts += xw
        _sigmoid_(acts[:, : 2 * hs])
        np.tanh(acts[:, 2 * hs : 3 * hs], out=acts[:, 2 * hs : 3 * hs])
        _sigmoid_(acts[:, 3 * hs :])
        i, f, u, o = acts[:, :hs], acts[:, hs : 2 * hs], acts[:, 2 * hs : 3 * hs], acts[:, 3 * hs :]
        out = np.empty((2, n, hs), xw.dtype)
        np.multiply(f, c, out=out[1])
        out[1] += i * u
        np.tanh(out[1], out=out[0])
        self.acts, self.tc = acts, out[0].copy()
        out[0] *= o
        return out

    def _saved(self) -> tuple:
        """(i, f, u, o, tanh c') as Tensors: constants, or differentiable when a graph of the
        gradient is being recorded (see the module docstring)."""
        xw, h, c, w = self.inputs
        if not is_grad_enabled():
            hs = h.shape[1]
            a = self.acts
            i, f, u, o = (_wrap(a[:, k * hs : (k + 1) * hs]) for k in range(4))
            return i, f, u, o, _wrap(self.tc)
        zi, zf, zg, zo = chunk(xw + h @ w.mT, 4, 1)
        i, f, u, o = sigmoid(zi), sigmoid(zf), tanh(zg), sigmoid(zo)
        return i, f, u, o, tanh(f * c + i * u)

    def backward(self, g):
        _, h, c, w = self.inputs
        i, f, u, o, tc = self._saved()
        gh, gc = g[0], g[1]
        dc = gc + gh * o * (1.0 - tc * tc)
        dz = cat(
            [
                dc * u * (i - i * i),
                dc * c * (f - f * f),
                dc * i * (1.0 - u * u),
                gh * tc * (o - o * o),
            ],
            1,
        )
        nh, nc, nw = self.needs_input_grad[1:]
        return (dz, dz @ w if nh else None, dc * f if nc else None, _outer(dz, h) if nw else None)


class GRUCell(Function):
    """One GRU step (gates in PyTorch's order r, z, n) for xw (N, 3H), h (N, H), w_hh (3H, H) and
    an optional b_hh (3H,); returns h' (N, H).

    Forward, with [x_r, x_z, x_n] = xw and [h_r, h_z, h_n] = h W^T + b_hh split in three:

        r = s(x_r + h_r),  z = s(x_z + h_z),  n = tanh(x_n + r h_n)
        h' = (1 - z) n + z h

    The reset gate multiplies h_n *including its bias* (PyTorch's convention), which is why b_hh
    is an input here rather than folded into xw.

    Backward, for G = dL/dh' (a_n = x_n + r h_n is the pre-activation of n):

        dn = G (1 - z)             da_n = dn (1 - n^2)
        dz = G (h - n)             da_z = dz z (1 - z)
        dr = da_n h_n              da_r = dr r (1 - r)
        dL/dxw = [da_r, da_z, da_n]
        dL/d(h W^T + b_hh) = dq = [da_r, da_z, da_n r]
        dL/dh = G z + dq W         dL/dW = dq^T h          dL/db_hh = sum_N dq
    """

    name = "gru_cell"

    def forward(self, xw, h, w, b=None):
        _check_2d("gru_cell", xw=xw, h=h, w=w)
        n, hs = h.shape
        if (
            xw.shape != (n, 3 * hs)
            or w.shape != (3 * hs, hs)
            or (b is not None and b.shape != (3 * hs,))
        ):
            raise ValueError(
                f"gru_cell: shapes do not fit: xw {xw.shape} (want (N, 3H)), h {h.shape}, "
                f"w_hh {w.shape} (want (3H, H)), b_hh {None if b is None else b.shape} "
                "(want (3H,))"
            )
        hw = np.matmul(h, w.T)
        if b is not None:
            hw += b
        rz = hw[:, : 2 * hs] + xw[:, : 2 * hs]
        _sigmoid_(rz)
        r, z = rz[:, :hs], rz[:, hs:]
        hn = hw[:, 2 * hs :]
        nn = r * hn
        nn += xw[:, 2 * hs :]
        np.tanh(nn, out=nn)
        self.rz, self.n, self.hn = rz, nn, hn
        out = h - nn
        out *= z
        out += nn
        return out

    def _saved(self) -> tuple:
        """(r, z, n, h_n) as Tensors: constants, or differentiable when a graph of the gradient
        is being recorded."""
        xw, h, w = self.inputs[:3]
        if not is_grad_enabled():
            hs = h.shape[1]
            return (_wrap(self.rz[:, :hs]), _wrap(self.rz[:, hs:]), _wrap(self.n), _wrap(self.hn))
        hw = h @ w.mT
        if len(self.inputs) == 4:
            hw = hw + self.inputs[3]
        xr, xz, xn = chunk(xw, 3, 1)
        hr, hz, hn = chunk(hw, 3, 1)
        r, z = sigmoid(xr + hr), sigmoid(xz + hz)
        return r, z, tanh(xn + r * hn), hn

    def backward(self, g):
        _, h, w = self.inputs[:3]
        r, z, n, hn = self._saved()
        dan = g * (1.0 - z) * (1.0 - n * n)
        dar = dan * hn * (r - r * r)
        daz = g * (h - n) * (z - z * z)
        need = self.needs_input_grad
        dxw = cat([dar, daz, dan], 1) if need[0] else None
        dq = cat([dar, daz, dan * r], 1) if any(need[1:]) else None
        dh = dw = db = None
        if dq is not None:  # h, w or the bias needs a gradient
            dh = g * z + dq @ w if need[1] else None
            dw = _outer(dq, h) if need[2] else None
            db = dq.sum(0) if len(self.inputs) == 4 and need[3] else None
        return (dxw, dh, dw, db) if len(self.inputs) == 4 else (dxw, dh, dw)


class _Sequence(Function):
    """A recurrent primitive over a whole sequence (``LSTMLayer``, ``LSTMLayers``, ``GRULayer``,
    ``RNNLayer``, ``_Directions``). Its backward runs on arrays (``_backward_arrays``) where no
    graph of the gradient is recorded, the usual ``loss.backward()``; otherwise (create_graph,
    an empty sequence, a gradient of another dtype) ``_recorded`` forms it with recorded,
    differentiable operations, detached again when no graph is wanted."""

    def backward(self, g):
        x = self.inputs[0]
        recording = is_grad_enabled()
        if not recording and x.shape[0] and g._data.dtype == x._data.dtype:
            return self._backward_arrays(g._data)
        with set_grad_enabled(True):
            grads = self._recorded(g)
        return tuple(a if a is None or recording else a.detach() for a in grads)

    def _backward_arrays(self, g: np.ndarray) -> tuple:  # pragma: no cover
        raise NotImplementedError

    def _recorded(self, g: Tensor) -> tuple:  # pragma: no cover
        raise NotImplementedError


class LSTMLayer(_Sequence):
    """A whole LSTM layer over a sequence: its input projection and the ``lstm_cell`` step scanned
    over time, as one node. x (L, N, I) is the input sequence, h0 and c0 (N, H) the initial
    state, w_ih (4H, I) and w_hh (4H, H) the weights and b (4H,) the bias of the gates (b_ih +
    b_hh, or None); returns every step's (h_t, c_t) stacked as (L, 2, N, H).

    Forward: the projections of all steps at once, xw_t = W_ih x_t + b, then for t = 0 .. L - 1
    the cell (see ``LSTMCell``) on z_t = xw_t + W_hh h_{t-1}.

    Why a layer and not only a step: a step node reads its input projection xw[t] out of one
    (L, N, 4H) tensor, and the gradient of such an index is a tensor of the whole size, so L steps
    add up L whole-size gradients (quadratic in L); and the L weight gradients dz_t^T h_{t-1}, each
    a small matrix product, are one large product here: dL/dW_hh = sum_t dz_t^T h_{t-1} = DZ^T H
    with DZ (L N, 4H) and H (L N, H) the stacked dz_t and h_{t-1}. Why the projection inside: the
    time loop runs feature-major (see ``forward``), and a projection made outside arrived in
    torch's (L, N, 4H) layout, to be transposed on the way in and its gradient on the way out
    (0.9 ms a layer of bench/bench_models.py's LSTM, whose layer took 6.4 ms forward and backward;
    the step 17.1 -> 16.0 ms, 1 thread, alternated processes).

    Backward: back-propagation through time. Going from t = L - 1 down to 0, the gradient reaching
    step t is the incoming one plus what step t + 1 sent back,

        G_h = g[t, 0] + dh_t,   G_c = g[t, 1] + dc_t      (dh_{L-1} = dc_{L-1} = 0 at the end)

    and the step's backward is the cell's (see ``LSTMCell``), written with the gate derivatives
    D = [i (1 - i), f (1 - f), 1 - u^2, o (1 - o)] and P = o (1 - tanh^2 c_t):

        dc = G_c + G_h P
        dz_t = [dc u, dc c_{t-1}, dc i, G_h tanh(c_t)] * D      (the gates i, f, u, o of step t)
        dc_{t-1} = dc f,   dh_{t-1} = dz_t W_hh

    then dL/dh0 = dh_{-1}, dL/dc0 = dc_{-1}, dL/dW_hh = DZ^T H as above, and the projection's
    (the matmul rule for XW = X W_ih^T + b with X (L N, I)):

        dL/dx = DZ W_ih,   dL/dW_ih = DZ^T X,   dL/db = sum of DZ's rows.

    With ``create_graph=True`` the gates, D and P are recomputed from the inputs with
    differentiable operations (the module docstring), so the gradient is differentiable again.
    """

    name = "lstm_layer"

    def forward(self, x, h0, c0, w_ih, w_hh, b=None):
        _check_2d("lstm_layer", h0=h0, c0=c0, w_ih=w_ih, w_hh=w_hh)
        n, hs = h0.shape
        if (
            x.ndim != 3
            or x.shape[1] != n
            or c0.shape != (n, hs)
            or w_hh.shape != (4 * hs, hs)
            or w_ih.shape != (4 * hs, x.shape[2])
            or (b is not None and b.shape != (4 * hs,))
        ):
            raise ValueError(
                f"lstm_layer: shapes do not fit: x {x.shape} (want (L, N, I)), h0 {h0.shape}, "
                f"c0 {c0.shape} (want (N, H)), w_ih {w_ih.shape} (want (4H, I)), w_hh "
                f"{w_hh.shape} (want (4H, H)), b {None if b is None else b.shape} (want (4H,))"
            )
        steps = x.shape[0]
        # Feature-major, one column per sequence: a step's gates are W h_{t-1} + xw_t as a
        # (4H, N) array, each gate a contiguous (H, N) block, where in torch's (N, 4H) rows every
        # gate is a strided column block and each of a step's dozen small NumPy calls walked it
        # row by row. The gates are kept in the order i, f, o, g with the sigmoid gates' rows
        # halved: sigmoid(z) = (1 + tanh(z / 2)) / 2 and halving is exact for normal floats
        # ((W / 2) h + xw / 2 is (W h + xw) / 2 to the bit; a subnormal weight loses its last
        # bit, below any gate's resolution), so one tanh covers the four gates and one
        # multiply-add the three sigmoids. bench/bench_models.py's LSTM (N 32, H 128, 35 steps,
        # 1 thread, 2026-12-07): the two layers' forward time loops 5.8 -> 3.5 ms a training
        # step, their forwards 7.8 -> 5.9 ms. The projections of all steps are one product
        # (4H, I) (I, L N) into the same order, so step t's are the columns t N .. (t + 1) N.
        run = _LayerRun(h0, c0, w_ih, w_hh, b, steps, x.dtype)
        xs = run.project(_rows_of(x))  # (4H, L N): all steps' projections, one product
        with one_blas_thread():  # small sequential products (threads.py)
            run.scan(xs, 0, steps)
        self.m, self.f, self.p = run.derivatives()
        # (L, 2, N, H) as a view of (2, L, N, H) memory: the h_t of all steps, which the next
        # layer's input projection multiplies, are then one (L N, H) matrix
        out = np.empty((2, steps, n, hs), x.dtype)
        np.copyto(out, run.hc.transpose(1, 0, 3, 2))
        self.out = out.transpose(1, 0, 2, 3)
        return self.out

    @staticmethod
    def _scan(xs, h, c, wp, hc, tc, gates) -> None:
        """The forward time loop (see ``forward``), feature-major, on the reordered and halved
        weight ``wp`` and projections ``xs`` (4H, L, N), writing into the preallocated arrays."""
        hs = h.shape[0]
        kernels = _compiled_for(gates)
        for t in range(xs.shape[1]):
            a = gates[t]
            np.matmul(wp, h, out=a)
            a += xs[:, t]
            np.tanh(a, out=a)
            i, f, o, u = a[:hs], a[hs : 2 * hs], a[2 * hs : 3 * hs], a[3 * hs :]
            hn, cn = hc[t, 0], hc[t, 1]
            if kernels is not None:  # the next four passes as one (ops/_compiled.py)
                kernels.lstm_cell_update(
                    a.reshape(4, -1), c.reshape(-1), cn.reshape(-1), _HALF[a.dtype]
                )
            else:
                s = a[: 3 * hs]  # (1 + tanh(z / 2)) / 2: the sigmoids i, f, o
                s *= 0.5
                s += 0.5
                np.multiply(f, c, out=cn)
                cn += i * u
            np.tanh(cn, out=tc[t])
            np.multiply(tc[t], o, out=hn)
            h, c = hn, cn

    def _h_prev(self) -> np.ndarray:
        """h_{t-1} of every step (h0 first) as one (L N, H) array."""
        h0 = self.inputs[1]._data
        return np.concatenate([h0[None], self.out[:-1, 0]]).reshape(-1, h0.shape[1])

    def _projection(self) -> Tensor:
        """xw = x W_ih^T + b of every step (L, N, 4H), as handgrad operations."""
        x, w_ih = self.inputs[0], self.inputs[3]
        return linear(x, w_ih, self.inputs[5] if len(self.inputs) == 6 else None)

    def _saved(self) -> tuple:
        """Per step: M = [u, c_{t-1}, i, tanh c_t] * D, the forget gate f and P, and the h_{t-1}
        of every step as one (L N, H) tensor. Constants, or recomputed differentiably when a graph
        of the gradient is being recorded."""
        h0, c0, w = self.inputs[1], self.inputs[2], self.inputs[4]
        if not is_grad_enabled():
            return (  # (the forward's feature-major arrays, per step in torch's (N, .) layout)
                [_wrap(a.T) for a in self.m],
                [_wrap(a.T) for a in self.f],
                [_wrap(a.T) for a in self.p],
                _wrap(self._h_prev()),
            )
        xw = self._projection()
        h, c = h0, c0
        ms, fs, ps, hs_prev = [], [], [], []
        for t in range(xw.shape[0]):
            zi, zf, zg, zo = chunk(xw[t] + h @ w.mT, 4, 1)
            i, f, u, o = sigmoid(zi), sigmoid(zf), tanh(zg), sigmoid(zo)
            cn = f * c + i * u
            tc = tanh(cn)
            ms.append(
                cat([u * (i - i * i), c * (f - f * f), i * (1.0 - u * u), tc * (o - o * o)], 1)
            )
            fs.append(f)
            ps.append(o * (1.0 - tc * tc))
            hs_prev.append(h)
            h, c = o * tc, cn
        return ms, fs, ps, cat(hs_prev, 0)

    def _recorded(self, g: Tensor) -> tuple:
        """The backward through time with recorded operations on the gates recomputed from the
        inputs (``_saved``): differentiable again."""
        x, h0, _, w_ih, w, *_b = self.inputs
        steps, hs = x.shape[0], h0.shape[1]
        ms, fs, ps, h_prev = self._saved()
        dzs: list[Any] = [None] * steps  # filled for every t below
        dh = dc_next = None
        with one_blas_thread():
            for t in range(steps - 1, -1, -1):
                gh, gc = g[t, 0], g[t, 1]
                if dh is not None:
                    gh, gc = gh + dh, gc + dc_next
                dc = gc + gh * ps[t]
                dz = cat([dc, dc, dc, gh], 1) * ms[t]  # the four gate gradients
                dzs[t] = dz
                dc_next = dc * fs[t]
                dh = dz @ w
        dz2 = stack(dzs, 0).reshape(-1, 4 * hs)  # DZ (L N, 4H)
        need = self.needs_input_grad
        dx = (dz2 @ w_ih).reshape(x.shape) if need[0] else None
        dw_ih = _outer(dz2, x.reshape(-1, x.shape[2])) if need[3] else None
        dw = _outer(dz2, h_prev) if need[4] else None
        db = dz2.sum(0) if _b and need[5] else None
        return (dx, dh, dc_next, dw_ih, dw) + ((db,) if _b else ())

    def _backward_arrays(self, g: np.ndarray) -> tuple:
        """``backward`` without a graph: the same time loop on arrays written in place (the
        recorded loop made ten nodes per step, 700 for the benchmark's two layers of 35 steps,
        half of an LSTM training step), feature-major as the forward (each gate's block of dz
        contiguous), then the projection's gradients as three products of DZ."""
        x, h0, _, w_ih, w = (t._data for t in self.inputs[:5])
        steps, n, hs = x.shape[0], h0.shape[0], h0.shape[1]
        gt = np.array(g.transpose(0, 1, 3, 2), order="C")  # (L, 2, H, N), our own copy
        wt = np.ascontiguousarray(w.T)  # (H, 4H): dh_{t-1} = W^T dz_t
        dzt = np.empty((4 * hs, steps, n), x.dtype)  # DZ^T, columns in x's (t, n) order
        with one_blas_thread():
            saved = (self.m, self.f, self.p)
            dh, dc_next = _through_time(gt, saved, wt, dzt, 0, steps, None, None)
        dzt = dzt.reshape(4 * hs, steps * n)
        need = self.needs_input_grad
        xr = _rows_of(x) if need[3] else None
        grads = [
            (dzt.T @ w_ih).reshape(x.shape) if need[0] else None,
            np.ascontiguousarray(dh.T),
            np.ascontiguousarray(dc_next.T),
            dzt @ xr if xr is not None else None,
            dzt @ self._h_prev() if need[4] else None,
        ]
        if len(self.inputs) == 6:
            grads.append(dzt @ np.ones(dzt.shape[1], x.dtype) if need[5] else None)
        return tuple(None if a is None else _wrap(a) for a in grads)


# A stack of LSTM layers runs each layer's time loop in spans of this many steps (``LSTMLayers``).
_SPAN_STEPS = 4


def _spans(steps: int) -> list:
    """The spans of steps of a stack's wavefront; one span of all steps where it would run on one
    thread (shorter spans only cost products: a span's projection and its gradient are one
    product each)."""
    size = _SPAN_STEPS if two_threads() else max(steps, 1)
    return [(t, min(steps, t + size)) for t in range(0, steps, size)]


class LSTMLayers(_Sequence):
    """K stacked LSTM layers over a sequence as one node: layer 0 is ``lstm_layer`` on x (L, N, I)
    and layer k on the h_t of layer k - 1. h0 and c0 (K, N, H) are the layers' initial states;
    after them come each layer's w_ih (4H, I for layer 0, else 4H, H), w_hh (4H, H) and b (4H,)
    (for every layer or none). Returns every layer's (h_t, c_t) of every step as (K, L, 2, N, H):
    out[k] is layer k's ``lstm_layer`` output.

    Forward and backward are ``LSTMLayer``'s, layer after layer, in spans of ``_SPAN_STEPS``
    steps. Why the layers as one node: layer k's step t needs only layer k - 1's h_t, so on two
    threads layer k can run its span s while layer k - 1 runs span s + 1 (``blas.wavefront``).
    Within a layer the loop is sequential, a dozen small NumPy calls a step, too small to share
    between threads any other way. Back-propagation through time runs the same wavefront down the
    stack, from the last span: the gradient reaching layer k's h_t is its own plus what layer
    k + 1 sends to its input at step t,

        G_h[k, t] = g[k, t, 0] + dL/dx_t of layer k + 1 = g[k, t, 0] + W_ih[k + 1]^T dz[k + 1, t]

    (feature-major, as ``LSTMLayer``'s loop), known as soon as layer k + 1 has gone back through
    step t: one product per span. Each layer's weight gradients are then its three products of
    DZ, as ``LSTMLayer``'s. On one thread the layers run one after the other, each in one span
    of all its steps. One thread and two give the same bits where the BLAS rounds the columns of
    a product alike however they are split among products (OpenBLAS does; tested).
    bench/bench_models.py's LSTM (two layers, N 32, H 128, 35 steps; 2026-12-07, quiet host, 6
    alternated processes): the training step at two threads 13.80 -> 12.35 ms, at one 15.25 ->
    15.46 (with the dz buffer of ``_through_time``).

    With ``create_graph=True`` the layers are recorded again as ``lstm_layer`` nodes and their
    backward is chained down the stack (differentiable, as ``LSTMLayer``'s).
    """

    name = "lstm_layers"

    def forward(self, x, h0, c0, *weights):
        layers = h0.shape[0] if h0.ndim == 3 else 0
        per = len(weights) // layers if layers else 0
        hs = h0.shape[2] if h0.ndim == 3 else 0
        fits = (
            layers
            and per in (2, 3)
            and len(weights) == per * layers
            and x.ndim == 3
            and c0.shape == h0.shape
            and x.shape[1] == h0.shape[1]
        )
        for k in range(layers if fits else 0):
            w_ih, w_hh, *b = weights[k * per : (k + 1) * per]
            fits = fits and (
                w_ih.shape == (4 * hs, x.shape[2] if k == 0 else hs)
                and w_hh.shape == (4 * hs, hs)
                and all(a.shape == (4 * hs,) for a in b)
            )
        if not fits:
            shapes = ", ".join(str(w.shape) for w in weights)
            raise ValueError(
                f"lstm_layers: shapes do not fit: x {x.shape} (want (L, N, I)), h0 {h0.shape}, "
                f"c0 {c0.shape} (want (K, N, H)), then per layer w_ih (4H, I or H), w_hh (4H, H) "
                f"and b (4H,) for every layer or none: got {shapes}"
            )
        steps, n = x.shape[0], x.shape[1]
        self.per = per
        out = np.empty((layers, 2, steps, n, hs), x.dtype)  # h_t of layer k: rows of k + 1
        runs = []
        for k in range(layers):
            w_ih, w_hh, *b = weights[k * per : (k + 1) * per]
            runs.append(_LayerRun(h0[k], c0[k], w_ih, w_hh, b[0] if b else None, steps, x.dtype))
        spans = _spans(steps)
        self.saved: list = [None] * layers  # each layer's (M, f, P)
        xs0 = runs[0].project(_rows_of(x))  # layer 0's projections at once, as lstm_layer's

        def stage(k: int) -> Any:
            run = runs[k]

            def span(s: int) -> None:
                t0, t1 = spans[s]
                if k == 0:
                    xs = xs0[:, t0 * n : t1 * n]
                else:  # the h_t of the layer below, just made
                    xs = run.project(out[k - 1, 0, t0:t1].reshape((t1 - t0) * n, hs))
                run.scan(xs, t0, t1)
                np.copyto(out[k, :, t0:t1], run.hc[t0:t1].transpose(1, 0, 3, 2))
                if s == len(spans) - 1:  # on this layer's thread, while the next one runs
                    self.saved[k] = run.derivatives()  # (the loop's other arrays go)

            return span

        wavefront([stage(k) for k in range(layers)], len(spans))
        self.hmem = out
        return out.transpose(0, 2, 1, 3, 4)

    def _backward_arrays(self, g: np.ndarray) -> tuple:
        """``backward`` without a graph: each layer's loop of ``LSTMLayer._backward_arrays`` in
        spans from the last, the layers as a wavefront down the stack (see the class
        docstring). Only the layers from the lowest one that needs a gradient up run."""
        x, h0 = self.inputs[0]._data, self.inputs[1]._data
        weights = [t._data for t in self.inputs[3:]]
        need, per = self.needs_input_grad, self.per
        layers, n, hs = h0.shape
        steps = x.shape[0]
        spans = _spans(steps)
        low = 0 if any(need[:3]) else min(k for k in range(layers) if any(self._needs(k)))
        # dL/d(input of layer k) for k > low, feature-major (H, L, N): what layer k - 1 adds
        dxt = {k: np.empty((hs, steps, n), x.dtype) for k in range(low + 1, layers)}
        grads: list = [None] * len(self.inputs)
        dh0, dc0 = np.zeros_like(h0), np.zeros_like(h0)

        def stage(k: int) -> Any:
            w_ih = weights[k * per]
            wt = np.ascontiguousarray(weights[k * per + 1].T)
            arrays: list = []  # G (L, 2, H, N), our own copy, made by the layer's first span
            carry: list = [None, None]  # dh, dc_next from the span after

            def span(j: int) -> None:
                t0, t1 = spans[len(spans) - 1 - j]
                if not arrays:  # (on one thread the layers run one after the other: made late)
                    arrays.append(np.array(g[k].transpose(0, 1, 3, 2), order="C"))
                    dzts[k] = np.empty((4 * hs, steps, n), x.dtype)
                gt, dzt = arrays[0], dzts[k]
                if k + 1 in dxt:  # what layer k + 1 sent to its input at these steps
                    gt[t0:t1, 0] += dxt[k + 1][:, t0:t1].transpose(1, 0, 2)
                carry[:] = _through_time(gt, self.saved[k], wt, dzt, t0, t1, *carry)
                if k in dxt:
                    part = np.matmul(w_ih.T, dzt[:, t0:t1].reshape(4 * hs, (t1 - t0) * n))
                    dxt[k][:, t0:t1] = part.reshape(hs, t1 - t0, n)
                if j == len(spans) - 1:  # step 0 done: the initial state's gradients
                    dh0[k], dc0[k] = carry[0].T, carry[1].T
                    arrays.clear()

            return span

        dzts: dict = {}  # each layer's DZ^T (4H, L, N), columns in x's (t, n) order
        wavefront([stage(k) for k in range(layers - 1, low - 1, -1)], len(spans))
        for k in range(low, layers):  # the large products, on the caller's BLAS pool
            self._layer_grads(k, dzts.pop(k).reshape(4 * hs, steps * n), grads)
        grads[1] = _wrap(dh0) if need[1] else None
        grads[2] = _wrap(dc0) if need[2] else None
        return tuple(grads)

    def _needs(self, k: int) -> tuple:
        """needs_input_grad of layer k's weights."""
        return self.needs_input_grad[3 + k * self.per : 3 + (k + 1) * self.per]

    def _layer_grads(self, k: int, dzt, grads: list) -> None:
        """Layer k's weight gradients (and for layer 0 the input's) from DZ^T (4H, L N), as
        ``LSTMLayer._backward_arrays`` forms them."""
        need, per = self.needs_input_grad, self.per
        x, h0 = self.inputs[0]._data, self.inputs[1]._data
        hs = h0.shape[2]
        first = 3 + k * per
        w_ih = self.inputs[first]._data
        if k == 0 and need[0]:
            grads[0] = _wrap((dzt.T @ w_ih).reshape(x.shape))
        if need[first]:
            below = _rows_of(x) if k == 0 else self.hmem[k - 1, 0].reshape(dzt.shape[1], hs)
            grads[first] = _wrap(dzt @ below)
        if need[first + 1]:
            h_prev = np.concatenate([h0[k][None], self.hmem[k, 0, :-1]]).reshape(dzt.shape[1], hs)
            grads[first + 1] = _wrap(dzt @ h_prev)
        if per == 3 and need[first + 2]:
            grads[first + 2] = _wrap(dzt @ np.ones(dzt.shape[1], dzt.dtype))

    def _recorded(self, g: Tensor) -> tuple:
        """The layers recorded again as ``lstm_layer`` nodes on the inputs, and their backward
        chained down the stack: layer k's gradient of its h_t gains layer k + 1's gradient of
        its input. Differentiable where a graph of the gradient is built; otherwise (an empty
        sequence, a gradient of another dtype) the results are detached."""
        x, h0, c0, *weights = self.inputs
        per, layers = self.per, h0.shape[0]
        grads: list = [None] * len(self.inputs)
        dh0: list = [None] * layers
        dc0: list = [None] * layers
        outs, below = [], x
        for k in range(layers):
            outs.append(lstm_layer(below, h0[k], c0[k], *weights[k * per : (k + 1) * per]))
            below = outs[-1][:, 0]
        from_above = None
        for k in range(layers - 1, -1, -1):
            node = outs[k]._ctx
            if node is None:  # nothing at or below layer k needs a gradient
                break
            gk = g[k]
            if from_above is not None:
                gk = cat([(gk[:, 0] + from_above).unsqueeze(1), gk[:, 1:]], 1)
            dx, dh0[k], dc0[k], *dw = node.backward(gk)
            grads[3 + k * per : 3 + (k + 1) * per] = dw
            if k == 0:
                grads[0] = dx
            from_above = dx
        if self.needs_input_grad[1]:
            grads[1] = stack(dh0, 0)
        if self.needs_input_grad[2]:
            grads[2] = stack(dc0, 0)
        return tuple(grads)


def lstm_layers(x: Tensor, h0: Tensor, c0: Tensor, *weights: Tensor) -> Tensor:
    """K stacked LSTM layers over x (L, N, I) from h0, c0 (K, N, H), with each layer's w_ih, w_hh
    and (for all or none) b = b_ih + b_hh: every layer's (h_t, c_t), stacked as (K, L, 2, N, H)."""
    return LSTMLayers.apply(x, h0, c0, *weights)


class GRULayer(_Sequence):
    """A whole GRU layer over a sequence as one node: its input projection and the ``gru_cell``
    step scanned over time. x (L, N, I), h0 (N, H), w_ih (3H, I), w_hh (3H, H), and b_ih, b_hh
    (3H,) both or neither; returns every step's h_t as (L, N, H).

    Forward: the projections of all steps at once, xw_t = W_ih x_t + b_ih, then for t = 0 ..
    L - 1 the cell (see ``GRUCell``; gates r, z, n):

        r = s(x_r + h_r),  z = s(x_z + h_z),  n = tanh(x_n + r h_n),  h_t = n + z (h_{t-1} - n)

    with [h_r, h_z, h_n] = W_hh h_{t-1} + b_hh. Why a layer: a step node reads its projection out
    of one (L, N, 3H) tensor, whose index gradients add up L whole-size arrays, and every step
    recorded about a dozen small nodes' worth of work per step in Python; the GRU step of
    bench-sized models was 3.1x PyTorch's (2-layer GRU, N 32, H 128, 35 steps, 1 thread).

    Backward through time, from t = L - 1 down, with G = g_t + (what step t + 1 sent back) and
    the factors the forward keeps per step, A = (1 - z)(1 - n^2), B = h_n r (1 - r) and
    C = (h_{t-1} - n) z (1 - z) (``GRUCell``'s rule):

        da_n = G A,   da_r = da_n B,   da_z = G C
        dL/dxw_t = [da_r, da_z, da_n],   dq_t = [da_r, da_z, da_n r]
        dL/dh_{t-1} = G z + W_hh^T dq_t

    then, with DXW and DQ the stacked dxw_t and dq_t and H_prev the h_{t-1} of every step:
    dL/dW_ih = DXW^T X, dL/db_ih = sum of DXW, dL/dx = DXW W_ih, dL/dW_hh = DQ^T H_prev,
    dL/db_hh = sum of DQ. Feature-major, as ``LSTMLayer``: a step's gates are (3H, N) blocks.

    With ``create_graph=True`` the layer is recorded again as ``linear`` and ``gru_cell`` nodes
    and their backward chained back through time (differentiable, as ``GRUCell``'s).
    """

    name = "gru_layer"

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None):
        _check_layer("gru_layer", 3, x, h0, w_ih, w_hh, b_ih, b_hh)
        n, hs = h0.shape
        steps, dt = x.shape[0], x.dtype
        xs = np.matmul(w_ih, _rows_of(x).T)  # (3H, L N): all steps' projections, one product
        b_n = None
        if b_ih is not None:
            xs += b_ih[:, None]
            xs[: 2 * hs] += b_hh[: 2 * hs, None]  # r and z take b_hh as it is; n inside r (.)
            b_n = b_hh[2 * hs :, None]
        xs = xs.reshape(3 * hs, steps, n)
        hts = np.empty((steps, hs, n), dt)  # h_t
        rz = np.empty((steps, 2 * hs, n), dt)
        nn = np.empty((steps, hs, n), dt)
        hn = np.empty((steps, hs, n), dt)
        h = np.ascontiguousarray(h0.T)
        h0t = h
        hw = np.empty((3 * hs, n), np.result_type(dt, w_hh))
        with one_blas_thread():  # small sequential products (threads.py)
            for t in range(steps):
                np.matmul(w_hh, h, out=hw)
                a, u, v = rz[t], nn[t], hn[t]
                np.add(hw[: 2 * hs], xs[: 2 * hs, t], out=a)
                _sigmoid_(a)
                if b_n is None:
                    np.copyto(v, hw[2 * hs :])
                else:
                    np.add(hw[2 * hs :], b_n, out=v)
                np.multiply(a[:hs], v, out=u)
                u += xs[2 * hs :, t]
                np.tanh(u, out=u)
                out = hts[t]
                np.subtract(h, u, out=out)
                out *= a[hs:]
                out += u
                h = out
        # the backward's factors, all steps at once: A, B, C (see above), r and z
        r, z = rz[:, :hs], rz[:, hs:]
        prev = np.concatenate([h0t[None], hts[:-1]])
        fa = np.multiply(nn, nn)
        np.subtract(1.0, fa, out=fa)
        fa *= 1.0 - z
        fb = np.multiply(hn, r - r * r, out=hn)
        fc = np.subtract(prev, nn, out=nn)
        fc *= z - z * z
        self.fa, self.fb, self.fc, self.rz = fa, fb, fc, rz
        out_rows = np.ascontiguousarray(hts.transpose(0, 2, 1))  # (L, N, H)
        self.out = out_rows
        return out_rows

    def _backward_arrays(self, g: np.ndarray) -> tuple:
        """``backward`` without a graph: the time loop on arrays (feature-major), then the
        weight gradients as products of DXW^T and DQ^T (3H, L N)."""
        steps, n, hs = g.shape
        wt = np.ascontiguousarray(self.inputs[3]._data.T)  # (H, 3H)
        dq = np.empty((3 * hs, steps, n), g.dtype)  # DQ^T, columns in x's (t, n) order
        dan = np.empty((hs, steps, n), g.dtype)  # da_n: DXW^T's n rows (its r, z rows: DQ's)
        rz = self.rz

        def step(t: int, gg: np.ndarray) -> np.ndarray:
            a = dan[:, t]
            np.multiply(gg, self.fa[t], out=a)
            q = dq[:, t]
            np.multiply(a, self.fb[t], out=q[:hs])
            np.multiply(gg, self.fc[t], out=q[hs : 2 * hs])
            np.multiply(a, rz[t, :hs], out=q[2 * hs :])
            dh = wt @ q
            dh += gg * rz[t, hs:]
            return dh

        dh = _back_through_time(g, step)
        dq2, dan2 = dq.reshape(3 * hs, steps * n), dan.reshape(hs, steps * n)
        # DXW = [DQ's r and z rows, da_n]
        return _projection_grads(
            self, dh, [(slice(0, 2 * hs), dq2[: 2 * hs]), (slice(2 * hs, None), dan2)], dq2
        )

    def _recorded(self, g: Tensor) -> tuple:
        """The layer recorded again as a ``linear`` node and ``gru_cell`` step nodes on the
        inputs, and their backward chained back through time (detached where no graph of the
        gradient is built)."""
        x, h0, w_ih, w_hh, *b = self.inputs
        b_ih, b_hh = (b[0], b[1]) if b else (None, None)
        grads: list = [None] * len(self.inputs)
        xw = linear(x, w_ih, b_ih)
        h, steps = h0, []
        for t in range(x.shape[0]):
            h = gru_cell_step(xw[t], h, w_hh, b_hh)
            steps.append(h._ctx)
        dh, dxws, dws, dbs = None, [], [], []
        for t in range(x.shape[0] - 1, -1, -1):
            gg = g[t] if dh is None else g[t] + dh
            dxw, dh, dw, *db = steps[t].backward(gg)
            dxws.append(dxw)
            dws.append(dw)
            dbs += db
        need = self.needs_input_grad
        grads[1] = dh if need[1] else None
        grads[3] = _sum_all(dws) if need[3] else None
        if b_hh is not None and need[5]:
            grads[5] = _sum_all(dbs)
        if xw._ctx is not None and any(need[i] for i in (0, 2, 4) if i < len(need)):
            dx, dw_ih, *db_ih = xw._ctx.backward(stack(dxws[::-1], 0))
            grads[0], grads[2] = dx if need[0] else None, dw_ih if need[2] else None
            if b_ih is not None and need[4]:
                grads[4] = db_ih[0]
        return tuple(grads)


def _sum_all(terms: list) -> Tensor | None:
    terms = [a for a in terms if a is not None]
    if not terms:
        return None
    total = terms[0]
    for a in terms[1:]:
        total = total + a
    return total


def gru_layer(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """A GRU layer over a sequence x (L, N, I), with its input projection: every step's h_t,
    (L, N, H)."""
    return GRULayer.apply(x, h0, w_ih, w_hh, *_paired_biases("gru_layer", b_ih, b_hh))


def _back_through_time(g: np.ndarray, step: Any) -> np.ndarray:
    """The time loop of a GRU or RNN layer's backward on arrays: with G = g feature-major
    (L, H, N), from the last step back, gg = G_t + dh_t (dh_L = 0) and dh_{t-1} = step(t, gg),
    every product on one BLAS thread; returns dh_{-1} = (dL/dh0)^T (H, N). ``g`` (L, N, H) has
    at least one step (``_Sequence.backward``'s condition)."""
    gt = np.array(g.transpose(0, 2, 1), order="C")  # (L, H, N), our own copy
    dh = None
    with one_blas_thread():
        for t in range(gt.shape[0] - 1, -1, -1):
            gg = gt[t]
            if dh is not None:
                gg += dh
            dh = step(t, gg)
    assert dh is not None
    return dh


def _projection_grads(fn: _Sequence, dh: np.ndarray, dxw: list, dhw: np.ndarray) -> tuple:
    """The gradients of a GRU or Elman RNN layer node (x, h0, w_ih, w_hh[, b_ih, b_hh]) from its
    backward loop: dh = (dL/dh0)^T (H, N); DXW^T, the input projection's gradient (G, L N), as
    pieces (rows of w_ih, their rows of DXW^T); DHW^T, the hidden projection's (G, L N):

        dL/dx = DXW W_ih    dL/dW_ih = DXW^T X    dL/db_ih = DXW^T 1
        dL/dW_hh = DHW^T H_prev (h0, then h_1 .. h_{L-1})    dL/db_hh = DHW^T 1
    """
    x, h0, w_ih = (t._data for t in fn.inputs[:3])
    steps, n, hs = x.shape[0], h0.shape[0], h0.shape[1]
    need = fn.needs_input_grad
    grads: list = [None] * len(fn.inputs)
    if need[0]:
        dx = dxw[0][1].T @ w_ih[dxw[0][0]]
        for rows, d in dxw[1:]:
            dx += d.T @ w_ih[rows]
        grads[0] = dx.reshape(x.shape)
    if need[1]:
        grads[1] = np.ascontiguousarray(dh.T)
    if need[2]:
        xr = _rows_of(x)
        grads[2] = np.concatenate([d @ xr for _, d in dxw])
    if need[3]:
        h_prev = np.concatenate([h0[None], fn.out[:-1]]).reshape(steps * n, hs)
        grads[3] = dhw @ h_prev
    if len(fn.inputs) == 6 and (need[4] or need[5]):
        ones = np.ones(steps * n, x.dtype)
        db_hh = grads[5] = dhw @ ones if need[5] else None
        if need[4] and db_hh is not None and len(dxw) == 1 and dxw[0][1] is dhw:
            grads[4] = db_hh.copy()  # (the RNN's DXW is DHW: one product for both)
        elif need[4]:
            grads[4] = np.concatenate([d @ ones for _, d in dxw])
    return tuple(None if a is None else _wrap(a) for a in grads)


class RNNLayer(_Sequence):
    """A whole Elman RNN layer over a sequence as one node: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1}
    + b_hh), act tanh or relu (``nonlinearity``), for x (L, N, I), h0 (N, H), w_ih (H, I), w_hh
    (H, H), and b_ih, b_hh (H,) both or neither; returns every step's h_t as (L, N, H).

    Forward: the projections of all steps at once (one product), then the loop, feature-major
    as ``LSTMLayer``'s. Where each step was a small graph (linear, add, tanh): bench-sized
    2-layer RNN steps were 3.4x PyTorch's.

    Backward through time, from t = L - 1 down, G = g_t + (what step t + 1 sent back) and
    a_t the pre-activation:

        da_t = G (1 - h_t^2)  (tanh),   da_t = G where h_t > 0, else 0  (relu: selected, so an
                                                                         infinite G gives 0)
        dL/dh_{t-1} = W_hh^T da_t

    then, with DA the stacked da_t and H_prev the h_{t-1}: dL/dW_ih = DA^T X, dL/dx = DA W_ih,
    dL/dW_hh = DA^T H_prev, and dL/db_ih = dL/db_hh = sum of DA.

    With ``create_graph=True`` the layer is recorded again as ``linear``, ``add`` and tanh or
    relu nodes, and back-propagation through time runs on them with each activation node's own
    backward (differentiable, tied as torch's).
    """

    name = "rnn_layer"

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, nonlinearity="tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"rnn_layer: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        _check_layer("rnn_layer", 1, x, h0, w_ih, w_hh, b_ih, b_hh)
        n, hs = h0.shape
        self.relu = nonlinearity == "relu"
        steps = x.shape[0]
        xs = np.matmul(w_ih, _rows_of(x).T)  # (H, L N): all steps' projections, one product
        if b_ih is not None:
            xs += b_ih[:, None]
            xs += b_hh[:, None]
        xs = xs.reshape(hs, steps, n)
        hts = np.empty((steps, hs, n), x.dtype)
        h = np.ascontiguousarray(h0.T)
        a = np.empty((hs, n), np.result_type(x.dtype, w_hh))
        with one_blas_thread():  # small sequential products (threads.py)
            for t in range(steps):
                np.matmul(w_hh, h, out=a)
                a += xs[:, t]
                if self.relu:  # -0.0 and NaN kept, as torch's relu
                    r = relu_array(a)
                    if r is None:  # (NumPy's maximum would not keep them here: select)
                        r = np.where(a < 0, a.dtype.type(0), a)
                    np.copyto(hts[t], r)
                else:
                    np.tanh(a, out=hts[t])
                h = hts[t]
        # the backward's factor: 1 - h^2 (tanh), or where g passes (relu: not h <= 0, so a NaN
        # passes g, as torch's threshold_backward)
        self.d = ~(hts <= 0) if self.relu else 1.0 - hts * hts
        self.out = np.ascontiguousarray(hts.transpose(0, 2, 1))  # (L, N, H)
        return self.out

    def _backward_arrays(self, g: np.ndarray) -> tuple:
        """``backward`` without a graph: the time loop on arrays (feature-major), then the
        weight gradients as products of DA^T (H, L N)."""
        steps, n, hs = g.shape
        wt = np.ascontiguousarray(self.inputs[3]._data.T)
        da = np.empty((hs, steps, n), g.dtype)  # DA^T, columns in x's (t, n) order

        def step(t: int, gg: np.ndarray) -> np.ndarray:
            a = da[:, t]
            if self.relu:  # selected: an infinite G on the flat side gives 0, not NaN
                a[...] = 0.0
                np.copyto(a, gg, where=self.d[t])
            else:
                np.multiply(gg, self.d[t], out=a)
            return wt @ a

        dh = _back_through_time(g, step)
        da2 = da.reshape(hs, steps * n)
        return _projection_grads(self, dh, [(slice(None), da2)], da2)  # DXW = DHW = DA

    def _recorded(self, g: Tensor) -> tuple:
        """The layer recorded again (``linear`` of all steps, then per step ``linear`` of h, an
        add and the activation) and back-propagation through time on it, each step's da from its
        activation node's own backward (detached where no graph of the gradient is built)."""
        from .elementwise import relu

        x, h0, w_ih, w_hh, *b = self.inputs
        b_ih, b_hh = (b[0], b[1]) if b else (None, None)
        act = relu if self.relu else tanh
        grads: list = [None] * len(self.inputs)
        need = self.needs_input_grad
        xw = linear(x, w_ih, b_ih)
        h, hs = h0, []
        for t in range(x.shape[0]):
            h = act(xw[t] + linear(h, w_hh, b_hh))
            hs.append(h)
        dh, das = None, []
        for t in range(x.shape[0] - 1, -1, -1):
            gg = g[t] if dh is None else g[t] + dh
            da = hs[t]._ctx.backward(gg)
            das.append(da)
            dh = da @ w_hh
        d_a = stack(das[::-1], 0)  # (L, N, H)
        rows = d_a.reshape(-1, d_a.shape[2])
        grads[1] = dh if need[1] else None
        if need[3]:
            h_prev = cat([h0.unsqueeze(0)] + [a.unsqueeze(0) for a in hs[:-1]], 0)
            grads[3] = _outer(rows, h_prev.reshape(-1, h_prev.shape[2]))
        if b_hh is not None and need[5]:
            grads[5] = rows.sum(0)
        if xw._ctx is not None and (need[0] or need[2] or (b_ih is not None and need[4])):
            dx, dw_ih, *db_ih = xw._ctx.backward(d_a)
            grads[0], grads[2] = dx if need[0] else None, dw_ih if need[2] else None
            if b_ih is not None and need[4]:
                grads[4] = db_ih[0]
        return tuple(grads)


def rnn_layer(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
) -> Tensor:
    """An Elman RNN layer (tanh or relu) over a sequence x (L, N, I), with its input projection:
    every step's h_t, (L, N, H)."""
    biases = _paired_biases("rnn_layer", b_ih, b_hh)
    return RNNLayer.apply(x, h0, w_ih, w_hh, *biases, nonlinearity=nonlinearity)


class _Directions(_Sequence):
    """The two directions of a bidirectional layer as one node (``LSTMDirections``,
    ``GRUDirections``): the one-direction ``layer`` on x (L, N, I) with the forward direction's
    states and weights, and on xr, the sequence reversed (the caller reverses it, by a flip or
    per sequence of a packed batch), with the reverse direction's. Each state is (2, N, H); after
    the ``states`` states come the forward direction's weights, then the reverse direction's.
    Returns both directions' outputs, each in its own input's order, stacked.

    The directions do not depend on each other, so their forward and their backward (each the
    layer's, whose derivation it is) run side by side on two threads (``blas.side_by_side``),
    each direction's time loop on a core of its own; on one thread, one after the other. Each
    direction does the same arithmetic either way (the same bits). With ``create_graph=True`` the
    directions are recorded as the layer's nodes and their backward taken (differentiable, as
    the layer's)."""

    layer: Any  # the one-direction primitive (a Function class)
    states = 1

    def forward(self, x, xr, *rest):
        states, weights = rest[: self.states], rest[self.states :]
        per = len(weights) // 2
        fits = per in (2, 3, 4) and len(weights) == 2 * per
        if xr.shape != x.shape or not fits or any(h.ndim != 3 or h.shape[0] != 2 for h in states):
            raise ValueError(
                f"{self.name}: shapes do not fit: x {x.shape} and its reverse {xr.shape}, states "
                f"{[h.shape for h in states]} (want (2, N, H)), {len(weights)} weights (the same "
                "count for each direction)"
            )
        need = self.needs_input_grad
        self.per, self.dirs = per, []
        for d in range(2):
            fn = self.layer()
            own = need[2 + self.states + d * per : 2 + self.states + (d + 1) * per]
            fn.needs_input_grad = (need[d], *need[2 : 2 + self.states], *own)
            self.dirs.append(fn)
        out = side_by_side(
            lambda: self.dirs[0].forward(x, *(h[0] for h in states), *weights[:per]),
            lambda: self.dirs[1].forward(xr, *(h[1] for h in states), *weights[per:]),
        )
        return np.stack(out)

    def _direction_inputs(self, d: int) -> tuple:
        x, xr, *rest = self.inputs
        states, weights = rest[: self.states], rest[self.states :]
        own = weights[d * self.per : (d + 1) * self.per]
        return ((x, xr)[d], *(h[d] for h in states), *own)

    def _backward_arrays(self, g: np.ndarray) -> tuple:
        """Each direction's backward on arrays (the layer's), side by side."""
        for d, fn in enumerate(self.dirs):  # the arrays each direction's backward reads
            fn.inputs = tuple(_wrap(t._data) for t in self._direction_inputs(d))
        fwd, rev = side_by_side(
            lambda: self.dirs[0]._backward_arrays(g[0]), lambda: self.dirs[1]._backward_arrays(g[1])
        )
        return self._gather(fwd, rev)

    def _gather(self, fwd: tuple, rev: tuple) -> tuple:
        """The node's gradients from the two directions' (dx, the states', the weights')."""
        need, k = self.needs_input_grad, self.states
        states = [stack([fwd[1 + i], rev[1 + i]]) if need[2 + i] else None for i in range(k)]
        xs = (fwd[0] if need[0] else None, rev[0] if need[1] else None)
        return (*xs, *states, *fwd[1 + k :], *rev[1 + k :])

    def _recorded(self, g: Tensor) -> tuple:
        """The directions recorded as the layer's nodes on the inputs and their backward taken
        (detached where no graph of the gradient is built)."""
        grads = []
        for d in range(2):
            node = self.layer.apply(*self._direction_inputs(d))._ctx
            none = (None,) * (1 + self.states + self.per)
            grads.append(node.backward(g[d]) if node is not None else none)
        result = self._gather(*grads)
        return tuple(result)


class LSTMDirections(_Directions):
    """A bidirectional LSTM layer's two directions as one node (see ``_Directions``), each
    ``lstm_layer``: inputs x, xr, h0 and c0 (2, N, H), then each direction's w_ih, w_hh (and
    b = b_ih + b_hh); returns both directions' (h_t, c_t) as (2, L, 2, N, H)."""

    name = "lstm_directions"
    layer = LSTMLayer
    states = 2


class GRUDirections(_Directions):
    """A bidirectional GRU layer's two directions as one node (see ``_Directions``), each
    ``gru_layer``: inputs x, xr, h0 (2, N, H), then each direction's w_ih, w_hh (and b_ih,
    b_hh); returns both directions' h_t as (2, L, N, H)."""

    name = "gru_directions"
    layer = GRULayer
    states = 1


def lstm_directions(x: Tensor, xr: Tensor, h0: Tensor, c0: Tensor, *weights: Tensor) -> Tensor:
    """A bidirectional LSTM layer's two directions, on x and on its reverse xr, from h0, c0
    (2, N, H) and each direction's w_ih, w_hh (and b): (2, L, 2, N, H)."""
    return LSTMDirections.apply(x, xr, h0, c0, *weights)


def gru_directions(x: Tensor, xr: Tensor, h0: Tensor, *weights: Tensor) -> Tensor:
    """A bidirectional GRU layer's two directions, on x and on its reverse xr, from h0 (2, N, H)
    and each direction's w_ih, w_hh (and b_ih, b_hh): (2, L, N, H)."""
    return GRUDirections.apply(x, xr, h0, *weights)


def _gate_rows(w: np.ndarray) -> np.ndarray:
    """The gate rows (or entries) of a (4H, ...) weight or (4H,) bias in the layer's order
    i, f, o, g, the sigmoid gates' halved (see ``LSTMLayer.forward``)."""
    hs = w.shape[0] // 4
    return np.concatenate([w[: 2 * hs] * 0.5, w[3 * hs :] * 0.5, w[2 * hs : 3 * hs]])


def _rows_of(x: np.ndarray) -> np.ndarray:
    """x (L, N, I) as an (L N, I) matrix (a view when its memory allows, else a copy)."""
    return x.reshape(-1, x.shape[2])


class _LayerRun:
    """One layer's forward time loop on arrays (see ``LSTMLayer.forward``), feature-major: the
    weights in the layer's gate order, and per step the gates, (h_t, c_t) and tanh(c_t), filled
    by ``scan`` a span of steps at a time from the state the last span left."""

    def __init__(self, h0, c0, w_ih, w_hh, b, steps: int, dtype) -> None:
        n, hs = h0.shape
        self.w_hp, self.w_ip = _gate_rows(w_hh), _gate_rows(w_ih)
        self.b = None if b is None else _gate_rows(b)[:, None]
        self.gates = np.empty((steps, 4 * hs, n), dtype)  # i, f, o, u per step
        self.hc = np.empty((steps, 2, hs, n), dtype)  # h_t, c_t
        self.tc = np.empty((steps, hs, n), dtype)  # tanh(c_t)
        self.c0t = np.ascontiguousarray(c0.T)
        self.h, self.c = np.ascontiguousarray(h0.T), self.c0t

    def project(self, rows: np.ndarray) -> np.ndarray:
        """The projections W_ih x_t + b of the steps whose input rows (steps N, I) are given, as
        (4H, steps N): step t's are columns t N .. (t + 1) N."""
        xs = np.matmul(self.w_ip, rows.T)
        if self.b is not None:
            xs += self.b
        return xs

    def scan(self, xs: np.ndarray, t0: int, t1: int) -> None:
        """Steps t0 .. t1 - 1 from their projections ``xs`` (4H, (t1 - t0) N)."""
        LSTMLayer._scan(
            xs.reshape(xs.shape[0], t1 - t0, self.h.shape[1]),
            self.h,
            self.c,
            self.w_hp,
            self.hc[t0:t1],
            self.tc[t0:t1],
            self.gates[t0:t1],
        )
        if t1 > t0:
            self.h, self.c = self.hc[t1 - 1, 0], self.hc[t1 - 1, 1]

    def derivatives(self) -> tuple:
        """M, f and P of every step (feature-major (L, 4H, N), (L, H, N), (L, H, N)), once every
        step has run; tanh(c_t) becomes P in place."""
        gates, hc, c0t = self.gates, self.hc, self.c0t
        steps, hs = gates.shape[0], hc.shape[2]
        i, f, o, u = (gates[:, k * hs : (k + 1) * hs] for k in range(4))
        # M = [u, c_{t-1}, i, tanh c_t] * D in torch's gate order i, f, g, o, with D = s (1 - s)
        # for the sigmoid gates and 1 - u^2 for the cell input (dz_t = [dc, dc, dc, G_h] * M),
        # and P = o (1 - tanh^2 c_t), all steps at once
        sig = gates[:, : 3 * hs]
        d_sig = sig - sig * sig
        m = np.empty(gates.shape, gates.dtype)
        np.multiply(u, d_sig[:, :hs], out=m[:, :hs])
        if steps:
            np.multiply(c0t, d_sig[0, hs : 2 * hs], out=m[0, hs : 2 * hs])
        np.multiply(hc[:-1, 1], d_sig[1:, hs : 2 * hs], out=m[1:, hs : 2 * hs])
        d_u = m[:, 2 * hs : 3 * hs]
        np.multiply(u, u, out=d_u)
        np.subtract(1.0, d_u, out=d_u)
        d_u *= i
        np.multiply(self.tc, d_sig[:, 2 * hs :], out=m[:, 3 * hs :])
        pp = np.multiply(self.tc, self.tc, out=self.tc)
        np.subtract(1.0, pp, out=pp)
        pp *= o
        return m, f, pp


# Back-propagation through time forms dz_t in a buffer of this many steps, then moves it into DZ^T.
_DZ_STEPS = 8


_HALF = {np.dtype(np.float32): np.float32(0.5), np.dtype(np.float64): np.float64(0.5)}


def _compiled_for(a: np.ndarray):
    """The compiled kernels (ops/_compiled.py) for a float32 or float64 loop, else None."""
    return _compiled.kernels() if a.dtype in _HALF else None


def _through_time(gt, saved, wt, dzt, t0: int, t1: int, dh, dc_next) -> tuple:
    """Back-propagation through steps t1 - 1 down to t0 on arrays (see ``LSTMLayer.backward``),
    feature-major: ``gt`` (L, 2, H, N) the incoming gradients of (h_t, c_t), the caller's own
    copy (G_h and G_c are formed in it), ``saved`` the forward's (M, f, P), ``wt`` = W_hh^T,
    and dh, dc_next what step t1 sent back (None at the end of the sequence). Fills steps t0 ..
    t1 - 1 of DZ^T, ``dzt`` (4H, L, N), the layout of the weight gradients' products (columns in
    x's (t, n) order). Returns (dh, dc_next) for step t0 - 1.

    Each dz_t is formed contiguous in a buffer of ``_DZ_STEPS`` steps, moved into DZ^T (whole
    (N,) rows, 0.17 ms a layer where transposing to torch's (N, 4H) took 0.46) when the buffer
    is full: formed in DZ^T's strided column block, a step's dz spans (4H) rows 4.5 KB apart and
    the loop was 2% slower; formed in a (L, 4H, N) array moved after the loop, the layer held
    both (9 MiB each at N = 128). Every step writes into arrays made once, where each step had
    made six (bench/bench_models.py's two layers, ``LSTMLayers``' backward: 8.01 -> 7.63 ms at
    two threads, 9.58 -> 9.26 at one; 8 alternated runs)."""
    hs, n = gt.shape[2], gt.shape[3]
    m_all, f_all, p_all = saved
    dc, dh_next, dc_prev = (np.empty((hs, n), gt.dtype) for _ in range(3))
    buf = np.empty((min(_DZ_STEPS, t1 - t0), 4 * hs, n), gt.dtype)
    kernels = _compiled_for(gt)
    for top in range(t1, t0, -len(buf)):  # steps top - 1 down to low, through the buffer
        low = max(t0, top - len(buf))
        for t in range(top - 1, low - 1, -1):
            gh, gc = gt[t, 0], gt[t, 1]
            if kernels is not None:  # the element-wise steps below as one pass
                dz, first = buf[t - low], dh is None
                kernels.lstm_back_step(
                    gh.reshape(-1),
                    gc.reshape(-1),
                    gh.reshape(-1) if first else dh.reshape(-1),
                    gc.reshape(-1) if first else dc_next.reshape(-1),
                    first,
                    p_all[t].reshape(-1),
                    m_all[t].reshape(4, -1),
                    f_all[t].reshape(-1),
                    dz.reshape(4, -1),
                    dc_prev.reshape(-1),
                )
                dh, dc_next = np.matmul(wt, dz, out=dh_next), dc_prev
                continue
            if dh is not None:
                gh += dh
                gc += dc_next
            np.multiply(gh, p_all[t], out=dc)
            dc += gc  # dc = G_c + G_h P
            dz, m = buf[t - low], m_all[t]  # dz = [dc, dc, dc, G_h] * M, two products
            np.multiply(m[: 3 * hs].reshape(3, hs, n), dc, out=dz[: 3 * hs].reshape(3, hs, n))
            np.multiply(m[3 * hs :], gh, out=dz[3 * hs :])
            dh, dc_next = np.matmul(wt, dz, out=dh_next), np.multiply(dc, f_all[t], out=dc_prev)
        dzt[:, low:top] = buf[: top - low].transpose(1, 0, 2)
    return dh, dc_next


def lstm_cell_step(xw: Tensor, h: Tensor, c: Tensor, w_hh: Tensor) -> tuple[Tensor, Tensor]:
    """One LSTM step from the input projection ``xw = x W_ih^T + b_ih (+ b_hh)``: (h', c')."""
    hc = LSTMCell.apply(xw, h, c, w_hh)
    return hc[0], hc[1]


def lstm_layer(
    x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b: Tensor | None = None
) -> Tensor:
    """An LSTM layer over a sequence x (L, N, I), with its input projection x W_ih^T + b: (h_t, c_t)
    of every step, stacked as (L, 2, N, H)."""
    args = (x, h0, c0, w_ih, w_hh) + (() if b is None else (b,))
    return LSTMLayer.apply(*args)


def gru_cell_step(xw: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None = None) -> Tensor:
    """One GRU step from the input projection ``xw = x W_ih^T + b_ih``: h'."""
    return GRUCell.apply(xw, h, w_hh) if b_hh is None else GRUCell.apply(xw, h, w_hh, b_hh)


def lstm_cell(
    input: Tensor,
    hx: tuple,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """``torch.lstm_cell``: one LSTM step of a batch (N, I) from hx = (h, c); returns (h', c')."""
    x = lift(input)
    xw = linear(x, lift(w_ih, x), None if b_ih is None else lift(b_ih, x))
    if b_hh is not None:
        xw = xw + lift(b_hh, x)
    return lstm_cell_step(xw, lift(hx[0], x), lift(hx[1], x), lift(w_hh, x))


def gru_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """``torch.gru_cell``: one GRU step of a batch (N, I) from h; returns h'."""
    x = lift(input)
    xw = linear(x, lift(w_ih, x), None if b_ih is None else lift(b_ih, x))
    return gru_cell_step(xw, lift(hx, x), lift(w_hh, x), None if b_hh is None else lift(b_hh, x))


__all__ = ["gru_cell", "lstm_cell"]  # lstm_layer is internal (nn.LSTM); not a torch function
