"""grid_sample and affine_grid against torch: values and gradients with respect to the image,
the grid and theta; and a rotation by 90 degrees reproduced exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg
import handgrad.nn.functional as F

torch.set_num_threads(1)
TF = torch.nn.functional


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_matches_torch(mode, padding_mode, align_corners):
    r = np.random.default_rng(0)
    img = r.standard_normal((2, 3, 5, 4))
    grid = r.uniform(-1.3, 1.3, (2, 3, 6, 2))  # some locations fall outside the image
    xh, gh = hg.tensor(img, requires_grad=True), hg.tensor(grid, requires_grad=True)
    xt, gt = torch.tensor(img, requires_grad=True), torch.tensor(grid, requires_grad=True)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    oh, ot = F.grid_sample(xh, gh, **kw), TF.grid_sample(xt, gt, **kw)
    np.testing.assert_allclose(oh.detach().numpy(), ot.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = r.standard_normal(tuple(ot.shape))
    oh.backward(hg.tensor(g))
    ot.backward(torch.tensor(g))
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    # nearest sampling does not depend on the grid: torch returns zeros, handgrad no gradient
    grid_grad = np.zeros(grid.shape) if gh.grad is None else gh.grad.numpy()
    np.testing.assert_allclose(grid_grad, gt.grad.numpy(), rtol=1e-9, atol=1e-11)
    assert (gh.grad is None) == (mode == "nearest")


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch_and_rotates(align_corners):
    r = np.random.default_rng(1)
    theta = r.standard_normal((2, 2, 3))
    th, tt = hg.tensor(theta, requires_grad=True), torch.tensor(theta, requires_grad=True)
    size = (2, 1, 4, 5)
    gh = F.affine_grid(th, size, align_corners=align_corners)
    gt = TF.affine_grid(tt, size, align_corners=align_corners)
    np.testing.assert_allclose(gh.detach().numpy(), gt.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = r.standard_normal(tuple(gt.shape))
    gh.backward(hg.tensor(w))
    gt.backward(torch.tensor(w))
    np.testing.assert_allclose(th.grad.numpy(), tt.grad.numpy(), rtol=1e-10)
    # a quarter turn of a square image through the grid is an exact rot90
    img = r.standard_normal((1, 1, 4, 4))
    quarter = hg.tensor(np.array([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]]))
    out = F.grid_sample(
        hg.tensor(img),
        F.affine_grid(quarter, (1, 1, 4, 4), align_corners),
        align_corners=align_corners,
    )
    np.testing.assert_allclose(out.numpy()[0, 0], np.rot90(img[0, 0], 1), atol=1e-12)


def test_errors():
    with pytest.raises(RuntimeError, match=r"grid_sample: expected input \(N, C, H, W\)"):
        F.grid_sample(hg.ones(1, 1, 3, 3), hg.ones(1, 3, 3))
    with pytest.raises(ValueError, match=r"grid_sample: padding_mode must be 'zeros' or 'border'"):
        F.grid_sample(hg.ones(1, 1, 3, 3), hg.ones(1, 3, 3, 2), padding_mode="reflection")
    with pytest.raises(ValueError, match=r"affine_grid: expected theta \(N, 2, 3\)"):
        F.affine_grid(hg.ones(1, 3, 3), (1, 1, 2, 2))
