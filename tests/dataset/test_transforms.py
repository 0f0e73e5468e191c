"""Graph-level transforms, checked against numpy on known arrays and known noise."""

from __future__ import annotations

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas.dataset.transforms import (
    Compose,
    Cutout,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomVerticalFlip,
    Resize,
    Transform,
)
from nnabla_nas.module.noise import Noise, collect_noise


def _build(
    transform: Transform, x: np.ndarray | nn.Variable, training: bool = True
) -> tuple[nn.Variable, Noise]:
    """The transform's output on `x`, built in a `collect_noise` block, and its noise."""
    if isinstance(x, np.ndarray):
        x = nn.Variable.from_numpy_array(x)
    with collect_noise() as noise:
        y = transform(x, training=training)
    return y, noise


def _forward(y: nn.Variable, noise: Noise, seed: int) -> np.ndarray:
    noise.fill(np.random.default_rng(seed))
    if y.parent is not None:  # a transform that does not apply returns its input
        y.forward()
    return y.d.copy()


def _run(
    transform: Transform, x: np.ndarray, training: bool = True, seed: int = 0
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The output on `x` with the noise drawn from ``default_rng(seed)``, and that noise."""
    y, noise = _build(transform, x, training)
    out = _forward(y, noise, seed)
    return out, [v.d.copy() for v in noise.variables]


def _batch(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 1.0, size=shape).astype(np.float32)


def _wide(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Signed values over 12 orders of magnitude: arithmetic blending would round them."""
    rng = np.random.default_rng(seed)
    scale = np.float32(10.0) ** rng.integers(-6, 7, size=shape).astype(np.float32)
    return (rng.standard_normal(shape).astype(np.float32) * scale).astype(np.float32)


def _index(u: np.ndarray, count: int) -> np.ndarray:
    """The documented ``min(floor(u * count), count - 1)``, in float32 as the graph does."""
    scaled = np.floor(u.astype(np.float32) * np.float32(count))
    return np.minimum(scaled, count - 1).astype(int)


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def test_normalize_per_channel() -> None:
    x = _batch((2, 3, 4, 4))
    mean = np.array([0.1, 0.2, 0.3], np.float32)
    std = np.array([0.5, 0.25, 2.0], np.float32)
    expected = (x * np.float32(255) - mean[:, None, None]) / std[:, None, None]
    transform = Normalize(mean.tolist(), std.tolist(), scale=255)
    for training in (True, False):
        out, noise = _run(transform, x, training)
        np.testing.assert_allclose(out, expected, rtol=1e-6)
        assert noise == []


def test_normalize_scalar_and_channel_mismatch() -> None:
    x = _batch((2, 3, 4, 4))
    np.testing.assert_allclose(_run(Normalize(0.5, 0.25), x)[0], (x - 0.5) / 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="one value per input channel"):
        _run(Normalize([0.1, 0.2], [1.0, 1.0]), x)
    with pytest.raises(ValueError, match="non-zero"):
        Normalize(0.0, [1.0, 0.0])


FLIPS = [(RandomHorizontalFlip(), -1), (RandomVerticalFlip(), -2)]


@pytest.mark.parametrize(("transform", "axis"), FLIPS, ids=["horizontal", "vertical"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flip_mirrors_exactly_the_samples_its_noise_selects(
    transform: Transform, axis: int, seed: int
) -> None:
    x = _wide((16, 2, 3, 5), seed)
    out, noise = _run(transform, x, seed=seed)
    assert [u.shape for u in noise] == [(16, 1, 1, 1)]
    mirrored = noise[0].reshape(16) < 0.5
    assert 0 < mirrored.sum() < 16
    expected = np.where(mirrored[:, None, None, None], np.flip(x, axis), x)
    np.testing.assert_array_equal(_bits(out), _bits(expected))


@pytest.mark.parametrize(("transform", "axis"), FLIPS, ids=["horizontal", "vertical"])
def test_flip_selects_about_half_the_samples(transform: Transform, axis: int) -> None:
    n = 4000
    x = np.broadcast_to(np.arange(2, dtype=np.float32), (n, 1, 2, 2))
    x = np.ascontiguousarray(np.swapaxes(x, -1, axis))  # [0, 1] along the flipped axis
    out, _ = _run(transform, x, seed=3)
    flipped = np.take(out, 0, axis=axis)[:, 0, 0] == 1
    assert abs(flipped.mean() - 0.5) < 0.03  # 4 standard deviations


def test_flip_passes_gradient_to_the_mirrored_pixel() -> None:
    x = nn.Variable.from_numpy_array(_batch((8, 1, 2, 3)), need_grad=True)
    y, noise = _build(RandomHorizontalFlip(), x)
    _forward(y, noise, seed=4)
    weight = np.arange(y.size, dtype=np.float32).reshape(y.shape)
    x.grad.zero()
    y.backward(weight)
    mirrored = noise.variables[0].d.reshape(8) < 0.5
    expected = np.where(mirrored[:, None, None, None], np.flip(weight, -1), weight)
    np.testing.assert_array_equal(x.g, expected)


def _padded(x: np.ndarray, pad: int | tuple[int, int, int, int]) -> np.ndarray:
    pads = (pad,) * 4 if isinstance(pad, int) else pad
    return np.pad(x, ((0, 0), (0, 0), pads[:2], pads[2:]))


CROPS = [
    ((6, 6), 2, (6, 6)),
    ((3, 4, 5), 0, (4, 5)),
    (6, (1, 0, 2, 1), (6, 6)),
    ((7, 3), (1, 0, 0, 0), (7, 3)),  # full height: only the columns move
    ((5, 9), (0, 0, 2, 1), (5, 9)),  # full width: only the rows move
]


@pytest.mark.parametrize(("shape", "pad", "size"), CROPS)
@pytest.mark.parametrize("seed", [0, 1])
def test_crop_is_the_window_at_the_offsets_of_its_noise(shape, pad, size, seed) -> None:
    x = _wide((8, 3, 6, 6), seed)
    out, noise = _run(RandomCrop(shape, pad_width=pad), x, seed=seed)
    padded = _padded(x, pad)
    (h, w), (height, width) = size, padded.shape[2:]
    assert out.shape == (8, 3, h, w)
    assert [u.shape for u in noise] == [(8, 2, 1, 1)]
    top = _index(noise[0][:, 0, 0, 0], height - h + 1)
    left = _index(noise[0][:, 1, 0, 0], width - w + 1)
    expected = np.stack(
        [image[:, i : i + h, j : j + w] for image, i, j in zip(padded, top, left, strict=True)]
    )
    np.testing.assert_array_equal(_bits(out), _bits(expected))  # a selection: bit for bit


def test_crop_reaches_every_offset_about_equally_often() -> None:
    n = 1800
    image = np.arange(1, 10, dtype=np.float32).reshape(1, 1, 3, 3)  # no zeros of its own
    out, _ = _run(RandomCrop(3, pad_width=1), np.repeat(image, n, axis=0), seed=5)
    padded = _padded(image, 1)[0, 0]
    windows = [padded[i : i + 3, j : j + 3] for i in range(3) for j in range(3)]
    hits = [[np.array_equal(crop[0], window) for window in windows] for crop in out]
    assert all(sum(row) == 1 for row in hits)  # each crop is exactly one window
    counts = np.sum(hits, axis=0)
    assert len(counts) == 9 and counts.sum() == n
    assert counts.min() > n / 9 - 70 and counts.max() < n / 9 + 70  # 200 +- 5 deviations


def test_crop_passes_gradient_to_the_selected_pixels() -> None:
    x = nn.Variable.from_numpy_array(_batch((4, 2, 5, 5)), need_grad=True)
    y, noise = _build(RandomCrop(4, pad_width=1), x)
    _forward(y, noise, seed=6)
    x.grad.zero()
    y.backward(np.ones(y.shape, np.float32))
    u = noise.variables[0].d
    top, left = _index(u[:, 0, 0, 0], 4) - 1, _index(u[:, 1, 0, 0], 4) - 1
    expected = np.zeros(x.shape, np.float32)
    for n, (i, j) in enumerate(zip(top, left, strict=True)):
        expected[n, :, max(i, 0) : i + 4, max(j, 0) : j + 4] = 1
    np.testing.assert_array_equal(x.g, expected)


def test_crop_identity_and_bad_arguments() -> None:
    x = nn.Variable.from_numpy_array(_batch((2, 3, 6, 6)))
    y, noise = _build(RandomCrop(4, 2), x, training=False)
    assert y is x and len(noise) == 0
    with pytest.raises(ValueError, match="larger than the padded input"):
        _build(RandomCrop(9, 1), x)
    with pytest.raises(ValueError, match="channels"):
        _build(RandomCrop((1, 6, 6)), x)
    with pytest.raises(ValueError, match="pad_width"):
        RandomCrop(4, (1, 2))


def _square(u: np.ndarray, size: tuple[int, int], length: int) -> np.ndarray:
    """The documented Cutout square of each sample, from its noise ``u`` (N, 2, 1, 1)."""
    (h, w), n = size, u.shape[0]
    top = _index(u[:, 0, 0, 0], h) - length // 2
    left = _index(u[:, 1, 0, 0], w) - length // 2
    square = np.zeros((n, 1, h, w), bool)
    for k, (i, j) in enumerate(zip(top, left, strict=True)):
        square[k, 0, max(i, 0) : i + length, max(j, 0) : j + length] = True
    return square


@pytest.mark.parametrize("length", [1, 3, 4])
@pytest.mark.parametrize("seed", [0, 1])
def test_cutout_zeroes_the_square_of_its_noise(length: int, seed: int) -> None:
    x = _wide((32, 2, 8, 7), seed)
    out, noise = _run(Cutout(length), x, seed=seed)
    assert [u.shape for u in noise] == [(32, 2, 1, 1)]
    square = _square(noise[0], (8, 7), length)
    # Masked by multiplication: a negative pixel becomes -0.0, equal to 0 but not in bits.
    np.testing.assert_array_equal(out, np.where(square, np.float32(0), x))
    kept = ~np.broadcast_to(square, x.shape)
    np.testing.assert_array_equal(_bits(out[kept]), _bits(x[kept]))
    sides = square[:, 0].any(axis=2).sum(axis=1), square[:, 0].any(axis=1).sum(axis=1)
    assert ((sides[0] == length) & (sides[1] == length)).any()  # some squares are whole
    assert ((sides[0] < length) | (sides[1] < length)).any() or length == 1  # some clipped


def test_cutout_centre_covers_every_pixel() -> None:
    out, _ = _run(Cutout(1), np.ones((2000, 1, 4, 5), np.float32), seed=7)
    hits = (out[:, 0] == 0).sum(axis=0)
    assert (hits > 0).all() and hits.sum() == 2000  # one pixel each, every pixel reached


def test_cutout_passes_gradient_outside_the_square() -> None:
    x = nn.Variable.from_numpy_array(_batch((4, 1, 6, 6)), need_grad=True)
    y, noise = _build(Cutout(2), x)
    _forward(y, noise, seed=2)
    x.grad.zero()
    y.backward(np.ones(y.shape, np.float32))
    np.testing.assert_array_equal(x.g, (y.d != 0).astype(np.float32))
    assert Cutout(2)(x, training=False) is x


RANDOM = [RandomHorizontalFlip(), RandomVerticalFlip(), RandomCrop(6, 2), Cutout(3)]


@pytest.mark.parametrize("transform", RANDOM, ids=repr)
def test_noise_seed_makes_random_transforms_repeatable(transform: Transform) -> None:
    x = nn.Variable.from_numpy_array(_batch((16, 2, 6, 6)))
    y, noise = _build(transform, x)
    first = _forward(y, noise, seed=7)
    y.forward()  # the noise is an input: another forward does not redraw it
    np.testing.assert_array_equal(y.d, first)
    other = _forward(y, noise, seed=8)
    assert not np.array_equal(first, other)
    np.testing.assert_array_equal(_forward(y, noise, seed=7), first)
    rebuilt, rebuilt_noise = _build(transform, x)
    np.testing.assert_array_equal(_forward(rebuilt, rebuilt_noise, seed=7), first)


@pytest.mark.parametrize("transform", RANDOM, ids=repr)
def test_random_transforms_use_graph_noise_only(transform: Transform) -> None:
    y, noise = _build(transform, _batch((4, 2, 6, 6)))
    functions: list[str] = []
    y.visit(lambda f: functions.append(f.info.type_name))
    assert len(noise) == 1
    assert not {"Rand", "RandomCrop", "RandomFlip", "Randn", "RandomChoice"} & set(functions)
    assert transform(nn.Variable((4, 2, 6, 6)), training=False).parent is None


def test_no_transform_takes_a_seed() -> None:
    for make in (
        lambda: RandomCrop(4, seed=0),
        lambda: RandomHorizontalFlip(seed=0),
        lambda: RandomVerticalFlip(seed=0),
        lambda: Cutout(2, seed=0),
    ):
        with pytest.raises(TypeError, match=r"seed|takes no arguments"):
            make()


def test_outside_a_noise_block_transforms_draw_at_each_forward() -> None:
    x = nn.Variable.from_numpy_array(_batch((16, 1, 3, 4)))
    y = RandomHorizontalFlip()(x)
    y.forward()
    first = y.d.copy()
    y.forward()
    for out in (first, y.d):
        kept = [np.array_equal(o, i) for o, i in zip(out, x.d, strict=True)]
        mirrored = [np.array_equal(o, np.flip(i, -1)) for o, i in zip(out, x.d, strict=True)]
        assert all(k != m for k, m in zip(kept, mirrored, strict=True))
    assert not np.array_equal(first, y.d)


def test_resize_constant_image_and_nearest_repeats() -> None:
    x = np.full((2, 3, 8, 8), 0.7, np.float32)
    np.testing.assert_allclose(_run(Resize(16), x)[0], 0.7, rtol=1e-6)
    assert _run(Resize((5, 12)), x)[0].shape == (2, 3, 5, 12)
    small = _batch((1, 1, 3, 4))
    twice = np.repeat(np.repeat(small, 2, axis=2), 2, axis=3)
    np.testing.assert_array_equal(_run(Resize((6, 8), "nearest"), small, training=False)[0], twice)
    with pytest.raises(ValueError, match="interpolation"):
        Resize(4, "cubic")


def test_compose_passes_the_training_flag() -> None:
    x = _batch((16, 1, 3, 4))
    augment = Compose([RandomHorizontalFlip(), Normalize(0.5, 0.25)])
    out, noise = _run(augment, x, training=False)
    np.testing.assert_allclose(out, (x - 0.5) / 0.25, rtol=1e-6)
    assert noise == []
    out, noise = _run(augment, x, seed=1)
    mirrored = noise[0].reshape(16) < 0.5
    expected = np.where(mirrored[:, None, None, None], np.flip(x, -1), x)
    np.testing.assert_allclose(out, (expected - 0.5) / 0.25, rtol=1e-6)
