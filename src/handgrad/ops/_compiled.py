"""Compiled kernels, when numba is installed (the ``fast`` extra; ``HANDGRAD_JIT=0`` turns them
off): the rows of batch and layer normalization, relu's backward, and the element-wise steps of
an LSTM layer's time loops. Without numba, ops/_rows.py, ops/_select.py and ops/rnn_cell.py run
the same formulas as NumPy passes. relu's and the LSTM's kernels give those passes' bits
exactly (the same operations in the same order, in T); the normalizations' differ in their sums.

Why: a normalization is a handful of element-wise steps over rows (the mean, the centred
squares, x^ = (x - mean) / sigma, then x^ w + b; backward the two sums and the three-term
formula of ops/normalization.py). NumPy makes each step a pass over memory, and a per-row
operand (the mean, 1 / sigma) costs it a call of its inner loop per row: 100 us for the 2048
rows of 128 of a Transformer's activations, against 35 us for a scalar operand. Compiled, a row
is read once for its sums and once more to write the output; x^ is not stored (the backward
forms it again from x and the row's float64 moments, as torch's kernels do from the mean and
1 / sigma). The kernels release the
GIL (``nogil``), so the rows of one call can be shared among the BLAS pool's threads
(``blas.each_part``) with one hand-over per thread, where each NumPy pass was one. relu's
backward and an LSTM step are several NumPy calls each (mask, bytes, words, AND; five to seven
small products and sums a step), one call compiled.

The normalizations' arithmetic, for a row of m values of dtype T (float32 or float64):

- sums in float64 (for float32 inputs every float32 value and product of two is exact in
  float64, and a sum of up to 2^29 equal values too: a constant row has its own value as mean
  and x - mean = 0 exactly, where a float32 sum can be an ulp off and 1 / sqrt(eps) makes that
  ulp visible; fuzz seed 922836319). For float64 the mean is corrected by the mean of the
  residuals, as the NumPy path does;
- x^ = ((x - mean) - correction) / sigma, and layer norm's input gradient
  ((d - mean d) - correction - x^ mean(d x^)) / sigma, in float64, rounded once to T;
- the affine map x^ w + b and batch norm's input gradient ((g - db / M) - x^ (dw / M)) w / sigma
  in T, in the NumPy path's order.

A kernel returns False when a row has a non-finite value, a sum of magnitudes or of squares
beyond T's range, or 1 / sigma = 0 in T (where the NumPy path's sums overflow and torch's
output is the bias): the caller then takes the general path, which handles these as torch does.
"""

from __future__ import annotations

import os
from typing import Any

_kernels: Any = None  # the compiled kernels (a namespace), False once found unavailable


def kernels() -> Any:
    """The compiled kernels, or None: numba is not installed, or ``HANDGRAD_JIT=0``. Compiled on
    first use of each dtype (a fraction of a second) and cached on disk by numba."""
    global _kernels
    if _kernels is None:
        _kernels = False
        if os.environ.get("HANDGRAD_JIT", "1") != "0":
            try:
                _kernels = _build()
            except ImportError:  # an optional extra (or a numba too old for this NumPy)
                pass
            except (RuntimeError, OSError) as e:  # numba there but unusable: no cache dir, ...
                import warnings

                note = f"handgrad: numba's kernels off, NumPy passes instead: {e}"
                warnings.warn(note, stacklevel=2)
    return _kernels or None


def load() -> bool:
    """Compile (or read from numba's cache) every kernel for float32 and float64 now, rather
    than at a normalization's first call; whether the kernels are there. numba's compiler and
    the loaded code then take their memory (about 160 MB, once) before the caller measures
    anything: bench/harness.py does this, as importing torch loads torch's kernels."""
    k = kernels()
    if k is None:
        return False
    import numpy as np

    for dtype in (np.float32, np.float64):
        x, w, one = np.ones((2, 2), dtype), np.ones(2, dtype), np.ones(2, dtype)
        blocks = np.empty((1, 2))
        moments = np.ones((2, 3))
        k.layer_norm_forward(x, w, w, 1e-5, 1.0, False, x.copy(), one, moments, 0, 2)
        k.layer_norm_backward(
            x, x, moments, one, w, False, x.copy(), True, blocks, blocks.copy(), 2, 0, 1
        )
        k.group_norm_forward(x, w, w, 1e-5, 1.0, False, x.copy(), one, moments, 0, 2, 1)
        k.group_norm_backward(
            x, x, moments, one, w, False, x.copy(), True, blocks, blocks.copy(), 2, 0, 1, 1
        )
        k.batch_norm_forward(x, w, w, 1e-5, 1.0, False, x.copy(), one, one, one, moments, 0, 2)
        k.batch_norm_backward(x, x, moments, w, True, x.copy(), one, one.copy(), 0, 2)
        k.relu_backward(w, w, one)
        four = np.ones((4, 2), dtype)
        k.lstm_cell_update(four, w, one, dtype(0.5))
        k.lstm_back_step(w, w, w, w, False, w, four, w, four.copy(), one)
    return True


