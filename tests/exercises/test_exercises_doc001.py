"""Document 001 (the student's answers): each exercise's computed answer checked by a second,
independent route (mostly PyTorch, NumPy closed forms, simulations)."""

from __future__ import annotations

import ast

import numpy as np
import pytest
import torch

import handgrad.exercises as ex
from handgrad.exercises import doc001
from handgrad.exercises import layers as L
from handgrad.exercises.base import CONSISTENT
from handgrad.exercises.grading import Context, grade_slot

from test_exercises_doc000 import torch_support_width


def run(id, **params):
    return ex.run_one(id, **params)


def _torch_shape(p):
    conv = torch.nn.Conv2d(
        p["in_channels"], p["out_channels"], p["kernel"], p["stride"], p["padding"]
    )
    with torch.no_grad():
        return list(conv(torch.zeros(p["batch"], p["in_channels"], p["size"], p["size"])).shape)


def test_001_q1_i_conv_shape():
    v = run("001-q1-i-conv-shape", size=31, in_channels=3)
    assert v.computed == _torch_shape(v.params)
    assert run("001-q1-i-conv-shape").verdict == CONSISTENT


def test_001_q1_ii_conv_shape():
    v = run("001-q1-ii-conv-shape", size=29)
    assert v.computed == _torch_shape(v.params)
    assert run("001-q1-ii-conv-shape").verdict == CONSISTENT


def _torch_strongest(kernel):
    """The orientation whose step edge gives the largest response energy per unit length,
    with torch's conv2d; and the first-moment prediction m . n."""
    k = torch.tensor(np.asarray(kernel, float))[None, None]
    energies = {}
    for name, img in doc001.edge_images(24).items():
        r = torch.nn.functional.conv2d(torch.tensor(img)[None, None], k)[0, 0].numpy()
        energies[name] = (r**2).sum() / (r.shape[1] * (np.sqrt(2) if "diag" in name else 1))
    return max(energies, key=energies.get)


def _moment_orientation(kernel):
    k = np.asarray(kernel, float)
    i, j = np.indices(k.shape)
    m = np.array([(k * i).sum(), (k * j).sum()])
    normals = {
        "horizontal": (1, 0),
        "vertical": (0, 1),
        "diagonal \\": (-1, 1),
        "diagonal /": (1, 1),
    }
    return max(normals, key=lambda o: abs(m @ np.array(normals[o])) / np.linalg.norm(normals[o]))


def test_001_q1b_horizontal_edge_kernel():
    v = run("001-q1b-horizontal-edge-kernel")
    kernel = v.params["kernel"]
    assert v.computed["strongest_edge"] == _torch_strongest(kernel) == _moment_orientation(kernel)
    assert v.verdict == CONSISTENT
    assert (
        run("001-q1b-horizontal-edge-kernel", kernel=np.array(kernel).T.tolist()).computed[
            "strongest_edge"
        ]
        == "vertical"
    )


def test_001_q1c_diagonal_edge_kernel():
    v = run("001-q1c-diagonal-edge-kernel")
    kernel = v.params["kernel"]
    assert v.computed["strongest_edge"] == _torch_strongest(kernel) == _moment_orientation(kernel)
    assert v.computed["responses"]["diagonal /"] < 1e-12 and v.verdict == CONSISTENT


def test_001_q1d_shift_kernel():
    v = run("001-q1d-shift-kernel")
    x = torch.randn(1, 1, 6, 6, dtype=torch.float64)
    k = torch.tensor(v.params["kernel"], dtype=torch.float64)[None, None]
    out = torch.nn.functional.conv2d(x, k, padding=1)[0, 0].numpy()
    expected = np.zeros((6, 6))
    expected[:, :-1] = x[0, 0, :, 1:].numpy()  # content moves one column to the left
    np.testing.assert_allclose(out, expected, atol=1e-12)
    assert v.computed["direction"] == "left" and v.computed["shift"] == [0, -1]


def _torch_net():
    return {
        "a": torch.nn.Conv2d(1, 16, 1),
        "b": torch.nn.Conv2d(16, 32, 3, 2, 1),
        "c": torch.nn.Conv2d(32, 128, 3, 2, 1),
        "d": torch.nn.Conv2d(128, 16, 3, 1, 1),
        "e": torch.nn.ConvTranspose2d(16, 8, 2, 2),
        "f": torch.nn.ConvTranspose2d(8, 1, 2, 2),
    }


def test_001_q1e_layer_shapes():
    v = run("001-q1e-layer-shapes", input_shape=[2, 1, 64, 64])
    h, shapes = torch.zeros(2, 1, 64, 64), {}
    with torch.no_grad():
        for name, m in _torch_net().items():
            h = m(h)
            shapes[name] = list(h.shape)
    assert v.computed == shapes
    assert run("001-q1e-layer-shapes").verdict == CONSISTENT


