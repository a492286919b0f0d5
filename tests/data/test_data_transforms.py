"""hg.data.transforms: ToTensor, Normalize, Compose, Lambda, and the sub-pixel RandomTranslate."""

import numpy as np
import pytest

import handgrad as hg
from handgrad.data.transforms import (
    Compose,
    Lambda,
    Normalize,
    RandomTranslate,
    ToTensor,
    _bilinear_shift,
)


def roll_zero(img, dy, dx):
    """np.roll along the last two axes with zeros instead of wrap-around."""
    out = np.roll(img, (dy, dx), axis=(-2, -1))
    h, w = img.shape[-2:]
    rows, cols = np.arange(h), np.arange(w)
    valid = ((rows - dy >= 0) & (rows - dy < h))[:, None] & ((cols - dx >= 0) & (cols - dx < w))
    return np.where(valid, out, 0).astype(img.dtype)


def image(shape=(2, 7, 9), dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "u":
        return rng.integers(0, 256, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


# ---- ToTensor, Normalize, Compose, Lambda ---------------------------------------------------


def test_to_tensor_scales_uint8_and_moves_channels_first():
    gray = np.array([[0, 255], [51, 102]], dtype=np.uint8)
    t = ToTensor()(gray)
    assert isinstance(t, hg.Tensor) and t.shape == (1, 2, 2) and t.dtype == np.float32
    np.testing.assert_allclose(t.numpy()[0], gray / 255.0, rtol=1e-7)
    rgb = image((4, 5, 3), np.uint8)
    t = ToTensor()(rgb)
    assert t.shape == (3, 4, 5)
    np.testing.assert_array_equal(t.numpy(), rgb.transpose(2, 0, 1).astype(np.float32) / 255)
    f = ToTensor()(np.full((2, 3), 7.0))  # other dtypes: transposed only, as torchvision
    assert f.dtype == np.float64 and f.shape == (1, 2, 3) and f.numpy().max() == 7.0
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        ToTensor()(np.zeros(5, np.uint8))


def test_normalize_matches_the_formula_per_channel_and_is_differentiable():
    x = image((3, 4, 5), np.float32)
    mean, std = [0.1, 0.2, 0.3], [0.5, 2.0, 4.0]
    expected = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[
        :, None, None
    ]
    xt = hg.tensor(x, requires_grad=True)
    out = Normalize(mean, std)(xt)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(
        xt.grad.numpy(), np.broadcast_to(1 / np.array(std)[:, None, None], x.shape), rtol=1e-6
    )
    plain = Normalize(mean, std)(hg.from_numpy(x))  # outside the graph: NumPy arithmetic
    assert isinstance(plain, hg.Tensor) and plain.dtype == np.float32
    np.testing.assert_allclose(plain.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(Normalize(0.5, 0.25)(x), (x - 0.5) / 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="contains a zero"):
        Normalize([0.0], [0.0])
    with pytest.raises(ValueError, match=r"mean has 2 values but the image has 3 channels"):
        Normalize([0.0, 0.0], [1.0])(xt)


def test_compose_applies_in_order():
    t = Compose([Lambda(lambda a: a + 1), Lambda(lambda a: a * 10)])
    assert t(np.array(1)) == 20
    pipeline = Compose([ToTensor(), Normalize([0.5], [0.5])])
    out = pipeline(np.array([[0, 255]], np.uint8))
    np.testing.assert_allclose(out.numpy(), [[[-1.0, 1.0]]])
    assert "ToTensor()" in repr(pipeline)


# ---- the bilinear shift ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8])
@pytest.mark.parametrize("dy, dx", [(0, 0), (1, 0), (0, -2), (3, 4), (-6, 2), (7, 0), (-20, 9)])
def test_integer_shifts_are_np_roll_with_zero_fill(dy, dx, dtype):
    img = image((2, 7, 9), dtype)
    out = _bilinear_shift(img, dy, dx)
    assert out.dtype == img.dtype
    np.testing.assert_array_equal(out, roll_zero(img, dy, dx))


@pytest.mark.parametrize(
    "dy, dx", [(0.25, 0.0), (0.0, -0.6), (1.3, 2.75), (-0.3, -1.5), (2.5, -0.1)]
)
def test_fractional_shift_is_the_bilinear_mix_of_the_integer_shifts(dy, dx):
    img = image((7, 9))
    iy, ix = int(np.floor(dy)), int(np.floor(dx))
    fy, fx = dy - iy, dx - ix
    expected = (
        (1 - fy) * (1 - fx) * roll_zero(img, iy, ix)
        + fy * (1 - fx) * roll_zero(img, iy + 1, ix)
        + (1 - fy) * fx * roll_zero(img, iy, ix + 1)
        + fy * fx * roll_zero(img, iy + 1, ix + 1)
    )
    np.testing.assert_allclose(_bilinear_shift(img, dy, dx), expected, rtol=1e-12, atol=1e-12)


def test_fractional_shift_keeps_dtype_and_the_mass_of_an_interior_blob():
    img = np.zeros((1, 10, 10), np.float32)
    img[0, 4:6, 4:6] = 1.0
    out = _bilinear_shift(img, 0.4, -1.7)
    assert out.dtype == np.float32
    assert out.sum() == pytest.approx(4.0, rel=1e-6)  # the bilinear weights sum to 1
    u8 = _bilinear_shift((img * 255).astype(np.uint8), 0.5, 0.5)
    assert u8.dtype == np.uint8 and u8.max() <= 255
    np.testing.assert_array_equal(u8[0, 4:7, 4:7], [[64, 128, 64], [128, 255, 128], [64, 128, 64]])


def test_random_translate_draws_within_max_shift_and_keeps_type_and_dtype():
    img = image((1, 6, 8), np.float32)
    t = RandomTranslate((1.5, 0.5), generator=hg.Generator(3))
    rng = np.random.default_rng(3)  # hg.Generator(3) wraps this stream
    for _ in range(5):
        dy, dx = rng.uniform([-1.5, -0.5], [1.5, 0.5])
        out = t(hg.from_numpy(img))
        assert isinstance(out, hg.Tensor) and out.dtype == np.float32 and out.shape == img.shape
        np.testing.assert_array_equal(out.numpy(), _bilinear_shift(img, dy, dx))
    assert t(img).dtype == np.float32 and isinstance(t(img), np.ndarray)
    np.testing.assert_array_equal(RandomTranslate(0)(img), img)
    u8 = RandomTranslate(2.0)(image((5, 5), np.uint8))
    assert u8.dtype == np.uint8
    with pytest.raises(ValueError, match="max_shift"):
        RandomTranslate(-1)
    with pytest.raises(ValueError, match="max_shift"):
        RandomTranslate([1, 2, 3])