def _build() -> Any:
    import types

    import numba
    import numpy as np

    # error_model="numpy": a division by zero gives inf or NaN as in NumPy, never an exception
    jit = numba.njit(nogil=True, cache=True, error_model="numpy")
    # Sums may be reassociated (vector lanes); nothing else is: no contraction to fused
    # multiply-adds, NaN and inf keep their meaning.
    sums = numba.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})

    @sums
    def moments_of(xr, correct, limit):
        """(mean, correction, sum of the centred squares, ok) of a row, in float64."""
        # (index loops: numba vectorizes these, not a ``for v in xr`` over the array)
        m = xr.shape[0]
        s = 0.0
        a = 0.0
        for j in range(m):
            v = np.float64(xr[j])
            s += v
            a += abs(v)
        mean = s / m
        c = 0.0
        if correct:  # float64 rows: the mean of the residuals, as the NumPy path's
            for j in range(m):
                c += xr[j] - mean
            c /= m
        q = 0.0
        for j in range(m):
            d = (xr[j] - mean) - c
            q += d * d
        return mean, c, q, a <= limit and q <= limit

    @jit
    def layer_norm_forward(x, w, b, eps, limit, correct, out, rstd, moments, lo, hi):
        """Rows lo..hi of x (R, M): x^ w + b (w and b of length M), with x^ rounded to T first
        in the output row (x^ itself is not stored); 1 / sigma in T, and the row's float64 mean,
        correction and 1 / sigma in ``moments`` (R, 3), from which the backward (and
        ``_rows.Normalized.array``) form x^ again, bit for bit."""
        m = x.shape[1]
        for i in range(lo, hi):
            xr, orow = x[i], out[i]
            mean, c, q, ok = moments_of(xr, correct, limit)
            r = 1.0 / np.sqrt(q / m + eps)
            rstd[i] = r
            if not (ok and rstd[i] > 0):
                return False
            moments[i, 0] = mean
            moments[i, 1] = c
            moments[i, 2] = r
            for j in range(m):
                orow[j] = ((xr[j] - mean) - c) * r
            for j in range(m):
                orow[j] = orow[j] * w[j] + b[j]
        return True

    @sums
    def affine_dots(gr, w, hr):
        """(sum of d, sum of d x^) with d = g w in T, in float64."""
        sd = 0.0
        sdx = 0.0
        for j in range(gr.shape[0]):
            d = gr[j] * w[j]
            sd += d
            sdx += d * np.float64(hr[j])
        return sd, sdx

    @sums
    def affine_residual(gr, w, md):
        """The mean of d - mean d (d = g w): the float64 rows' correction."""
        c = 0.0
        for j in range(gr.shape[0]):
            c += (gr[j] * w[j]) - md
        return c / gr.shape[0]

    @jit
    def layer_norm_backward(g, x, moments, rstd, w, correct, dx, want_dx, dw, db, block, lo, hi):
        """Blocks lo..hi of ``block`` rows: x^ formed again from x and the forward's
        ``moments`` (its bits), dL/dx = (d - mean d - x^ mean(d x^)) / sigma with d = g w (when
        ``want_dx``), and each block's column sums of g x^ and g into row k of the float64
        arrays dw and db (added up by the caller in block order: the same bits for any number
        of threads)."""
        r_all, m = g.shape
        hr = np.empty(m, g.dtype)  # a row's x^
        for k in range(lo, hi):
            dwk, dbk = dw[k], db[k]
            dwk[:] = 0.0
            dbk[:] = 0.0
            for i in range(k * block, min(r_all, (k + 1) * block)):
                gr, xr = g[i], x[i]
                mu, c, rr = moments[i, 0], moments[i, 1], moments[i, 2]
                for j in range(m):
                    hr[j] = ((xr[j] - mu) - c) * rr
                for j in range(m):
                    dwk[j] += gr[j] * np.float64(hr[j])
                    dbk[j] += gr[j]
                if not want_dx:
                    continue
                sd, sdx = affine_dots(gr, w, hr)
                md, mdx = sd / m, sdx / m
                cd = affine_residual(gr, w, md) if correct else 0.0
                r = np.float64(rstd[i])
                out = dx[i]
                for j in range(m):
                    out[j] = ((((gr[j] * w[j]) - md) - cd) - hr[j] * mdx) * r

    @jit
    def group_norm_forward(x, w, b, eps, limit, correct, out, rstd, moments, lo, hi, groups):
        """``layer_norm_forward`` for group_norm's rows (R = N G, M = C / G positions of each
        channel in turn): channel c of row i (group i mod G) has the weight and bias
        w[(i mod G) C / G + c] along its M G / C positions. (Its own loops, not layer norm's
        with one position a channel: written once through a shared row step, the layer norm's
        forward ran 0.20-0.25 -> 0.27-0.30 ms on 2048 rows of 128.) The group count comes
        last, so the caller passes the arguments layer norm's kernel takes, then it."""
        m = x.shape[1]
        cpg = w.shape[0] // groups
        span = m // cpg
        for i in range(lo, hi):
            xr, orow = x[i], out[i]
            mean, c, q, ok = moments_of(xr, correct, limit)
            r = 1.0 / np.sqrt(q / m + eps)
            rstd[i] = r
            if not (ok and rstd[i] > 0):
                return False
            moments[i, 0] = mean
            moments[i, 1] = c
            moments[i, 2] = r
            for j in range(m):
                orow[j] = ((xr[j] - mean) - c) * r
            base = (i % groups) * cpg
            for k in range(cpg):
                wc, bc = w[base + k], b[base + k]
                for j in range(k * span, (k + 1) * span):
                    orow[j] = orow[j] * wc + bc
        return True

    @jit
    def group_norm_backward(
        g, x, moments, rstd, w, correct, dx, want_dx, dw, db, block, lo, hi, groups
    ):
        """``layer_norm_backward`` for group_norm's rows (see ``group_norm_forward``): d = g w
        with each channel's weight, and each block's per-channel sums of g x^ and g into row k
        of dw and db (C wide)."""
        r_all, m = g.shape
        cpg = w.shape[0] // groups
        span = m // cpg
        hr = np.empty(m, g.dtype)  # a row's x^
        d = np.empty(m, g.dtype)  # a row's g w
        one = np.ones(m, g.dtype)  # (d 1 is d: the affine helpers then serve d itself)
        for k in range(lo, hi):
            dwk, dbk = dw[k], db[k]
            dwk[:] = 0.0
            dbk[:] = 0.0
            for i in range(k * block, min(r_all, (k + 1) * block)):
                gr, xr = g[i], x[i]
                mu, c, rr = moments[i, 0], moments[i, 1], moments[i, 2]
                for j in range(m):
                    hr[j] = ((xr[j] - mu) - c) * rr
                base = (i % groups) * cpg
                for ch in range(cpg):
                    wc = w[base + ch]
                    sw = 0.0
                    sb = 0.0
                    for j in range(ch * span, (ch + 1) * span):
                        sw += gr[j] * np.float64(hr[j])
                        sb += gr[j]
                        d[j] = gr[j] * wc
                    dwk[base + ch] += sw
                    dbk[base + ch] += sb
                if not want_dx:
                    continue
                sd, sdx = affine_dots(d, one, hr)
                md, mdx = sd / m, sdx / m
                cd = affine_residual(d, one, md) if correct else 0.0
                r = np.float64(rstd[i])
                out = dx[i]
                for j in range(m):
                    out[j] = (((d[j] - md) - cd) - hr[j] * mdx) * r

    @jit
    def batch_norm_forward(x, w, b, eps, limit, correct, out, mean, var, rstd, moments, lo, hi):
        """Channel rows lo..hi of x (C, M): x^ w_c + b_c, with x^ = ((x - mean) - c) / sigma
        rounded to T first (in the output row, then scaled there: x^ itself is not stored);
        the row's mean, biased variance and 1 / sigma in T (the running statistics read the
        first two), and its float64 mean, correction and 1 / sigma in ``moments`` (C, 3), from
        which the backward (and ``_rows.Normalized.array``) form x^ again, bit for bit."""
        m = x.shape[1]
        for i in range(lo, hi):
            xr, orow = x[i], out[i]
            mu, c, q, ok = moments_of(xr, correct, limit)
            mean[i] = mu + c
            var[i] = q / m
            rstd[i] = 1.0 / np.sqrt(q / m + eps)
            if not (ok and rstd[i] > 0):
                return False
            r = np.float64(rstd[i])
            moments[i, 0] = mu
            moments[i, 1] = c
            moments[i, 2] = r
            for j in range(m):
                orow[j] = ((xr[j] - mu) - c) * r
            wc, bc = w[i], b[i]
            for j in range(m):
                orow[j] = orow[j] * wc + bc
        return True

    @sums
    def sum_and_dot(gr, hr):
        """(sum of g, sum of g x^) in float64."""
        s = 0.0
        p = 0.0
        for j in range(gr.shape[0]):
            s += gr[j]
            p += gr[j] * np.float64(hr[j])
        return s, p

    @jit
    def batch_norm_backward(g, x, moments, scale, want_dx, dx, dw, db, lo, hi):
        """Channel rows lo..hi: x^ formed again from x and the forward's ``moments`` (its
        bits), db = sum g and dw = sum g x^ (summed in float64, stored in T), and dL/dx =
        ((g - db / M) - x^ (dw / M)) w / sigma in T, the NumPy path's order."""
        m = g.shape[1]
        t = np.empty(2, g.dtype)  # T's rounding of db / M and dw / M
        h = np.empty(m, g.dtype)  # a row's x^
        for i in range(lo, hi):
            gr, xr = g[i], x[i]
            mu, c, r = moments[i, 0], moments[i, 1], moments[i, 2]
            for j in range(m):
                h[j] = ((xr[j] - mu) - c) * r
            s, p = sum_and_dot(gr, h)
            db[i] = s
            dw[i] = p
            if not want_dx:
                continue
            t[0] = s / m
            t[1] = dw[i] / m
            mg, dwm, sc = t[0], t[1], scale[i]
            out = dx[i]
            for j in range(m):
                out[j] = ((gr[j] - mg) - h[j] * dwm) * sc

    @jit
    def relu_backward(out, g, res):
        """res = +0.0 where out <= 0, else g (a NaN out passes g), over flat arrays."""
        for j in range(res.shape[0]):
            res[j] = 0.0 if out[j] <= 0 else g[j]

    @jit
    def lstm_cell_update(a, c, cn, half):
        """A forward step of ``rnn_cell.LSTMLayer._scan`` after its tanh: a (4, H N) holds
        tanh(z / 2) for the gates i, f, o and tanh(z) for u; the sigmoids (1 + tanh(z / 2)) / 2
        are formed in place, then c_t = f c + i u, in T (``half`` is T's 0.5)."""
        hn = c.shape[0]
        for k in range(3):
            for j in range(hn):
                a[k, j] = a[k, j] * half + half
        for j in range(hn):
            cn[j] = a[1, j] * c[j] + a[0, j] * a[3, j]

    @jit
    def lstm_back_step(gh, gc, dh, dc_next, first, p, m, f, dz, dc_prev):
        """A step of ``rnn_cell._through_time`` but its product: G_h = gh + dh, G_c = gc +
        dc_next (not on the first step), dc = G_h P + G_c, dz = [dc, dc, dc, G_h] M and the
        next dc = dc f, in T and that order (m and dz (4, H N), the rest (H N,)). G_h and dc
        are formed in gh and gc. Loops of few arrays each: the arrays may overlap as far as
        LLVM knows, and a loop over all ten ran one element at a time (a call 10 us against 6.4
        for the benchmark's H = 128, N = 32, cProfile; numba's checks of the ten arguments are
        most of the rest)."""
        n = gh.shape[0]
        if not first:
            for j in range(n):
                gh[j] += dh[j]
            for j in range(n):
                gc[j] += dc_next[j]
        for j in range(n):
            gc[j] = gh[j] * p[j] + gc[j]
        for k in range(3):
            dk, mk = dz[k], m[k]
            for j in range(n):
                dk[j] = mk[j] * gc[j]
        d3, m3 = dz[3], m[3]
        for j in range(n):
            d3[j] = m3[j] * gh[j]
        for j in range(n):
            dc_prev[j] = gc[j] * f[j]

    return types.SimpleNamespace(
        lstm_cell_update=lstm_cell_update,
        lstm_back_step=lstm_back_step,
        relu_backward=relu_backward,
        layer_norm_forward=layer_norm_forward,
        layer_norm_backward=layer_norm_backward,
        batch_norm_forward=batch_norm_forward,
        group_norm_forward=group_norm_forward,
        group_norm_backward=group_norm_backward,
        batch_norm_backward=batch_norm_backward,
    )