def test_001_q1f_skip_concat_shape():
    v = run("001-q1f-skip-concat-shape")
    net, h = _torch_net(), torch.zeros(10, 1, 32, 32)
    with torch.no_grad():
        outs = {}
        for name, m in net.items():
            h = m(h)
            outs[name] = h
        cat = torch.cat([outs["a"], torch.nn.functional.interpolate(outs["e"], scale_factor=2)], 1)
    assert v.computed == list(cat.shape) and v.verdict == CONSISTENT


def test_001_q1g_constant_output():
    v = run("001-q1g-constant-output")
    net = _torch_net()
    with torch.no_grad():
        net["e"].weight.zero_()
        net["e"].bias.zero_()
        net["f"].bias.fill_(1.0)
        h = torch.randn(3, 1, 32, 32)
        for name, m in net.items():
            h = m(h) if name == "f" else torch.relu(m(h))
    assert torch.all(h == 1.0)
    assert v.computed["max_abs_deviation_from_one"] == 0.0 and v.verdict == CONSISTENT


def test_001_q1h_receptive_field():
    v = run("001-q1h-receptive-field")
    layers = v.params["layers"]
    assert v.computed["receptive_field"] == torch_support_width(layers, L.min_size(layers)) == 15
    assert v.verdict == "disagree"  # the recursion, not the value
    bad, lib, rec = doc001.smallest_counterexample()
    assert torch_support_width(bad, L.min_size(bad)) == lib[-1] != rec[-1]
    assert "diverges at layer 2" in v.evidence
    # judged, not fixed: the forward recursion with the jump passes the same slot
    slot = doc001.Q1H_SLOTS[0]
    ctx = Context(ex.get("001-q1h-receptive-field"), v.params)
    assert grade_slot(slot, ctx, "r_prev + (k - 1) * jump").status == "pass"
    assert grade_slot(slot, ctx, "s_prev * r_prev + (k - s_prev)").status == "fail"


def test_001_q2a_learning_rate_diagnosis():
    v = run("001-q2a-learning-rate-diagnosis", lrs=[0.9, 0.5, 0.05])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4))
    curvature = 2 * np.linalg.eigvalsh(x.T @ x / 64).max()
    assert abs(v.computed["curvature"] - curvature) < 1e-9
    for lr, run_ in v.computed["runs"].items():
        assert run_["too_high"] == (float(lr) > 2 / curvature)  # divergence threshold
    assert v.verdict == "no claim" and "figure" in v.evidence


def test_001_q2b_zero_grad():
    v = run("001-q2b-zero-grad")
    # the accumulation, reproduced with torch: two backward passes without zero_grad sum up
    lin = torch.nn.Linear(5, 3).double()
    x1, x2 = torch.randn(8, 5, dtype=torch.float64), torch.randn(8, 5, dtype=torch.float64)
    y1, y2 = torch.randint(0, 3, (8,)), torch.randint(0, 3, (8,))
    lf = torch.nn.CrossEntropyLoss()
    lf(lin(x1), y1).backward()
    g1 = lin.weight.grad.clone()
    lf(lin(x2), y2).backward()
    lin2 = torch.nn.Linear(5, 3).double()
    lin2.load_state_dict(lin.state_dict())
    lf(lin2(x2), y2).backward()
    torch.testing.assert_close(lin.weight.grad, g1 + lin2.weight.grad)
    with pytest.raises(SyntaxError):
        ast.parse(doc001.STUDENT_LOOP)
    assert v.computed["accumulation_error"] > 0 and len(v.computed["listing_problems"]) == 3
    assert v.verdict == "disagree" and "[fix: agrees]" in v.evidence


def test_001_q3_multiple_choice():
    v = run("001-q3-multiple-choice")
    assert v.verdict == "no claim" and v.claimed == "C and D" and "not in the seed" in v.evidence


def test_001_q4_one_hot():
    v = run("001-q4-one-hot", sentence="a b a c")
    assert v.computed == np.eye(3)[[0, 1, 0, 2]].tolist()
    v = run("001-q4-one-hot")
    words = v.params["sentence"].split()
    vocab = sorted(set(words), key=words.index)
    assert v.computed == np.eye(len(vocab))[[vocab.index(w) for w in words]].astype(int).tolist()
    # the question is not in the document: no claim, the student's table is a note
    assert v.verdict == "no claim" and not v.findings
    note = " ".join(v.notes)
    assert "not a judged claim" in note and "(5, 5)" in note and "(6, 2)" in note


def test_001_q7a_sgd_limit():
    x = [2.0, -1.0, 0.5]
    v = run("001-q7a-sgd-limit", x=x, y=3.0)
    np.testing.assert_allclose(v.computed, np.linalg.pinv(np.array([x])) @ [3.0], atol=1e-9)
    assert v.verdict == "no claim"  # the student's numbers are for the document's instance
    v = run("001-q7a-sgd-limit")
    # the final answer is right; the gradient's second line is not (x x^T theta != ||x||^2 theta)
    assert v.parts == {"final answer": CONSISTENT, "derivation": "disagree"}
    assert "line 2" in v.evidence and "does not follow from line 1" in v.evidence


def _preconditioned_numpy(x, y, steps=4000, lr=0.01):
    m = 1 / np.abs(x)  # the RMS preconditioner, up to a common factor
    theta = np.zeros_like(x)
    for _ in range(steps):
        theta += lr * m * 2 * (y - x @ theta) * x
    return theta


def test_001_q7b_preconditioned_limit():
    x = np.array([1, 0.1, 0.01])
    v = run("001-q7b-preconditioned-limit")
    np.testing.assert_allclose(v.computed["theta"], _preconditioned_numpy(x, 1.0), atol=1e-8)
    np.testing.assert_allclose(v.computed["M_normalized"], 1 / np.abs(x), rtol=1e-6)
    assert v.verdict == "disagree" and "[theta: agrees]" in v.evidence
    assert v.parts == {"final answer": CONSISTENT, "derivation": "disagree"}
    assert "[M: DISAGREES] this M gives M x = [1, 0.3162, 0.1]" in v.evidence
    # the intermediate step is judged, not fixed: a right M agrees
    m = doc001.Q7B_SLOTS[1]
    ctx = Context(ex.get("001-q7b-preconditioned-limit"), v.params)
    assert grade_slot(m, ctx, [1, 10, 100]).status == "pass"


def test_001_q7c_rescaled_limit():
    x = np.array([1, 0.1, 0.01])
    v = run("001-q7c-rescaled-limit")
    # rescaled SGD = SGD preconditioned with diag(1/x^2) in theta: closed form M x / (x^T M x)
    m = 1 / x**2
    np.testing.assert_allclose(v.computed["theta"], m * x / (x @ (m * x)), rtol=1e-9)
    assert v.verdict == "disagree" and "x . theta = 7" in v.evidence


def test_001_q7d_i_weighted_quadratic():
    v = run("001-q7d-i-weighted-quadratic", seed=2)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((4, 6))
    p = rng.random(4) + 0.2
    p /= p.sum()
    theta_star = X.T @ np.linalg.solve(X @ X.T, rng.standard_normal(4))
    y = X @ theta_star
    theta = np.random.default_rng(9).standard_normal(6)
    draws = np.random.default_rng(10).choice(4, 200000, p=p)  # E f_t by sampling points
    mc = (y[draws] - X[draws] @ theta) ** 2
    xt = np.sqrt(p)[:, None] * X
    e = theta - theta_star
    assert abs(mc.mean() - e @ xt.T @ xt @ e) < 4 * mc.std() / np.sqrt(len(mc))
    assert v.verdict == CONSISTENT and v.computed["max_difference"] < 1e-10


def test_001_q7d_ii_contraction_bound():
    v = run("001-q7d-ii-contraction-bound")
    x = np.array([1, 0.1, 0.01])
    alpha = 0.1
    theta_star = x / (x @ x)
    e = -theta_star
    e1 = e - 2 * alpha * x * (x @ e)  # one SGD step from theta = 0 on the single point
    H = np.outer(x, x)
    J, J1 = e @ H @ e, e1 @ H @ e1
    ea = -4 * alpha * e @ H @ H @ e
    assert abs(v.computed["EB"] - (J1 - J - ea)) < 1e-12
    assert abs(v.computed["EB"] / (np.linalg.eigvalsh(H).max() * (x @ x) * alpha**2 * J) - 4) < 1e-9
    assert v.verdict == "disagree"


def test_001_q7e_nonuniform_sampling():
    v = run("001-q7e-nonuniform-sampling", p=[0.1, 0.1, 0.8], seed=3)
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((3, 5)), rng.standard_normal(3)
    np.testing.assert_allclose(v.computed["theta"], np.linalg.pinv(X) @ y, atol=1e-8)
    assert v.verdict == CONSISTENT


def test_001_q7d_ii_ea_lines():
    """The E[A] line as transcribed ('... X~ + X~^T E[x x^T] ...') is not a well-formed product;
    read with X~^T X~ for 'X~ + X~^T', the student's chain of lines holds."""
    e = ex.get("001-q7d-ii-contraction-bound")
    slot = next(s for s in doc001.Q7DII_SLOTS if s.key == "E[A] lines")
    ctx = Context(e, e.params)
    lines = doc001.student("001-q7d-ii-contraction-bound", "E[A] lines")
    res = grade_slot(slot, ctx, lines)
    assert res.status == "fail" and "'@' of shapes (3,) and (1, 3) does not match" in res.evidence
    fixed = ["-4*alpha*(e @ Xt.T @ Xt @ H @ e)"] + lines[1:]
    assert grade_slot(slot, ctx, fixed).status == "pass"
    assert grade_slot(slot, ctx, fixed[:2] + ["<= -8*lambda_min*alpha*J"]).status == "fail"
